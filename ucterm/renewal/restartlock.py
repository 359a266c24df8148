"""One job at a time restarts services on a cluster, across every ucterm process on this machine.

Cisco restarts a cluster's services node by node, publisher first, waiting for each to come
back (§3 [VERIFIED: S-217138]). Two jobs restarting on the same cluster at once (a tomcat and
an ipsec renewal, a batch and an administrator's own `ucterm renew`) would break that: two nodes
down at once, or a node restarting under another's restart. So a job holds its clusters' restart
locks from its first restart-phase step (HA off, or the first restart) to its last.

A lock is a `flock` on `<state dir>/locks/restart-<cluster>.lock`: the kernel releases it when its
process dies (kill -9 included), so a lock left behind by a crash never blocks anybody. Two
openings of the file conflict even inside one process, so two jobs of one batch wait for each
other as two processes do. Waiting polls (a blocking flock would stall the event loop) and says
once who holds the lock, from the job id and pid the holder wrote into the file.
"""

from __future__ import annotations

import asyncio
import contextlib
import fcntl
import os
import re
from collections.abc import Awaitable, Callable, Iterable
from datetime import UTC, datetime
from pathlib import Path

from ucterm import paths

__all__ = ["RestartLock", "lock_path"]

_SAFE = re.compile(r"[^A-Za-z0-9_.-]+")


def lock_path(cluster: str) -> Path:
    return paths.state_dir() / "locks" / f"restart-{_SAFE.sub('-', cluster).strip('-') or 'x'}.lock"


class RestartLock:
    """The restart locks of some clusters, taken together (sorted by name: two jobs that need the same
    two clusters never hold one each and wait for the other)."""

    def __init__(self, clusters: Iterable[str], job_id: str, *, poll: float = 0.5) -> None:
        self.clusters = tuple(sorted(set(clusters)))
        self.job_id = job_id
        self.poll = poll
        self._fds: dict[str, int] = {}

    @property
    def held(self) -> bool:
        return bool(self.clusters) and len(self._fds) == len(self.clusters)

    async def acquire(self, on_wait: Callable[[str], Awaitable[None]] | None = None) -> None:
        """Take every lock, waiting as long as another job holds one; `on_wait` hears once per holder."""
        told: set[str] = set()
        for cluster in self.clusters:
            while cluster not in self._fds:
                fd = self._try(cluster)
                if fd is not None:
                    self._fds[cluster] = fd
                    break
                holder = self.holder(cluster)
                if on_wait is not None and holder not in told:
                    told.add(holder)
                    await on_wait(f"waiting for {holder} to finish its restarts on cluster {cluster} (one job at a "
                                  "time restarts services on a cluster)")
                await asyncio.sleep(self.poll)

    def _try(self, cluster: str) -> int | None:
        path = lock_path(cluster)
        path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o600)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            os.close(fd)
            return None
        os.ftruncate(fd, 0)
        stamp = datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
        os.write(fd, f"{self.job_id} {os.getpid()} {stamp}\n".encode())
        return fd

    @staticmethod
    def holder(cluster: str) -> str:
        """Who holds the cluster's lock, as the holder wrote it: `job J (process P)`."""
        try:
            words = lock_path(cluster).read_text("ascii", errors="replace").split()
        except OSError:
            words = []
        if len(words) >= 2:
            return f"job {words[0]} (process {words[1]})"
        return "another ucterm job"

    def release(self) -> None:
        for fd in self._fds.values():
            with contextlib.suppress(OSError):
                fcntl.flock(fd, fcntl.LOCK_UN)
            with contextlib.suppress(OSError):
                os.close(fd)
        self._fds.clear()
