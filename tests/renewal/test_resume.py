"""Kill the runner anywhere, resume, and reach the same end state with no duplicate side effect.

"Kill" is either an exception raised by the event sink at the exact point (a crash between two
journal records) or the cancellation of the runner task (the session dies mid-command).
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import TYPE_CHECKING

import pytest

from ucterm import pki
from ucterm.events import Event
from ucterm.renewal import Journal, StepDone
from ucterm.renewal.events import JobTranscriptLine

if TYPE_CHECKING:
    from ucterm.renewal import Job

    from .conftest import LabRig


class Kill(BaseException):
    """Stands for kill -9: nothing after this point of the runner happens."""


async def run_until(lab: LabRig, job: Job, predicate: Callable[[Event], bool], *, cancel: bool = False) -> None:
    task: asyncio.Task[object] | None = None
    fired = False

    def sink(event: Event) -> None:
        nonlocal fired
        if cancel and fired:
            # Python 3.11's asyncio.wait_for (under the SSH reads) drops a cancellation that races with a
            # completed read (CPython gh-86296); a real Ctrl+C would be repeated too, so repeat it.
            assert task is not None
            task.cancel()
            return
        if fired or not predicate(event):
            return
        fired = True
        if cancel:
            assert task is not None
            task.cancel()
        else:
            raise Kill

    task = asyncio.ensure_future(lab.runner(job, sink=sink).run())
    with pytest.raises((Kill, asyncio.CancelledError)):
        await task
    assert fired


async def finish(lab: LabRig, job: Job) -> None:
    state = await lab.runner(job).run()
    final = Journal.open(job.id)
    assert state == "done", final.detail


def assert_hq_end_state(lab: LabRig, job: Job) -> None:
    pub = "cucm14-pub.lab.example"
    final = Journal.open(job.id)
    leaf = pki.load_bundle((final.read_artifact(f"cert-{pub}.pem") or "").encode(), "t").certificates[0]
    assert final.plan.linked_nodes  # the IM&P nodes the multi-server tomcat certificate reaches
    for node in final.plan.all_nodes:
        assert lab.served_fp(node, "tomcat") == pki.sha256_hex(leaf), node
    assert lab.counts.csr == {pub: 1}, "one CSR, never regenerated"
    assert lab.counts.identity == {pub: 1}, "one upload"
    assert lab.counts.trust == {}, "the lab CA is in tomcat-trust already"
    assert lab.counts.restart and max(lab.counts.restart.values()) == 1, lab.counts.restart
    restarted = {node for node, _ in lab.counts.restart}
    assert restarted == set(final.plan.all_nodes)


# 3 CUCM + 2 IM&P preflights, CSR, save, obtain, validate, trust, identity, 5 restarts, 5 verifies
HQ_STEPS = 21


@pytest.mark.parametrize("boundary", range(1, HQ_STEPS + 1))
async def test_kill_at_every_step_boundary(lab: LabRig, boundary: int) -> None:
    job = lab.job("hq", "tomcat", multi=True)
    assert len(job.plan.steps) == HQ_STEPS
    done = 0

    def after_step(event: Event) -> bool:
        nonlocal done
        if isinstance(event, StepDone):
            done += 1
        return isinstance(event, StepDone) and done == boundary

    await run_until(lab, job, after_step)
    await finish(lab, job)
    assert_hq_end_state(lab, job)


def _sent(prefix: str) -> Callable[[Event], bool]:
    return lambda e: isinstance(e, JobTranscriptLine) and e.direction == "sent" and e.text.startswith(prefix)


@pytest.mark.parametrize(("where", "predicate"), [
    ("inside the CSR request", _sent("POST /platformcom/api/v1/certmgr/config/csr")),
    ("inside the identity upload", _sent("POST /platformcom/api/v1/certmgr/config/identity")),
    ("inside the Tomcat restart on the publisher",
     lambda e: isinstance(e, JobTranscriptLine) and e.node == "cucm14-pub.lab.example"
     and e.direction == "received" and "Cisco Tomcat[STOPPING]" in e.text),
    ("inside a subscriber's restart",
     lambda e: isinstance(e, JobTranscriptLine) and e.node == "cucm14-sub2.lab.example"
     and e.direction == "received" and "[STARTING]" in e.text),
])
async def test_cancel_inside_a_side_effect(lab: LabRig, where: str, predicate: Callable[[Event], bool]) -> None:
    job = lab.job("hq", "tomcat", multi=True)
    await run_until(lab, job, predicate, cancel=True)
    await finish(lab, job)
    assert_hq_end_state(lab, job)


async def test_kill_after_the_node_answered_a_restart_waits_for_it(lab: LabRig) -> None:
    """The node acknowledged the restart, the journal says so: resume waits instead of restarting again."""
    job = lab.job("hq", "tomcat", multi=True)
    await run_until(lab, job, lambda e: isinstance(e, JobTranscriptLine) and e.direction == "received"
                    and e.node == "cucm14-pub.lab.example" and e.text.startswith("Do not press Ctrl+C"))
    rec = Journal.open(job.id).steps["restart:cucm14-pub.lab.example"]
    assert rec.open_intents() == ["restart:Cisco Tomcat"] and rec.intents["restart:Cisco Tomcat"]["acknowledged"]
    await finish(lab, job)
    assert_hq_end_state(lab, job)


async def test_kill_before_the_node_answered_a_restart_runs_it(lab: LabRig) -> None:
    """Killed as the command line is sent (it may never have left): resume runs the restart."""
    job = lab.job("hq", "tomcat", multi=True)
    await run_until(lab, job, _sent("utils service restart Cisco Tomcat"))
    rec = Journal.open(job.id).steps["restart:cucm14-pub.lab.example"]
    assert rec.open_intents() == ["restart:Cisco Tomcat"]
    assert not rec.intents["restart:Cisco Tomcat"].get("acknowledged")
    await finish(lab, job)
    assert_hq_end_state(lab, job)


async def test_resume_keeps_a_csr_the_ca_may_be_signing(lab: LabRig) -> None:
    """Waiting for the CA, the process dies; resuming later must not make a new CSR."""
    job = lab.job("hq", "tomcat", multi=True)
    state = await lab.runner(job, signer=None).run()
    assert state == "waiting"
    csr_path = Journal.open(job.id).artifact_path("csr-cucm14-pub.lab.example.pem")
    leaf, chain = lab.estate.ca.sign(csr_path.read_text())
    runner = lab.runner(job, signer=None)
    assert await runner.run() == "waiting"  # still nothing: no new CSR either
    runner = lab.runner(job, signer=None)
    runner.provide_signed([leaf, *chain])
    assert await runner.run() == "done", Journal.open(job.id).detail
    assert_hq_end_state(lab, job)


def _as_journaled_by_0_1_0(job: Job) -> None:
    """Rewrite job.json in the shape ucterm 0.1.0 wrote: its plan's steps had no `read_transport`."""
    import json

    meta_file = job.folder / "job.json"
    meta = json.loads(meta_file.read_text("utf-8"))
    for step in meta["plan"]["steps"]:
        del step["read_transport"]
    meta_file.write_text(json.dumps(meta, indent=2), "utf-8")


