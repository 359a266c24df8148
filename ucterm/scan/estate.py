"""The estate: every node of the chosen clusters read concurrently, then discovery merged in.

VOS CLIs are slow (a session spends most of its life waiting for the banner and for `show
cert` output) and waiting costs the jumpbox almost nothing, so every node is in flight at once
and an estate takes about as long as its slowest node; what connections cost is bounded by
one ConnectionLimiter for the scan (vos.limits).
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Sequence
from datetime import datetime
from typing import TYPE_CHECKING

from ucterm.credentials import CredentialStore
from ucterm.errors import CredentialError
from ucterm.events import EventSink, emit, utcnow
from ucterm.inventory import Cluster, Inventory, Node
from ucterm.scan.discovery import NodeScan, reconcile
from ucterm.scan.events import NodeScanned, ScanProgress
from ucterm.scan.known import known_version
from ucterm.scan.model import CertRecord, NodeResult, ScanResult
from ucterm.scan.node import final_message, run_node_scan
from ucterm.scan.rows import Summaries, thresholds_for
from ucterm.scan.share import TrustShare

if TYPE_CHECKING:
    from ucterm.vos.limits import ConnectionLimiter

__all__ = ["scan_estate", "selected_clusters", "warm_credentials"]


def selected_clusters(inventory: Inventory, names: Sequence[str] | None) -> tuple[Cluster, ...]:
    """The clusters to scan, in inventory order; an unknown name is an InventoryError naming it."""
    if not names:
        return inventory.clusters
    wanted = list(dict.fromkeys(names))
    for name in wanted:
        inventory.cluster(name)  # raises with the list of known clusters
    return tuple(c for c in inventory.clusters if c.name in wanted)


def warm_credentials(inventory: Inventory, credentials: CredentialStore,
                     clusters: Sequence[str] | None = None) -> None:
    """Resolve each cluster's OS password once, up front, so `prompt` asks before the scan starts.

    Failures are left for the scan itself: it records the node as `partial` with the reason.
    """
    for cluster in selected_clusters(inventory, clusters):
        for node in cluster.ordered_nodes():
            try:
                credentials.resolve(cluster.settings_for(node).os_password,
                                    what=cluster.password_what("os_password", node))
            except CredentialError:
                continue


async def scan_estate(inventory: Inventory, credentials: CredentialStore, *, sink: EventSink | None = None,
                      warn_days: int | None = None, crit_days: int | None = None,
                      clusters: Sequence[str] | None = None, probe: bool = True, concurrency: int | None = None,
                      now: datetime | None = None, share_trust: bool = True, previous: ScanResult | None = None,
                      limiter: ConnectionLimiter | None = None) -> ScanResult:
    """Scan every node of the chosen clusters side by side, and merge discovery.

    Every node is in flight at once unless `concurrency` says otherwise: a node waiting for its
    CLI banner holds nothing but its socket, and what costs the jumpbox (handshakes, open
    sockets) is bounded by `limiter` (vos.limits; one is made for the scan when not given).
    `concurrency` is for sites that want to be gentle with their appliances: at most that many
    nodes are being read at once, each for the whole of its read, banner included.

    Thresholds: `warn_days`/`crit_days` (the command line) override each cluster's settings,
    which override the inventory defaults; the result records the ones each cluster used.
    `previous` (the last scan) says the release of nodes the inventory gives none for, so that
    v14+ nodes are read over certmgr without a CLI session (scan.known). `share_trust` reads
    each replicated trust certificate once per cluster (see TrustShare); the benchmark turns it
    off to compare with the naive scan.
    """
    from ucterm.vos.limits import ConnectionLimiter

    if concurrency is not None and concurrency < 1:
        raise ValueError(f"the scan concurrency is {concurrency}; use 1 or more")
    chosen = selected_clusters(inventory, clusters)
    moment = now or utcnow()
    gate = asyncio.Semaphore(concurrency) if concurrency is not None else None
    bounds = limiter or ConnectionLimiter()
    done: dict[str, int] = {c.name: 0 for c in chosen}
    shares: dict[str, TrustShare | None] = {c.name: TrustShare() if share_trust else None for c in chosen}
    totals: dict[str, int] = {c.name: len(c.nodes) for c in chosen}
    summaries: Summaries = {}

    async def one(cluster: Cluster, node: Node) -> NodeScan:
        async def report(message: str) -> None:
            await emit(sink, ScanProgress(cluster.name, node.fqdn, done[cluster.name], totals[cluster.name],
                                          message))

        async with contextlib.nullcontext() if gate is None else gate:
            scan = await run_node_scan(cluster, node, credentials, sink=sink, warn_days=warn_days,
                                       crit_days=crit_days, probe=probe, now=moment,
                                       discover=node.is_publisher, report=report, share=shares[cluster.name],
                                       limiter=bounds, version=known_version(cluster, node, previous),
                                       summaries=summaries)
        done[cluster.name] += 1
        await emit(sink, ScanProgress(cluster.name, node.fqdn, done[cluster.name], totals[cluster.name],
                                      final_message(scan.result)))
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
