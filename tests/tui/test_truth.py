"""The screen tells the whole truth, at 80×24, in plain words (issue 15), driven with Pilot.

The recorded estate (tests/tui/fixtures) with the clock frozen, unless a test needs the live lab.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Callable
from pathlib import Path

from rich.text import Text
from textual.app import App
from textual.content import Content
from textual.widgets import Static

from ucterm.inventory import load_inventory
from ucterm.scan.model import load_scan
from ucterm.tui.app import UctermApp
from ucterm.tui.config import Preferences
from ucterm.tui.screens.main import MainScreen
from ucterm.tui.screens.renewal import PlanScreen
from ucterm.tui.session import Session, frozen_clock
from ucterm.tui.widgets.certs.table import CertTable
from ucterm.tui.widgets.renewal.plan import PlanStepTable

Factory = Callable[..., UctermApp]
FIXTURES = Path(__file__).parent / "fixtures"
NOW = dt.datetime(2026, 11, 27, 8, 0, tzinfo=dt.UTC)


def text_of(app: App[object]) -> str:
    """The terminal's characters as the user sees them, line by line (the top screen's render)."""
    return "\n".join("".join(segment.text for segment in strip)
                     for strip in app.screen._compositor.render_strips())


def all_text(app: App[object]) -> str:
    """What the screen shows plus every text widget's whole content, also what is scrolled out of view."""
    parts = [text_of(app)]
    for widget in app.screen.query(Static):
        content = widget.content
        parts.append(content.plain if isinstance(content, Content | Text) else str(content))
    return "\n".join(parts)


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


# ---- plain words ------------------------------------------------------------------------------

#: Our reference's section numbers, source keys, evidence tags and file names (see tests/renewal/test_plain_words.py).
INTERNAL = re.compile(r"§|\bS-[A-Z0-9]|\[(?:VERIFIED|INFERRED|CONFLICT)|cisco-uc-certs|procedure\.md|\bcatalog\b")


def internal_lines(text: str) -> list[str]:
    return [line.strip() for line in text.splitlines() if INTERNAL.search(line)]


async def test_every_screen_speaks_plainly(recorded: Factory) -> None:
    """The main screen (identity and all stores, every identity row's detail), help, a renewal form
    of each cluster, its plan (the first and every risky step) and the confirmation."""
    app = recorded()
    seen: dict[str, list[str]] = {}

    def look(where: str) -> None:
        bad = internal_lines(all_text(app))
        if bad:
            seen[where] = bad

    async with app.run_test(size=(100, 30)) as pilot:
        await pilot.pause()
        main = app.screen
        assert isinstance(main, MainScreen)
        for stores in ("identity", "all stores"):
            table = main.query_one(CertTable)
            # Trust certificates have no lint: their first rows are enough.
            for row in range(table.row_count if stores == "identity" else 3):
                table.move_cursor(row=row, animate=False)
                await pilot.pause()
                look(f"{stores} row {row}")
            await pilot.press("question_mark")
            await pilot.pause()
            look(f"help {stores}")
            await pilot.press("escape", "i")
            await pilot.pause()
        session = app.session
        assert session is not None and session.inventory is not None
        # One form per cluster, with a unit that cannot be multi-server there where there is one (the
        # form says why); the reasons of every unit come from the engine (tests/renewal/test_plain_words.py).
        for cluster, unit in (("hq", "CallManager"), ("branch", "tomcat"), ("presence", "cup-xmpp"),
                              ("voicemail", "tomcat")):
            app.open_renewal(cluster, unit)
            await pilot.pause()
            look(f"form {cluster} {unit}")
            await pilot.press("p")
            await pilot.pause()
            plan = app.screen
            assert isinstance(plan, PlanScreen), f"{cluster} {unit}"
            # Every step shows the plan's warnings and risks; risky steps add their own note.
            for row in [0, *(i for i, step in enumerate(plan.plan.steps) if step.risky)]:
                plan.query_one(PlanStepTable).move_cursor(row=row, animate=False)
                await pilot.pause()
                look(f"plan {cluster} {unit} step {row + 1}")
            await pilot.press("x")
            await pilot.pause()
            look(f"confirmation {cluster} {unit}")
            await pilot.press("n", "escape", "escape")
            await pilot.pause()
            assert app.screen is main
    assert not seen, seen
