"""A small HTTP/1.1 server over asyncio streams, for the lab's HTTPS APIs (no new dependency).

It does what the node's Tomcat does for the APIs a renewal tool calls (certmgr REST, Control
Center SOAP, AXL): request line and headers, bodies by `Content-Length` (or chunked), keep-alive,
`Expect: 100-continue`, HTTP Basic credentials, Tomcat-style error pages, and a graceful end of
every connection when Tomcat restarts (:meth:`HttpConnection.retire`). It is strict where
a real server is (no `Host` on HTTP/1.1, oversized or malformed requests → 400/413, then close),
so that a client which would fail against a node fails against the lab too.

Logs carry method, path and status only: never headers (Basic credentials) nor bodies.
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import email.utils
import hmac
import json
import logging
import ssl
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from http import HTTPStatus
from typing import Any
from urllib.parse import parse_qs, unquote, urlsplit

from ucterm.lab.streams import read_unless

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class HttpLimits:
    """Bounds on what a client may send (a trust store upload is a few kB; these are generous)."""

    max_line: int = 8192
    max_headers: int = 100
    max_body: int = 4 * 1024 * 1024
    #: Seconds a keep-alive connection may stay idle between requests.
    idle_timeout: float = 30.0
    #: Seconds to receive the rest of a request once it has started.
    read_timeout: float = 30.0


class BadRequest(Exception):
    """The request cannot be parsed; answered with `status` and the connection is closed."""

    def __init__(self, status: int, reason: str) -> None:
        super().__init__(reason)
        self.status = status


@dataclass(frozen=True)
class Request:
    method: str
    target: str
    path: str
    query: dict[str, list[str]]
    version: str
    #: Header names lower-cased; repeated headers joined with ", " (RFC 9110 §5.3).
    headers: dict[str, str]
    body: bytes

    def header(self, name: str) -> str | None:
        return self.headers.get(name.lower())

    def query_value(self, name: str) -> str | None:
        values = self.query.get(name)
        return values[0] if values else None

    @property
    def media_type(self) -> str:
        """The Content-Type without parameters, lower-cased (`application/json`)."""
        return (self.header("content-type") or "").split(";", 1)[0].strip().lower()

    @property
    def keep_alive(self) -> bool:
        tokens = {t.strip().lower() for t in (self.header("connection") or "").split(",")}
        if self.version == "HTTP/1.0":
            return "keep-alive" in tokens
        return "close" not in tokens


@dataclass
class Response:
    status: int
    body: bytes = b""
    content_type: str | None = None
    headers: list[tuple[str, str]] = field(default_factory=list)

    @classmethod
    def json(cls, status: int, data: Any) -> Response:
        return cls(status, json.dumps(data, indent=None).encode("utf-8"), "application/json")

    @classmethod
    def xml(cls, status: int, text: str | bytes) -> Response:
        body = text.encode("utf-8") if isinstance(text, str) else text
        return cls(status, body, "text/xml;charset=UTF-8")

    @classmethod
    def error_page(cls, status: int, headers: list[tuple[str, str]] | None = None) -> Response:
        """Tomcat's error page: `HTTP Status 404 – Not Found` [INFERRED: Tomcat 9 default error page]."""
        phrase = _reason(status)
        html = (f'<!doctype html><html lang="en"><head><title>HTTP Status {status} – {phrase}</title></head>'
                f"<body><h1>HTTP Status {status} – {phrase}</h1></body></html>")
        return cls(status, html.encode("utf-8"), "text/html;charset=utf-8", list(headers or []))


App = Callable[[Request], Awaitable[Response]]


def _reason(status: int) -> str:
    try:
        return HTTPStatus(status).phrase
    except ValueError:
        return "Unknown"


# --------------------------------------------------------------------------------------------
# HTTP Basic (RFC 7617)


def basic_credentials(request: Request) -> tuple[str, str] | None:
    """The user and password of an `Authorization: Basic ...` header, or None if absent or malformed."""
    header = request.header("authorization")
    if not header:
        return None
    scheme, _, token = header.strip().partition(" ")
    if scheme.lower() != "basic" or not token.strip():
        return None
    try:
        decoded = base64.b64decode(token.strip(), validate=True).decode("utf-8")
    except (binascii.Error, UnicodeDecodeError):
        return None
    user, sep, password = decoded.partition(":")
    return (user, password) if sep else None


