"""HashiCorp Vault / OpenBao PKI: `POST /v1/<mount>/sign-verbatim/<role>` or `/v1/<mount>/sign/<role>`.

`sign-verbatim` keeps the CSR's subject, SANs, key usage and extended key usage, which VOS
requires (§5.1: "the CA template must copy KU/EKU from the CSR"); `sign/<role>` applies the role
(its allowed domains, its key usages), so the answer is validated like any other. Vault signs at
once or refuses: there is no pending state, so nothing needs journaling but the serial number.
The token travels in `X-Vault-Token`, the namespace in `X-Vault-Namespace` (Vault Enterprise,
OpenBao namespaces), never in a URL.
"""

from __future__ import annotations

import ipaddress
from typing import Any

import httpx

from ucterm import pki
from ucterm.credentials import CredentialStore
from ucterm.renewal.signers import web
from ucterm.renewal.signers.base import SignerError, SigningContext
from ucterm.signer_config import SignerConfig, VaultSpec


class VaultSigner:
    """One `kind = "vault"` signer (see the module docstring)."""

    def __init__(self, config: SignerConfig, credentials: CredentialStore | None = None) -> None:
        assert isinstance(config.spec, VaultSpec)
        self.config = config
        self.spec: VaultSpec = config.spec
        self.label = f'signer "{config.name}" (Vault PKI {self.spec.mount})'
        self._credentials = credentials or CredentialStore()

    def endpoint(self) -> str:
        action = "sign-verbatim" if self.spec.verbatim else "sign"
        return f"{self.spec.url}/v1/{self.spec.mount}/{action}/{self.spec.role}"

    @staticmethod
    def request_body(csr_pem: str, *, verbatim: bool) -> dict[str, Any]:
        """The JSON Vault takes: the CSR, and for `sign/` the CN and SANs the CSR asks for (Vault's
        sign/ takes the subject from its parameters, not from the CSR)."""
        body: dict[str, Any] = {"csr": csr_pem, "format": "pem"}
        if not verbatim:
            csr = pki.load_csr_pem(csr_pem)
            body["common_name"] = pki.cn_of(csr.subject)
            names = sorted(pki.sans_of(csr) - {body["common_name"]})
            ips = [n for n in names if _is_ip(n)]
            dns = [n for n in names if n not in ips]
            if dns:
                body["alt_names"] = ",".join(dns)
            if ips:
                body["ip_sans"] = ",".join(ips)
            body["exclude_cn_from_sans"] = False
        return body

    async def sign(self, csr_pem: str) -> tuple[str, list[str]]:
        return await self._sign(csr_pem, self._credentials, None)

    async def obtain(self, csr_pem: str, ctx: SigningContext) -> tuple[str, list[str]]:
        return await self._sign(csr_pem, ctx.credentials, ctx)

    async def _sign(self, csr_pem: str, credentials: CredentialStore,
                    ctx: SigningContext | None) -> tuple[str, list[str]]:
        token = credentials.resolve(self.spec.token, what=self.config.what("token")).reveal()
        headers = {"X-Vault-Token": token, "Accept": "application/json"}
        if self.spec.namespace:
            headers["X-Vault-Namespace"] = self.spec.namespace
        url = self.endpoint()
        if ctx is not None:
            await ctx.progress(f"{self.label}: POST {url}")
        try:
            async with web.client(self.config) as http:
                response = await http.post(url, json=self.request_body(csr_pem, verbatim=self.spec.verbatim),
                                           headers=headers)
        except (httpx.HTTPError, OSError) as exc:
            raise web.failure(self.config, url, exc) from None
        data = _json(response)
        if response.status_code in (401, 403):
            raise SignerError(f'{self.label} refused the token ({_errors(data) or "permission denied"}); check '
                              f"token (and namespace) for role {self.spec.role} in the inventory.")
        if response.status_code != 200 or not isinstance(data.get("data"), dict):
            if _errors(data):
                raise SignerError(f"{self.label} refused the CSR: {_errors(data)}; check role "
                                  f'"{self.spec.role}" (allowed domains, key usages) on mount {self.spec.mount}.')
            raise web.status_failure(self.config, response, f"POST {url}")
        answer = data["data"]
        leaf = answer.get("certificate")
        if not isinstance(leaf, str) or "BEGIN CERTIFICATE" not in leaf:
            raise SignerError(f"{self.label} answered without a certificate; check the role on mount "
                              f"{self.spec.mount}.")
        chain = [c for c in answer.get("ca_chain") or () if isinstance(c, str)]
        issuing = answer.get("issuing_ca")
        if not chain and isinstance(issuing, str):
            chain = [issuing]
        if ctx is not None:
            ctx.remember({"serial": str(answer.get("serial_number", ""))})
            await ctx.progress(f"{self.label}: issued serial {answer.get('serial_number', '?')}")
        return leaf, chain


def _is_ip(name: str) -> bool:
    try:
        ipaddress.ip_address(name)
    except ValueError:
        return False
    return True


def _json(response: httpx.Response) -> dict[str, Any]:
    try:
        data = response.json()
    except ValueError:
        return {}
    return data if isinstance(data, dict) else {}


def _errors(data: dict[str, Any]) -> str:
    errors = data.get("errors")
    if isinstance(errors, list):
        return "; ".join(" ".join(str(e).split())[:200] for e in errors[:3])
    return ""
