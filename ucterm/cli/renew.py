"""`ucterm renew`, `ucterm resume`, `ucterm jobs`: the headless face of the renewal engine.

Contract (design.md §3): exit 0 done, 2 failed, 4 waiting for the signed certificate(s);
progress and the transcript on stderr; with `--json` the job summary, and nothing else, on
stdout. Without `--yes` a person must be there to answer the confirmations (a terminal); a
script that forgets `--yes` is stopped before anything happens, not halfway.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any, Literal, TextIO

from ucterm import catalog, paths
from ucterm.cli.terminal import Terminal, tell
from ucterm.credentials import CredentialStore, terminal_prompter
from ucterm.events import Event, NodeNotice
from ucterm.inventory import Inventory, load_inventory
from ucterm.renewal.events import (
    JobEvent,
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
from ucterm.renewal.model import EXIT_CODES, Plan, PlanOptions
from ucterm.renewal.nodes import NodePool
from ucterm.renewal.plan import (
    build_plan,
    current_multi_server,
    defaults_for,
    multi_server_possible,
    render,
    unit_for,
)
from ucterm.renewal.runner import Confirm, RenewalError, Runner
from ucterm.renewal.signers import JournaledSigner, Material, Signer, build_signer, lab_ca_signer
from ucterm.renewal.survey import survey
from ucterm.scan.model import ScanResult
from ucterm.text import visible

# --------------------------------------------------------------------------------------------
# Printing


class Printer:
    """Events as lines on stderr: step headers, progress, results, and the transcript, indented.

    Steps on different nodes run side by side, so their lines interleave: every line a step prints
    starts with its number (`[3/21]`), and in a batch with the job's cluster and unit (`label`), so
    that `grep` finds one step's or one job's lines.
    """

    def __init__(self, plan: Plan, stream: TextIO | None = None, *, transcript: bool = True,
                 label: str = "", quiet: bool = False) -> None:
        """`quiet` (--quiet): nothing while the job runs; the summary at the end says how it went, and
        the job folder keeps the whole transcript."""
        self.stream = stream or sys.stderr
        self.index = {s.id: i for i, s in enumerate(plan.steps, 1)}
        self.total = len(plan.steps)
        self.transcript = transcript
        self.label = f"{label} " if label else ""
        self.quiet = quiet

    def __call__(self, event: Event) -> None:
        if self.quiet:
            return
        line = self.format(event)
        if line is not None:
            # Transcript lines, errors and details quote what nodes and CAs sent: shown, never obeyed.
            print(visible(line, lines=True), file=self.stream, flush=True)

    def _tag(self, step: str | None) -> str:
        number = self.index.get(step or "")
        return f"{self.label}[{number if number is not None else '-'}/{self.total}]"

    def format(self, event: Event) -> str | None:
        if isinstance(event, JobEvent) and not isinstance(event, JobFinished):
            text = self._step_text(event)
            if text is None:
                return None
            tag = self._tag(event.step)
            return "\n".join(f"{tag} {line}" for line in text.split("\n"))
        if isinstance(event, JobFinished):
            return f"{self.label}job {event.job}: {event.state}" + (f" ({event.detail})" if event.detail else "")
        if isinstance(event, JobTranscriptLine):
            if not self.transcript:
                return None
            arrow = {"sent": ">", "received": "<"}.get(event.direction, "-")
            return f"{self._tag(event.step)}     {event.node} {arrow} {event.text}"
        if isinstance(event, NodeNotice):
            return f"{self.label}      {event.node}: {event.message}"
        return None

    @staticmethod
    def _step_text(event: JobEvent) -> str | None:
        if isinstance(event, StepStarted):
            again = " (reconciling after an interruption)" if event.reconciling else ""
            return f"{event.name}{again}"
        if isinstance(event, StepProgress):
            return f"  {event.message}"
        if isinstance(event, StepDone):
            return f"  done: {event.detail}"
        if isinstance(event, StepSkipped):
            return f"  skipped: {event.reason}"
        if isinstance(event, StepFailed):
            return f"  FAILED: {event.error}" + (f"\n  what to do: {event.fix}" if event.fix else "")
        if isinstance(event, JobWaiting):
            return f"  WAITING: {event.message}"
        if isinstance(event, JobPaused):
            return f"  paused: {event.message}"
        return None


def summary_text(summary: JobSummary, plan: Plan) -> str:
    """The end-of-run report: state, every step's outcome, the CSR files and what to do next."""
    lines = [f"job {summary.job}: {summary.status}" + (f" ({summary.detail})" if summary.detail else ""),
             f"renew {summary.unit} on cluster {summary.cluster}"
             + (" (multi-server)" if summary.multi_server else "")]
    for s in summary.steps:
        lines.append(f"  {s['state']:<8} {s['name']}" + (f": {s['detail']}" if s["detail"] else ""))
    if summary.csrs:
        lines.append("CSR files:")
        lines += [f"  {c['node']}: {c['path']}" for c in summary.csrs]
    lines += next_steps(summary, plan)
    return "\n".join(lines) + "\n"


