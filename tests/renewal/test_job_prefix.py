"""Job ids are long (`20261127-080000-hq-tomcat-3f2a`): any unique prefix names a job."""

from __future__ import annotations

import subprocess
import sys

import pytest

from ucterm.inventory import Inventory
from ucterm.renewal import Journal, build_plan, defaults_for
from ucterm.renewal.journal import JournalError


def _jobs(inventory: Inventory) -> list[str]:
    plan = build_plan(inventory, None, defaults_for(inventory, None, "hq", "tomcat", True))
    ids = ["20261127-080000-hq-tomcat-aa11", "20261127-080000-hq-tomcat-bb22", "20261128-090000-hq-tomcat-cc33"]
    for jid in ids:
        Journal.create(plan, None, job_id=jid)
    return ids


def test_a_unique_prefix_opens_the_job(inventory: Inventory) -> None:
    ids = _jobs(inventory)
    assert Journal.open("20261128").id == ids[2]
    assert Journal.open("20261127-080000-hq-tomcat-b").id == ids[1]
    assert Journal.open(ids[0]).id == ids[0]


def test_an_ambiguous_prefix_names_the_matches_in_one_sentence(inventory: Inventory) -> None:
    ids = _jobs(inventory)
    with pytest.raises(JournalError) as info:
        Journal.open("20261127")
    text = str(info.value)
    assert ids[0] in text and ids[1] in text and ids[2] not in text and "give more of it" in text
    assert text.count(".") >= 1 and "\n" not in text


def test_the_command_line_takes_a_prefix(inventory: Inventory) -> None:
    ids = _jobs(inventory)
    r = subprocess.run([sys.executable, "-m", "ucterm", "report", "20261128"], capture_output=True, text=True)
    assert r.returncode == 0 and ids[2] in r.stdout, r.stderr
    r = subprocess.run([sys.executable, "-m", "ucterm", "report", "2026112"], capture_output=True, text=True)
    assert r.returncode != 0 and "is the start of 3 job ids" in r.stderr and "Traceback" not in r.stderr
