"""Control Center Services (the Serviceability SOAP API) of a lab node, and the SOAP plumbing AXL shares.

§4.2 [VERIFIED: S-DEVNET-CC, C-devnet-svc, C-presidio]: `POST /controlcenterservice2/services/
ControlCenterServices`, namespace `http://schemas.cisco.com/ast/soap`, operations
`soapGetServiceStatus` (an empty list means every service) and `soapDoControlServices`
(`NodeName`, `ControlType` Start|Stop|Restart, `ServiceList/item`), both answering a
`ServiceInfoList` of `item{ServiceName, ServiceStatus, ReasonCode, ReasonCodeString, StartTime,
UpTime}`. Operations act on the node called only, and only deployable services can be started,
stopped or restarted: Cisco Tomcat, DRF Master/Local, TVS, CTL Provider… are refused, which is
why a renewal restarts Tomcat over SSH.

What the reference leaves open, chosen here and tagged INFERRED where it is encoded:
- the envelope layout (the §4.2 sketch qualifies every child with the `soap:` namespace, and the
  WSDL types in C-svclist's repository are `elementFormDefault="qualified"`), so requests must
  qualify children and answers do too;
- refusals (non-deployable, unknown or inactive service, wrong node) are SOAP 1.1 faults (HTTP
  500) whose `faultstring` says why, and nothing is done when any requested service is refused;
- status words `Started|Stopped|Starting|Stopping|Unknown`; reason codes from the Service
  Manager's table in public serviceability code (-1 Successful, -1010 No such service,
  -1068 Service Not Activated, -1069 Commanded Out of Service); `ReturnCode` `0` on success.

Incoming XML is parsed with expat directly, refusing any DOCTYPE or entity declaration before a
tree is built (no external entities, no entity expansion bombs).
"""

from __future__ import annotations

import asyncio
import logging
import xml.etree.ElementTree as ET
from collections.abc import Awaitable, Callable
from datetime import datetime
from xml.parsers import expat
from xml.sax.saxutils import escape

from ucterm import catalog
from ucterm.lab import texts
from ucterm.lab.errors import VosError
from ucterm.lab.http import Request, Response, authorized, unauthorized
from ucterm.lab.node import LabNode, Service

log = logging.getLogger(__name__)

SOAP_ENV = "http://schemas.xmlsoap.org/soap/envelope/"
SOAP12_ENV = "http://www.w3.org/2003/05/soap-envelope"
#: §4.2 [VERIFIED: S-DEVNET-CC, C-devnet-svc, C-presidio]
PATH = "/controlcenterservice2/services/ControlCenterServices"
NS = "http://schemas.cisco.com/ast/soap"
#: Basic realm of the serviceability web application [INFERRED: realm text not in the reference].
REALM = "Cisco Serviceability"
#: SOAP 1.1 media types accepted (`application/soap+xml` is SOAP 1.2's, which Axis2 also takes) [INFERRED].
XML_MEDIA_TYPES = frozenset({"text/xml", "application/soap+xml", "application/xml"})

#: Control Center names that differ from the CLI's (§4.2 [VERIFIED: C-svclist, e.g. `Cisco Tftp`]).
CONTROL_CENTER_NAMES: dict[str, str] = {
    "Cisco TFTP": "Cisco Tftp",
    "Cisco DB": "A Cisco DB",
    "Cisco TVS": "Cisco Trust Verification Service",
}
#: §4.2 [VERIFIED: S-DEVNET-CC, C-svclist] the catalog's non-deployable services.
NON_DEPLOYABLE = catalog.NON_DEPLOYABLE_SERVICES
#: Seconds a `soapDoControlServices` waits for the Service Manager before answering with the status
#: reached so far (the operation goes on; a Restart can take minutes, §1.9) [INFERRED].
CONTROL_WAIT = 30.0

#: Service Manager reason codes [INFERRED: public serviceability code's table, not in cisco-uc-certs.md].
REASON_OK = (-1, "")
REASON_NO_SUCH_SERVICE = (-1010, "No such service")
REASON_NOT_ACTIVATED = (-1068, "Service Not Activated")
REASON_OUT_OF_SERVICE = (-1069, "Commanded Out of Service")
_STATUS_WORDS = {"STARTED": "Started", "STOPPED": "Stopped", "STARTING": "Starting", "STOPPING": "Stopping"}


