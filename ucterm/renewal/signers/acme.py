"""ACME (RFC 8555): Let's Encrypt, an internal ACME CA, any CA with an ACME directory.

The protocol is certbot's `acme` package (maintained by the EFF with certbot, used by certbot
itself and by many other clients; it does the JWS signing, nonces, account and order objects).
It is imported when an ACME signer is first used, and its blocking calls run in a thread.

What ucterm adds:

- the account key, made once and kept owner-only (0600) under the user data dir, one per signer
  and directory; External Account Binding (RFC 8555 §7.3.4) when the inventory gives `eab`;
- the node's own CSR is finalised as it is: the key never leaves the node;
- DNS-01 through :mod:`.dns01`; a `check` hook that says "not visible yet" leaves the job waiting;
- the order URL is journaled as soon as the CA creates the order, so a kill mid-order resumes the
  *same* order (its authorizations, its finalisation, its certificate) instead of a second one;
- ACME never returns the root, which VOS needs in `<unit>-trust`: it is taken from `roots`, or
  fetched from the intermediate's Authority Information Access (caIssuers) URL.
"""

from __future__ import annotations

import asyncio
import functools
import hashlib
import importlib.util
import re
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any, TypeVar

import httpx
from cryptography import x509
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import AuthorityInformationAccessOID

from ucterm import paths, pki
from ucterm.credentials import CredentialStore
from ucterm.files import atomic_write
from ucterm.renewal.signers import dns01, web
from ucterm.renewal.signers.base import SignerError, SignerPending, SigningContext
from ucterm.signer_config import AcmeSpec, SignerConfig

T = TypeVar("T")


def account_key_path(config: SignerConfig) -> Path:
    """`<data dir>/acme/<signer>-<hash of the directory URL>.pem`: one account per signer and CA."""
    assert isinstance(config.spec, AcmeSpec)
    digest = hashlib.sha256(config.spec.directory.encode()).hexdigest()[:12]
    safe = re.sub(r"[^A-Za-z0-9_.-]+", "-", config.name)
    return paths.data_dir() / "acme" / f"{safe}-{digest}.pem"


def load_account_key(path: Path) -> ec.EllipticCurvePrivateKey:
    """The account key at `path`, made (P-256, 0600, folder 0700) when it does not exist yet."""
    if path.exists():
        try:
            key = serialization.load_pem_private_key(path.read_bytes(), None)
        except (OSError, ValueError) as exc:
            raise SignerError(f"the ACME account key {path} cannot be read ({exc}); move it away to make a new "
                              "account, or restore it.") from None
        if not isinstance(key, ec.EllipticCurvePrivateKey):
            raise SignerError(f"the ACME account key {path} is not an EC key; move it away to make a new one.")
        return key
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    key = ec.generate_private_key(ec.SECP256R1())
    atomic_write(path, key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                         serialization.NoEncryption()), mode=0o600)
    return key


def _account_url(key_path: Path) -> str | None:
    """The account URL kept beside the key once the CA registered it (None: not registered yet)."""
    try:
        text = key_path.with_suffix(".account").read_text("utf-8").strip()
    except OSError:
        return None
    return text if text.lower().startswith("https://") else None


