"""AXL on a lab CUCM publisher: cluster discovery and the Presence Redundancy Group HA toggle.

§4.3 [VERIFIED: AXL schema / C-fredless, C-axljaxb]: `listProcessNode` (searchCriteria `name`,
returnedTags `name, description, mac, ipv6Name, nodeUsage, lbmHubGroup, processNodeRole`, role
`CUCM Voice/Video` | `CUCM IM and Presence`, plus the `EnterpriseWideData` pseudo-node that
clients skip); `getPresenceRedundancyGroup` / `listPresenceRedundancyGroup` (`name, description,
server1, server2, haEnabled, numUsers`); `updatePresenceRedundancyGroup` by `name` or `uuid` with
`haEnabled` (boolean), which flips the same state `utils ha status` reports (the effect as the
GUI checkbox is [INFERRED] there).

INFERRED here (the reference quotes none of it): the URL `/axl/`, SOAP 1.1 with the operation
in `http://www.cisco.com/AXL/API/<major.minor>` (any version up to the node's release is taken,
and the answer uses the request's namespace), unqualified child elements, `uuid` attributes in
braces, `SOAPAction` tolerated whatever it says, faults as HTTP 500 with an `axlError` detail
(`axlcode`, `axlmessage`, `request`), and a processnode named by FQDN as `show network cluster`
lists it. AXL answers only on CUCM publishers in the lab, with the application user.
"""

from __future__ import annotations

import logging
import re
import uuid
import xml.etree.ElementTree as ET
from typing import TYPE_CHECKING, TypeVar
from xml.sax.saxutils import escape

from ucterm.lab.api_soap import (
    SoapFault,
    check_media_type,
    envelope,
    fault_response,
    local,
    namespace,
    soap_operation,
    text_of,
)
from ucterm.lab.cluster import LabCluster, PresenceRedundancyGroup
from ucterm.lab.errors import VosError
from ucterm.lab.http import Request, Response, authorized, unauthorized
from ucterm.lab.node import LabNode

if TYPE_CHECKING:
    from ucterm.lab.estate import LabEstate

log = logging.getLogger(__name__)

PATH = "/axl/"
NS_PREFIX = "http://www.cisco.com/AXL/API/"
#: The service behind /axl/ (catalog service list) [INFERRED: AXL answers only while it runs].
AXL_SERVICE = "Cisco AXL Web Service"
REALM = "Cisco AXL API"  # [INFERRED]
#: §4.3 [VERIFIED]: the pseudo-node every cluster has.
PSEUDO_NODE = "EnterpriseWideData"
ROLE_CUCM = "CUCM Voice/Video"
ROLE_IMP = "CUCM IM and Presence"
PROCESS_NODE_TAGS = ("name", "description", "mac", "ipv6Name", "nodeUsage", "lbmHubGroup", "processNodeRole")
PRG_TAGS = ("name", "description", "server1", "server2", "haEnabled", "numUsers")
#: axlcode values [INFERRED]: 5003 a request the schema refuses, 5007 an item that does not exist.
AXL_INVALID = 5003
AXL_NOT_FOUND = 5007

T = TypeVar("T")
_VERSION = re.compile(r"^(\d+)\.(\d+)$")
_UUID_NS = uuid.UUID("6f1c1d2e-3b4a-5c6d-8e9f-0a1b2c3d4e5f")


class AxlFault(SoapFault):
    """An AXL refusal: a SOAP fault carrying `axlError` (code, message, the operation)."""

    def __init__(self, message: str, operation: str, code: int = AXL_INVALID) -> None:
        detail = (f"<axlError><axlcode>{code}</axlcode><axlmessage>{escape(message)}</axlmessage>"
                  f"<request>{escape(operation)}</request></axlError>")
        super().__init__(message, "Client", detail)


def axl_uuid(kind: str, name: str) -> str:
    """A stable `{XXXXXXXX-...}` uuid, as AXL writes them."""
    return "{" + str(uuid.uuid5(_UUID_NS, f"{kind}:{name.lower()}")).upper() + "}"


