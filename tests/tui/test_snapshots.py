"""Snapshots (pytest-textual-snapshot) of the main screens at 80×24 and 120×40.

Rendered from the recorded scan with the clock frozen at the scan's time (TZ=UTC from the suite's
conftest), so days-left and fingerprints never change; nothing runs in the background, so there
are no toasts and no progress. Update with `pytest tests/tui --snapshot-update` and look at the SVGs.
"""

from __future__ import annotations

import importlib.util
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from textual.pilot import Pilot

from ucterm.tui.app import UctermApp
from ucterm.tui.screens.run import RunScreen

SIZES = [pytest.param((80, 24), id="80x24"), pytest.param((120, 40), id="120x40")]
Factory = Callable[..., UctermApp]
Snap = Callable[..., bool]


def _replay() -> Any:
    spec = importlib.util.spec_from_file_location("tui_replay", Path(__file__).with_name("replay.py"))
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


class TestMainScreen:
    @pytest.mark.parametrize("size", SIZES)
    def test_main(self, snap_compare: Snap, recorded: Factory, size: tuple[int, int]) -> None:
        assert snap_compare(recorded(), terminal_size=size)

    def test_read_only_all_stores(self, snap_compare: Snap, recorded: Factory) -> None:
        assert snap_compare(recorded(read_only=True), press=["i"], terminal_size=(120, 40))


class TestDetails:
    @pytest.mark.parametrize("size", SIZES)
    def test_details(self, snap_compare: Snap, recorded: Factory, size: tuple[int, int]) -> None:
        # hq tomcat: multi-server on three nodes, a restart pending on cucm-sub2.
        assert snap_compare(recorded(), press=["down", "enter"], terminal_size=size)


class TestPlanPreview:
    @pytest.mark.parametrize("size", SIZES)
    def test_plan(self, snap_compare: Snap, recorded: Factory, size: tuple[int, int]) -> None:
        assert snap_compare(recorded(), press=["down", "n", "p", "down", "down", "down", "down", "down", "down",
                                               "down", "down"], terminal_size=size)


class TestRunningRenewal:
    @pytest.mark.parametrize("size", SIZES)
    def test_running(self, snap_compare: Snap, recorded: Factory, size: tuple[int, int]) -> None:
        replay = _replay()
        app = recorded()

        async def run_before(pilot: Pilot[Any]) -> None:
            session = app.session
            assert session is not None
            plan = session.build_plan(session.renewal_defaults("hq", "tomcat", True))
            screen = RunScreen(plan, replay.JOB, session=session)
            screen.runner = _NoRunner()
            await app.push_screen(screen)
            await pilot.pause()
            screen.running = True
            for event in replay.events(plan):
                screen.apply(event)
            await pilot.pause()

        assert snap_compare(app, terminal_size=size, run_before=run_before)


class TestHelp:
    @pytest.mark.parametrize("size", SIZES)
    def test_help(self, snap_compare: Snap, recorded: Factory, size: tuple[int, int]) -> None:
        assert snap_compare(recorded(), press=["question_mark"], terminal_size=size)


class _NoRunner:
    """Stands in for the runner in a replayed job: the controls exist, nothing runs."""

    pause_requested = False  # the footer asks, to label p Pause or Resume

    def pause(self) -> None: ...
    def resume(self) -> None: ...
    def abort(self) -> None: ...


class TestBatchPlan:
    def test_everything_due(self, snap_compare: Snap, recorded: Factory) -> None:
        """The palette's "Renew everything due" on the recorded estate: the new jobs, the left-alone units."""
        from ucterm.tui.screens.batch import BatchPlanScreen

        app = recorded()

        async def run_before(pilot: Pilot[Any]) -> None:
            session = app.session
            assert session is not None
            proposal = session.batch_proposal(session.due_selection())
            await app.push_screen(BatchPlanScreen(proposal, session=session, title="Renew everything due"))
            await pilot.pause()

        assert snap_compare(app, terminal_size=(80, 24), run_before=run_before)
