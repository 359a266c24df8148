"""Benchmark: how much of a renewal is more than Cisco's restarts, read from the jobs' journals.

    .venv/bin/python bench/renew.py [--profile realistic] [--skip-single] [--skip-batch]

The demo lab runs in a child process (`ucterm lab --profile realistic`: a CLI banner takes 4 s,
commands 0.1-0.5 s, a Cisco Tomcat restart 45 s, Unity Connection's 120 s), so that its CPU does
not share the client's event loop. The client does what `ucterm renew` does, in this process:

1. a single-server renewal of CallManager on the two nodes of cluster branch (survey, plan, job;
   the job reuses the survey's sessions), signed by the lab CA;
2. an estate batch, `ucterm renew --due 60 --unit tomcat --lab-ca` on the lab's clusters (hq
   multi-server on three nodes, branch and voicemail single-server on their publishers).

From each job's journal (the `running` record of a step to its last state record):

- job wall time: from the run's start to the job's end;
- restart steps: the time spent in restart steps, Cisco's serial floor (one node at a time,
  publisher first, §3), which no client can shorten;
- the slowest node's own work: per node, the time its non-restart steps took (its preflight, CSR,
  save, signing, validation, uploads, verification), the largest of them;
- overhead = wall - restarts, and overhead / the slowest node's own work: 1.0 would be the
  steps outside the restarts costing no more than one node's, as if every node were the only one.
  Goal: <= 1.3 for the single-server renewal.

For the batch: its wall time (the first job's start to the last job's end, from the journals) over
its slowest job's wall time (goal <= 1.2: clusters side by side cost the slowest of them). The
scan before the batch and the survey before the single job are printed apart: they are not in
the journals. Prints the figures and exits; the lab child is stopped on the way out.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import queue
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, replace
from datetime import datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))


#: How long the lab child may take to listen (it makes every node's keys and certificates first).
LAB_START_TIMEOUT = 120.0


@contextmanager
def lab_child(profile: str, folder: Path) -> Iterator[Path]:
    """`ucterm lab` in a child process; yields its inventory once it listens. Its stderr goes to
    `lab.log` in `folder`, shown if it ends early; it is stopped (SIGTERM, then SIGKILL) on the way out."""
    inventory = folder / "lab" / "inventory.toml"
    inventory.parent.mkdir(parents=True)
    log = folder / "lab.log"
    env = {**os.environ, "UCTERM_HOME": str(folder / "lab-home")}
    with log.open("w") as err:
        proc = subprocess.Popen([sys.executable, "-m", "ucterm", "lab", "--profile", profile, "--write-inventory",
                                 str(inventory)], stdout=subprocess.PIPE, stderr=err, text=True, env=env, cwd=ROOT)
    lines: queue.Queue[str | None] = queue.Queue()

    def read() -> None:  # the whole listing, so the child never blocks on a full pipe
        assert proc.stdout is not None
        for line in proc.stdout:
            lines.put(line)
        lines.put(None)

    threading.Thread(target=read, daemon=True).start()
    try:
        deadline = time.monotonic() + LAB_START_TIMEOUT
        while True:
            try:
                line = lines.get(timeout=max(0.0, deadline - time.monotonic()))
            except queue.Empty:
                raise SystemExit(f"the lab child did not listen within {LAB_START_TIMEOUT:.0f} s") from None
            if line is None:
                raise SystemExit(f"the lab child ended before it listened:\n{log.read_text()}")
            if line.startswith("Press Ctrl+C"):
                break
        yield inventory
    finally:
        proc.terminate()
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


def _ts(text: str) -> datetime:
    return datetime.fromisoformat(text.replace("Z", "+00:00"))


@dataclass(frozen=True)
class JobTimes:
    job: str
    label: str
    start: datetime
    end: datetime
    restarts: float
    #: node -> seconds of its non-restart steps
    node_work: dict[str, float]

    @property
    def wall(self) -> float:
        return (self.end - self.start).total_seconds()

    @property
    def overhead(self) -> float:
        return self.wall - self.restarts

    @property
    def slowest(self) -> tuple[str, float]:
        node = max(self.node_work, key=lambda n: self.node_work[n])
        return node, self.node_work[node]


def job_times(job_id: str) -> JobTimes:
    """The figures of one job, from its journal alone."""
    from ucterm.renewal import Journal

    job = Journal.open(job_id)
    records = list(job.records())
    runs = [_ts(r["ts"]) for r in records if r.get("type") == "run"]
    ends = [_ts(r["ts"]) for r in records if r.get("type") == "job" and r.get("state") == "done"]
    began: dict[str, datetime] = {}
    ended: dict[str, datetime] = {}
    for r in records:
        if r.get("type") != "step":
            continue
        if r["state"] == "running":
            began.setdefault(r["step"], _ts(r["ts"]))
        elif r["state"] in ("done", "skipped", "failed"):
            ended[r["step"]] = _ts(r["ts"])
    restarts = 0.0
    work: dict[str, float] = {}
    for step in job.plan.steps:
        if step.id not in began or step.id not in ended:
            continue
        seconds = (ended[step.id] - began[step.id]).total_seconds()
        if step.kind == "restart":
            restarts += seconds
        else:
            work[step.node or "-"] = work.get(step.node or "-", 0.0) + seconds
    if not runs or not ends:
        raise SystemExit(f"job {job_id} did not finish: {job.state} ({job.detail})")
    return JobTimes(job.id, f"{job.plan.cluster}/{job.plan.unit}", runs[0], ends[-1], restarts, work)


def ratio(part: float, whole: float) -> float:
    return part / whole if whole > 0 else float("inf")


def show(t: JobTimes, goal: float | None = None) -> None:
    node, work = t.slowest
    print(f"  job wall              {t.wall:7.1f} s   ({t.job})")
    print(f"  restart steps         {t.restarts:7.1f} s   (Cisco's serial floor)")
    print(f"  overhead              {t.overhead:7.1f} s   (wall - restarts)")
    print(f"  slowest node's work   {work:7.1f} s   ({node}, its non-restart steps)")
    verdict = f"  (goal <= {goal})" if goal is not None else ""
    print(f"  overhead / slowest node's work = {ratio(t.overhead, work):.2f}{verdict}")


async def single(inventory_path: Path) -> None:
    """`ucterm renew --cluster branch --unit CallManager --single-server --lab-ca --yes --restart-now`."""
    from ucterm.credentials import CredentialStore
    from ucterm.inventory import load_inventory
    from ucterm.renewal import Journal, Runner, build_plan, defaults_for, list_jobs
    from ucterm.renewal.journal import recent_units
    from ucterm.renewal.nodes import NodePool
    from ucterm.renewal.signers import lab_ca_signer
    from ucterm.renewal.survey import survey

    inventory = load_inventory(inventory_path)
    credentials = CredentialStore()
    pool = NodePool(credentials)
    try:
        started = time.perf_counter()
        scan = await survey(inventory, "branch", "CallManager", credentials, pool=pool)
        surveyed = time.perf_counter() - started
        down = [n for n in scan.nodes if not n.reachable]
        if down:
            raise SystemExit(f"the survey could not read {down[0].node}: {down[0].error}")
        options = defaults_for(inventory, scan, "branch", "CallManager", False)
        plan = build_plan(inventory, scan, replace(options, signer="lab",
                                                   recent_units=recent_units("branch", list_jobs())))
        job = Journal.create(plan, inventory.path)
        runner = Runner(job, inventory, credentials, pool=pool, restart_now=True,
                        signer=lab_ca_signer(inventory.cluster("branch").settings.lab_ca))
        state = await runner.run()
        if state != "done":
            raise SystemExit(f"the single-server renewal ended {state}: {Journal.open(job.id).detail}")
    finally:
        await pool.close()
    print(f"single-server renewal: CallManager on the 2 nodes of cluster branch ({len(plan.steps)} steps)")
    show(job_times(job.id), goal=1.3)
    print(f"  survey before the job {surveyed:7.1f} s   (its sessions are the job's: one login per node)")


async def batch(inventory_path: Path) -> None:
    """`ucterm renew --due 60 --unit tomcat --lab-ca --yes --restart-now`, as cli/due.py runs it."""
    from ucterm.credentials import CredentialStore
    from ucterm.inventory import load_inventory
    from ucterm.renewal import Job, Runner, build_plan, list_jobs
    from ucterm.renewal.batch import Batch, BatchItem, installed_by_finished_jobs, new_batch_id, with_runners
    from ucterm.renewal.due import options_for, select_due
    from ucterm.renewal.journal import recent_units
    from ucterm.renewal.nodes import NodePool
    from ucterm.renewal.signers import lab_ca_signer
    from ucterm.scan import scan_estate

    inventory = load_inventory(inventory_path)
    credentials = CredentialStore()
    names = [c.name for c in inventory.clusters]
    started = time.perf_counter()
    scan = await scan_estate(inventory, credentials, clusters=names, probe=False)
    scanned = time.perf_counter() - started
    jobs = list_jobs()
    selection = select_due(inventory, scan, days=60, clusters=names, units=("tomcat",), jobs=jobs,
                           installed=installed_by_finished_jobs(jobs, names),
                           recent={n: recent_units(n, jobs) for n in names})
    problems = [x.reason for x in selection.left if x.weight == "error"]
    if problems or selection.resume:
        raise SystemExit(f"the lab's due tomcat certificates are not what this benchmark expects: {problems}, "
                         f"{len(selection.resume)} job(s) to resume")
    items = [BatchItem(r.cluster, r.unit, plan=build_plan(inventory, scan, options_for(
        inventory, scan, r, signer=("lab", None), recent=recent_units(r.cluster, jobs)))) for r in selection.renew]

    def make_runner(job: Job, pool: NodePool) -> Runner:
        return Runner(job, inventory, credentials, pool=pool, restart_now=True,
                      signer=lab_ca_signer(inventory.cluster(job.plan.cluster).settings.lab_ca))

    results = await Batch(items, inventory=inventory, credentials=credentials, run_job=with_runners(make_runner),
                          batch_id=new_batch_id("bench"), parallel=4).run()
    bad = [r for r in results if r.state != "done"]
    if bad:
        raise SystemExit(f"the batch did not finish: {[(r.item.label, r.state, r.error) for r in bad]}")
    times = [job_times(r.job or "") for r in results]
    wall = (max(t.end for t in times) - min(t.start for t in times)).total_seconds()
    slowest = max(times, key=lambda t: t.wall)
    kinds = {f"{r.cluster}/{r.unit}": "multi-server" if r.multi_server else f"single-server on {len(r.nodes)}"
             for r in selection.renew}
    clusters = len({t.label.split("/", 1)[0] for t in times})
    print(f"estate batch: renew --due 60 --unit tomcat on the lab's clusters ({len(times)} jobs on {clusters} "
          "clusters, up to 4 side by side)")
    for t in sorted(times, key=lambda t: t.label):
        node, work = t.slowest
        kind = kinds.get(t.label, "")
        print(f"  {t.label:<18} {kind:<18} wall {t.wall:6.1f} s, restarts {t.restarts:6.1f} s, overhead "
              f"{t.overhead:5.1f} s, slowest node's work {work:5.1f} s ({node}): {ratio(t.overhead, work):.2f}")
    print(f"  batch wall            {wall:7.1f} s   (first job's start to last job's end)")
    print(f"  slowest job           {slowest.wall:7.1f} s   ({slowest.label})")
    print(f"  batch / slowest job = {ratio(wall, slowest.wall):.2f}  (goal <= 1.2)")
    print(f"  scan before the batch {scanned:7.1f} s   (not in the journals)")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--profile", default="realistic", choices=("fast", "demo", "realistic"))
    parser.add_argument("--skip-single", action="store_true")
    parser.add_argument("--skip-batch", action="store_true")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="ucterm-bench-renew-") as tmp:
        folder = Path(tmp)
        os.environ["UCTERM_HOME"] = str(folder / "home")
        print(f"lab profile {args.profile}, client and lab in separate processes on 127.0.0.1")
        with lab_child(args.profile, folder) as inventory:
            if not args.skip_single:
                asyncio.run(single(inventory))
            if not args.skip_batch:
                asyncio.run(batch(inventory))


if __name__ == "__main__":
    main()
