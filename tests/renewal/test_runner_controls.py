"""The user's controls and the engine's refusals: pause, abort, skip, retry, confirmations,
outstanding CSRs, manual HA, read-only."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from dataclasses import replace
from typing import TYPE_CHECKING

import pytest

from ucterm.events import Event
from ucterm.renewal import Journal, RenewalError, Runner, StepDone, StepFailed, StepStarted
from ucterm.renewal.events import JobPaused

from .conftest import FAST

if TYPE_CHECKING:
    from .conftest import LabRig

PUB125 = "cucm125-pub.lab.example"


async def test_pause_then_resume(lab: LabRig) -> None:
    job = lab.job("branch", "CallManager", nodes=(PUB125,))
    runner: Runner | None = None
    paused = asyncio.Event()

    def sink(event: Event) -> None:
        assert runner is not None
        if isinstance(event, StepDone) and event.step == f"preflight:{PUB125}":
            runner.pause()
        if isinstance(event, JobPaused):
            paused.set()

    runner = lab.runner(job, sink=sink)
    task = asyncio.ensure_future(runner.run())
    await asyncio.wait_for(paused.wait(), 10)
    assert runner.state == "paused" and Journal.open(job.id).steps[f"generate_csr:{PUB125}"].state == "pending"
    runner.resume()
    assert await task == "done"


async def test_abort_stops_at_the_next_boundary_and_stays_resumable(lab: LabRig) -> None:
    job = lab.job("branch", "CallManager", nodes=(PUB125,))
    runner: Runner | None = None

    def sink(event: Event) -> None:
        if isinstance(event, StepStarted) and event.step == f"upload_identity:{PUB125}":
            assert runner is not None
            runner.abort()

    runner = lab.runner(job, sink=sink)
    assert await runner.run() == "aborted"
    assert Journal.open(job.id).summary().to_json()["state"] == "failed"
    assert await lab.runner(job).run() == "done"
    assert lab.counts.identity == {PUB125: 1}


async def test_declining_a_confirmation_changes_nothing(lab: LabRig) -> None:
    questions: list[str] = []

    async def no(question: str) -> bool:
        questions.append(question)
        return False

    job = lab.job("branch", "CallManager", nodes=(PUB125,))
    assert await lab.runner(job, confirm=no).run() == "paused"
    assert questions and questions[0].startswith("Upload the new CallManager certificate")
    assert lab.counts.identity == {}
    # One state, one sentence: paused at that step, which changed nothing; resume asks again.
    declined = Journal.open(job.id)
    summary = declined.summary()
    assert summary.status == "paused" and summary.to_json()["state"] == "waiting"
    assert declined.steps[f"upload_identity:{PUB125}"].state == "pending"
    assert declined.detail.startswith("you declined step ") and "so it changed nothing" in declined.detail
    assert f"ucterm resume {job.id}` asks again" in declined.detail
    assert not any(isinstance(e, StepFailed) for e in lab.events)

    async def yes(question: str) -> bool:
        questions.append(question)
        return True

    assert await lab.runner(job, confirm=yes).run() == "done"
    assert any(q.startswith("Restart Cisco CallManager") for q in questions)


def _stop_serving_before_verify(lab: LabRig) -> Callable[[Event], None]:
    """Make the verify step fail: the serving service stops (someone stopped it by hand)."""
    stopped = False

    def sink(event: Event) -> None:
        nonlocal stopped
        if isinstance(event, StepStarted) and event.step == f"verify:{PUB125}" and not stopped:
            stopped = True
            lab.estate.node(PUB125).service("Cisco CallManager").status = "STOPPED"
    return sink


async def test_failed_step_held_then_retried(lab: LabRig) -> None:
    """With hold_on_failure (the TUI) a failure waits for the user's decision."""
    job = lab.job("branch", "CallManager", nodes=(PUB125,))
    runner: Runner | None = None
    stop = _stop_serving_before_verify(lab)

    async def fix_and_retry() -> None:
        await lab.estate.node(PUB125).start_service("Cisco CallManager")
        assert runner is not None
        runner.retry()

    def sink(event: Event) -> None:
        stop(event)
        if isinstance(event, StepFailed):
            tasks.append(asyncio.ensure_future(fix_and_retry()))

    tasks: list[asyncio.Future[None]] = []
    runner = lab.runner(job, sink=sink, hold_on_failure=True, settings=replace(FAST, verify_timeout=0.3))
    assert await runner.run() == "done"
    assert len(tasks) == 1
    assert Journal.open(job.id).steps[f"verify:{PUB125}"].state == "done"


