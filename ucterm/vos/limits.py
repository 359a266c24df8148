"""Estate-wide concurrency limit for appliance traffic.

A scan of hundreds of nodes must not open hundreds of SSH logins at once: VOS CLIs start
slowly and a jumpbox has limited sockets. One :class:`ConnectionLimiter` is created per estate
(by the scan or the renewal runner; there is no global instance) and shared by its sessions.
A slot is held while a connection is being made and while one command or request runs, not
while a session sits idle, so an open session never blocks the others.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

DEFAULT_LIMIT = 16


class ConnectionLimiter:
    def __init__(self, limit: int = DEFAULT_LIMIT) -> None:
        if limit < 1:
            raise ValueError("the connection limit must be at least 1")
        self.limit = limit
        self._semaphore = asyncio.Semaphore(limit)
        self._in_use = 0
        self.peak = 0

    @asynccontextmanager
    async def slot(self) -> AsyncIterator[None]:
        async with self._semaphore:
            self._in_use += 1
            self.peak = max(self.peak, self._in_use)
            try:
                yield
            finally:
                self._in_use -= 1

    @property
    def in_use(self) -> int:
        return self._in_use


@asynccontextmanager
async def maybe_slot(limiter: ConnectionLimiter | None) -> AsyncIterator[None]:
    """A slot of `limiter`, or nothing when there is no limiter."""
    if limiter is None:
        yield
        return
    async with limiter.slot():
        yield
