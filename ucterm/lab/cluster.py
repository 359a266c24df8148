"""Clusters of lab nodes and the IM and Presence redundancy group.

A cluster is what VOS replicates across (trust stores, §5.4) and distributes multi-server
certificates over (§2.1, §2.2). An IM&P cluster also names its CUCM cluster (`show network
cluster` lists both, and a CUCM multi-server tomcat certificate covers the IM&P nodes, §2.1)
and holds the Presence Redundancy Group whose High Availability setting decides whether
cup/XCP restarts come back (§3.4).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Literal

from ucterm import catalog

if TYPE_CHECKING:
    from ucterm.lab.node import LabNode

HaState = Literal["normal", "initializing", "disabled"]


@dataclass
class PresenceRedundancyGroup:
    """A PRG (AXL `haEnabled`, §4.3). Enabling HA reaches `Normal` only after a settling time."""

    name: str = "DefaultCluster"
    enabled: bool = True
    _normal_at: float = 0.0

    def set_enabled(self, enabled: bool, settle_seconds: float) -> None:
        if enabled and not self.enabled:
            self._normal_at = time.monotonic() + settle_seconds
        self.enabled = enabled

    @property
    def state(self) -> HaState:
        if not self.enabled:
            return "disabled"
        return "normal" if time.monotonic() >= self._normal_at else "initializing"


@dataclass
class LabCluster:
    """One cluster: its nodes (publisher first) and the product facts shared by them."""

    name: str
    product: str
    version: str
    presence_domains: tuple[str, ...] = ()
    group_chat_alias: str | None = None
    cucm_cluster: str | None = None
    prg: PresenceRedundancyGroup | None = None
    nodes: list[LabNode] = field(default_factory=list)
    #: Finds a node of the whole estate by FQDN (multi-server certificates may span clusters).
    find_node: Callable[[str], LabNode | None] = field(default=lambda fqdn: None, repr=False)
    #: The other clusters of the estate (for `show network cluster` and multi-server SANs).
    all_clusters: Callable[[], list[LabCluster]] = field(default=list, repr=False)

    @property
    def vos_version(self) -> catalog.Version | None:
        return catalog.parse_version(self.version)

    @property
    def publisher(self) -> LabNode:
        for node in self.nodes:
            if node.role == "publisher":
                return node
        return self.nodes[0]

    def linked(self) -> list[LabCluster]:
        """The clusters VOS shows together: a CUCM cluster and the IM&P clusters that name it."""
        others = self.all_clusters()
        if self.product == "imp" and self.cucm_cluster:
            return [c for c in others if c.name == self.cucm_cluster]
        if self.product == "cucm":
            return [c for c in others if c.product == "imp" and c.cucm_cluster == self.name]
        return []

    def fqdns(self) -> list[str]:
        return [n.fqdn for n in self.nodes]
