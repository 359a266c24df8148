"""Batches in the TUI (issue 12), driven with Pilot against the embedded lab: marks on the certificate
table, the batch plan, the batch view with its jobs' run screens, "Renew everything due" from the
palette, and the estate tree's line for a cluster whose restarts wait for their maintenance window."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from textual.message import Message
from textual.pilot import Pilot

from ucterm.tui.messages import RenewMarked, StartBatch
from ucterm.tui.screens.batch import BatchPlanScreen, BatchScreen
from ucterm.tui.screens.main import MainScreen
from ucterm.tui.screens.modals import ConfirmModal
from ucterm.tui.screens.run import RunScreen
from ucterm.tui.view import cert_key
from ucterm.window import parse_window

from .test_lab import demo_app, scanned, start_renewal, until_state, wait_for

pytestmark = pytest.mark.timeout(180)


async def mark(pilot: Pilot[Any], main: MainScreen, query: str, unit: str) -> None:
    """Filter to `query`, check the highlighted row is `unit`, space marks it; the filter is cleared."""
    await pilot.press("slash", *query, "enter")
    await pilot.pause()
    cert = main.current
    assert cert is not None and cert.unit == unit, cert
    before = set(main.marked)
    await pilot.press("space")
    await pilot.pause()
    assert main.marked == before | {cert_key(cert)}
    await pilot.press("escape")  # clears the filter: the marks stay
    await pilot.pause()


def table_text(main: MainScreen) -> str:
    table = main.query_one("#certs")
    return "\n".join(str(cells[0]) for cells in table._cells)  # type: ignore[attr-defined]


async def test_marked_certificates_of_two_clusters_renew_as_one_batch() -> None:
    messages: list[Message] = []
    app = demo_app()
    async with app.run_test(size=(120, 40), message_hook=messages.append) as pilot:
        main = await scanned(pilot, app)
        await mark(pilot, main, "tomcat branch cucm125-pub", "tomcat")
        await mark(pilot, main, "cup-xmpp presence imp14-pub", "cup-xmpp")
        assert len(main.marked) == 2
        assert table_text(main).count("■") == 2  # the marks show in the estate's table
        assert "2 marked" in str(main.query_one("#certs").border_subtitle)
        await pilot.press("n")
        await wait_for(pilot, lambda: isinstance(app.screen, BatchPlanScreen), what="the batch plan")
        # The hook sees a message at each node it bubbles through: once per message here.
        marked = list({id(m): m for m in messages if isinstance(m, RenewMarked)}.values())
        assert [sorted((c.cluster, c.unit) for c in m.certs) for m in marked] == [
            [("branch", "tomcat"), ("presence", "cup-xmpp")]]
        plan_screen = app.screen
        assert isinstance(plan_screen, BatchPlanScreen)
        proposal = plan_screen.proposal
        assert sorted((p.cluster, p.unit) for p in proposal.plans) == [("branch", "tomcat"),
                                                                       ("presence", "cup-xmpp")]
        assert not proposal.resume
        assert "2 new" in str(plan_screen.query_one("#title").render())
        await pilot.press("x")
        await wait_for(pilot, lambda: isinstance(app.screen, ConfirmModal), what="the batch's confirmation")
        await pilot.press("y")
        await wait_for(pilot, lambda: isinstance(app.screen, BatchScreen), what="the batch view")
        batch = app.screen
        assert isinstance(batch, BatchScreen)
        assert [m.proposal for m in {id(m): m for m in messages if isinstance(m, StartBatch)}.values()] == [proposal]
        assert not main.marked  # renewed now: the marks went with the batch
        await wait_for(pilot, lambda: len(batch.summaries) == 2, what="both jobs journaled")
        assert {s.batch for s in batch.summaries} == {batch.batch_id}
        await wait_for(pilot, lambda: app.screen is batch and {s.status for s in batch.summaries} == {"done"},
                       timeout=120, what=lambda: f"both jobs done: {app.screen} "
                       f"{[(s.cluster, s.status, s.detail) for s in batch.summaries]} "
                       f"{[(j, r.state, r.failed_step) for j, r in app._job_screens.items()]}")
        assert sorted((s.cluster, s.unit) for s in batch.summaries) == [("branch", "tomcat"),
                                                                        ("presence", "cup-xmpp")]
        # enter opens a job's one run screen, the one that ran it; esc returns to the batch view.
        await pilot.press("enter")
        await wait_for(pilot, lambda: isinstance(app.screen, RunScreen), what="the job's run screen")
        run = app.screen
        assert isinstance(run, RunScreen) and run.job_id == batch.summaries[0].job and run.state == "done"
        states = run.query_one("#steps").states  # type: ignore[attr-defined]
        assert {state for state, _ in states.values()} == {"done"} and set(states) == {s.id for s in run.plan.steps}
        await pilot.press("escape")
        await wait_for(pilot, lambda: app.screen is batch, what="the batch view again")


async def test_space_on_a_trust_certificate_marks_nothing_and_says_why() -> None:
    app = demo_app()
    async with app.run_test(size=(80, 24)) as pilot:
        main = await scanned(pilot, app)
        await pilot.press("i")  # every trust store
        await pilot.press("slash", *"tomcat-trust", "enter")
        await pilot.pause()
        cert = main.current
        assert cert is not None and cert.store != "own", cert
        await pilot.press("space")
        await pilot.pause()
        assert main.marked == set()
        said = [str(n.message) for n in app._notifications]
        assert any(s.startswith("Mark: trust store certificates are not renewed") for s in said), said


async def test_renew_everything_due_leaves_the_high_risk_units_and_says_why() -> None:
    app = demo_app()
    async with app.run_test(size=(120, 40)) as pilot:
        await scanned(pilot, app)
        await pilot.press("ctrl+p")
        await pilot.pause()
        await pilot.press(*"Renew everything due")
        await pilot.pause(0.3)
        await pilot.press("enter")
        await wait_for(pilot, lambda: isinstance(app.screen, BatchPlanScreen), what="the batch plan")
        screen = app.screen
        assert isinstance(screen, BatchPlanScreen)
        left = [x for x in screen.proposal.left if x.kind == "high-risk"]
        assert any(x.unit == "CallManager" for x in left), screen.proposal.left
        assert screen.proposal.plans  # something due is renewed
        assert all(p.unit not in ("CallManager", "TVS", "ITLRecovery", "CAPF") for p in screen.proposal.plans)
        detail = str(screen.query_one("#batch-detail").render())
        assert "Left alone" in detail and "CallManager on cluster" in detail and "high-risk" in detail
        # The way in is the TUI's (mark it, n), not the command line's --unit.
        assert "mark the certificate (space)" in detail and "--unit" not in detail, detail


async def test_a_cluster_whose_restarts_wait_for_its_window_says_so_on_the_tree() -> None:
    app = demo_app()
    async with app.run_test(size=(120, 40)) as pilot:
        main = await scanned(pilot, app)
        session = app.session
        assert session is not None and session.inventory is not None
        start = datetime.now(UTC) + timedelta(hours=3)
        window = parse_window(f"daily {start:%H:%M}-{start + timedelta(hours=1):%H:%M} UTC")
        session.inventory = replace(session.inventory, clusters=tuple(
            replace(c, settings=replace(c.settings, maintenance_window=window)) if c.name == "branch" else c
            for c in session.inventory.clusters))
        tree = main.query_one("#tree")

        def lines() -> list[str]:
            return [str(n.label) for n in tree.root.children[1].children]  # type: ignore[attr-defined]

        assert not any("⏸" in line for line in lines())
        run = await start_renewal(pilot, app, "callmanager branch cucm125-pub")
        await until_state(pilot, run, "waiting")
        await pilot.press("escape")
        await wait_for(pilot, lambda: app.screen is main, what="the main screen")
        await wait_for(pilot, lambda: session.windows.get("branch") == window.describe(), what="the window")
        assert f"⏸ restarts wait for {window.describe()}".startswith(lines()[0].rstrip("…"))
        assert lines()[0].startswith("⏸ restarts wait for daily")
        # 80×24: the 26-column tree says it shorter, clipped with … where the window is longer.
        await pilot.resize_terminal(80, 24)
        await wait_for(pilot, lambda: lines()[0].startswith("⏸ daily"), what=lambda: str(lines()))
        app.save_screenshot("/tmp/tree-window.svg")
        assert f"⏸ {window.describe()}".startswith(lines()[0].rstrip("…")) and len(lines()[0]) >= 15
