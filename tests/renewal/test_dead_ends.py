"""No dead ends (issue 14), at the engine: every stopped job can be finished, corrected or given up,
and the controls work from wherever a front end calls them."""

from __future__ import annotations

import asyncio
from dataclasses import replace
from typing import TYPE_CHECKING

from ucterm.events import Event
from ucterm.renewal import Journal, Runner, StepFailed, StepStarted

from .conftest import FAST

if TYPE_CHECKING:
    from .conftest import LabRig

PUB125 = "cucm125-pub.lab.example"


def _stop_serving_before_verify(lab: LabRig) -> object:
    stopped = False

    def stop(event: Event) -> None:
        nonlocal stopped
        if isinstance(event, StepStarted) and event.step == f"verify:{PUB125}" and not stopped:
            stopped = True
            lab.estate.node(PUB125).service("Cisco CallManager").status = "STOPPED"
    return stop


async def test_skip_called_from_the_sink_at_step_failed_does_not_hang(lab: LabRig) -> None:
    """A front end that decides while StepFailed is delivered (before the runner waits) is heard."""
    job = lab.job("branch", "CallManager", nodes=(PUB125,))
    stop = _stop_serving_before_verify(lab)
    runner: Runner | None = None

    def sink(event: Event) -> None:
        stop(event)  # type: ignore[operator]
        if isinstance(event, StepFailed):
            assert runner is not None
            runner.skip("CallManager stopped for maintenance; checked by hand")

    runner = lab.runner(job, sink=sink, hold_on_failure=True, settings=replace(FAST, verify_timeout=0.3))
    assert await asyncio.wait_for(runner.run(), 60) == "done"
    assert Journal.open(job.id).steps[f"verify:{PUB125}"].state == "skipped"


async def test_retry_called_from_the_sink_at_step_failed_runs_the_step_again(lab: LabRig) -> None:
    job = lab.job("branch", "CallManager", nodes=(PUB125,))
    stop = _stop_serving_before_verify(lab)
    node = lab.estate.node(PUB125)
    runner: Runner | None = None
    retried = 0

    def sink(event: Event) -> None:
        nonlocal retried
        stop(event)  # type: ignore[operator]
        if isinstance(event, StepFailed) and not retried:
            retried += 1
            node.service("Cisco CallManager").status = "STARTED"
            assert runner is not None
            runner.retry()

    runner = lab.runner(job, sink=sink, hold_on_failure=True, settings=replace(FAST, verify_timeout=0.3))
    assert await asyncio.wait_for(runner.run(), 60) == "done"
    assert retried == 1 and Journal.open(job.id).steps[f"verify:{PUB125}"].state == "done"