async def test_a_job_journaled_by_0_1_0_resumes(lab: LabRig) -> None:
    """The read channel comes from the old plan's commands; the job reads over REST as planned."""
    job = lab.job("hq", "tomcat", multi=True)
    planned = {s.id: s.read_transport for s in job.plan.steps}
    assert planned["preflight:cucm14-pub.lab.example"] == "rest"
    await run_until(lab, job, lambda e: isinstance(e, StepDone))  # killed after the first preflight
    _as_journaled_by_0_1_0(job)
    old = Journal.open(job.id)
    assert {s.id: s.read_transport for s in old.plan.steps} == planned
    lab.events.clear()
    await finish(lab, job)
    assert_hq_end_state(lab, job)
    reads = {e.node for e in lab.events if isinstance(e, JobTranscriptLine) and e.direction == "sent"
             and e.text.startswith("GET /platformcom/api/v1/certmgr/config/identity")}
    # The preflights still to run read over REST where the plan said so (preflights run side by side: the
    # kill came as the first finished, and another may have finished in the same instant).
    left = {s.node for s in old.plan.steps if s.read_transport == "rest" and old.steps[s.id].state != "done"}
    assert left  # under load several may finish in one instant; at least one is left to read
    assert reads >= left


def test_old_preflights_get_their_read_channel_from_their_commands() -> None:
    from ucterm.renewal.model import Step

    base = {"id": "preflight:n", "name": "Preflight n", "kind": "preflight", "node": "n", "transport": "cli"}
    rest = Step.from_dict({**base, "commands": ["show version active", "GET https://n:443/platformcom/x"]})
    cli = Step.from_dict({**base, "commands": ["show version active", "show cert own tomcat"]})
    other = Step.from_dict({**base, "id": "restart:n", "kind": "restart", "commands": ["GET nothing"]})
    assert (rest.read_transport, cli.read_transport, other.read_transport) == ("rest", "cli", None)
