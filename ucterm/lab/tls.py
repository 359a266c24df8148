"""TLS endpoints of a lab node: what a client sees on 8443, 5061, 5222 and 5269.

Each TLS port presents the certificate its serving service loaded when it last started
(:meth:`LabNode.served_identity`), which is not the installed one after an upload until that
service restarts (§3, catalog.serving_service). So the served identity is read at every
handshake, never cached per connection, and the SSLContext is cached per certificate only.

A connection lives as long as the process that accepted it: when the port stops serving the
identity it negotiated (its service restarts or stops), it is ended at once, told by the node's
service-change notification (:meth:`TlsPort.watching`, :meth:`LabNode.watch_services`), not by
polling. HTTPS finishes a request under way and closes an idle keep-alive connection before it
can read another (:class:`ucterm.lab.http.HttpConnection`); XMPP sends RFC 6120's
`<system-shutdown/>` stream error; SIP TLS is closed.

- `https` (8443) → tomcat; the HTTP APIs run over it afterwards (:mod:`ucterm.lab.network`).
- `sip_tls` (5061) → CallManager on Unified CM, cup on IM and Presence (§2.1, §2.2 "Used by").
- `xmpp_c2s` (5222) → cup-xmpp, `xmpp_s2s` (5269) → cup-xmpp-s2s (§2.2 [VERIFIED: S-IMP125SU2]),
  both behind XMPP STARTTLS (RFC 6120 §5) as the §7 step 7 verification expects.

A unit whose serving service is not running (stopped, stuck in STARTING) gets no TLS at all:
the connection is closed before a handshake, as a port whose listener is gone would behave.
SNI is accepted and ignored: VOS serves one certificate per port whatever name is asked for
[INFERRED: no source shows SNI-based selection on VOS].

Only the RSA unit of each port is served; a real node with a `-ECDSA` certificate would present
it to clients that prefer ECDSA [INFERRED], which the lab does not model.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import re
import ssl
import tempfile
from collections import OrderedDict
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Literal

from ucterm.lab import certs
from ucterm.lab.node import Identity, LabNode
from ucterm.lab.services import Service
from ucterm.lab.streams import LabStreamProtocol, read_unless

log = logging.getLogger(__name__)

#: The unit whose certificate each TLS port presents, per product (§2.1, §2.2; `rest` shares `https`).
PORT_UNITS: dict[str, dict[str, str]] = {
    "https": {"cucm": "tomcat", "imp": "tomcat", "cuc": "tomcat"},
    "sip_tls": {"cucm": "CallManager", "imp": "cup"},
    "xmpp_c2s": {"imp": "cup-xmpp"},
    "xmpp_s2s": {"imp": "cup-xmpp-s2s"},
}

#: Seconds a client gets to complete a TLS handshake or send the next XMPP element.
HANDSHAKE_TIMEOUT = 20.0
#: Seconds an idle plain-TLS or XMPP connection stays open after the handshake.
IDLE_TIMEOUT = 30.0
#: Bytes of XMPP negotiation accepted before the handshake (a stream header is a few hundred).
_XMPP_PREAMBLE_LIMIT = 8192

XmppKind = Literal["c2s", "s2s"]

#: RFC 6120 namespaces.
NS_STREAMS = "http://etherx.jabber.org/streams"
NS_TLS = "urn:ietf:params:xml:ns:xmpp-tls"
NS_SASL = "urn:ietf:params:xml:ns:xmpp-sasl"
NS_STREAM_ERRORS = "urn:ietf:params:xml:ns:xmpp-streams"
XMPP_CONTENT_NS: dict[XmppKind, str] = {"c2s": "jabber:client", "s2s": "jabber:server"}


def unit_behind(node: LabNode, port: str) -> str | None:
    """The unit whose certificate `port` presents on this node, or None if the node has no such port."""
    return PORT_UNITS.get(port, {}).get(node.product)


def identity_key(identity: Identity) -> tuple[str, ...]:
    """What distinguishes one served identity from another: the leaf and chain fingerprints."""
    return (certs.fingerprint(identity.cert), *(certs.fingerprint(c) for c in identity.chain))


class ServerContexts:
    """Server SSLContexts, one per served identity, built on first use and kept (LRU-bounded).

    Python's ssl module loads certificates and keys from files only, so each context is built
    from a private temporary directory that is removed at once; the keys are lab keys.
    """

    def __init__(self, limit: int = 256) -> None:
        self._limit = limit
        self._contexts: OrderedDict[tuple[str, ...], ssl.SSLContext] = OrderedDict()

    def __len__(self) -> int:
        return len(self._contexts)

    def context_for(self, identity: Identity) -> ssl.SSLContext:
        key = identity_key(identity)
        context = self._contexts.get(key)
        if context is None:
            context = _build_context(identity)
            self._contexts[key] = context
            while len(self._contexts) > self._limit:
                self._contexts.popitem(last=False)
        else:
            self._contexts.move_to_end(key)
        return context


def _build_context(identity: Identity) -> ssl.SSLContext:
    """A TLS 1.2+ server context presenting the leaf with its intermediates (not the root)."""
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.minimum_version = ssl.TLSVersion.TLSv1_2
    chain = identity.cert_pem + "".join(identity.chain_pems)
    with tempfile.TemporaryDirectory(prefix="ucterm-lab-tls-") as folder:
        cert_file = Path(folder) / "chain.pem"
        key_file = Path(folder) / "key.pem"
        cert_file.write_text(chain, encoding="ascii")
        fd = os.open(key_file, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w", encoding="ascii") as handle:
            handle.write(identity.key_pem)
        context.load_cert_chain(cert_file, key_file)
    return context


class TlsPort:
    """One TLS port of one node: which unit it serves and how it hands a connection over to TLS."""

    def __init__(self, node: LabNode, port: str, contexts: ServerContexts) -> None:
        unit = unit_behind(node, port)
        if unit is None:
            raise ValueError(f"{node.fqdn} has no TLS port named {port!r}")
        self.node = node
        self.port = port
        self.unit = unit
        self._contexts = contexts

    def served(self) -> Identity | None:
        """What a handshake would present now; None while the node is down or the service not running."""
        if self.node.state != "up":
            return None
        return self.node.served_identity(self.unit)

    def still_serving(self, identity: Identity) -> Callable[[], bool]:
        """A check that is True while the port still serves `identity` (False once its service restarts
        or stops: a restart closes the connections of the old process)."""
        key = identity_key(identity)

        def check() -> bool:
            current = self.served()
            return current is not None and (current is identity or identity_key(current) == key)

        return check

    @contextlib.contextmanager
    def watching(self, identity: Identity, on_retire: Callable[[], None]) -> Iterator[None]:
        """Call `on_retire()` once, synchronously, as soon as the port stops serving `identity`.

        For the lifetime of one connection: a service change on the node (STOPPING at the start of
        a restart, a stop) is when the process behind the port goes away. Calling back inside the
        change, rather than from the connection's own task later, puts the close on the wire
        before the restart goes on, so that a client never sends a request into a connection the
        server has already decided to close. Also fires at once if the service changed during the
        handshake.
        """
        alive = self.still_serving(identity)
        fired = False

        def changed(_: Service | None = None) -> None:
            nonlocal fired
            if not fired and not alive():
                fired = True
                on_retire()

        unwatch = self.node.watch_services(changed)
        try:
            changed()
            yield
        finally:
            unwatch()

    async def handshake(self, writer: asyncio.StreamWriter) -> Identity | None:
        """Upgrade the connection to TLS with the identity served now; None if refused or failed.

        Called before anything else is awaited on a fresh connection, so that the client's
        ClientHello cannot land in the plain-text reader buffer first.
        """
        identity = self.served()
        if identity is None:
            log.debug("%s %s: %s not running, closing without TLS", self.node.fqdn, self.port, self.unit)
            return None
        context = self._contexts.context_for(identity)
        protocol = writer.transport.get_protocol()
        if isinstance(protocol, LabStreamProtocol):
            protocol.starting_tls()  # no asyncio warning when a client closes right after the handshake
        try:
            await writer.start_tls(context, ssl_handshake_timeout=HANDSHAKE_TIMEOUT)
        except (ssl.SSLError, ConnectionError, TimeoutError, OSError) as exc:
            log.debug("%s %s: TLS handshake failed: %s", self.node.fqdn, self.port, exc)
            return None
        return identity

    async def serve_plain(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        """SIP TLS: complete the handshake, then read (and ignore) until the client leaves.

        The lab models the certificate of 5061 only; SIP itself is not spoken [lab scope].
        """
        identity = await self.handshake(writer)
        if identity is None:
            return
        retired = asyncio.Event()

        def retire() -> None:
            retired.set()
            writer.close()

        with self.watching(identity, retire):
            await _hold(reader, retired)

    async def serve_xmpp(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter,
                         kind: XmppKind) -> None:
        """XMPP STARTTLS (RFC 6120 §5.4) on 5222 (`jabber:client`) or 5269 (`jabber:server`).

        Stream header in, stream header and `<starttls><required/></starttls>` features out,
        `<starttls/>` in, `<proceed/>` out, then TLS on the same socket; after the handshake the
        client's restarted stream is answered with SASL features and the stream is held until the
        client closes it. Wrong namespaces and unknown domains get the RFC 6120 §4.9 stream errors.
        """
        if self.served() is None:
            return  # the XCP service is not running: nothing answers on its port
        session = _XmppNegotiation(reader, writer, kind, self._domains())
        header = await session.read_stream_header()
        if header is None:
            return
        if not await session.open_stream(header, features=(
                f"<starttls xmlns='{NS_TLS}'><required/></starttls>")):
            return
        element = await session.read_element()
        if element is None:
            return
        if not re.match(r"<starttls\b", element) or f"'{NS_TLS}'" not in element.replace('"', "'"):
            # RFC 6120 §5.3.1: TLS is required here, so anything else violates the policy.
            await session.stream_error("policy-violation")
            return
        writer.write(f"<proceed xmlns='{NS_TLS}'/>".encode())
        identity = await self.handshake(writer)
        if identity is None:
            return
        session.buffer = ""  # RFC 6120 §5.4.3.3: the stream restarts from scratch over TLS
        header = await session.read_stream_header()
        if header is None:
            return
        mechanism = "PLAIN" if kind == "c2s" else "EXTERNAL"
        if not await session.open_stream(header, features=(
                f"<mechanisms xmlns='{NS_SASL}'><mechanism>{mechanism}</mechanism></mechanisms>")):
            return
        retired = asyncio.Event()

        def retire() -> None:
            # RFC 6120 §4.9.3.19: the server is being shut down; the stream error closes the stream.
            retired.set()
            with contextlib.suppress(Exception):
                writer.write(_stream_error_xml("system-shutdown").encode())
            writer.close()

        with self.watching(identity, retire):
            ended = await _hold(reader, retired, end=b"</stream:stream>")
        if ended:
            with contextlib.suppress(Exception):
                writer.write(b"</stream:stream>")  # RFC 6120 §4.4: answer the client's close
                await writer.drain()

    def _domains(self) -> tuple[str, ...]:
        """Names the XCP router serves: presence domains, the group chat alias, the node itself."""
        cluster = self.node.cluster_ref
        names = [*cluster.presence_domains]
        if cluster.group_chat_alias:
            names.append(cluster.group_chat_alias)
        names.append(self.node.fqdn)
        return tuple(n.lower() for n in names)


async def _hold(reader: asyncio.StreamReader, retired: asyncio.Event, *, end: bytes | None = None) -> bool:
    """Keep a connection open, ignoring what the client sends, until it leaves, idles for
    IDLE_TIMEOUT, or `retired` is set (the port stopped serving this certificate: a restart ends
    the old process's connections). True if the client sent `end` (e.g. its `</stream:stream>`)."""
    while True:
        try:
            data = await read_unless(retired, reader.read(4096), IDLE_TIMEOUT)
        except (ssl.SSLError, ConnectionError):
            return False
        if not data:  # left, idle too long, or retired
            return False
        if end is not None and end in data:
            return True


_XML_DECL = re.compile(r"^\s*<\?xml[^>]*\?>", re.S)
_STREAM_OPEN = re.compile(r"^\s*<(?P<prefix>[\w.-]+:)?stream\b(?P<attrs>[^>]*)>", re.S)
_ATTR = re.compile(r"""([\w:.-]+)\s*=\s*(?:'([^']*)'|"([^"]*)")""")
_ELEMENT = re.compile(r"^\s*(<[\w:.-]+\b[^>]*?/>|<(?P<tag>[\w:.-]+)\b[^>]*>.*?</(?P=tag)\s*>)", re.S)


class _XmppNegotiation:
    """The plain-text part of an XMPP stream: read headers and elements, write answers."""

    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter, kind: XmppKind,
                 domains: tuple[str, ...]) -> None:
        self.reader = reader
        self.writer = writer
        self.kind = kind
        self.domains = domains
        self.buffer = ""
        self._stream_id = 0
        self._opened = False

    async def _more(self) -> bool:
        try:
            data = await asyncio.wait_for(self.reader.read(1024), timeout=HANDSHAKE_TIMEOUT)
        except (TimeoutError, ssl.SSLError, ConnectionError):
            return False
        if not data:
            return False
        self.buffer += data.decode("utf-8", "replace")
        return len(self.buffer) <= _XMPP_PREAMBLE_LIMIT

    async def read_stream_header(self) -> dict[str, str] | None:
        """The attributes of the client's `<stream:stream ...>` open tag (after an optional XML declaration)."""
        while True:
            text = _XML_DECL.sub("", self.buffer, count=1)
            match = _STREAM_OPEN.match(text)
            if match:
                self.buffer = text[match.end():]
                attrs = {m.group(1): m.group(2) if m.group(2) is not None else m.group(3)
                         for m in _ATTR.finditer(match.group("attrs"))}
                # Any prefix may name the streams namespace (RFC 6120 §4.8.5); `stream` is customary.
                prefix = (match.group("prefix") or "")[:-1]
                attrs["xmlns:stream"] = attrs.get(f"xmlns:{prefix}", "") if prefix else attrs.get("xmlns", "")
                return attrs
            if text.strip() and not text.lstrip().startswith("<"):
                await self.stream_error("not-well-formed")
                return None
            if not await self._more():
                return None

    async def read_element(self) -> str | None:
        """The next complete top-level element the client sends (e.g. `<starttls .../>`)."""
        while True:
            match = _ELEMENT.match(self.buffer)
            if match:
                self.buffer = self.buffer[match.end():]
                return match.group(1)
            if "</stream:stream>" in self.buffer:
                return None
            if not await self._more():
                return None

    async def open_stream(self, header: dict[str, str], *, features: str) -> bool:
        """Answer a stream header with ours and the features; False after a stream error."""
        content_ns = XMPP_CONTENT_NS[self.kind]
        to = (header.get("to") or self.domains[0]).lower()
        self._stream_id += 1
        answer = (f"<?xml version='1.0'?><stream:stream xmlns='{content_ns}' xmlns:stream='{NS_STREAMS}' "
                  f"id='lab-{self._stream_id}' from='{_attr(to)}' version='1.0' xml:lang='en'>")
        if header.get("xmlns:stream") != NS_STREAMS:
            await self.stream_error("invalid-namespace")  # RFC 6120 §4.9.3.10
            return False
        if header.get("xmlns") != content_ns:
            await self.stream_error("invalid-namespace")
            return False
        if to not in self.domains:
            await self.stream_error("host-unknown")  # RFC 6120 §4.9.3.6
            return False
        self.writer.write(answer.encode() + f"<stream:features>{features}</stream:features>".encode())
        self._opened = True
        await self.writer.drain()
        return True

    async def stream_error(self, condition: str) -> None:
        """RFC 6120 §4.9: a stream error closes the stream (opening ours first if not yet sent)."""
        opening = "" if self._opened else (
            f"<?xml version='1.0'?><stream:stream xmlns='{XMPP_CONTENT_NS[self.kind]}' "
            f"xmlns:stream='{NS_STREAMS}' id='lab-error' version='1.0'>")
        self.writer.write((opening + _stream_error_xml(condition)).encode())
        with contextlib.suppress(Exception):
            await self.writer.drain()


def _stream_error_xml(condition: str) -> str:
    """An RFC 6120 §4.9.2 stream error, followed by the closing tag that ends the stream."""
    return f"<stream:error><{condition} xmlns='{NS_STREAM_ERRORS}'/></stream:error></stream:stream>"


def _attr(value: str) -> str:
    return value.replace("&", "&amp;").replace("'", "&apos;").replace("<", "&lt;")
