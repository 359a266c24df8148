"""The network face of every lab node: TLS on its ports and the HTTPS APIs behind 8443.

:func:`install_endpoints` registers a handler in `node.port_handlers` for each TLS port the node's
product has (:mod:`ucterm.lab.server` binds the sockets and hands accepted connections over):

- `https`: TLS with the served tomcat certificate, then HTTP/1.1 routed by path —
  certmgr REST under `/platformcom/` (§4.1, v14+), Control Center Services at
  `/controlcenterservice2/services/ControlCenterServices` (§4.2), AXL at `/axl/` on CUCM
  publishers (§4.3); anything else is a Tomcat 404. (`rest` is the same listener, server.py.)
- `sip_tls`: TLS with the served CallManager / cup certificate.
- `xmpp_c2s` / `xmpp_s2s`: XMPP STARTTLS, then the served cup-xmpp / cup-xmpp-s2s certificate.

Every connection is watched (:meth:`TlsPort.watching`) for as long as it lives: when the port's
serving service restarts or stops, the connection ends at once, as the old process's would.

Calling it again is harmless: nodes that already have this module's handlers keep them (and
their state), so the estate may call it from `start()` and a test may call it too.
"""

from __future__ import annotations

import asyncio
from typing import TYPE_CHECKING

from ucterm.lab import api_axl, api_certmgr, api_soap
from ucterm.lab.api_axl import AxlApi
from ucterm.lab.api_certmgr import CertMgrApi
from ucterm.lab.api_soap import ControlCenterApi
from ucterm.lab.http import HttpConnection, Request, Response
from ucterm.lab.node import LabNode, PortHandler
from ucterm.lab.tls import ServerContexts, TlsPort, unit_behind

if TYPE_CHECKING:
    from ucterm.lab.estate import LabEstate


class NodeEndpoints:
    """The TLS ports and HTTPS applications of one node."""

    def __init__(self, node: LabNode, estate: LabEstate, contexts: ServerContexts) -> None:
        self.node = node
        self.ports = {name: TlsPort(node, name, contexts) for name in node.port_names
                      if name != "rest" and unit_behind(node, name) is not None}
        self.certmgr = CertMgrApi(node)
        self.control_center = ControlCenterApi(node)
        self.axl = AxlApi(node, estate) if node.product == "cucm" and node.is_publisher else None

    def handlers(self) -> dict[str, PortHandler]:
        table: dict[str, PortHandler] = {"https": self.serve_https, "sip_tls": self.serve_sip_tls,
                                         "xmpp_c2s": self.serve_xmpp_c2s, "xmpp_s2s": self.serve_xmpp_s2s}
        return {name: table[name] for name in self.ports}

    def install(self) -> None:
        self.node.port_handlers.update(self.handlers())

    # ---- ports --------------------------------------------------------------------------------

    async def serve_https(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        port = self.ports["https"]
        identity = await port.handshake(writer)
        if identity is None:
            return
        # A Tomcat restart ends the connections of the old process: the moment Tomcat stops serving
        # the certificate negotiated here, the connection retires (answer what is under way, then close).
        faults = self.node.faults
        connection = HttpConnection(
            reader, writer, self.route, label=self.node.fqdn,
            trickle=lambda: (faults.https_trickle, faults.https_trickle_bytes)
            if faults.https_trickle is not None else None)
        with port.watching(identity, connection.retire):
            await connection.serve()

    async def serve_sip_tls(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await self.ports["sip_tls"].serve_plain(reader, writer)

    async def serve_xmpp_c2s(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await self.ports["xmpp_c2s"].serve_xmpp(reader, writer, "c2s")

    async def serve_xmpp_s2s(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await self.ports["xmpp_s2s"].serve_xmpp(reader, writer, "s2s")

    # ---- HTTPS routing ------------------------------------------------------------------------

    async def route(self, request: Request) -> Response:
        path = request.path
        if path.startswith(api_certmgr.PREFIX):
            return await self.certmgr.handle(request)
        if path == api_soap.PATH:
            return await self.control_center.handle(request)
        if self.axl is not None:
            if path == api_axl.PATH:
                return await self.axl.handle(request)
            if path == api_axl.PATH.rstrip("/"):
                return Response(302, b"", None, [("Location", api_axl.PATH)])  # Tomcat's context-root redirect
        return Response.error_page(404)


def endpoints_of(node: LabNode) -> NodeEndpoints | None:
    """The endpoints installed on `node` by :func:`install_endpoints`, if any."""
    handler = node.port_handlers.get("https")
    owner = getattr(handler, "__self__", None)
    return owner if isinstance(owner, NodeEndpoints) and owner.node is node else None


def install_endpoints(estate: LabEstate) -> None:
    """Register the TLS and HTTPS handlers of every node of `estate` (idempotent; see the module docstring)."""
    contexts = ServerContexts()
    for node in estate.nodes:
        if endpoints_of(node) is None:
            NodeEndpoints(node, estate, contexts).install()
