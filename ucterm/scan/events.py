"""Events of an estate scan: progress per cluster and each finished node with its rows.

The engine never prints: the CLI draws a progress line from these, the TUI fills its tree and
table as nodes finish.
"""

from __future__ import annotations

from dataclasses import dataclass

from ucterm.events import Event
from ucterm.scan.model import CertRecord, NodeResult

__all__ = ["NodeScanned", "ScanProgress"]


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


