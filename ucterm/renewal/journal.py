"""The journal: one folder per renewal job, so that nothing is lost when the session drops.

Layout of `paths.jobs_dir()/<job>/` (design.md §3 "Journal"):

- `job.json`: the job's identity and its plan, written once, atomically;
- `log.jsonl`: the append-only record of what happened: step states, the *intent* written
  before every side effect and the *done* written after it, facts learnt on the way (the CSR a
  node held at preflight, whether HA was on, what the trust upload added), and every event;
- artifacts: `csr-<node>.pem`, `cert-<node>.pem`, `chain-<node>.pem`, `trusted-<node>.pem`,
  `check-<node>.json`, and `transcripts/<node>.log` (secrets redacted).

Every record is one line written with a single `write` and fsynced, so a `kill -9` leaves at
worst a torn last line, which reading ignores (and appending first terminates). Artifacts are
written with temp file + fsync + rename. The state of a job is never stored separately: it is
*replayed* from the log, so it cannot disagree with it.

A folder whose files do not read as a job (a `job.json` that is not a job, a log line that parses
but is not a record ucterm writes, a line nested too deeply to parse) is *damaged*: it is one
line in `ucterm jobs` and a refusal of `resume` (:class:`JobDamaged`), never a traceback, and
never a guess at what the job had done. Unparseable lines are the exception: a torn line ends
with the newline the next append writes, so it stays in the log as a line that is not JSON.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
import re
import secrets
import stat
import time
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, get_args

from ucterm import paths
from ucterm.errors import UctermError
from ucterm.files import FileProblem, atomic_write, read_regular
from ucterm.renewal.model import SUMMARY_STATE, JobState, JobStatus, Plan, StepState
from ucterm.text import clip, visible

LOG = "log.jsonl"
META = "job.json"
_SAFE = re.compile(r"[^A-Za-z0-9_.-]+")


class JournalError(UctermError):
    """A job folder is missing, unreadable or busy: one sentence naming it and what to do."""


class JobDamaged(JournalError):
    """A job folder's files do not read as a job; :attr:`reason` says which file, line or field."""

    exit_code = 3

    def __init__(self, folder: Path, reason: str) -> None:
        super().__init__(
            f"job {folder.name} is damaged ({reason}); ucterm will not resume it: keep {folder} for the record, "
            "check the nodes' certificates by hand, and start a new job if the renewal is still needed."
        )
        self.folder = folder
        self.reason = reason


_STEP_STATES = frozenset({"pending", "running", "done", "failed", "skipped", "waiting"})
_JOB_STATES: frozenset[str] = frozenset(get_args(JobState))
#: The fields each record type must carry, with their types (`ucterm` writes no other shape).
_RECORD_FIELDS: dict[str, tuple[tuple[str, type], ...]] = {
    "step": (("step", str), ("state", str)),
    "intent": (("step", str), ("action", str)),
    "done": (("step", str), ("action", str)),
    "fact": (("key", str),),
    "job": (("state", str),),
}
#: The fields every plan step must carry (model.Step.from_dict).
_STEP_FIELDS = ("id", "name", "kind", "transport")


def _record_problem(r: dict[str, Any]) -> str | None:
    """Why a parsed log record cannot be replayed, or None when it can."""
    kind = r.get("type")
    for name, want in _RECORD_FIELDS.get(kind if isinstance(kind, str) else "", ()):
        if name not in r:
            return f"a {kind} record without a `{name}`"
        if not isinstance(r[name], want):
            return f"a {kind} record whose `{name}` is not text"
    if kind == "step" and r["state"] not in _STEP_STATES:
        return f"a step record with the unknown state {clip(repr(r['state']), 40)}"
    if kind == "job" and r["state"] not in _JOB_STATES:
        return f"a job record with the unknown state {clip(repr(r['state']), 40)}"
    for name in ("detail", "ts"):
        if name in r and not isinstance(r[name], str):
            return f"a {kind} record whose `{name}` is not text"
    if r.get("data") is not None and not isinstance(r["data"], dict):
        return f"a {kind} record whose `data` is not an object"
    return None