class AcmeSigner:
    """One `kind = "acme"` signer (see the module docstring)."""

    def __init__(self, config: SignerConfig, credentials: CredentialStore | None = None) -> None:
        assert isinstance(config.spec, AcmeSpec)
        self.config = config
        self.spec: AcmeSpec = config.spec
        self.label = f'signer "{config.name}" (ACME {httpx.URL(self.spec.directory).host})'
        self._credentials = credentials or CredentialStore()

    # ---- plumbing ----------------------------------------------------------------------------

    async def _io(self, fn: Callable[..., T], *args: Any) -> T:
        """A blocking acme call in a thread; its errors as one sentence naming the signer."""
        try:
            return await asyncio.to_thread(fn, *args)
        except Exception as exc:
            raise self._translate(exc) from None

    def _translate(self, exc: Exception) -> Exception:
        from acme import errors, messages

        if isinstance(exc, messages.Error):
            detail = exc.detail or exc.description or exc.code or "no detail"
            return SignerError(f"{self.label} refused: {detail} ({exc.typ}); check the signer's settings "
                               "(email, eab) and the CA.")
        if isinstance(exc, errors.ValidationError):
            problems = "; ".join(_authz_problem(a) for a in exc.failed_authzrs)
            return SignerError(f"{self.label}: the CA could not validate the DNS-01 record(s) ({problems}); "
                               "check the dns settings, then retry (a new order is made).")
        if isinstance(exc, errors.Error):
            return SignerError(f"{self.label}: {type(exc).__name__}: {exc or 'no detail'}; resume the job to try "
                               "the same order again.")
        if isinstance(exc, OSError):  # requests' ConnectionError and SSLError are OSErrors
            if "CERTIFICATE_VERIFY_FAILED" in str(exc):
                return SignerError(f"{self.label}: the CA's HTTPS certificate does not verify; set ca_bundle in "
                                   "its [[signer]] table.")
            return SignerError(f"{self.label} cannot be reached ({type(exc).__name__}); check directory and the "
                               "network, then resume the job.")
        return exc

    async def _get(self, acme: Any, url: str) -> Any:
        """POST-as-GET (RFC 8555 §6.3) of an order or authorization; a nonce from the directory's newNonce
        when none is at hand (a resumed order is the first request of its process)."""
        return await self._io(functools.partial(acme.net.post, url, None, new_nonce_url=acme.directory["newNonce"]))

    def _network(self, key: ec.EllipticCurvePrivateKey) -> Any:
        import josepy as jose
        from acme import client

        verify: bool | str = str(self.config.ca_bundle) if self.config.ca_bundle else True
        net = client.ClientNetwork(jose.JWKEC(key=key), alg=jose.ES256, verify_ssl=verify,  # type: ignore[arg-type]
                                   user_agent="ucterm", timeout=int(max(5.0, min(self.config.timeout, 60.0))))
        net.session.trust_env = False  # no proxy or CA bundle from the environment (see signers.web)
        return net

    async def _client(self, ctx: SigningContext) -> Any:
        from acme import client, errors, messages

        key_path = account_key_path(self.config)
        key = load_account_key(key_path)
        net = self._network(key)
        directory = await self._io(client.ClientV2.get_directory, self.spec.directory, net)
        acme = client.ClientV2(directory, net)
        known = _account_url(key_path)
        if known:  # registered before: no new-account request (and no second use of an EAB key id)
            net.account = messages.RegistrationResource(uri=known, body=messages.Registration())
            return acme
        eab = None
        if self.spec.eab_kid is not None:
            hmac_key = ctx.credentials.resolve(self.spec.eab_hmac_key, what=self.config.what("hmac_key")).reveal()
            try:
                eab = messages.ExternalAccountBinding.from_data(account_public_key=net.key.public_key(),
                                                                kid=self.spec.eab_kid, hmac_key=hmac_key,
                                                                directory=directory)
            except (ValueError, TypeError):
                raise SignerError(f"{self.label}: eab hmac_key is not base64url; give the MAC key as the CA "
                                  "printed it.") from None
        registration = messages.NewRegistration.from_data(
            email=self.spec.email, terms_of_service_agreed=True, external_account_binding=eab)
        try:
            account = await asyncio.to_thread(acme.new_account, registration)
            url = account.uri
        except errors.ConflictError as exc:  # the key has an account already: use it
            url = exc.location
            net.account = messages.RegistrationResource(uri=url, body=messages.Registration())
        except Exception as exc:
            raise self._translate(exc) from None
        if url:
            atomic_write(key_path.with_suffix(".account"), url.encode(), mode=0o600)
        await ctx.progress(f"{self.label}: ACME account {url}")
        return acme

    # ---- the order ---------------------------------------------------------------------------

    async def _order(self, acme: Any, csr_pem: str, ctx: SigningContext) -> Any:
        from acme import messages

        url = ctx.recall().get("order")
        if url:
            response = await self._get(acme, url)
            body = messages.Order.from_json(response.json())
            if body.status != messages.STATUS_INVALID:
                await ctx.progress(f"{self.label}: resuming order {url} ({body.status})")
                authzs = [await self._authz(acme, a) for a in body.authorizations]
                return messages.OrderResource(body=body, uri=url, authorizations=authzs, csr_pem=csr_pem.encode())
            await ctx.progress(f"{self.label}: order {url} is invalid ({_problem(body.error)}); making a new one")
        ctx.remember({"phase": "ordering"})
        order = await self._io(acme.new_order, csr_pem.encode())
        ctx.remember({"phase": "ordered", "order": order.uri, "dns": []})
        names = ", ".join(i.value for i in order.body.identifiers)
        await ctx.progress(f"{self.label}: order {order.uri} created for {names}")
        return order

    async def _authz(self, acme: Any, url: str) -> Any:
        from acme import messages

        response = await self._get(acme, url)
        return messages.AuthorizationResource(body=messages.Authorization.from_json(response.json()), uri=url)

    async def _challenges(self, acme: Any, order: Any, ctx: SigningContext, dns: dns01.DnsProvider) -> None:
        """Answer every pending DNS-01 authorization, once each (the journal says which were answered)."""
        from acme import challenges, messages

        for authz in order.authorizations:
            status = authz.body.status
            domain = authz.body.identifier.value
            if status == messages.STATUS_VALID:
                continue
            if status != messages.STATUS_PENDING:
                raise SignerError(f"{self.label}: the authorization for {domain} is {status} "
                                  f"({_authz_problem(authz)}); fix the DNS hook, then retry (a new order is made).")
            challb = next((c for c in authz.body.challenges if isinstance(c.chall, challenges.DNS01)), None)
            if challb is None:
                raise SignerError(f"{self.label} offers no dns-01 challenge for {domain}; VOS nodes cannot answer "
                                  "the others.")
            if challb.status not in (messages.STATUS_PENDING, None):
                continue  # answered before an interruption: the CA is validating it
            name = challb.chall.validation_domain_name(domain)
            value = challb.chall.validation(acme.net.key)
            records = list(ctx.recall().get("dns") or [])
            if [name, value] not in records:
                await dns.set(name, value)
                records.append([name, value])
                ctx.remember({"dns": records})
                await ctx.progress(f"{self.label}: TXT {name} set")
            if not await dns.visible(name, value):
                raise SignerPending(f"the DNS-01 record {name} for {self.label} is not visible yet (its check "
                                    "says so)")
            await self._io(acme.answer_challenge, challb, challb.chall.response(acme.net.key))
            await ctx.progress(f"{self.label}: dns-01 challenge for {domain} answered")

    async def _clear(self, dns: dns01.DnsProvider, ctx: SigningContext) -> None:
        for name, value in ctx.recall().get("dns") or []:
            try:
                await dns.clear(name, value)
            except SignerError as exc:
                await ctx.progress(f"the TXT record {name} could not be removed: {exc}")
        ctx.remember({"dns": []})

    async def _poll(self, acme: Any, url: str, parse: Callable[[Any], Any], what: str, deadline: float) -> Any:
        """POST-as-GET `url` until its status is no longer pending/processing, backing off from 0.2 s (or as
        Retry-After says, up to 10 s) on the event loop; SignerError when `timeout` runs out."""
        from acme import messages

        delay = 0.2
        while True:
            response = await self._get(acme, url)
            body = parse(response.json())
            if body.status not in (messages.STATUS_PENDING, messages.STATUS_PROCESSING):
                return body
            if time.monotonic() >= deadline:
                raise SignerError(f"{self.label}: {what} is still {body.status} after {self.config.timeout:g} s; "
                                  "resume the job to ask again (the same order), or raise timeout.")
            retry = response.headers.get("Retry-After", "")
            wait = min(float(retry), 10.0) if retry.isdigit() else delay
            await asyncio.sleep(max(0.0, min(wait, deadline - time.monotonic())))
            delay = min(delay * 2, 5.0)

    async def _validated(self, acme: Any, order: Any, ctx: SigningContext, dns: dns01.DnsProvider,
                         deadline: float) -> None:
        """Wait for every authorization of the order to be valid; an invalid one ends the order."""
        from acme import messages

        for url in order.body.authorizations:
            body = await self._poll(acme, url, messages.Authorization.from_json, "an authorization", deadline)
            if body.status != messages.STATUS_VALID:
                ctx.remember({"order": None})  # a failed validation makes the order invalid: start afresh
                await self._clear(dns, ctx)
                problem = _authz_problem(messages.AuthorizationResource(body=body, uri=url))
                raise SignerError(f"{self.label}: the CA could not validate {body.identifier.value} ({problem}); "
                                  "check the dns settings, then retry (a new order is made).")

    def _require(self) -> None:
        """The `acme` extra (certbot's acme package, dnspython) is installed, or one sentence saying how."""
        missing = [name for name in ("acme", "josepy", "dns") if importlib.util.find_spec(name) is None]
        if missing:
            raise SignerError(f"{self.label} needs the ACME libraries, which are not installed "
                              f"({', '.join(missing)}); run `pip install 'ucterm[acme]'`.")

    async def obtain(self, csr_pem: str, ctx: SigningContext) -> tuple[str, list[str]]:
        self._require()
        from acme import messages

        dns = dns01.provider(self.config, self.spec.dns, ctx.credentials)
        acme = await self._client(ctx)
        order = await self._order(acme, csr_pem, ctx)
        deadline = time.monotonic() + self.config.timeout
        if order.body.status == messages.STATUS_PENDING:
            await self._challenges(acme, order, ctx, dns)
            await self._validated(acme, order, ctx, dns, deadline)
        body = messages.Order.from_json((await self._get(acme, order.uri)).json())
        if body.status == messages.STATUS_READY:
            await ctx.progress(f"{self.label}: finalizing order {order.uri} with the node's CSR")
            order = await self._io(acme.begin_finalization, order.update(body=body))
            body = order.body
        if body.status != messages.STATUS_VALID:
            body = await self._poll(acme, order.uri, messages.Order.from_json, f"order {order.uri}", deadline)
        if body.status != messages.STATUS_VALID or body.certificate is None:
            ctx.remember({"order": None})
            raise SignerError(f"{self.label}: order {order.uri} ended {body.status} ({_problem(body.error)}); "
                              "retry the step (a new order is made).")
        fullchain = (await self._get(acme, body.certificate)).text
        await self._clear(dns, ctx)
        leaf, chain = self._split(fullchain, csr_pem)
        chain += await complete_chain(self.config, chain or [leaf], ctx.progress)
        ctx.remember({"phase": "issued"})
        await ctx.progress(f"{self.label}: order {order.uri} issued {pki.label(_cert(leaf))}")
        return leaf, chain

    # ---- the chain ---------------------------------------------------------------------------

    @staticmethod
    def _split(fullchain: str, csr_pem: str) -> tuple[str, list[str]]:
        certs = list(pki.load_bundle(fullchain.encode(), "the ACME certificate").certificates)
        csr = pki.load_csr_pem(csr_pem)
        leaf = next((c for c in certs if pki.public_keys_equal(c, csr)), certs[0])
        return pki.pem(leaf), [pki.pem(c) for c in certs if c is not leaf]


