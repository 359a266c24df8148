"""Estate scan: every certificate on every node of every cluster, read concurrently.

The question behind it is the administrator's Monday question: which certificates, on which
nodes of which clusters, expire when, and which of them break phones, Jabber or federation.
So each node is read in full (every identity unit and every trust store, over the certmgr REST
API on v14+ or the CLI otherwise) and its TLS ports are probed to see what it actually serves,
which also works when no credentials are at hand. Every node is in flight at once: a VOS node is
slow to answer but cheap to wait for, so an estate takes about as long as its slowest node.

- :mod:`~ucterm.scan.model`: rows, node results, the scan result and its status rules (pure).
- :mod:`~ucterm.scan.events`: :class:`ScanProgress`, :class:`NodeScanned`.
- :mod:`~ucterm.scan.rows`: per-cluster thresholds and :class:`RecordMaker` (certificate → row).
- :mod:`~ucterm.scan.served`: the TLS side (what each node serves).
- :mod:`~ucterm.scan.known`: a node's release before contacting it (inventory, last scan).
- :mod:`~ucterm.scan.read`: reading one node: certmgr REST first on v14+, the CLI otherwise;
  :mod:`~ucterm.scan.read_rest` and :mod:`~ucterm.scan.read_cli` do the reading,
  :mod:`~ucterm.scan.noderead` holds what was read so far.
- :mod:`~ucterm.scan.members`: the cluster's members for discovery (AXL or `show network cluster`).
- :mod:`~ucterm.scan.share`: trust certificates read once per cluster.
- :mod:`~ucterm.scan.node`: one node's scan, mapped to a node state.
- :mod:`~ucterm.scan.estate`: :func:`scan_estate`, the clusters side by side.
- :mod:`~ucterm.scan.discovery`: the members against the inventory (pure).
- :mod:`~ucterm.scan.render`: table, CSV, JSON, Prometheus (pure).

Names are loaded on first use, so that the TUI's import of the model costs no SSH, HTTP or
X.509 imports. The engine never prints: it reports events through a sink.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from ucterm.lazy import loader

if TYPE_CHECKING:
    from ucterm.scan.discovery import NodeScan
    from ucterm.scan.estate import scan_estate, selected_clusters, warm_credentials
    from ucterm.scan.events import NodeScanned, ScanProgress
    from ucterm.scan.model import CertRecord, MergedCert, NodeResult, ScanResult
    from ucterm.scan.node import scan_node
    from ucterm.scan.rows import RecordMaker, thresholds_for

_LAZY = {
    "NodeScan": "discovery",
    "scan_estate": "estate", "selected_clusters": "estate", "warm_credentials": "estate",
    "NodeScanned": "events", "ScanProgress": "events",
    "CertRecord": "model", "MergedCert": "model", "NodeResult": "model", "ScanResult": "model",
    "scan_node": "node",
    "RecordMaker": "rows", "thresholds_for": "rows",
}


__getattr__ = loader(__name__, _LAZY, globals())


__all__ = [
    "CertRecord",
    "MergedCert",
    "NodeResult",
    "NodeScan",
    "NodeScanned",
    "RecordMaker",
    "ScanProgress",
    "ScanResult",
    "scan_estate",
    "scan_node",
    "selected_clusters",
    "thresholds_for",
    "warm_credentials",
]
