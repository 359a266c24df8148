"""Damaged job folders: one line in `ucterm jobs`, a refusal of `resume`, never a traceback, and the
other jobs listed as usual. Run through the real command line (child processes)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest

from ucterm.inventory import parse_inventory
from ucterm.renewal.journal import Job, Journal
from ucterm.renewal.model import PlanOptions
from ucterm.renewal.plan import build_plan

INVENTORY = """
[defaults]
os_user = "admin"
os_password = "env:HOSTILE_TEST_PASSWORD"

[[cluster]]
name = "hq"
product = "cucm"
version = "14.0.1.13900-155"

[[cluster.node]]
fqdn = "pub.hq.example.com"
address = "127.0.0.1"
role = "publisher"
"""


def ucterm(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "ucterm", *args], capture_output=True, text=True, timeout=60,
                          stdin=subprocess.DEVNULL, env={**os.environ, "NO_COLOR": "1"})


@pytest.fixture
def inventory_path(tmp_path: Path) -> Path:
    path = tmp_path / "inventory.toml"
    path.write_text(INVENTORY)
    path.chmod(0o600)
    return path


def new_job(inventory_path: Path, unit: str = "tomcat") -> Job:
    inventory = parse_inventory(INVENTORY, path=inventory_path)
    return Journal.create(build_plan(inventory, None, PlanOptions("hq", unit)), inventory_path)


def _log(job: Job, line: bytes) -> None:
    with (job.folder / "log.jsonl").open("ab") as fh:
        fh.write(line + b"\n")


def _meta(job: Job, change: Callable[[dict], object]) -> None:  # type: ignore[type-arg]
    meta = json.loads((job.folder / "job.json").read_text())
    (job.folder / "job.json").write_text(json.dumps(change(meta)))


def _drop_step_name(meta: dict) -> dict:  # type: ignore[type-arg]
    del meta["plan"]["steps"][2]["name"]
    return meta


def _drop_plan(meta: dict) -> dict:  # type: ignore[type-arg]
    del meta["plan"]
    return meta


DAMAGE: dict[str, tuple[Callable[[Job], None], str]] = {
    "step record without state": (lambda j: _log(j, json.dumps({"type": "step", "step": j.plan.steps[0].id}).encode()),
                                  "log.jsonl line 2 is a step record without a `state`"),
    "fact record without key": (lambda j: _log(j, b'{"type": "fact", "value": 1}'),
                                "log.jsonl line 2 is a fact record without a `key`"),
    "job record with a list state": (lambda j: _log(j, b'{"type": "job", "state": ["done"]}'),
                                     "log.jsonl line 2 is a job record whose `state` is not text"),
    "100,000-deep line": (lambda j: _log(j, b"[" * 100_000 + b"]" * 100_000),
                          "log.jsonl line 2 is nested too deeply to be a record"),
    "a line that is not a record": (lambda j: _log(j, b"[1, 2]"), "log.jsonl line 2 is not a record"),
    "job.json is []": (lambda j: (j.folder / "job.json").write_text("[]"), "job.json holds list, not a job"),
    "job.json lacks plan": (lambda j: _meta(j, _drop_plan), "job.json has no `plan`"),
    "a step without name": (lambda j: _meta(j, _drop_step_name), "job.json plan.steps[2] has no `name`"),
    "job.json is deep": (lambda j: (j.folder / "job.json").write_text("[" * 100_000),
                         "job.json is nested too deeply to be a job"),
}


@pytest.mark.parametrize("case", sorted(DAMAGE))
def test_a_damaged_job_is_one_line_and_the_others_list_as_usual(case: str, inventory_path: Path) -> None:
    sound = new_job(inventory_path, "CallManager")
    damaged = new_job(inventory_path)
    damage, reason = DAMAGE[case]
    damage(damaged)

    listed = ucterm("jobs", "--inventory", str(inventory_path))
    assert listed.returncode == 0 and "Traceback" not in listed.stderr, listed.stderr
    rows = {line.split()[0]: line for line in listed.stdout.splitlines()[1:]}
    assert set(rows) == {sound.id, damaged.id}
    assert "damaged" in rows[damaged.id] and reason in rows[damaged.id], rows[damaged.id]
    assert "interrupted" in rows[sound.id].split()  # journaled as running, and no ucterm runs it

    as_json = ucterm("jobs", "--json", "--inventory", str(inventory_path))
    by_id = {j["job"]: j for j in json.loads(as_json.stdout)}
    assert by_id[damaged.id]["state"] == "failed" and reason in by_id[damaged.id]["damaged"]
    assert by_id[sound.id]["damaged"] is None

    resumed = ucterm("resume", damaged.id, "--yes", "--inventory", str(inventory_path))
    assert resumed.returncode == 3 and resumed.stdout == ""
    lines = resumed.stderr.strip().splitlines()
    assert len(lines) == 1 and f"job {damaged.id} is damaged ({reason}" in lines[0], resumed.stderr


def test_a_damaged_job_blocks_a_new_renewal_of_the_same_unit(inventory_path: Path) -> None:
    job = new_job(inventory_path)
    (job.folder / "job.json").write_text(json.dumps({"id": job.id, "plan": {"cluster": "hq", "unit": "tomcat"}}))
    result = ucterm("renew", "--inventory", str(inventory_path), "--cluster", "hq", "--unit", "tomcat", "--yes")
    assert result.returncode != 0 and "Traceback" not in result.stderr
    assert f"job {job.id} for tomcat on cluster hq is damaged" in result.stderr


def test_a_torn_last_line_is_still_not_damage(inventory_path: Path) -> None:
    job = new_job(inventory_path)
    with (job.folder / "log.jsonl").open("ab") as fh:
        fh.write(b'{"type": "step", "step": "x", "sta')
    Journal.open(job.id).set_state("waiting", "for the CA")  # a new process terminates the torn line first
    assert Journal.open(job.id).state == "waiting"
