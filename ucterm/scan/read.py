"""Reading one node's certificates over its session: the CLI lists, then certmgr REST or the CLI.

The lists (`show cert list own|trust`) are the authority on what a node holds; the PEMs come
from certmgr on v14+ (one request per unit or store) or from `show cert own|trust` otherwise.
Everything read is kept in a :class:`NodeRead` as it arrives, so a failure keeps what was
already read.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from cryptography import x509

from ucterm import catalog
from ucterm.credentials import CredentialStore
from ucterm.errors import CredentialError, UctermError
from ucterm.events import EventSink
from ucterm.inventory import Cluster, Node
from ucterm.scan.model import CertRecord
from ucterm.scan.rows import RecordMaker
from ucterm.scan.share import TrustShare

if TYPE_CHECKING:  # the appliance side is imported when a scan runs, not when the TUI starts
    from ucterm.vos.certmgr import CertMgrClient
    from ucterm.vos.commands import VosCli
    from ucterm.vos.parsers import CertListEntry, ClusterNode
    from ucterm.vos.session import NodeSession

__all__ = ["NodeRead", "Report", "read_node"]


@dataclass
class NodeRead:
    """What a session read; filled as it goes so a failure keeps what was already read."""

    version: str | None = None
    members: tuple[ClusterNode, ...] | None = None
    records: list[CertRecord] = field(default_factory=list)
    failures: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    connected: bool = False
    #: The SSH host key the session verified (or accepted on first use, `host_key_accepted`).
    host_key_fingerprint: str | None = None
    host_key_accepted: bool = False


Report = Callable[[str], Awaitable[None]]


async def read_node(cluster: Cluster, node: Node, credentials: CredentialStore, sink: EventSink | None,
                     rows: RecordMaker, read: NodeRead, *, discover: bool, report: Report,
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
        finally:
            _note_host_key(session, read)
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
        await _read_trust_cli(cli, trust_left, read, rows, share, wait=cluster.settings_for(node).command_timeout)


def _note_host_key(session: NodeSession, read: NodeRead) -> None:
    """The host key the login verified or accepted, also when the login failed after accepting it."""
    shell = getattr(session, "shell", None)  # stand-ins in tests may have no shell
    read.host_key_fingerprint = getattr(shell, "host_key_fingerprint", None)
    read.host_key_accepted = read.host_key_accepted or bool(getattr(shell, "host_key_accepted", False))


def _strip_node(exc: BaseException, node: Node) -> str:
    text = str(exc)
    prefix = f"{node.fqdn}: "
    return text[len(prefix):] if text.startswith(prefix) else text


def _session(cluster: Cluster, node: Node, credentials: CredentialStore,
             sink: EventSink | None) -> NodeSession:
    """The node's session (an indirection so that tests can stand in for the appliance)."""
    from ucterm.vos.session import NodeSession
    from ucterm.vos.target import NodeTarget

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


def _wants_rest(session: NodeSession, read: NodeRead) -> bool:
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
                     read: NodeRead, rows: RecordMaker) -> tuple[list[CertListEntry], list[CertListEntry]]:
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


async def _read_own_cli(cli: VosCli, entries: Sequence[CertListEntry], read: NodeRead, rows: RecordMaker) -> None:
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


async def _read_trust_cli(cli: VosCli, entries: Sequence[CertListEntry], read: NodeRead, rows: RecordMaker,
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
