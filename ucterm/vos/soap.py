"""Control Center Services (Serviceability SOAP) on one node: service status and restarts.

`cisco-uc-certs.md` §4.2: URL, namespace, operation and element names [VERIFIED: S-DEVNET-CC,
C-devnet-svc]; the envelope layout is [INFERRED] from the WSDL-derived sample. Operations act on
the node called only. Non-deployable services (Cisco Tomcat, DRF, TVS…) cannot be restarted
here (§4.2 [VERIFIED]): :meth:`ControlCenterClient.restart` refuses them before sending anything
and names the SSH command instead.
"""

from __future__ import annotations

import xml.etree.ElementTree as ET
from collections.abc import Iterable
from dataclasses import dataclass

from ucterm import catalog
from ucterm.vos import xmlsafe
from ucterm.vos.errors import NotDeployable, RestError
from ucterm.vos.http import NodeHttpClient

#: §4.2 [VERIFIED: S-DEVNET-CC, C-devnet-svc, C-presidio]
PATH = "/controlcenterservice2/services/ControlCenterServices"
NS = "http://schemas.cisco.com/ast/soap"
ENVELOPE_NS = "http://schemas.xmlsoap.org/soap/envelope/"


@dataclass(frozen=True)
class ControlServiceStatus:
    """One `ServiceInfoList/item` (§4.2 [VERIFIED field names])."""

    name: str
    status: str
    reason_code: str | None = None
    reason: str | None = None
    start_time: str | None = None
    up_time: str | None = None


def _envelope(body: str) -> str:
    return (
        f'<soapenv:Envelope xmlns:soapenv="{ENVELOPE_NS}" xmlns:soap="{NS}">'
        f"<soapenv:Header/><soapenv:Body>{body}</soapenv:Body></soapenv:Envelope>"
    )


def status_request(names: Iterable[str] | None) -> str:
    """`soapGetServiceStatus(ServiceStatus=[names] or empty)` (§4.2 [VERIFIED]; layout [INFERRED])."""
    items = "".join(f"<soap:item>{xmlsafe.escape(n)}</soap:item>" for n in (names or ()))
    return _envelope(
        f"<soap:soapGetServiceStatus><soap:ServiceStatus>{items}</soap:ServiceStatus></soap:soapGetServiceStatus>"
    )


def control_request(node_name: str, control: str, names: Iterable[str]) -> str:
    """`soapDoControlServices(ControlServiceRequest{NodeName, ControlType, ServiceList{item}})` (§4.2)."""
    items = "".join(f"<soap:item>{xmlsafe.escape(n)}</soap:item>" for n in names)
    return _envelope(
        "<soap:soapDoControlServices><soap:ControlServiceRequest>"
        f"<soap:NodeName>{xmlsafe.escape(node_name)}</soap:NodeName>"
        f"<soap:ControlType>{xmlsafe.escape(control)}</soap:ControlType>"
        f"<soap:ServiceList>{items}</soap:ServiceList>"
        "</soap:ControlServiceRequest></soap:soapDoControlServices>"
    )


def soap_fault(root: ET.Element) -> str | None:
    for fault in xmlsafe.iter_local(root, "Fault"):
        return xmlsafe.child_text(fault, "faultstring") or "SOAP fault"
    return None


def parse_service_info(root: ET.Element) -> list[ControlServiceStatus]:
    """Items of every `ServiceInfoList` in an answer (both operations return that shape)."""
    out: list[ControlServiceStatus] = []
    for info_list in xmlsafe.iter_local(root, "ServiceInfoList"):
        for item in info_list:
            name = xmlsafe.child_text(item, "ServiceName")
            if not name:
                continue
            out.append(
                ControlServiceStatus(
                    name=name,
                    status=xmlsafe.child_text(item, "ServiceStatus") or "",
                    reason_code=xmlsafe.child_text(item, "ReasonCode"),
                    reason=xmlsafe.child_text(item, "ReasonCodeString"),
                    start_time=xmlsafe.child_text(item, "StartTime"),
                    up_time=xmlsafe.child_text(item, "UpTime"),
                )
            )
    return out


async def post_soap(http: NodeHttpClient, path: str, action: str, envelope: str) -> ET.Element:
    """POST a SOAP envelope; the parsed answer, or :class:`RestError` with the fault string."""
    response = await http.request(
        "POST",
        path,
        content=envelope.encode("utf-8"),
        headers={"Content-Type": "text/xml; charset=utf-8", "SOAPAction": action},
    )
    root = None
    if response.content and b"<" in response.content[:200]:
        root = xmlsafe.parse(response.content, node=http.node, what=f"the answer to {action}")
    fault = soap_fault(root) if root is not None else None
    if response.status_code != 200 or fault:
        raise RestError(
            http.node,
            "POST",
            path,
            response.status_code,
            fault or response.text[:200] or response.reason_phrase,
        )
    if root is None:
        raise RestError(http.node, "POST", path, response.status_code, "the answer is not XML")
    return root


class ControlCenterClient:
    """Control Center Services on one node (HTTPS 8443), with the application user's credentials."""

    def __init__(self, http: NodeHttpClient) -> None:
        self.http = http

    @property
    def node(self) -> str:
        return self.http.node

    async def service_status(self, names: Iterable[str] | None = None) -> list[ControlServiceStatus]:
        root = await post_soap(self.http, PATH, "soapGetServiceStatus", status_request(names))
        return parse_service_info(root)

    async def restart(self, names: Iterable[str]) -> list[ControlServiceStatus]:
        """Restart deployable services on this node; Tomcat/DRF/TVS… are refused (use SSH)."""
        wanted = list(names)
        for name in wanted:
            if name in catalog.NON_DEPLOYABLE_SERVICES:
                raise NotDeployable(self.node, name)
        root = await post_soap(self.http, PATH, "soapDoControlServices", control_request(self.node, "Restart", wanted))
        for ret in xmlsafe.iter_local(root, "ReturnCode"):
            code = (ret.text or "").strip()
            if code and code.lower() not in ("0", "success"):
                reason = next((el.text or "" for el in xmlsafe.iter_local(root, "ReasonString")), "")
                raise RestError(self.node, "POST", PATH, 200, f"ReturnCode {code}: {reason.strip() or 'no reason'}")
        return parse_service_info(root)
