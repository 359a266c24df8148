"""Trust certificates read once per cluster instead of once per node (see :class:`TrustShare`)."""

from __future__ import annotations

import asyncio

from cryptography import x509

__all__ = ["TrustShare"]


class TrustShare:
    """Trust certificates read once per cluster instead of once per node.

    Trust stores replicate across a cluster (§5.4), so the same `<store>/<file>` with the same
    description appears in every node's `show cert list trust`; printing each copy costs one
    CLI round trip per node (most of a CLI scan's time). The first node to reach an entry reads
    it, and the others take its result. Nodes first read the entries no one has claimed and only
    then wait for the rest, so a cluster's nodes split the work instead of queueing behind one.
    A failed or slow read is never inherited: the waiting node reads the entry itself.
    """

    def __init__(self) -> None:
        self._entries: dict[tuple[str, str, str], asyncio.Future[x509.Certificate | None]] = {}

    def claim(self, key: tuple[str, str, str]) -> bool:
        """True when this caller is the first to reach the entry (it must then `release` it)."""
        if key in self._entries:
            return False
        self._entries[key] = asyncio.get_running_loop().create_future()
        return True

    def release(self, key: tuple[str, str, str], cert: x509.Certificate | None) -> None:
        future = self._entries.get(key)
        if cert is None:
            self._entries.pop(key, None)  # a later node reads it itself
        if future is not None and not future.done():
            future.set_result(cert)

    async def wait(self, key: tuple[str, str, str], timeout: float) -> x509.Certificate | None:
        future = self._entries.get(key)
        if future is None:
            return None
        try:
            return await asyncio.wait_for(asyncio.shield(future), timeout)
        except TimeoutError:
            return None
