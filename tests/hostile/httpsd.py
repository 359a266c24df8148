"""A hostile HTTPS server on loopback: the ways a broken web service or a proxy answers.

Each :class:`Answer` is one behaviour seen in real estates (a hung Tomcat that trickles its
answer, a proxy that streams without end, a body nested without end, an error message of
megabytes or with terminal escapes). Every loop is bounded by a count or a byte budget, so a
test that goes wrong ends instead of spinning.
"""

from __future__ import annotations

import asyncio
import json
import ssl
from dataclasses import dataclass, field
from typing import Literal

from tests.vos.fakehttps import Pki

#: At most this many requests on one connection, and this many connections in all.
MAX_REQUESTS_PER_CONNECTION = 200
MAX_CONNECTIONS = 200


@dataclass
class Answer:
    """What the server does for a request.

    - `normal`: `status` and `body` at once;
    - `drip`: the headers, then `body` one byte every `interval` seconds;
    - `drip_headers`: the status line and headers one byte every `interval` seconds;
    - `endless`: a 200 without length, then 64 KiB chunks until `budget` bytes or the client leaves;
    - `huge_declared`: a Content-Length of `declared` bytes, then a few bytes and nothing more.
    """

    kind: Literal["normal", "drip", "drip_headers", "endless", "huge_declared"] = "normal"
    status: int = 200
    body: bytes = b""
    content_type: str = "application/json"
    interval: float = 0.5
    budget: int = 64 * 1024 * 1024
    declared: int = 10**9

    @classmethod
    def json(cls, data: object, status: int = 200) -> Answer:
        return cls(body=json.dumps(data).encode(), status=status)


@dataclass
class HostileHttps:
    pki: Pki
    #: path (without the query) -> answer; `default` for every other path.
    answers: dict[str, Answer] = field(default_factory=dict)
    default: Answer = field(default_factory=lambda: Answer(status=404, body=b'{"message": "not found"}'))
    requests: list[str] = field(default_factory=list)
    #: Bytes written by `endless` answers, to show the client stopped reading.
    streamed: int = 0
    server: asyncio.Server | None = None
    _connections: int = 0

    @property
    def port(self) -> int:
        assert self.server is not None
        return int(self.server.sockets[0].getsockname()[1])

    async def start(self) -> HostileHttps:
        self.server = await asyncio.start_server(self._handle, "127.0.0.1", 0, ssl=self.pki.server_context())
        return self

    async def stop(self) -> None:
        if self.server is not None:
            self.server.close()
            await self.server.wait_closed()

    async def __aenter__(self) -> HostileHttps:
        return await self.start()

    async def __aexit__(self, *exc: object) -> None:
        await self.stop()

    async def _handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self._connections += 1
        if self._connections > MAX_CONNECTIONS:
            writer.close()
            return
        try:
            for _ in range(MAX_REQUESTS_PER_CONNECTION):
                head = await reader.readuntil(b"\r\n\r\n")
                lines = head.decode("latin-1").split("\r\n")
                method, target, _ = lines[0].split(" ", 2)
                headers = {k.strip().lower(): v.strip()
                           for k, v in (ln.split(":", 1) for ln in lines[1:] if ":" in ln)}
                await reader.readexactly(int(headers.get("content-length", "0")))
                path = target.partition("?")[0]
                self.requests.append(f"{method} {path}")
                answer = self.answers.get(path, self.default)
                if not await self._answer(answer, writer):
                    return
        except (asyncio.IncompleteReadError, ConnectionError, ssl.SSLError, asyncio.LimitOverrunError):
            pass
        finally:
            writer.close()

    async def _answer(self, a: Answer, writer: asyncio.StreamWriter) -> bool:
        """Write one answer; False when the connection must close after it."""
        head = f"HTTP/1.1 {a.status} X\r\nContent-Type: {a.content_type}\r\n"
        if a.kind == "normal":
            writer.write(f"{head}Content-Length: {len(a.body)}\r\n\r\n".encode() + a.body)
            await writer.drain()
            return True
        if a.kind == "drip":
            writer.write(f"{head}Content-Length: {len(a.body)}\r\n\r\n".encode())
            for i in range(len(a.body)):
                writer.write(a.body[i:i + 1])
                await writer.drain()
                await asyncio.sleep(a.interval)
            return True
        if a.kind == "drip_headers":
            raw = f"{head}Content-Length: {len(a.body)}\r\n\r\n".encode() + a.body
            for i in range(len(raw)):
                writer.write(raw[i:i + 1])
                await writer.drain()
                await asyncio.sleep(a.interval)
            return True
        if a.kind == "huge_declared":
            writer.write(f"{head}Content-Length: {a.declared}\r\n\r\n".encode() + b'{"a": "')
            await writer.drain()
            await asyncio.sleep(a.interval)
            return False
        # endless: no length, the body ends when the connection does
        writer.write(f"{head}Connection: close\r\n\r\n".encode() + b'{"certificates": "')
        chunk = b"A" * 65536
        while self.streamed < a.budget:
            writer.write(chunk)
            self.streamed += len(chunk)
            await writer.drain()
        return False
