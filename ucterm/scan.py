"""Estate scan: every certificate on every node of every cluster, read concurrently.

The question behind it is the administrator's Monday question: which certificates, on which
nodes of which clusters, expire when, and which of them break phones, Jabber or federation.
So each node is read in full (every identity unit and every trust store, over the certmgr REST
API on v14+ or the CLI otherwise) and its TLS ports are probed to see what it actually serves,
which also works when no credentials are at hand.

Shape of the work:

- one SSH session per node, at most `concurrency` nodes at a time (VOS CLIs are slow: a session
  spends most of its life waiting for the banner and for `show cert` output, so many in flight
  is what makes a hundred-node estate finish in minutes);
- the TLS probe runs beside the session, not after it;
- a node that cannot be read (down, login refused, unknown host key, no credentials) becomes a
  state of that node with its reason, never an exception out of the scan;
- discovery (`show network cluster` on the publisher, `show version active` on every node) fills
  in roles and versions the inventory leaves out and says where the inventory disagrees
  (:mod:`ucterm.scan_discovery`).

The engine never prints: it reports :class:`ScanProgress` and :class:`NodeScanned` events.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING

from cryptography import x509

from ucterm import catalog, pki
from ucterm.credentials import CredentialStore, password_what
from ucterm.errors import CredentialError, UctermError
from ucterm.events import Event, EventSink, emit, utcnow
from ucterm.inventory import Cluster, Inventory, Node
from ucterm.scan_discovery import NodeScan, reconcile
from ucterm.scan_model import CertRecord, NodeResult, ScanResult, Source, classify, days_left, renewal_due

if TYPE_CHECKING:  # the appliance side is imported when a scan runs, not when the TUI starts
    from ucterm.vos.certmgr import CertMgrClient
    from ucterm.vos.commands import VosCli
    from ucterm.vos.parsers import CertListEntry, ClusterNode
    from ucterm.vos.probe import ProbeResult
    from ucterm.vos.session import NodeSession

__all__ = [
    "NodeScan",
    "NodeScanned",
    "ScanProgress",
    "scan_estate",
    "scan_node",
    "selected_clusters",
    "thresholds_for",
    "warm_credentials",
]


# --------------------------------------------------------------------------------------------
# Events


@dataclass(frozen=True)
class ScanProgress(Event):
    """A node of `cluster` moved on; `done`/`total` count that cluster's nodes (per-cluster indicator)."""

    cluster: str
    node: str
    done: int
    total: int
    message: str


@dataclass(frozen=True)
class NodeScanned(Event):
    """A node is finished (read, partly read or failed); its rows come along for live tables."""

    result: NodeResult
    certificates: tuple[CertRecord, ...] = ()


# --------------------------------------------------------------------------------------------
# Selection, thresholds, credentials


def selected_clusters(inventory: Inventory, names: Sequence[str] | None) -> tuple[Cluster, ...]:
    """The clusters to scan, in inventory order; an unknown name is an InventoryError naming it."""
    if not names:
        return inventory.clusters
    wanted = list(dict.fromkeys(names))
    for name in wanted:
        inventory.cluster(name)  # raises with the list of known clusters
    return tuple(c for c in inventory.clusters if c.name in wanted)


def thresholds_for(cluster: Cluster, warn_days: int | None, crit_days: int | None) -> tuple[int, int]:
    """(warn, crit): the command line overrides the cluster's settings, which override the defaults."""
    warn = cluster.settings.warn_days if warn_days is None else warn_days
    crit = cluster.settings.crit_days if crit_days is None else crit_days
    if crit_days is None:
        # `--warn-days 7` on a cluster with crit_days 14: critical stays inside warning
        crit = min(crit, warn)
    return warn, crit


def warm_credentials(inventory: Inventory, credentials: CredentialStore,
                     clusters: Sequence[str] | None = None) -> None:
    """Resolve each cluster's OS password once, up front, so `prompt` asks before the scan starts.

    Failures are left for the scan itself: it records the node as `partial` with the reason.
    """
    for cluster in selected_clusters(inventory, clusters):
        try:
            credentials.resolve(cluster.settings.os_password, what=password_what("os_password", cluster.name))
        except CredentialError:
            continue


