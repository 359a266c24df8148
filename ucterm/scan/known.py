"""What is known about a node before it is contacted: its release, from the inventory or the last scan.

The release decides the transport (certmgr REST exists from v14, §4.1 [VERIFIED: S-DEVNET-CM]),
and asking the node itself means its CLI (`show version active`), whose banner is the slow part
of a session (§1.1). So the inventory's version is used where it gives one, else the version the
last scan read from the node; only a node that neither knows is asked over the CLI. A node
upgraded since the last scan is still read correctly: certmgr answers or the read falls back to
the CLI, which then says the release.
"""

from __future__ import annotations

from ucterm.inventory import Cluster, Node
from ucterm.scan.model import ScanResult

__all__ = ["known_version"]

#: Node states in which the node itself was read, so that its version came from it.
_READ_STATES = ("ok", "partial")


def known_version(cluster: Cluster, node: Node, previous: ScanResult | None) -> str | None:
    """The node's version string: the inventory's (node, then cluster), else the last scan's."""
    declared = node.version or cluster.version
    if declared:
        return declared
    if previous is None:
        return None
    result = previous.node_result(cluster.name, node.fqdn)
    if result is None or result.state not in _READ_STATES or not result.version:
        return None
    return result.version
