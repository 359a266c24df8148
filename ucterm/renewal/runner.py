"""The runner: executes a journaled plan, steps on different nodes side by side, with pause,
retry, skip and abort.

One runner drives one job in one process (the journal's lock makes sure of it). It reports
typed events (:mod:`ucterm.renewal.events`) through the sink, journals each of them, and keeps
the transcript of every node in the job folder. It can be cancelled at any point (the jumpbox
session dies, `kill -9`): the journal then holds everything :meth:`Runner.run` needs to finish
the job later without repeating a CSR, an upload or a restart (see :mod:`ucterm.renewal.steps`).

Steps run as soon as the steps they wait for are done (:mod:`ucterm.renewal.schedule`: every
node read before the first change, one certificate's steps in order, restarts one node at a
time, publisher first), each holding its node while it runs. Every event names its step, so the
faces can show interleaved steps. A stop (a failure, a wait, a declined question, pause, abort)
starts no new step; the steps already running finish, as one step did before, and the job stops
at that boundary. The restart phase starts only inside the clusters' maintenance windows
(:mod:`ucterm.renewal.windows`) and holds their restart locks (:mod:`ucterm.renewal.restartlock`).

`run()` returns when the job is done, waiting (for the CA's answer, a manual HA toggle or the
maintenance window), failed or aborted. With `hold_on_failure` (the TUI) a failed step waits for
the user's decision instead: :meth:`retry`, :meth:`skip` or :meth:`abort`.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import sys
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Literal, cast

from ucterm.credentials import CredentialStore, ObservedCredentials
from ucterm.errors import UctermError
from ucterm.events import Event, EventSink, TranscriptLine, emit
from ucterm.inventory import Cluster, Inventory
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
from ucterm.renewal.journal import Job
from ucterm.renewal.model import SIDE_EFFECT_KINDS, JobState, Step
from ucterm.renewal.nodes import NodeAccess, NodePool
from ucterm.renewal.restartlock import RestartLock
from ucterm.renewal.schedule import RESTART_PHASE_KINDS, restart_phase, schedule_for
from ucterm.renewal.signers import JournaledSigner, Material, Signer
from ucterm.renewal.steps import Declined, RunnerSettings, Skip, StepError, StepWorker, Waiting
from ucterm.renewal.windows import WindowWait, closed_windows, phase_begun

Confirm = Callable[[str], Awaitable[bool]]
Decision = Literal["retry", "skip", "abort"]


def _command_line() -> str:
    """How this process was started, for the change record (`ucterm resume JOB --signed …`)."""
    if sys.argv and sys.argv[0].endswith(("ucterm", "__main__.py")):
        return " ".join(["ucterm", *sys.argv[1:]])
    return "ucterm (embedded)"


class RenewalError(UctermError):
    """A renewal cannot start or a control cannot apply: one sentence saying why and what to do."""


class NodesNotReady(RenewalError):
    """A resumed job stopped before its first change: a node it will touch cannot be reached as trusted."""

    exit_code = 3


class _Deferred(Exception):
    """A step's question was not asked because the job is stopping: the step is left as it was (pending)."""


@dataclass(frozen=True)
class _Stop:
    """Why the job stops once its running steps have finished (the most serious reason wins)."""

    kind: Literal["failed", "declined", "waiting"]
    step: Step
    message: str

    def rank(self) -> int:
        return {"failed": 0, "declined": 1, "waiting": 2}[self.kind]


def _joined(first: str, then: str) -> str:
    """Two waiting messages as one; a way on both end with (`; run ucterm resume …`) is said once."""
    head, sep, tail = first.rpartition("; ")
    if sep and then.endswith(f"; {tail}"):
        return f"{head}; {then}"
    return f"{first}; {then}"