# --------------------------------------------------------------------------------------------
# Rows


@dataclass(frozen=True)
class RecordMaker:
    """Builds CertRecords for one node with the cluster's thresholds and one fixed `now` (the scan's,
    and the renewal survey's: one way to turn a certificate into a row)."""

    cluster: str
    node: str
    warn: int
    crit: int
    now: datetime

    def record(self, cert: x509.Certificate, *, unit: str, store: str, source: Source,
               file: str | None = None) -> CertRecord:
        s = pki.summarise(cert, self.now)
        left = days_left(s.not_after, self.now)
        return CertRecord(
            cluster=self.cluster, node=self.node, unit=unit, store=store, subject_cn=s.subject_cn,
            issuer_cn=s.issuer_cn, sans=(*s.sans_dns, *s.sans_ip), serial=s.serial_hex,
            not_before=s.not_before, not_after=s.not_after, days_left=left,
            status=classify(left, warn_days=self.warn, crit_days=self.crit), self_signed=s.self_signed,
            fingerprint_sha256=s.sha256, source=source,
            renewal_due=renewal_due(s.not_before, s.not_after, self.now), file=file, pem=pki.pem(cert))


# --------------------------------------------------------------------------------------------
# TLS probe


@dataclass
class _Served:
    """What a node's TLS endpoints present, by unit."""

    certs: dict[str, x509.Certificate] = field(default_factory=dict)
    fingerprints: dict[str, str] = field(default_factory=dict)
    answered: bool = False
    errors: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)


def _probe(address: str, port: int, **kwargs: object) -> Awaitable[ProbeResult]:
    """One TLS probe (an indirection so that tests can stand in for the network)."""
    from ucterm.vos.probe import probe

    return probe(address, port, **kwargs)  # type: ignore[arg-type]


async def _probe_node(cluster: Cluster, node: Node, version: catalog.Version | None) -> _Served:
    """Handshake once with every port that serves a unit's certificate and keep the leaf per unit.

    Ports are probed once each even when several names share a number (certmgr REST and the web
    GUI on one port, as in the lab), and the chain is not verified: expiry of what is served is
    the question here, trust is `ucterm check`'s and the renewal's.
    """
    served = _Served()
    by_port: dict[int, tuple[str, list[str]]] = {}
    for spec in catalog.units_for(cluster.product, version):
        for port_name in spec.served_on:
            port = node.port(port_name)
            units = by_port.setdefault(port, (port_name, []))[1]
            if spec.name not in units:
                units.append(spec.name)
    domain = cluster.presence_domains[0] if cluster.presence_domains else node.fqdn.partition(".")[2]
    domain = domain or node.fqdn
    timeout = min(10.0, cluster.settings.command_timeout)
    ports = list(by_port.items())
    from ucterm.vos.probe import PORT_KINDS  # port name → TLS or XMPP STARTTLS (§2.2)

    results = await asyncio.gather(*(
        _probe(node.address, port, sni=node.fqdn, kind=PORT_KINDS[name],
               xmpp_domain=None if PORT_KINDS[name] == "tls" else domain, timeout=timeout,
               verify_bundle=None)
        for port, (name, _) in ports), return_exceptions=True)
    for (port, (port_name, units)), res in zip(ports, results, strict=True):
        if isinstance(res, BaseException):
            if not isinstance(res, Exception):
                raise res
            served.errors.append(f"{port_name} port {port}: {res}")
            continue
        if not res.ok or not res.chain:
            served.errors.append(f"{port_name} port {port}: {res.error or 'no certificate'}")
            continue
        served.answered = True
        leaf = res.chain[0]
        fp = pki.sha256_hex(leaf)
        for unit in units:
            known = served.fingerprints.get(unit)
            if known is None:
                served.certs[unit] = leaf
                served.fingerprints[unit] = fp
            elif known != fp:
                served.notes.append(f"{unit}: port {port} ({port_name}) serves another certificate "
                                    f"({fp[:16]}…) than its other port ({known[:16]}…)")
    return served


