"""Read the certificate chain a node serves, without logging in and without trusting it.

Used by scans (expiry of what is *served*, which is what phones and browsers see) and after a
restart (did the new certificate take effect?). Three kinds of endpoint: direct TLS (HTTPS 8443,
certmgr 443, SIP TLS 5061) and XMPP with STARTTLS, client-to-server (5222) and server-to-server
(5269) (§2.2 [VERIFIED: S-IMP125SU2] ports; the STARTTLS exchange is RFC 6120).

Reading uses an SSLContext with `CERT_NONE` so expired or self-signed chains are still read;
whether the chain verifies against the configured bundle is reported separately (`verified`),
by a second handshake with a verifying context, so both answers come from OpenSSL.

Python 3.11's ssl module exposes only the peer leaf publicly; the full chain as sent comes from
the private `get_unverified_chain()` (public from 3.13). When it is missing, the result holds the
leaf alone and says so in :attr:`ProbeResult.note`.
"""

from __future__ import annotations

import asyncio
import contextlib
import re
import ssl
import time
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

from cryptography import x509

from ucterm import catalog
from ucterm.vos import tls

if TYPE_CHECKING:
    from ucterm.vos.target import NodeTarget

ProbeKind = Literal["tls", "xmpp-c2s", "xmpp-s2s"]

#: Port name (catalog.DEFAULT_PORTS) → how to talk to it.
PORT_KINDS: dict[str, ProbeKind] = {
    "https": "tls",
    "rest": "tls",
    "sip_tls": "tls",
    "xmpp_c2s": "xmpp-c2s",
    "xmpp_s2s": "xmpp-s2s",
}
_XMPP_NS = {"xmpp-c2s": "jabber:client", "xmpp-s2s": "jabber:server"}
_MAX_XMPP_PREAMBLE = 64 * 1024


@dataclass(frozen=True)
class ProbeResult:
    address: str
    port: int
    sni: str
    kind: ProbeKind
    ok: bool
    chain: list[x509.Certificate] = field(default_factory=list)
    error: str | None = None
    #: True/False when a bundle was given (does the chain verify for `sni`?), None otherwise.
    verified: bool | None = None
    verify_error: str | None = None
    elapsed: float = 0.0
    note: str | None = None
    #: False when no TCP connection was made (refused, filtered, unreachable): the port does not answer,
    #: which tells nothing about the certificate behind it (a firewall between here and the node).
    answered: bool = True

    @property
    def leaf(self) -> x509.Certificate | None:
        return self.chain[0] if self.chain else None


@dataclass(frozen=True)
class ProbeTarget:
    address: str
    port: int
    sni: str
    kind: ProbeKind = "tls"
    xmpp_domain: str | None = None
    verify_bundle: Path | None = None


class _ProbeError(Exception):
    pass


async def _xmpp_starttls_preamble(
    reader: asyncio.StreamReader, writer: asyncio.StreamWriter, kind: ProbeKind, domain: str
) -> None:
    """Open the XMPP stream and ask for STARTTLS (RFC 6120 §5.4); return once the server said `<proceed`."""
    header = (
        f"<?xml version='1.0'?><stream:stream to='{_xml_attr(domain)}' xmlns='{_XMPP_NS[kind]}' "
        "xmlns:stream='http://etherx.jabber.org/streams' version='1.0'>"
    )
    writer.write(header.encode())
    await writer.drain()
    await _read_until(reader, re.compile(rb"<(?:\w+:)?starttls\b"), "the server offered no <starttls/>")
    writer.write(b"<starttls xmlns='urn:ietf:params:xml:ns:xmpp-tls'/>")
    await writer.drain()
    data = await _read_until(reader, re.compile(rb"<(?:\w+:)?(?:proceed|failure)\b"), "no answer to <starttls/>")
    if re.search(rb"<(?:\w+:)?failure\b", data):
        raise _ProbeError("the server refused STARTTLS (<failure/>)")


async def _read_until(reader: asyncio.StreamReader, pattern: re.Pattern[bytes], missing: str) -> bytes:
    data = b""
    while not pattern.search(data):
        if b"</stream:stream>" in data or b"<stream:error" in data:
            raise _ProbeError(f"{missing} (stream error: {data[-200:].decode('utf-8', 'replace')})")
        chunk = await reader.read(4096)
        if not chunk:
            raise _ProbeError(f"{missing} (connection closed)")
        data += chunk
        if len(data) > _MAX_XMPP_PREAMBLE:
            raise _ProbeError(f"{missing} (too much data)")
    return data


def _xml_attr(value: str) -> str:
    return value.replace("&", "&amp;").replace("'", "&apos;").replace("<", "&lt;")


def _chain_of(writer: asyncio.StreamWriter) -> tuple[list[x509.Certificate], str | None]:
    sslobj: Any = writer.get_extra_info("ssl_object")
    if sslobj is None:
        return [], "no TLS session"
    inner = getattr(sslobj, "_sslobj", None)
    getter = getattr(inner, "get_unverified_chain", None) or getattr(sslobj, "get_unverified_chain", None)
    if getter is not None:
        try:
            raw = getter() or []
            chain = [x509.load_der_x509_certificate(_der(c)) for c in raw]
            if chain:
                return chain, None
        except (ValueError, ssl.SSLError, AttributeError):
            pass
    der = sslobj.getpeercert(binary_form=True)
    if not der:
        return [], "the server sent no certificate"
    return [x509.load_der_x509_certificate(der)], "leaf only: this Python cannot read the rest of the chain"