# --------------------------------------------------------------------------------------------
# XML and SOAP plumbing (shared with api_axl)


class XmlRefused(ValueError):
    """The document is not acceptable XML (malformed, or it declares a DOCTYPE or entities)."""


def parse_xml(data: bytes) -> ET.Element:
    """Parse untrusted XML into an ElementTree, refusing DOCTYPE and entity declarations outright."""
    builder = ET.TreeBuilder()
    parser = expat.ParserCreate(namespace_separator="}")
    parser.SetParamEntityParsing(expat.XML_PARAM_ENTITY_PARSING_NEVER)

    def qualified(name: str) -> str:
        return "{" + name if "}" in name else name

    def refuse_doctype(*_: object) -> None:
        raise XmlRefused("DOCTYPE is not allowed")

    def refuse_entity(*_: object) -> None:
        raise XmlRefused("entity declarations are not allowed")

    def start(name: str, attrs: dict[str, str]) -> None:
        builder.start(qualified(name), {qualified(k): v for k, v in attrs.items()})

    def end(name: str) -> None:
        builder.end(qualified(name))

    parser.StartDoctypeDeclHandler = refuse_doctype
    parser.EntityDeclHandler = refuse_entity
    parser.UnparsedEntityDeclHandler = refuse_entity
    parser.ExternalEntityRefHandler = refuse_entity  # type: ignore[assignment]
    parser.StartElementHandler = start
    parser.EndElementHandler = end
    parser.CharacterDataHandler = builder.data
    parser.buffer_text = True
    try:
        parser.Parse(data, True)
        return builder.close()
    except expat.ExpatError as exc:
        raise XmlRefused(f"the request is not well-formed XML ({exc})") from None


def local(tag: str) -> str:
    return tag.rsplit("}", 1)[-1]


def namespace(tag: str) -> str:
    return tag[1:].split("}", 1)[0] if tag.startswith("{") else ""


def text_of(element: ET.Element | None) -> str:
    return (element.text or "").strip() if element is not None else ""


class SoapFault(Exception):
    """A SOAP 1.1 fault to answer (HTTP 500, SOAP 1.1 §6.2); `detail` is inner XML, already escaped."""

    def __init__(self, string: str, code: str = "Client", detail: str = "") -> None:
        super().__init__(string)
        self.string = string
        self.code = code
        self.detail = detail


def envelope(body: str) -> str:
    return (f'<?xml version="1.0" encoding="UTF-8"?><soapenv:Envelope xmlns:soapenv="{SOAP_ENV}">'
            f"<soapenv:Body>{body}</soapenv:Body></soapenv:Envelope>")


def fault_response(fault: SoapFault) -> Response:
    detail = f"<detail>{fault.detail}</detail>" if fault.detail else ""
    body = (f"<soapenv:Fault><faultcode>soapenv:{fault.code}</faultcode>"
            f"<faultstring>{escape(fault.string)}</faultstring>{detail}</soapenv:Fault>")
    return Response.xml(500, envelope(body))


def soap_operation(request: Request) -> ET.Element:
    """The operation element (first child of the SOAP 1.1 Body) of a POSTed envelope, or SoapFault."""
    try:
        root = parse_xml(request.body)
    except XmlRefused as exc:
        raise SoapFault(str(exc)) from None
    if root.tag == f"{{{SOAP12_ENV}}}Envelope":
        raise SoapFault("SOAP 1.2 envelopes are not supported here; send SOAP 1.1", "VersionMismatch")
    if root.tag != f"{{{SOAP_ENV}}}Envelope":
        raise SoapFault("the request is not a SOAP 1.1 envelope", "VersionMismatch")
    body = root.find(f"{{{SOAP_ENV}}}Body")
    if body is None or len(body) == 0:
        raise SoapFault("the SOAP Body is empty")
    return body[0]


def check_media_type(request: Request) -> Response | None:
    """415 unless the body is declared as XML (a SOAP stack refuses form posts and JSON)."""
    if request.media_type not in XML_MEDIA_TYPES:
        return Response.error_page(415)
    return None


