"""The certificate management REST API ("certmgr", v14 and later) of one node.

Endpoints, bodies and behaviour from `cisco-uc-certs.md` §4.1: server-specific (call each node
itself), HTTP Basic with the platform (OS) administrator, JSON bodies. VOS error bodies
(`message` / `error` / `messages[]`) become :class:`RestError`, or :class:`VosImportError` when
they carry one of the §5.3 upload texts.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal

import httpx
from cryptography import x509

from ucterm import catalog, pki
from ucterm.text import clip
from ucterm.vos import parsers
from ucterm.vos import text as vtext
from ucterm.vos.errors import RestError, VosImportError
from ucterm.vos.http import NodeHttpClient

BASE = "/platformcom/api/v1/certmgr/config"
#: How deep a certmgr answer may nest. The documented answers are three or four levels deep
#: (§4.1); an answer nested hundreds deep is not certmgr, and walking it would exhaust the stack.
MAX_JSON_DEPTH = 64
#: The longest error text taken from an answer (the sentence around it is cut again by VosError).
MAX_MESSAGE_CHARS = 500

#: §4.1 `this-server` [VERIFIED: C-netSSL]; `multi-server` [INFERRED]: no source confirms it (catalog).
DISTRIBUTION_THIS_SERVER = catalog.REST_DISTRIBUTION[False]
DISTRIBUTION_MULTI_SERVER = catalog.REST_DISTRIBUTION[True]

Distribution = Literal["this-server", "multi-server"]


@dataclass(frozen=True)
class SnapshotEntry:
    """One certificate `GET .../snapshot/server` listed; fields other than the PEM are best effort."""

    service: str | None
    kind: str | None  # "identity" / "trust" / what the node calls it, when it says
    certificate: x509.Certificate


class CertMgrClient:
    """certmgr on one node. All methods raise :class:`RestError` (or a subclass) on failure."""

    def __init__(self, http: NodeHttpClient) -> None:
        self.http = http

    @property
    def node(self) -> str:
        return self.http.node

    async def _call(self, method: str, path: str, *, ok: tuple[int, ...] = (200,), **kwargs: Any) -> Any:
        response = await self.http.request(method, BASE + path, **kwargs)
        if response.status_code not in ok:
            raise RestError(self.node, method, BASE + path, response.status_code, error_message(response))
        if not response.content:
            return None
        try:
            data = response.json()
        except ValueError:
            return response.text
        except RecursionError:
            data = None
            depth = MAX_JSON_DEPTH + 1
        else:
            depth = json_depth(data, MAX_JSON_DEPTH + 1)
        if depth > MAX_JSON_DEPTH:
            raise RestError(self.node, method, BASE + path, response.status_code,
                            f"the JSON answer is nested more than {MAX_JSON_DEPTH} levels deep, which no "
                            "certmgr answer is; it was not read")
        return data

    async def snapshot(self) -> list[SnapshotEntry]:
        """`GET .../snapshot/server`: the certificates on the server (§4.1 [VERIFIED: S-DEVNET-CM])."""
        data = await self._call("GET", "/snapshot/server")
        return [SnapshotEntry(service, kind, cert) for service, kind, cert in _certificates_in_json(data)]

    async def generate_csr(
        self,
        service: str,
        *,
        distribution: Distribution = "this-server",
        common_name: str,
        alt_names: list[str] | tuple[str, ...] = (),
        key_type: str = "rsa",
        key_length: int = 2048,
        hash_algorithm: str = "sha256",
    ) -> x509.CertificateSigningRequest:
        """`POST .../csr` with the §4.1 [VERIFIED: C-netSSL] body; the answer's `csr` field parsed.

        `distribution="multi-server"` is [INFERRED] (§4.1/§8: the value is not confirmed).
        """
        body: dict[str, Any] = {
            "service": service,
            "distribution": distribution,
            "commonName": common_name,
            "keyType": key_type,
            "keyLength": key_length,
            "hashAlgorithm": hash_algorithm,
        }
        if alt_names:
            body["altNames"] = list(alt_names)
        data = await self._call("POST", "/csr", ok=(200, 201), json=body)
        text = data.get("csr") if isinstance(data, dict) else data if isinstance(data, str) else None
        if not isinstance(text, str):
            raise RestError(self.node, "POST", BASE + "/csr", 200, "the answer has no `csr` field")
        return pki.load_csr_pem(text, f"the CSR {self.node} returned")

    async def upload_identity(self, service: str, pems: list[str]) -> Any:
        """`POST .../identity/certificates` `{"service", "certificates": [leaf, intermediates…]}`.

        §4.1 [VERIFIED: C-netSSL]: success is 200 or 201; a 400 when the CA is not in trust and a
        500 for a certificate from an old CSR; the §5.3 texts become :class:`VosImportError`.
        """
        return await self._upload("/identity/certificates", {"service": service, "certificates": list(pems)}, service)

    async def upload_trust(self, services: list[str], pems: list[str], description: str = "Trust Certificate") -> Any:
        """`POST .../trust/certificates` `{"service": [..], "certificates": [..], "description"}` (§4.1 [VERIFIED])."""
        return await self._upload(
            "/trust/certificates",
            {"service": list(services), "certificates": list(pems), "description": description},
            ",".join(services),
        )

    async def _upload(self, path: str, body: dict[str, Any], unit: str) -> Any:
        response = await self.http.request("POST", BASE + path, json=body)
        if response.status_code in (200, 201):
            try:
                return response.json() if response.content else None
            except (ValueError, RecursionError):
                return response.text
        message = error_message(response)
        code = parsers.import_error_code(message)
        if code is not None:
            raise VosImportError(code, message, node=self.node, unit=unit, transport="rest")
        raise RestError(self.node, "POST", BASE + path, response.status_code, message)

    async def identity(self, service: str) -> x509.Certificate:
        """`GET .../identity/certificate?service=<svc>`: the current identity certificate (§4.1 [VERIFIED])."""
        data = await self._call("GET", "/identity/certificate", params={"service": service})
        if isinstance(data, dict) and isinstance(data.get("certificate"), str):
            data = data["certificate"]  # the leaf itself, not the `chain` beside it
        found = _certificates_in_json(data)
        if not found:
            raise RestError(
                self.node,
                "GET",
                BASE + "/identity/certificate",
                200,
                f"the answer holds no certificate for {service}",
            )
        return found[0][2]

    async def trust(self, service: str) -> list[x509.Certificate]:
        """`GET .../trust/certificate?service=<svc>`: a list (or `{"certificates": [...]}`) of
        objects with a `certificate` PEM (§4.1 [VERIFIED: C-netSSL])."""
        data = await self._call("GET", "/trust/certificate", params={"service": service})
        return [cert for _, _, cert in _certificates_in_json(data)]


def error_message(response: httpx.Response) -> str:
    """The VOS error text: JSON `message` / `error` / `messages[]` (§4.1 [VERIFIED: C-netSSL]), else the body."""
    try:
        data = response.json()
    except (ValueError, RecursionError):
        data = None
    parts: list[str] = []
    if isinstance(data, dict):
        for key in ("message", "error", "errorMessage", "detail"):
            value = data.get(key)
            if isinstance(value, str) and value.strip():
                parts.append(value.strip())
        messages = data.get("messages")
        if isinstance(messages, list):
            for item in messages:
                if isinstance(item, str):
                    parts.append(item)
                elif isinstance(item, dict):
                    parts.extend(str(v) for k, v in item.items() if k in ("message", "error", "text") and v)
    if not parts:
        text = vtext.clean(response.text[:MAX_MESSAGE_CHARS * 4]).strip()
        parts.append(text[:300] if text else response.reason_phrase or "no message")
    return clip("; ".join(dict.fromkeys(parts)), MAX_MESSAGE_CHARS)


def json_depth(data: Any, stop: int) -> int:
    """How deeply `data` nests (a scalar is 0), counted without recursion; stops counting at `stop`."""
    deepest = 0
    stack: list[tuple[Any, int]] = [(data, 0)]
    while stack:
        value, depth = stack.pop()
        if isinstance(value, dict | list):
            depth += 1
            deepest = max(deepest, depth)
            if deepest >= stop:
                return deepest
            stack.extend((v, depth) for v in (value.values() if isinstance(value, dict) else value))
    return deepest


def _certificates_in_json(
    data: Any, service: str | None = None, kind: str | None = None
) -> list[tuple[str | None, str | None, x509.Certificate]]:
    """Every PEM certificate inside a JSON document, with the nearest `service`/`type` seen on the way.

    The snapshot/identity/trust schemas are only partly documented (§4.1, §8), so the PEMs are
    found wherever they are instead of at one assumed path.
    """
    out: list[tuple[str | None, str | None, x509.Certificate]] = []
    if isinstance(data, dict):
        svc = data.get("service", data.get("serviceName", service))
        svc = svc if isinstance(svc, str) else service
        knd = data.get("type", data.get("certificateType", kind))
        knd = knd if isinstance(knd, str) else kind
        for value in data.values():
            out.extend(_certificates_in_json(value, svc, knd))
    elif isinstance(data, list):
        for item in data:
            out.extend(_certificates_in_json(item, service, kind))
    elif isinstance(data, str) and "-----BEGIN CERTIFICATE-----" in data:
        out.extend((service, kind, cert) for cert in parsers.certificates_in(data))
    return out
