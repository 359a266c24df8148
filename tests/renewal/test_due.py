"""`ucterm renew --due DAYS` on the lab: what is due becomes one job per cluster and unit, like for like;
the batch runs clusters side by side, converges when run again, and a batch killed anywhere resumes
to the same end."""

from __future__ import annotations

import asyncio
import json
import random
from collections import Counter
from dataclasses import replace
from typing import TYPE_CHECKING, Any

import pytest

from ucterm import pki
from ucterm.credentials import CredentialStore
from ucterm.events import Event
from ucterm.renewal import Journal, LabCaSigner, Runner, build_plan, list_jobs
from ucterm.renewal.batch import Batch, BatchItem, installed_by_finished_jobs, new_batch_id, with_runners
from ucterm.renewal.due import DueSelection, options_for, select_due, select_marked
from ucterm.renewal.journal import JobSummary, recent_units
from ucterm.scan import scan_estate
from ucterm.scan.model import ScanResult

from .conftest import FAST
from .test_cli_lab import ucterm

if TYPE_CHECKING:
    from ucterm.renewal import Job
    from ucterm.renewal.nodes import NodePool

    from .conftest import LabRig

HQ = ("cucm14-pub.lab.example", "cucm14-sub1.lab.example", "cucm14-sub2.lab.example")
BRANCH_PUB = "cucm125-pub.lab.example"
CUC_PUB = "cuc15-pub.lab.example"


class Kill(BaseException):
    """Stands for kill -9: nothing after this point happens, in any job."""


async def scan(lab: LabRig) -> ScanResult:
    return await scan_estate(lab.inventory, CredentialStore(), probe=False)


async def select(lab: LabRig, days: int, units: tuple[str, ...] = ()) -> DueSelection:
    jobs = list_jobs()
    names = [c.name for c in lab.inventory.clusters]
    return select_due(lab.inventory, await scan(lab), days=days, units=units, jobs=jobs,
                      installed=installed_by_finished_jobs(jobs, names),
                      recent={n: recent_units(n, jobs) for n in names})


def due_tomcat(result: ScanResult, days: int = 60) -> list[tuple[str, str]]:
    return sorted((c.cluster, c.node) for c in result.certificates
                  if c.is_identity and c.unit == "tomcat" and c.days_left <= days)


async def test_what_is_due_becomes_one_job_per_cluster_and_unit_like_for_like(lab: LabRig) -> None:
    selection = await select(lab, 60, ("tomcat",))
    got = {(r.cluster, r.unit): r for r in selection.renew}
    assert set(got) == {("hq", "tomcat"), ("branch", "tomcat"), ("voicemail", "tomcat")}
    assert got[("hq", "tomcat")].multi_server and got[("hq", "tomcat")].nodes == ()
    assert not got[("branch", "tomcat")].multi_server and got[("branch", "tomcat")].nodes == (BRANCH_PUB,)
    assert got[("voicemail", "tomcat")].nodes == (CUC_PUB,)  # the subscriber's own is fine (800 days)
    # The multi-server certificate keeps its CN and exactly its SAN set.
    result = await scan(lab)
    current = next(c for c in result.certificates if c.node == HQ[0] and c.unit == "tomcat" and c.is_identity)
    plan = build_plan(lab.inventory, result, options_for(lab.inventory, result, got[("hq", "tomcat")]))
    [csr] = [s.csr for s in plan.steps_of("generate_csr")]
    assert csr is not None and csr.common_name == current.subject_cn.lower()
    assert set(csr.alt_names) == {s.lower() for s in current.sans}
    assert plan.multi_server and plan.linked_nodes == ()  # the current one names no IM&P node: like for like


async def test_high_risk_units_only_when_named_and_read_only_clusters_said(lab: LabRig) -> None:
    selection = await select(lab, 60)
    units = {(r.cluster, r.unit) for r in selection.renew}
    assert ("branch", "CallManager") not in units  # due in 6 days, high-risk (§5.5)
    assert ("presence", "cup") in units and ("hq", "ipsec") in units
    [risky] = [x for x in selection.left if x.kind == "high-risk"]
    assert risky.cluster == "branch" and risky.unit == "CallManager" and "--unit CallManager" in risky.reason
    named = await select(lab, 60, ("CallManager",))
    assert {(r.cluster, r.unit) for r in named.renew} == {("branch", "CallManager")}
    clusters = tuple(replace(c, settings=replace(c.settings, read_only=True)) if c.name == "voicemail" else c
                     for c in lab.inventory.clusters)
    lab.inventory = replace(lab.inventory, clusters=clusters)
    read_only = await select(lab, 60, ("tomcat",))
    assert ("voicemail", "tomcat") not in {(r.cluster, r.unit) for r in read_only.renew}
    [said] = [x for x in read_only.left if x.kind == "read-only"]
    assert said.cluster == "voicemail" and "1 due certificate(s)" in said.reason


