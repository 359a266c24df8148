"""The screen tells the whole truth, at 80×24, in plain words (issue 15), driven with Pilot.

The recorded estate (tests/tui/fixtures) with the clock frozen, unless a test needs the live lab.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from pathlib import Path

from textual.app import App

from ucterm.inventory import load_inventory
from ucterm.scan.model import load_scan
from ucterm.tui.app import UctermApp
from ucterm.tui.config import Preferences
from ucterm.tui.session import Session, frozen_clock
from ucterm.tui.widgets.certs.table import CertTable

Factory = Callable[..., UctermApp]
FIXTURES = Path(__file__).parent / "fixtures"
NOW = dt.datetime(2026, 11, 27, 8, 0, tzinfo=dt.UTC)


def text_of(app: App[object]) -> str:
    """The terminal's characters as the user sees them, line by line (the top screen's render)."""
    return "\n".join("".join(segment.text for segment in strip)
                     for strip in app.screen._compositor.render_strips())


def app_at(moment: dt.datetime, **session: object) -> UctermApp:
    """The real app on the recorded scan, seen at `moment`."""
    scan = load_scan(FIXTURES / "scan.json")
    inventory = load_inventory(FIXTURES / "inventory.toml")
    s = Session(inventory=inventory, inventory_path=FIXTURES / "inventory.toml", scan=scan,
                clock=frozen_clock(moment), label="recorded estate", **session)  # type: ignore[arg-type]
    return UctermApp(s, scan_on_start=False, preferences=Preferences())


# ---- one rounding rule ------------------------------------------------------------------------


async def test_days_ago_in_the_detail_agree_with_the_lint_finding() -> None:
    """Branch tomcat expired on 2026-11-24 08:00; seen three and a half days later it expired 3 days
    ago in the status line, the validity line and its own lint finding (was "4d ago" beside "(3 days ago)")."""
    app = app_at(NOW + dt.timedelta(hours=12))
    async with app.run_test(size=(120, 40)) as pilot:
        await pilot.pause()
        table = app.screen.query_one(CertTable)
        assert table.current is not None and (table.current.cluster, table.current.unit) == ("branch", "tomcat")
        await pilot.press("enter")
        await pilot.pause()
        text = text_of(app)
        assert "expired 3d ago" in text and "(3 days ago)" in text, text
        assert "4d ago" not in text and "4 days ago" not in text