def _der(cert: Any) -> bytes:
    if isinstance(cert, bytes):
        return cert
    import _ssl

    return bytes(cert.public_bytes(_ssl.ENCODING_DER))


class _NoAnswer(Exception):
    """The TCP connection itself failed (refused, timed out, unreachable)."""


async def _handshake(
    address: str, port: int, sni: str, kind: ProbeKind, domain: str, ctx: ssl.SSLContext, timeout: float
) -> asyncio.StreamWriter:
    """Connect, then TLS (after STARTTLS for XMPP); :class:`_NoAnswer` when the port does not answer."""
    try:
        reader, writer = await asyncio.wait_for(asyncio.open_connection(address, port), timeout)
    except (TimeoutError, OSError) as exc:
        raise _NoAnswer(_describe(exc)) from None
    try:
        if kind != "tls":
            await _xmpp_starttls_preamble(reader, writer, kind, domain)
        await writer.start_tls(ctx, server_hostname=sni, ssl_handshake_timeout=timeout)
    except BaseException:
        writer.close()
        raise
    return writer


async def _close(writer: asyncio.StreamWriter) -> None:
    writer.close()
    with contextlib.suppress(TimeoutError, OSError, ssl.SSLError):
        await asyncio.wait_for(writer.wait_closed(), 1.0)


def _describe(exc: BaseException) -> str:
    if isinstance(exc, TimeoutError):
        return "timed out"
    if isinstance(exc, ssl.SSLCertVerificationError):
        return exc.verify_message or str(exc)
    if isinstance(exc, ssl.SSLError):
        return f"TLS error: {exc.reason or exc}"
    if isinstance(exc, ConnectionRefusedError):
        return "connection refused"
    if isinstance(exc, OSError):
        return exc.strerror or str(exc) or type(exc).__name__
    return str(exc) or type(exc).__name__


async def probe(
    host_address: str,
    port: int,
    *,
    sni: str,
    kind: ProbeKind = "tls",
    xmpp_domain: str | None = None,
    timeout: float = 5.0,
    verify_bundle: Path | None = None,
) -> ProbeResult:
    """Connect, handshake (after STARTTLS for XMPP) and read the served chain; never raises for
    network or TLS trouble: the result carries `error` instead.

    `timeout` bounds the connection, the STARTTLS exchange and the handshake together.
    """
    started = time.monotonic()
    domain = xmpp_domain or (sni.split(".", 1)[1] if "." in sni else sni)

    def result(**fields: Any) -> ProbeResult:
        return ProbeResult(
            address=host_address, port=port, sni=sni, kind=kind, elapsed=time.monotonic() - started, **fields
        )

    try:
        writer = await asyncio.wait_for(
            _handshake(host_address, port, sni, kind, domain, tls.reading_context(), timeout), timeout
        )
    except _NoAnswer as exc:
        return result(ok=False, error=str(exc), answered=False)
    except (TimeoutError, OSError, ssl.SSLError, _ProbeError, EOFError) as exc:
        return result(ok=False, error=_describe(exc))
    try:
        chain, note = _chain_of(writer)
    finally:
        await _close(writer)
    verified: bool | None = None
    verify_error: str | None = None
    if verify_bundle is not None and chain:
        try:
            check = await asyncio.wait_for(
                _handshake(host_address, port, sni, kind, domain, tls.verifying_context(verify_bundle), timeout),
                timeout,
            )
            await _close(check)
            verified = True
        except ssl.SSLCertVerificationError as exc:
            verified, verify_error = False, _describe(exc)
        except tls.TlsSetupError as exc:
            verified, verify_error = False, str(exc)
        except (TimeoutError, OSError, ssl.SSLError, _ProbeError, EOFError, _NoAnswer) as exc:
            verified, verify_error = False, f"verification handshake failed: {_describe(exc)}"
    return result(
        ok=bool(chain),
        chain=chain,
        error=None if chain else (note or "no certificate"),
        verified=verified,
        verify_error=verify_error,
        note=note if chain else None,
    )


async def probe_many(
    targets: Iterable[ProbeTarget], concurrency: int = 64, *, timeout: float = 5.0
) -> list[ProbeResult]:
    """Probe many endpoints at once (at most `concurrency` in flight); results in the targets' order."""
    semaphore = asyncio.Semaphore(concurrency)

    async def one(t: ProbeTarget) -> ProbeResult:
        async with semaphore:
            return await probe(
                t.address,
                t.port,
                sni=t.sni,
                kind=t.kind,
                xmpp_domain=t.xmpp_domain,
                timeout=timeout,
                verify_bundle=t.verify_bundle,
            )

    return list(await asyncio.gather(*(one(t) for t in targets)))


def targets_for_unit(target: NodeTarget, unit: str) -> list[ProbeTarget]:
    """Endpoints that serve `unit`'s certificate on a node (`catalog.unit_spec(unit).served_on`)."""
    spec = catalog.unit_spec(unit)
    domain = target.presence_domains[0] if target.presence_domains else None
    return [
        ProbeTarget(
            target.address,
            target.port(name),
            target.fqdn,
            PORT_KINDS[name],
            domain,
            target.settings.ca_bundle,
        )
        for name in spec.served_on
        if name in PORT_KINDS
    ]


async def probe_node_unit(target: NodeTarget, unit: str, *, timeout: float = 5.0) -> list[ProbeResult]:
    """Probe every port where the node serves `unit` (empty for units served nowhere, e.g. ipsec)."""
    return await probe_many(targets_for_unit(target, unit), timeout=timeout)
