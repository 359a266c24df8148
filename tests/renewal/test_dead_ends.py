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


def test_a_job_nobody_runs_reads_interrupted_and_a_stale_lock_file_is_not_trusted(lab: LabRig) -> None:
    import os

    import pytest

    from ucterm.renewal import JournalError

    job = lab.job("branch", "CallManager", nodes=(PUB125,))
    job.set_step(f"preflight:{PUB125}", "running")
    summary = Journal.open(job.id).summary()
    assert summary.status == "interrupted" and summary.to_json()["state"] == "failed"
    assert summary.stopped_at is not None and summary.stopped_at["id"] == f"preflight:{PUB125}"
    assert summary.next == f"ucterm resume {job.id}"
    # A lock file naming a process, left behind by a crash, proves nothing: the kernel's lock decides.
    (job.folder / "lock").write_text("999999 12345 2026-01-01T00:00:00Z\n")
    assert Journal.open(job.id).summary().status == "interrupted"
    job.lock()
    try:
        other = Journal.open(job.id)
        assert other.summary().status == "running"
        holder = other.holder()
        assert holder is not None and holder.pid == os.getpid()
        with pytest.raises(JournalError, match=f"ucterm process {os.getpid()}"):
            other.abandon()
    finally:
        job.unlock()
    assert "abandoning it" in Journal.open(job.id).abandon()
    assert Journal.open(job.id).summary().status == "abandoned"


async def test_an_abandoned_job_does_not_run(lab: LabRig) -> None:
    import pytest

    from ucterm.renewal import RenewalError

    job = lab.job("branch", "CallManager", nodes=(PUB125,))
    Journal.open(job.id).abandon()
    with pytest.raises(RenewalError, match="was abandoned"):
        await lab.runner(job).run()
    assert lab.counts.csr == {}


async def test_verification_proves_on_the_ports_that_answer_and_names_the_filtered_one(lab: LabRig) -> None:
    """Only 22 and 8443 open between the jumpbox and a v14 node: 443 refuses. The tomcat renewal ends
    done (8443 shows the new certificate), with a warning naming 443, and without waiting it out."""
    import time

    from ucterm.inventory import load_inventory

    sub = "cucm14-sub1.lab.example"
    refused = await lab.estate.filter_port(sub, "rest")
    lab.estate.write_inventory(lab.inventory_path)  # the inventory names 443 (here: the refused number)
    inventory = load_inventory(lab.inventory_path)
    lab.inventory = replace(inventory, clusters=tuple(  # 443 closed: uploads go over SSH
        replace(c, settings=replace(c.settings, transport="cli")) if c.name == "hq" else c
        for c in inventory.clusters))
    job = lab.job("hq", "tomcat", nodes=(sub,))
    started = time.monotonic()
    assert await lab.runner(job).run() == "done", Journal.open(job.id).detail
    assert time.monotonic() - started < FAST.verify_timeout + 20
    final = Journal.open(job.id)
    verify = final.steps[f"verify:{sub}"]
    assert verify.state == "done" and f"port {refused} (rest) not checked: connection refused" in verify.detail
    assert f"port {lab.inventory.cluster('hq').node(sub).port('https')}" in verify.detail
    assert "warning:" in final.detail and f"port {refused} (rest) not checked" in final.detail
    assert lab.served_fp(sub, "tomcat") == final.steps[f"validate:{sub}"].done["validated"]["leaf"]


async def test_verification_still_fails_when_no_port_answers(lab: LabRig) -> None:
    sub = "cucm14-sub1.lab.example"
    job = lab.job("hq", "tomcat", nodes=(sub,))
    filtered = False

    async def firewall(event: Event) -> None:
        nonlocal filtered
        if isinstance(event, StepStarted) and event.step == f"verify:{sub}" and not filtered:
            filtered = True
            await lab.estate.filter_port(sub, "https")

    runner = lab.runner(job, sink=firewall, settings=replace(FAST, verify_timeout=0.5))
    assert await runner.run() == "failed"
    assert "does not serve the new tomcat certificate on any port" in Journal.open(job.id).detail


def test_the_ha_step_names_the_cucm_publisher_where_the_axl_request_goes() -> None:
    from ucterm.renewal import Plan, PlanOptions, build_plan, render

    from .conftest import estate

    plan = build_plan(estate(), None, PlanOptions("presence", "cup-xmpp", multi_server=True))
    for kind in ("ha_disable", "ha_enable"):
        step = plan.step(f"{kind}:imp-pub.hq.example.com")
        assert step.transport == "axl" and step.target == "cucm-pub.hq.example.com"
        assert step.node == "imp-pub.hq.example.com"  # where `utils ha status` shows the result
        assert "to the CUCM publisher cucm-pub.hq.example.com" in step.commands[0]
        assert "utils ha status on imp-pub.hq.example.com" in step.commands[1]
        assert "(AXL on cucm-pub)" in step.name
    text = render(plan)
    assert "node cucm-pub.hq.example.com, via axl (checked on imp-pub.hq.example.com)" in text
    assert "node imp-pub.hq.example.com, via axl" not in text
    assert Plan.from_dict(plan.to_dict()).step("ha_disable:imp-pub.hq.example.com").via_node == \
        "cucm-pub.hq.example.com"


def test_axl_is_planned_with_the_cucm_publishers_own_application_user() -> None:
    """No app_user in [defaults] or on the cluster, only on the CUCM publisher that takes AXL."""
    from ucterm.inventory import parse_inventory
    from ucterm.renewal import PlanOptions, build_plan

    from .conftest import ESTATE

    text = ESTATE.replace('app_user = "axladmin"\napp_password = "env:UCTERM_TEST_PW"\n', "", 1).replace(
        'fqdn = "cucm-pub.hq.example.com"\nrole = "publisher"\n',
        'fqdn = "cucm-pub.hq.example.com"\nrole = "publisher"\napp_user = "axl-hq"\n'
        'app_password = "env:UCTERM_TEST_PW"\n', 1)
    inventory = parse_inventory(text)
    assert inventory.cluster("presence").settings.app_user is None
    plan = build_plan(inventory, None, PlanOptions("presence", "cup-xmpp", multi_server=True))
    assert plan.step("ha_disable:imp-pub.hq.example.com").transport == "axl"
