"""A quick look at the nodes before planning: each node's release and its current certificate.

A plan needs the release of every node (it decides CLI or REST, and which services exist) and
the current certificate (to pre-fill CN and SANs). A full estate scan reads every unit and
trust store, which takes minutes on real VOS; this reads two things per node and returns them
in the scan's own shape, so that :func:`ucterm.renewal.plan.build_plan` takes either.

Given a :class:`~ucterm.renewal.nodes.NodePool`, the sessions it opens stay open for the job that
follows (one login per node: on real appliances the banner alone can take a minute, §1.1).
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from datetime import UTC, datetime

from ucterm.credentials import CredentialStore
from ucterm.errors import UctermError
from ucterm.events import EventSink
from ucterm.inventory import Inventory
from ucterm.renewal.nodes import NodeAccess, NodePool
from ucterm.scan import RecordMaker
from ucterm.scan.model import CertRecord, NodeResult, ScanResult


async def survey(inventory: Inventory, cluster_name: str, unit: str, credentials: CredentialStore, *,
                 nodes: Sequence[str] = (), sink: EventSink | None = None,
                 pool: NodePool | None = None) -> ScanResult:
    """`show version active` and `show cert own <unit>` on the cluster's nodes (all, or `nodes`),
    concurrently. A node that cannot be read is reported (reachable False, error), never raised."""
    cluster = inventory.cluster(cluster_name)
    chosen = [cluster.node(n) for n in nodes] if nodes else list(cluster.ordered_nodes())
    now = datetime.now(UTC)
    warn, crit = cluster.settings.warn_days, cluster.settings.crit_days

    async def one(node_fqdn: str) -> tuple[NodeResult, list[CertRecord]]:
        node = cluster.node(node_fqdn)
        if pool is not None:
            access = pool.access(cluster, node)
            access.report_to(sink)
        else:
            access = NodeAccess(cluster, node, credentials, sink)
        try:
            version = await access.version()
            cert = await access.identity(unit, "cli")
        except (TimeoutError, UctermError, OSError) as exc:
            return NodeResult(cluster.name, node.fqdn, cluster.product, node.role, node.version or cluster.version,
                              False, str(exc), state="unreachable"), []
        finally:
            if pool is None:
                await access.close()
        return (NodeResult(cluster.name, node.fqdn, cluster.product, node.role, version, True),
                [RecordMaker(cluster.name, node.fqdn, warn, crit, now).record(cert, unit=unit, store="own",
                                                                              source="cli")])

    results = await asyncio.gather(*(one(n.fqdn) for n in chosen))
    return ScanResult(generated_at=now, nodes=tuple(r for r, _ in results),
                      certificates=tuple(c for _, certs in results for c in certs), warn_days=warn, crit_days=crit)
