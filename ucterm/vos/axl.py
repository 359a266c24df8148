"""AXL (the CUCM administrative SOAP API) for discovery and the Presence Redundancy Group HA toggle.

`cisco-uc-certs.md` §4.3: operations `listProcessNode`, `getPresenceRedundancyGroup`,
`updatePresenceRedundancyGroup` and their field names [VERIFIED: AXL schema, C-fredless,
C-axljaxb]. The URL (`/axl/`), the namespace `http://www.cisco.com/AXL/API/<ver>` and the
`SOAPAction: "CUCM:DB ver=<ver> <operation>"` header are [INFERRED] from how AXL is commonly
called; the reference does not quote them.
"""

from __future__ import annotations

import xml.etree.ElementTree as ET
from dataclasses import dataclass

from ucterm import catalog
from ucterm.vos import xmlsafe
from ucterm.vos.errors import RestError
from ucterm.vos.http import NodeHttpClient
from ucterm.vos.soap import ENVELOPE_NS, post_soap

PATH = "/axl/"
#: [INFERRED] AXL schema version used when the cluster's release is unknown.
DEFAULT_AXL_VERSION = "14.0"
#: §4.3 [VERIFIED]: skip the `EnterpriseWideData` pseudo-node.
PSEUDO_NODE = "EnterpriseWideData"
_PROCESS_NODE_TAGS = ("name", "description", "mac", "ipv6Name", "nodeUsage", "lbmHubGroup", "processNodeRole")


@dataclass(frozen=True)
class ProcessNode:
    """One `processNode` (§4.3 returnedTags)."""

    name: str
    description: str | None
    node_usage: str | None
    role: str | None  # `CUCM Voice/Video` | `CUCM IM and Presence`

    @property
    def is_presence(self) -> bool:
        return (self.role or "").lower().endswith("im and presence")


@dataclass(frozen=True)
class PresenceRedundancyGroup:
    """`getPresenceRedundancyGroup` fields (§4.3 [VERIFIED: C-axljaxb])."""

    name: str
    description: str | None
    server1: str | None
    server2: str | None
    ha_enabled: bool
    num_users: int | None


def axl_version(version: catalog.Version | None) -> str:
    if version is None or version.major < 10:
        return DEFAULT_AXL_VERSION
    return f"{version.major}.{version.minor}"


class AxlClient:
    """AXL on a CUCM publisher (HTTPS 8443), with the application user's credentials."""

    def __init__(self, http: NodeHttpClient, version: catalog.Version | None = None) -> None:
        self.http = http
        self.version = axl_version(version)

    @property
    def node(self) -> str:
        return self.http.node

    def _envelope(self, operation: str, inner: str) -> str:
        return (
            f'<soapenv:Envelope xmlns:soapenv="{ENVELOPE_NS}" '
            f'xmlns:ns="http://www.cisco.com/AXL/API/{self.version}">'
            f"<soapenv:Header/><soapenv:Body><ns:{operation}>{inner}</ns:{operation}>"
            "</soapenv:Body></soapenv:Envelope>"
        )

    async def _call(self, operation: str, inner: str) -> ET.Element:
        return await post_soap(
            self.http, PATH, f'"CUCM:DB ver={self.version} {operation}"', self._envelope(operation, inner)
        )

    async def list_process_nodes(self) -> list[ProcessNode]:
        tags = "".join(f"<{t}/>" for t in _PROCESS_NODE_TAGS)
        root = await self._call(
            "listProcessNode",
            f"<searchCriteria><name>%</name></searchCriteria><returnedTags>{tags}</returnedTags>",
        )
        out: list[ProcessNode] = []
        for el in xmlsafe.iter_local(root, "processNode"):
            name = xmlsafe.child_text(el, "name") or ""
            if not name or name == PSEUDO_NODE:
                continue
            out.append(
                ProcessNode(
                    name,
                    xmlsafe.child_text(el, "description"),
                    xmlsafe.child_text(el, "nodeUsage"),
                    xmlsafe.child_text(el, "processNodeRole"),
                )
            )
        return out

    async def get_presence_redundancy_group(self, name: str) -> PresenceRedundancyGroup:
        root = await self._call("getPresenceRedundancyGroup", f"<name>{xmlsafe.escape(name)}</name>")
        for el in xmlsafe.iter_local(root, "presenceRedundancyGroup"):
            users = xmlsafe.child_text(el, "numUsers")
            return PresenceRedundancyGroup(
                name=xmlsafe.child_text(el, "name") or name,
                description=xmlsafe.child_text(el, "description"),
                server1=_server(el, "server1"),
                server2=_server(el, "server2"),
                ha_enabled=(xmlsafe.child_text(el, "haEnabled") or "").lower() == "true",
                num_users=int(users) if users and users.isdigit() else None,
            )
        raise RestError(self.node, "POST", PATH, 200, f"no presenceRedundancyGroup named {name!r} in the answer")

    async def set_ha(self, name: str, enabled: bool) -> None:
        """`updatePresenceRedundancyGroup` with `haEnabled` (§4.3 [VERIFIED: C-axljaxb]; effect as the GUI
        checkbox [INFERRED])."""
        await self._call(
            "updatePresenceRedundancyGroup",
            f"<name>{xmlsafe.escape(name)}</name><haEnabled>{'true' if enabled else 'false'}</haEnabled>",
        )


def _server(el: ET.Element, tag: str) -> str | None:
    """`server1`/`server2` are references in AXL: text, or a child with the name."""
    for child in el:
        if xmlsafe.local(child.tag) == tag:
            text = (child.text or "").strip()
            if text:
                return text
            inner = xmlsafe.child_text(child, "name") or xmlsafe.child_text(child, "_value_1")
            return inner or None
    return None
