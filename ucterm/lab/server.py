"""A node's sockets on 127.0.0.1: the SSH CLI, and the TLS ports reserved for the TLS layer.

Every port of a node (ssh, https — also serving `rest` —, sip_tls, xmpp_c2s, xmpp_s2s as its
product has them) is bound when the estate starts, so the inventory written then is right. A
connection to a TLS port is handed to `node.port_handlers[name]` (registered by the TLS layer)
or closed at once while none is registered; its streams run on
:class:`ucterm.lab.streams.LabStreamProtocol`, which the TLS layer upgrades without log noise.
Taking a node down closes every listener and connection, so that clients see "connection
refused" on all its ports; bringing it up binds the same port numbers again.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable
from typing import Literal

import asyncssh

from ucterm.lab.node import LabNode
from ucterm.lab.shell import VosServer
from ucterm.lab.streams import start_lab_server

log = logging.getLogger(__name__)

LOOPBACK = "127.0.0.1"


class NodeServer:
    """Listeners and live connections of one node."""

    def __init__(self, node: LabNode, host_key: asyncssh.SSHKey, user: str, password: str) -> None:
        self.node = node
        self.host_key = host_key
        self._user = user
        self._password = password
        self._acceptor: asyncssh.SSHAcceptor | None = None
        self._servers: dict[str, asyncio.Server] = {}
        self._ssh: set[asyncssh.SSHServerConnection] = set()
        self._streams: set[asyncio.StreamWriter] = set()

    @property
    def running(self) -> bool:
        return self._acceptor is not None

    def addresses(self) -> list[tuple[str, int]]:
        """(host, port) of every listening socket."""
        out: list[tuple[str, int]] = []
        if self._acceptor is not None:
            out += [(a[0], a[1]) for a in self._acceptor.get_addresses()]
        for server in self._servers.values():
            out += [sock.getsockname()[:2] for sock in server.sockets]
        return out

    async def start(self) -> None:
        node = self.node
        self._acceptor = await asyncssh.listen(
            LOOPBACK, node.ports.get("ssh", 0),
            server_factory=lambda: VosServer(node, self._user, self._password, self._ssh),
            server_host_keys=[self.host_key], line_editor=False, agent_forwarding=False,
            allow_scp=False, reuse_address=True)
        node.ports["ssh"] = self._acceptor.get_port()
        for name in node.port_names:
            if name in ("ssh", "rest"):
                continue
            server = await start_lab_server(self._dispatcher(name), LOOPBACK, node.ports.get(name, 0))
            self._servers[name] = server
            node.ports[name] = server.sockets[0].getsockname()[1]
        if "rest" in node.port_names:
            node.ports["rest"] = node.ports["https"]  # certmgr REST and AXL/SOAP share the https port
        node.state = "up"

    def _dispatcher(self, name: str) -> Callable[[asyncio.StreamReader, asyncio.StreamWriter], Awaitable[None]]:
        async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
            self._streams.add(writer)
            try:
                handler = self.node.port_handlers.get(name)
                if handler is not None:
                    await handler(reader, writer)
            except (ConnectionError, asyncio.IncompleteReadError):
                pass
            except Exception:
                log.exception("lab port %s on %s failed", name, self.node.fqdn)
            finally:
                self._streams.discard(writer)
                writer.close()
        return handle

    async def stop(self, state: Literal["stopped", "down"] = "stopped") -> None:
        """Close every listener and connection; `state` is what the node reports afterwards."""
        if self._acceptor is not None:
            self._acceptor.close()
            for conn in list(self._ssh):
                conn.abort()
            with contextlib.suppress(Exception):
                await self._acceptor.wait_closed()
            self._acceptor = None
        for server in self._servers.values():
            server.close()
        for writer in list(self._streams):
            writer.transport.abort()
        for server in self._servers.values():
            with contextlib.suppress(Exception):
                await server.wait_closed()
        self._servers.clear()
        self.node.state = state