def own(result: ScanResult, cluster: str, unit: str, node: str | None = None) -> list[Any]:
    return [c for c in result.certificates if c.cluster == cluster and c.unit == unit and c.is_identity
            and (node is None or c.node == node)]


async def test_marked_certificates_high_risk_renewed_trust_ignored_multi_server_like_for_like(lab: LabRig) -> None:
    """The TUI's marked certificates: the person chose, so a marked high-risk unit is renewed (on the
    node marked, not its due twin); a marked trust certificate is no renewal; a marked multi-server
    certificate (on one node's row) is renewed multi-server over every node that holds it, due or not."""
    result = await scan(lab)
    [cm] = own(result, "branch", "CallManager", BRANCH_PUB)  # due in 5 days, high-risk (§5.5)
    selection = select_marked(lab.inventory, result, [cm])
    [renewal] = selection.renew
    assert (renewal.cluster, renewal.unit, renewal.multi_server, renewal.nodes) == ("branch", "CallManager", False,
                                                                                    (BRANCH_PUB,))
    assert selection.left == () and selection.days == cm.days_left  # no "high-risk, name it with --unit"

    trust = next(c for c in result.certificates if c.cluster == "hq" and c.store == "tomcat-trust")
    assert select_marked(lab.inventory, result, [trust]) == DueSelection(0, (), (), ())
    with_trust = select_marked(lab.inventory, result, [trust, cm])
    assert [(r.cluster, r.unit) for r in with_trust.renew] == [("branch", "CallManager")]

    hq_tomcat = own(result, "hq", "tomcat", HQ[1])  # one row of the multi-server certificate, due in 39 days
    xmpp = own(result, "presence", "cup-xmpp", "imp14-sub1.lab.example")  # multi-server, not due (299 days)
    multi = {(r.cluster, r.unit): r for r in select_marked(lab.inventory, result, hq_tomcat + xmpp).renew}
    assert set(multi) == {("hq", "tomcat"), ("presence", "cup-xmpp")}
    for renewal in multi.values():
        assert renewal.multi_server and renewal.nodes == ()
    assert {c.node for c in multi[("hq", "tomcat")].certs} == set(HQ)
    plan = build_plan(lab.inventory, result, options_for(lab.inventory, result, multi[("hq", "tomcat")]))
    [csr] = [s.csr for s in plan.steps_of("generate_csr")]
    assert csr is not None and csr.common_name == hq_tomcat[0].subject_cn.lower()
    assert set(csr.alt_names) == {s.lower() for s in hq_tomcat[0].sans}


async def test_marked_never_two_of_callmanager_tvs_itlrecovery_on_one_cluster(lab: LabRig) -> None:
    result = await scan(lab)
    marked = [*own(result, "hq", "CallManager", HQ[0]), *own(result, "hq", "TVS", HQ[0]),
              *own(result, "hq", "ITLRecovery", HQ[0]), *own(result, "hq", "tomcat-ECDSA", HQ[0]),
              *own(result, "branch", "CallManager", BRANCH_PUB)]
    selection = select_marked(lab.inventory, result, marked)
    # hq: TVS expires first (845 days) and is kept; CallManager (929) and ITLRecovery wait (§5.5). Another
    # cluster and a unit outside the rule are not held back.
    assert {(r.cluster, r.unit) for r in selection.renew} == {("hq", "TVS"), ("hq", "tomcat-ECDSA"),
                                                              ("branch", "CallManager")}
    waits = {(x.cluster, x.unit) for x in selection.left if x.kind == "never-together"}
    assert waits == {("hq", "CallManager"), ("hq", "ITLRecovery")}
    # One renewed there by another job in the last two days holds a marked one back too.
    lately = select_marked(lab.inventory, result, own(result, "branch", "CallManager", BRANCH_PUB),
                           recent={"branch": {"TVS": "job-7"}})
    assert lately.renew == ()
    [said] = lately.left
    assert said.kind == "never-together" and "job job-7" in said.reason


