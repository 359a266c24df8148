"""`ucterm renew --due DAYS`: every identity certificate that expires within DAYS, renewed, from cron.

Contract (design.md §3): a fresh scan of the chosen clusters, one job per cluster and unit, like
for like (:mod:`ucterm.renewal.due`), clusters side by side (:mod:`ucterm.renewal.batch`). Exit 0
when every job is done (or nothing is due), 2 when any failed or something due could not be
renewed (a cluster not read in full, a certificate not renewable like for like), 4 when none
failed and some wait (for the CA, an approval, the maintenance window), 3 when it could not run
at all (bad inventory or arguments, no node readable: nothing changed). With `--json` stdout is
`{"jobs": [<job summary>, ...]}` and nothing else; the compatible extras `left` (what was not
renewed, and why), `batch` and `due_days` ride along.

Run again (the next cron run, a timer), it converges: the unfinished jobs of its clusters and
units are resumed instead of refused, a certificate whose restarts wait for the window is picked
up inside it, and what is done is not touched again.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
from collections.abc import Sequence
from typing import TextIO

from ucterm.cli.renew import (
    Printer,
    SignerChoice,
    _ask_passwords_first,
    _confirm_for,
    _credentials,
    _signer,
    next_steps,
)
from ucterm.cli.terminal import tell
from ucterm.credentials import CredentialStore
from ucterm.errors import UctermError
from ucterm.inventory import Inventory, load_inventory
from ucterm.renewal.batch import (
    Batch,
    BatchItem,
    BatchResult,
    installed_by_finished_jobs,
    new_batch_id,
    with_runners,
)
from ucterm.renewal.due import DueError, DueSelection, LeftAlone, named_units, options_for, select_due
from ucterm.renewal.journal import Job, JobSummary, Journal, list_jobs, recent_units
from ucterm.renewal.model import Plan
from ucterm.renewal.nodes import NodePool
from ucterm.renewal.plan import build_plan, render
from ucterm.renewal.runner import Confirm, RenewalError, Runner
from ucterm.scan import scan_estate
from ucterm.scan.model import ScanResult
from ucterm.text import visible

__all__ = ["exit_code", "run_due"]


def run_due(args: argparse.Namespace, *, out: TextIO | None = None) -> int:
    out = out or sys.stdout
    days = int(args.due)
    if days < 0:
        raise DueError(f"--due {days}: give the number of days ahead (0 renews what expires today or has "
                           "expired).")
    parallel = 4 if args.parallel is None else int(args.parallel)
    if parallel < 1:
        raise DueError(f"--parallel {parallel}: run at least one cluster at a time.")
    for option in ("node", "signed", "chain"):
        if getattr(args, option, None):
            raise DueError(f"--{option} names one job's nodes or files; with --due every job is planned from "
                               "the scan (renew one cluster and unit to use it).")
    if args.multi_server or args.single_server or args.regenerate_csr:
        raise DueError("--due renews like for like (multi-server stays multi-server, single-server stays "
                           "single-server) and never replaces an outstanding CSR; renew one cluster and unit "
                           "to choose otherwise.")
    named_units(args.unit or ())  # an unknown unit is named before any connection
    inventory = load_inventory(args.inventory)
    clusters: list[str] = list(dict.fromkeys(args.cluster or ()))
    for name in clusters:
        inventory.cluster(name)  # so is an unknown cluster
    if getattr(args, "read_only", False) and not args.dry_run:
        raise DueError("renewals are disabled (--read-only); --dry-run still shows the plans.")
    if args.lab_ca and args.signer:
        raise DueError("give either --lab-ca or --signer NAME, not both: one CA signs a job's CSRs.")
    if args.signer:
        inventory.signer(args.signer)
    try:
        confirm = None if args.dry_run else _confirm_for(args)
    except RenewalError as exc:  # no terminal to ask on and no --yes: it could not run at all
        raise DueError(str(exc)) from None
    credentials = _credentials()
    chosen = [c for c in inventory.clusters if not clusters or c.name in clusters]
    _ask_passwords_first(inventory, credentials, [n.fqdn for c in chosen for n in c.ordered_nodes()])
    for c in chosen:
        if c.product == "imp" and c.cucm_cluster:
            _ask_passwords_first(inventory, credentials, [], axl_of=c.name)
    with asyncio.Runner() as loop:
        try:
            return _due(args, out, inventory, credentials, loop, days=days, clusters=clusters, parallel=parallel,
                        confirm=confirm)
        except KeyboardInterrupt:
            tell("\nucterm: interrupted; every job keeps what it did so far: run the same command again (it resumes "
                 "them), or see `ucterm jobs`.")
            return 130


def _due(args: argparse.Namespace, out: TextIO, inventory: Inventory, credentials: CredentialStore,
         loop: asyncio.Runner, *, days: int, clusters: Sequence[str], parallel: int, confirm: Confirm | None) -> int:
    names = [c.name for c in inventory.clusters if not clusters or c.name in clusters]
    print(visible(f"ucterm: scanning {len(names)} cluster(s) for identity certificates that expire within {days} "
                  "days"), file=sys.stderr)
    scan = loop.run(scan_estate(inventory, credentials, clusters=names, probe=False))
    jobs = list_jobs()
    selection = select_due(inventory, scan, days=days, clusters=names, units=args.unit or (), jobs=jobs,
                           installed=installed_by_finished_jobs(jobs, names),
                           recent={n: recent_units(n, jobs) for n in names})
    if scan.nodes and not any(n.reachable for n in scan.nodes) and not selection.resume:
        raise DueError(f"no node of {len(names)} cluster(s) could be read ({scan.nodes[0].node}: "
                           f"{scan.nodes[0].error or scan.nodes[0].state}); nothing was changed: fix the connection "
                           "and run again.")
    plans, left = _plans(inventory, scan, selection, args)
    if args.dry_run:
        return _dry_run(out, selection, plans, left, json_out=args.json)
    batch_id = new_batch_id(f"due{days}")
    items = [BatchItem(j.cluster, j.unit, job_id=j.job) for j in selection.resume]
    items += [BatchItem(p.cluster, p.unit, plan=p) for p in plans]
    if not items:
        return _report(out, [], left, selection, batch_id, json_out=args.json)
    lock = asyncio.Lock()

    def shared(label: str) -> Confirm | None:
        if confirm is None:
            return None

        async def ask(question: str) -> bool:  # one question on the terminal at a time, saying whose
            async with lock:
                return await confirm(f"[{label}] {question}")
        return ask

    def make_runner(job: Job, pool: NodePool) -> Runner:
        label = f"{job.plan.cluster}/{job.plan.unit}"
        # --lab-ca / --signer sign a resumed job's CSRs too (as `ucterm resume --signer` does); else its own.
        choice: SignerChoice = (_signer_choice(args, inventory, job.plan.cluster) if args.lab_ca or args.signer
                                else (job.plan.options.signer, job.plan.options.signer_name))
        return Runner(job, inventory, credentials, sink=Printer(job.plan, label=label, transcript=False),
                      signer=_signer(inventory, job.plan.cluster, choice), confirm=shared(label), pool=pool,
                      restart_now=args.restart_now)

    def started(job: Job, item: BatchItem) -> None:
        verb = "resuming" if item.plan is None else "job"
        print(visible(f"ucterm: {item.label}: {verb} {job.id} ({job.folder})"), file=sys.stderr)
        if item.plan is not None and item.plan.risks:
            print(visible("\n".join(f"ucterm: {item.label}: ! {r}" for r in item.plan.risks)), file=sys.stderr)

    batch = Batch(items, inventory=inventory, credentials=credentials, run_job=with_runners(make_runner),
                  batch_id=batch_id, parallel=parallel, on_job=started)
    results = loop.run(batch.run())
    return _report(out, results, left, selection, batch_id, json_out=args.json)


def _signer_choice(args: argparse.Namespace, inventory: Inventory, cluster: str) -> SignerChoice:
    if args.lab_ca:
        return "lab", None
    if args.signer:
        return "signer", args.signer
    configured = inventory.cluster(cluster).settings.signer
    return ("signer", configured) if configured else ("files", None)


def _plans(inventory: Inventory, scan: ScanResult, selection: DueSelection,
           args: argparse.Namespace) -> tuple[list[Plan], list[LeftAlone]]:
    """One plan per renewal; one that cannot be planned is left, with the planner's sentence."""
    plans: list[Plan] = []
    left = list(selection.left)
    jobs = list_jobs()
    for renewal in selection.renew:
        kind, name = _signer_choice(args, inventory, renewal.cluster)
        try:
            options = options_for(inventory, scan, renewal, signer=(kind, name),
                                  recent=recent_units(renewal.cluster, jobs))
            plans.append(build_plan(inventory, scan, options))
        except UctermError as exc:
            left.append(LeftAlone(renewal.cluster, renewal.unit, "not-like-for-like",
                                  f"{renewal.describe()} cannot be planned: {exc}", renewal.nodes))
    return plans, left