async def complete_chain(config: SignerConfig, chain: list[str],
                         progress: Callable[[str], Awaitable[None]]) -> list[str]:
    """The root above the last certificate of `chain` (ACME returns none): from the signer's `roots`, else
    fetched from that certificate's AIA caIssuers URL; [] (with a progress line) when neither has it,
    and validation then says the chain is incomplete."""
    label = f'signer "{config.name}"'
    top = _cert(chain[-1])
    if top.issuer == top.subject:
        return []
    if config.roots is not None:
        found = [c for b in pki.load_paths([config.roots]) for c in b.certificates if c.subject == top.issuer]
        if found:
            return [pki.pem(found[0])]
        await progress(f"{label}: roots {config.roots} holds no {pki.cn_of(top.issuer)}")
    for url in _ca_issuers(top):
        try:
            async with web.client(config) as http:
                response = await http.get(url)
        except (httpx.HTTPError, OSError) as exc:
            await progress(f"{label}: the issuer's certificate at {url} cannot be fetched ({type(exc).__name__})")
            continue
        if response.status_code != 200 or not response.content:
            continue
        try:
            bundle = pki.load_bundle(response.content, url)
        except pki.PkiError:
            continue
        issuers = [c for c in bundle.certificates if c.subject == top.issuer]
        if issuers:
            await progress(f"{label}: root {pki.label(issuers[0])} fetched from {url} (AIA)")
            return [pki.pem(issuers[0])]
    await progress(f"{label}: the root above {pki.label(top)} is not known; set roots in its [[signer]] table")
    return []


def _cert(text: str) -> x509.Certificate:
    return pki.load_bundle(text.encode(), "the ACME certificate").certificates[0]


def _ca_issuers(cert: x509.Certificate) -> list[str]:
    try:
        aia = cert.extensions.get_extension_for_class(x509.AuthorityInformationAccess).value
    except x509.ExtensionNotFound:
        return []
    return [d.access_location.value for d in aia
            if d.access_method == AuthorityInformationAccessOID.CA_ISSUERS
            and isinstance(d.access_location, x509.UniformResourceIdentifier)
            and d.access_location.value.lower().startswith(("http://", "https://"))]


def _problem(error: Any) -> str:
    if error is None:
        return "no detail"
    return str(getattr(error, "detail", None) or getattr(error, "typ", None) or error)


def _authz_problem(authz: Any) -> str:
    for challb in authz.body.challenges:
        if challb.error is not None:
            return _problem(challb.error)
    return "no detail"