class AxlApi:
    """AXL of one CUCM publisher (application user, Basic)."""

    def __init__(self, node: LabNode, estate: LabEstate) -> None:
        self.node = node
        self.estate = estate

    async def handle(self, request: Request) -> Response:
        creds = self.node.credentials  # the application user of this CUCM publisher
        if request.method not in ("POST", "GET"):
            return Response.error_page(405, [("Allow", "GET, POST")])
        if not authorized(request, creds.app_user, creds.app_password):
            return unauthorized(REALM)
        try:
            running = self.node.service(AXL_SERVICE).status == "STARTED"
        except VosError:
            running = False
        if not running:
            return Response.error_page(503)
        if request.method == "GET":
            # A browser check of the URL [INFERRED: the page real nodes show; wording approximate].
            return Response(200, b"<html><body><h1>Cisco CallManager: AXL Web Service</h1><p>The AXL Web "
                                 b"Service is working and accepting requests.</p></body></html>", "text/html")
        refused = check_media_type(request)
        if refused is not None:
            return refused
        operation_name = "unknown"
        try:
            operation = soap_operation(request)
            operation_name = local(operation.tag)
            ns = self._check_namespace(operation)
            handler = {
                "listProcessNode": self._list_process_node,
                "getPresenceRedundancyGroup": self._get_prg,
                "listPresenceRedundancyGroup": self._list_prg,
                "updatePresenceRedundancyGroup": self._update_prg,
            }.get(operation_name)
            if handler is None:
                raise AxlFault(f"{operation_name} is not an operation the lab's AXL serves", operation_name)
            inner = handler(operation)
            body = f'<ns:{operation_name}Response xmlns:ns="{escape(ns)}">{inner}</ns:{operation_name}Response>'
            return Response.xml(200, envelope(body))
        except AxlFault as fault:
            log.debug("lab axl %s: fault %s", self.node.fqdn, fault.string)
            return fault_response(fault)
        except SoapFault as fault:
            return fault_response(AxlFault(fault.string, operation_name))

    def _check_namespace(self, operation: ET.Element) -> str:
        ns = namespace(operation.tag)
        name = local(operation.tag)
        match = _VERSION.match(ns[len(NS_PREFIX):]) if ns.startswith(NS_PREFIX) else None
        if match is None:
            raise AxlFault(f"the operation must be in the namespace {NS_PREFIX}<version>, not {ns or '(none)'}", name)
        version = self.node.vos_version
        wanted = (int(match.group(1)), int(match.group(2)))
        if version is not None and wanted > (version.major, version.minor):
            raise AxlFault(f"AXL schema version {match.group(0)} is not supported by this node "
                           f"({version.major}.{version.minor})", name)
        return ns

    # ---- listProcessNode ----------------------------------------------------------------------

    def _process_nodes(self) -> list[dict[str, str]]:
        """EnterpriseWideData, this CUCM cluster's nodes, then its IM&P nodes (clusters naming it)."""
        cluster = self.node.cluster_ref
        rows = [{"name": PSEUDO_NODE, "description": "", "mac": "", "ipv6Name": "", "nodeUsage": "Subscriber",
                 "lbmHubGroup": "", "processNodeRole": ROLE_CUCM}]
        for member_cluster in [cluster, *cluster.linked()]:
            role = ROLE_IMP if member_cluster.product == "imp" else ROLE_CUCM
            for member in member_cluster.nodes:
                usage = "Publisher" if member.is_publisher and member.product == "cucm" else "Subscriber"
                rows.append({"name": member.fqdn, "description": member.hostname, "mac": "", "ipv6Name": "",
                             "nodeUsage": usage, "lbmHubGroup": "", "processNodeRole": role})
        return rows

    def _list_process_node(self, operation: ET.Element) -> str:
        name = "listProcessNode"
        criteria = _search_criteria(operation, name, ("name", "description", "processNodeRole"))
        tags = _returned_tags(operation, name, PROCESS_NODE_TAGS)
        rows = [r for r in self._process_nodes() if all(_like(r[k], pattern) for k, pattern in criteria.items())]
        rows = _page(operation, rows)
        out = "".join(
            f'<processNode uuid="{axl_uuid("processnode", r["name"])}">'
            + "".join(_element(tag, r[tag]) for tag in tags) + "</processNode>" for r in rows)
        return f"<return>{out}</return>"

    # ---- Presence Redundancy Groups ----------------------------------------------------------

    def _groups(self) -> list[tuple[PresenceRedundancyGroup, LabCluster]]:
        return [(c.prg, c) for c in self.node.cluster_ref.linked() if c.product == "imp" and c.prg is not None]

    def _find_group(self, operation: ET.Element, name: str) -> tuple[PresenceRedundancyGroup, LabCluster]:
        by_name = text_of(operation.find("name"))
        by_uuid = text_of(operation.find("uuid"))
        if not by_name and not by_uuid:
            raise AxlFault("name or uuid is required", name)
        for prg, cluster in self._groups():
            if (by_name and prg.name.lower() == by_name.lower()) or (
                    by_uuid and axl_uuid("prg", prg.name) == by_uuid.upper()):
                return prg, cluster
        raise AxlFault("Item not valid: The specified Presence Redundancy Group was not found", name, AXL_NOT_FOUND)

    @staticmethod
    def _prg_fields(prg: PresenceRedundancyGroup, cluster: LabCluster) -> dict[str, str]:
        servers = [n.fqdn for n in cluster.nodes]
        return {"name": prg.name, "description": "", "server1": servers[0] if servers else "",
                "server2": servers[1] if len(servers) > 1 else "",
                "haEnabled": "true" if prg.enabled else "false", "numUsers": "0"}

    def _prg_xml(self, prg: PresenceRedundancyGroup, cluster: LabCluster, tags: tuple[str, ...]) -> str:
        fields = self._prg_fields(prg, cluster)
        parts = []
        for tag in tags:
            value = fields[tag]
            if tag in ("server1", "server2") and value:
                parts.append(f'<{tag} uuid="{axl_uuid("processnode", value)}">{escape(value)}</{tag}>')
            else:
                parts.append(_element(tag, value))
        return f'<presenceRedundancyGroup uuid="{axl_uuid("prg", prg.name)}">{"".join(parts)}</presenceRedundancyGroup>'

    def _get_prg(self, operation: ET.Element) -> str:
        name = "getPresenceRedundancyGroup"
        _only(operation, name, {"name", "uuid", "returnedTags"})
        prg, cluster = self._find_group(operation, name)
        return f"<return>{self._prg_xml(prg, cluster, _returned_tags(operation, name, PRG_TAGS))}</return>"

    def _list_prg(self, operation: ET.Element) -> str:
        name = "listPresenceRedundancyGroup"
        criteria = _search_criteria(operation, name, ("name", "description"))
        tags = _returned_tags(operation, name, PRG_TAGS)
        found = [(p, c) for p, c in self._groups()
                 if all(_like(self._prg_fields(p, c)[k], pattern) for k, pattern in criteria.items())]
        return "<return>" + "".join(self._prg_xml(p, c, tags) for p, c in _page(operation, found)) + "</return>"

    def _update_prg(self, operation: ET.Element) -> str:
        name = "updatePresenceRedundancyGroup"
        for child in operation:
            if child.tag not in ("name", "uuid", "haEnabled"):
                # [lab scope] C-axljaxb also allows newName, description, server1, server2: not modelled.
                raise AxlFault(f"the lab's AXL updates only haEnabled, not {local(child.tag)}", name)
        prg, _ = self._find_group(operation, name)
        value = operation.find("haEnabled")
        if value is not None:
            enabled = _boolean(text_of(value), name)
            self.estate.set_ha(prg.name, enabled)  # the same state `utils ha status` reports
            log.info("lab axl %s: presence redundancy group %s haEnabled=%s", self.node.fqdn, prg.name, enabled)
        return f"<return>{axl_uuid('prg', prg.name)}</return>"