def _plan_problem(meta: Any) -> str | None:
    """Why `job.json` cannot be a job, naming the field, or None."""
    if not isinstance(meta, dict):
        return f"{META} holds {type(meta).__name__ if meta is not None else 'null'}, not a job"
    if not isinstance(meta.get("id"), str) or not meta["id"]:
        return f"{META} has no job `id`"
    plan = meta.get("plan")
    if not isinstance(plan, dict):
        return f"{META} has no `plan`"
    steps = plan.get("steps")
    if not isinstance(steps, list):
        return f"{META} has no `plan.steps` list"
    for i, step in enumerate(steps):
        if not isinstance(step, dict):
            return f"{META} plan.steps[{i}] is not a step"
        for name in _STEP_FIELDS:
            if not isinstance(step.get(name), str):
                return f"{META} plan.steps[{i}] has no `{name}`"
    return None


def _now() -> str:
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def _safe(text: str) -> str:
    return _SAFE.sub("-", text).strip("-") or "x"


class Redactor:
    """Replaces known secret values with `***` in anything written to the journal.

    The vos layer already redacts transcripts; this is the second belt: whatever reaches the
    journal (events, error messages, transcripts) passes through here too.
    """

    def __init__(self, values: Iterable[str] = ()) -> None:
        self._values: set[str] = {v for v in values if v and len(v) >= 3}

    def add(self, value: str | None) -> None:
        if value and len(value) >= 3:
            self._values.add(value)

    def __call__(self, text: str) -> str:
        for value in sorted(self._values, key=len, reverse=True):
            text = text.replace(value, "***")
        return text

    def data(self, value: Any) -> Any:
        if isinstance(value, str):
            return self(value)
        if isinstance(value, dict):
            return {k: self.data(v) for k, v in value.items()}
        if isinstance(value, list | tuple):
            return [self.data(v) for v in value]
        return value


@dataclass
class StepRecord:
    """What the log says about one step: its state, the detail of its last change, its actions."""

    state: StepState = "pending"
    detail: str = ""
    intents: dict[str, dict[str, Any]] = field(default_factory=dict)
    done: dict[str, dict[str, Any]] = field(default_factory=dict)

    def open_intents(self) -> list[str]:
        """Actions begun and not recorded as done: the ones a resume must reconcile."""
        return [a for a in self.intents if a not in self.done]


@dataclass(frozen=True)
class JobSummary:
    """One job for `ucterm jobs` and the `--json` summary (design.md §3).

    `state` is the journal's; `status` adds what only a look at the lock can tell (`interrupted`:
    the journal says running and no process runs it). `stopped_at` is the step a job that is not
    running stopped in (or would start with), `next` the command that continues it.
    """

    job: str
    state: JobState
    cluster: str
    unit: str
    steps: list[dict[str, Any]]
    csrs: list[dict[str, str]]
    created: str = ""
    updated: str = ""
    detail: str = ""
    folder: str = ""
    multi_server: bool = False
    status: JobStatus = "running"
    stopped_at: dict[str, Any] | None = None
    next: str | None = None
    #: Why the folder does not read as a job (JobDamaged.reason); empty for a sound job.
    damaged: str = ""
    #: The inventory the job was planned from (resolved path; "" for a job that recorded none).
    inventory: str = ""
    #: The batch (`ucterm renew --due`, the TUI's "renew the marked") that made the job, if one did.
    batch: str | None = None
    #: While its restarts wait for a maintenance window: `{"window": "Sat 01:00–05:00 Europe/Berlin",
    #: "opens": "<UTC>", "step": id}` (renewal.windows).
    window: dict[str, str] | None = None

    def to_json(self) -> dict[str, Any]:
        """The contract's keys (`job`, `state`, `cluster`, `unit`, `steps`, `csrs`) plus compatible extras:
        `state` stays one of done|failed|waiting|running; `status` says which kind (see SUMMARY_STATE); a
        damaged job reports `failed` and says why in `damaged`; `window` says when restarts that wait
        for the maintenance window may run; `batch` names the batch that made the job."""
        return {"job": self.job, "state": SUMMARY_STATE[self.status], "cluster": self.cluster,
                "unit": self.unit, "steps": self.steps, "csrs": self.csrs, "detail": self.detail,
                "created": self.created,
                "updated": self.updated, "folder": self.folder, "multi_server": self.multi_server,
                "status": self.status, "stopped_at": self.stopped_at, "next": self.next,
                "damaged": self.damaged or None, "inventory": self.inventory, "window": self.window,
                "batch": self.batch}

    @property
    def unfinished(self) -> bool:
        """Neither done nor given up (or damaged, so possibly unfinished): its CSRs and uploads may still
        be on their way, so it blocks a new job for its unit."""
        return bool(self.damaged) or self.status not in ("done", "abandoned")