def next_steps(summary: JobSummary, plan: Plan) -> list[str]:
    """What the user can do with a job that is not done: one way on, and one way out where it blocks."""
    job = summary.job
    give_up = f"or give the job up with `ucterm jobs --abandon {job}` and start again"
    if summary.status == "waiting" and summary.window:
        return [f"next: `ucterm resume {job}` inside the maintenance window ({summary.window['window']}, next "
                f"opening {summary.window['opens'].replace('T', ' ').replace('Z', ' UTC')}) restarts and verifies; "
                "a cron job or timer can run it, or `ucterm renew --due` again; --restart-now restarts now"]
    if summary.status == "waiting" and plan.options.signer == "signer":
        return [f"next: `ucterm resume {job}` asks signer \"{plan.options.signer_name}\" again (once a CA manager "
                "approved the request, or the DNS record is visible)"]
    if summary.status == "waiting":
        return [f"next: `ucterm resume {job} --signed FILE [--chain FILE]` once the CA has issued, or follow "
                "the step above and run `ucterm resume` again"]
    if summary.status == "paused":
        return [f"next: `ucterm resume {job}` asks again"]
    if summary.status == "failed":
        return [f"next: fix what the failed step says, then `ucterm resume {job}` (a corrected certificate or "
                f"chain: `--signed FILE --chain FILE`), {give_up}"]
    if summary.status in ("aborted", "interrupted"):
        where = f" at step {summary.stopped_at['number']}" if summary.stopped_at else ""
        return [f"next: `ucterm resume {job}` continues{where} without repeating what is done, {give_up}"]
    return []


def _output(job: Job, state: str, args: argparse.Namespace, out: TextIO) -> int:
    summary = Journal.open(job.id).summary()  # read back from the journal, lock released: the truth now
    if getattr(args, "json", False):
        out.write(json.dumps(summary.to_json(), indent=2) + "\n")
        for line in next_steps(summary, job.plan):  # stdout is the JSON alone; the way on goes with the progress
            print(visible(f"ucterm: {line}"), file=sys.stderr)
    else:
        out.write(visible(summary_text(summary, job.plan), lines=True))
    return EXIT_CODES.get(state, 2)


# --------------------------------------------------------------------------------------------
# Shared pieces


def _confirm_for(args: argparse.Namespace) -> Confirm | None:
    """The questions before risky steps, asked on the controlling terminal (stdin or stderr may be a
    file or a pipe); with --yes none. No terminal at all: stop before anything happens."""
    if args.yes:
        return None
    terminal = Terminal.open()
    if terminal is None:
        message = ("a renewal asks before risky steps and there is no terminal to ask on (this process has no "
                   "controlling terminal); pass --yes to accept them in advance (read the plan first with "
                   "--dry-run).")
        if not sys.stderr.isatty() and sys.stdout.isatty():
            print(f"ucterm: {message}", file=sys.stdout, flush=True)  # the only stream a person sees
        raise RenewalError(message)
    return terminal.confirm