def _dry_run(out: TextIO, selection: DueSelection, plans: list[Plan], left: list[LeftAlone], *,
             json_out: bool) -> int:
    if json_out:
        out.write(json.dumps({"dry_run": True, "due_days": selection.days, "plans": [p.to_dict() for p in plans],
                              "jobs": [j.to_json() for j in selection.resume],
                              "left": [x.to_json() for x in left]}, indent=2) + "\n")
        return 0
    lines: list[str] = []
    for j in selection.resume:
        where = f" at step {j.stopped_at['number']} ({j.stopped_at['name']})" if j.stopped_at else ""
        lines.append(f"would resume job {j.job} ({j.unit} on cluster {j.cluster}, {j.status}{where})")
    for plan in plans:
        lines += ["", render(plan)]
    if left:
        lines += ["", "left alone:"] + [f"  - {x.reason}" for x in left]
    if not plans and not selection.resume:
        lines.insert(0, f"nothing to renew: no identity certificate expires within {selection.days} days"
                     + (" (see what is left alone below)" if left else ""))
    out.write(visible("\n".join(lines).lstrip("\n"), lines=True) + "\n")
    return 0


def _summaries(results: Sequence[BatchResult], left: Sequence[LeftAlone]) -> list[JobSummary]:
    """Every job the batch ran, then those it left (paused, aborted, running elsewhere): what is unfinished."""
    out: list[JobSummary] = []
    seen: set[str] = set()
    for job_id in [r.job for r in results if r.job] + [x.job for x in left if x.job and x.kind in ("left", "running")]:
        if job_id in seen or job_id is None:
            continue
        seen.add(job_id)
        try:
            out.append(Journal.open(job_id).summary())
        except UctermError:
            continue
    return out