@dataclass(frozen=True)
class LockHolder:
    """The ucterm process that runs a job (from the lock file; the kernel's lock says it is alive)."""

    pid: int | None
    #: When that process took the lock (UTC, as the journal writes times).
    since: str | None

    def describe(self) -> str:
        if self.pid is None:
            return "another ucterm process"
        return f"ucterm process {self.pid}" + (f" (since {self.since[:19].replace('T', ' ')} UTC)"
                                               if self.since else "")


class Job:
    """A job folder: its plan, its log (replayed on open) and its artifacts."""

    def __init__(self, folder: Path, meta: dict[str, Any]) -> None:
        problem = _plan_problem(meta)
        if problem is not None:
            raise JobDamaged(folder, problem)
        self.folder = folder
        self.id: str = meta["id"]
        created, inventory, batch = meta.get("created"), meta.get("inventory"), meta.get("batch")
        self.created: str = created if isinstance(created, str) else ""
        #: The batch that made the job (None for one made on its own, and in journals before batches).
        self.batch: str | None = batch if isinstance(batch, str) and batch else None
        self.inventory_path: Path | None = Path(inventory) if isinstance(inventory, str) and inventory else None
        try:
            self.plan = Plan.from_dict(meta["plan"])
        except KeyError as exc:
            raise JobDamaged(folder, f"{META} has a plan without `{exc.args[0]}`") from None
        except (TypeError, ValueError, AttributeError) as exc:
            raise JobDamaged(folder, f"{META} has a plan that cannot be read ({clip(str(exc), 120)})") from None
        self.redactor = Redactor()
        self.steps: dict[str, StepRecord] = {s.id: StepRecord() for s in self.plan.steps}
        self.facts: dict[str, Any] = {}
        self.state: JobState = "running"
        self.detail = ""
        self.updated = self.created
        self._lock_fd: int | None = None
        #: Whether this process has checked the log's end for a torn line (only the first append must:
        #: every later one ends with its own newline).
        self._tail_checked = False
        self._replay()

    # ---- reading -------------------------------------------------------------------------------

    def records(self) -> Iterator[dict[str, Any]]:
        """Every complete record of the log, in order; a torn last line (kill -9) is skipped.

        :class:`JobDamaged` for a line that parses but is not a record (see the module docstring).
        """
        for _, record in self._numbered_records():
            yield record

    def _numbered_records(self) -> Iterator[tuple[int, dict[str, Any]]]:
        path = self.folder / LOG
        if not path.exists():
            return
        with path.open("rb") as fh:
            for number, raw in enumerate(fh, 1):
                if not raw.endswith(b"\n"):
                    break
                try:
                    record = json.loads(raw)
                except RecursionError:
                    raise JobDamaged(self.folder, f"{LOG} line {number} is nested too deeply to be a record") \
                        from None
                except ValueError:
                    continue  # a torn line, terminated by the append after the crash
                if not isinstance(record, dict):
                    raise JobDamaged(self.folder, f"{LOG} line {number} is not a record")
                yield number, record

    def _replay(self) -> None:
        for number, r in self._numbered_records():
            problem = _record_problem(r)
            if problem is not None:
                raise JobDamaged(self.folder, f"{LOG} line {number} is {problem}")
            self._apply(r)

    def _apply(self, r: dict[str, Any]) -> None:
        kind = r.get("type")
        self.updated = r.get("ts", self.updated)
        step = self.steps.get(r["step"]) if isinstance(r.get("step"), str) else None
        if kind == "step" and step is not None:
            step.state = r["state"]
            step.detail = r.get("detail", "")
            if r["state"] == "pending":  # a retry forgets nothing but the failure
                step.detail = ""
        elif kind == "intent" and step is not None:
            step.intents[r["action"]] = r.get("data") or {}
        elif kind == "done" and step is not None:
            step.done[r["action"]] = r.get("data") or {}
        elif kind == "fact":
            self.facts[r["key"]] = r.get("value")
        elif kind == "job":
            self.state = r["state"]
            self.detail = r.get("detail", "")

    # ---- writing -------------------------------------------------------------------------------

    def append(self, record: dict[str, Any]) -> None:
        """Append one record durably (one write, fsync) and apply it to the in-memory view."""
        record = {"ts": _now(), **self.redactor.data(record)}
        # ASCII: C1 controls and bidi overrides from a node are escaped too (json escapes only C0).
        line = (json.dumps(record, default=str) + "\n").encode("utf-8")
        path = self.folder / LOG
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
        try:
            if not self._tail_checked and os.fstat(fd).st_size:
                with path.open("rb") as fh:
                    fh.seek(-1, os.SEEK_END)
                    if fh.read(1) != b"\n":  # a torn line from a crash: end it so this record stands alone
                        os.write(fd, b"\n")
            self._tail_checked = True
            os.write(fd, line)
            os.fsync(fd)
        finally:
            os.close(fd)
        self._apply(record)

    def set_step(self, step_id: str, state: StepState, detail: str = "") -> None:
        self.append({"type": "step", "step": step_id, "state": state, "detail": detail})

    def intent(self, step_id: str, action: str, data: dict[str, Any] | None = None) -> None:
        self.append({"type": "intent", "step": step_id, "action": action, "data": data or {}})

    def done(self, step_id: str, action: str, data: dict[str, Any] | None = None) -> None:
        self.append({"type": "done", "step": step_id, "action": action, "data": data or {}})

    def fact(self, key: str, value: Any) -> None:
        self.append({"type": "fact", "key": key, "value": value})

    def set_state(self, state: JobState, detail: str = "") -> None:
        self.append({"type": "job", "state": state, "detail": detail})

    def event(self, data: dict[str, Any]) -> None:
        self.append({"type": "event", "event": data})

    def ran(self, command: str) -> None:
        """Who runs the job where, once per run (`renew`, each `resume`, the TUI): for the change record."""
        import getpass
        import socket

        from ucterm import __version__

        try:
            user = getpass.getuser()
        except (KeyError, OSError):  # no passwd entry (containers)
            user = str(os.getuid())
        self.append({"type": "run", "user": user, "host": socket.gethostname(), "pid": os.getpid(),
                     "version": __version__, "command": command[:300]})

    # ---- artifacts -----------------------------------------------------------------------------

    def artifact_path(self, name: str) -> Path:
        return self.folder / _safe(name)

    def write_artifact(self, name: str, data: str | bytes) -> Path:
        path = self.artifact_path(name)
        raw = data.encode("utf-8") if isinstance(data, str) else data
        atomic_write(path, raw)
        return path

    def read_artifact(self, name: str) -> str | None:
        """The artifact's text, or None when it is missing or not a readable regular file."""
        try:
            return read_regular(self.artifact_path(name), "a job artifact").decode("utf-8", "replace")
        except (FileProblem, OSError):
            return None

    def transcript_path(self, node: str) -> Path:
        return self.folder / "transcripts" / f"{_safe(node)}.log"

    def transcript(self, node: str, line: str) -> None:
        """Append one redacted transcript line for a node (best effort: a transcript is not state)."""
        path = self.transcript_path(node)
        path.parent.mkdir(exist_ok=True)
        with path.open("a", encoding="utf-8") as fh:
            # Read with `cat` and `less`: what the node sent is shown, never obeyed (ucterm.text).
            fh.write(visible(self.redactor(line.rstrip("\n"))) + "\n")

    # ---- views ---------------------------------------------------------------------------------

    def csr_files(self) -> list[dict[str, str]]:
        out = []
        for node in self.plan.csr_nodes:
            path = self.artifact_path(f"csr-{node}.pem")
            if path.exists():
                out.append({"node": node, "path": str(path)})
        return out

    def status(self) -> JobStatus:
        """The journal's state, or `interrupted` when it says running and no process holds the lock
        (a job the TUI held on a failed step when it quit reads `failed`)."""
        if self.state != "running" or self._lock_fd is not None or self.holder() is not None:
            return self.state
        return "failed" if any(r.state == "failed" for r in self.steps.values()) else "interrupted"

    def stopped_at(self) -> dict[str, Any] | None:
        """The step a job stopped in: the one running or failed, else the next unfinished one."""
        steps = self.plan.steps
        step = (next((s for s in steps if self.steps[s.id].state in ("running", "failed", "waiting")), None)
                or next((s for s in steps if self.steps[s.id].state not in ("done", "skipped")), None))
        if step is None:
            return None
        return {"id": step.id, "name": step.name, "node": step.node, "number": steps.index(step) + 1}

    def summary(self) -> JobSummary:
        steps = [{"id": s.id, "name": s.name, "node": s.node, "kind": s.kind, "state": self.steps[s.id].state,
                  "detail": self.steps[s.id].detail} for s in self.plan.steps]
        status = self.status()
        resumable = status not in ("done", "abandoned", "running")
        return JobSummary(job=self.id, state=self.state, cluster=self.plan.cluster, unit=self.plan.unit,
                          steps=steps, csrs=self.csr_files(), created=self.created, updated=self.updated,
                          detail=self.detail, folder=str(self.folder), multi_server=self.plan.multi_server,
                          status=status, stopped_at=self.stopped_at() if status != "done" else None,
                          next=f"ucterm resume {self.id}" if resumable else None, batch=self.batch,
                          window=self.window_wait(),
                          inventory=str(self.inventory_path) if self.inventory_path else "")

    def window_wait(self) -> dict[str, str] | None:
        """What the job's restarts wait for while they wait for a maintenance window (see JobSummary.window)."""
        window = self.facts.get("window")
        if self.state != "waiting" or not isinstance(window, dict):
            return None
        step = window.get("step")
        if isinstance(step, str) and step in self.steps and self.steps[step].state != "waiting":
            return None
        return {str(k): str(v) for k, v in window.items()}

    # ---- one runner at a time ------------------------------------------------------------------

    def lock(self) -> None:
        """Hold the job's lock for this process; JournalError if another ucterm runs the job.

        The kernel's lock (flock) is the truth: it dies with its process, kill -9 included, so a
        lock file left behind is never trusted. The file says who holds it (pid and start time),
        for the message another process shows. A `ucterm jobs` looking at the lock holds it for an
        instant: a few tries ride that out."""
        if self._lock_fd is not None:
            return
        fd = os.open(self.folder / "lock", os.O_RDWR | os.O_CREAT, 0o600)
        for attempt in range(10):
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except OSError:
                if attempt == 9:
                    holder = self.holder()
                    os.close(fd)
                    who = holder.describe() if holder is not None else "another ucterm process"
                    raise JournalError(f"job {self.id} is being run by {who}; wait for it to finish (see "
                                       "`ucterm jobs`) before resuming it.") from None
                time.sleep(0.05)
        os.ftruncate(fd, 0)
        pid = os.getpid()
        os.write(fd, f"{pid} {_process_start(pid) or '-'} {_now()}\n".encode())
        self._lock_fd = fd

    def holder(self) -> LockHolder | None:
        """The process that runs this job now, or None: nobody holds the lock (after a crash the file
        may still name a process; that proves nothing)."""
        path = self.folder / "lock"
        try:  # non-blocking: a FIFO put there must not hang `ucterm jobs`
            fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK | getattr(os, "O_NOCTTY", 0))
        except OSError:
            return None
        try:
            if not stat.S_ISREG(os.fstat(fd).st_mode):
                return None
            try:
                fcntl.flock(fd, fcntl.LOCK_SH | fcntl.LOCK_NB)
            except OSError:
                pass  # held: somebody runs the job
            else:
                fcntl.flock(fd, fcntl.LOCK_UN)
                return None
            words = os.read(fd, 200).decode("ascii", "replace").split()
        finally:
            os.close(fd)
        pid = int(words[0]) if words and words[0].isdigit() else None
        if pid is not None and len(words) > 1 and words[1] != "-" and _process_start(pid) != words[1]:
            pid = None  # that process is gone (its pid may be another's now): whoever holds the lock is unnamed
        return LockHolder(pid, words[2] if pid is not None and len(words) > 2 else None)

    def unlock(self) -> None:
        if self._lock_fd is not None:
            with contextlib.suppress(OSError):
                fcntl.flock(self._lock_fd, fcntl.LOCK_UN)
            os.close(self._lock_fd)
            self._lock_fd = None

    def abandon(self) -> str:
        """Give the job up (journaled; nothing on any node is touched) so a new renewal of its unit may
        start. Returns what stays on the nodes, in one sentence; JournalError if it runs or is done."""
        if self.state == "done":
            raise JournalError(f"job {self.id} is done; there is nothing to abandon.")
        if self.state == "abandoned":
            return self.detail
        self.lock()
        try:
            left = self._left_on_nodes()
            self.set_state("abandoned", "abandoned by the user; nothing was changed on the nodes by abandoning it"
                           + (f"; {left}" if left else ""))
        finally:
            self.unlock()
        return self.detail

    def _left_on_nodes(self) -> str:
        """What the job's finished steps left on the nodes (what abandoning it does not undo)."""
        parts: list[str] = []
        for s in self.plan.steps:
            record = self.steps[s.id]
            if s.kind == "generate_csr" and "generate" in record.done:
                parts.append(f"the {self.plan.unit} CSR it made on {s.node} stays there until a new one "
                             "replaces it")
            elif s.kind == "upload_identity" and "identity" in record.done:
                parts.append(f"the certificate it uploaded on {s.node} stays installed")
            elif s.kind == "ha_disable" and record.state == "done" and self.steps.get(
                    s.id.replace("ha_disable", "ha_enable"), StepRecord()).state != "done":
                parts.append("High Availability stays disabled: enable it again in CM Administration")
        uploaded = any(s.kind == "upload_identity" and "identity" in self.steps[s.id].done for s in self.plan.steps)
        restarted = all(self.steps[s.id].state in ("done", "skipped") for s in self.plan.steps if s.kind == "restart")
        if uploaded and not restarted:
            parts.append("its services were not all restarted, so nodes may still serve the old certificate")
        return "; ".join(parts)


