"""Reading one node: certmgr REST first on v14+, the CLI where REST cannot answer.

A VOS CLI session spends seconds (a minute on a busy appliance) on its banner before the first
command (§1.1), while certmgr answers every certificate of a v14+ node in one request (§4.1). So
a node whose release is known to be 14 or later (inventory, or the last scan) and whose
transport choice says REST is read from the certmgr snapshot with no CLI session at all. It
falls back to the CLI, and says so in its notes, when REST fails; and it uses the CLI when
nothing says its release, because `show version active` is then the only way to know it.

On the CLI the lists (`show cert list own|trust`) are the authority on what a node holds and
the PEMs come from certmgr (v14+, one request per unit or store) or from `show cert own|trust`.
Everything read is kept in a :class:`NodeRead` as it arrives, so a failure keeps what was
already read.
"""

from __future__ import annotations

from dataclasses import replace
from typing import TYPE_CHECKING, Literal

from ucterm import catalog
from ucterm.credentials import CredentialStore
from ucterm.errors import CredentialError, UctermError
from ucterm.events import EventSink
from ucterm.inventory import Cluster, Node
from ucterm.scan.members import CLI_SOURCE, read_members
from ucterm.scan.noderead import NodeRead, Report
from ucterm.scan.read_cli import fatal, read_own, read_trust
from ucterm.scan.read_rest import read_listed, read_snapshot
from ucterm.scan.rows import RecordMaker
from ucterm.scan.share import TrustShare

if TYPE_CHECKING:  # the appliance side is imported when a scan runs, not when the TUI starts
    from ucterm.vos.limits import ConnectionLimiter
    from ucterm.vos.session import NodeSession

__all__ = ["NodeRead", "Report", "read_node"]


async def read_node(cluster: Cluster, node: Node, credentials: CredentialStore, sink: EventSink | None,
                    rows: RecordMaker, read: NodeRead, *, discover: bool, report: Report,
                    share: TrustShare | None = None, limiter: ConnectionLimiter | None = None,
                    version: str | None = None) -> str:
    """Read the node's certificates (and its cluster's members when `discover`) into `read`.

    `version` is the node's release as known before contacting it (the inventory's, or the last
    scan's); it decides whether certmgr is tried first. Login and host-key failures propagate to
    the caller, which turns them into the node's state. Returns where the members came from.
    """
    from ucterm.vos.session import NodeSession
    from ucterm.vos.target import NodeTarget

    target = NodeTarget.from_inventory(cluster, node)
    known = catalog.parse_version(version)
    if target.version is None and known is not None:
        target = replace(target, version=known)
        read.version = version
    # No transcript: a scan's faces show its progress (the TUI dropped every line), and redacting a
    # hundred nodes' output, which parses every certificate shown, cost a tenth of the scan's CPU.
    async with NodeSession(target, credentials, sink, limiter=limiter, transcript=False) as session:
        try:
            rest_first: Literal["done", "unlisted", "failed", "no"] = "no"
            if _transport(session, read) == "rest":
                rest_first = await _read_rest_first(session, cluster, node, read, rows, report)
            if rest_first == "done":
                if not discover:
                    return CLI_SOURCE
                try:
                    return await read_members(session, cluster, node, credentials, read, cli_open=False)
                except UctermError as exc:  # the certificates were read: a discovery failure is a note
                    read.notes.append(f"discovery failed: {_strip_node(exc, node)}")
                    return CLI_SOURCE
            return await _read_cli(session, cluster, node, credentials, read, rows, report, share,
                                   discover=discover, rest_allowed=rest_first in ("no", "unlisted"))
        finally:
            # Whichever reader logged in over SSH (the CLI, or `show network cluster` for the
            # members of a node read over REST) verified or accepted its host key: report it.
            _note_host_key(session, read)


def _transport(session: NodeSession, read: NodeRead) -> Literal["cli", "rest"]:
    """The session's transport choice for reading (`auto`/`rest` on v14+ → REST); the one call to it."""
    from ucterm.vos.errors import UnsupportedOperation

    try:
        choice = session.transport_for("read")
    except UnsupportedOperation as exc:
        read.notes.append(f"{exc} The CLI was used instead.")
        return "cli"
    return "rest" if choice == "rest" and session.rest is not None else "cli"


async def _read_rest_first(session: NodeSession, cluster: Cluster, node: Node, read: NodeRead, rows: RecordMaker,
                           report: Report) -> Literal["done", "unlisted", "failed"]:
    """The certmgr snapshot: `done`, `unlisted` (no usable snapshot: the CLI lists must say what to
    ask certmgr for) or `failed` (REST does not work for this node: the CLI reads everything)."""
    rest = session.rest
    assert rest is not None
    await report("reading certificates over the certmgr REST API")
    try:
        if await read_snapshot(rest, cluster.product, session.version, read, rows):
            read.connected = True
            return "done"
        read.records.clear()
        read.failures.clear()
        return "unlisted"
    except CredentialError:
        raise
    except UctermError as exc:
        # REST is the fast way here, not the only one: any failure (TLS trust, HTTP error, a refused
        # user) leaves the CLI, which every release has.
        read.records.clear()
        read.failures.clear()
        read.notes.append(f"the certmgr REST API failed ({_strip_node(exc, node)}); read over the CLI instead")
        return "failed"


async def _read_cli(session: NodeSession, cluster: Cluster, node: Node, credentials: CredentialStore,
                    read: NodeRead, rows: RecordMaker, report: Report, share: TrustShare | None, *,
                    discover: bool, rest_allowed: bool) -> str:
    """The node's CLI session: version, members, lists, then the PEMs over certmgr or the CLI.

    The session connects on its first command, so login and host-key failures surface from
    `show version active`.
    """
    cli = session.cli
    await report("connecting to the CLI")
    try:
        info = await cli.show_version()
        read.version = info.active
    except (UctermError, ValueError) as exc:
        if fatal(exc):
            raise
        read.notes.append(f"`show version active` failed: {_strip_node(exc, node)}")
    finally:
        _note_host_key(session, read)
    read.connected = True
    source = CLI_SOURCE
    if discover:
        source = await read_members(session, cluster, node, credentials, read, cli_open=True)
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
    if rest_allowed and _transport(session, read) == "rest":
        await report(f"reading {len(own) + len(trust)} certificates over the REST API")
        rest = session.rest
        assert rest is not None
        try:
            own_left, trust_left = await read_listed(rest, own, trust, read, rows)
        except CredentialError:
            raise
        except UctermError as exc:
            read.records.clear()
            read.notes.append(f"the certmgr REST API failed ({_strip_node(exc, node)}); "
                              "read over the CLI instead")
            own_left, trust_left = own, trust
    if own_left or trust_left:
        await report(f"reading {len(own_left) + len(trust_left)} certificates over the CLI")
    await read_own(cli, own_left, read, rows)
    await read_trust(cli, trust_left, read, rows, share, wait=cluster.settings_for(node).command_timeout)
    return source


def _note_host_key(session: NodeSession, read: NodeRead) -> None:
    """The host key the SSH login verified or accepted, also when the login failed after accepting it.

    A node read over REST alone opened no SSH session: it keeps what an earlier attempt noted.
    """
    shell = session.shell
    read.host_key_fingerprint = shell.host_key_fingerprint or read.host_key_fingerprint
    read.host_key_accepted = read.host_key_accepted or shell.host_key_accepted


def _strip_node(exc: BaseException, node: Node) -> str:
    text = str(exc)
    prefix = f"{node.fqdn}: "
    return text[len(prefix):] if text.startswith(prefix) else text