def _credentials() -> CredentialStore:
    """`prompt` passwords are asked on the controlling terminal (getpass uses /dev/tty), if there is one."""
    terminal = Terminal.open()
    if terminal is None:
        return CredentialStore()
    terminal.close()
    return CredentialStore(prompter=terminal_prompter)


def _ask_passwords_first(inventory: Inventory, credentials: CredentialStore, nodes: Sequence[str], *,
                         axl_of: str | None = None) -> None:
    """The `prompt` passwords of `nodes` (and, with `axl_of`, the AXL user of that IM&P cluster's CUCM
    publisher), asked before the event loop starts: Ctrl+C at a password prompt then ends ucterm at
    once (inside the loop it would wait for Enter). Failures are left for the step that needs it."""
    from ucterm.errors import CredentialError

    wanted = []
    for fqdn in nodes:
        cluster = next((c for c in inventory.clusters if any(n.fqdn.lower() == fqdn.lower() for n in c.nodes)), None)
        if cluster is not None:
            wanted.append((cluster, cluster.node(fqdn), "os_password"))
    imp = inventory.cluster(axl_of) if axl_of else None
    if imp is not None and imp.cucm_cluster:
        cucm = inventory.cluster(imp.cucm_cluster)
        wanted.append((cucm, cucm.publisher, "app_password"))
    for cluster, node, name in wanted:
        settings = cluster.settings_for(node)
        reference = getattr(settings, name)
        if reference == "prompt" and (name == "os_password" or settings.app_user):
            with contextlib.suppress(CredentialError):
                credentials.resolve(reference, what=cluster.password_what(name, node))


def _read_only(args: argparse.Namespace, inventory: Inventory, cluster: str) -> bool:
    # The cluster's settings already merge [defaults]: a cluster may also say read_only = false.
    return bool(getattr(args, "read_only", False)) or inventory.cluster(cluster).settings.read_only


def _material(args: argparse.Namespace) -> Material | None:
    paths: list[Path] = [*getattr(args, "signed", []), *getattr(args, "chain", [])]
    return Material.from_paths(paths) if paths else None


SignerChoice = tuple[Literal["files", "lab", "signer"], str | None]


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
    print(visible("\n".join(lines[1:-1]), lines=True), file=sys.stderr)

    async def ask() -> bool:
        assert confirm is not None
        return await confirm(visible(f"{lines[0].removesuffix(' Risky steps:')} {lines[-1]}"))

    if not asyncio.run(ask()):
        raise RenewalError("not run: you said no; nothing was changed.")
    return True


def _say(args: argparse.Namespace, text: str) -> None:
    """A progress note on stderr, unless --quiet (which keeps the summary and the errors only)."""
    if not getattr(args, "quiet", False):
        print(visible(text), file=sys.stderr)


def _choose_signer(args: argparse.Namespace, inventory: Inventory, cluster: str,
                   planned: PlanOptions | None = None) -> SignerChoice:
    """("lab", None), ("signer", NAME) or ("files", None): `--lab-ca`, then `--signer`, then what the job was
    planned with (resume), then the cluster's `signer = NAME` (renew)."""
    name = getattr(args, "signer", None)
    if getattr(args, "lab_ca", False):
        if name:
            raise RenewalError("give either --lab-ca or --signer NAME, not both: one CA signs a job's CSRs.")
        return "lab", None
    if name:
        inventory.signer(name)  # an unknown name is one sentence listing the signers
        return "signer", name
    if planned is not None:
        return planned.signer, planned.signer_name
    configured = inventory.cluster(cluster).settings.signer
    return ("signer", configured) if configured else ("files", None)


def _signer(inventory: Inventory, cluster: str, choice: SignerChoice) -> Signer | JournaledSigner | None:
    kind, name = choice
    if kind == "lab":
        return lab_ca_signer(inventory.cluster(cluster).settings.lab_ca)
    if kind == "signer" and name:
        return build_signer(inventory.signer(name))
    return None


