"""End-to-end renewals against the lab estate (fast profile): each ends with every node serving
the new certificate, proven by the TLS probe (the verify steps) and by the lab's own state."""

from __future__ import annotations

from typing import TYPE_CHECKING

from cryptography import x509

from ucterm import pki
from ucterm.renewal import Journal, StepDone, StepSkipped
from ucterm.renewal.events import JobTranscriptLine

if TYPE_CHECKING:
    from .conftest import LabRig


def new_leaf(job_id: str, node: str) -> x509.Certificate:
    text = Journal.open(job_id).read_artifact(f"cert-{node}.pem")
    assert text, f"no certificate stored for {node}"
    return pki.load_bundle(text.encode(), "t").certificates[0]


def fp(cert: x509.Certificate) -> str:
    return pki.sha256_hex(cert)


async def test_tomcat_multi_server_on_cucm14(lab: LabRig) -> None:
    job = lab.job("hq", "tomcat", multi=True)
    state = await lab.runner(job).run()
    final = Journal.open(job.id)
    assert state == "done", final.detail
    pub = "cucm14-pub.lab.example"
    leaf = new_leaf(job.id, pub)
    for node in final.plan.nodes:
        assert lab.served_fp(node, "tomcat") == fp(leaf), node
        assert final.steps[f"verify:{node}"].state == "done"
    assert lab.counts.csr == {pub: 1} and lab.counts.identity == {pub: 1}
    assert lab.estate.node(pub).csr("tomcat") is None  # VOS deletes the CSR with the upload (§5.3)
    transports = {s.kind: s.transport for s in final.plan.steps}
    assert transports["generate_csr"] == "rest" and transports["upload_identity"] == "rest"
    # VOS put the IM&P nodes of the linked cluster into the SANs and installed the certificate there
    # too (§2.1): the job restarted Tomcat on them and proved they serve it.
    imp = ("imp14-pub.lab.example", "imp14-sub1.lab.example")
    assert final.plan.linked_nodes == imp
    for node in imp:
        assert lab.served_fp(node, "tomcat") == fp(leaf), node
        assert lab.counts.restart[(node, "Cisco Tomcat")] == 1
        assert final.steps[f"verify:{node}"].state == "done"
    assert final.detail.startswith("5 of 5 node(s) proven")


async def test_callmanager_single_server_on_125(lab: LabRig) -> None:
    job = lab.job("branch", "CallManager")
    state = await lab.runner(job).run()
    assert state == "done", Journal.open(job.id).detail
    for node in ("cucm125-pub.lab.example", "cucm125-sub1.lab.example"):
        assert lab.served_fp(node, "CallManager") == fp(new_leaf(job.id, node))
        assert lab.counts.restart[(node, "Cisco CallManager")] == 1
    sent = [e.text for e in lab.events if isinstance(e, JobTranscriptLine) and e.direction == "sent"]
    assert "set csr gen CallManager" in sent and any(t.startswith("set cert import own CallManager") for t in sent)
    assert not any(k[1] == "Cisco HAProxy" for k in lab.counts.restart)  # no HAProxy before 14


async def test_cup_xmpp_on_the_imp_ha_pair(lab: LabRig) -> None:
    prg = lab.estate.cluster("presence").prg
    assert prg is not None and prg.enabled
    seen_ha: list[bool] = []

    def watch(event: object) -> None:
        if isinstance(event, StepDone) and event.step and event.step.startswith("restart:"):
            seen_ha.append(prg.enabled)

    job = lab.job("presence", "cup-xmpp", multi=True)
    state = await lab.runner(job, sink=watch).run()
    assert state == "done", Journal.open(job.id).detail
    assert seen_ha == [False, False]  # HA was off during every restart ...
    assert prg.enabled and prg.state == "normal"  # ... and is on and Normal again
    leaf = new_leaf(job.id, "imp14-pub.lab.example")
    for node in ("imp14-pub.lab.example", "imp14-sub1.lab.example"):
        assert lab.served_fp(node, "cup-xmpp") == fp(leaf)


async def test_cup_xmpp_with_ha_left_on_gets_stuck_in_starting(lab: LabRig) -> None:
    from dataclasses import replace

    plan = lab.plan("presence", "cup-xmpp", multi=True)
    plan = replace(plan, steps=[s for s in plan.steps if not s.kind.startswith("ha_")])
    job = Journal.create(plan, lab.inventory_path)
    state = await lab.runner(job).run()
    final = Journal.open(job.id)
    assert state == "failed"
    assert "still STARTING" in final.detail and "High Availability" in final.detail
    assert final.steps["restart:imp14-pub.lab.example"].state == "failed"


async def test_tomcat_on_unity_connection(lab: LabRig) -> None:
    job = lab.job("voicemail", "tomcat")
    state = await lab.runner(job).run()
    assert state == "done", Journal.open(job.id).detail
    for node in ("cuc15-pub.lab.example", "cuc15-sub.lab.example"):
        assert lab.served_fp(node, "tomcat") == fp(new_leaf(job.id, node))
        assert lab.counts.restart[(node, "Connection Conversation Manager")] == 1


async def test_ha_already_off_skips_both_toggles(lab: LabRig) -> None:
    lab.estate.set_ha("DefaultCluster", False)
    job = lab.job("presence", "cup")
    state = await lab.runner(job).run()
    assert state == "done", Journal.open(job.id).detail
    skipped = [e.step for e in lab.events if isinstance(e, StepSkipped)]
    assert skipped == ["ha_disable:imp14-pub.lab.example", "ha_enable:imp14-pub.lab.example"]
    assert not lab.estate.cluster("presence").prg.enabled  # type: ignore[union-attr]


async def test_events_name_job_step_and_node_and_no_secret_is_written(lab: LabRig) -> None:
    from ucterm.lab import CREDENTIALS
    from ucterm.renewal import JobEvent

    job = lab.job("presence", "cup-xmpp", multi=True)  # SSH, certmgr REST and AXL: every credential in use
    assert await lab.runner(job).run() == "done"
    job_events = [e for e in lab.events if isinstance(e, JobEvent | JobTranscriptLine)]
    assert job_events and all(e.job == job.id for e in job_events)
    for e in job_events:
        if isinstance(e, JobEvent) and type(e).__name__.startswith("Step"):
            assert e.step and e.node, e
    assert any(isinstance(e, JobTranscriptLine) and e.channel == "axl" for e in lab.events)
    written = b"".join(p.read_bytes() for p in Journal.open(job.id).folder.rglob("*") if p.is_file())
    assert written.count(b"\n") > 50
    for secret in (CREDENTIALS.os_password, CREDENTIALS.app_password):
        assert secret.encode() not in written
    for e in lab.events:
        assert CREDENTIALS.os_password not in str(e.to_dict())