# --------------------------------------------------------------------------------------------
# Control Center Services

class ControlCenterApi:
    """`ControlCenterServices` on one node, authenticated as the application user (§4.2)."""

    def __init__(self, node: LabNode) -> None:
        self.node = node

    async def handle(self, request: Request) -> Response:
        if request.method != "POST":
            return Response.error_page(405, [("Allow", "POST")])
        creds = self.node.credentials
        if not authorized(request, creds.app_user, creds.app_password):
            return unauthorized(REALM)
        refused = check_media_type(request)
        if refused is not None:
            return refused
        try:
            operation = soap_operation(request)
            if namespace(operation.tag) != NS:
                raise SoapFault(f"no operation {local(operation.tag)} in namespace "
                                f"{namespace(operation.tag) or '(none)'}; ControlCenterServices uses {NS}")
            name = local(operation.tag)
            if name == "soapGetServiceStatus":
                return self._status(operation)
            if name == "soapDoControlServices":
                return await self._control(operation)
            raise SoapFault(f"operation {name} is not supported by ControlCenterServices")
        except SoapFault as fault:
            log.debug("lab soap %s: fault %s", self.node.fqdn, fault.string)
            return fault_response(fault)

    # ---- soapGetServiceStatus --------------------------------------------------------------

    def _status(self, operation: ET.Element) -> Response:
        _only_children(operation, {"ServiceStatus"})
        wanted = _items(operation.find(f"{{{NS}}}ServiceStatus"))
        services = self.node.services()
        if wanted:
            rows = [self._item_for(name) for name in wanted]
        else:
            rows = [_item(service_name(s), s, self.node) for s in services]
        return Response.xml(200, envelope(_answer("soapGetServiceStatus", "".join(rows))))

    def _item_for(self, name: str) -> str:
        service = self._lookup(name)
        if service is None:
            code, reason = REASON_NO_SUCH_SERVICE
            return _item_xml(name, "Unknown", code, reason, "", -1)
        return _item(name, service, self.node)

    def _lookup(self, control_center_name: str) -> Service | None:
        """The node's service by its Control Center name (§4.2: names differ from the CLI's in places)."""
        wanted = " ".join(control_center_name.split())
        for service in self.node.services():
            if service_name(service) == wanted:
                return service
        return None

    # ---- soapDoControlServices -------------------------------------------------------------

    async def _control(self, operation: ET.Element) -> Response:
        _only_children(operation, {"ControlServiceRequest"})
        request = operation.find(f"{{{NS}}}ControlServiceRequest")
        if request is None:
            raise SoapFault("ControlServiceRequest is missing")
        _only_children(request, {"NodeName", "ControlType", "ServiceList"})
        node_name = text_of(request.find(f"{{{NS}}}NodeName"))
        if node_name.lower() not in (self.node.fqdn.lower(), self.node.hostname.lower()):
            # §4.2 [VERIFIED]: operations apply only to the node you connect to.
            raise SoapFault(f"NodeName {node_name or '(empty)'} is not this node ({self.node.fqdn}); "
                            "send the request to that node itself")
        control = text_of(request.find(f"{{{NS}}}ControlType"))
        if control not in ("Start", "Stop", "Restart"):
            raise SoapFault(f"ControlType must be Start, Stop or Restart, not {control or '(empty)'}")
        names = _items(request.find(f"{{{NS}}}ServiceList"))
        if not names:
            raise SoapFault("ServiceList is empty")
        services: list[tuple[str, Service]] = []
        for name in names:
            service = self._lookup(name)
            if service is None:
                raise SoapFault(f"{name}: {REASON_NO_SUCH_SERVICE[1]} (reason code {REASON_NO_SUCH_SERVICE[0]})")
            if service.name in NON_DEPLOYABLE:
                # §4.2 [VERIFIED: S-DEVNET-CC]; the wording of the refusal is [INFERRED].
                raise SoapFault(f"{name} is not a deployable service. Only deployable services can be "
                                "started, stopped, or restarted.")
            if not service.activated:
                raise SoapFault(f"{name}: {REASON_NOT_ACTIVATED[1]} (reason code {REASON_NOT_ACTIVATED[0]})")
            services.append((name, service))
        rows = []
        for name, service in services:
            await self._run(control, service)
            rows.append(_item(name, service, self.node))
        log.info("lab soap %s: %s %s", self.node.fqdn, control, ", ".join(n for n, _ in services))
        return Response.xml(200, envelope(_answer("soapDoControlServices", "".join(rows))))

    async def _run(self, control: str, service: Service) -> None:
        """Run the Service Manager operation on the node; answer after it ends or CONTROL_WAIT.

        The node runs the operation on a task of its own (LabNode.restart_service and friends), so
        giving up waiting here, or the client hanging up, leaves it running to the end.
        """
        operations: dict[str, Callable[[str], Awaitable[object]]] = {
            "Start": self.node.start_service, "Stop": self.node.stop_service, "Restart": self.node.restart_service}
        try:
            await asyncio.wait_for(operations[control](service.name), CONTROL_WAIT)
        except TimeoutError:
            return  # answered with the status reached so far; the operation goes on
        except VosError as exc:
            raise SoapFault(exc.message, "Server") from None
        except Exception:
            log.exception("lab soap %s: %s %s failed", self.node.fqdn, control, service.name)
            raise SoapFault(texts.COMMAND_FAILED, "Server") from None


