"""The runner's view of a node: the few operations a renewal needs, over the transport the plan chose.

A thin layer over :class:`ucterm.vos.NodeSession` that opens the session lazily, keeps it for
the whole run (a VOS CLI can take a minute to greet), knows the version the journal learnt
(so a resumed job in a new process still uses REST where the node has it), and turns "which
transport" into one argument instead of an `if` in every step.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from cryptography import x509

from ucterm import catalog, pki
from ucterm.credentials import CredentialStore
from ucterm.errors import UctermError
from ucterm.events import EventSink
from ucterm.inventory import Cluster, Node
from ucterm.renewal.model import CsrRequest
from ucterm.vos import NodeSession, NodeTarget, probe_node_unit
from ucterm.vos.certmgr import CertMgrClient
from ucterm.vos.parsers import HaStatus, RestartResult, ServiceState, WebSecurity


class NodeAccess:
    """One node of the job, with its session opened on first use."""

    def __init__(self, cluster: Cluster, node: Node, credentials: CredentialStore, sink: EventSink | None,
                 version: str | None = None) -> None:
        self.cluster = cluster
        self.node = node
        self.target = NodeTarget.from_inventory(cluster, node)
        if version:
            self.target = replace(self.target, version=catalog.parse_version(version))
        self._credentials = credentials
        self._sink = sink
        self._session: NodeSession | None = None

    @property
    def fqdn(self) -> str:
        return self.node.fqdn

    @property
    def session(self) -> NodeSession:
        if self._session is None:
            self._session = NodeSession(self.target, self._credentials, self._sink)
        return self._session

    def learn_version(self, version: str) -> None:
        """Use a version read from the node (preflight) for every later transport decision."""
        parsed = catalog.parse_version(version)
        if parsed != self.target.version:
            self.target = replace(self.target, version=parsed)
            if self._session is not None:
                self._session.target = self.target

    async def close(self) -> None:
        if self._session is not None:
            session, self._session = self._session, None
            await session.close()

    # ---- reading ---------------------------------------------------------------------------------

    async def version(self) -> str:
        info = await self.session.cli.show_version()
        self.learn_version(info.active)
        return info.active

    async def services(self) -> dict[str, ServiceState]:
        return {s.name.lower(): s for s in await self.session.cli.service_list()}

    async def web_security(self) -> WebSecurity:
        return await self.session.cli.show_web_security()

    async def csr(self, unit: str) -> x509.CertificateSigningRequest | None:
        return await self.session.cli.csr_own(unit)

    def _rest(self) -> CertMgrClient:
        rest = self.session.rest
        if rest is None:
            raise UctermError(f"{self.fqdn}: the plan uses the certmgr REST API but the node's release "
                              f"({self.target.version or 'unknown'}) has none; start a new job.")
        return rest

    async def identity(self, unit: str, transport: str) -> x509.Certificate:
        if transport == "rest":
            return await self._rest().identity(unit)
        return await self.session.cli.cert_own(unit)

    async def trust(self, store: str, transport: str) -> list[x509.Certificate]:
        """The CA certificates in a trust store (`tomcat-trust`)."""
        unit = catalog.trust_store_unit(store)
        if transport == "rest":
            return await self._rest().trust(unit)
        cli = self.session.cli
        out: list[x509.Certificate] = []
        for entry in await cli.list_certs("trust"):
            if entry.unit_or_store.lower() == store.lower():
                out.append(await cli.cert_trust(f"{entry.unit_or_store}/{entry.file}"))
        return out

    async def ha_status(self) -> list[HaStatus]:
        return await self.session.cli.ha_status()

    async def served(self, unit: str, timeout: float = 5.0) -> list[Any]:
        """What the node's TLS endpoints for `unit` present (ProbeResult per port)."""
        return await probe_node_unit(self.target, unit, timeout=timeout)

    # ---- changing ------------------------------------------------------------------------------

    async def generate_csr(self, unit: str, transport: str, req: CsrRequest, *, multi_server: bool,
                           include_ou: bool, key_length: int) -> x509.CertificateSigningRequest:
        if transport == "rest":
            spec = catalog.unit_spec(unit)
            return await self._rest().generate_csr(
                unit, distribution=catalog.REST_DISTRIBUTION[multi_server],  # type: ignore[arg-type]
                common_name=req.common_name, alt_names=list(req.alt_names),
                key_type="ec" if spec.is_ecdsa else "rsa", key_length=256 if spec.is_ecdsa else key_length)
        await self.session.cli.generate_csr(unit, include_ou=include_ou)
        csr = await self.session.cli.csr_own(unit)
        if csr is None:
            raise UctermError(f"{self.fqdn}: `set csr gen {unit}` reported success but `show csr own {unit}` "
                              "shows no CSR; check the node and retry the step.")
        return csr

    async def import_trust(self, store: str, pem: str, transport: str, description: str) -> None:
        unit = catalog.trust_store_unit(store)
        if transport == "rest":
            await self._rest().upload_trust([unit], [pem], description)
        else:
            await self.session.cli.import_trust(unit, pem)

    async def import_identity(self, unit: str, chain: list[x509.Certificate], transport: str) -> None:
        """The leaf (and, over REST, its intermediates) into `<unit>`; the CLI takes the leaf alone."""
        if transport == "rest":
            await self._rest().upload_identity(unit, [pki.pem(c) for c in chain])
        else:
            await self.session.cli.import_own(unit, pki.pem(chain[0]))

    async def restart(self, service: str, timeout: float) -> RestartResult:
        return await self.session.cli.restart_service(service, timeout)
