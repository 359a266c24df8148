"""Jobs (J) → enter, over a live, a finished, a waiting and a failed job, on the embedded lab.

Whatever the job's state and wherever the user is (its own run screen, the estate), enter on a
job shows that job's one run screen: never a second copy on the stack (esc would land on the same
screen), never a crash because its screen is installed already. Esc then goes back to the estate.
"""

from __future__ import annotations

import importlib.util
from pathlib import Path
from typing import Any

import pytest
from textual.message import Message
from textual.pilot import Pilot

from ucterm.renewal import Journal, Runner
from ucterm.tui.app import UctermApp
from ucterm.tui.launch import DemoStartup
from ucterm.tui.messages import JobEnded, JobStarted, OpenJob
from ucterm.tui.screens.jobs import JobsScreen
from ucterm.tui.screens.run import RunScreen

pytestmark = pytest.mark.timeout(120)


def _lab_helpers() -> Any:
    """test_lab.py's Pilot helpers (the suite imports test modules by path, not as a package)."""
    spec = importlib.util.spec_from_file_location("tui_lab_helpers", Path(__file__).with_name("test_lab.py"))
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


lab = _lab_helpers()


async def open_from_jobs(pilot: Pilot[Any], app: UctermApp, job_id: str) -> RunScreen:
    """J, the cursor on `job_id`, enter: the job's run screen, the only one, right above the estate."""
    await pilot.press("J")
    await lab.wait_for(pilot, lambda: isinstance(app.screen, JobsScreen), what="the jobs screen")
    jobs = app.screen
    assert isinstance(jobs, JobsScreen)
    ids = [s.job for s in jobs.summaries]
    assert job_id in ids, ids
    for _ in range(ids.index(job_id)):
        await pilot.press("down")
    await pilot.press("enter")
    await lab.wait_for(pilot, lambda: isinstance(app.screen, RunScreen), what="the job's run screen")
    await pilot.pause()
    run = app.screen
    assert isinstance(run, RunScreen) and run.job_id == job_id
    assert app.screen_stack == [app.main_screen, run], [type(s).__name__ for s in app.screen_stack]
    return run


async def back_to_the_estate(pilot: Pilot[Any], app: UctermApp) -> None:
    await pilot.press("escape")
    await lab.wait_for(pilot, lambda: app.screen is app.main_screen, what="the estate")
    assert app.screen_stack == [app.main_screen]


async def test_a_live_job_is_the_same_screen_from_its_own_screen_and_from_the_estate() -> None:
    messages: list[Message] = []
    startup = DemoStartup("fast")
    app = UctermApp(startup=startup)
    async with app.run_test(size=(120, 40), message_hook=messages.append) as pilot:
        await lab.scanned(pilot, app)
        # The node is down: the preflight fails and the live job holds on it for retry, skip or abort
        # (a job that stays live for as long as the test needs, and asks nothing meanwhile).
        await startup.estate.take_down("cucm125-pub")
        run = await lab.start_renewal(pilot, app, "callmanager branch cucm125-pub")
        await lab.until_state(pilot, run, "held")
        assert run.running and run.job_id in app.running_jobs
        assert await open_from_jobs(pilot, app, run.job_id) is run
        await back_to_the_estate(pilot, app)
        await pilot.press("J")
        await lab.wait_for(pilot, lambda: isinstance(app.screen, JobsScreen), what="the jobs screen")
        assert "▶ running" in lab.shown(app)
        await pilot.press("escape")
        assert await open_from_jobs(pilot, app, run.job_id) is run  # the live screen, its log and all
        await startup.estate.bring_up("cucm125-pub")
        await pilot.press("r")  # retry the preflight: the job goes on to the end
        await lab.until_state(pilot, run, "done")
        await lab.wait_for(pilot, lambda: run.job_id not in app.running_jobs, what="the app to see it end")
        # What the screens told the app (each message once, though the hook sees it at every hop).
        told = list({id(m): m for m in messages if isinstance(m, JobStarted | JobEnded | OpenJob)}.values())
        assert [(type(m).__name__, m.job_id) for m in told] == [
            ("JobStarted", run.job_id), ("OpenJob", run.job_id), ("OpenJob", run.job_id), ("JobEnded", run.job_id)]
        assert isinstance(told[-1], JobEnded) and told[-1].state == "done"


async def test_a_finished_job_from_its_own_run_screen() -> None:
    app = lab.demo_app()
    async with app.run_test(size=(120, 40)) as pilot:
        await lab.scanned(pilot, app)
        run = await lab.start_renewal(pilot, app, "tomcat branch cucm125-pub")
        await lab.until_state(pilot, run, "done")
        await lab.wait_for(pilot, lambda: not run.running, what="the worker to end")
        # Stay on the run screen: J, enter on that same job (was: ScreenError, already installed).
        assert await open_from_jobs(pilot, app, run.job_id) is run
        await back_to_the_estate(pilot, app)
        again = await open_from_jobs(pilot, app, run.job_id)
        assert again.state == "done" and "done" in str(again.query_one("#title").render())
        await back_to_the_estate(pilot, app)


async def test_a_waiting_job_from_its_own_run_screen_then_from_the_estate() -> None:
    app = lab.demo_app()
    async with app.run_test(size=(120, 40)) as pilot:
        await lab.scanned(pilot, app)
        run = await lab.start_renewal(pilot, app, "callmanager branch cucm125-pub", signer="files")
        await lab.until_state(pilot, run, "waiting")
        await lab.wait_for(pilot, lambda: not run.running, what="the worker to stop at the CA")
        assert await open_from_jobs(pilot, app, run.job_id) is run  # was: a second copy on the stack
        await back_to_the_estate(pilot, app)
        again = await open_from_jobs(pilot, app, run.job_id)
        assert again.state == "waiting" and again.waiting_node is not None
        assert again.disabled_reason("signed") is None  # c gives what the CA issued, as before
        await back_to_the_estate(pilot, app)


async def _failed_headless(app: UctermApp, startup: DemoStartup) -> str:
    """A job that `ucterm renew` left failed: a node was down during its preflight."""
    session = app.session
    assert session is not None and session.inventory is not None
    plan = session.build_plan(session.renewal_defaults("branch", "CallManager", False))
    job = Journal.create(plan, session.inventory_path)
    await startup.estate.take_down("cucm125-sub1")
    try:
        state = await Runner(job, session.inventory, session.credentials, settings=session.runner_settings).run()
    finally:
        await startup.estate.bring_up("cucm125-sub1")
    assert state == "failed", job.detail
    return job.id


async def test_a_failed_job_from_the_estate_then_from_its_own_run_screen() -> None:
    startup = DemoStartup("fast")
    app = UctermApp(startup=startup)
    async with app.run_test(size=(120, 40)) as pilot:
        await lab.scanned(pilot, app)
        job_id = await _failed_headless(app, startup)
        run = await open_from_jobs(pilot, app, job_id)
        assert run.state == "failed" and not run.running
        assert await open_from_jobs(pilot, app, job_id) is run  # was: a second copy on the stack
        await back_to_the_estate(pilot, app)