async def test_session_drop_during_a_restart_waits_for_it(lab: LabRig) -> None:
    job = lab.job("branch", "CallManager", nodes=(PUB125,))
    lab.estate.node(PUB125).faults.drop_connection("utils service restart Cisco CallManager", after_lines=2)
    assert await lab.runner(job).run() == "done", Journal.open(job.id).detail
    assert lab.counts.restart[(PUB125, "Cisco CallManager")] == 1


async def test_skip_requires_a_reason_and_a_skippable_step(lab: LabRig) -> None:
    job = lab.job("branch", "CallManager", nodes=(PUB125,))
    with pytest.raises(RenewalError, match="cannot be skipped"):
        lab.runner(job).skip("no time")  # the next step is a preflight
    runner = lab.runner(job, sink=_stop_serving_before_verify(lab), settings=replace(FAST, verify_timeout=0.3))
    assert await runner.run() == "failed"
    runner = lab.runner(job)
    with pytest.raises(RenewalError, match="say why"):
        runner.skip("  ")
    runner.skip("CallManager is stopped for maintenance; probed by hand later")
    assert await runner.run() == "done"
    final = Journal.open(job.id)
    assert final.steps[f"verify:{PUB125}"].state == "skipped"
    assert "1 step(s) skipped" in final.detail


async def test_outstanding_csr_is_kept_or_refused(lab: LabRig) -> None:
    node = lab.estate.node(PUB125)
    real = type(node).generate_csr
    node_csr = real(node, "CallManager")  # somebody made a CSR by hand (CLI-style, fits the plan)
    lab.counts.csr.clear()
    job = lab.job("branch", "CallManager", nodes=(PUB125,))
    assert await lab.runner(job).run() == "done"
    assert Journal.open(job.id).steps[f"generate_csr:{PUB125}"].done["generate"]["adopted"]
    assert lab.counts.csr == {}  # kept, not regenerated
    assert node_csr

    # A CSR that does not fit a multi-server REST plan is refused without --regenerate-csr ...
    hq = lab.estate.node("cucm14-pub.lab.example")
    real(hq, "tomcat")
    job2 = lab.job("hq", "tomcat", multi=True)
    assert await lab.runner(job2).run() == "failed"
    assert "--regenerate-csr" in Journal.open(job2.id).detail
    # ... and replaced with it.
    job3 = lab.job("hq", "tomcat", multi=True, regenerate_csr=True)
    Journal.open(job2.id).set_state("aborted", "replaced by a new job")
    assert await lab.runner(job3).run() == "done", Journal.open(job3.id).detail


async def test_manual_ha_waits_headless_and_asks_interactively(lab: LabRig) -> None:
    clusters = tuple(replace(c, cucm_cluster=None) if c.name == "presence" else c for c in lab.inventory.clusters)
    lab.inventory = replace(lab.inventory, clusters=clusters)
    job = lab.job("presence", "cup")
    assert job.plan.step("ha_disable:imp14-pub.lab.example").transport == "manual"
    assert await lab.runner(job).run() == "waiting"
    assert "Presence Redundancy Group" in Journal.open(job.id).detail
    lab.estate.set_ha("DefaultCluster", False)  # the administrator unchecks the box

    async def admin(question: str) -> bool:
        if "check Enable High Availability" in question:
            lab.estate.set_ha("DefaultCluster", True)
        return True

    assert await lab.runner(job, confirm=admin).run() == "done", Journal.open(job.id).detail
    assert lab.estate.cluster("presence").prg.enabled  # type: ignore[union-attr]


