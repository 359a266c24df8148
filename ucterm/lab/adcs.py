"""The lab's AD CS web enrollment (`/certsrv` on IIS), signed by the lab CA: "signed by corp CA" in the demo.

It answers what a browser (and ucterm's `adcs` signer) meets on a real enterprise CA
[INFERRED from the certsrv pages of Windows Server 2016-2022; wording shortened]:

- `POST /certsrv/certfnsh.asp` (`Mode=newreq`, `CertRequest`, `CertAttrib=CertificateTemplate:X`):
  a page saying "Certificate Issued" with `certnew.cer?ReqID=N&Enc=b64` links, "Certificate
  Pending" with "Your Request Id is N", or "Certificate Denied" with the disposition message;
- `GET /certsrv/certnew.cer?ReqID=N&Enc=b64`: the leaf as PEM once issued, else a page
  ("Taken Under Submission" while a CA manager has not approved it);
- `GET /certsrv/certnew.p7b?ReqID=N&Enc=b64`: leaf and chain as base64 PKCS#7 under a
  `CERTIFICATE` header, as IIS labels it.

Templates (:data:`TEMPLATES`): `CiscoUCServerClient` copies the CSR's key usage and extended key
usage (what VOS needs, §5.1); `WebServer` drops clientAuth, as public CAs now do (FN74345);
`CiscoUCApproval` needs a CA manager (:meth:`LabWebEnrollment.approve` / :meth:`deny`); any
other template is denied by the policy module.

Authentication is Windows NTLM with Extended Protection required (:mod:`ucterm.lab.ntlm`), and
optionally HTTP Basic. Everything listens on 127.0.0.1 only; the server certificate is issued by
the lab CA for `127.0.0.1` and `ca.lab.example`.
"""

from __future__ import annotations

import asyncio
import base64
import html
import logging
import os
import ssl
import tempfile
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import Literal
from urllib.parse import parse_qs

from cryptography import x509
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.serialization import pkcs7
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from ucterm.lab import certs
from ucterm.lab.ca import LabCA
from ucterm.lab.clock import LabClock
from ucterm.lab.http import HttpConnection, Request, Response, basic_credentials
from ucterm.lab.keys import KeySource
from ucterm.lab.ntlm import NtlmAcceptor, NtlmRefused, account_file, channel_binding_data, message_type

log = logging.getLogger(__name__)

Policy = Literal["issue", "server-only", "approval"]
#: The templates the lab CA publishes, and what each does with a request.
TEMPLATES: dict[str, Policy] = {"CiscoUCServerClient": "issue", "WebServer": "server-only",
                                "CiscoUCApproval": "approval"}
#: The enrollment account of the lab domain (documented lab values, like the node credentials).
DOMAIN = "LAB"
USER = "ucterm-enroll"
PASSWORD = "ucterm-lab-adcs"
CA_HOST = "ca.lab.example"

State = Literal["issued", "pending", "denied"]


@dataclass
class EnrollmentRequest:
    """One request in the CA's database."""

    id: int
    csr_pem: str
    template: str
    requester: str
    state: State
    message: str
    cert: x509.Certificate | None = None
    chain: tuple[x509.Certificate, ...] = ()


def _page(title: str, body: str) -> Response:
    text = (f"<HTML><HEAD><TITLE>Microsoft Active Directory Certificate Services</TITLE></HEAD><BODY>"
            f"<Font ID=locPageTitle>{html.escape(title)}</Font><P>{body}</BODY></HTML>")
    return Response(200, text.encode("utf-8"), "text/html; charset=utf-8")


