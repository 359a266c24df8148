"""Fixtures for the lab tests; the SSH client helper is `tests/lab/vosclient.py`.

All lab tests share one event loop (session scope) so that module-scoped estates can be reused
across tests: an estate's sockets belong to the loop that started them.
"""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator, Awaitable, Callable

import pytest
import pytest_asyncio

from tests.lab.vosclient import NOW, VosClient
from ucterm.lab import LabEstate, LabNode

OpenClient = Callable[..., Awaitable[VosClient]]


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    marker = pytest.mark.asyncio(loop_scope="session")
    for item in items:
        if "tests/lab/" in str(item.path).replace("\\", "/") and pytest_asyncio.is_async_test(item):
            item.add_marker(marker, append=False)


@pytest_asyncio.fixture(scope="module", loop_scope="session")
async def estate() -> AsyncIterator[LabEstate]:
    """A running demo estate shared by a module's read-only tests."""
    lab = LabEstate.demo(profile="fast", now=NOW)
    async with lab:
        yield lab


@pytest_asyncio.fixture(loop_scope="session")
async def fresh_estate() -> AsyncIterator[LabEstate]:
    """A running demo estate of one's own, for tests that change state."""
    lab = LabEstate.demo(profile="fast", now=NOW)
    async with lab:
        yield lab


@pytest_asyncio.fixture(loop_scope="session")
async def open_client() -> AsyncIterator[OpenClient]:
    """`await open_client(node, **kw)` that closes every client at the end of the test."""
    clients: list[VosClient] = []

    async def opener(node: LabNode, **kwargs: object) -> VosClient:
        client = await VosClient.open(node, **kwargs)  # type: ignore[arg-type]
        clients.append(client)
        return client

    yield opener
    for client in clients:
        with contextlib.suppress(Exception):
            client.conn.abort()
