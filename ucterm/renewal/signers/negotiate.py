"""NTLM and Kerberos (SPNEGO) for httpx, with the TLS channel binding that Extended Protection demands.

AD CS web enrollment runs on IIS with Windows authentication. Sites that hardened it against NTLM
relay (the "PetitPotam" class of attacks, KB5005413) turn on Extended Protection for
Authentication: the client must bind its NTLM answer to the TLS connection it speaks over, with
the `tls-server-end-point` channel binding of RFC 5929 §4 (a hash of the server's certificate),
or IIS answers 401 whatever the password. So the binding is computed from the certificate the
server presented on *this* connection (httpcore exposes the SSL object of the response's
stream), never from a certificate fetched separately.

The protocol itself is pyspnego's (a well-kept implementation of NTLM, Kerberos and SPNEGO, pure
Python for NTLM, with GSSAPI for Kerberos where the `gssapi` package and a krb5 set-up exist);
it is imported when a signer first needs it. NTLM is connection-oriented: the three legs run on
one keep-alive connection, so the response bodies are read (`requires_response_body`) and the
client keeps its connection for the next leg.
"""

from __future__ import annotations

import base64
import contextlib
from collections.abc import Generator
from typing import Any, Literal

import httpx
from cryptography import x509
from cryptography.hazmat.primitives import hashes

Protocol = Literal["ntlm", "kerberos"]


def server_end_point(der: bytes) -> bytes:
    """RFC 5929 §4.1: the certificate's hash with its signature's hash function, SHA-256 for MD5/SHA-1."""
    cert = x509.load_der_x509_certificate(der)
    algorithm = cert.signature_hash_algorithm
    if algorithm is None or isinstance(algorithm, hashes.MD5 | hashes.SHA1):
        algorithm = hashes.SHA256()
    digest = hashes.Hash(algorithm)
    digest.update(der)
    return digest.finalize()


def peer_certificate(response: httpx.Response) -> bytes | None:
    """The DER certificate the server presented on the connection that carried `response`."""
    stream = response.extensions.get("network_stream")
    ssl_object = stream.get_extra_info("ssl_object") if stream is not None else None
    return ssl_object.getpeercert(binary_form=True) if ssl_object is not None else None


def _tokens(response: httpx.Response, scheme: str) -> list[str]:
    """The `WWW-Authenticate` values for `scheme` (case-insensitive), each the token after it (or "")."""
    out = []
    for value in response.headers.get_list("www-authenticate", split_commas=False):
        for part in value.split(","):
            name, _, token = part.strip().partition(" ")
            if name.lower() == scheme.lower():
                out.append(token.strip())
    return out


class NegotiateAuth(httpx.Auth):
    """An httpx auth flow for `NTLM` / `Negotiate` challenges (see the module docstring)."""

    requires_response_body = True

    def __init__(self, user: str | None, password: str | None, protocol: Protocol = "ntlm",
                 *, channel_binding: bool = True, service: str = "HTTP") -> None:
        self._user = user
        self._password = password
        self.protocol = protocol
        self.channel_binding = channel_binding
        self.service = service
        #: What the last handshake ended with, for the signer's error message ("" when none ran).
        self.outcome = ""

    def __repr__(self) -> str:  # never the password
        return f"NegotiateAuth(user={self._user!r}, protocol={self.protocol!r})"

    def _context(self, host: str, response: httpx.Response) -> Any:
        import spnego  # lazy: only AD CS signers with Windows authentication need it

        bindings = None
        if self.channel_binding:
            der = peer_certificate(response)
            if der is not None:
                bindings = spnego.channel_bindings.GssChannelBindings(
                    application_data=b"tls-server-end-point:" + server_end_point(der))
        return spnego.client(self._user, self._password, hostname=host, service=self.service,
                             protocol="ntlm" if self.protocol == "ntlm" else "negotiate",
                             channel_bindings=bindings)

    def auth_flow(self, request: httpx.Request) -> Generator[httpx.Request, httpx.Response, None]:
        response = yield request
        if response.status_code != 401:
            return
        schemes = ("NTLM", "Negotiate") if self.protocol == "ntlm" else ("Negotiate",)
        scheme = next((s for s in schemes if _tokens(response, s)), None)
        if scheme is None:
            offered = ", ".join(v.split(" ", 1)[0] for v in response.headers.get_list("www-authenticate"))
            self.outcome = f"the server offers {offered or 'no authentication'}, not {self.protocol}"
            return
        import spnego.exceptions

        try:
            ctx = self._context(request.url.host, response)
            token = ctx.step()
        except spnego.exceptions.SpnegoError as exc:
            self.outcome = f"{self.protocol} could not start ({exc.message if hasattr(exc, 'message') else exc})"
            return
        legs = 0
        while token is not None and legs < 4:
            legs += 1
            request.headers["Authorization"] = f"{scheme} {base64.b64encode(token).decode('ascii')}"
            response = yield request
            challenge = next((t for t in _tokens(response, scheme) if t), "")
            if response.status_code != 401:
                if challenge and not ctx.complete:  # Kerberos mutual authentication: the server's last word
                    with contextlib.suppress(spnego.exceptions.SpnegoError, ValueError):
                        ctx.step(base64.b64decode(challenge))
                self.outcome = "authenticated"
                return
            if not challenge:
                self.outcome = "the server refused the credentials"
                return
            try:
                token = ctx.step(base64.b64decode(challenge))
            except (spnego.exceptions.SpnegoError, ValueError) as exc:
                self.outcome = f"the {scheme} exchange failed ({type(exc).__name__})"
                return
        self.outcome = "the server refused the credentials"