# --------------------------------------------------------------------------------------------
# Reading one node over SSH / REST


@dataclass
class _Read:
    """What a session read; filled as it goes so a failure keeps what was already read."""

    version: str | None = None
    members: tuple[ClusterNode, ...] | None = None
    records: list[CertRecord] = field(default_factory=list)
    failures: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    connected: bool = False


Report = Callable[[str], Awaitable[None]]


async def _read_node(cluster: Cluster, node: Node, credentials: CredentialStore, sink: EventSink | None,
                     rows: RecordMaker, read: _Read, *, discover: bool, report: Report,
                     share: TrustShare | None = None) -> None:
    """Use the node's one session to read its version, membership and every certificate.

    The session connects on its first command, so login and host-key failures surface from
    `show version active`; they propagate to the caller, which turns them into the node's state.
    """
    async with _session(cluster, node, credentials, sink) as session:
        cli = session.cli
        try:
            info = await cli.show_version()
            read.version = info.active
        except (UctermError, ValueError) as exc:
            if _fatal(exc):
                raise
            read.notes.append(f"`show version active` failed: {_strip_node(exc, node)}")
        read.connected = True
        if discover:
            try:
                read.members = tuple(await cli.show_network_cluster())
            except (UctermError, ValueError) as exc:
                if _fatal(exc):
                    raise
                read.notes.append(f"`show network cluster` failed: {_strip_node(exc, node)}")
        # The lists are the authority on what the node holds, whichever transport reads the PEMs.
        own = await cli.list_certs("own")
        trust = await cli.list_certs("trust")
        version = catalog.parse_version(read.version)
        if version is not None:
            listed = {e.unit_or_store.lower() for e in own}
            missing = [u.name for u in catalog.units_for(cluster.product, version) if u.name.lower() not in listed]
            if missing:
                read.notes.append(f"`show cert list own` lists no {', '.join(missing)} certificate, which "
                                  f"{catalog.PRODUCT_NAMES.get(cluster.product, cluster.product)} {version.label} has")
        own_left, trust_left = own, trust
        if _wants_rest(session, read):
            await report(f"reading {len(own) + len(trust)} certificates over the REST API")
            try:
                own_left, trust_left = await _read_rest(session.rest, own, trust, read, rows)
            except CredentialError:
                raise
            except UctermError as exc:
                # REST is an optimisation here: any failure (TLS trust, HTTP error, refused user)
                # leaves the CLI, which every release has.
                read.records.clear()
                read.notes.append(f"the certmgr REST API failed ({_strip_node(exc, node)}); "
                                  "read over the CLI instead")
                own_left, trust_left = own, trust
        if own_left or trust_left:
            await report(f"reading {len(own_left) + len(trust_left)} certificates over the CLI")
        await _read_own_cli(cli, own_left, read, rows)
        await _read_trust_cli(cli, trust_left, read, rows, share, wait=cluster.settings.command_timeout)


def _strip_node(exc: BaseException, node: Node) -> str:
    text = str(exc)
    prefix = f"{node.fqdn}: "
    return text[len(prefix):] if text.startswith(prefix) else text


def _session(cluster: Cluster, node: Node, credentials: CredentialStore,
             sink: EventSink | None) -> NodeSession:
    """The node's session (an indirection so that tests can stand in for the appliance)."""
    from ucterm.vos.session import NodeSession, NodeTarget

    return NodeSession(NodeTarget.from_inventory(cluster, node), credentials, sink)


