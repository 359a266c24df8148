"""HTTPS to one node: connect to its address, verify its FQDN, record a transcript.

Inventories often give a node's IP address, and the lab's FQDNs do not resolve at all, yet the
certificate must be verified against the FQDN. httpx 0.28 (httpcore 1.x) honours the
`sni_hostname` request extension: the TCP connection goes to the URL's host (the address) while
TLS uses the extension's name for SNI *and* for the host name check. The `Host` header is set to
the FQDN too, as a browser would send it.

Every request becomes transcript lines (method and path, then status), bodies redacted and
shortened; the Basic-auth header is never recorded.

What a node sends is bounded: every request has one deadline for connecting, the headers and the
whole body together (httpx's own timeouts apply per read, so a server that sends a byte every few
seconds would otherwise hold a scan for ever), and a body larger than :data:`MAX_BODY_BYTES` is
that node's error, not the scanner's memory.
"""

from __future__ import annotations

import asyncio
import ssl
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx

from ucterm.credentials import Secret
from ucterm.events import EventSink
from ucterm.vos import tls
from ucterm.vos.errors import CommandTimeout, LoginRefused, ResponseTooLarge, TlsVerifyError, Unreachable
from ucterm.vos.limits import ConnectionLimiter, maybe_slot
from ucterm.vos.transcript import Transcript

#: Transcript bodies longer than this are cut (a trust store listing can be hundreds of KB).
TRANSCRIPT_BODY_LIMIT = 2000
#: The largest answer ucterm reads from a certmgr, Control Center or AXL request. A node's whole
#: certificate snapshot is a few hundred kilobytes; anything far larger is a broken service or a
#: proxy in the path, and reading it all would cost the scanner its memory.
MAX_BODY_BYTES = 4 * 1024 * 1024
#: Response headers that described the body as sent; the body handed on is already decoded.
_BODY_HEADERS = frozenset({"content-encoding", "content-length", "transfer-encoding"})


@dataclass(frozen=True)
class HttpsEndpoint:
    node: str  # FQDN: SNI, host name check, Host header
    address: str
    port: int
    ca_bundle: Path | None = None
    pin: Path | None = None

    @property
    def base_url(self) -> str:
        host = f"[{self.address}]" if ":" in self.address else self.address
        return f"https://{host}:{self.port}"

    @property
    def host_header(self) -> str:
        return self.node if self.port == 443 else f"{self.node}:{self.port}"