def service_name(service: Service) -> str:
    """The name Control Center shows for a service (§4.2)."""
    return CONTROL_CENTER_NAMES.get(service.name, service.name)


def _only_children(element: ET.Element, allowed: set[str]) -> None:
    """Refuse children the schema does not define, or defines only qualified (ADB-style message) [INFERRED]."""
    for child in element:
        if namespace(child.tag) != NS or local(child.tag) not in allowed:
            raise SoapFault(f"Unexpected subelement {local(child.tag)}"
                            + ("" if namespace(child.tag) == NS else f" (not in namespace {NS})"))


def _items(array: ET.Element | None) -> list[str]:
    if array is None:
        return []
    out = []
    for child in array:
        if child.tag != f"{{{NS}}}item":
            raise SoapFault(f"Unexpected subelement {local(child.tag)}")
        if text_of(child):
            out.append(" ".join(text_of(child).split()))
    return out


def _item(name: str, service: Service, node: LabNode) -> str:
    status = "Stopped" if not service.activated else _STATUS_WORDS.get(service.status, "Unknown")
    if not service.activated:
        code, reason = REASON_NOT_ACTIVATED
    elif service.commanded_out and service.status == "STOPPED":
        code, reason = REASON_OUT_OF_SERVICE
    else:
        code, reason = REASON_OK
    if status == "Started":
        # When the Service Manager last started it (the node's boot for a service never restarted).
        start = service.started_at or node.up_since
        uptime = max(0, int((node.clock.now() - start).total_seconds()))
        return _item_xml(name, status, code, reason, _ctime(start, node), uptime)
    return _item_xml(name, status, code, reason, "", -1)


def _item_xml(name: str, status: str, code: int, reason: str, start: str, uptime: int) -> str:
    return (f"<ns:item><ns:ServiceName>{escape(name)}</ns:ServiceName><ns:ServiceStatus>{status}</ns:ServiceStatus>"
            f"<ns:ReasonCode>{code}</ns:ReasonCode><ns:ReasonCodeString>{escape(reason)}</ns:ReasonCodeString>"
            f"<ns:StartTime>{escape(start)}</ns:StartTime><ns:UpTime>{uptime}</ns:UpTime></ns:item>")


def _answer(operation: str, items: str) -> str:
    """`<operation>Response/<operation>Return` with ReturnCode, ReasonCode, ReasonString, ServiceInfoList."""
    return (f'<ns:{operation}Response xmlns:ns="{NS}"><ns:{operation}Return>'
            f"<ns:ReturnCode>0</ns:ReturnCode><ns:ReasonCode>{REASON_OK[0]}</ns:ReasonCode><ns:ReasonString/>"
            f"<ns:ServiceInfoList>{items}</ns:ServiceInfoList></ns:{operation}Return></ns:{operation}Response>")


def _ctime(moment: datetime, node: LabNode) -> str:
    """`Thu Nov 18 10:19:38 2021`: ctime style in the node's zone (as `show network cluster`) [INFERRED]."""
    return texts.ctime_date(moment, node.zone)