async def test_days_for_gives_a_cluster_its_own_limit(lab: LabRig) -> None:
    """The TUI's "everything due" uses each cluster's warn_days: hq's 60 reaches its tomcat (39 days),
    voicemail's 5 leaves its tomcat (9 days), branch's 7 is the one its high-risk hint names, presence
    keeps the default 10 (its cup, 24 days, is not due)."""
    result = await scan(lab)
    selection = select_due(lab.inventory, result, days=10, days_for={"hq": 60, "voicemail": 5, "branch": 7})
    assert {(r.cluster, r.unit) for r in selection.renew} == {("hq", "tomcat"), ("hq", "ipsec"),
                                                              ("branch", "tomcat")}
    [risky] = [x for x in selection.left if x.kind == "high-risk"]
    assert (risky.cluster, risky.unit) == ("branch", "CallManager") and "--due 7 " in risky.reason
    assert {(r.cluster, r.unit) for r in select_due(lab.inventory, result, days=10).renew} == {
        ("voicemail", "tomcat"), ("hq", "ipsec"), ("branch", "tomcat")}


async def test_an_unfinished_job_of_a_unit_this_version_does_not_know_is_no_crash(lab: LabRig) -> None:
    """A journal written by a newer ucterm may name a unit this one does not know: without --unit its
    cluster's unfinished job is resumed like any other; with --unit it is out of scope."""
    result = await scan(lab)
    job = JobSummary("job-new", "failed", "hq", "FutureUnit", [], [], status="failed")
    assert select_due(lab.inventory, result, days=10, jobs=[job]).resume == (job,)
    assert select_due(lab.inventory, result, days=10, units=("tomcat",), jobs=[job]).resume == ()


def make_runner(lab: LabRig, sink: Any = None) -> Any:
    def build(job: Job, pool: NodePool) -> Runner:
        def record(event: Event) -> Any:
            lab.events.append(event)
            return sink(event) if sink is not None else None
        return Runner(job, lab.inventory, CredentialStore(), sink=record, signer=LabCaSigner(lab.estate.ca),
                      settings=FAST, pool=pool, restart_now=True)
    return build


async def run_batch(lab: LabRig, days: int, units: tuple[str, ...], sink: Any = None) -> list[Any]:
    """What `ucterm renew --due` does, in-process: select, plan, run."""
    selection = await select(lab, days, units)
    result = await scan(lab)
    items = [BatchItem(j.cluster, j.unit, job_id=j.job) for j in selection.resume]
    items += [BatchItem(r.cluster, r.unit, plan=build_plan(lab.inventory, result, options_for(
        lab.inventory, result, r, signer=("lab", None)))) for r in selection.renew]
    batch = Batch(items, inventory=lab.inventory, credentials=CredentialStore(),
                  run_job=with_runners(make_runner(lab, sink)), batch_id=new_batch_id("test"), parallel=4)
    return await batch.run()


def assert_renewed_once(lab: LabRig, ambiguous: set[tuple[str, str]] = frozenset()) -> None:  # type: ignore[assignment]
    """One CSR and one upload per CSR node; every service restarted once, or twice where a kill cut its
    restart between the command and the node's answer (the one side effect a resume cannot tell)."""
    assert lab.counts.csr == {HQ[0]: 1, BRANCH_PUB: 1, CUC_PUB: 1}, lab.counts.csr
    assert lab.counts.identity == {HQ[0]: 1, BRANCH_PUB: 1, CUC_PUB: 1}, lab.counts.identity
    for key, count in lab.counts.restart.items():
        assert count == 1 or (count == 2 and key in ambiguous), (key, count)


async def test_the_batch_renews_every_due_tomcat_and_a_second_run_touches_nothing(lab: LabRig) -> None:
    results = await run_batch(lab, 60, ("tomcat",))
    assert sorted(r.item.label for r in results) == ["branch/tomcat", "hq/tomcat", "voicemail/tomcat"]
    assert all(r.state == "done" for r in results), [(r.item.label, r.state, r.error) for r in results]
    assert not due_tomcat(await scan(lab))
    assert_renewed_once(lab)
    jobs = list_jobs()
    assert len({j.batch for j in jobs}) == 1 and all(j.batch for j in jobs)
    again = await select(lab, 60, ("tomcat",))
    assert not again.renew and not again.resume