# --------------------------------------------------------------------------------------------
# Request helpers


def _only(operation: ET.Element, name: str, allowed: set[str]) -> None:
    for child in operation:
        if child.tag not in allowed:
            raise AxlFault(f"Unexpected element {child.tag} in {name}", name)


def _search_criteria(operation: ET.Element, name: str, fields: tuple[str, ...]) -> dict[str, str]:
    """AXL list operations require searchCriteria with at least one field (SQL LIKE patterns)."""
    _only(operation, name, {"searchCriteria", "returnedTags", "first", "skip"})
    element = operation.find("searchCriteria")
    if element is None or len(element) == 0:
        raise AxlFault("searchCriteria is required and must name at least one field", name)
    criteria: dict[str, str] = {}
    for child in element:
        if child.tag not in fields:
            raise AxlFault(f"{child.tag} is not a search criterion of {name}", name)
        criteria[child.tag] = child.text or ""
    return criteria


def _returned_tags(operation: ET.Element, name: str, known: tuple[str, ...]) -> tuple[str, ...]:
    """The tags asked for, in schema order; every tag when returnedTags is absent or empty."""
    element = operation.find("returnedTags")
    if element is None or len(element) == 0:
        return known
    asked = {child.tag for child in element}
    unknown = asked - set(known)
    if unknown:
        raise AxlFault(f"unknown returnedTags: {', '.join(sorted(unknown))}", name)
    return tuple(t for t in known if t in asked)


def _page(operation: ET.Element, rows: list[T]) -> list[T]:
    """`skip` and `first` (AXL paging)."""
    skip = text_of(operation.find("skip"))
    first = text_of(operation.find("first"))
    start = int(skip) if skip.isdigit() else 0
    return rows[start:start + int(first)] if first.isdigit() else rows[start:]


def _like(value: str, pattern: str) -> bool:
    """SQL LIKE, case-insensitive (`%` any run, `_` one character), as AXL searchCriteria match."""
    regex = "".join(".*" if c == "%" else "." if c == "_" else re.escape(c) for c in pattern)
    return re.fullmatch(regex, value, re.IGNORECASE | re.DOTALL) is not None


def _boolean(text: str, name: str) -> bool:
    """xsd:boolean."""
    if text in ("true", "1"):
        return True
    if text in ("false", "0"):
        return False
    raise AxlFault(f"haEnabled must be true or false, not {text or '(empty)'}", name)


def _element(tag: str, value: str) -> str:
    return f"<{tag}>{escape(value)}</{tag}>" if value else f"<{tag}/>"
