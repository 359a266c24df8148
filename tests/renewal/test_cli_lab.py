"""`ucterm renew` / `resume` / `jobs` as users run them: separate processes against the lab.

The lab runs in the test's event loop, so every command is an asyncio subprocess. One test kills
`ucterm renew` with SIGKILL in the middle of a restart and finishes the job with `ucterm resume`.
"""

from __future__ import annotations

import asyncio
import json
import os
import signal
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from ucterm import pki
from ucterm.renewal import Journal

if TYPE_CHECKING:
    from .conftest import LabRig


@dataclass
class Result:
    code: int
    stdout: str
    stderr: str


async def ucterm(lab: LabRig, *args: str, timeout: float = 30) -> Result:
    """Run ucterm as a script would: no terminal at all (its own session, so not even the controlling
    terminal of whoever runs the tests). A hang is reported with every thread's stack (faulthandler
    on SIGABRT)."""
    proc = await asyncio.create_subprocess_exec(
        sys.executable, "-X", "faulthandler", "-m", "ucterm", "--inventory", str(lab.inventory_path), *args,
        stdin=asyncio.subprocess.DEVNULL, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
        env={**os.environ, "NO_COLOR": "1"}, start_new_session=True)
    try:
        out, err = await asyncio.wait_for(proc.communicate(), timeout)
    except TimeoutError:
        proc.send_signal(signal.SIGABRT)
        out, err = await proc.communicate()
        raise AssertionError(f"ucterm {' '.join(args)} did not finish in {timeout:g} s:\n{err.decode()[-4000:]}") \
            from None
    return Result(proc.returncode if proc.returncode is not None else -1, out.decode(), err.decode())


async def test_dry_run_prints_the_plan_and_creates_nothing(lab: LabRig) -> None:
    r = await ucterm(lab, "renew", "--cluster", "hq", "--unit", "tomcat", "--multi-server", "--dry-run")
    assert r.code == 0, r.stderr
    assert "POST https://127.0.0.1:" in r.stdout and "utils service restart Cisco Tomcat" in r.stdout
    assert "Traceback" not in r.stderr
    assert not Journal.root().exists() or not list(Journal.root().iterdir())
    r = await ucterm(lab, "renew", "--cluster", "hq", "--unit", "tomcat", "--dry-run", "--json")
    assert json.loads(r.stdout)["plan"]["unit"] == "tomcat"


async def test_refusals_are_one_sentence(lab: LabRig) -> None:
    r = await ucterm(lab, "renew", "--cluster", "branch", "--unit", "CallManager")
    assert r.code == 2 and "--yes" in r.stderr and r.stdout == ""
    r = await ucterm(lab, "renew", "--cluster", "branch", "--unit", "CallManager", "--read-only", "--yes")
    assert r.code == 2 and "read-only" in r.stderr
    r = await ucterm(lab, "renew", "--cluster", "branch", "--unit", "cup", "--yes")
    assert r.code == 2 and "has no cup certificate" in r.stderr
    assert all("Traceback" not in x for x in (r.stderr, r.stdout))


async def test_waiting_then_resume_with_the_ca_files(lab: LabRig, tmp_path: Path) -> None:
    r = await ucterm(lab, "renew", "--cluster", "branch", "--unit", "CallManager", "--yes", "--json")
    assert r.code == 4, r.stderr
    summary = json.loads(r.stdout)
    assert summary["state"] == "waiting" and summary["cluster"] == "branch" and summary["unit"] == "CallManager"
    assert {c["node"] for c in summary["csrs"]} == {"cucm125-pub.lab.example", "cucm125-sub1.lab.example"}
    assert all({"name", "node", "state", "detail"} <= set(s) for s in summary["steps"])
    assert "[1/" in r.stderr  # progress on stderr, JSON alone on stdout
    issued = tmp_path / "from-ca"
    issued.mkdir()
    for c in summary["csrs"]:
        leaf, chain = lab.estate.ca.sign(Path(c["path"]).read_text())
        (issued / f"{c['node']}.cer").write_text(leaf)
        (issued / "chain.p7").write_text("".join(chain))
    r = await ucterm(lab, "resume", summary["job"], "--signed", str(issued), "--yes", "--json")
    assert r.code == 0, r.stderr
    assert json.loads(r.stdout)["state"] == "done"
    r = await ucterm(lab, "jobs", "--json")
    assert [j["state"] for j in json.loads(r.stdout)] == ["done"]
    r = await ucterm(lab, "jobs")
    assert summary["job"] in r.stdout and "done" in r.stdout


async def test_kill_9_during_a_restart_then_resume(lab: LabRig) -> None:
    proc = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "ucterm", "--inventory", str(lab.inventory_path), "renew", "--cluster", "hq",
        "--unit", "tomcat", "--multi-server", "--lab-ca", "--yes", "--json",
        stdin=asyncio.subprocess.DEVNULL, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE)
    assert proc.stderr is not None
    job_id = None
    seen: list[str] = []
    while True:
        line = (await asyncio.wait_for(proc.stderr.readline(), 60)).decode()
        assert line, "ucterm renew ended before its restarts: " + "".join(seen[-20:])
        seen.append(line)
        if line.startswith("ucterm: job "):
            job_id = line.split()[2]
        if "cucm14-sub1.lab.example < Cisco Tomcat[STOPPING]" in line:
            proc.send_signal(signal.SIGKILL)
            break
    await proc.wait()
    assert proc.returncode == -signal.SIGKILL and job_id
    killed = Journal.open(job_id)
    assert killed.state == "running" and killed.steps["restart:cucm14-pub.lab.example"].state == "done"
    r = await ucterm(lab, "resume", job_id, "--yes", "--json")
    assert r.code == 0, r.stderr
    assert "reconciling after an interruption" in r.stderr
    final = Journal.open(job_id)
    leaf = pki.load_bundle((final.read_artifact("cert-cucm14-pub.lab.example.pem") or "").encode(), "t")
    for node in final.plan.nodes:
        assert lab.served_fp(node, "tomcat") == pki.sha256_hex(leaf.certificates[0])
    assert lab.counts.csr == {"cucm14-pub.lab.example": 1} and lab.counts.identity == {"cucm14-pub.lab.example": 1}
    assert max(lab.counts.restart.values()) == 1
