"""Maintenance windows: a job whose restarts interrupt calls stops before them outside its window and
finishes on resume inside it; --restart-now asks and goes on. The clock is injected (Runner's `now`)."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING

import pytest

from ucterm.inventory import Inventory
from ucterm.renewal import JobWaiting, Journal
from ucterm.renewal.windows import closed_windows
from ucterm.window import parse_window

if TYPE_CHECKING:
    from .conftest import LabRig

PUB125, SUB125 = "cucm125-pub.lab.example", "cucm125-sub1.lab.example"
NOW = datetime.now(UTC).replace(second=0, microsecond=0)


@pytest.fixture(autouse=True)
def _now() -> None:
    """NOW is the minute each test starts in: the lab CA back-dates what it issues by 5 minutes only,
    and a clock set at collection time is far behind by the time a long suite runs these tests."""
    global NOW
    NOW = datetime.now(UTC).replace(second=0, microsecond=0)


def window_after(hours: float, length_minutes: int = 60) -> str:
    """A daily UTC window that opens `hours` from NOW (so NOW is outside it)."""
    start = NOW + timedelta(hours=hours)
    end = start + timedelta(minutes=length_minutes)
    return f"daily {start:%H:%M}-{end:%H:%M} UTC"


def with_window(inventory: Inventory, cluster: str, text: str) -> Inventory:
    clusters = tuple(replace(c, settings=replace(c.settings, maintenance_window=parse_window(text)))
                     if c.name == cluster else c for c in inventory.clusters)
    return replace(inventory, clusters=clusters)


def test_only_restarts_that_interrupt_calls_wait(inventory: Inventory) -> None:
    from ucterm.renewal import build_plan, defaults_for

    inventory = with_window(with_window(inventory, "branch", window_after(2)), "presence", window_after(2))
    call_manager = build_plan(inventory, None, defaults_for(inventory, None, "branch", "CallManager", False))
    wait = closed_windows(call_manager, inventory, {}, NOW)
    assert wait is not None and wait.closed[0][0] == "branch"
    assert wait.opens == NOW + timedelta(hours=2)
    assert wait.sentence("J").startswith(f"restarts wait for {wait.closed[0][1].describe()} (next opening")
    assert "Cisco CallManager on cm125-pub" in wait.services
    assert closed_windows(call_manager, inventory, {}, NOW + timedelta(hours=2, minutes=5)) is None
    # IM&P tomcat restarts interrupt nothing (§3.4): no window holds them back.
    tomcat = build_plan(inventory, None, defaults_for(inventory, None, "presence", "tomcat", False))
    assert closed_windows(tomcat, inventory, {}, NOW) is None


async def test_outside_the_window_the_job_stops_before_its_restarts_and_finishes_on_resume(lab: LabRig) -> None:
    text = window_after(3)
    lab.inventory = with_window(lab.inventory, "branch", text)
    job = lab.job("branch", "CallManager")
    assert await lab.runner(job, now=lambda: NOW).run() == "waiting"
    waited = Journal.open(job.id)
    window = parse_window(text).describe()
    assert waited.detail.startswith(f"restarts wait for {window}")
    assert [s.kind for s in waited.plan.steps if waited.steps[s.id].state != "done"] == [
        "restart", "restart", "verify", "verify"]
    assert waited.steps[f"restart:{PUB125}"].state == "waiting"
    assert lab.counts.identity == {PUB125: 1, SUB125: 1} and not lab.counts.restart
    summary = waited.summary()
    assert summary.status == "waiting" and summary.to_json()["state"] == "waiting"
    assert summary.window is not None and summary.window["window"] == window
    assert summary.to_json()["window"]["opens"] == (NOW + timedelta(hours=3)).strftime("%Y-%m-%dT%H:%M:%SZ")
    assert any(isinstance(e, JobWaiting) and e.step == f"restart:{PUB125}" for e in lab.events)
    from ucterm.renewal.report import build, render

    record = render(build(Journal.open(job.id)), "md")
    left = record.split("## What is left", 1)[1]
    assert f"The restarts wait for the maintenance window {window}" in left and f"ucterm resume {job.id}" in left

    # Still outside: resume waits again, touching nothing.
    assert await lab.runner(job, now=lambda: NOW + timedelta(hours=1)).run() == "waiting"
    assert not lab.counts.restart
    # Inside the window: resume goes on.
    inside = NOW + timedelta(hours=3, minutes=10)
    assert await lab.runner(job, now=lambda: inside).run() == "done", Journal.open(job.id).detail
    done = Journal.open(job.id)
    assert done.summary().window is None and "restart_now" not in done.facts
    assert lab.counts.restart[(PUB125, "Cisco CallManager")] == 1
    assert lab.counts.restart[(SUB125, "Cisco CallManager")] == 1


async def test_restart_now_asks_then_restarts_outside_the_window(lab: LabRig) -> None:
    lab.inventory = with_window(lab.inventory, "branch", window_after(3))
    job = lab.job("branch", "CallManager", nodes=(PUB125,))
    questions: list[str] = []

    async def no(question: str) -> bool:
        questions.append(question)
        return not question.startswith("The maintenance window")

    assert await lab.runner(job, now=lambda: NOW, restart_now=True, confirm=no).run() == "paused", questions
    assert questions[-1].startswith("The maintenance window (daily") and not lab.counts.restart

    async def yes(question: str) -> bool:
        questions.append(question)
        return True

    assert await lab.runner(job, now=lambda: NOW, restart_now=True, confirm=yes).run() == "done"
    final = Journal.open(job.id)
    assert final.facts["restart_now"]["window"] == parse_window(window_after(3)).describe()
    from ucterm.renewal.report import build, render

    assert "Restarted outside the maintenance window" in render(build(final), "md")
    assert lab.counts.restart[(PUB125, "Cisco CallManager")] == 1


async def test_a_restart_phase_begun_in_the_window_finishes_after_it_closes(lab: LabRig) -> None:
    """Half a cluster restarted is worse than a restart a few minutes past the window's end."""
    from ucterm.events import Event
    from ucterm.renewal import StepDone

    lab.inventory = with_window(lab.inventory, "branch", window_after(-0.5, 40))  # open now, closes in 10 min
    job = lab.job("branch", "CallManager")
    clock = {"now": NOW}

    def close_after_the_publisher(event: Event) -> None:
        if isinstance(event, StepDone) and event.step == f"restart:{PUB125}":
            clock["now"] = NOW + timedelta(hours=2)  # the window has closed

    runner = lab.runner(job, sink=close_after_the_publisher, now=lambda: clock["now"])
    assert await runner.run() == "done", Journal.open(job.id).detail
    assert lab.counts.restart[(SUB125, "Cisco CallManager")] == 1