async def _run(job: Job, inventory: Inventory, credentials: CredentialStore, *,
               signer: Signer | JournaledSigner | None,
               confirm: Confirm | None, material: Material | None, read_only: bool, approved: bool = False,
               quiet: bool = False, restart_now: bool = False, pool: NodePool | None = None) -> str:
    printer = Printer(job.plan, quiet=quiet)
    runner = Runner(job, inventory, credentials, sink=printer, signer=signer, confirm=confirm, read_only=read_only,
                    approved=approved, restart_now=restart_now, pool=pool)
    if material is not None:
        runner.material.extend(material)
    try:
        return await runner.run()
    finally:
        if pool is not None:
            await pool.close()


def _drive(job: Job, args: argparse.Namespace, out: TextIO, inventory: Inventory, credentials: CredentialStore,
           loop: asyncio.Runner | None = None, **run: Any) -> int:
    """Run the job to its end (in `loop`, where the survey's sessions live, else a new one); Ctrl+C stops
    it at once (the journal keeps every step) and says how to go on: the job id and `ucterm resume JOB`."""
    try:
        if loop is not None:
            state = loop.run(_run(job, inventory, credentials, **run))
        else:
            state = asyncio.run(_run(job, inventory, credentials, **run))
    except KeyboardInterrupt:
        stopped = Journal.open(job.id).stopped_at()
        where = f" during step {stopped['number']} ({stopped['name']})" if stopped else ""
        tell(f"\nucterm: interrupted{where}; job {job.id} keeps everything done so far: continue it with "
             f"`ucterm resume {job.id}`.")
        return 130
    return _output(job, state, args, out)


# --------------------------------------------------------------------------------------------
# ucterm renew


def run_renew(args: argparse.Namespace, *, out: TextIO | None = None) -> int:
    out = out or sys.stdout
    if getattr(args, "due", None) is not None:
        from ucterm.cli.due import run_due

        return run_due(args, out=out)
    args.cluster, args.unit = _one("--cluster", args.cluster), _one("--unit", args.unit)
    if getattr(args, "parallel", None) is not None:
        raise RenewalError("--parallel applies to `ucterm renew --due DAYS` (clusters side by side); a renewal of "
                           "one cluster and unit runs its nodes side by side already.")
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
        raise RenewalError(busy_sentence(busy[0]))
    confirm = None if args.dry_run else _confirm_for(args)
    material = _material(args)
    choice = _choose_signer(args, inventory, cluster.name)
    signer = _signer(inventory, cluster.name, choice)
    credentials = _credentials()
    _ask_passwords_first(inventory, credentials, [cluster.node(n).fqdn for n in args.node]
                         or [n.fqdn for n in cluster.ordered_nodes()])
    # One loop for the survey and the job: the sessions the survey opens are the job's (one login per node).
    with asyncio.Runner() as loop:
        pool = NodePool(credentials)
        try:
            return _renew_surveyed(args, out, inventory, credentials, loop, pool, read_only=read_only, jobs=jobs,
                                   confirm=confirm, material=material, choice=choice, signer=signer)
        finally:
            loop.run(pool.close())


def _one(option: str, values: Sequence[str] | None) -> str:
    """The one value a single renewal takes (`--cluster` and `--unit` repeat only with --due)."""
    if not values:
        raise RenewalError(f"`ucterm renew` needs {option} (or --due DAYS to renew everything that expires "
                           "within DAYS days).")
    if len(values) > 1:
        raise RenewalError(f"{option} is given {len(values)} times: a renewal is one cluster and one unit; "
                           "`ucterm renew --due DAYS` takes several.")
    return values[0]


