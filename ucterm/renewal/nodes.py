"""The runner's view of a node: the few operations a renewal needs, over the transport the plan chose.

A thin layer over :class:`ucterm.vos.NodeSession` that opens the session lazily, keeps it for
the whole run (a VOS CLI can take a minute to greet), knows the version the journal learnt
(so a resumed job in a new process still uses REST where the node has it), and turns "which
transport" into one argument instead of an `if` in every step.

A :class:`NodePool` keeps the accesses of several pieces of work that follow one another on the
same nodes (the survey before a plan, then the job; the jobs of one cluster in a batch), so that
each node greets ucterm once: on real appliances a CLI login alone takes 10-60 s (§1.1). Whoever
uses an access points its events at itself (:meth:`NodeAccess.report_to`).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import replace
from typing import Any, cast

from cryptography import x509

from ucterm import catalog, pki
from ucterm.credentials import CredentialStore, ObservedCredentials
from ucterm.errors import UctermError
from ucterm.events import Event, EventSink, emit
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
            self._session = NodeSession(self.target, self._credentials, self._forward)
        return self._session

    async def _forward(self, event: Event) -> None:
        """The session's sink: whatever `report_to` names now (the session keeps this one for its life)."""
        await emit(self._sink, event)

    def report_to(self, sink: EventSink | None) -> None:
        """Send this node's transcript and notices to `sink` from now on (the next user of a pooled access)."""
        self._sink = sink

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


class NodePool:
    """Node accesses shared by work that follows one another (see the module docstring).

    The pool owns its sessions: a runner given a pool leaves them open for the next user, and
    the pool's owner closes them (:meth:`close`). Every secret a pooled session resolves reaches
    the redactor of every job using the pool (:meth:`listen`), also one logged in before the job
    existed: the second belt after the transcript's own redaction.
    """

    def __init__(self, credentials: CredentialStore) -> None:
        self._seen: set[str] = set()
        self._listeners: list[Callable[[str], None]] = []
        self.credentials = cast(CredentialStore, ObservedCredentials(credentials, self._saw))
        self._accesses: dict[str, NodeAccess] = {}

    def _saw(self, secret: str) -> None:
        self._seen.add(secret)
        for listener in self._listeners:
            listener(secret)

    def listen(self, listener: Callable[[str], None]) -> None:
        """Hand `listener` every secret the pool's sessions resolved so far and resolve from now on (a
        job's redactor)."""
        self._listeners.append(listener)
        for secret in self._seen:
            listener(secret)

    def access(self, cluster: Cluster, node: Node, version: str | None = None) -> NodeAccess:
        key = node.fqdn.lower()
        found = self._accesses.get(key)
        if found is None:
            found = self._accesses[key] = NodeAccess(cluster, node, self.credentials, None, version)
        elif version:
            found.learn_version(version)
        return found

    def __iter__(self) -> Iterator[NodeAccess]:
        return iter(list(self._accesses.values()))

    def forget(self, fqdn: str) -> None:
        """Drop a node whose session should not be reused (it failed its survey)."""
        self._accesses.pop(fqdn.lower(), None)

    async def close(self, *, when: Callable[[NodeAccess], bool] | None = None) -> None:
        for key, access in list(self._accesses.items()):
            if when is None or when(access):
                self._accesses.pop(key, None)
                try:
                    await access.close()
                except Exception:  # best effort: nothing left to tell anybody about a closing session
                    continue
