"""Cluster membership for discovery: AXL `listProcessNode` where it answers, else `show network cluster`.

Discovery asks the publisher which nodes its cluster has (roles filled in, disagreements noted,
members missing from the inventory reported; see :mod:`ucterm.scan.discovery`). On a CUCM
publisher whose application user is in the inventory, AXL answers that over HTTPS in one request
(§4.3 [VERIFIED: AXL schema / C-fredless]), so a node read over certmgr REST needs no CLI session
for it; anywhere else (IM and Presence, Unity Connection, no application user, AXL refused) the
CLI's `show network cluster` (§1.10) does it.
"""

from __future__ import annotations

import ipaddress
from typing import TYPE_CHECKING

from ucterm.credentials import CredentialStore
from ucterm.errors import CredentialError, UctermError
from ucterm.inventory import Cluster, Node
from ucterm.scan.noderead import NodeRead

if TYPE_CHECKING:
    from ucterm.vos.axl import ProcessNode
    from ucterm.vos.parsers import ClusterNode
    from ucterm.vos.session import NodeSession

__all__ = ["AXL_SOURCE", "CLI_SOURCE", "axl_usable", "members_from_axl", "read_members"]

CLI_SOURCE = "`show network cluster`"
AXL_SOURCE = "AXL listProcessNode"


def axl_usable(cluster: Cluster, node: Node, credentials: CredentialStore) -> bool:
    """AXL can be asked of `node` without a question to the user: a CUCM cluster (§4.3: AXL is CUCM's)
    with an application user for that node (its own or the cluster's) whose password is known or
    can be looked up (not a `prompt` still unanswered)."""
    settings = cluster.settings_for(node)
    if cluster.product != "cucm" or not settings.app_user or not settings.app_password:
        return False
    return credentials.answers_without_asking(settings.app_password,
                                              what=cluster.password_what("app_password", node))


def members_from_axl(nodes: list[ProcessNode]) -> tuple[ClusterNode, ...]:
    """`processNode` rows as discovery members.

    A process node's name is its FQDN, host name or address; `processNodeRole` says CUCM or IM
    and Presence (§4.3 [VERIFIED]). `nodeUsage` (`Publisher` / `Subscriber`) gives a CUCM node's
    role [INFERRED: the reference lists the tag, not its values]; an IM and Presence node's role
    within its own cluster is not in AXL, so it is left empty (discovery then neither fills nor
    questions it).
    """
    from ucterm.vos.parsers import ClusterNode

    out: list[ClusterNode] = []
    for node in nodes:
        name = node.name.strip()
        try:
            ipaddress.ip_address(name)
            address, fqdn, hostname = name, "", ""
        except ValueError:
            address, fqdn, hostname = "", name, name.split(".", 1)[0]
        usage = (node.node_usage or "").strip().lower()
        role = usage if not node.is_presence and usage in ("publisher", "subscriber") else ""
        out.append(ClusterNode(address, fqdn, hostname, role, "cups" if node.is_presence else "callmanager", "", ""))
    return tuple(out)


async def read_members(session: NodeSession, cluster: Cluster, node: Node, credentials: CredentialStore,
                       read: NodeRead, *, cli_open: bool) -> str:
    """Fill `read.members` from AXL or the CLI; returns which of the two answered (for discovery's notes).

    `cli_open`: the node's CLI session is open anyway (the node is read over the CLI), so
    `show network cluster`, which also says every node's role and database role, is asked
    there; AXL is for nodes that have no CLI session otherwise.
    """
    from ucterm.vos.errors import UnsupportedOperation

    if not cli_open and axl_usable(cluster, node, credentials):
        try:
            read.members = members_from_axl(await session.axl.list_process_nodes())
            return AXL_SOURCE
        except (CredentialError, UnsupportedOperation, UctermError) as exc:
            read.notes.append(f"AXL listProcessNode failed ({_strip_node(exc, session.target.fqdn)}); "
                              f"asked {CLI_SOURCE} instead")
    try:
        read.members = tuple(await session.cli.show_network_cluster())
    except (UctermError, ValueError) as exc:
        from ucterm.scan.read_cli import fatal

        if fatal(exc):
            raise
        read.notes.append(f"{CLI_SOURCE} failed: {_strip_node(exc, session.target.fqdn)}")
    return CLI_SOURCE


def _strip_node(exc: BaseException, fqdn: str) -> str:
    text = str(exc)
    prefix = f"{fqdn}: "
    return text[len(prefix):] if text.startswith(prefix) else text
