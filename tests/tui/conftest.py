"""Fixtures for the TUI tests: a recorded estate with the clock frozen, and the live lab."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from pathlib import Path

import pytest

from ucterm.inventory import load_inventory
from ucterm.scan.model import load_scan
from ucterm.tui.config import Preferences
from ucterm.tui.session import Session, frozen_clock

FIXTURES = Path(__file__).parent / "fixtures"
#: The moment the recorded scan was taken (tests/tui/fixtures/make_fixture.py).
NOW = dt.datetime(2026, 11, 27, 8, 0, tzinfo=dt.UTC)


def fixture_session(*, read_only: bool = False) -> Session:
    scan = load_scan(FIXTURES / "scan.json")
    assert scan is not None
    inventory = load_inventory(FIXTURES / "inventory.toml")
    return Session(inventory=inventory, inventory_path=FIXTURES / "inventory.toml", scan=scan,
                   clock=frozen_clock(NOW), label="recorded estate",
                   read_only_reason="read-only mode (--read-only): renewal actions are disabled" if read_only
                   else None)


def recorded_app(*, read_only: bool = False, preferences: Preferences | None = None):  # type: ignore[no-untyped-def]
    """The real app on the recorded scan: no scan in the background, nothing changes between runs."""
    from ucterm.tui.app import UctermApp

    return UctermApp(fixture_session(read_only=read_only), scan_on_start=False,
                     preferences=preferences or Preferences())


@pytest.fixture
def recorded() -> Callable[..., object]:
    """A factory for the real app on the recorded scan: `recorded(read_only=False, preferences=None)`."""
    return recorded_app


@pytest.fixture
def session() -> Session:
    return fixture_session()
