"""The certificate management REST API ("certmgr") of a lab node, v14 and later.

§4.1 [VERIFIED: S-DEVNET-CM, C-netSSL]: server-specific, HTTP Basic with the platform (OS)
administrator, under `/platformcom/api/v1/certmgr/config/`:

- `GET  snapshot/server`: the certificates on the server;
- `POST csr` `{"service","distribution","commonName","keyType","keyLength","hashAlgorithm","altNames"}`
  → `{"csr": PEM}`;
- `POST identity/certificates` `{"service","certificates":[leaf, intermediates…]}`;
- `POST trust/certificates` `{"service":[…],"certificates":[…],"description"}` (`service` is an array);
- `GET  trust/certificate?service=` → a JSON array of objects with a `certificate` PEM;
- `GET  identity/certificate?service=` → the current (installed) identity certificate.

Errors carry the VOS text in `{"message": …}`: 400 when the issuing CA is not in trust, 500 for a
certificate issued from an old CSR (§4.1 [VERIFIED: C-netSSL]). Uploads go through
:meth:`LabNode.import_identity` / :meth:`LabNode.import_trust` with `via="rest"`, so the CLI and
REST faces of a node can never disagree (a multi-SAN identity is accepted here on 14SU2+, where
the CLI refuses it, §1.7). Nothing here restarts a service (§4.1 [VERIFIED: C-netSSL]).

INFERRED (the reference does not show them; tagged where encoded): the snapshot and identity JSON
shapes, `"multi-server"`, the success bodies, the status of errors other than the two above,
validation texts, 415 for non-JSON bodies, and the realm. Nodes before v14 answer 404 for the
whole API, like a node without it (§4.1 [VERIFIED: S-DEVNET-CM "v14 and later"]).
"""

from __future__ import annotations

import ipaddress
import json
import logging
from collections.abc import Awaitable, Callable
from typing import Any, Literal

from cryptography import x509
from cryptography.hazmat.primitives.asymmetric import ec, rsa

from ucterm import catalog
from ucterm.lab import certs, texts
from ucterm.lab.errors import VosError
from ucterm.lab.http import Request, Response, authorized, unauthorized
from ucterm.lab.node import Identity, LabNode, TrustEntry

log = logging.getLogger(__name__)

PREFIX = "/platformcom/"
BASE = "/platformcom/api/v1/certmgr/config"
REALM = "Cisco Platform"  # [INFERRED]

#: §4.1: `this-server` [VERIFIED: C-netSSL]; `multi-server` [INFERRED] (catalog.REST_DISTRIBUTION).
DISTRIBUTIONS: dict[str, bool] = {value: multi for multi, value in catalog.REST_DISTRIBUTION.items()}
#: §5.4 [VERIFIED: S-SEC14SU2 / S-ADM125SU3]: RSA 1024/2048/3072/4096, EC 256/384/521.
KEY_LENGTHS: dict[str, tuple[int, ...]] = {"rsa": (1024, 2048, 3072, 4096), "ec": (256, 384, 521)}
#: §5.4: SHA256 is the default and FIPS's only choice; the full list is [INFERRED]. The CSR is signed
#: with the hash asked for; one the crypto library cannot sign with (SHA-1 on recent cryptography
#: releases) is refused with 400 and the node's text, never silently replaced.
HASH_ALGORITHMS = frozenset({"sha1", "sha256", "sha384", "sha512"})

#: §4.1 [VERIFIED: C-netSSL]: a certificate from an old or cached CSR fails with 500; the missing-CSR
#: case is the same mistake seen after the CSR was consumed [INFERRED: 500 too]. Other refusals: 400.
_SERVER_ERRORS = (texts.ERR_KEY_MISMATCH, texts.ERR_CSR_MISSING.split("{", 1)[0])