def _fatal(exc: BaseException) -> bool:
    """Whether the session is unusable after `exc` (stop reading this node), or only one command failed.

    A command that printed something unexpected (VosCommandError) or a certificate that does not
    parse costs one certificate; a dropped session, a timeout (the shell may be stuck), a refused
    login or an unknown host key end the node's read, and the caller records why.
    """
    from ucterm.pki import PkiError
    from ucterm.vos.errors import RestError, VosCommandError

    return not isinstance(exc, VosCommandError | RestError | PkiError | ValueError)


def _wants_rest(session: NodeSession, read: _Read) -> bool:
    """REST for reading when the session's transport choice says so (v14+, `auto` or `rest`)."""
    from ucterm.vos.errors import UnsupportedOperation

    try:
        choice = session.transport_for("read") if hasattr(session, "transport_for") else (
            "rest" if session.rest is not None else "cli")  # stand-ins in tests may not choose
    except UnsupportedOperation as exc:
        read.notes.append(f"{exc} The CLI was used instead.")
        return False
    return choice == "rest" and session.rest is not None


def _rest_service(store: str) -> str:
    """The `service` to ask certmgr for a trust store: the unit's name (`tomcat` for tomcat-trust,
    §4.1 [VERIFIED: C-netSSL]), or the store's own name for stores that belong to no unit."""
    if any(spec.trust_store == store for spec in catalog.UNITS.values()):
        return catalog.trust_store_unit(store)
    return store


async def _read_rest(rest: CertMgrClient | None, own: Sequence[CertListEntry], trust: Sequence[CertListEntry],
                     read: _Read, rows: RecordMaker) -> tuple[list[CertListEntry], list[CertListEntry]]:
    """Read what the lists name over certmgr (§4.1); return what the CLI must read instead.

    A unit or store the API refuses (400/404: not known to it) and a store whose REST answer
    does not hold as many certificates as `show cert list trust` names go to the CLI, so that
    a gap in the API never becomes a gap in the scan. Other errors raise (the caller falls
    back to the CLI for everything).
    """
    from ucterm.vos.errors import RestError

    assert rest is not None
    own_left: list[CertListEntry] = []
    for entry in own:
        unit = entry.unit_or_store
        try:
            cert = await rest.identity(unit)
        except RestError as exc:
            if exc.status in (400, 404):
                own_left.append(entry)
                continue
            raise
        read.records.append(rows.record(cert, unit=unit, store="own", source="rest", file=f"{unit}/{entry.file}"))
    by_store: dict[str, list[CertListEntry]] = {}
    for entry in trust:
        by_store.setdefault(entry.unit_or_store, []).append(entry)
    trust_left: list[CertListEntry] = []
    for store, entries in by_store.items():
        try:
            certs = await rest.trust(_rest_service(store))
        except RestError as exc:
            if exc.status in (400, 404):
                trust_left.extend(entries)
                continue
            raise
        if len(certs) != len(entries):
            read.notes.append(f"certmgr returned {len(certs)} certificates for {store}, `show cert list trust` "
                              f"names {len(entries)}; {store} was read over the CLI")
            trust_left.extend(entries)
            continue
        for cert in certs:
            read.records.append(rows.record(cert, unit=catalog.trust_store_unit(store), store=store,
                                            source="rest"))
    return own_left, trust_left


class TrustShare:
    """Trust certificates read once per cluster instead of once per node.

    Trust stores replicate across a cluster (§5.4), so the same `<store>/<file>` with the same
    description appears in every node's `show cert list trust`; printing each copy costs one
    CLI round trip per node (most of a CLI scan's time). The first node to reach an entry reads
    it, and the others take its result. Nodes first read the entries no one has claimed and only
    then wait for the rest, so a cluster's nodes split the work instead of queueing behind one.
    A failed or slow read is never inherited: the waiting node reads the entry itself.
    """

    def __init__(self) -> None:
        self._entries: dict[tuple[str, str, str], asyncio.Future[x509.Certificate | None]] = {}

    def claim(self, key: tuple[str, str, str]) -> bool:
        """True when this caller is the first to reach the entry (it must then `release` it)."""
        if key in self._entries:
            return False
        self._entries[key] = asyncio.get_running_loop().create_future()
        return True

    def release(self, key: tuple[str, str, str], cert: x509.Certificate | None) -> None:
        future = self._entries.get(key)
        if cert is None:
            self._entries.pop(key, None)  # a later node reads it itself
        if future is not None and not future.done():
            future.set_result(cert)

    async def wait(self, key: tuple[str, str, str], timeout: float) -> x509.Certificate | None:
        future = self._entries.get(key)
        if future is None:
            return None
        try:
            return await asyncio.wait_for(asyncio.shield(future), timeout)
        except TimeoutError:
            return None


