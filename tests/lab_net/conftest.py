"""Fixtures for the lab's TLS endpoints and HTTPS APIs; the plain clients are in `netclient.py`.

All tests here share one event loop (session scope) so that a module-scoped estate can be reused:
an estate's sockets belong to the loop that started them. Estates use the real clock, because
the clients verify certificates against the real time.
"""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
import pytest_asyncio

from ucterm.lab import LabEstate
from ucterm.lab.network import install_endpoints


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    marker = pytest.mark.asyncio(loop_scope="session")
    for item in items:
        if "tests/lab_net/" in str(item.path).replace("\\", "/") and pytest_asyncio.is_async_test(item):
            item.add_marker(marker, append=False)


async def _running() -> LabEstate:
    lab = LabEstate.demo(profile="fast")
    await lab.start()
    install_endpoints(lab)
    install_endpoints(lab)  # the lead wires it into start(); a second call must be harmless
    return lab


@pytest_asyncio.fixture(scope="module", loop_scope="session")
async def estate() -> AsyncIterator[LabEstate]:
    """A running demo estate shared by a module's read-only tests."""
    lab = await _running()
    try:
        yield lab
    finally:
        await lab.stop()


@pytest_asyncio.fixture(loop_scope="session")
async def fresh_estate() -> AsyncIterator[LabEstate]:
    """A running demo estate of one's own, for tests that change state."""
    lab = await _running()
    try:
        yield lab
    finally:
        await lab.stop()