def _process_start(pid: int) -> str | None:
    """When a process started (clock ticks since boot, /proc): with the pid it names one process, even
    after the pid is reused. None where /proc has no such file."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    fields = stat.rsplit(")", 1)[-1].split()
    return fields[19] if len(fields) > 19 else None


class Journal:
    """Creating, opening and listing job folders under `paths.jobs_dir()`."""

    @staticmethod
    def root() -> Path:
        return paths.jobs_dir()

    @staticmethod
    def create(plan: Plan, inventory_path: Path | str | None, *, job_id: str | None = None,
               batch: str | None = None) -> Job:
        """A new job folder holding the plan. The id reads as when, which cluster and which unit; `batch`
        names the batch that made it (kept in job.json)."""
        stamp = datetime.now(UTC).strftime("%Y%m%d-%H%M%S")
        jid = job_id or f"{stamp}-{_safe(plan.cluster)}-{_safe(plan.unit)}-{secrets.token_hex(2)}"
        folder = Journal.root() / jid
        try:
            folder.mkdir(parents=True, exist_ok=False, mode=0o700)
        except FileExistsError:
            raise JournalError(f"a job named {jid} exists already in {Journal.root()}.") from None
        meta = {"id": jid, "created": _now(), "format": 1,
                "inventory": str(Path(inventory_path).resolve()) if inventory_path else None,
                "plan": plan.to_dict()}
        if batch:
            meta["batch"] = batch
        atomic_write(folder / META, json.dumps(meta, indent=2).encode("utf-8"))
        job = Job(folder, meta)
        job.set_state("running", "created")
        return job

    @staticmethod
    def resolve(job_id: str) -> str:
        """The full id of the job `job_id` names: itself, or the one job whose id starts with it (ids
        are long: `20261127-080000-hq-tomcat-3f2a`). JournalError naming the matches when several do."""
        root = Journal.root()
        if (root / _safe(job_id) / META).is_file() or not job_id or not root.is_dir():
            return job_id
        matches = sorted(f.name for f in root.iterdir() if f.name.startswith(job_id) and (f / META).is_file())
        if len(matches) == 1:
            return matches[0]
        if len(matches) > 1:
            shown = ", ".join(matches[:5]) + (f" and {len(matches) - 5} more" if len(matches) > 5 else "")
            raise JournalError(f'"{job_id}" is the start of {len(matches)} job ids ({shown}); give more of it.')
        return job_id

    @staticmethod
    def open(job_id: str) -> Job:
        """The job `job_id` names (its full id or a unique prefix of it)."""
        job_id = Journal.resolve(job_id)
        folder = Journal.root() / _safe(job_id)
        try:
            meta = json.loads((folder / META).read_text("utf-8"))
        except FileNotFoundError:
            known = ", ".join(j.job for j in list_jobs()[:5]) or "none"
            raise JournalError(f'there is no job "{job_id}" in {Journal.root()}; `ucterm jobs` lists them '
                               f"(latest: {known}).") from None
        except RecursionError:
            raise JobDamaged(folder, f"{META} is nested too deeply to be a job") from None
        except (UnicodeDecodeError, ValueError) as exc:
            raise JobDamaged(folder, f"{META} is not JSON ({clip(str(exc), 120)})") from None
        except OSError as exc:
            raise JournalError(f"{folder / META} cannot be read ({exc.strerror or exc}); the job cannot be "
                               "resumed.") from None
        return Job(folder, meta)


def list_jobs() -> list[JobSummary]:
    """Every journaled job, newest first; a damaged folder is listed as damaged, never skipped or raised.

    One damaged job must not hide the others (a deeply nested log line once broke the listing of
    every job), nor hide itself: its cluster and unit may still be the ones a new renewal touches.
    """
    root = Journal.root()
    if not root.is_dir():
        return []
    out: list[JobSummary] = []
    for folder in root.iterdir():
        if not (folder / META).is_file():
            continue
        try:
            out.append(Journal.open(folder.name).summary())
        except JobDamaged as exc:
            out.append(_damaged_summary(folder, exc.reason))
        except JournalError as exc:
            out.append(_damaged_summary(folder, str(exc)))
        except Exception as exc:  # whatever else a damaged folder raises: listed, not fatal
            out.append(_damaged_summary(folder, f"{type(exc).__name__}: {clip(str(exc), 120)}"))
    out.sort(key=lambda s: s.created, reverse=True)
    return out


def _damaged_summary(folder: Path, reason: str) -> JobSummary:
    """What can still be said of a damaged job: its id and, where job.json tells, cluster, unit, date."""
    cluster = unit = created = ""
    try:
        meta = json.loads((folder / META).read_text("utf-8"))
        plan = meta.get("plan") if isinstance(meta, dict) else None
        if isinstance(plan, dict):
            cluster = plan["cluster"] if isinstance(plan.get("cluster"), str) else ""
            unit = plan["unit"] if isinstance(plan.get("unit"), str) else ""
        if isinstance(meta, dict) and isinstance(meta.get("created"), str):
            created = meta["created"]
    except (OSError, ValueError, RecursionError):
        pass
    return JobSummary(job=folder.name, state="failed", cluster=cluster, unit=unit, steps=[], csrs=[],
                      created=created, updated=created, detail=f"damaged: {reason}", folder=str(folder),
                      damaged=reason, status="failed")


def active_jobs(cluster: str, unit: str, jobs: Sequence[JobSummary] | None = None) -> list[JobSummary]:
    """Unfinished (or damaged, so possibly unfinished) jobs for the same cluster and unit (see
    JobSummary.unfinished): a second one would fight them over the node's CSR. `jobs`: a list_jobs()
    the caller has already read (it replays every journal)."""
    return [j for j in (list_jobs() if jobs is None else jobs)
            if j.cluster == cluster and j.unit.lower() == unit.lower() and j.unfinished]


def recent_units(cluster: str, jobs: Sequence[JobSummary] | None = None, *,
                 within_hours: float = 48.0) -> dict[str, str]:
    """Units renewed (or being renewed) on a cluster in the last hours (unit -> job id), for the §5.5
    rule that CallManager, TVS and ITLRecovery never change in the same window. `jobs` as in
    active_jobs()."""
    out: dict[str, str] = {}
    now = datetime.now(UTC)
    for j in list_jobs() if jobs is None else jobs:
        try:
            age = (now - datetime.fromisoformat(j.created.replace("Z", "+00:00"))).total_seconds() / 3600
        except ValueError:
            continue
        if j.cluster == cluster and j.state != "aborted" and age <= within_hours:
            out.setdefault(j.unit, j.job)
    return out
