"""Fixtures for the vos tests."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from tests.vos.lab import Lab


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", "fake(**options): options of the scripted fake VOS shell (test_shell.py)")


@pytest.fixture
async def lab(tmp_path: Path) -> AsyncIterator[Lab]:
    """A fresh demo estate (fast profile) on loopback; at the end, no event may hold a secret."""
    lab = await Lab.start(tmp_path)
    try:
        yield lab
    finally:
        await lab.estate.stop()
        lab.assert_no_secrets()