def _renew_surveyed(args: argparse.Namespace, out: TextIO, inventory: Inventory, credentials: CredentialStore,
                    loop: asyncio.Runner, pool: NodePool, *, read_only: bool, jobs: list[JobSummary],
                    confirm: Confirm | None, material: Material | None, choice: SignerChoice,
                    signer: Signer | JournaledSigner | None) -> int:
    cluster = inventory.cluster(args.cluster)
    scan = _survey(inventory, cluster.name, args.unit, credentials, args.node, strict=not args.dry_run, loop=loop,
                   pool=pool, quiet=bool(getattr(args, "quiet", False)))
    multi = _distribution(args, inventory, scan, cluster.name)
    options = defaults_for(inventory, scan, cluster.name, args.unit, multi)
    from dataclasses import replace

    options = replace(options, nodes=tuple(args.node), regenerate_csr=args.regenerate_csr,
                      signer=choice[0], signer_name=choice[1], recent_units=recent_units(cluster.name, jobs),
                      confirm_each=bool(getattr(args, "confirm_each", False)))
    plan = build_plan(inventory, scan, options)
    if args.dry_run:
        if args.json:
            out.write(json.dumps({"dry_run": True, "plan": plan.to_dict()}, indent=2) + "\n")
        else:
            out.write(visible(render(plan), lines=True) + "\n")
        return 0
    _ask_passwords_first(inventory, credentials, plan.all_nodes,
                         axl_of=plan.cluster if any(s.transport == "axl" for s in plan.steps) else None)
    if plan.risks and (confirm is not None or not args.quiet):
        print(visible("risks:\n" + "\n".join(f"  ! {r}" for r in plan.risks), lines=True), file=sys.stderr)
    approved = _ask_once(plan, confirm, plan.options.confirm_each)
    job = Journal.create(plan, inventory.path)
    _say(args, f"ucterm: job {job.id} ({job.folder})")
    return _drive(job, args, out, inventory, credentials, loop, signer=signer, confirm=confirm, material=material,
                  read_only=read_only, approved=approved, quiet=args.quiet, restart_now=args.restart_now, pool=pool)


def _distribution(args: argparse.Namespace, inventory: Inventory, scan: ScanResult | None, cluster: str) -> bool:
    """Multi-server or not: what the user said (--multi-server, --single-server, --node), else like for
    like with the certificate the cluster has now (the TUI preselects the same). The opposite of
    what the cluster has is allowed, and the plan warns about it."""
    if args.multi_server:
        return True
    if getattr(args, "single_server", False) or args.node:
        return False
    c = inventory.cluster(cluster)
    spec = unit_for(c, args.unit)
    current = current_multi_server(scan, c, spec.name)
    if current is None:
        return False
    pub = scan.node_result(c.name, c.publisher.fqdn) if scan is not None else None
    possible, why = multi_server_possible(c, catalog.parse_version(pub.version if pub else None), spec.name)
    if not possible:
        raise RenewalError(f"the current {spec.name} certificate of cluster {c.name} is multi-server ({current}), "
                           f"but {why}; pass --single-server to replace it with a certificate per node.")
    print(f"ucterm: the current {spec.name} certificate of cluster {c.name} is multi-server ({current}): "
          "renewing it multi-server, like for like (--single-server renews one certificate per node instead)",
          file=sys.stderr)
    return True


def busy_sentence(j: JobSummary) -> str:
    """Why `renew` will not start a second job for a unit, and the ways forward, in one sentence."""
    if j.damaged:
        return (f"job {j.job} for {j.unit} on cluster {j.cluster} is damaged ({j.damaged}), so ucterm cannot tell "
                f"whether its CSR is still at the CA; check {j.folder} and the nodes, then move that folder away "
                "before starting another renewal.")
    what = f"job {j.job} for {j.unit} on cluster {j.cluster}"
    where = f" at step {j.stopped_at['number']} ({j.stopped_at['name']})" if j.stopped_at else ""
    if j.status == "running":
        return (f"{what} is running now; wait for it (`ucterm jobs` shows it) instead of starting another that "
                "would replace its CSR.")
    state = {"waiting": "is waiting", "paused": "is paused", "failed": "failed", "aborted": "was aborted",
             "interrupted": "was interrupted"}.get(j.status, f"is {j.status}")
    return (f"{what} {state}{where}; continue it with `ucterm resume {j.job}` (its CSR may be at the CA), or "
            f"give it up with `ucterm jobs --abandon {j.job}` and run this again.")


