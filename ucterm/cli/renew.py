"""`ucterm renew`, `ucterm resume`, `ucterm jobs`: the headless face of the renewal engine.

Contract (design.md §3): exit 0 done, 2 failed, 4 waiting for the signed certificate(s);
progress and the transcript on stderr; with `--json` the job summary, and nothing else, on
stdout. Without `--yes` a person must be there to answer the confirmations (a terminal); a
script that forgets `--yes` is stopped before anything happens, not halfway.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import TextIO

from ucterm import paths
from ucterm.credentials import CredentialStore, terminal_prompter
from ucterm.events import Event, NodeNotice
from ucterm.inventory import Inventory, load_inventory
from ucterm.renewal.events import (
    JobFinished,
    JobPaused,
    JobTranscriptLine,
    JobWaiting,
    StepDone,
    StepFailed,
    StepProgress,
    StepSkipped,
    StepStarted,
)
from ucterm.renewal.journal import Job, JobSummary, Journal, active_jobs, list_jobs, recent_units
from ucterm.renewal.model import EXIT_CODES, SUMMARY_STATE, Plan
from ucterm.renewal.plan import build_plan, defaults_for, render, unit_for
from ucterm.renewal.runner import Confirm, RenewalError, Runner
from ucterm.renewal.signers import Material, Signer, lab_ca_signer
from ucterm.renewal.survey import survey
from ucterm.scan.model import ScanResult

# --------------------------------------------------------------------------------------------
# Printing


class Printer:
    """Events as lines on stderr: step headers, progress, results, and the transcript, indented."""

    def __init__(self, plan: Plan, stream: TextIO | None = None, *, transcript: bool = True,
                 quiet: bool = False) -> None:
        """`quiet` (--quiet): nothing while the job runs; the summary at the end says how it went, and
        the job folder keeps the whole transcript."""
        self.stream = stream or sys.stderr
        self.index = {s.id: i for i, s in enumerate(plan.steps, 1)}
        self.total = len(plan.steps)
        self.transcript = transcript
        self.quiet = quiet

    def __call__(self, event: Event) -> None:
        if self.quiet:
            return
        line = self.format(event)
        if line is not None:
            print(line, file=self.stream, flush=True)

    def format(self, event: Event) -> str | None:
        if isinstance(event, StepStarted):
            again = " (reconciling after an interruption)" if event.reconciling else ""
            return f"[{self.index.get(event.step or '', '?')}/{self.total}] {event.name}{again}"
        if isinstance(event, StepProgress):
            return f"      {event.message}"
        if isinstance(event, StepDone):
            return f"      done: {event.detail}"
        if isinstance(event, StepSkipped):
            return f"      skipped: {event.reason}"
        if isinstance(event, StepFailed):
            return f"      FAILED: {event.error}" + (f"\n      what to do: {event.fix}" if event.fix else "")
        if isinstance(event, JobWaiting):
            return f"      WAITING: {event.message}"
        if isinstance(event, JobPaused):
            return f"      paused: {event.message}"
        if isinstance(event, JobFinished):
            return f"job {event.job}: {event.state}" + (f" ({event.detail})" if event.detail else "")
        if isinstance(event, JobTranscriptLine):
            if not self.transcript:
                return None
            arrow = {"sent": ">", "received": "<"}.get(event.direction, "-")
            return f"        {event.node} {arrow} {event.text}"
        if isinstance(event, NodeNotice):
            return f"      {event.node}: {event.message}"
        return None


def summary_text(summary: JobSummary, plan: Plan) -> str:
    """The end-of-run report: state, every step's outcome, the CSR files and what to do next."""
    lines = [f"job {summary.job}: {SUMMARY_STATE[summary.state]}"
             + (f" ({summary.detail})" if summary.detail else ""),
             f"renew {summary.unit} on cluster {summary.cluster}"
             + (" (multi-server)" if summary.multi_server else "")]
    for s in summary.steps:
        lines.append(f"  {s['state']:<8} {s['name']}" + (f": {s['detail']}" if s["detail"] else ""))
    if summary.csrs:
        lines.append("CSR files:")
        lines += [f"  {c['node']}: {c['path']}" for c in summary.csrs]
    if summary.state == "waiting":
        lines.append(f"next: `ucterm resume {summary.job} --signed FILE [--chain FILE]` once the CA has issued, "
                     "or follow the step above and run `ucterm resume` again")
    elif summary.state in ("failed", "aborted"):
        lines.append(f"next: fix what the failed step says, then `ucterm resume {summary.job}`")
    return "\n".join(lines) + "\n"