class LabWebEnrollment:
    """The enrollment web site and its request database (see the module docstring)."""

    def __init__(self, ca: LabCA, keys: KeySource, clock: LabClock, *, require_binding: bool = True,
                 allow_basic: bool = True, accounts: dict[str, str] | None = None) -> None:
        self.ca = ca
        self.require_binding = require_binding
        self.allow_basic = allow_basic
        self.accounts = dict(accounts or {f"{DOMAIN}\\{USER}": PASSWORD})
        self.requests: dict[int, EnrollmentRequest] = {}
        #: Why authentications were refused, newest last (tests read it; never a password).
        self.refusals: list[str] = []
        self._next_id = 17
        now = clock.now()
        self._key = keys.fresh("EC")
        csr = certs.make_csr(self._key, x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, CA_HOST)]),
                             [(certs.san_extension([CA_HOST, "127.0.0.1"]), False),
                              (x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]), False)])
        self.server_cert, chain = ca.issue(csr, not_before=now - timedelta(days=30),
                                           not_after=now + timedelta(days=365))
        self._chain = chain
        self._binding = channel_binding_data(self.server_cert)
        self._server: asyncio.Server | None = None
        self._connections: set[asyncio.Task[None]] = set()
        self.port: int | None = None

    # ---- the CA manager's console ------------------------------------------------------------

    def approve(self, request_id: int) -> None:
        """Issue a pending request (certsrv.msc > Pending Requests > Issue)."""
        req = self.requests[request_id]
        req.cert, chain = self.ca.issue(certs.load_csr(req.csr_pem))
        req.chain = tuple(chain)
        req.state, req.message = "issued", "Issued"

    def deny(self, request_id: int, message: str = "Denied by a CA manager") -> None:
        req = self.requests[request_id]
        req.state, req.message = "denied", message

    # ---- running -----------------------------------------------------------------------------

    @property
    def url(self) -> str:
        if self.port is None:
            raise RuntimeError("the lab web enrollment is not running; start it first.")
        return f"https://127.0.0.1:{self.port}/certsrv"

    async def start(self) -> None:
        if self._server is not None:
            return
        account_file(self.accounts)
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        context.minimum_version = ssl.TLSVersion.TLSv1_2
        with tempfile.TemporaryDirectory(prefix="ucterm-lab-adcs-") as folder:
            chain_file, key_file = Path(folder) / "chain.pem", Path(folder) / "key.pem"
            chain_file.write_text(certs.cert_pem(self.server_cert) + certs.cert_pem(self._chain[0]), "ascii")
            fd = os.open(key_file, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
            with os.fdopen(fd, "w", encoding="ascii") as handle:
                handle.write(certs.key_pem(self._key))
            context.load_cert_chain(chain_file, key_file)
        self._server = await asyncio.start_server(self._serve, "127.0.0.1", 0, ssl=context,
                                                  ssl_handshake_timeout=20)
        self.port = self._server.sockets[0].getsockname()[1]

    async def stop(self) -> None:
        server, self._server = self._server, None
        if server is not None:
            server.close()
            for task in list(self._connections):
                task.cancel()
            await asyncio.gather(*self._connections, return_exceptions=True)
            await server.wait_closed()

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        task = asyncio.current_task()
        if task is not None:
            self._connections.add(task)
        try:
            await HttpConnection(reader, writer, _Connection(self), label="lab adcs").serve()
        except asyncio.CancelledError:
            pass  # the site stops
        finally:
            if task is not None:
                self._connections.discard(task)
            writer.close()

    # ---- the site ----------------------------------------------------------------------------

    def challenge(self, token: bytes | None = None) -> Response:
        headers = [("WWW-Authenticate", "NTLM" + (f" {base64.b64encode(token).decode()}" if token else ""))]
        if self.allow_basic and token is None:
            headers.append(("WWW-Authenticate", 'Basic realm="ca.lab.example"'))
        response = Response(401, b"<HTML><BODY>401 - Unauthorized: Access is denied.</BODY></HTML>",
                            "text/html", headers)
        return response

    def route(self, request: Request, user: str) -> Response:
        path = request.path.rstrip("/").lower()
        if path == "/certsrv":
            return _page("Welcome", "Use this Web site to request a certificate for your Web browser, e-mail "
                                    "client, or other program.")
        if path == "/certsrv/certfnsh.asp" and request.method == "POST":
            return self.submit(request, user)
        if path in ("/certsrv/certnew.cer", "/certsrv/certnew.p7b") and request.method == "GET":
            return self.retrieve(request, path.endswith(".p7b"))
        return Response.error_page(404)

    def submit(self, request: Request, user: str) -> Response:
        form = {k: v[0] for k, v in parse_qs(request.body.decode("utf-8", "replace"), keep_blank_values=True).items()}
        if form.get("Mode") != "newreq" or not form.get("CertRequest"):
            return _page("Certificate Error", 'Your request could not be processed. The disposition message is '
                                              '"The request contains no certificate template information."')
        template = ""
        for line in form.get("CertAttrib", "").splitlines():
            name, _, value = line.partition(":")
            if name.strip().lower() == "certificatetemplate":
                template = value.strip()
        try:
            csr = certs.load_csr(form["CertRequest"])
            if not csr.is_signature_valid:
                raise ValueError("bad signature")
        except ValueError:
            return _page("Certificate Error", 'The disposition message is "Error Parsing Request  ASN1 bad tag '
                                              'value met. 0x8009310b (ASN: 267 CRYPT_E_ASN1_BADTAG)".')
        rid, self._next_id = self._next_id, self._next_id + 1
        policy = TEMPLATES.get(template)
        req = EnrollmentRequest(rid, certs.csr_pem(csr), template, user, "pending", "Taken Under Submission")
        self.requests[rid] = req
        if policy is None:
            req.state = "denied"
            req.message = ("Denied by Policy Module  0x80094800, The request was for a certificate template that "
                           f"is not supported by the Active Directory Certificate Services policy: {template}.")
        elif policy != "approval":
            req.cert, chain = self.ca.issue(csr, drop_client_auth=policy == "server-only")
            req.chain = tuple(chain)
            req.state, req.message = "issued", "Issued"
        return self._disposition_page(req)

    def _disposition_page(self, req: EnrollmentRequest) -> Response:
        said = f'<P>The disposition message is "{html.escape(req.message)}".'
        if req.state == "issued":
            return _page("Certificate Issued", "The certificate you requested was issued to you.<P>"
                         f'<A Href="certnew.cer?ReqID={req.id}&amp;Enc=b64">Download certificate</A><P>'
                         f'<A Href="certnew.p7b?ReqID={req.id}&amp;Enc=b64">Download certificate chain</A>')
        if req.state == "pending":
            return _page("Certificate Pending", "Your certificate request has been received. However, you must "
                         f"wait for an administrator to issue the certificate you requested.<P>Your Request Id is "
                         f"{req.id}.{said}")
        return _page("Certificate Denied", f"Your certificate request was denied.<P>Your Request Id is {req.id}."
                     f"<P>Contact your administrator for further information.{said}")

    def retrieve(self, request: Request, p7b: bool) -> Response:
        try:
            req = self.requests[int(request.query_value("ReqID") or "")]
        except (ValueError, KeyError):
            return _page("Certificate Error", 'The disposition message is "The certificate request was not '
                                              'found. 0x80094004"')
        if req.state != "issued" or req.cert is None:
            if req.state == "pending":
                return _page("Certificate Pending", f"Your certificate request ({req.id}) is still pending."
                                                    f'<P>The disposition message is "{req.message}".')
            return self._disposition_page(req)
        if not p7b:
            return Response(200, certs.cert_pem(req.cert).encode("ascii"), "application/pkix-cert")
        der = pkcs7.serialize_certificates([req.cert, *req.chain], serialization.Encoding.DER)
        body = base64.encodebytes(der).decode("ascii")
        body = body.replace("\n", "\r\n")
        text = f"-----BEGIN CERTIFICATE-----\r\n{body}-----END CERTIFICATE-----\r\n"
        return Response(200, text.encode("ascii"), "application/x-pkcs7-certificates")


class _Connection:
    """One TLS connection to the site: its NTLM state (IIS authenticates connections, not requests)."""

    def __init__(self, site: LabWebEnrollment) -> None:
        self.site = site
        self.user: str | None = None
        self._ntlm: NtlmAcceptor | None = None

    async def __call__(self, request: Request) -> Response:
        user = self.user or self._authenticate(request)
        if isinstance(user, Response):
            return user
        return self.site.route(request, user)

    def _authenticate(self, request: Request) -> str | Response:
        site = self.site
        header = (request.header("authorization") or "").strip()
        scheme, _, token_text = header.partition(" ")
        if scheme.lower() == "basic" and site.allow_basic:
            given = basic_credentials(request)
            if given is not None:
                principal = given[0] if "\\" in given[0] else f"{DOMAIN}\\{given[0]}"
                if site.accounts.get(principal) == given[1]:
                    return principal
            site.refusals.append("basic: wrong user or password")
            return site.challenge()
        if scheme.lower() != "ntlm" or not token_text:
            return site.challenge()
        try:
            token = base64.b64decode(token_text, validate=True)
        except ValueError:
            return site.challenge()
        kind = message_type(token)
        if kind == 1:
            self._ntlm = NtlmAcceptor(site._binding, require_binding=site.require_binding)
            try:
                return site.challenge(self._ntlm.step(token))
            except NtlmRefused as exc:
                site.refusals.append(str(exc))
                return site.challenge()
        if kind == 3 and self._ntlm is not None:
            acceptor, self._ntlm = self._ntlm, None
            try:
                acceptor.step(token)
            except NtlmRefused as exc:
                site.refusals.append(str(exc))
                log.debug("lab adcs: %s", exc)
                return site.challenge()
            self.user = acceptor.user or "?"
            return self.user
        return site.challenge()