class ApiError(Exception):
    """A refusal answered as `{"message": ...}` with `status`."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message


class CertMgrApi:
    """certmgr on one node (see the module docstring)."""

    def __init__(self, node: LabNode) -> None:
        self.node = node

    @property
    def available(self) -> bool:
        return catalog.rest_api_available(self.node.vos_version)

    async def handle(self, request: Request) -> Response:
        if not self.available:
            return Response.error_page(404)
        creds = self.node.credentials  # the node's own platform administrator
        if not authorized(request, creds.os_user, creds.os_password):
            return unauthorized(REALM)
        if not request.path.startswith(BASE + "/"):
            return _message(404, f"No resource at {request.path}")
        route = request.path[len(BASE) + 1:].rstrip("/")
        routes: dict[tuple[str, str], Callable[[Request], Awaitable[Response]]] = {
            ("GET", "snapshot/server"): self._snapshot,
            ("POST", "csr"): self._csr,
            ("POST", "identity/certificates"): self._upload_identity,
            ("POST", "trust/certificates"): self._upload_trust,
            ("GET", "trust/certificate"): self._trust,
            ("GET", "identity/certificate"): self._identity,
        }
        handler = routes.get((request.method, route))
        if handler is None:
            allowed = [m for (m, r) in routes if r == route]
            if allowed:
                return Response(405, json.dumps({"message": f"{request.method} is not allowed here"}).encode(),
                                "application/json", [("Allow", ", ".join(allowed))])
            return _message(404, f"No resource at {request.path}")
        try:
            return await handler(request)
        except ApiError as exc:
            log.debug("lab certmgr %s: %s %s -> %s", self.node.fqdn, request.method, route, exc.status)
            return _message(exc.status, exc.message)

    # ---- reading ------------------------------------------------------------------------------

    async def _snapshot(self, request: Request) -> Response:
        """[INFERRED shape] `{"serverName", "certificates": [identity…, trust…]}`, one object per certificate."""
        node = self.node
        items = [_identity_json(node, unit, identity) for unit, identity in node.identities().items()]
        items += [_trust_json(entry) for entry in node.trust_entries()]
        return Response.json(200, {"serverName": node.fqdn, "certificates": items})

    async def _identity(self, request: Request) -> Response:
        """[INFERRED shape] one object: the snapshot's identity fields plus `chain` (intermediate PEMs)."""
        unit = self._unit(request.query_value("service"))
        identity = self.node.identities().get(unit)
        if identity is None:
            raise ApiError(404, texts.CERT_NOT_FOUND.format(name=f"{unit}/{unit}.pem"))
        data = _identity_json(self.node, unit, identity)
        data["chain"] = identity.chain_pems
        return Response.json(200, data)

    async def _trust(self, request: Request) -> Response:
        """§4.1 [VERIFIED: C-netSSL]: a JSON array of objects with a `certificate` PEM (other fields INFERRED)."""
        name = request.query_value("service")
        if not name:
            raise ApiError(400, "The query parameter service is required")
        try:
            store = self.node.trust_store_of(name)
        except (VosError, KeyError):
            raise ApiError(400, texts.UNKNOWN_UNIT.format(unit=name)) from None
        return Response.json(200, [_trust_json(e) for e in self.node.trust_entries(store)])

    # ---- CSR ----------------------------------------------------------------------------------

    async def _csr(self, request: Request) -> Response:
        body = _json_object(request)
        unit = self._unit(_string(body, "service"))
        distribution = _string(body, "distribution")
        if distribution not in DISTRIBUTIONS:
            raise ApiError(400, f"Invalid distribution {distribution}; use " + " or ".join(DISTRIBUTIONS))
        multi_server = DISTRIBUTIONS[distribution]
        common_name = _string(body, "commonName")
        spec = catalog.unit_spec(unit)
        key_type = str(body.get("keyType", "ec" if spec.key_algorithm == "EC" else "rsa")).lower()
        if key_type not in KEY_LENGTHS:
            raise ApiError(400, f"Invalid keyType {body.get('keyType')}; use rsa or ec")
        if (key_type == "ec") != (spec.key_algorithm == "EC"):
            raise ApiError(400, f"keyType {key_type} is not valid for {unit}")
        key_length = body.get("keyLength", KEY_LENGTHS[key_type][1] if key_type == "rsa" else 256)
        if not isinstance(key_length, int) or isinstance(key_length, bool) or key_length not in KEY_LENGTHS[key_type]:
            raise ApiError(400, f"Invalid keyLength {key_length} for {key_type}; use "
                           + ", ".join(map(str, KEY_LENGTHS[key_type])))
        hash_algorithm = str(body.get("hashAlgorithm", "sha256")).lower()
        if hash_algorithm not in HASH_ALGORITHMS:
            raise ApiError(400, f"Invalid hashAlgorithm {body.get('hashAlgorithm')}")
        alt_names = body.get("altNames", [])
        if not isinstance(alt_names, list) or not all(isinstance(n, str) and n.strip() for n in alt_names):
            raise ApiError(400, "altNames must be an array of host names")
        names = [common_name, *alt_names]
        if any("*" in n for n in names):
            raise ApiError(400, "Wildcard names are not supported")  # §5.2 [VERIFIED: S-217138]; text INFERRED
        if multi_server and any(_is_ip(n) for n in alt_names):
            raise ApiError(400, "IP addresses are not allowed in a multi-server certificate")  # §5.2 [VERIFIED]
        sans = list(dict.fromkeys([*self.node.default_sans(unit, multi_server),
                                   *(n.strip().lower() for n in alt_names)]))
        kind: Literal["rsa", "ec"] = "ec" if key_type == "ec" else "rsa"
        try:
            # The key is made off the event loop (RSA-4096 takes seconds; the other nodes share the loop).
            key = await self.node.new_csr_key(unit, key_type=kind, key_size=key_length, hash_algorithm=hash_algorithm,
                                              multi_server=multi_server)
            pem = self.node.generate_csr(unit, cn=common_name, sans=sans, key_type=kind, key_size=key_length,
                                         hash_algorithm=hash_algorithm, multi_server=multi_server, key=key)
        except VosError as exc:
            raise ApiError(400, exc.message) from None
        log.info("lab certmgr %s: CSR for %s (%s)", self.node.fqdn, unit, distribution)
        return Response.json(200, {"csr": pem})

    # ---- uploads ------------------------------------------------------------------------------

    async def _upload_identity(self, request: Request) -> Response:
        body = _json_object(request)
        unit = self._unit(_string(body, "service"))
        pems = _pem_list(body)
        result = self.node.import_identity(unit, pems, via="rest")
        if not result.ok:
            error = result.error or texts.COMMAND_FAILED
            status = 500 if error.startswith(_SERVER_ERRORS) else 400
            raise ApiError(status, error)
        log.info("lab certmgr %s: identity %s installed on %s", self.node.fqdn, unit, ", ".join(result.installed_on))
        return Response.json(200, {"message": " ".join(result.lines), "servers": list(result.installed_on)})

    async def _upload_trust(self, request: Request) -> Response:
        body = _json_object(request)
        services = body.get("service")
        if not isinstance(services, list) or not services or not all(isinstance(s, str) for s in services):
            # §4.1 [VERIFIED: C-netSSL]: `service` is an array here (unlike the identity upload).
            raise ApiError(400, "service must be an array of service names, e.g. [\"tomcat\"]")
        description = body.get("description", texts.TRUST_DESCRIPTION_IMPORTED)
        if not isinstance(description, str):
            raise ApiError(400, "description must be a string")
        pems = _pem_list(body)
        stores = [self._trust_store(s) for s in services]
        servers: list[str] = []
        lines: list[str] = []
        for store in stores:
            result = self.node.import_trust(store, pems, via="rest", description=description or
                                            texts.TRUST_DESCRIPTION_IMPORTED)
            if not result.ok:
                raise ApiError(400, result.error or texts.COMMAND_FAILED)
            lines.append(result.lines[0])
            servers += [s for s in result.installed_on if s not in servers]
        return Response.json(200, {"message": " ".join(lines), "servers": servers})

    # ---- helpers ------------------------------------------------------------------------------

    def _unit(self, name: str | None) -> str:
        if not name:
            raise ApiError(400, "The parameter service is required")
        try:
            return self.node.unit(name)
        except VosError as exc:
            raise ApiError(400, exc.message) from None

    def _trust_store(self, name: str) -> str:
        """`tomcat` (the service name, as netSSL sends it) or the store name `tomcat-trust`."""
        try:
            return self.node.trust_store_of(name)
        except (VosError, KeyError):
            raise ApiError(400, texts.UNKNOWN_UNIT.format(unit=name)) from None


