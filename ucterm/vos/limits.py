"""What appliance traffic costs the jumpbox, bounded: handshakes in progress and sockets open.

A scan of hundreds of nodes spends most of its time waiting: for a VOS CLI banner (seconds on
a lab, up to a minute on real nodes, §1.1 [VERIFIED: C-netSSL]) and for each command's output.
Waiting costs the jumpbox one idle socket and nothing else, so a wait must never hold a bound
that other nodes need. What does cost something is bounded here:

- **handshakes**: a TCP connect plus SSH key exchange and login, or a TLS handshake. These are
  the client's CPU (key agreement, host key and certificate checks), so only a few run at once
  (:data:`DEFAULT_HANDSHAKES`); the slot is released as soon as the connection is up, before
  the banner;
- **sockets**: every open connection takes one, so a process never runs out of file
  descriptors (:func:`default_socket_limit`, from RLIMIT_NOFILE): a node's session (its SSH
  shell and HTTPS clients, see :class:`SocketLease`) for as long as it has one open, a probe for
  its handshake.

A holder of a socket never waits for another one (a session's lease is taken once; a probe holds
one per port and waits for nothing but the network), and a handshake slot is always taken after
the socket, so the bounds cannot deadlock. One :class:`ConnectionLimiter` is
made per estate (by the scan or the renewal runner; there is no global instance) and shared by
its sessions, HTTPS clients and probes.
"""

from __future__ import annotations

import asyncio
import resource
from collections.abc import AsyncIterator
from contextlib import AbstractAsyncContextManager, asynccontextmanager

#: Connection set-ups in progress at once (each is a few milliseconds of client CPU).
DEFAULT_HANDSHAKES = 16
DEFAULT_LIMIT = DEFAULT_HANDSHAKES  # the name callers used before sockets were bounded separately
#: File descriptors left for everything that is not a node connection (files, the event loop, a TUI).
_FD_RESERVE = 128
#: Above this many open sockets a jumpbox is better served by finishing nodes than by opening more.
_MAX_SOCKETS = 4096


def default_socket_limit() -> int:
    """Sockets this process may count for nodes: half its open-file limit less a reserve, at most 4096.

    Half, because a node's session counts once for up to two connections (:class:`SocketLease`).
    """
    try:
        soft, _hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    except (OSError, ValueError):
        soft = 1024
    if soft == resource.RLIM_INFINITY or soft <= 0:
        soft = 2 * _MAX_SOCKETS + _FD_RESERVE
    return max(16, min(_MAX_SOCKETS, (soft - _FD_RESERVE) // 2))


class _Gauge:
    """A semaphore that also counts what is in use and the peak, for benchmarks and tests."""

    def __init__(self, limit: int) -> None:
        self.limit = limit
        self._semaphore = asyncio.Semaphore(limit)
        self.in_use = 0
        self.peak = 0

    async def acquire(self) -> None:
        await self._semaphore.acquire()
        self.in_use += 1
        self.peak = max(self.peak, self.in_use)

    def release(self) -> None:
        self.in_use -= 1
        self._semaphore.release()

    @asynccontextmanager
    async def held(self) -> AsyncIterator[None]:
        await self.acquire()
        try:
            yield
        finally:
            self.release()


class ConnectionLimiter:
    """The jumpbox's bounds for one estate (see the module docstring).

    `limit` is the number of handshakes in progress at once; `sockets` the number of open
    connections (default: :func:`default_socket_limit`).
    """

    def __init__(self, limit: int = DEFAULT_HANDSHAKES, *, sockets: int | None = None) -> None:
        if limit < 1:
            raise ValueError("the connection limit must be at least 1")
        if sockets is not None and sockets < 1:
            raise ValueError("the socket limit must be at least 1")
        self._handshakes = _Gauge(limit)
        self._sockets = _Gauge(sockets if sockets is not None else default_socket_limit())

    @property
    def limit(self) -> int:
        return self._handshakes.limit

    @property
    def socket_limit(self) -> int:
        return self._sockets.limit

    def slot(self) -> AbstractAsyncContextManager[None]:
        """A handshake slot: hold it while a connection is being set up, never while it waits."""
        return self._handshakes.held()

    def socket(self) -> AbstractAsyncContextManager[None]:
        """A socket for the life of a short connection (a probe's handshake)."""
        return self._sockets.held()

    async def open_socket(self) -> None:
        """Take a socket for a long-lived connection; give it back with :meth:`close_socket`."""
        await self._sockets.acquire()

    def close_socket(self) -> None:
        self._sockets.release()

    def lease(self) -> SocketLease:
        """A lease for the connections of one node's session (see :class:`SocketLease`)."""
        return SocketLease(self)

    @property
    def in_use(self) -> int:
        """Handshakes in progress now."""
        return self._handshakes.in_use

    @property
    def peak(self) -> int:
        """The most handshakes that were in progress at once."""
        return self._handshakes.peak

    @property
    def sockets_open(self) -> int:
        return self._sockets.in_use

    @property
    def sockets_peak(self) -> int:
        """The most sockets that were open at once (how many nodes were really in flight)."""
        return self._sockets.peak



class SocketLease:
    """The connections of one node's session, counted as one socket of the limiter.

    Its first connection (the SSH shell or an HTTPS client) takes the socket and the last one
    to close gives it back. A node's read so never waits for a socket while it holds one (the
    SSH session stays open while certmgr answers the PEMs), which is what keeps the bound free
    of deadlocks; a session has at most two connections, which :func:`default_socket_limit`
    allows for.
    """

    def __init__(self, limiter: ConnectionLimiter) -> None:
        self.limiter = limiter
        self._holders: set[int] = set()
        self._lock = asyncio.Lock()

    async def take(self, holder: object) -> None:
        key = id(holder)
        async with self._lock:
            if key in self._holders:
                return
            if not self._holders:
                await self.limiter.open_socket()
            self._holders.add(key)

    def give(self, holder: object) -> None:
        key = id(holder)
        if key not in self._holders:
            return
        self._holders.discard(key)
        if not self._holders:
            self.limiter.close_socket()


@asynccontextmanager
async def maybe_slot(limiter: ConnectionLimiter | None) -> AsyncIterator[None]:
    """A handshake slot of `limiter`, or nothing when there is no limiter."""
    if limiter is None:
        yield
        return
    async with limiter.slot():
        yield


@asynccontextmanager
async def maybe_socket(limiter: ConnectionLimiter | None) -> AsyncIterator[None]:
    """A socket of `limiter` for a short connection, or nothing when there is no limiter."""
    if limiter is None:
        yield
        return
    async with limiter.socket():
        yield
