"""Steps on different nodes side by side, restarts one at a time, two jobs never restarting one cluster
at once: read from the journals of real renewals on the lab."""

from __future__ import annotations

import asyncio
from dataclasses import replace
from datetime import datetime
from typing import TYPE_CHECKING

from ucterm.renewal import Journal, StepStarted
from ucterm.renewal.events import JobTranscriptLine, StepProgress

if TYPE_CHECKING:
    from ucterm.renewal import Job

    from .conftest import LabRig

PUB125, SUB125 = "cucm125-pub.lab.example", "cucm125-sub1.lab.example"
PUB14, SUB14_1, SUB14_2 = "cucm14-pub.lab.example", "cucm14-sub1.lab.example", "cucm14-sub2.lab.example"


def _ts(text: str) -> datetime:
    return datetime.fromisoformat(text.replace("Z", "+00:00"))


def intervals(job: Job) -> dict[str, tuple[datetime, datetime]]:
    """When each step ran (from `running` to its last state record), from the journal."""
    start: dict[str, datetime] = {}
    end: dict[str, datetime] = {}
    for r in Journal.open(job.id).records():
        if r.get("type") != "step":
            continue
        if r["state"] == "running":
            start.setdefault(r["step"], _ts(r["ts"]))
        else:
            end[r["step"]] = _ts(r["ts"])
    return {sid: (start[sid], end[sid]) for sid in start if sid in end}


def restarting(job: Job, step_id: str) -> tuple[datetime, datetime]:
    """From the first restart command's intent to the last restart's done (the lock wait before is not it)."""
    times = [_ts(r["ts"]) for r in Journal.open(job.id).records()
             if r.get("type") in ("intent", "done") and r.get("step") == step_id
             and str(r.get("action", "")).startswith("restart:")]
    return min(times), max(times)


def overlap(a: tuple[datetime, datetime], b: tuple[datetime, datetime]) -> bool:
    return a[0] < b[1] and b[0] < a[1]


def slow_restarts(lab: LabRig, seconds: float) -> None:
    for node in lab.estate.nodes:
        node.profile = replace(node.profile, restart_default=seconds, restart_tomcat=seconds,
                               restart_tomcat_cuc=seconds)


async def test_steps_on_different_nodes_run_side_by_side_and_restarts_one_at_a_time(lab: LabRig) -> None:
    slow_restarts(lab, 0.3)
    job = lab.job("branch", "CallManager")
    assert await lab.runner(job).run() == "done", Journal.open(job.id).detail
    ran = intervals(job)
    assert overlap(ran[f"preflight:{PUB125}"], ran[f"preflight:{SUB125}"])
    assert overlap(ran[f"generate_csr:{PUB125}"], ran[f"generate_csr:{SUB125}"])
    restart_pub, restart_sub = ran[f"restart:{PUB125}"], ran[f"restart:{SUB125}"]
    assert restart_pub[1] <= restart_sub[0], "the publisher's restarts end before the subscriber's begin"
    last_restart = max(restart_pub[1], restart_sub[1])
    assert all(ran[s.id][0] >= last_restart for s in job.plan.steps_of("verify"))
    # Interleaved or not, every transcript line and every event names its step, on the step's own node.
    steps = {s.id: s for s in job.plan.steps}
    lines = [e for e in lab.events if isinstance(e, JobTranscriptLine) and e.step is not None]
    assert lines and all(steps[e.step].node == e.node or steps[e.step].via_node == e.node for e in lines)
    assert all(e.step in steps for e in lab.events if isinstance(e, StepStarted | StepProgress))
    assert lab.counts.csr == {PUB125: 1, SUB125: 1} and lab.counts.identity == {PUB125: 1, SUB125: 1}


async def test_two_jobs_never_restart_services_on_one_cluster_at_once(lab: LabRig) -> None:
    slow_restarts(lab, 0.3)
    tomcat = lab.job("hq", "tomcat", nodes=(SUB14_1,))
    ipsec = lab.job("hq", "ipsec", nodes=(SUB14_2,))
    waited: list[str] = []

    def sink(event: object) -> None:
        if isinstance(event, StepProgress) and "to finish its restarts on cluster hq" in event.message:
            waited.append(event.message)

    states = await asyncio.gather(lab.runner(tomcat, sink=sink).run(), lab.runner(ipsec, sink=sink).run())
    assert states == ["done", "done"], [Journal.open(j.id).detail for j in (tomcat, ipsec)]
    a = restarting(tomcat, f"restart:{SUB14_1}")
    b = restarting(ipsec, f"restart:{SUB14_2}")
    assert not overlap(a, b), (a, b)
    assert len(waited) == 1 and ("job " + tomcat.id in waited[0] or "job " + ipsec.id in waited[0])


async def test_the_survey_and_the_job_share_one_login_per_node(lab: LabRig) -> None:
    from ucterm.credentials import CredentialStore
    from ucterm.renewal import build_plan, defaults_for
    from ucterm.renewal.nodes import NodePool
    from ucterm.renewal.survey import survey

    pool = NodePool(CredentialStore())
    try:
        scan = await survey(lab.inventory, "branch", "CallManager", CredentialStore(), pool=pool)
        assert all(n.reachable for n in scan.nodes)
        plan = build_plan(lab.inventory, scan, defaults_for(lab.inventory, scan, "branch", "CallManager", False))
        job = Journal.create(plan, lab.inventory_path)
        runner = lab.runner(job, pool=pool)
        assert await runner.run() == "done", Journal.open(job.id).detail
        logins = {access.fqdn: access.session.shell.connect_count for access in pool}
        assert logins == {PUB125: 1, SUB125: 1}
        # The lab's password reached the job's redactor although the survey logged in before the job existed.
        password = lab.estate.credentials.os_password
        assert runner.job.redactor(f"pw {password}") == "pw ***"
        assert password not in (job.folder / "log.jsonl").read_text()
    finally:
        await pool.close()