def authorized(request: Request, user: str, password: str) -> bool:
    """True if the request carries exactly these Basic credentials (compared in constant time)."""
    given = basic_credentials(request)
    if given is None:
        return False
    user_ok = hmac.compare_digest(given[0].encode(), user.encode())
    password_ok = hmac.compare_digest(given[1].encode(), password.encode())
    return user_ok and password_ok


def unauthorized(realm: str) -> Response:
    """401 with the challenge a Tomcat BASIC realm sends (RFC 7617 §2)."""
    return Response.error_page(401, [("WWW-Authenticate", f'Basic realm="{realm}"')])


# --------------------------------------------------------------------------------------------
# The connection loop


class HttpConnection:
    """One keep-alive HTTP/1.1 connection (already TLS): requests in, responses out, until it ends.

    It ends when the client closes it or asks to (`Connection: close`), after a framing error
    (answered, then closed), after `idle_timeout` without a request, or when :meth:`retire` says
    the server behind it is going away (the TLS layer calls it when the serving service restarts
    or stops). Retiring never leaves a request half-handled: a request already being read or
    handled is answered (with `Connection: close`), and a connection waiting for its next
    request is closed at once, before another request is read, so the client sees a close it can
    retry on a new connection, as with any keep-alive connection a server has timed out.
    """

    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter, app: App, *,
                 limits: HttpLimits | None = None, label: str = "",
                 trickle: Callable[[], tuple[float, int] | None] | None = None) -> None:
        self.reader = reader
        self.writer = writer
        self.app = app
        self.limits = limits or HttpLimits()
        self.label = label
        #: (seconds, bytes) when answers are to be trickled (faults.NodeFaults.trickle_https), asked per answer.
        self.trickle = trickle
        #: True from the first byte of a request line to the end of its answer.
        self._busy = False
        self._retired = asyncio.Event()

    @property
    def retired(self) -> bool:
        return self._retired.is_set()

    def retire(self) -> None:
        """The server behind this connection is going away: finish what is under way, take nothing new.

        Synchronous, so that the TLS layer can call it from a service-change notification and the
        close (TLS close_notify) is on the wire before the restart that caused it goes on.
        """
        if self._retired.is_set():
            return
        self._retired.set()
        if not self._busy:
            self.writer.close()  # wakes the idle wait too (read_unless watches the event)

    async def serve(self) -> None:
        limits = self.limits
        while not self.retired:
            line = await self._next_request_line()
            if line is None or self.retired:
                # Retired while the request line arrived: it is not acted on, and the connection is
                # already closed, which to the client is the same as a close before it was read.
                return
            self._busy = True
            try:
                close = await self._exchange(line, limits)
            finally:
                self._busy = False
            if close or self.retired:
                return

    async def _exchange(self, line: bytes, limits: HttpLimits) -> bool:
        """Read the rest of one request, answer it; True if the connection must close afterwards."""
        reader, writer, label = self.reader, self.writer, self.label
        try:
            request = await asyncio.wait_for(_read_request(line, reader, writer, limits), limits.read_timeout)
        except BadRequest as exc:
            await _send(writer, Response.error_page(exc.status), head_only=False, close=True)
            log.debug("lab https %s: %s %s", label, exc.status, exc)
            return True
        except (TimeoutError, asyncio.IncompleteReadError, ConnectionError, ssl.SSLError):
            return True
        try:
            response = await self.app(request)
        except Exception:
            log.exception("lab https %s: %s %s failed", label, request.method, request.path)
            response = Response.error_page(500)
        close = not request.keep_alive or self.retired
        log.debug("lab https %s: %s %s -> %s", label, request.method, request.path, response.status)
        await _send(writer, response, head_only=request.method == "HEAD", close=close,
                    trickle=self.trickle() if self.trickle is not None else None)
        return close

    async def _next_request_line(self) -> bytes | None:
        """The next non-empty request line, or None when the client leaves, idles out, or the connection retires."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + self.limits.idle_timeout
        while True:
            remaining = deadline - loop.time()
            if remaining <= 0:
                return None
            try:
                line = await read_unless(self._retired, self.reader.readline(), remaining)
            except (ValueError, asyncio.LimitOverrunError, ConnectionError, ssl.SSLError):
                return None
            if not line:
                return None
            if line.strip():  # RFC 9112 §2.2: ignore empty lines before a request line
                return line


async def _read_request(first: bytes, reader: asyncio.StreamReader, writer: asyncio.StreamWriter,
                        limits: HttpLimits) -> Request:
    if len(first) > limits.max_line:
        raise BadRequest(414, "request line too long")
    try:
        method, target, version = first.decode("ascii").strip().split(" ")
    except (UnicodeDecodeError, ValueError):
        raise BadRequest(400, "malformed request line") from None
    if version not in ("HTTP/1.1", "HTTP/1.0") or not method.isalpha() or not method.isupper():
        raise BadRequest(400, "unsupported protocol or method")
    headers: dict[str, str] = {}
    for _ in range(limits.max_headers + 1):
        raw = await reader.readline()
        if len(raw) > limits.max_line:
            raise BadRequest(431, "header line too long")
        if not raw:
            raise asyncio.IncompleteReadError(b"", None)
        text = raw.decode("latin-1").rstrip("\r\n")
        if not text:
            break
        name, sep, value = text.partition(":")
        if not sep or not name or name != name.strip():
            raise BadRequest(400, "malformed header")
        key = name.lower()
        headers[key] = f"{headers[key]}, {value.strip()}" if key in headers else value.strip()
    else:
        raise BadRequest(431, "too many headers")
    if version == "HTTP/1.1" and "host" not in headers:
        raise BadRequest(400, "Host header missing")  # RFC 9112 §3.2
    parts = urlsplit(target)
    request = Request(method, target, unquote(parts.path or "/"), parse_qs(parts.query, keep_blank_values=True),
                      version, headers, b"")
    body = await _read_body(request, reader, writer, limits)
    return Request(method, target, request.path, request.query, version, headers, body)


async def _read_body(request: Request, reader: asyncio.StreamReader, writer: asyncio.StreamWriter,
                     limits: HttpLimits) -> bytes:
    encoding = (request.header("transfer-encoding") or "").strip().lower()
    length_text = request.header("content-length")
    if not encoding and length_text is None:
        return b""
    if (request.header("expect") or "").lower() == "100-continue" and request.version == "HTTP/1.1":
        writer.write(b"HTTP/1.1 100 Continue\r\n\r\n")
        await writer.drain()
    if encoding:
        if encoding != "chunked":
            raise BadRequest(501, "unsupported transfer encoding")
        return await _read_chunked(reader, limits)
    assert length_text is not None
    if not length_text.isdigit():
        raise BadRequest(400, "bad Content-Length")
    length = int(length_text)
    if length > limits.max_body:
        raise BadRequest(413, "body too large")
    return await reader.readexactly(length)


async def _read_chunked(reader: asyncio.StreamReader, limits: HttpLimits) -> bytes:
    """RFC 9112 §7.1 chunked body (extensions and trailers are read and ignored)."""
    body = bytearray()
    while True:
        size_line = (await reader.readline()).split(b";", 1)[0].strip()
        try:
            size = int(size_line, 16)
        except ValueError:
            raise BadRequest(400, "bad chunk size") from None
        if size == 0:
            while (await reader.readline()).strip():
                pass
            return bytes(body)
        if len(body) + size > limits.max_body:
            raise BadRequest(413, "body too large")
        body += await reader.readexactly(size)
        if (await reader.readexactly(2)) != b"\r\n":
            raise BadRequest(400, "bad chunk terminator")


async def _send(writer: asyncio.StreamWriter, response: Response, *, head_only: bool, close: bool,
                trickle: tuple[float, int] | None = None) -> None:
    lines = [f"HTTP/1.1 {response.status} {_reason(response.status)}",
             f"Date: {email.utils.formatdate(usegmt=True)}"]
    if response.content_type:
        lines.append(f"Content-Type: {response.content_type}")
    lines.append(f"Content-Length: {len(response.body)}")
    lines += [f"{name}: {value}" for name, value in response.headers]
    if close:
        lines.append("Connection: close")
    head = ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1")
    data = head if head_only else head + response.body
    try:
        if trickle is None:
            writer.write(data)
            await writer.drain()
            return
        seconds, piece = trickle
        for start in range(0, len(data), piece):  # bounded by the answer's length
            writer.write(data[start:start + piece])
            await writer.drain()
            await asyncio.sleep(seconds)
    except (ConnectionError, ssl.SSLError):
        pass
