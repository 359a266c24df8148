"""AD CS web enrollment (`/certsrv`), the CA most Cisco UC sites use.

The conversation is the one a person has in the browser, without the browser:

1. `POST certfnsh.asp` with `Mode=newreq`, the CSR, `CertAttrib=CertificateTemplate:<template>`,
   `TargetStoreFlags=0`, `SaveCert=yes`. The answer is an HTML page whose words say the
   disposition: issued (a `certnew.cer?ReqID=N` link), pending ("Your Request Id is N", a CA
   manager must approve), denied or failed ("The disposition message is "...""), which
   :func:`parse_disposition` reads.
2. `GET certnew.cer?ReqID=N&Enc=b64`: the leaf (PEM); a page instead of a certificate while the
   request is still pending.
3. `GET certnew.p7b?ReqID=N&Enc=b64`: the chain as base64 PKCS#7 (under a `CERTIFICATE` header,
   as IIS sends it), which :mod:`ucterm.pki` loads.

The request id is journaled the moment the CA gives it (:meth:`SigningContext.remember`), so a
resume after a kill, or after "pending", asks for *that* request instead of submitting another.
Only a kill during the `POST` itself (the CA may have taken the CSR, ucterm never saw the id)
submits again; the progress line says so.

Authentication: `ntlm` (with the channel binding of Extended Protection, :mod:`.negotiate`),
`kerberos` (SPNEGO through pyspnego and GSSAPI; needs the `gssapi` package and a krb5 ticket or
keytab set-up, and is not tested against a KDC here), or `basic`.
"""

from __future__ import annotations

import html
import re
from dataclasses import dataclass
from typing import Any, Literal

import httpx

from ucterm import pki
from ucterm.credentials import CredentialStore
from ucterm.renewal.signers import web
from ucterm.renewal.signers.base import SignerError, SignerPending, SigningContext
from ucterm.signer_config import AdcsSpec, SignerConfig

State = Literal["issued", "pending", "denied", "error", "unknown"]

_REQ_LINK = re.compile(r"certnew\.(?:cer|p7b)\?ReqID=(\d+)", re.IGNORECASE)
_REQ_ID = re.compile(r"Request\s+Id\s+is\s+(\d+)", re.IGNORECASE)
_DISPOSITION = re.compile(r'disposition\s+message\s+is\s+"([^"]*)"', re.IGNORECASE)
_TAGS = re.compile(r"<[^>]+>")


@dataclass(frozen=True)
class Disposition:
    """What an AD CS page says about a request."""

    state: State
    request_id: str | None = None
    #: The CA's disposition message ("Taken Under Submission", "Denied by Policy Module ..."), or the page's words.
    message: str = ""


def _text(page: str) -> str:
    return " ".join(html.unescape(_TAGS.sub(" ", page)).split())


def parse_disposition(page: str) -> Disposition:
    """Read certfnsh.asp's (or certnew.cer's) HTML answer: issued, pending, denied, error or unknown."""
    text = _text(page)
    link = _REQ_LINK.search(page)
    rid_match = _REQ_ID.search(text)
    rid = link.group(1) if link else rid_match.group(1) if rid_match else None
    message_match = _DISPOSITION.search(text)
    message = message_match.group(1).strip() if message_match else ""
    lower = text.lower()
    if link:
        return Disposition("issued", rid, message)
    if "denied" in lower:
        return Disposition("denied", rid, message or _snippet(text))
    if "taken under submission" in lower or "pending" in lower or "must wait for an administrator" in lower:
        return Disposition("pending", rid, message or "Taken Under Submission")
    if "error" in lower or message:
        return Disposition("error", rid, message or _snippet(text))
    return Disposition("unknown", rid, _snippet(text))


def _snippet(text: str) -> str:
    return text[:240]


