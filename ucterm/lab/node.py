"""One simulated VOS node: its certificates, trust stores, CSRs, services, and what VOS does to them.

Pure state and semantics, no sockets: the SSH shell (:mod:`ucterm.lab.shell`) and the later TLS
endpoints and HTTPS APIs are faces on this object, and every mutation is a method they call, so
the CLI and the REST API of one node can never disagree. Refusals raise :class:`VosError` (or
come back in an :class:`ImportResult`) carrying the texts VOS prints (:mod:`ucterm.lab.texts`).

Behaviour that matters to a renewal tool, each from the reference:
- one outstanding CSR per unit; a new CSR replaces the old one and its key (§1.3, §5.3);
- an identity upload must match the CSR's key and SANs, its CA must be in `<unit>-trust`, and a
  successful one consumes the CSR (§5.3); expired certificates are refused (§5.3);
- a multi-server certificate uploaded where its CSR was made is installed on every node named in
  its SANs (§2.1, §2.2); on 14SU2+ the CLI refuses multi-SAN uploads (§1.7);
- a TLS endpoint presents a newly installed certificate only after its serving service restarts
  (catalog.serving_service), and presents nothing while that service is not running; every status
  change of a service is announced to :meth:`LabNode.watch_services` listeners, which is how the
  TLS layer closes the connections of a restarted process at once instead of polling;
- service operations (restart, start, stop) are the node's Service Manager's
  (:mod:`ucterm.lab.services`): they run on its tasks, not the caller's, and `LabEstate.stop()`
  cancels them (:meth:`LabNode.cancel_tasks`);
- with IM&P High Availability on, cup/XCP service restarts never leave `[STARTING]` (§3.4);
- tomcat-trust, CallManager-trust and Phone-SAST-trust replicate cluster-wide (§5.4).
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
import random
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime, timedelta, tzinfo
from typing import TYPE_CHECKING, Literal, TypeVar

from cryptography import x509
from cryptography.exceptions import UnsupportedAlgorithm

from ucterm import catalog
from ucterm.lab import certs, texts
from ucterm.lab.clock import LabClock
from ucterm.lab.credentials import CREDENTIALS, LabCredentials
from ucterm.lab.errors import VosError
from ucterm.lab.faults import NodeFaults
from ucterm.lab.keys import KeyAlgorithm, KeySource, PrivateKey
from ucterm.lab.profiles import Profile
from ucterm.lab.services import Progress, RestartResult, Service, ServiceListener, ServiceManager

if TYPE_CHECKING:
    from ucterm.lab.cluster import LabCluster

log = logging.getLogger(__name__)

T = TypeVar("T")
Role = Literal["publisher", "subscriber"]
Via = Literal["cli", "rest"]
#: A TLS-layer handler for one accepted TCP connection on a reserved port.
PortHandler = Callable[[asyncio.StreamReader, asyncio.StreamWriter], Awaitable[None]]

#: §5.4 [VERIFIED: S-ADM125SU3]: these trust stores replicate to every node of the cluster.
REPLICATED_TRUST_STORES = frozenset({"tomcat-trust", "CallManager-trust", "Phone-SAST-trust"})

#: §5.4 [VERIFIED: S-SEC14SU2 / S-ADM125SU3]: RSA 1024–4096, EC 256/384/521.
_KEY_SIZES: dict[str, frozenset[int]] = {"RSA": frozenset({1024, 2048, 3072, 4096}),
                                         "EC": frozenset({256, 384, 521})}

#: Ports each product listens on (names as in catalog.DEFAULT_PORTS; `rest` shares `https`).
PRODUCT_PORTS: dict[str, tuple[str, ...]] = {
    "cucm": ("ssh", "https", "rest", "sip_tls"),
    "imp": ("ssh", "https", "rest", "sip_tls", "xmpp_c2s", "xmpp_s2s"),
    "cuc": ("ssh", "https", "rest"),
}


@dataclass(frozen=True)
class Identity:
    """An installed identity certificate with its private key (what a TLS endpoint serves)."""

    cert: x509.Certificate
    key: PrivateKey
    #: Issuing CAs below the root, leaf's issuer first (sent with the leaf in a TLS handshake).
    chain: tuple[x509.Certificate, ...] = ()
    multi_server: bool = False

    @property
    def self_signed(self) -> bool:
        return certs.is_self_signed(self.cert)

    @property
    def cert_pem(self) -> str:
        return certs.cert_pem(self.cert)

    @property
    def key_pem(self) -> str:
        return certs.key_pem(self.key)

    @property
    def chain_pems(self) -> list[str]:
        return [certs.cert_pem(c) for c in self.chain]


@dataclass(frozen=True)
class PendingCsr:
    """The one outstanding CSR of a unit, with the key it was made for."""

    unit: str
    csr: x509.CertificateSigningRequest
    key: PrivateKey
    multi_server: bool
    created: datetime

    @property
    def pem(self) -> str:
        return certs.csr_pem(self.csr)

    @property
    def sans(self) -> list[str]:
        return certs.sans_of(self.csr)


@dataclass(frozen=True)
class TrustEntry:
    store: str
    name: str
    cert: x509.Certificate
    description: str
    #: `fqdn/unit` for a node's own self-signed certificate published by the system; None if uploaded.
    origin: str | None = None

    @property
    def path(self) -> str:
        return f"{self.store}/{self.name}"


@dataclass(frozen=True)
class ImportResult:
    """The outcome of an identity or trust upload, with the texts VOS prints."""

    ok: bool
    unit: str
    lines: tuple[str, ...]
    #: FQDNs the certificate was installed on (several for a multi-server certificate).
    installed_on: tuple[str, ...] = ()

    @property
    def error(self) -> str | None:
        return None if self.ok else self.lines[0]


@dataclass
class NodeQuirks:
    """Behaviours seen on some real nodes only."""

    #: §1.9 [VERIFIED: C-netSSL]: Tomcat's restart returns after `[STARTING]`, up a little later.
    tomcat_never_prints_started: bool = False


@dataclass
class WebSecurity:
    """The subject fields `set web-security` sets for certificates (§1.2)."""

    orgunit: str = "Collaboration"
    orgname: str = "ucterm lab"
    locality: str = "San Jose"
    state: str = "California"
    country: str = "US"
    alternate_hostname: str | None = None


def _fmt(lines: tuple[str, ...], **values: str) -> tuple[str, ...]:
    return tuple(line.format(**values) for line in lines)


class LabNode:
    """A simulated VOS node (see the module docstring for the behaviour it reproduces)."""

    def __init__(self, *, fqdn: str, cluster: LabCluster, role: Role, profile: Profile, clock: LabClock,
                 keys: KeySource, password_auth: bool = True, cert_list_format: Literal["line", "block"] = "line",
                 quirks: NodeQuirks | None = None, zone: tzinfo | None = None,
                 web_security: WebSecurity | None = None, up_since: datetime | None = None) -> None:
        self.fqdn = fqdn
        self._cluster = cluster
        self.role: Role = role
        self.profile = profile
        self.clock = clock
        self.keys = keys
        self.password_auth = password_auth
        self.cert_list_format = cert_list_format
        self.quirks = quirks or NodeQuirks()
        self.zone: tzinfo = zone or _default_zone()
        self.web_security = web_security or WebSecurity()
        self.up_since = up_since or clock.now() - timedelta(days=41, hours=3)
        self.faults = NodeFaults()
        #: Who logs in: VOS gives each node its own platform administrator (the lab's documented
        #: ones unless a test or rehearsal gives the node others, LabEstate.set_credentials).
        self.credentials: LabCredentials = CREDENTIALS
        #: "stopped" before the estate starts, "up", or "down" (see LabEstate.take_down).
        self.state: Literal["stopped", "up", "down"] = "stopped"
        #: Port name -> TCP port on 127.0.0.1, filled in when the estate starts.
        self.ports: dict[str, int] = {}
        #: Port name -> handler for accepted connections (the TLS layer registers these).
        self.port_handlers: dict[str, PortHandler] = {}
        self.rng = random.Random(fqdn)
        self._identity: dict[str, Identity] = {}
        self._served: dict[str, Identity] = {}
        self._csr: dict[str, PendingCsr] = {}
        self._trust: dict[str, dict[str, TrustEntry]] = {s: {} for s in catalog.trust_stores_for(
            self.product, self.vos_version)}
        #: The node's Service Manager (:mod:`ucterm.lab.services`).
        self.service_manager = ServiceManager(
            catalog.services_for(self.product, self.vos_version), product=self.product, profile=lambda: self.profile,
            clock=clock, up_since=self.up_since, node=fqdn, on_started=self._serve_units,
            blocked=self.ha_blocks, tomcat_started_late=lambda: self.quirks.tomcat_never_prints_started)
        cluster.nodes.append(self)  # a node is always a member of its cluster

    # ----------------------------------------------------------------------------------------
    # Identity

    @property
    def cluster(self) -> str:
        return self._cluster.name

    @property
    def cluster_ref(self) -> LabCluster:
        return self._cluster

    @property
    def product(self) -> str:
        return self._cluster.product

    @property
    def version(self) -> str:
        return self._cluster.version

    @property
    def vos_version(self) -> catalog.Version | None:
        return catalog.parse_version(self.version)

    @property
    def hostname(self) -> str:
        return self.fqdn.split(".", 1)[0]

    @property
    def is_publisher(self) -> bool:
        return self.role == "publisher"

    @property
    def units(self) -> tuple[str, ...]:
        return tuple(u.name for u in catalog.units_for(self.product, self.vos_version))

    @property
    def port_names(self) -> tuple[str, ...]:
        return PRODUCT_PORTS[self.product]

    def __repr__(self) -> str:
        return f"LabNode({self.fqdn!r}, {self.product} {self.version}, {self.role})"

    def unit(self, name: str) -> str:
        """The canonical unit name (`callmanager` → `CallManager`); VosError if this node has no such unit."""
        try:
            spec = catalog.unit_spec(name.split("/", 1)[0])
        except KeyError:
            raise VosError(texts.UNKNOWN_UNIT.format(unit=name), texts.COMMAND_FAILED) from None
        if spec.name not in self.units:
            raise VosError(texts.UNKNOWN_UNIT.format(unit=name), texts.COMMAND_FAILED)
        return spec.name

    # ----------------------------------------------------------------------------------------
    # Certificates: reading

    def identity(self, unit: str) -> Identity:
        return self._identity[self.unit(unit)]

    def identities(self) -> dict[str, Identity]:
        return {u: self._identity[u] for u in self.units if u in self._identity}

    def serving_service(self, unit: str) -> str | None:
        return catalog.serving_service(self.product, self.vos_version, self.unit(unit))

    def served_identity(self, unit: str) -> Identity | None:
        """What the unit's TLS endpoint presents now; None while its serving service is not running."""
        name = self.unit(unit)
        service = self.serving_service(name)
        if service is not None and service in self.service_manager and \
                self.service_manager.status_of(service) != "STARTED":
            return None
        return self._served.get(name)

    def served_certificate(self, unit: str) -> x509.Certificate | None:
        identity = self.served_identity(unit)
        return identity.cert if identity else None

    def csr(self, unit: str) -> PendingCsr | None:
        return self._csr.get(self.unit(unit))

    def csrs(self) -> list[PendingCsr]:
        return [self._csr[u] for u in self.units if u in self._csr]

    @property
    def trust_stores(self) -> tuple[str, ...]:
        return tuple(self._trust)

    def trust_entries(self, store: str | None = None) -> list[TrustEntry]:
        stores = [store] if store else list(self._trust)
        return [e for s in stores for _, e in sorted(self._trust.get(s, {}).items())]

    def trust_entry(self, path: str) -> TrustEntry | None:
        store, _, name = path.partition("/")
        return self._trust.get(store, {}).get(name)

    def trust_store_of(self, unit_or_store: str) -> str:
        if unit_or_store.endswith("-trust") and unit_or_store in self._trust:
            return unit_or_store
        return catalog.unit_spec(self.unit(unit_or_store)).trust_store

    # ----------------------------------------------------------------------------------------
    # Certificates: building blocks (also used by the estate builder)

    def install_identity(self, unit: str, identity: Identity) -> None:
        """Install an identity as VOS does after an upload or a regeneration (no checks).

        A self-signed identity is also published to the unit's trust store on every node of the
        cluster (nodes trust each other's self-signed certificates; the trust lists of §1.5 show
        them [INFERRED that every store gets them]), replacing the one the node published before.
        """
        name = self.unit(unit)
        self._identity[name] = identity
        if self.serving_service(name) is None or name not in self._served:
            self._served[name] = identity
        if identity.self_signed:
            store = catalog.unit_spec(name).trust_store
            for node in self._cluster.nodes:
                node._add_trust(store, identity.cert, texts.TRUST_DESCRIPTION_SYSTEM, f"{self.fqdn}/{name}")

    def add_trust(self, store: str, cert: x509.Certificate, description: str = texts.TRUST_DESCRIPTION_IMPORTED,
                  ) -> TrustEntry:
        """Add a certificate to a trust store (replicated per §5.4), without the upload checks."""
        entry = self._add_trust(store, cert, description)
        if store in REPLICATED_TRUST_STORES:
            for node in self._cluster.nodes:
                if node is not self:
                    node._add_trust(store, cert, description)
        return entry

    def _add_trust(self, store: str, cert: x509.Certificate, description: str, origin: str | None = None,
                   ) -> TrustEntry:
        """Store a trust certificate. An upload replaces an older one with the same CN (§5.3); a node's
        own self-signed certificate (`origin` = fqdn/unit) replaces the one it published before."""
        entries = self._trust.setdefault(store, {})
        cn = certs.common_name(cert.subject)
        for name, existing in list(entries.items()):
            if existing.cert == cert:
                return existing
            if origin is not None:
                if existing.origin == origin:
                    del entries[name]
            elif existing.origin is None and certs.common_name(existing.cert.subject) == cn and \
                    existing.cert.not_valid_before_utc <= cert.not_valid_before_utc:
                del entries[name]
        entry = TrustEntry(store, f"{cn.replace(' ', '_')}_{cert.serial_number:x}.pem", cert, description, origin)
        entries[entry.name] = entry
        return entry

    def default_cn(self, unit: str) -> str:
        """The CN VOS gives a unit's single-server certificate [INFERRED from real trust-store names]:
        the FQDN, `<host>-EC.<domain>` for ECDSA units, `CAPF-<id>`, `ITLRECOVERY_<fqdn>`."""
        name = self.unit(unit)
        if name.endswith("-ECDSA"):
            host, _, domain = self.fqdn.partition(".")
            return f"{host}-EC.{domain}"
        if name == "CAPF":
            return f"CAPF-{hashlib.sha256(self.fqdn.encode()).hexdigest()[:8]}"
        if name == "ITLRecovery":
            return f"ITLRECOVERY_{self.fqdn}"
        return self.fqdn

    def _subject(self, cn: str, *, include_ou: bool = True) -> x509.Name:
        ws = self.web_security
        return certs.Subject(cn, ws.orgunit, ws.orgname, ws.locality, ws.state, ws.country).name(
            include_ou=include_ou)

    def default_sans(self, unit: str, multi_server: bool = False) -> list[str]:
        """The SANs VOS fills in for the unit's CSR (the GUI's "Auto-populated Domains"), in order.

        Single-server: this node's FQDN; multi-server: every node of the cluster, and for a CUCM
        tomcat the IM&P nodes of the linked clusters too (§2.1 [VERIFIED: S-SEC14SU2]); cup-xmpp*
        add the presence domains, cup-xmpp-s2s* the group chat alias (§2.2, procedure step 2,
        catalog.auto_populated_sans). The CLI's CSRs carry exactly these; a REST CSR adds its altNames.
        """
        name = self.unit(unit)
        cluster = self._cluster
        members = list(cluster.fqdns())
        if multi_server and self.product == "cucm" and name in ("tomcat", "tomcat-ECDSA"):
            for linked in cluster.linked():
                members += [f for f in linked.fqdns() if f not in members]
        return list(catalog.auto_populated_sans(
            name, multi_server=multi_server, node_fqdn=self.fqdn, cluster_fqdns=tuple(members),
            presence_domains=cluster.presence_domains, group_chat_alias=cluster.group_chat_alias))

    def self_signed_identity(self, unit: str, *, key: PrivateKey | None = None, days: int | None = None,
                             not_before: datetime | None = None, sans: list[str] | None = None) -> Identity:
        """A new self-signed identity for the unit, as `set cert regen` makes (§1.8)."""
        name = self.unit(unit)
        spec = catalog.unit_spec(name)
        key = key or self.keys.fresh(spec.key_algorithm)
        now = self.clock.now()
        start = not_before or now - timedelta(minutes=1)
        if days is None:
            # §6 [VERIFIED: S-RN14]: 14+ defaults TLS certificates to 3 years, ITLRecovery to 20.
            days = 7300 if name == "ITLRecovery" else (1095 if self.vos_version and
                                                        self.vos_version.at_least(14) else 1825)
        names = sans or self.default_sans(name, False)
        if name == "tomcat" and self.web_security.alternate_hostname and sans is None:
            names.append(self.web_security.alternate_hostname)
        cert = certs.self_signed(key, self._subject(self.default_cn(name)), certs.unit_extensions(spec, names),
                                 start, start + timedelta(days=days))
        return Identity(cert, key)

    # ----------------------------------------------------------------------------------------
    # Certificates: operations

    def _check_csr_request(self, name: str, key_type: str | None, key_size: int | None, hash_algorithm: str,
                           multi_server: bool) -> tuple[KeyAlgorithm, int]:
        """The key algorithm and size of a CSR for unit `name`; VosError for what VOS does not offer."""
        spec = catalog.unit_spec(name)
        algorithm: KeyAlgorithm = "EC" if (key_type or spec.key_algorithm).upper() in ("EC", "ECDSA") else "RSA"
        size = key_size or (256 if algorithm == "EC" else 2048)
        if size not in _KEY_SIZES[algorithm] or hash_algorithm.lower() not in certs.HASHES:
            raise VosError(texts.INVALID_KEY.format(key=f"{algorithm} {size} {hash_algorithm}"), texts.COMMAND_FAILED)
        if not certs.hash_signable(hash_algorithm):
            raise VosError(texts.HASH_UNSUPPORTED.format(hash=hash_algorithm.upper()), texts.COMMAND_FAILED)
        if multi_server:
            if not catalog.multi_server_allowed(self.product, self.vos_version, name):
                raise VosError(texts.MULTI_SERVER_UNSUPPORTED.format(unit=name), texts.COMMAND_FAILED)
            if self.product == "cucm" and not self.is_publisher:
                raise VosError(texts.MULTI_SERVER_PUBLISHER.format(unit=name), texts.COMMAND_FAILED)
        return algorithm, size

    async def new_csr_key(self, unit: str, *, key_type: str | None = None, key_size: int | None = None,
                          hash_algorithm: str = "sha256", multi_server: bool = False) -> PrivateKey:
        """A fresh key for the unit's next CSR, made in a worker thread; pass it to generate_csr(key=...).

        Every node of an estate shares one event loop (in `ucterm demo`, with the TUI too), and an
        RSA 3072/4096 key takes up to seconds to generate: made on the loop, it would freeze every
        other node's SSH session and HTTPS API meanwhile. The request is checked first (VosError
        as generate_csr raises it), so a refused CSR costs no key.
        """
        algorithm, size = self._check_csr_request(self.unit(unit), key_type, key_size, hash_algorithm, multi_server)
        return await asyncio.to_thread(self.keys.fresh, algorithm, size)

    def generate_csr(self, unit: str, *, cn: str | None = None, sans: list[str] | None = None,
                     key_type: str | None = None, key_size: int | None = None,
                     hash_algorithm: str = "sha256", multi_server: bool = False,
                     include_ou: bool | None = None, key: PrivateKey | None = None) -> str:
        """Make the unit's CSR (replacing any outstanding one and its key); return its PEM.

        The CLI makes single-server CSRs with the platform defaults (§1.3: RSA 2048 / EC 256,
        SHA-256); the REST API (§4.1) passes CN, SANs, key type (`rsa`/`ec`), size, hash
        (`sha1`…`sha512`; one the crypto library cannot sign with is refused, never replaced by
        another) and `multi_server`. `include_ou` defaults to VOS's behaviour: OU always before
        14SU1, left out from 14SU1 unless asked for (§1.3). Without `key`, the key is made here,
        on the caller's thread: async callers pass one from :meth:`new_csr_key` instead.
        """
        name = self.unit(unit)
        spec = catalog.unit_spec(name)
        algorithm, size = self._check_csr_request(name, key_type, key_size, hash_algorithm, multi_server)
        if include_ou is None:
            include_ou = not catalog.csr_gen_asks_ou(self.vos_version)
        if key is None:
            key = self.keys.fresh(algorithm, size)
        if cn is None:
            anchor = self._cluster.publisher.fqdn if self.product == "cucm" else self.fqdn
            cn = catalog.multi_server_cn(anchor, spec.is_ecdsa) if multi_server else self.default_cn(name)
        names = list(sans) if sans is not None else self.default_sans(name, multi_server)
        try:
            csr = certs.make_csr(key, self._subject(cn, include_ou=include_ou), certs.unit_extensions(spec, names),
                                 hash_algorithm)
        except UnsupportedAlgorithm:  # the probe said yes, the key type says no: refuse all the same
            raise VosError(texts.HASH_UNSUPPORTED.format(hash=hash_algorithm.upper()),
                           texts.COMMAND_FAILED) from None
        self._csr[name] = PendingCsr(name, csr, key, multi_server, self.clock.now())
        return certs.csr_pem(csr)

    def discard_csr(self, unit: str) -> None:
        """Forget the unit's outstanding CSR and its key (as a successful upload does, §5.3)."""
        self._csr.pop(self.unit(unit), None)

    def csr_text(self, unit: str) -> str:
        """The CSR as `show csr own` prints it: 12.5 uses the legacy header (§1.4), wrapped at 64 columns."""
        pending = self.csr(unit)
        if pending is None:
            name = self.unit(unit)
            raise VosError(texts.ERR_CSR_MISSING.format(unit=name), texts.COMMAND_FAILED)
        pem = pending.pem
        if self.vos_version is not None and not self.vos_version.at_least(14):
            pem = pem.replace(texts.CSR_PEM_BEGIN, texts.CSR_PEM_LEGACY_BEGIN).replace(
                texts.CSR_PEM_END, texts.CSR_PEM_LEGACY_END)
        return pem

    def import_identity(self, unit: str, chain_pems: list[str] | str, *, via: Via = "cli",
                        ca_cert: str | None = None) -> ImportResult:
        """Upload an identity certificate (leaf first, then optional CAs) as VOS validates it (§5.3)."""
        try:
            name = self.unit(unit)
        except VosError as exc:
            return ImportResult(False, unit, exc.lines)
        try:
            installed = self._import_identity(name, chain_pems, via, ca_cert)
        except VosError as exc:
            return ImportResult(False, name, exc.lines)
        return ImportResult(True, name, _fmt(texts.IMPORT_SUCCESS, unit=name), installed)

    def _import_identity(self, name: str, chain_pems: list[str] | str, via: Via, ca_cert: str | None,
                         ) -> tuple[str, ...]:
        failed = texts.COMMAND_FAILED
        text = chain_pems if isinstance(chain_pems, str) else "\n".join(chain_pems)
        parsed = certs.load_certs(text)
        if not parsed:
            raise VosError(texts.ERR_UPLOAD_FAILED.format(unit=name), failed)
        leaf = parsed[0]
        pending = self._csr.get(name)
        multi_san = (pending is not None and pending.multi_server) or \
            len(set(certs.sans_of(leaf)) & set(self._cluster.fqdns())) > 1
        if via == "cli" and multi_san and not catalog.cli_accepts_multi_san_upload(self.vos_version):
            raise VosError(texts.ERR_MULTI_SAN_CLI, failed)
        now = self.clock.now()
        if not leaf.not_valid_before_utc <= now <= leaf.not_valid_after_utc:
            raise VosError(texts.ERR_EXPIRED, failed)
        if pending is None:
            raise VosError(texts.ERR_CSR_MISSING.format(unit=name), failed)
        if certs.public_key_bytes(leaf) != certs.public_key_bytes(pending.csr):
            raise VosError(texts.ERR_KEY_MISMATCH, failed)
        if set(certs.sans_of(leaf)) != set(pending.sans):
            raise VosError(texts.ERR_SAN_MISMATCH, failed)
        store = catalog.unit_spec(name).trust_store
        if ca_cert is not None:
            path = ca_cert if "/" in ca_cert else f"{store}/{ca_cert}"
            if self.trust_entry(path) is None:
                raise VosError(texts.ERR_CA_NOT_IN_TRUST, failed)
        chain = self._chain_in_trust(leaf, store)
        if chain is None:
            raise VosError(texts.ERR_CA_NOT_IN_TRUST, failed)
        identity = Identity(leaf, pending.key, tuple(c for c in chain if not certs.is_self_signed(c)),
                            pending.multi_server)
        del self._csr[name]
        self.install_identity(name, identity)
        installed = [self.fqdn]
        if pending.multi_server:
            # §2.1/§2.2 [VERIFIED]: distributed to and installed on every node in the SAN.
            for fqdn in certs.sans_of(leaf):
                node = self._cluster.find_node(fqdn)
                if node is not None and node is not self and name in node.units:
                    node.install_identity(name, identity)
                    installed.append(node.fqdn)
        return tuple(installed)

    def _chain_in_trust(self, leaf: x509.Certificate, store: str) -> list[x509.Certificate] | None:
        """Issuers of `leaf` up to a self-signed root, all found in the trust store; None if a link is missing."""
        now = self.clock.now()
        pool = [e.cert for e in self._trust.get(store, {}).values()
                if e.cert.not_valid_before_utc <= now <= e.cert.not_valid_after_utc]
        chain: list[x509.Certificate] = []
        current = leaf
        for _ in range(8):
            if certs.is_self_signed(current):
                return chain
            issuer = next((c for c in pool if certs.issued_by(current, c)), None)
            if issuer is None:
                return None
            chain.append(issuer)
            current = issuer
        return None

    def import_trust(self, unit_or_store: str, pems: list[str] | str, *, via: Via = "cli",
                     description: str = texts.TRUST_DESCRIPTION_IMPORTED) -> ImportResult:
        """Upload CA certificates into `<unit>-trust` (§1.7); expired ones are refused (§5.3)."""
        failed = texts.COMMAND_FAILED
        try:
            store = self.trust_store_of(unit_or_store)
        except VosError as exc:
            return ImportResult(False, unit_or_store, exc.lines)
        unit = catalog.trust_store_unit(store)
        parsed = certs.load_certs(pems if isinstance(pems, str) else "\n".join(pems))
        if not parsed:
            return ImportResult(False, unit, (texts.ERR_UPLOAD_FAILED.format(unit=unit), failed))
        now = self.clock.now()
        if any(not c.not_valid_before_utc <= now <= c.not_valid_after_utc for c in parsed):
            return ImportResult(False, unit, (texts.ERR_EXPIRED, failed))
        for cert in parsed:
            self.add_trust(store, cert, description)
        targets = self._cluster.nodes if store in REPLICATED_TRUST_STORES else [self]
        return ImportResult(True, unit, _fmt(texts.IMPORT_SUCCESS, unit=unit), tuple(n.fqdn for n in targets))

    def regenerate(self, unit: str) -> tuple[str, ...]:
        """`set cert regen <unit>`: a new key and self-signed certificate, replacing a CA-signed one (§1.8)."""
        name = self.unit(unit)
        self.install_identity(name, self.self_signed_identity(name))
        return _fmt(texts.REGEN_DONE, unit=name)

    def set_web_security(self, orgunit: str, orgname: str, locality: str, state: str,
                         country: str | None = None, alternate_hostname: str | None = None) -> tuple[str, ...]:
        """`set web-security ...`: new subject fields, and a *self-signed* tomcat regenerated (§1.2)."""
        if country is not None and country != self.web_security.country:
            raise VosError(texts.WEB_SECURITY_COUNTRY_FIXED, texts.COMMAND_FAILED)
        self.web_security = WebSecurity(orgunit, orgname, locality, state, self.web_security.country,
                                        alternate_hostname)
        return self.regenerate("tomcat")

    # ----------------------------------------------------------------------------------------
    # Services (the node's Service Manager, :mod:`ucterm.lab.services`)

    def services(self) -> list[Service]:
        return self.service_manager.all()

    def service(self, name: str) -> Service:
        return self.service_manager.get(name)

    def ha_blocks(self, service: str) -> bool:
        """True if restarting `service` now leaves it stuck in STARTING (§3.4, S-IMP-SVC)."""
        prg = self._cluster.prg
        if self.product != "imp" or prg is None or not prg.enabled:
            return False
        return service in _ha_services(self.vos_version)

    def watch_services(self, listener: ServiceListener) -> Callable[[], None]:
        """See :meth:`ServiceManager.watch` (the TLS layer closes a restarted service's connections)."""
        return self.service_manager.watch(listener)

    def cancel_tasks(self) -> None:
        self.service_manager.cancel_tasks()

    def _serve_units(self, service: Service) -> None:
        """`service` reached STARTED: it serves the installed identities of its units from now on."""
        for unit in self.units:
            if self.serving_service(unit) == service.name and unit in self._identity:
                self._served[unit] = self._identity[unit]

    async def restart_service(self, name: str, progress: Progress | None = None) -> RestartResult:
        """`utils service restart <name>`, streaming its status lines through `progress`.

        The restart runs on the node, not in the caller: a session that drops mid-restart does
        not stop it (the Service Manager finishes on its own).
        """
        return await self.service_manager.restart(name, progress)

    async def stop_service(self, name: str, progress: Progress | None = None) -> RestartResult:
        """`utils service stop <name>`: the service becomes `Commanded Out of Service` (on a node task)."""
        return await self.service_manager.stop(name, progress)

    async def start_service(self, name: str, progress: Progress | None = None) -> RestartResult:
        """`utils service start <name>` (on a node task)."""
        return await self.service_manager.start(name, progress)


def _ha_services(version: catalog.Version | None) -> frozenset[str]:
    """The cup/XCP services whose restart HA blocks: those restarted after a cup* renewal (§3.4)."""
    return frozenset(a.service for unit in catalog.HA_UNITS for a in catalog.restart_services("imp", version, unit))


def _default_zone() -> tzinfo:
    """US Pacific, as in the reference's sample dates (§1.6); a fixed PST if tzdata is missing."""
    try:
        from zoneinfo import ZoneInfo

        return ZoneInfo("America/Los_Angeles")
    except Exception:
        from datetime import timezone

        return timezone(timedelta(hours=-8), "PST")