async def test_read_only_refuses_to_run(lab: LabRig) -> None:
    job = lab.job("branch", "CallManager")
    with pytest.raises(RenewalError, match="read-only"):
        await lab.runner(job, read_only=True).run()
    # read_only = true on the cluster (or in [defaults], which loading merges into every cluster)
    clusters = tuple(replace(c, settings=replace(c.settings, read_only=True)) if c.name == "branch" else c
                     for c in lab.inventory.clusters)
    lab.inventory = replace(lab.inventory, clusters=clusters)
    with pytest.raises(RenewalError, match="read-only"):
        await lab.runner(job).run()
    assert Journal.open(job.id).steps[job.plan.steps[0].id].state == "pending"


def _with_hq_version(lab: LabRig, version: str | None) -> None:
    clusters = tuple(replace(c, version=version) if c.name == "hq" else c for c in lab.inventory.clusters)
    lab.inventory = replace(lab.inventory, clusters=clusters)


async def test_a_plan_for_another_release_stops_at_the_preflight(lab: LabRig) -> None:
    _with_hq_version(lab, "12.5.1.16900-48")  # the inventory is out of date: the node runs 14SU3
    job = lab.job("hq", "tomcat", nodes=("cucm14-sub1",))
    assert job.plan.step("generate_csr:cucm14-sub1.lab.example").transport == "cli"
    assert await lab.runner(job).run() == "failed"
    final = Journal.open(job.id)
    assert "runs 14.0.1.13900-155, not 12.5.1.16900-48" in final.detail and "start a new job" in final.detail
    assert final.steps["preflight:cucm14-sub1.lab.example"].state == "failed"
    assert lab.counts.csr == {}


async def test_an_unknown_release_is_read_at_the_preflight(lab: LabRig) -> None:
    _with_hq_version(lab, None)
    job = lab.job("hq", "tomcat", nodes=("cucm14-sub1",))
    assert any("unknown" in w for w in job.plan.warnings)
    assert await lab.runner(job).run() == "done", Journal.open(job.id).detail
    assert Journal.open(job.id).facts["version:cucm14-sub1.lab.example"] == "14.0.1.13900-155"


async def test_a_secret_in_an_event_is_redacted_for_the_front_end_too(lab: LabRig) -> None:
    """The journal's redactor also guards what the TUI and the CLI show: a skip reason that quotes
    the OS password (pasted by mistake) reaches the sink as ***, like in the journal."""
    from ucterm.lab.estate import CREDENTIALS
    from ucterm.renewal import StepSkipped

    job = lab.job("branch", "CallManager", nodes=(PUB125,))
    stop = _stop_serving_before_verify(lab)
    seen: list[Event] = []
    runner: Runner | None = None

    async def skip_it() -> None:  # as the TUI does: once the runner holds at the failed step
        assert runner is not None
        runner.skip(f"checked by hand, password {CREDENTIALS.os_password}")

    tasks: list[asyncio.Future[None]] = []

    def sink(event: Event) -> None:
        stop(event)
        seen.append(event)
        if isinstance(event, StepFailed):
            tasks.append(asyncio.ensure_future(skip_it()))

    runner = lab.runner(job, sink=sink, hold_on_failure=True, settings=replace(FAST, verify_timeout=0.3))
    assert await runner.run() == "done"
    skipped = [e for e in seen if isinstance(e, StepSkipped)]
    assert skipped and skipped[0].reason == "checked by hand, password ***"
    assert all(CREDENTIALS.os_password not in str(e.to_dict()) for e in seen)