async def _read_own_cli(cli: VosCli, entries: Sequence[CertListEntry], read: _Read, rows: RecordMaker) -> None:
    """`show cert own <unit>` for each listed identity (§1.6)."""
    for entry in entries:
        unit = entry.unit_or_store
        try:
            cert = await cli.cert_own(unit)
        except (UctermError, ValueError) as exc:
            if _fatal(exc):
                raise
            read.failures.append(f"{unit}: {exc}")
            continue
        read.records.append(rows.record(cert, unit=unit, store="own", source="cli", file=f"{unit}/{entry.file}"))


async def _read_trust_cli(cli: VosCli, entries: Sequence[CertListEntry], read: _Read, rows: RecordMaker,
                          share: TrustShare | None = None, wait: float = 120.0) -> None:
    """`show cert trust <store>/<file>` for each listed trust certificate (§1.6), shared per cluster."""

    async def trust_cert(path: str) -> x509.Certificate | None:
        try:
            cert: x509.Certificate = await cli.cert_trust(path)
            return cert
        except (UctermError, ValueError) as exc:
            if _fatal(exc):
                raise
            read.failures.append(f"{path}: {exc}")
            return None

    found: dict[str, x509.Certificate | None] = {}
    deferred: list[tuple[str, tuple[str, str, str]]] = []
    for entry in entries:
        path = f"{entry.unit_or_store}/{entry.file}"
        key = (entry.unit_or_store, entry.file, entry.description)
        if share is not None and not share.claim(key):
            deferred.append((path, key))
            continue
        cert = None
        try:
            cert = await trust_cert(path)
        finally:
            if share is not None:
                share.release(key, cert)
        found[path] = cert
    for path, key in deferred:
        cert = await share.wait(key, wait) if share is not None else None
        found[path] = cert if cert is not None else await trust_cert(path)
    for entry in entries:
        path = f"{entry.unit_or_store}/{entry.file}"
        cert = found.get(path)
        if cert is not None:
            read.records.append(rows.record(cert, unit=catalog.trust_store_unit(entry.unit_or_store),
                                            store=entry.unit_or_store, source="cli", file=path))


# --------------------------------------------------------------------------------------------
# One node


async def scan_node(cluster: Cluster, node: Node, credentials: CredentialStore, *,
                    sink: EventSink | None = None, warn_days: int | None = None,
                    crit_days: int | None = None, probe: bool = True, now: datetime | None = None,
                    discover: bool | None = None) -> NodeScan:
    """Read one node in full (the TUI's single-node refresh); never raises for the node's own failures.

    `discover` asks `show network cluster` (default: on the publisher only).
    """
    total = 1

    async def report(message: str) -> None:
        await emit(sink, ScanProgress(cluster.name, node.fqdn, 0, total, message))

    scan = await _scan_node(cluster, node, credentials, sink=sink, warn_days=warn_days, crit_days=crit_days,
                            probe=probe, now=now or utcnow(),
                            discover=node.is_publisher if discover is None else discover, report=report)
    await emit(sink, ScanProgress(cluster.name, node.fqdn, 1, total, _final_message(scan.result)))
    await emit(sink, NodeScanned(scan.result, scan.certificates))
    return scan