def _output(job: Job, state: str, args: argparse.Namespace, out: TextIO) -> int:
    summary = job.summary()
    if getattr(args, "json", False):
        out.write(json.dumps(summary.to_json(), indent=2) + "\n")
    else:
        out.write(summary_text(summary, job.plan))
    return EXIT_CODES.get(state, 2)


# --------------------------------------------------------------------------------------------
# Shared pieces


def _terminal() -> bool:
    return sys.stdin.isatty() and sys.stderr.isatty()


def _terminal_confirm() -> Confirm:
    async def ask(question: str) -> bool:
        def read() -> str:
            print(f"{question} [y/N] ", end="", file=sys.stderr, flush=True)
            return sys.stdin.readline()
        answer = await asyncio.to_thread(read)
        return answer.strip().lower() in ("y", "yes")
    return ask


def _confirm_for(args: argparse.Namespace) -> Confirm | None:
    if args.yes:
        return None
    if not _terminal():
        raise RenewalError("a renewal asks before risky steps and there is no terminal to ask on; pass --yes to "
                           "accept them in advance (read the plan first with --dry-run).")
    return _terminal_confirm()


def _credentials() -> CredentialStore:
    return CredentialStore(prompter=terminal_prompter if _terminal() else None)


def _read_only(args: argparse.Namespace, inventory: Inventory, cluster: str) -> bool:
    # The cluster's settings already merge [defaults]: a cluster may also say read_only = false.
    return bool(getattr(args, "read_only", False)) or inventory.cluster(cluster).settings.read_only


def _material(args: argparse.Namespace) -> Material | None:
    paths: list[Path] = [*getattr(args, "signed", []), *getattr(args, "chain", [])]
    return Material.from_paths(paths) if paths else None


def _signer(inventory: Inventory, cluster: str, lab: bool) -> Signer | None:
    return lab_ca_signer(inventory.cluster(cluster).settings.lab_ca) if lab else None


def _ask_once(plan: Plan, confirm: Confirm | None, confirm_each: bool, done: Sequence[str] = ()) -> bool:
    """The one confirmation before a run (the TUI's "Run the renewal?"): the risky steps still to run,
    listed. True: approved, so those steps do not ask again; False: asked at each (--confirm-each,
    --yes, or nothing risky left). RenewalError when the person says no: nothing has run."""
    risky = [s for s in plan.steps if s.risky and s.id not in done]
    if confirm is None or confirm_each or not risky:
        return False
    lines = [f"Run the renewal of {plan.unit} on cluster {plan.cluster}? Risky steps:"]
    lines += [f"  ! {s.name}" + (f": {s.risk_note}" if s.risk_note else "") for s in risky]
    lines.append("They run without asking again (--confirm-each asks at each).")
    print("\n".join(lines[1:-1]), file=sys.stderr)
    async def ask() -> bool:
        assert confirm is not None
        return await confirm(f"{lines[0].removesuffix(' Risky steps:')} {lines[-1]}")

    if not asyncio.run(ask()):
        raise RenewalError("not run: you said no; nothing was changed.")
    return True


def _say(args: argparse.Namespace, text: str) -> None:
    """A progress note on stderr, unless --quiet (which keeps the summary and the errors only)."""
    if not getattr(args, "quiet", False):
        print(text, file=sys.stderr)


async def _run(job: Job, inventory: Inventory, credentials: CredentialStore, *, signer: Signer | None,
               confirm: Confirm | None, material: Material | None, read_only: bool, approved: bool = False,
               quiet: bool = False) -> str:
    printer = Printer(job.plan, quiet=quiet)
    runner = Runner(job, inventory, credentials, sink=printer, signer=signer, confirm=confirm, read_only=read_only,
                    approved=approved)
    if material is not None:
        runner.material.extend(material)
    return await runner.run()