class Runner:
    """Drives one job (see the module docstring)."""

    def __init__(self, job: Job, inventory: Inventory, credentials: CredentialStore, *,
                 sink: EventSink | None = None, signer: Signer | JournaledSigner | None = None,
                 confirm: Confirm | None = None,
                 hold_on_failure: bool = False, settings: RunnerSettings | None = None,
                 read_only: bool = False, now: Callable[[], datetime] | None = None,
                 approved: bool = False, pool: NodePool | None = None, restart_now: bool = False) -> None:
        """`approved`: the person running the job confirmed the plan once, its risky steps listed
        (the TUI's "Run the renewal?", `ucterm renew` without --yes): risky steps then run without
        asking again, unless the plan asks for it (PlanOptions.confirm_each)."""
        self.job = job
        self.inventory = inventory
        self.signer = signer
        self.settings = settings or RunnerSettings()
        self.material = Material([], [])
        self.now: Callable[[], datetime] = now or (lambda: datetime.now(UTC))
        self._sink = sink
        self._confirm = confirm
        self._hold = hold_on_failure
        self._read_only = read_only
        self._approved = approved
        self._credentials = cast(CredentialStore, ObservedCredentials(credentials, job.redactor.add))
        #: Sessions opened before the job (the survey) or kept for the next job of a batch; None: the
        #: runner opens its own and closes them when it ends.
        self._pool = pool
        if pool is not None:
            pool.listen(job.redactor.add)
        #: The maintenance window does not hold the restarts back (the user said so; asked first).
        self.restart_now = restart_now
        self._nodes: dict[str, NodeAccess] = {}
        self._worker = StepWorker(self)
        #: The step running on each node (lower-case FQDN), which the node's transcript lines belong to.
        self._on_node: dict[str, Step] = {}
        self._schedule = schedule_for(job.plan)
        self._restart_lock = RestartLock(self._restart_clusters(), job.id)
        self._stop: _Stop | None = None
        self._fatal: BaseException | None = None
        #: The closed windows the first restart-phase step of this run restarts through (restart_now).
        self._overridden: WindowWait | None = None
        #: Steps that failed in this run and wait for the user's decision (hold_on_failure).
        self._failed_now: set[str] = set()
        self._last_failure: str | None = None
        self._ask_lock = asyncio.Lock()
        self._check_lock = asyncio.Lock()
        self._check_error: NodesNotReady | None = None
        self._pause_requested = False
        self._resumed = asyncio.Event()
        self._abort_requested = False
        self._decision: asyncio.Future[Decision] | None = None
        #: The failed step `run()` holds on (hold_on_failure). A decision taken before the wait began (from
        #: the event sink, while other steps finish) is kept for the step it was taken about.
        self._held: Step | None = None
        self._early: tuple[str, Decision] | None = None
        self._running = False
        self._paused = False
        self._posted: set[asyncio.Future[Any]] = set()
        #: Per node, the restart whose command line was just sent and whose answer is awaited
        #: (see _note_acknowledged).
        self._restart_sent: dict[str, str] = {}
        #: Whether every node the remaining steps touch was reached in this run (see _check_nodes).
        self._nodes_checked = False

    # ---- the user's controls ---------------------------------------------------------------------

    @property
    def state(self) -> JobState:
        return "paused" if self._paused else self.job.state

    @property
    def credentials(self) -> CredentialStore:
        """The store the steps and signers resolve secrets with: every answer reaches the redactor first."""
        return self._credentials

    @property
    def interactive(self) -> bool:
        """A person can answer (the TUI, a terminal without --yes): manual steps ask instead of waiting."""
        return self._confirm is not None

    @property
    def pause_requested(self) -> bool:
        """A pause was asked for and not resumed yet (it takes effect before the next step)."""
        return self._pause_requested

    def pause(self) -> None:
        """Stop before the next step (the current one finishes: half a restart helps nobody)."""
        self._pause_requested = True
        self._resumed.clear()

    def resume(self) -> None:
        self._pause_requested = False
        self._resumed.set()

    def abort(self) -> None:
        """Stop at the next step boundary; the job stays resumable with `ucterm resume`."""
        self._abort_requested = True
        self._resumed.set()
        self._decide("abort")

    def retry(self) -> None:
        """Run the failed step again (now if `run()` holds on it, else on the next `run()`)."""
        if self._decide("retry"):
            return
        failed = self._failed_step()
        if failed is None:
            raise RenewalError(f"job {self.job.id} has no failed step to retry.")
        self.job.set_step(failed.id, "pending", "retry")

    def skip(self, reason: str) -> None:
        """Skip the failed (or else the next) step, recording why; refused for steps a certificate needs."""
        step = self._decision_target() or self._failed_step() or self._next_step()
        if step is None:
            raise RenewalError(f"job {self.job.id} has no step left to skip.")
        if not step.skippable:
            raise RenewalError(f'"{step.name}" cannot be skipped: the renewal cannot go on without it; '
                               "retry it or abort the job.")
        if not reason.strip():
            raise RenewalError("say why the step is skipped; the reason is kept in the job's journal.")
        self._decide("skip")
        self.job.set_step(step.id, "skipped", f"skipped by the user: {reason.strip()}")
        self._post(StepSkipped(job=self.job.id, step=step.id, node=step.node, reason=reason.strip()))

    def provide_signed(self, pems: Sequence[str]) -> None:
        """What the CA issued (leaves and CA certificates, any order); matched to CSRs by public key.

        It replaces or extends what the job holds (see _reset_for_new_material) when the run starts,
        or at once when the run holds on a failed step: that run then goes back to the steps the new
        material concerns."""
        self.material.extend(Material.from_pems(pems))
        holding = self._decision is not None or self._held is not None or bool(self._failed_now)
        if holding and self._reset_for_new_material():
            self._decide("retry")

    # ---- running -------------------------------------------------------------------------------

    async def run(self) -> JobState:
        self._check_may_run()
        self.job.lock()
        self._running = True
        prior = self.job.state
        self.job.ran(_command_line())
        try:
            self._reset_for_new_material()
            # A fresh job's preflight steps read every node before the first change; a resumed one
            # checks its nodes again before its first change (see _check_nodes).
            self._nodes_checked = not any(r.state in ("done", "skipped") for r in self.job.steps.values())
            self._check_error = None
            self._stop, self._fatal = None, None
            self._failed_now.clear()
            self.job.set_state("running", "")
            return await self._run_steps()
        except NodesNotReady as exc:
            self.job.set_state(prior if prior in ("waiting", "paused", "failed", "aborted") else "failed", str(exc))
            raise
        finally:
            self._running = False
            self._restart_lock.release()
            await self._close_nodes()
            self.job.unlock()

    async def _run_steps(self) -> JobState:
        """Start every step whose turn has come, until the job is done or stops (see the module docstring)."""
        running: dict[asyncio.Task[tuple[str, str]], Step] = {}
        try:
            while True:
                self._prune_failed()
                if not self._stopping:
                    await self._launch(running)
                if not running:
                    outcome = await self._settle()
                    if outcome is not None:
                        return outcome
                    continue
                finished, _ = await asyncio.wait(running, return_when=asyncio.FIRST_COMPLETED)
                for task in finished:
                    self._note(running.pop(task), task)
                if self._restart_lock.held and self._phase_over():
                    self._restart_lock.release()
        except BaseException:
            # kill -9 stands for this: nothing after this point happens, in any step. The journal has
            # every intent; the next run reconciles each step with what its node says.
            for task in running:
                task.cancel()
            await asyncio.gather(*running, return_exceptions=True)
            raise

    @property
    def _stopping(self) -> bool:
        """No new step starts: the job stops at this boundary (or holds a failed step) once the running finish."""
        return (self._stop is not None or self._fatal is not None or self._abort_requested or self._pause_requested
                or (self._hold and bool(self._failed_now)))

    async def _launch(self, running: dict[asyncio.Task[tuple[str, str]], Step]) -> None:
        """Start, in plan order, every unfinished step whose dependencies are done and whose node is free;
        the restart phase only inside its maintenance windows."""
        busy: set[str] = set().union(*(self._schedule.holds[s.id] for s in running.values()))
        started = {s.id for s in running.values()}
        for step in self._ready_steps(started):
            if self._schedule.holds[step.id] & busy:
                continue
            if step.kind in RESTART_PHASE_KINDS and not self._restart_lock.held:
                wait = self._window_wait()
                if wait is not None and not self.restart_now:
                    await self._wait_for_window(step, wait)
                    return
                self._overridden = wait  # restart_now: asked when the step starts
            running[asyncio.ensure_future(self._execute(step))] = step
            busy |= self._schedule.holds[step.id]
            started.add(step.id)

    def _ready_steps(self, started: set[str]) -> list[Step]:
        """Unfinished steps, in plan order, whose dependencies are done and that are not running or held."""
        finished = {sid for sid, r in self.job.steps.items() if r.state in ("done", "skipped")}
        return [s for s in self.job.plan.steps
                if s.id not in finished and s.id not in started and s.id not in self._failed_now
                and self._schedule.ready(s.id, finished)]

    def _prune_failed(self) -> None:
        """Forget held failures the user settled meanwhile (a retry or a skip from the sink, new material)."""
        self._failed_now = {sid for sid in self._failed_now if self.job.steps[sid].state == "failed"}
        if not self._failed_now and self._held is None:
            self._early = None

    def _note(self, step: Step, task: asyncio.Task[tuple[str, str]]) -> None:
        """What a finished step means for the job: go on, or stop once the others have finished."""
        try:
            outcome, message = task.result()
        except NodesNotReady as exc:
            self._fatal = self._fatal or exc
            return
        stop: _Stop | None = None
        if outcome == "failed":
            if self._hold:
                self._failed_now.add(step.id)
            else:
                stop = _Stop("failed", step, message)
        elif outcome == "waiting":
            if self._stop is not None and self._stop.kind == "waiting":  # several wait: the job says each
                self._stop = _Stop("waiting", self._stop.step, _joined(self._stop.message, message))
                return
            stop = _Stop("waiting", step, message)
        elif outcome == "declined":
            stop = _Stop("declined", step, message)
        if stop is not None and (self._stop is None or stop.rank() < self._stop.rank()):
            self._stop = stop

    async def _settle(self) -> JobState | None:
        """Nothing runs: finish, hold, pause or stop the job; None to go on starting steps."""
        if self._fatal is not None:
            raise self._fatal
        held = self._decision_target() if self._hold else None
        if held is not None and self._failed_now:
            return await self._hold_on(held)
        if self._stop is not None:
            stop, self._stop = self._stop, None
            if stop.kind == "failed":
                return await self._finish("failed", stop.message)
            if stop.kind == "waiting":
                return await self._finish("waiting", stop.message)
            return await self._paused_by_no(stop.step)
        following = self._next_step()
        if self._abort_requested:
            return await self._finish("aborted", "aborted by the user" + (f" before: {following.name}"
                                                                          if following is not None else ""))
        if following is None:
            return await self._finish("done", self._done_detail())
        if self._pause_requested:
            await self._pause_here(following)
            return None
        if self._ready_steps(set()):
            return None
        blocked = [s.name for s in self.job.plan.steps if self.job.steps[s.id].state not in ("done", "skipped")]
        return await self._finish("failed", f"steps cannot start because steps they wait for did not finish: "
                                            f"{'; '.join(blocked[:3])}; `ucterm resume {self.job.id}` tries again")

    async def _hold_on(self, step: Step) -> JobState | None:
        """Wait for the user's decision on a failed step (hold_on_failure), the others having finished."""
        if self._last_failure != step.id:  # several failed at once: say which one the controls act on now
            self._last_failure = step.id
            await self._emit(StepFailed(job=self.job.id, step=step.id, node=step.node,
                                        error=self.job.steps[step.id].detail))
        self._held = step
        decision = await self._wait_decision()
        self._failed_now.discard(step.id)
        if decision == "abort":
            return await self._finish("aborted", f"aborted by the user at: {step.name}")
        if decision == "retry" and self.job.steps[step.id].state == "failed":
            self.job.set_step(step.id, "pending", "retry")
        return None

    def _phase_over(self) -> bool:
        return all(self.job.steps[s.id].state in ("done", "skipped") for s in restart_phase(self.job.plan))

    def _restart_clusters(self) -> list[str]:
        """The clusters whose nodes the job restarts (a multi-server certificate reaches linked IM&P nodes)."""
        by_node = {n.fqdn.lower(): c.name for c in self.inventory.clusters for n in c.nodes}
        return sorted({by_node.get((s.node or "").lower(), self.job.plan.cluster)
                       for s in restart_phase(self.job.plan)})

    def _window_wait(self) -> WindowWait | None:
        """The maintenance windows the restart phase waits for now, or None (see renewal.windows)."""
        steps = self.job.steps
        if phase_begun(self.job.plan, {k: r.state for k, r in steps.items()},
                       {k: bool(r.intents) for k, r in steps.items()}):
            return None
        return closed_windows(self.job.plan, self.inventory, self.job.facts, self.now())

    async def _wait_for_window(self, step: Step, wait: WindowWait) -> None:
        """The restarts do not start: the job waits at its first restart-phase step, for `wait`."""
        message = wait.sentence(self.job.id)
        self.job.fact("window", {**wait.to_dict(), "step": step.id})
        self.job.set_step(step.id, "waiting", message)
        await self._emit(JobWaiting(job=self.job.id, step=step.id, node=step.node, message=message))
        self._stop = _Stop("waiting", step, message)

    async def _enter_restart_phase(self, step: Step) -> None:
        """Before the first restart-phase step: the user's word for restarting outside the window
        (--restart-now), then every restart lock of the job's clusters."""
        if self._restart_lock.held:
            return
        wait, self._overridden = self._overridden, None
        if wait is not None:  # only with restart_now: otherwise the phase does not start
            await self.confirm(step, f"The maintenance window ({wait.windows_text}) is closed: restart now anyway? "
                                     f"{', '.join(wait.services)} interrupt calls or clients.", consent=False)
            self.job.fact("restart_now", {**wait.to_dict(), "at": self.now().strftime("%Y-%m-%dT%H:%M:%SZ")})
        if self.job.facts.get("window"):
            self.job.fact("window", None)
        await self._restart_lock.acquire(lambda message: self.progress(step, message))

    async def _execute(self, step: Step) -> tuple[str, str]:
        """Run one step once: (outcome, detail) with outcome done, skipped, waiting, declined, failed or
        deferred (its question was not asked because the job is stopping: it stays pending)."""
        if step.kind in SIDE_EFFECT_KINDS and not self._nodes_checked:
            await self._checked_nodes()
        rec = self.job.steps[step.id]
        reconciling = rec.state == "running" or bool(rec.open_intents())
        holds = self._schedule.holds[step.id]
        for node in holds:
            self._on_node[node] = step
        try:
            await self._emit(StepStarted(job=self.job.id, step=step.id, node=step.node, name=step.name,
                                         step_kind=step.kind, reconciling=reconciling))
            self.job.set_step(step.id, "running", "reconciling after an interruption" if reconciling else "")
            try:
                if step.kind in RESTART_PHASE_KINDS:
                    await self._enter_restart_phase(step)
                detail = await self._worker.run(step)
            except Waiting as exc:
                self.job.set_step(step.id, "waiting", str(exc))
                await self._emit(JobWaiting(job=self.job.id, step=step.id, node=step.node, message=str(exc),
                                            csrs=tuple(c["path"] for c in self.job.csr_files())))
                return "waiting", str(exc)
            except Skip as exc:
                self.job.set_step(step.id, "skipped", str(exc))
                await self._emit(StepSkipped(job=self.job.id, step=step.id, node=step.node, reason=str(exc)))
                return "skipped", str(exc)
            except _Deferred:
                self.job.set_step(step.id, "pending", "")
                return "deferred", ""
            except Declined as exc:
                # Not a failure: the user's no. The step is as it was before it asked (pending).
                self.job.set_step(step.id, "pending", f"you declined: {exc}")
                return "declined", str(exc)
            except UctermError as exc:
                return await self._failed(step, str(exc), getattr(exc, "fix", ""))
            except (TimeoutError, OSError) as exc:
                return await self._failed(step, f"{step.node}: {type(exc).__name__}: {exc or 'no detail'}", "retry")
            except Exception as exc:
                return await self._failed(step, f"unexpected {type(exc).__name__} in {step.name}: {exc}",
                                          f"report it with the job folder {self.job.folder}")
            self.job.set_step(step.id, "done", detail)
            await self._emit(StepDone(job=self.job.id, step=step.id, node=step.node, detail=detail))
            return "done", detail
        finally:
            for node in holds:
                if self._on_node.get(node) is step:
                    del self._on_node[node]

    async def _checked_nodes(self) -> None:
        """The resume check (_check_nodes) once, whichever side-effect step gets there first."""
        async with self._check_lock:
            if self._check_error is not None:
                raise self._check_error
            if self._nodes_checked:
                return
            try:
                await self._check_nodes()
            except NodesNotReady as exc:
                self._check_error = exc
                raise
            self._nodes_checked = True

    async def _failed(self, step: Step, error: str, fix: str) -> tuple[str, str]:
        error = self.job.redactor(error)
        text = f"{error.rstrip('.')}; {fix}" if fix else error
        self.job.set_step(step.id, "failed", text)
        self._last_failure = step.id
        await self._emit(StepFailed(job=self.job.id, step=step.id, node=step.node, error=error, fix=fix))
        return "failed", text

    async def _finish(self, state: JobState, detail: str) -> JobState:
        self.job.set_state(state, detail)
        await self._emit(JobFinished(job=self.job.id, step=None, node=None, state=state, detail=detail))
        return state

    def _done_detail(self) -> str:
        verified = [s for s in self.job.plan.steps if s.kind == "verify" and self.job.steps[s.id].state == "done"]
        skipped = [s for s in self.job.plan.steps if self.job.steps[s.id].state == "skipped"]
        text = (f"{len(verified)} of {len(self.job.plan.all_nodes)} node(s) proven to serve the new "
                f"{self.job.plan.unit} certificate")
        unchecked = [u for s in verified for u in self.job.steps[s.id].done.get("verify", {}).get("unchecked", ())]
        text += f"; {len(skipped)} step(s) skipped" if skipped else ""
        return text + (f"; warning: {'; '.join(unchecked)}" if unchecked else "")

    async def _pause_here(self, step: Step, message: str = "") -> None:
        self._paused = True
        await self._emit(JobPaused(job=self.job.id, step=step.id, node=step.node,
                                   message=message or f"paused before: {step.name}"))
        await self._resumed.wait()
        self._paused = False

    async def _paused_by_no(self, step: Step) -> JobState | None:
        """The user declined a step's question: the job is paused at that step, which changed nothing.
        With a person at the controls (the TUI) the run waits for `resume()` and asks again; headless,
        the job ends paused and `ucterm resume` asks again."""
        number = self.job.plan.steps.index(step) + 1
        where = f" on {step.node}" if step.node else ""
        detail = (f'you declined step {number} ("{step.name}"), so it changed nothing{where}; '
                  + ("resume (p) asks again" if self._hold else f"`ucterm resume {self.job.id}` asks again"))
        if not self._hold:
            return await self._finish("paused", detail)
        self.job.set_state("paused", detail)
        self._pause_requested = True
        self._resumed.clear()
        await self._pause_here(step, detail)
        self._pause_requested = False
        if not self._abort_requested:
            self.job.set_state("running", "")
        return None

    async def _wait_decision(self) -> Decision:
        held = self._held
        try:
            if self._early is not None and held is not None and self._early[0] == held.id:
                return self._early[1]
            self._decision = asyncio.get_running_loop().create_future()
            return await self._decision
        finally:
            self._decision = None
            self._held, self._early = None, None

    def _decide(self, decision: Decision) -> bool:
        """Hand a decision to the held run: at once if it waits, or kept for its wait when a step has just
        failed and others are finishing (a sink that decides while StepFailed is being delivered). False:
        nothing holds."""
        if self._decision is not None and not self._decision.done():
            self._decision.set_result(decision)
            return True
        target = self._decision_target() if self._hold else None
        if target is not None and self._early is None:
            self._early = (target.id, decision)
            return True
        return False

    def _decision_target(self) -> Step | None:
        """The failed step the user's controls act on while a run holds: the one it waits on, else the
        first (in plan order) of those that failed in this run."""
        if self._held is not None:
            return self._held
        self._prune_failed()
        return next((s for s in self.job.plan.steps if s.id in self._failed_now), None)

    def _failed_step(self) -> Step | None:
        return next((s for s in self.job.plan.steps if self.job.steps[s.id].state == "failed"), None)

    def _next_step(self) -> Step | None:
        return next((s for s in self.job.plan.steps if self.job.steps[s.id].state not in ("done", "skipped")),
                    None)

    def _check_may_run(self) -> None:
        cluster = self.inventory.cluster(self.job.plan.cluster)
        if self._read_only or cluster.settings.read_only:
            raise RenewalError(f'renewals are disabled: the inventory (or --read-only) makes cluster '
                               f'"{cluster.name}" read-only; remove read_only to renew.')
        if self._running:
            raise RenewalError(f"job {self.job.id} is running already.")
        if self.job.state == "abandoned":
            raise RenewalError(f"job {self.job.id} was abandoned ({self.job.updated[:10]}); start a new one with "
                               f"`ucterm renew --cluster {cluster.name} --unit {self.job.plan.unit}`.")
        known = {n.fqdn for n in cluster.nodes}
        missing = [n for n in self.job.plan.nodes if n not in known]
        everywhere = {n.fqdn.lower() for c in self.inventory.clusters for n in c.nodes}
        missing += [n for n in self.job.plan.linked_nodes if n.lower() not in everywhere]
        if missing:
            raise RenewalError(f'cluster "{cluster.name}" in the inventory no longer has '
                               f"{', '.join(missing)}, which job {self.job.id} renews; restore the nodes or "
                               "start a new job.")

    async def _check_nodes(self) -> None:
        """Before a resumed job's first change: log in to every node its remaining steps touch.

        A fresh job's preflight steps read every node before the first change; a resumed one has
        done those, and must not upload to the first node before finding that another one's host
        key changed (or that it is down, or refuses the login). The sessions opened here stay open
        for the steps. Waiting for the CA costs no login: the check runs at the first change.
        """
        left = [s for s in self.job.plan.steps if self.job.steps[s.id].state not in ("done", "skipped")]
        nodes = list(dict.fromkeys(s.node for s in left if s.node and s.transport in ("cli", "rest")))
        if any(s.transport == "axl" for s in left):
            with contextlib.suppress(UctermError):
                nodes.append(self.axl_access().fqdn)  # (a missing cucm_cluster is the step's own error)

        async def reach(fqdn: str) -> str | None:
            try:
                await self.access(fqdn).version()
            except (UctermError, TimeoutError, OSError) as exc:
                return str(exc) or f"{fqdn}: {type(exc).__name__}"
            return None

        problems = [p for p in await asyncio.gather(*(reach(n) for n in dict.fromkeys(nodes))) if p]
        if problems:
            raise NodesNotReady(f"job {self.job.id} was not resumed and nothing was changed: {len(problems)} of the "
                                f"{len(set(nodes))} node(s) it still has to work on cannot be used: "
                                + " ".join(self.job.redactor(p) for p in problems))

    def _reset_for_new_material(self) -> list[str]:
        """What the user gave (a certificate, a corrected chain) replaces or extends what the job holds
        for each CSR whose certificate is not uploaded yet: that node's obtain and validate steps run
        again, so the validation judges the new set. The nodes sent back, in plan order."""
        if self.material.empty:
            return []
        changed: list[str] = []
        for node in self.job.plan.csr_nodes:
            if self.job.steps[f"upload_identity:{node}"].state == "done" \
                    or "generate" not in self.job.steps[f"generate_csr:{node}"].done:
                continue
            why = self._worker.new_material_for(node, self.material)
            if why is None:
                continue
            changed.append(node)
            for kind in ("obtain_signed", "validate"):
                sid = f"{kind}:{node}"
                if self.job.steps[sid].state != "pending":
                    self.job.set_step(sid, "pending", why)
        return changed

    # ---- context for the steps -------------------------------------------------------------------

    def _cluster_of(self, fqdn: str) -> Cluster:
        plan_cluster = self.inventory.cluster(self.job.plan.cluster)
        for c in (plan_cluster, *self.inventory.clusters):
            for n in c.nodes:
                if n.fqdn.lower() == fqdn.lower():
                    return c
        raise RenewalError(f"{fqdn} is not in the inventory any more; restore it or start a new job.")

    def access(self, fqdn: str) -> NodeAccess:
        key = fqdn.lower()
        if key not in self._nodes:
            cluster = self._cluster_of(fqdn)
            node = cluster.node(fqdn)
            version = self.job.facts.get(f"version:{node.fqdn}") or self.job.plan.versions.get(node.fqdn)
            if self._pool is not None:  # the survey's session, or the previous job's: no second login
                found = self._pool.access(cluster, node, version)
            else:
                found = NodeAccess(cluster, node, self._credentials, None, version)
            found.report_to(self._node_sink(node.fqdn))
            self._nodes[key] = found
        return self._nodes[key]

    def axl_access(self) -> NodeAccess:
        """The CUCM publisher that holds the IM&P cluster's Presence Redundancy Group (AXL)."""
        imp = self.inventory.cluster(self.job.plan.cluster)
        if not imp.cucm_cluster:
            raise StepError(f'cluster "{imp.name}" names no cucm_cluster, so ucterm cannot reach AXL',
                            "add cucm_cluster to the inventory, or toggle High Availability by hand")
        return self.access(self.inventory.cluster(imp.cucm_cluster).publisher.fqdn)

    async def progress(self, step: Step, message: str) -> None:
        await self._emit(StepProgress(job=self.job.id, step=step.id, node=step.node, message=message))

    async def confirm(self, step: Step, question: str, *, consent: bool = True) -> None:
        """Ask the person at the controls (none with --yes); one question at a time, and none once the job
        is stopping (the step is left pending, as if it had not started). A risky step the one confirmation
        before the run listed (`approved`) is not asked again; `consent=False` questions always ask."""
        if self._confirm is None:
            return
        if consent and step.risky and self._approved and not self.job.plan.options.confirm_each:
            await self._emit(StepProgress(job=self.job.id, step=step.id, node=step.node,
                                          message=f"approved before the run: {question}"))
            return
        async with self._ask_lock:
            if self._stopping:
                raise _Deferred(question)
            await self._emit(StepProgress(job=self.job.id, step=step.id, node=step.node,
                                          message=f"asking: {question}"))
            if not await self._confirm(question):
                raise Declined(question)

    async def _close_nodes(self) -> None:
        nodes, self._nodes = list(self._nodes.values()), {}
        for access in nodes:
            if self._pool is not None:  # the pool's owner closes it; this job's events end here
                access.report_to(None)
                continue
            with contextlib.suppress(Exception):  # best effort: the job's state is in the journal
                await asyncio.shield(access.close())

    # ---- events ----------------------------------------------------------------------------------

    def _node_sink(self, fqdn: str) -> EventSink:
        async def sink(event: Event) -> None:
            if isinstance(event, TranscriptLine):
                step = self._on_node.get(fqdn.lower())
                line = JobTranscriptLine(node=event.node or fqdn, direction=event.direction,
                                         text=self.job.redactor(event.text), channel=event.channel,
                                         job=self.job.id, step=step.id if step else None, ts=event.ts)
                self.job.transcript(line.node, f"{line.ts:%H:%M:%S} {line.channel} {line.direction}: {line.text}")
                self._note_acknowledged(step, line)
                await emit(self._sink, line)
                return
            await self._emit(event)
        return sink

    def _note_acknowledged(self, step: Step | None, line: JobTranscriptLine) -> None:
        """Mark a restart as under way once the node answers its command: after a crash, a restart the
        node acknowledged is waited for, any other is run (steps._restart).

        The evidence is the node's answer to `utils service restart X` (`Do not press Ctrl+C while the
        service is restarting`, or `X[STOPPING]`, §1.9), not the sending of the command: ucterm could
        die between recording a send and the bytes leaving, and a restart missed is worse than one
        repeated.
        """
        node = line.node.lower()
        if step is None or step.kind != "restart":
            self._restart_sent.pop(node, None)
            return
        text = line.text.strip()
        prefix = "utils service restart "
        if line.direction == "sent":
            if text.startswith(prefix):
                self._restart_sent[node] = f"restart:{text[len(prefix):].strip()}"
            else:
                self._restart_sent.pop(node, None)
            return
        key = self._restart_sent.get(node)
        if line.direction != "received" or key is None:
            return
        service = key[len("restart:"):]
        if not (text.startswith("Do not press Ctrl+C") or text.lower().startswith(service.lower() + "[")
                or text.lower().startswith(service.lower() + " [")):
            return
        del self._restart_sent[node]
        rec = self.job.steps[step.id]
        if key in rec.intents and key not in rec.done and not rec.intents[key].get("acknowledged"):
            self.job.intent(step.id, key, {**rec.intents[key], "acknowledged": True})

    def _redacted(self, event: Event) -> Event:
        """The event as the front ends get it: its texts through the journal's redactor, so that a
        secret quoted in an error or a progress message reaches neither the journal nor the screen."""
        changes: dict[str, Any] = {f.name: self.job.redactor(value) for f in dataclasses.fields(event)
                   if f.init and isinstance(value := getattr(event, f.name), str)}
        return dataclasses.replace(event, **changes)

    async def _emit(self, event: Event) -> None:
        event = self._redacted(event)
        self.job.event(event.to_dict())
        await emit(self._sink, event)

    def _post(self, event: Event) -> None:
        """Journal an event raised outside `run()` (a control), and deliver it when possible."""
        event = self._redacted(event)
        self.job.event(event.to_dict())
        if self._sink is None:
            return
        result = self._sink(event)
        if result is not None:
            task = asyncio.ensure_future(result)
            self._posted.add(task)
            task.add_done_callback(self._posted.discard)