async def _scan_node(cluster: Cluster, node: Node, credentials: CredentialStore, *, sink: EventSink | None,
                     warn_days: int | None, crit_days: int | None, probe: bool, now: datetime,
                     discover: bool, report: Report, share: TrustShare | None = None) -> NodeScan:
    warn, crit = thresholds_for(cluster, warn_days, crit_days)
    rows = RecordMaker(cluster.name, node.fqdn, warn, crit, now)
    await report("connecting")
    probe_task = (asyncio.create_task(_probe_node(cluster, node, cluster.node_version(node)))
                  if probe else None)
    try:
        read, state, error, fingerprint = await _read_with_retry(cluster, node, credentials, sink, rows,
                                                                 discover=discover, report=report, share=share)
        if probe_task is not None:
            await report("probing TLS ports")
        served = await probe_task if probe_task is not None else _Served()
    finally:
        if probe_task is not None and not probe_task.done():
            probe_task.cancel()
    if state == "ok" and read.failures:
        state = "partial"
        error = (f"{node.fqdn}: {len(read.failures)} certificate(s) could not be read: "
                 + "; ".join(read.failures))
    version = read.version or node.version or cluster.version
    records = list(read.records)
    notes = [*read.notes, *served.notes]
    installed = {r.unit: r.fingerprint_sha256 for r in records if r.store == "own"}
    for unit, cert in served.certs.items():
        if installed.get(unit) == served.fingerprints[unit]:
            continue
        # Not read (no session) or not the installed one (uploaded, service not restarted): either
        # way the served certificate is what clients see, so it gets its own row.
        records.append(rows.record(cert, unit=unit, store="own", source="tls"))
        if unit in installed:
            service = catalog.serving_service(cluster.product, catalog.parse_version(version), unit)
            notes.append(f"{unit}: the TLS port serves another certificate than the installed one; "
                         f"restart {service or 'the service that presents it'} to present the new one")
    if state == "ok" and not read.records:
        notes.append("the node listed no certificates")
    if state == "unreachable" and served.answered:
        state = "partial"
    if state == "partial":
        # The probe is most of what is known about such a node: say which endpoints did not answer.
        notes.extend(f"TLS probe of {e}" for e in served.errors)
    # `reachable` means "could be read" (the JSON contract's sense, and what the TUI lists as down):
    # a refused login or an unknown host key is not reachable; a node whose TLS ports answered is.
    reachable = read.connected or (state == "partial" and served.answered)
    result = NodeResult(
        cluster=cluster.name, node=node.fqdn, product=cluster.product,
        role=node.role or ("publisher" if node.is_publisher else None), version=version, reachable=reachable,
        error=error, served=dict(served.fingerprints), notes=tuple(dict.fromkeys(notes)), state=state,
        host_key_fingerprint=fingerprint)
    return NodeScan(result, tuple(records), read.members)


async def _read_with_retry(cluster: Cluster, node: Node, credentials: CredentialStore, sink: EventSink | None,
                           rows: RecordMaker, *, discover: bool, report: Report,
                           share: TrustShare | None) -> tuple[_Read, str, str | None, str | None]:
    """Read the node, retrying once after a dropped session; map every failure to a node state.

    Returns (what was read, state, error sentence, host key fingerprint). Reads are idempotent,
    so one fresh session is worth a try before calling the node partial.
    """
    from ucterm.vos.errors import HostKeyChanged, HostKeyUnknown, LoginRefused, SessionDropped

    read = _Read()
    for attempt in (1, 2):
        read = _Read()
        try:
            await _read_node(cluster, node, credentials, sink, rows, read, discover=discover, report=report,
                             share=share)
            return read, "ok", None, None
        except SessionDropped as exc:
            if attempt == 1 and read.connected:
                await report("session dropped; reconnecting")
                continue
            return read, "partial" if read.connected else "unreachable", str(exc), None
        except CredentialError as exc:
            return read, "partial", f"{exc} Only the TLS probe ran.", None
        except HostKeyUnknown as exc:
            return read, "host-key-unknown", str(exc), exc.fingerprint_sha256
        except HostKeyChanged as exc:
            return read, "host-key-changed", str(exc), None
        except LoginRefused as exc:
            return read, "login-refused", str(exc), None
        except UctermError as exc:  # Unreachable, timeouts, anything else the session reports
            return read, "partial" if read.connected else "unreachable", str(exc), None
        except (TimeoutError, OSError) as exc:
            return read, "partial" if read.connected else "unreachable", \
                f"{node.fqdn}: {type(exc).__name__}: {exc or 'no detail'}.", None
        except Exception as exc:  # a bug must cost one node, not the estate scan
            return read, "partial" if read.connected else "unreachable", \
                (f"{node.fqdn}: the scan failed unexpectedly ({type(exc).__name__}: {exc}); the other nodes "
                 "were scanned: please report this."), None
    return read, "partial", f"{node.fqdn}: the session dropped twice.", None