def _unacknowledged_restarts() -> set[tuple[str, str]]:
    """(node, service) of every restart whose command a kill may have cut before the node answered."""
    out: set[tuple[str, str]] = set()
    for summary in list_jobs():
        job = Journal.open(summary.job)
        for step in job.plan.steps_of("restart"):
            rec = job.steps[step.id]
            for key in rec.open_intents():
                if key.startswith("restart:") and not rec.intents[key].get("acknowledged"):
                    out.add((step.node or "", key[len("restart:"):]))
    return out


@pytest.mark.parametrize("seed", [3, 11, 29, 47, 101])
async def test_a_batch_killed_at_random_points_resumes_to_the_same_end(lab: LabRig, seed: int) -> None:
    rng = random.Random(seed)
    ambiguous: set[tuple[str, str]] = set()
    for _ in range(3):  # killed three times, each at a random event of whatever runs then
        kill_at = rng.randint(1, 120)
        seen = 0

        def sink(event: Event, kill_at: int = kill_at) -> None:
            nonlocal seen
            seen += 1
            if seen == kill_at:
                raise Kill

        try:
            await run_batch(lab, 60, ("tomcat",), sink)
        except Kill:
            ambiguous |= _unacknowledged_restarts()
        await asyncio.sleep(0)
    results = await run_batch(lab, 60, ("tomcat",))  # the next cron run
    assert all(r.state == "done" for r in results), [(r.item.label, r.state, r.error) for r in results]
    final = await select(lab, 60, ("tomcat",))
    assert not final.renew and not final.resume and not due_tomcat(await scan(lab))
    assert_renewed_once(lab, ambiguous)
    states = Counter(j.status for j in list_jobs())
    assert states == Counter(done=3), states
    for summary in list_jobs():  # each node serves the certificate its job installed
        job = Journal.open(summary.job)
        for node in job.plan.all_nodes:
            csr_node = job.plan.csr_nodes[0] if job.plan.multi_server else node
            leaf = pki.load_bundle((job.read_artifact(f"cert-{csr_node}.pem") or "").encode(), "t").certificates[0]
            assert lab.served_fp(node, "tomcat") == pki.sha256_hex(leaf), node


async def test_ucterm_renew_due_tomcat_lab_ca_yes_restart_now(lab: LabRig) -> None:
    """The issue's "done when": every due tomcat certificate of every cluster renewed, none due after."""
    r = await ucterm(lab, "renew", "--due", "60", "--unit", "tomcat", "--lab-ca", "--yes", "--restart-now",
                     "--json", timeout=120)
    assert r.code == 0, r.stderr
    doc = json.loads(r.stdout)
    assert sorted((j["cluster"], j["unit"], j["state"]) for j in doc["jobs"]) == [
        ("branch", "tomcat", "done"), ("hq", "tomcat", "done"), ("voicemail", "tomcat", "done")]
    assert all({"job", "state", "cluster", "unit", "steps", "csrs"} <= set(j) for j in doc["jobs"])
    assert doc["due_days"] == 60 and doc["batch"]
    assert "Traceback" not in r.stderr and "[" in r.stderr  # progress on stderr, JSON alone on stdout
    assert not due_tomcat(await scan(lab))
    # Run again (cron): nothing due, no new job, exit 0.
    again = await ucterm(lab, "renew", "--due", "60", "--unit", "tomcat", "--lab-ca", "--yes", "--json")
    assert again.code == 0, again.stderr
    assert json.loads(again.stdout)["jobs"] == [] and len(list_jobs()) == 3
    # The change record of a finished job is complete and holds no secret.
    job = next(j for j in doc["jobs"] if j["cluster"] == "hq")["job"]
    report = await ucterm(lab, "report", job)
    assert report.code == 0, report.stderr
    for section in ("## Summary", "## Scope", "## Plan, with the exact commands", "## Timeline", "## Restarts",
                    "## Certificates issued", "## Proof", "## What is left", "## Commands run"):
        assert section in report.stdout, section
    assert "Nothing: every step is done" in report.stdout and "batch" in report.stdout.lower()
    creds = lab.estate.credentials
    for secret in (creds.os_password, creds.app_password, "ucterm-lab-adcs"):
        assert secret not in report.stdout
        for path in Journal.open(job).folder.rglob("*"):
            if path.is_file():
                assert secret not in path.read_text("utf-8", errors="replace"), path


