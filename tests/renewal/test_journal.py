"""The journal: atomic, append-only, replayable after a crash, and free of secrets."""

from __future__ import annotations

import json
import os

import pytest

from ucterm.inventory import Inventory
from ucterm.renewal.journal import Journal, JournalError, active_jobs, list_jobs, recent_units
from ucterm.renewal.model import PlanOptions
from ucterm.renewal.plan import build_plan


def _job(inventory: Inventory, unit: str = "tomcat"):  # type: ignore[no-untyped-def]
    plan = build_plan(inventory, None, PlanOptions("hq", unit, multi_server=True))
    return Journal.create(plan, "/tmp/inventory.toml")


def test_create_open_and_replay(inventory: Inventory) -> None:
    job = _job(inventory)
    first = job.plan.steps[0].id
    job.set_step(first, "running")
    job.intent(first, "generate", {"before": None})
    job.fact("version:x", "14.0")
    job.set_step(first, "done", "ok")
    again = Journal.open(job.id)
    assert again.plan == job.plan
    assert again.steps[first].state == "done" and again.steps[first].detail == "ok"
    assert again.steps[first].open_intents() == ["generate"]
    assert again.facts["version:x"] == "14.0"
    assert again.state == "running" and again.inventory_path is not None


def test_a_torn_last_line_is_ignored_and_terminated(inventory: Inventory) -> None:
    job = _job(inventory)
    step = job.plan.steps[0].id
    job.set_step(step, "done", "ok")
    with (job.folder / "log.jsonl").open("ab") as fh:
        fh.write(b'{"type": "step", "step": "' + step.encode() + b'", "state": "fai')  # kill -9 mid-write
    reopened = Journal.open(job.id)
    assert reopened.steps[step].state == "done"
    reopened.set_step(step, "failed", "later")
    lines = (job.folder / "log.jsonl").read_bytes().splitlines()
    assert json.loads(lines[-1])["detail"] == "later"
    assert Journal.open(job.id).steps[step].state == "failed"


def test_secrets_never_reach_the_journal(inventory: Inventory) -> None:
    job = _job(inventory)
    job.redactor.add("s3cret-pass")
    job.event({"kind": "StepFailed", "error": "login as admin with s3cret-pass refused"})
    job.transcript("node1", "password: s3cret-pass")
    text = (job.folder / "log.jsonl").read_text() + (job.folder / "transcripts" / "node1.log").read_text()
    assert "s3cret-pass" not in text and "***" in text


def test_artifacts_are_atomic_and_private(inventory: Inventory) -> None:
    job = _job(inventory)
    path = job.write_artifact("csr-a.example.pem", "-----BEGIN CERTIFICATE REQUEST-----\n")
    assert path.read_text().startswith("-----BEGIN") and oct(path.stat().st_mode & 0o777) == "0o600"
    assert not [p for p in job.folder.iterdir() if p.name.endswith(".tmp")]
    assert job.read_artifact("missing") is None


def test_summary_contract(inventory: Inventory) -> None:
    job = _job(inventory)
    job.write_artifact("csr-cucm-pub.hq.example.com.pem", "x")
    job.set_state("waiting", "waiting for the CA")
    d = job.summary().to_json()
    assert {"job", "state", "cluster", "unit", "steps", "csrs"} <= set(d)
    assert d["state"] == "waiting" and d["cluster"] == "hq" and d["unit"] == "tomcat"
    assert {"name", "node", "state", "detail"} <= set(d["steps"][0])
    assert d["csrs"] == [{"node": "cucm-pub.hq.example.com",
                          "path": str(job.folder / "csr-cucm-pub.hq.example.com.pem")}]
    job.set_state("aborted", "by the user")
    assert job.summary().to_json()["state"] == "failed"


def test_listing_and_guards(inventory: Inventory) -> None:
    a = _job(inventory)
    b = _job(inventory, "CallManager")
    b.set_state("done", "")
    ids = [j.job for j in list_jobs()]
    assert set(ids) == {a.id, b.id}
    assert [j.job for j in active_jobs("hq", "TOMCAT")] == [a.id]
    assert recent_units("hq") == {"tomcat": a.id, "CallManager": b.id}
    with pytest.raises(JournalError, match="ucterm jobs"):
        Journal.open("nope")


def test_lock_refuses_a_second_runner(inventory: Inventory) -> None:
    job = _job(inventory)
    job.lock()
    other = Journal.open(job.id)
    try:
        with pytest.raises(JournalError, match=r"is being run by ucterm process \d+"):
            other.lock()
    finally:
        job.unlock()
    other.lock()
    other.unlock()
    assert os.path.exists(job.folder / "lock")