# --------------------------------------------------------------------------------------------
# ucterm renew


def run_renew(args: argparse.Namespace, *, out: TextIO | None = None) -> int:
    out = out or sys.stdout
    inventory = load_inventory(args.inventory)
    cluster = inventory.cluster(args.cluster)
    read_only = _read_only(args, inventory, cluster.name)
    if read_only and not args.dry_run:
        raise RenewalError(f'renewals are disabled: the inventory (or --read-only) makes cluster "{cluster.name}" '
                           "read-only; remove read_only to renew (--dry-run still shows the plan).")
    if args.multi_server and args.node:
        raise RenewalError(f'a multi-server certificate covers every node of cluster "{cluster.name}": drop --node, '
                           "or renew single-server certificates on the nodes you name.")
    jobs = list_jobs()
    busy = active_jobs(cluster.name, args.unit, jobs)
    if busy and not args.dry_run:
        j = busy[0]
        raise RenewalError(f"job {j.job} is still {SUMMARY_STATE[j.state]} for {j.unit} on cluster {j.cluster}; "
                           f"continue it with `ucterm resume {j.job}` (its CSR may be at the CA) instead of "
                           "starting another that would replace that CSR.")
    confirm = None if args.dry_run else _confirm_for(args)
    material = _material(args)
    signer = _signer(inventory, cluster.name, args.lab_ca)
    credentials = _credentials()
    scan = _survey(inventory, cluster.name, args.unit, credentials, args.node, strict=not args.dry_run,
                   quiet=bool(getattr(args, "quiet", False)))
    options = defaults_for(inventory, scan, cluster.name, args.unit, args.multi_server)
    from dataclasses import replace

    options = replace(options, nodes=tuple(args.node), regenerate_csr=args.regenerate_csr,
                      signer="lab" if args.lab_ca else "files", recent_units=recent_units(cluster.name, jobs),
                      confirm_each=bool(getattr(args, "confirm_each", False)))
    plan = build_plan(inventory, scan, options)
    if args.dry_run:
        if args.json:
            out.write(json.dumps({"dry_run": True, "plan": plan.to_dict()}, indent=2) + "\n")
        else:
            out.write(render(plan) + "\n")
        return 0
    if plan.risks and (confirm is not None or not args.quiet):
        print("risks:\n" + "\n".join(f"  ! {r}" for r in plan.risks), file=sys.stderr)
    approved = _ask_once(plan, confirm, plan.options.confirm_each)
    job = Journal.create(plan, inventory.path)
    _say(args, f"ucterm: job {job.id} ({job.folder})")
    state = asyncio.run(_run(job, inventory, credentials, signer=signer, confirm=confirm, material=material,
                             read_only=read_only, approved=approved, quiet=args.quiet))
    return _output(job, state, args, out)


def _survey(inventory: Inventory, cluster: str, unit: str, credentials: CredentialStore, nodes: Sequence[str],
            *, strict: bool, quiet: bool = False) -> ScanResult | None:
    """Versions and current certificates; a real run stops here if a node cannot be read."""
    spec = unit_for(inventory.cluster(cluster), unit)  # an unknown unit is named before any connection
    if not quiet:
        print(f"ucterm: reading the release and the current {spec.name} certificate of cluster {cluster}",
              file=sys.stderr)
    scan = asyncio.run(survey(inventory, cluster, spec.name, credentials, nodes=nodes))
    down = [n for n in scan.nodes if not n.reachable]
    for n in down:
        print(f"ucterm: {n.error}", file=sys.stderr)
    if down and strict:
        raise RenewalError(f"{len(down)} node(s) of cluster {cluster} could not be read ({down[0].node} first); "
                           "nothing was changed: fix the connection and run again.")
    return scan


# --------------------------------------------------------------------------------------------
# ucterm resume / jobs


