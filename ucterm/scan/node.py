"""One node's scan: its session read and its TLS probe side by side, mapped to one node state.

A node that cannot be read (down, login refused, unknown host key, no credentials) becomes a
state of that node with its reason, never an exception out of the scan.
"""

from __future__ import annotations

import asyncio
from datetime import datetime

from ucterm import catalog
from ucterm.credentials import CredentialStore
from ucterm.errors import CredentialError, UctermError
from ucterm.events import EventSink, emit, utcnow
from ucterm.inventory import Cluster, Node
from ucterm.scan.discovery import NodeScan
from ucterm.scan.events import NodeScanned, ScanProgress
from ucterm.scan.model import NodeResult
from ucterm.scan.read import NodeRead, Report, read_node
from ucterm.scan.rows import RecordMaker, thresholds_for
from ucterm.scan.served import Served, probe_node
from ucterm.scan.share import TrustShare
from ucterm.text import clip

__all__ = ["final_message", "run_node_scan", "scan_node"]


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

    scan = await run_node_scan(cluster, node, credentials, sink=sink, warn_days=warn_days, crit_days=crit_days,
                            probe=probe, now=now or utcnow(),
                            discover=node.is_publisher if discover is None else discover, report=report)
    await emit(sink, ScanProgress(cluster.name, node.fqdn, 1, total, final_message(scan.result)))
    await emit(sink, NodeScanned(scan.result, scan.certificates))
    return scan


async def run_node_scan(cluster: Cluster, node: Node, credentials: CredentialStore, *, sink: EventSink | None,
                     warn_days: int | None, crit_days: int | None, probe: bool, now: datetime,
                     discover: bool, report: Report, share: TrustShare | None = None) -> NodeScan:
    warn, crit = thresholds_for(cluster, warn_days, crit_days)
    rows = RecordMaker(cluster.name, node.fqdn, warn, crit, now)
    await report("connecting")
    probe_task = (asyncio.create_task(probe_node(cluster, node, cluster.node_version(node)))
                  if probe else None)
    try:
        read, state, error, fingerprint = await read_with_retry(cluster, node, credentials, sink, rows,
                                                                 discover=discover, report=report, share=share)
        if probe_task is not None:
            await report("probing TLS ports")
        served = await probe_task if probe_task is not None else Served()
    finally:
        if probe_task is not None and not probe_task.done():
            probe_task.cancel()
    if state == "ok" and read.failures:
        state = "partial"
        error = clip(f"{node.fqdn}: {len(read.failures)} certificate(s) could not be read: "
                     + "; ".join(read.failures), 4000)
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
        host_key_fingerprint=fingerprint or read.host_key_fingerprint, host_key_accepted=read.host_key_accepted)
    return NodeScan(result, tuple(records), read.members)


async def read_with_retry(cluster: Cluster, node: Node, credentials: CredentialStore, sink: EventSink | None,
                           rows: RecordMaker, *, discover: bool, report: Report,
                           share: TrustShare | None) -> tuple[NodeRead, str, str | None, str | None]:
    """Read the node, retrying once after a dropped session; map every failure to a node state.

    Returns (what was read, state, error sentence, host key fingerprint). Reads are idempotent,
    so one fresh session is worth a try before calling the node partial.
    """
    from ucterm.vos.errors import HostKeyChanged, HostKeyUnknown, LoginRefused, SessionDropped

    read = NodeRead()
    for attempt in (1, 2):
        # A key accepted on first use by the first attempt is "trusted" by the second: keep saying so.
        read = NodeRead(host_key_accepted=read.host_key_accepted)
        try:
            await read_node(cluster, node, credentials, sink, rows, read, discover=discover, report=report,
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
                (f"{node.fqdn}: the scan failed unexpectedly ({clip(f'{type(exc).__name__}: {exc}', 500)}); "
                 "the other nodes were scanned: please report this."), None
    return read, "partial", f"{node.fqdn}: the session dropped twice.", None


def final_message(result: NodeResult) -> str:
    return "done" if result.state == "ok" else result.state.replace("-", " ")
