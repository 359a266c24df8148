"""Discovery: what the publisher's `show network cluster` says against what the inventory says.

Roles and versions the inventory leaves out are filled in, and every disagreement becomes a note
on the node (the inventory is the user's statement; discovery never silently overrides it). Nodes
that `show network cluster` lists but the inventory does not are reported and never contacted:
ucterm sends credentials only to nodes the user listed. Pure functions over scan results.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Sequence
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING

from ucterm import catalog
from ucterm.inventory import Cluster, Inventory, Node
from ucterm.scan.model import CertRecord, NodeResult

if TYPE_CHECKING:
    from ucterm.vos.parsers import ClusterNode

__all__ = ["NodeScan", "reconcile"]


@dataclass(frozen=True)
class NodeScan:
    """What :func:`scan_node` found on one node."""

    result: NodeResult
    certificates: tuple[CertRecord, ...]
    #: The cluster's members when this node was asked (the publisher); None otherwise.
    members: tuple[ClusterNode, ...] | None = None
    #: Who listed them: `show network cluster` or AXL listProcessNode (for the notes).
    members_from: str = "`show network cluster`"


def reconcile(cluster: Cluster, scans: Sequence[NodeScan],
              inventory: Inventory | None = None) -> list[NodeScan]:
    """Fill roles and versions from discovery and note where the inventory disagrees.

    Members (of `show network cluster`, or AXL's process nodes) that the inventory does not list are reported, not
    contacted: ucterm sends credentials only to nodes the user listed (and their host keys would
    be unknown anyway). A missing node of the cluster's own product is an extra node with state
    `not-in-inventory` (the review is incomplete without it); a member of another product that
    no inventory cluster lists (IM and Presence nodes appear on the CUCM publisher) is a note.
    """
    members: tuple[ClusterNode, ...] = ()
    publisher_fqdn = cluster.publisher.fqdn
    lister = "`show network cluster`"
    for scan in scans:
        if scan.members:
            members = scan.members
            publisher_fqdn = scan.result.node
            lister = scan.members_from
            break
    known_elsewhere = set()
    if inventory is not None:
        for other in inventory.clusters:
            for n in other.nodes:
                known_elsewhere.update({n.fqdn.lower(), n.hostname.lower()})
    out: list[NodeScan] = []
    matched: set[int] = set()
    for scan in scans:
        node = cluster.node(scan.result.node)
        notes = list(scan.result.notes)
        role = scan.result.role
        member_index = _match(node, members)
        if member_index is not None:
            matched.add(member_index)
            member = members[member_index]
            member_role = _member_role(member)
            if not member_role:
                pass  # the lister does not say the role (AXL for IM and Presence nodes)
            elif node.role is None:
                role = member_role
            elif node.role != member_role:
                notes.append(f"the inventory says {node.role}, {lister} on {publisher_fqdn} says {member_role}")
            product = getattr(member, "product", None)
            if product and product != cluster.product:
                notes.append(f"the inventory says product {cluster.product}, {lister} says {member.product_type}")
        elif members:
            notes.append(f"not listed by {lister} on {publisher_fqdn}")
        if role is None:
            role = "subscriber"  # the inventory guarantees exactly one publisher
        declared = node.version or cluster.version
        actual = scan.result.version
        if declared and actual and catalog.parse_version(declared) != catalog.parse_version(actual):
            notes.append(f"the inventory says version {declared}, the node runs {actual}")
        out.append(replace(scan, result=replace(scan.result, role=role, notes=tuple(dict.fromkeys(notes)))))
    pub_index = next((i for i, s in enumerate(out) if s.result.node == publisher_fqdn), None)
    extra_notes: list[str] = []
    for i, member in enumerate(members):
        if i in matched:
            continue
        names = {n.lower() for n in (member.fqdn, member.hostname) if n} or {member.address.lower()}
        name = member.fqdn or member.address
        product = getattr(member, "product", None) or cluster.product
        if product != cluster.product:
            if not names & known_elsewhere:
                said = ", ".join(filter(None, (member.product_type, member.address if member.fqdn else "")))
                extra_notes.append(f"{lister} lists {name} ({said}), which no cluster of the inventory lists")
            continue
        if names & known_elsewhere:
            continue
        where = f" ({member.address})" if member.address and member.fqdn else ""
        out.append(NodeScan(NodeResult(
            cluster=cluster.name, node=name, product=cluster.product, role=_member_role(member) or None,
            version=None,
            reachable=False, state="not-in-inventory",
            error=(f"{name}{where} is listed by {lister} on {publisher_fqdn} but not in the inventory; add it "
                   f"to cluster \"{cluster.name}\" to scan its certificates.")),
            ()))
    if extra_notes and pub_index is not None:
        pub = out[pub_index]
        out[pub_index] = replace(pub, result=replace(
            pub.result, notes=tuple(dict.fromkeys((*pub.result.notes, *extra_notes)))))
    return out


def _member_role(member: ClusterNode) -> str:
    """The role within its own cluster, "" when the lister does not say it: IM&P nodes are all
    `Subscriber` of the CUCM cluster in that column, and their own publisher is the one with the
    `DBPub` database role (§1.10)."""
    if str(member.product_type).lower() == "cups":
        if not member.db_role:
            return ""
        return "publisher" if str(member.db_role).lower() == "dbpub" else "subscriber"
    return str(member.role)


def _match(node: Node, members: Sequence[ClusterNode]) -> int | None:
    """The `show network cluster` row of an inventory node: by FQDN, host name, or a unique address."""
    for i, m in enumerate(members):
        if m.fqdn.lower() == node.fqdn.lower():
            return i
    for i, m in enumerate(members):
        if m.hostname.lower() == node.hostname.lower():
            return i
    by_address = [i for i, m in enumerate(members) if _same_address(m.address, node.address)]
    return by_address[0] if len(by_address) == 1 else None


def _same_address(a: str, b: str) -> bool:
    try:
        return ipaddress.ip_address(a) == ipaddress.ip_address(b)
    except ValueError:
        return a.lower() == b.lower()