def run_resume(args: argparse.Namespace, *, out: TextIO | None = None) -> int:
    out = out or sys.stdout
    job = Journal.open(args.job)
    path = getattr(args, "inventory", None) or (job.inventory_path if job.inventory_path and
                                                 job.inventory_path.exists() else None)
    inventory = load_inventory(path)
    if job.state == "done":
        print(f"ucterm: job {job.id} is done already; nothing to resume.", file=sys.stderr)
        return _output(job, "done", args, out)
    read_only = _read_only(args, inventory, job.plan.cluster)
    if read_only:
        raise RenewalError(f'renewals are disabled: the inventory (or --read-only) makes cluster "{job.plan.cluster}"'
                           " read-only; remove read_only to resume the job.")
    confirm = _confirm_for(args)
    material = _material(args)
    signer = _signer(inventory, job.plan.cluster, job.plan.options.signer == "lab")
    done = [sid for sid, rec in job.steps.items() if rec.state in ("done", "skipped")]
    approved = _ask_once(job.plan, confirm, job.plan.options.confirm_each or bool(getattr(args, "confirm_each", False)),
                         done)
    _say(args, f"ucterm: resuming job {job.id} ({job.folder})")
    state = asyncio.run(_run(job, inventory, _credentials(), signer=signer, confirm=confirm, material=material,
                             read_only=read_only, approved=approved, quiet=bool(getattr(args, "quiet", False))))
    return _output(job, state, args, out)


def run_jobs(args: argparse.Namespace, *, out: TextIO | None = None) -> int:
    """The current inventory's jobs (the one --inventory names, else the default), or all with --all;
    each says its inventory, so a demo, lab and production journal never mix unsaid."""
    out = out or sys.stdout
    every = list_jobs()
    current = _inventory_key(getattr(args, "inventory", None) or paths.default_inventory())
    jobs = every if getattr(args, "all", False) else [j for j in every if j.inventory == current]
    if getattr(args, "json", False):
        out.write(json.dumps([j.to_json() for j in jobs], indent=2) + "\n")
        return 0
    if not jobs:
        others = len(every) - len(jobs)
        if not every:
            out.write("no renewal jobs yet (`ucterm renew --cluster C --unit U --dry-run` shows a plan)\n")
        else:
            out.write(f"no renewal jobs for {_inventory_label(current)}; {_counted(others, 'job')} of other "
                      "inventories: `ucterm jobs --all` lists them\n")
        return 0
    rows: list[tuple[str, ...]] = [("JOB", "STATE", "INVENTORY", "CLUSTER", "UNIT", "UPDATED", "DETAIL")]
    for j in jobs:
        rows.append((j.job, SUMMARY_STATE[j.state] + ("/aborted" if j.state == "aborted" else ""),
                     _inventory_label(j.inventory), j.cluster, j.unit, j.updated[:19].replace("T", " "),
                     _clip(j.detail, 60)))
    widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]) - 1)]
    for r in rows:
        out.write("  ".join(c.ljust(w) for c, w in zip(r, widths, strict=False)) + "  " + r[-1] + "\n")
    hidden = len(every) - len(jobs)
    if hidden:
        out.write(f"({_counted(hidden, 'job')} of other inventories: `ucterm jobs --all`)\n")
    return 0


def _inventory_key(path: Path | str) -> str:
    """An inventory path as the journal records it (Journal.create resolves it)."""
    return str(Path(path).expanduser().resolve())


def _inventory_label(recorded: str) -> str:
    """`demo`, `~/ucterm/lab.toml`, `/etc/ucterm/prod.toml`, `-` for a job that recorded none."""
    if not recorded:
        return "-"
    if recorded == _inventory_key(paths.state_dir() / "demo" / "inventory.toml"):
        return "demo"
    path = Path(recorded)
    try:
        return "~/" + str(path.relative_to(Path.home()))
    except ValueError:
        return recorded


def _counted(n: int, noun: str) -> str:
    return f"{n} {noun if n == 1 else noun + 's'}"


def _clip(text: str, width: int) -> str:
    return text if len(text) <= width else text[: width - 1] + "…"