def exit_code(summaries: Sequence[JobSummary], left: Sequence[LeftAlone], errors: Sequence[str] = ()) -> int:
    """design.md §3: 0 all done, 2 any failed (or something due not renewable), 4 none failed and some waiting."""
    states = [s.to_json()["state"] for s in summaries]
    if "failed" in states or errors or any(x.weight == "error" for x in left):
        return 2
    if "waiting" in states or "running" in states:
        return 4
    return 0


def _report(out: TextIO, results: Sequence[BatchResult], left: Sequence[LeftAlone], selection: DueSelection,
            batch_id: str, *, json_out: bool) -> int:
    summaries = _summaries(results, left)
    errors = [f"{r.item.label}: {r.error}" for r in results if r.error and r.state != "running"]
    code = exit_code(summaries, left, errors)
    if json_out:
        out.write(json.dumps({"jobs": [s.to_json() for s in summaries], "left": [x.to_json() for x in left],
                              "batch": batch_id if results else None, "due_days": selection.days}, indent=2) + "\n")
        for line in errors:
            print(visible(f"ucterm: {line}"), file=sys.stderr)
        return code
    lines: list[str] = []
    if not summaries:
        lines.append(f"nothing to renew: no identity certificate expires within {selection.days} days"
                     + (" that ucterm may renew (see below)" if left else ""))
    else:
        lines.append(f"batch {batch_id}: {len(summaries)} job(s), renewing what expires within {selection.days} days")
        width = max(len(f"{s.cluster}/{s.unit}") for s in summaries)
        for s in summaries:
            detail = s.detail or (f"stopped at step {s.stopped_at['number']}" if s.stopped_at else "")
            lines.append(f"  {f'{s.cluster}/{s.unit}':<{width}}  {s.status:<11} {s.job}" + (f": {detail}" if detail
                                                                                              else ""))
    for line in errors:
        lines.append(f"  ! {line}")
    if left:
        lines.append("left alone:")
        lines += [f"  - {x.reason}" for x in left]
    for s in summaries:
        if s.status != "done":
            lines += [f"{s.cluster}/{s.unit}: {n}" for n in next_steps(s, Journal.open(s.job).plan)]
    if any(s.status != "done" for s in summaries):
        lines.append("run the same command again to resume the unfinished jobs (cron or a timer can).")
    out.write(visible("\n".join(lines), lines=True) + "\n")
    return code
