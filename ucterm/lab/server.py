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
import socket
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

    def __init__(self, node: LabNode, host_key: asyncssh.SSHKey) -> None:
        self.node = node
        self.host_key = host_key
        self._acceptor: asyncssh.SSHAcceptor | None = None
        self._servers: dict[str, asyncio.Server] = {}
        self._ssh: set[asyncssh.SSHServerConnection] = set()
        self._streams: set[asyncio.StreamWriter] = set()
        #: Ports a firewall refuses (filter()): a bound socket that does not listen holds each number.
        self._filtered: dict[str, socket.socket] = {}

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
            # The node's administrator at the time of each login (LabNode.credentials).
            server_factory=lambda: VosServer(node, node.credentials.os_user, node.credentials.os_password,
                                             self._ssh),
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

    async def filter(self, name: str) -> None:
        """A firewall between the clients and the node refuses port `name` (only 22 and 8443 open
        between a jumpbox and the node is common); the node itself goes on serving it.

        Connections are refused at once: the number is held by a bound socket that does not listen.
        `rest` shares the https listener in the lab, as certmgr shares Tomcat on a real node, where
        it is port 443: filtering it gives it a number of its own, so write the inventory after."""
        if name in self._filtered or name not in self.node.port_names or name == "ssh":
            return
        server = self._servers.pop(name, None)
        port = self.node.ports.get(name, 0) if server is not None else 0
        if server is not None:
            server.close()
            with contextlib.suppress(Exception):
                await server.wait_closed()
        blocked = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        blocked.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        blocked.bind((LOOPBACK, port))
        self._filtered[name] = blocked
        self.node.ports[name] = blocked.getsockname()[1]

    async def unfilter(self, name: str) -> None:
        """The firewall lets port `name` through again (on the number it had while filtered)."""
        blocked = self._filtered.pop(name, None)
        if blocked is None:
            return
        blocked.close()
        if name == "rest":
            self.node.ports["rest"] = self.node.ports["https"]
            return
        self._servers[name] = await start_lab_server(self._dispatcher(name), LOOPBACK, self.node.ports[name])

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
        for blocked in self._filtered.values():
            blocked.close()
        self._filtered.clear()
        self.node.state = state
