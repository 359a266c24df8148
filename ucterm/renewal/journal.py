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
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
import re
import secrets
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from ucterm import paths
from ucterm.errors import UctermError
from ucterm.files import atomic_write
from ucterm.renewal.model import SUMMARY_STATE, JobState, Plan, StepState

LOG = "log.jsonl"
META = "job.json"
_SAFE = re.compile(r"[^A-Za-z0-9_.-]+")


class JournalError(UctermError):
    """A job folder is missing, unreadable or busy: one sentence naming it and what to do."""


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
    """One job for `ucterm jobs` and the `--json` summary (design.md §3)."""

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
    #: The inventory the job was planned from (resolved path; "" for a job that recorded none).
    inventory: str = ""

    def to_json(self) -> dict[str, Any]:
        """The contract's keys (`job`, `state`, `cluster`, `unit`, `steps`, `csrs`) plus compatible extras."""
        return {"job": self.job, "state": SUMMARY_STATE[self.state], "cluster": self.cluster,
                "unit": self.unit, "steps": self.steps, "csrs": self.csrs, "detail": self.detail,
                "created": self.created,
                "updated": self.updated, "folder": self.folder, "multi_server": self.multi_server,
                "inventory": self.inventory}


class Job:
    """A job folder: its plan, its log (replayed on open) and its artifacts."""

    def __init__(self, folder: Path, meta: dict[str, Any]) -> None:
        self.folder = folder
        self.id: str = meta["id"]
        self.created: str = meta.get("created", "")
        self.inventory_path: Path | None = Path(meta["inventory"]) if meta.get("inventory") else None
        self.plan = Plan.from_dict(meta["plan"])
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
        """Every complete record of the log, in order; a torn last line (kill -9) is skipped."""
        path = self.folder / LOG
        if not path.exists():
            return
        with path.open("rb") as fh:
            for raw in fh:
                if not raw.endswith(b"\n"):
                    break
                try:
                    record = json.loads(raw)
                except ValueError:
                    continue
                if isinstance(record, dict):
                    yield record

    def _replay(self) -> None:
        for r in self.records():
            self._apply(r)

    def _apply(self, r: dict[str, Any]) -> None:
        kind = r.get("type")
        self.updated = r.get("ts", self.updated)
        step = self.steps.get(r.get("step", "")) if "step" in r else None
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
        line = (json.dumps(record, ensure_ascii=False, default=str) + "\n").encode("utf-8")
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
        try:
            return self.artifact_path(name).read_text("utf-8")
        except OSError:
            return None

    def transcript_path(self, node: str) -> Path:
        return self.folder / "transcripts" / f"{_safe(node)}.log"

    def transcript(self, node: str, line: str) -> None:
        """Append one redacted transcript line for a node (best effort: a transcript is not state)."""
        path = self.transcript_path(node)
        path.parent.mkdir(exist_ok=True)
        with path.open("a", encoding="utf-8") as fh:
            fh.write(self.redactor(line.rstrip("\n")) + "\n")

    # ---- views ---------------------------------------------------------------------------------

    def csr_files(self) -> list[dict[str, str]]:
        out = []
        for node in self.plan.csr_nodes:
            path = self.artifact_path(f"csr-{node}.pem")
            if path.exists():
                out.append({"node": node, "path": str(path)})
        return out

    def summary(self) -> JobSummary:
        steps = [{"id": s.id, "name": s.name, "node": s.node, "kind": s.kind, "state": self.steps[s.id].state,
                  "detail": self.steps[s.id].detail} for s in self.plan.steps]
        return JobSummary(job=self.id, state=self.state, cluster=self.plan.cluster, unit=self.plan.unit,
                          steps=steps, csrs=self.csr_files(), created=self.created, updated=self.updated,
                          detail=self.detail, folder=str(self.folder), multi_server=self.plan.multi_server,
                          inventory=str(self.inventory_path) if self.inventory_path else "")

    # ---- one runner at a time ------------------------------------------------------------------

    def lock(self) -> None:
        """Hold the job's lock for this process; JournalError if another ucterm runs the job."""
        if self._lock_fd is not None:
            return
        fd = os.open(self.folder / "lock", os.O_RDWR | os.O_CREAT, 0o600)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            os.close(fd)
            raise JournalError(f"job {self.id} is being run by another ucterm process; wait for it to "
                               "finish (see `ucterm jobs`) before resuming it.") from None
        os.ftruncate(fd, 0)
        os.write(fd, str(os.getpid()).encode())
        self._lock_fd = fd

    def unlock(self) -> None:
        if self._lock_fd is not None:
            with contextlib.suppress(OSError):
                fcntl.flock(self._lock_fd, fcntl.LOCK_UN)
            os.close(self._lock_fd)
            self._lock_fd = None


class Journal:
    """Creating, opening and listing job folders under `paths.jobs_dir()`."""

    @staticmethod
    def root() -> Path:
        return paths.jobs_dir()

    @staticmethod
    def create(plan: Plan, inventory_path: Path | str | None, *, job_id: str | None = None) -> Job:
        """A new job folder holding the plan. The id reads as when, which cluster and which unit."""
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
        except (OSError, ValueError) as exc:
            raise JournalError(f"{folder / META} cannot be read ({exc}); the job cannot be resumed.") \
                from None
        return Job(folder, meta)


def list_jobs() -> list[JobSummary]:
    """Every journaled job, newest first; unreadable folders are skipped."""
    root = Journal.root()
    if not root.is_dir():
        return []
    out: list[JobSummary] = []
    for folder in root.iterdir():
        if not (folder / META).is_file():
            continue
        try:
            out.append(Journal.open(folder.name).summary())
        except (UctermError, KeyError, ValueError, TypeError):
            continue
    out.sort(key=lambda s: s.created, reverse=True)
    return out


def active_jobs(cluster: str, unit: str, jobs: Sequence[JobSummary] | None = None) -> list[JobSummary]:
    """Unfinished jobs for the same cluster and unit: a second one would regenerate their CSRs.
    `jobs`: a list_jobs() the caller has already read (it replays every journal)."""
    return [j for j in (list_jobs() if jobs is None else jobs)
            if j.cluster == cluster and j.unit.lower() == unit.lower() and j.state in ("running", "paused", "waiting")]


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