class NodeHttpClient:
    """One httpx client per node and port, with Basic auth from the credential store."""

    def __init__(
        self,
        endpoint: HttpsEndpoint,
        *,
        user: str,
        password: Callable[[], Secret],
        sink: EventSink | None = None,
        channel: str = "rest",
        timeout: float = 60.0,
        limiter: ConnectionLimiter | None = None,
        max_body: int = MAX_BODY_BYTES,
    ) -> None:
        self.endpoint = endpoint
        self.user = user
        self._password = password
        self._revealed: str | None = None
        #: The deadline of one request, start to last byte (seconds).
        self.timeout = timeout
        self.max_body = max_body
        self._limiter = limiter
        self._client: httpx.AsyncClient | None = None
        self._transcript = Transcript(endpoint.node, sink, channel=channel, secrets=self._secrets)

    def _secrets(self) -> tuple[str, ...]:
        return (self._revealed,) if self._revealed else ()

    @property
    def node(self) -> str:
        return self.endpoint.node

    def _http(self) -> httpx.AsyncClient:
        if self._client is None:
            secret = self._password()
            self._revealed = secret.reveal()
            ep = self.endpoint
            self._client = httpx.AsyncClient(
                base_url=ep.base_url,
                verify=tls.verifying_context(ep.ca_bundle, ep.pin),
                auth=httpx.BasicAuth(self.user, secret.reveal()),
                timeout=self.timeout,
                # identity: a compressed answer would be decoded past the size cap in one step.
                headers={"Host": ep.host_header, "Accept": "application/json, text/xml, */*",
                         "Accept-Encoding": "identity"},
                trust_env=False,
                follow_redirects=False,
            )
        return self._client

    async def request(
        self,
        method: str,
        path: str,
        *,
        json: Any = None,
        content: bytes | str | None = None,
        params: Mapping[str, str] | None = None,
        headers: Mapping[str, str] | None = None,
        timeout: float | None = None,
    ) -> httpx.Response:
        """Send one request; connection, TLS, timeout and 401/403 failures become ucterm errors.

        `timeout` (default: the client's) bounds the whole request, body included; a body larger
        than `max_body` raises :class:`ResponseTooLarge`.
        """
        client = self._http()
        shown_path = path + (("?" + "&".join(f"{k}={v}" for k, v in params.items())) if params else "")
        body_text = _body_text(json, content)
        await self._transcript.sent(f"{method} {shown_path}" + (f"\n{_cut(body_text)}" if body_text else ""))
        limit = self.timeout if timeout is None else timeout
        request = client.build_request(
            method,
            path,
            json=json,
            content=content,
            params=params,
            headers=headers,
            timeout=limit,
            extensions={"sni_hostname": self.endpoint.node},
        )
        try:
            async with maybe_slot(self._limiter):
                # The slot is not part of the deadline: waiting for one is ucterm's doing, not the node's.
                async with asyncio.timeout(limit):
                    response = await self._send(client, request, method, path)
        except (TimeoutError, httpx.TimeoutException) as exc:
            await self._transcript.info(f"{method} {shown_path}: no complete answer within {limit:g} s")
            if isinstance(exc, httpx.ConnectTimeout):
                raise Unreachable(self.node, self.endpoint.address, self.endpoint.port, "timed out") from None
            raise CommandTimeout(
                self.node,
                f"{method} {path}",
                limit,
                f"the web service on port {self.endpoint.port} answered too slowly or not completely; check it "
                "(a hung Tomcat can trickle its answer) and run again",
            ) from None
        except httpx.TransportError as exc:
            verify = _verify_failure(exc)
            if verify is not None:
                raise await self._tls_error(verify) from None
            await self._transcript.info(f"{method} {shown_path}: {exc or type(exc).__name__}")
            raise Unreachable(
                self.node, self.endpoint.address, self.endpoint.port, str(exc) or type(exc).__name__
            ) from None
        await self._transcript.received(f"{response.status_code} {response.reason_phrase}\n{_cut(response.text)}\n")
        await self._transcript.flush()
        if response.status_code in (401, 403):
            raise LoginRefused(self.node, self.user, f"HTTPS ({path})")
        return response

    async def _send(self, client: httpx.AsyncClient, request: httpx.Request, method: str, path: str) -> httpx.Response:
        """The response with its body read, at most `max_body` bytes of it (decoded)."""
        response = await client.send(request, stream=True)
        try:
            declared = response.headers.get("content-length", "")
            if declared.isdigit() and int(declared) > self.max_body:
                raise ResponseTooLarge(self.node, method, path, response.status_code, self.max_body, int(declared))
            body = bytearray()
            async for chunk in response.aiter_bytes():
                body += chunk
                if len(body) > self.max_body:
                    raise ResponseTooLarge(self.node, method, path, response.status_code, self.max_body)
        except ResponseTooLarge:
            await self._transcript.info(f"{method} {path}: the answer is larger than {self.max_body:,} bytes; "
                                        "ucterm stopped reading it")
            raise
        finally:
            await response.aclose()
        kept = [(k, v) for k, v in response.headers.multi_items() if k.lower() not in _BODY_HEADERS]
        return httpx.Response(
            response.status_code,
            headers=kept,
            content=bytes(body),
            request=request,
            extensions={k: v for k, v in response.extensions.items() if k in ("reason_phrase", "http_version")},
        )

    async def _tls_error(self, verify: ssl.SSLCertVerificationError) -> TlsVerifyError:
        """Read the certificate the node serves (without trusting it) so the user can pin it."""
        from ucterm.pki import sha256_hex
        from ucterm.vos.probe import probe

        ep = self.endpoint
        reason = verify.verify_message or str(verify)
        result = await probe(ep.address, ep.port, sni=ep.node, kind="tls", timeout=min(self.timeout, 10.0))
        leaf = result.chain[0] if result.chain else None
        await self._transcript.info(f"TLS verification failed on port {ep.port}: {reason}")
        return TlsVerifyError(
            ep.node,
            ep.port,
            reason,
            certificate=leaf,
            fingerprint_sha256=sha256_hex(leaf) if leaf is not None else None,
        )

    async def aclose(self) -> None:
        if self._client is not None:
            await self._client.aclose()
            self._client = None


def _verify_failure(exc: BaseException) -> ssl.SSLCertVerificationError | None:
    seen: set[int] = set()
    cur: BaseException | None = exc
    while cur is not None and id(cur) not in seen:
        seen.add(id(cur))
        if isinstance(cur, ssl.SSLCertVerificationError):
            return cur
        cur = cur.__cause__ or cur.__context__
    if "CERTIFICATE_VERIFY_FAILED" in str(exc):
        return ssl.SSLCertVerificationError(1, str(exc))
    return None


def _body_text(json: Any, content: bytes | str | None) -> str:
    if json is not None:
        import json as _json

        return _json.dumps(json)
    if content is None:
        return ""
    return content.decode("utf-8", "replace") if isinstance(content, bytes) else content


def _cut(text: str) -> str:
    """Certificates inside JSON strings carry `\\n` escapes; unescape so redaction sees PEM lines."""
    text = text.replace("\\n", "\n").replace("\\r", "")
    if len(text) > TRANSCRIPT_BODY_LIMIT:
        return text[:TRANSCRIPT_BODY_LIMIT] + f"… ({len(text) - TRANSCRIPT_BODY_LIMIT} more characters)"
    return text