def _final_message(result: NodeResult) -> str:
    return "done" if result.state == "ok" else result.state.replace("-", " ")


# --------------------------------------------------------------------------------------------
# The estate


async def scan_estate(inventory: Inventory, credentials: CredentialStore, *, sink: EventSink | None = None,
                      warn_days: int | None = None, crit_days: int | None = None,
                      clusters: Sequence[str] | None = None, probe: bool = True, concurrency: int = 16,
                      now: datetime | None = None, share_trust: bool = True) -> ScanResult:
    """Scan every node of the chosen clusters, at most `concurrency` at a time, and merge discovery.

    Thresholds: `warn_days`/`crit_days` (the command line) override each cluster's settings,
    which override the inventory defaults; the result records the ones each cluster used.
    `share_trust` reads each replicated trust certificate once per cluster (see TrustShare);
    the benchmark turns it off to compare with the naive scan.
    """
    if concurrency < 1:
        raise ValueError(f"the scan concurrency is {concurrency}; use 1 or more")
    chosen = selected_clusters(inventory, clusters)
    moment = now or utcnow()
    gate = asyncio.Semaphore(concurrency)
    done: dict[str, int] = {c.name: 0 for c in chosen}
    shares: dict[str, TrustShare | None] = {c.name: TrustShare() if share_trust else None for c in chosen}
    totals: dict[str, int] = {c.name: len(c.nodes) for c in chosen}

    async def one(cluster: Cluster, node: Node) -> NodeScan:
        async def report(message: str) -> None:
            await emit(sink, ScanProgress(cluster.name, node.fqdn, done[cluster.name], totals[cluster.name],
                                          message))

        async with gate:
            scan = await _scan_node(cluster, node, credentials, sink=sink, warn_days=warn_days,
                                    crit_days=crit_days, probe=probe, now=moment,
                                    discover=node.is_publisher, report=report, share=shares[cluster.name])
        done[cluster.name] += 1
        await emit(sink, ScanProgress(cluster.name, node.fqdn, done[cluster.name], totals[cluster.name],
                                      _final_message(scan.result)))
        await emit(sink, NodeScanned(scan.result, scan.certificates))
        return scan

    order = [(c, n) for c in chosen for n in c.ordered_nodes()]
    scans = await asyncio.gather(*(one(c, n) for c, n in order))
    nodes: list[NodeResult] = []
    certs: list[CertRecord] = []
    by_cluster: dict[str, list[NodeScan]] = {}
    for (cluster, _), scan in zip(order, scans, strict=True):
        by_cluster.setdefault(cluster.name, []).append(scan)
    for cluster in chosen:
        for scan in reconcile(cluster, by_cluster.get(cluster.name, []), inventory):
            nodes.append(scan.result)
            certs.extend(scan.certificates)
    thresholds = {c.name: thresholds_for(c, warn_days, crit_days) for c in chosen}
    overall_warn = inventory.defaults.warn_days if warn_days is None else warn_days
    overall_crit = inventory.defaults.crit_days if crit_days is None else crit_days
    return ScanResult(generated_at=moment, nodes=tuple(nodes), certificates=tuple(certs),
                      warn_days=overall_warn, crit_days=overall_crit, thresholds=thresholds)