def _survey(inventory: Inventory, cluster: str, unit: str, credentials: CredentialStore, nodes: Sequence[str],
            *, strict: bool, loop: asyncio.Runner, pool: NodePool, quiet: bool = False) -> ScanResult | None:
    """Versions and current certificates; a real run stops here if a node cannot be read. The sessions
    stay in `pool` for the job."""
    spec = unit_for(inventory.cluster(cluster), unit)  # an unknown unit is named before any connection
    if not quiet:
        print(visible(f"ucterm: reading the release and the current {spec.name} certificate of cluster {cluster}"),
              file=sys.stderr)
    scan = loop.run(survey(inventory, cluster, spec.name, credentials, nodes=nodes, pool=pool))
    down = [n for n in scan.nodes if not n.reachable]
    for n in down:
        print(f"ucterm: {visible(n.error or n.node)}", file=sys.stderr)
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
    if job.state == "abandoned":
        raise RenewalError(f"job {job.id} was abandoned ({job.updated[:10]}); start a new one with "
                           f"`ucterm renew --cluster {job.plan.cluster} --unit {job.plan.unit}`.")
    read_only = _read_only(args, inventory, job.plan.cluster)
    if read_only:
        raise RenewalError(f'renewals are disabled: the inventory (or --read-only) makes cluster "{job.plan.cluster}"'
                           " read-only; remove read_only to resume the job.")
    confirm = _confirm_for(args)
    material = _material(args)
    signer = _signer(inventory, job.plan.cluster, _choose_signer(args, inventory, job.plan.cluster, job.plan.options))
    done = [sid for sid, rec in job.steps.items() if rec.state in ("done", "skipped")]
    approved = _ask_once(job.plan, confirm, job.plan.options.confirm_each or bool(getattr(args, "confirm_each", False)),
                         done)
    _say(args, f"ucterm: resuming job {job.id} ({job.folder})")
    credentials = _credentials()
    _ask_passwords_first(inventory, credentials, job.plan.all_nodes,
                         axl_of=job.plan.cluster if any(s.transport == "axl" for s in job.plan.steps) else None)
    return _drive(job, args, out, inventory, credentials, signer=signer, confirm=confirm, material=material,
                  read_only=read_only, approved=approved, quiet=bool(getattr(args, "quiet", False)),
                  restart_now=args.restart_now)


def run_jobs(args: argparse.Namespace, *, out: TextIO | None = None) -> int:
    """The current inventory's jobs (the one --inventory names, else the default), or all with --all;
    each says its inventory, so a demo, lab and production journal never mix unsaid."""
    out = out or sys.stdout
    if getattr(args, "abandon", None):
        return _abandon(args.abandon, out)
    every = list_jobs()
    current = _inventory_key(getattr(args, "inventory", None) or paths.default_inventory())
    # A damaged job's inventory may be unreadable: it shows in every listing (it blocks renewals of its unit).
    jobs = every if getattr(args, "all", False) else [j for j in every if j.inventory == current or j.damaged]
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
        status = "damaged" if j.damaged else j.status
        detail = _clip(j.detail, 200) if j.damaged else _job_detail(j)
        rows.append(tuple(visible(cell) for cell in (
            j.job, status, _inventory_label(j.inventory), j.cluster or "?", j.unit or "?",
            j.updated[:19].replace("T", " "), detail)))
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


def _job_detail(j: JobSummary) -> str:
    """An interrupted job has no detail of its own: where it stopped and how to go on are the news."""
    if j.status == "interrupted" and j.stopped_at:
        step = _clip(j.stopped_at["name"], 40)
        return f"stopped in step {j.stopped_at['number']} ({step}): `ucterm resume {j.job}`"
    return _clip(j.detail, 60)


def _abandon(job_id: str, out: TextIO) -> int:
    job = Journal.open(job_id)
    if job.state == "abandoned":
        out.write(f"job {job.id} was abandoned already ({job.updated[:10]}).\n")
        return 0
    detail = job.abandon()
    out.write(visible(f"job {job.id}: abandoned; {detail.split('; ', 1)[-1]}\n"
                      f"next: `ucterm renew --cluster {job.plan.cluster} --unit {job.plan.unit}` starts a new "
                      "renewal\n", lines=True))
    return 0


def _clip(text: str, width: int) -> str:
    return text if len(text) <= width else text[: width - 1] + "…"