async def test_dry_run_prints_every_plan_and_changes_nothing(lab: LabRig) -> None:
    r = await ucterm(lab, "renew", "--due", "60", "--unit", "tomcat", "--dry-run")
    assert r.code == 0, r.stderr
    assert r.stdout.count("Renew tomcat on cluster") == 3 and "left alone" not in r.stdout
    assert not list_jobs() and not lab.counts.csr
    r = await ucterm(lab, "renew", "--due", "60", "--dry-run", "--json")
    doc = json.loads(r.stdout)
    assert {(p["cluster"], p["unit"]) for p in doc["plans"]} >= {("presence", "cup"), ("hq", "ipsec")}
    assert any(x["kind"] == "high-risk" and x["unit"] == "CallManager" for x in doc["left"])



async def test_a_due_run_that_cannot_run_exits_3_and_changes_nothing(lab: LabRig) -> None:
    """Bad arguments, no terminal to ask on without --yes, no node readable: exit 3 (cron tells them from a
    failed job, 2), said in one sentence; an unknown unit is named before any connection."""
    cases = [(("--due", "-1", "--yes"), "--due -1"), (("--due", "30", "--parallel", "0", "--yes"), "--parallel 0"),
             (("--due", "30", "--unit", "bogus", "--yes"), 'unknown unit "bogus"'),
             (("--due", "30", "--node", HQ[0], "--yes"), "--node names one job's nodes"),
             (("--due", "30", "--lab-ca", "--signer", "corp-adcs", "--yes"), "not both"),
             (("--due", "30"), "pass --yes")]
    for args, said in cases:
        r = await ucterm(lab, "renew", *args)
        assert r.code == 3, (args, r.stderr)
        assert said in r.stderr and "scanning" not in r.stderr, (args, r.stderr)
    for node in (n for c in lab.inventory.clusters for n in c.nodes):
        await lab.estate.take_down(node.fqdn)
    r = await ucterm(lab, "renew", "--due", "30", "--yes", timeout=60)
    assert r.code == 3 and "no node of 4 cluster(s) could be read" in r.stderr, r.stderr
    assert list_jobs() == [] and not lab.counts.csr


def _set_windows(lab: LabRig, window: str) -> None:
    """Give every cluster of the lab's inventory file this maintenance window."""
    import tomllib

    from ucterm.files import write_toml
    from ucterm.inventory import load_inventory

    document = tomllib.loads(lab.inventory_path.read_text())
    for cluster in document["cluster"]:
        cluster["maintenance_window"] = window
    write_toml(lab.inventory_path, document, mode=0o600)
    lab.inventory = load_inventory(lab.inventory_path)


async def test_outside_the_window_the_batch_waits_before_restarts_and_a_run_inside_finishes(lab: LabRig) -> None:
    from datetime import UTC, datetime, timedelta

    now = datetime.now(UTC)
    closed = f"daily {now + timedelta(hours=3):%H:%M}-{now + timedelta(hours=4):%H:%M} UTC"
    _set_windows(lab, closed)
    r = await ucterm(lab, "renew", "--due", "60", "--unit", "tomcat", "--lab-ca", "--yes", "--json", timeout=120)
    assert r.code == 4, r.stderr
    doc = json.loads(r.stdout)
    assert [j["state"] for j in doc["jobs"]] == ["waiting"] * 3
    assert all(j["window"] and j["detail"].startswith("restarts wait for daily") for j in doc["jobs"])
    assert "restarts wait for daily" in r.stderr and not lab.counts.restart
    assert lab.counts.identity == {HQ[0]: 1, BRANCH_PUB: 1, CUC_PUB: 1}  # everything up to the restarts is done
    # The next run, inside the window (the inventory's window now holds this moment): it resumes the same jobs.
    _set_windows(lab, f"daily {now - timedelta(minutes=30):%H:%M}-{now + timedelta(hours=1):%H:%M} UTC")
    again = await ucterm(lab, "renew", "--due", "60", "--unit", "tomcat", "--yes", "--json", timeout=120)
    assert again.code == 0, again.stderr
    assert sorted(j["job"] for j in json.loads(again.stdout)["jobs"]) == sorted(j["job"] for j in doc["jobs"])
    assert len(list_jobs()) == 3 and not due_tomcat(await scan(lab))
    assert_renewed_once(lab)
