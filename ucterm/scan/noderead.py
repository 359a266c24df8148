"""What one node's read found so far (:class:`NodeRead`), shared by the CLI, REST and discovery readers."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from ucterm.scan.model import CertRecord

if TYPE_CHECKING:
    from ucterm.vos.parsers import ClusterNode

__all__ = ["NodeRead", "Report"]


@dataclass
class NodeRead:
    """What a node's read found; filled as it goes so a failure keeps what was already read."""

    version: str | None = None
    members: tuple[ClusterNode, ...] | None = None
    records: list[CertRecord] = field(default_factory=list)
    failures: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    #: The node answered for itself (a CLI login or a certmgr answer): `reachable` in the JSON.
    connected: bool = False
    #: The SSH host key the session verified (or accepted on first use, `host_key_accepted`); None
    #: when the node was read without an SSH session (certmgr REST alone).
    host_key_fingerprint: str | None = None
    host_key_accepted: bool = False


#: Progress of one node's read, shown beside the node ("reading 45 certificates over the CLI").
Report = Callable[[str], Awaitable[None]]