def _message(status: int, message: str) -> Response:
    return Response.json(status, {"message": message})


def _json_object(request: Request) -> dict[str, Any]:
    if request.media_type != "application/json":
        raise ApiError(415, "Content-Type must be application/json")
    try:
        data = json.loads(request.body.decode("utf-8"))
    except (UnicodeDecodeError, ValueError) as exc:
        raise ApiError(400, f"Malformed JSON body: {exc}") from None
    if not isinstance(data, dict):
        raise ApiError(400, "The body must be a JSON object")
    return data


def _string(body: dict[str, Any], name: str) -> str:
    value = body.get(name)
    if value is not None and not isinstance(value, str):
        raise ApiError(400, f"The parameter {name} must be a string")
    if not value or not value.strip():
        raise ApiError(400, f"The parameter {name} is required")
    return value.strip()


def _pem_list(body: dict[str, Any]) -> list[str]:
    value = body.get("certificates")
    if not isinstance(value, list) or not value or not all(isinstance(p, str) for p in value):
        raise ApiError(400, "certificates must be a non-empty array of PEM certificates")
    return value


def _is_ip(name: str) -> bool:
    try:
        ipaddress.ip_address(name.strip())
    except ValueError:
        return False
    return True


def _cert_fields(cert: x509.Certificate) -> dict[str, Any]:
    """Metadata shown beside each PEM [INFERRED names]; the PEM is what clients should read."""
    public = cert.public_key()
    key_type = "rsa" if isinstance(public, rsa.RSAPublicKey) else "ec" if isinstance(
        public, ec.EllipticCurvePublicKey) else "other"
    return {
        "subjectName": cert.subject.rfc4514_string(),
        "issuerName": cert.issuer.rfc4514_string(),
        "serialNumber": f"{cert.serial_number:x}",
        "validFrom": cert.not_valid_before_utc.strftime("%Y-%m-%dT%H:%M:%SZ"),
        "validTo": cert.not_valid_after_utc.strftime("%Y-%m-%dT%H:%M:%SZ"),
        "keyType": key_type,
        "keyLength": getattr(public, "key_size", 0),
        "selfSigned": certs.is_self_signed(cert),
        "certificate": certs.cert_pem(cert),
    }


def _identity_json(node: LabNode, unit: str, identity: Identity) -> dict[str, Any]:
    return {"type": "identity", "service": unit, "name": f"{unit}.pem",
            "distribution": catalog.REST_DISTRIBUTION[identity.multi_server], **_cert_fields(identity.cert)}


def _trust_json(entry: TrustEntry) -> dict[str, Any]:
    return {"type": "trust", "service": catalog.trust_store_unit(entry.store), "trustStore": entry.store,
            "name": entry.name, "description": entry.description, **_cert_fields(entry.cert)}
