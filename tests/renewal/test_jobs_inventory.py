"""`ucterm jobs` says which inventory each job belongs to and lists the current inventory's by default."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from ucterm import paths
from ucterm.inventory import Inventory
from ucterm.renewal import Journal, build_plan, defaults_for


def _ucterm(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "ucterm", *args], capture_output=True, text=True)


def test_jobs_of_the_current_inventory_and_all_with_their_inventory(inventory: Inventory, tmp_path: Path) -> None:
    plan = build_plan(inventory, None, defaults_for(inventory, None, "hq", "tomcat", True))
    prod, lab = tmp_path / "prod.toml", tmp_path / "lab.toml"
    demo = paths.state_dir() / "demo" / "inventory.toml"
    Journal.create(plan, prod, job_id="20261127-080000-hq-tomcat-prod")
    Journal.create(plan, lab, job_id="20261127-090000-hq-tomcat-lab1")
    Journal.create(plan, demo, job_id="20261127-100000-hq-tomcat-demo")

    r = _ucterm("--inventory", str(prod), "jobs")
    assert r.returncode == 0, r.stderr
    assert "prod" in r.stdout and "lab1" not in r.stdout and "-demo" not in r.stdout
    assert "INVENTORY" in r.stdout and "prod.toml" in r.stdout
    assert "2 jobs of other inventories: `ucterm jobs --all`" in r.stdout

    r = _ucterm("--inventory", str(prod), "jobs", "--all")
    assert all(j in r.stdout for j in ("tomcat-prod", "tomcat-lab1", "tomcat-demo"))
    demo_line = next(line for line in r.stdout.splitlines() if "tomcat-demo" in line)
    assert " demo " in demo_line

    listed = json.loads(_ucterm("--inventory", str(lab), "jobs", "--json").stdout)
    assert [j["job"] for j in listed] == ["20261127-090000-hq-tomcat-lab1"]
    assert listed[0]["inventory"] == str(lab.resolve())

    r = _ucterm("--inventory", str(tmp_path / "other.toml"), "jobs")
    assert r.returncode == 0 and "no renewal jobs for" in r.stdout and "3 jobs of other inventories" in r.stdout