class AdcsSigner:
    """One `kind = "adcs"` signer (see the module docstring)."""

    def __init__(self, config: SignerConfig, credentials: CredentialStore | None = None) -> None:
        assert isinstance(config.spec, AdcsSpec)
        self.config = config
        self.spec: AdcsSpec = config.spec
        self.label = f'signer "{config.name}" (AD CS {httpx.URL(self.spec.url).host})'
        self._credentials = credentials or CredentialStore()
        #: The auth flow of the last client (its outcome names why a 401 came back).
        self._auth: Any = None

    # ---- http --------------------------------------------------------------------------------

    def _client(self, credentials: CredentialStore) -> httpx.AsyncClient:
        password = None
        if self.spec.password is not None:
            password = credentials.resolve(self.spec.password, what=self.config.what("password")).reveal()
        auth: httpx.Auth
        if self.spec.auth == "basic":
            auth = httpx.BasicAuth(self.spec.user or "", password or "")
        else:
            from ucterm.renewal.signers.negotiate import NegotiateAuth

            auth = NegotiateAuth(self.spec.user, password, "ntlm" if self.spec.auth == "ntlm" else "kerberos")
        self._auth = auth
        # One connection: NTLM authenticates the connection, and every leg must travel on it.
        return web.client(self.config, auth=auth, limits=httpx.Limits(max_connections=1,
                                                                       max_keepalive_connections=1))

    async def _call(self, http: httpx.AsyncClient, method: str, path: str, **kwargs: Any) -> httpx.Response:
        url = f"{self.spec.url}/{path}"
        try:
            response = await http.request(method, url, **kwargs)
        except (httpx.HTTPError, OSError) as exc:
            raise web.failure(self.config, url.split("?", 1)[0], exc) from None
        if response.status_code == 401:
            why = getattr(self._auth, "outcome", "") or "the server refused the credentials"
            raise SignerError(f"{self.label} refused {self.spec.auth} authentication as {self.spec.user} ({why}); "
                              "check user and password in the inventory (and, where Extended Protection is on, "
                              "that nothing between ucterm and the CA re-encrypts TLS).")
        if response.status_code == 403:
            raise SignerError(f"{self.label}: {self.spec.user} may not enroll (HTTP 403); ask the CA's admins for "
                              f"Enroll permission on template {self.spec.template}.")
        if response.status_code != 200:
            raise web.status_failure(self.config, response, f"{method} {path.split('?', 1)[0]}")
        return response

    # ---- the three pages ---------------------------------------------------------------------

    async def submit(self, http: httpx.AsyncClient, csr_pem: str) -> Disposition:
        form = {"Mode": "newreq", "CertRequest": csr_pem, "CertAttrib": f"CertificateTemplate:{self.spec.template}",
                "TargetStoreFlags": "0", "SaveCert": "yes", "ThumbPrint": ""}
        response = await self._call(http, "POST", "certfnsh.asp", data=form)
        return parse_disposition(response.text)

    async def retrieve(self, http: httpx.AsyncClient, request_id: str) -> str | Disposition:
        """The leaf PEM, or the page's disposition when there is no certificate (still pending, denied)."""
        response = await self._call(http, "GET", f"certnew.cer?ReqID={request_id}&Enc=b64")
        if b"BEGIN CERTIFICATE" in response.content:
            return response.text
        return parse_disposition(response.text)

    async def chain(self, http: httpx.AsyncClient, request_id: str, leaf_pem: str) -> list[str]:
        response = await self._call(http, "GET", f"certnew.p7b?ReqID={request_id}&Enc=b64")
        bundle = pki.load_bundle(response.content, f"{self.label} certnew.p7b")
        leaf_fp = pki.sha256_hex(pki.load_bundle(leaf_pem.encode(), "certnew.cer").certificates[0])
        return [pki.pem(c) for c in bundle.certificates if pki.sha256_hex(c) != leaf_fp]

    # ---- the signer --------------------------------------------------------------------------

    async def obtain(self, csr_pem: str, ctx: SigningContext) -> tuple[str, list[str]]:
        state = ctx.recall()
        async with self._client(ctx.credentials) as http:
            request_id = state.get("request_id")
            if request_id:
                await ctx.progress(f"{self.label}: asking again for request {request_id}")
                answer = await self.retrieve(http, str(request_id))
            else:
                if state.get("phase") == "submitting":
                    await ctx.progress(f"{self.label}: the answer to the earlier submission was lost; submitting "
                                       "again (the CA may keep a duplicate request)")
                ctx.remember({"phase": "submitting", "template": self.spec.template})
                try:
                    disposition = await self.submit(http, csr_pem)
                except SignerError:
                    ctx.remember({"phase": ""})  # refused before the CA took the CSR (401, 403, down)
                    raise
                request_id = disposition.request_id
                ctx.remember({"phase": "submitted", "request_id": request_id, "status": disposition.state})
                await ctx.progress(f"{self.label}: submitted with template {self.spec.template}, request "
                                   f"{request_id or '(no id)'}: {disposition.state}")
                answer = disposition
                if disposition.state == "issued" and request_id:
                    answer = await self.retrieve(http, request_id)
            if isinstance(answer, Disposition):
                self._refuse(ctx, answer, request_id)
            assert isinstance(answer, str)
            chain = await self.chain(http, str(request_id), answer)
        ctx.remember({"status": "issued"})
        leaf = pki.load_bundle(answer.encode(), "certnew.cer").certificates[0]
        await ctx.progress(f"{self.label}: request {request_id} issued: {pki.label(leaf)}")
        return answer, chain

    def _refuse(self, ctx: SigningContext, answer: Disposition, request_id: Any) -> None:
        """Raise what a page without a certificate means: wait (pending) or fail (denied, error)."""
        said = f' ("{answer.message}")' if answer.message else ""
        if answer.state == "pending":
            ctx.remember({"status": "pending"})
            raise SignerPending(f"AD CS request {request_id} at {self.label} waits for a CA manager's approval"
                                f"{said}")
        # A denied request stays denied: forget it, so that a retry (after fixing the template) submits anew.
        ctx.remember({"phase": "", "request_id": None, "status": answer.state, "last_request": request_id})
        if answer.state == "denied":
            raise SignerError(f"{self.label} denied request {request_id}{said}; check template "
                              f"{self.spec.template} (its permissions and policy), then retry the step.")
        which = f" for request {request_id}" if request_id else ""
        raise SignerError(f"{self.label} did not issue a certificate{which}{said or ': ' + answer.message}; "
                          "check url and template in the inventory.")
