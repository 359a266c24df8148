"""A renewal job running: the step list with live states, one log per node plus "all", controls.

The runner works in a worker on this screen; its events come back batched as EngineEvents messages, so
the UI never blocks on I/O. The app installs the screen and keeps it while its job runs: `esc` goes
back to the estate and the job goes on (Jobs, J, brings it back). The screen tells the app when its
runner starts and stops (JobStarted, JobEnded); the app keeps the running jobs. Pause and retry
are easy to undo; skip asks for a reason, abort asks first.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, ClassVar

from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, Vertical
from textual.content import Content
from textual.message import Message
from textual.widgets import DataTable, Footer, Static

from ucterm.errors import UctermError
from ucterm.events import Event, NodeNotice, TranscriptLine
from ucterm.tui.messages import EngineEvents, JobEnded, JobStarted
from ucterm.tui.screens.base import BaseScreen
from ucterm.tui.screens.modals import ConfirmModal, TextModal
from ucterm.tui.session import AskCredentials, Session
from ucterm.tui.view import counted
from ucterm.tui.widgets.common.safe import safe
from ucterm.tui.widgets.common.states import state_look
from ucterm.tui.widgets.renewal.logs import NodeLogs
from ucterm.tui.widgets.renewal.steps import StepTable

if TYPE_CHECKING:
    from ucterm.renewal.journal import Job
    from ucterm.renewal.model import Plan
    from ucterm.renewal.nodes import NodePool
    from ucterm.renewal.runner import Runner

#: Steps whose trouble new material from the CA fixes: the CA dialog (c) is offered there.
CA_STEPS = frozenset({"obtain_signed", "validate"})


class RunEnded(Message, bubble=False):
    def __init__(self, state: str, error: str = "") -> None:
        super().__init__()
        self.state = state
        self.error = error


class RunScreen(BaseScreen):
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape", "back", "Back", id="run.back",
                tooltip="Back to the estate; the job goes on (J lists jobs)"),
        Binding("p", "pause", "Pause", id="run.pause",
                tooltip="Pause before the next step (the current one finishes); p again resumes"),
        # The same key while nothing runs, or the job is paused: labelled for what it does then.
        Binding("p", "resume_job", "Resume", id="run.resume",
                tooltip="Resume the job where it stopped (a question you declined is asked again)"),
        Binding("r", "retry", "Retry", id="run.retry", tooltip="Run the failed step again"),
        Binding("s", "skip", "Skip", id="run.skip", tooltip="Skip the failed step; asks why (journaled)"),
        Binding("a", "abort", "Abort", id="run.abort",
                tooltip="Stop at the next step boundary (asks first); the job stays resumable"),
        Binding("c", "signed", "Signed", id="run.signed",
                tooltip="Save the CSR and give what the CA issued (file or pasted PEM), validated first"),
        Binding("left_square_bracket", "log(-1)", "Prev log", show=False, id="run.prev_log",
                tooltip="Previous log tab"),
        Binding("right_square_bracket", "log(1)", "Next log", show=False, id="run.next_log",
                tooltip="Next log tab"),
    ]

    HELP = ("A renewal running step by step. The journal records every step: quitting, a dropped SSH "
            "session or a crash loses nothing, and the job resumes from the jobs list (J).")

    def __init__(self, plan: Plan, job_id: str, *, job: Job | None = None, runner: Runner | None = None,
                 session: Session | None = None, ask_credentials: AskCredentials | None = None) -> None:
        super().__init__(classes="run")
        self.plan = plan
        self.job_id = job_id
        self.job = job
        self.runner = runner
        self.session = session
        self.ask_credentials = ask_credentials
        self.state = "ready"
        self.running = False
        self.detail = ""
        #: The node whose certificate the CA dialog (c) takes: its obtain step waits for the CA, or its
        #: obtain or validate step refused what was given (a corrected certificate or chain then helps).
        self.waiting_node: str | None = None
        self.failed_step: str | None = None
        self._pending: list[Event] = []
        self._flush_scheduled = False

    # ---- construction -------------------------------------------------------------------------
    @classmethod
    def create(cls, session: Session, plan: Plan, *, signer: str = "files",
               ask_credentials: AskCredentials | None = None) -> RunScreen:
        """A new journaled job for `plan`, ready to run (the screen starts it when it mounts)."""
        from ucterm.renewal import Journal

        job = Journal.create(plan, session.inventory_path)
        # Created from the plan screen's one confirmation, which listed the risky steps.
        screen = cls.for_job(session, job, signer=signer, ask_credentials=ask_credentials, approved=True)
        screen.autostart = True
        return screen

    @classmethod
    def for_job(cls, session: Session, job: Job, *, signer: str | None = None,
                ask_credentials: AskCredentials | None = None, approved: bool = False,
                pool: NodePool | None = None) -> RunScreen:
        """A screen on a journaled job (new or resumed); nothing runs until started. `approved`: the
        user confirmed the plan with its risky steps listed (a job opened from the journal asks at each).
        `pool`: the node accesses a batch's lane shares between its jobs (one login per node)."""
        from ucterm.renewal import Runner

        assert session.inventory is not None
        options = job.plan.options
        key = signer or session.signer_key(options.signer, options.signer_name)
        screen = cls(job.plan, job.id, job=job, session=session, ask_credentials=ask_credentials)
        screen.runner = Runner(job, session.inventory, session.credentials, sink=screen._sink,
                               signer=session.signer_for(key) if key != "files" else None,
                               confirm=screen._confirm, hold_on_failure=True, settings=session.runner_settings,
                               read_only=bool(session.read_only_reason), now=session.clock, approved=approved,
                               pool=pool)
        status = job.status()
        screen.state = {"running": "ready"}.get(status, status)
        return screen

    autostart = False

    # ---- layout -------------------------------------------------------------------------------
    def compose(self) -> ComposeResult:
        yield Static("", id="title")
        with Horizontal(id="run-body"):
            with Vertical(id="run-left"):
                yield StepTable(self.plan, id="steps")
                yield Static("", id="step-detail")
            yield NodeLogs(self.plan.all_nodes, id="logs")
        yield Footer(compact=True)

    def on_mount(self) -> None:
        table = self.query_one(StepTable)
        table.border_title = "steps"
        self.query_one("#logs", NodeLogs).border_title = "transcript"
        if self.job is not None:
            for step in self.plan.steps:
                record = self.job.steps.get(step.id)
                if record is not None and record.state != "pending":
                    table.set_state(step.id, record.state, record.detail)
                    if record.state == "failed":
                        self.failed_step = step.id
                    if record.state in ("waiting", "failed"):
                        self.waiting_node = step.node if step.kind in CA_STEPS else None
            self.detail = self.job.detail or ""
        table.focus()
        self._show()
        if self.autostart:
            self.autostart = False
            self.start()

    # ---- showing --------------------------------------------------------------------------------
    def _show(self) -> None:
        """The title, the step detail and the keys (enabled or not) after the job's state changed."""
        done, total = self.query_one(StepTable).counts()
        look = state_look(self.state)
        title = Content.assemble(
            ("Renewal", "bold $accent"), "  ", (f"{self.plan.unit} on {self.plan.cluster}", "bold"), "  ",
            (look.label, f"bold {look.content_style}"), (f"  {done}/{total} steps", "$text-muted"),
            (f"  job {self.job_id}", "$text-muted"))
        self.query_one("#title", Static).update(safe(title))
        self._show_step_detail()
        self.refresh_bindings()

    def _show_step_detail(self) -> None:
        table = self.query_one(StepTable)
        step = table.current_step
        box = self.query_one("#step-detail", Static)
        if step is None:
            box.update("")
            return
        state, detail = table.states.get(step.id, ("pending", ""))
        parts: list[str | tuple[str, str]] = [(step.name, "bold")]
        if step.risky:
            parts += ["\n", ("⚠ ", "bold $warning"), step.risk_note or "risky"]
        if detail:
            parts += ["\n", (f"{state}: ", "bold $text-muted"), detail]
        if self.waiting_node and step.node == self.waiting_node and step.kind in CA_STEPS:
            parts += ["\n", ("c", "bold $accent"), " opens the CSR and takes what the CA issued (or a corrected chain)"]
        box.update(safe(Content.assemble(*parts)))

    @on(DataTable.RowHighlighted, "#steps")
    def _row(self) -> None:
        self._show_step_detail()

    # ---- engine events ------------------------------------------------------------------------
    #: How long events gather before the screen shows them: ten redraws a second while five nodes
    #: stream hundreds of lines each (more is not readable, and each redraw costs the keyboard).
    BATCH_SECONDS = 0.1

    def _sink(self, event: Event) -> None:
        """The runner's sink: events gather briefly and arrive as one message, in order."""
        self._pending.append(event)
        if not self._flush_scheduled:
            self._flush_scheduled = True
            self.set_timer(self.BATCH_SECONDS, self._flush)

    def _flush(self) -> None:
        batch, self._pending = self._pending, []
        self._flush_scheduled = False
        if batch:
            self.post_message(EngineEvents(batch))

    @on(EngineEvents)
    def _engine_events(self, message: EngineEvents) -> None:
        self.apply_many(message.events)

    def apply(self, event: Event) -> None:
        """Show one engine event (also used to replay a recorded job)."""
        self.apply_many([event])

    def apply_many(self, events: list[Event]) -> None:
        """Show engine events in order: transcript lines are written in runs, the title once."""
        from ucterm.renewal.events import StepProgress

        lines: list[tuple[str | None, str, str]] = []
        logs = self.query_one("#logs", NodeLogs)
        changed = False
        progressed = False
        for event in events:
            if isinstance(event, TranscriptLine):
                lines.append((event.node, event.direction, event.text))
                continue
            if isinstance(event, NodeNotice):
                lines.append((event.node, "info", event.message))
                continue
            if lines:
                logs.write_many(lines)
                lines = []
            self._apply_state(event)
            if isinstance(event, StepProgress):
                progressed = True
            else:
                changed = True
        if lines:
            logs.write_many(lines)
        if changed:
            self._show()
        elif progressed:
            self._show_step_detail()  # progress changes a detail line, not the job's state

    def _apply_state(self, event: Event) -> None:
        from ucterm.renewal import events as ev

        table = self.query_one(StepTable)
        logs = self.query_one("#logs", NodeLogs)
        if isinstance(event, ev.StepStarted):
            table.set_state(event.step or "", "running", "reconciling after an interruption"
                            if event.reconciling else "", follow=True)
            self.state = "running"
            logs.write(event.node, "info", f"— {event.name}")
        elif isinstance(event, ev.StepProgress):
            logs.write_many([(event.node, "info", event.message)])
            table.set_state(event.step or "", "running", event.message)
        elif isinstance(event, ev.StepDone):
            table.set_state(event.step or "", "done", event.detail)
            if event.detail:
                logs.write(event.node, "info", f"✔ {event.detail}")
        elif isinstance(event, ev.StepFailed):
            text = f"{event.error.rstrip('.')}; {event.fix}" if event.fix else event.error
            table.set_state(event.step or "", "failed", text, follow=True)
            self.failed_step = event.step
            self.state = "held" if self.running else "failed"
            failed = self.plan.step(event.step) if event.step else None
            self.waiting_node = event.node if failed is not None and failed.kind in CA_STEPS else None
            logs.write(event.node, "info", f"✖ {text}")
        elif isinstance(event, ev.StepSkipped):
            table.set_state(event.step or "", "skipped", event.reason)
            if self.failed_step == event.step:
                self.failed_step = None
            logs.write(event.node, "info", f"↷ skipped: {event.reason}")
        elif isinstance(event, ev.JobWaiting):
            table.set_state(event.step or "", "waiting", event.message, follow=True)
            step = self.plan.step(event.step) if event.step else None
            self.waiting_node = event.node if step is not None and step.kind == "obtain_signed" else None
            self.state = "waiting"
            logs.write(event.node, "info", f"⏸ {event.message}")
        elif isinstance(event, ev.JobPaused):
            self.state = "paused"
            logs.write(event.node, "info", f"⏸ {event.message}")
        elif isinstance(event, ev.JobFinished):
            self.state = event.state
            self.detail = event.detail
            logs.write(None, "info", f"job {event.state}: {event.detail}")

    # ---- running --------------------------------------------------------------------------------
    def start(self) -> None:
        if self.runner is None or self.running:
            return
        self.running = True
        self.state = "running"
        self.failed_step = None
        self.waiting_node = None
        self.post_message(JobStarted(self.job_id))
        self._show()
        self._run()

    @work(exclusive=True, group="renewal")
    async def _run(self) -> None:
        runner = self.runner
        assert runner is not None  # start() runs nothing without one
        clusters = [self.plan.cluster]
        cluster = self.session.cluster(self.plan.cluster) if self.session else None
        if cluster is not None and cluster.cucm_cluster:
            clusters.append(cluster.cucm_cluster)
        options = self.plan.options
        signer = options.signer_name if options.signer == "signer" else None
        if self.ask_credentials is not None and not await self.ask_credentials(clusters, app_user=True,
                                                                                signer=signer):
            self.post_message(RunEnded("ready", "a password was not given; nothing ran"))
            return
        try:
            state = await runner.run()
        except UctermError as exc:
            self.post_message(RunEnded("failed", str(exc)))
            return
        self.post_message(RunEnded(str(state)))

    @on(RunEnded)
    def _ended(self, message: RunEnded) -> None:
        # The runner's last events may still be gathering (BATCH_SECONDS): send them first and take this
        # message again behind them, so that the job's end is told with its final detail, not the one
        # from before this run ("done: created").
        if self._pending:
            self._flush()
            self.post_message(RunEnded(message.state, message.error))
            return
        self.running = False
        if message.error:
            self.state = message.state
            self.detail = message.error
            self.query_one("#logs", NodeLogs).write(None, "info", message.error)
            self.say(message.error, severity="error")
        else:
            self.state = message.state
        self.post_message(JobEnded(self.job_id, self.plan.cluster, self.state, self.detail))
        self._show()

    async def _confirm(self, question: str) -> bool:
        answer = await self.app.push_screen_wait(ConfirmModal("The renewal asks", question, yes="Yes",
                                                              no="No", danger=True))
        return bool(answer)

    # ---- controls ----------------------------------------------------------------------------------
    @property
    def _resumes(self) -> bool:
        """Whether `p` resumes now (nothing runs, or the run is paused or pausing) rather than pauses."""
        runner = self.runner
        return not self.running or self.state == "paused" or (runner is not None and runner.pause_requested)

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if action == "pause" and self._resumes:
            return False  # hidden: the Resume binding on the same key shows instead
        if action == "resume_job" and not self._resumes:
            return False
        return super().check_action(action, parameters)

    def disabled_reason(self, action: str) -> str | None:
        if self.runner is None and action in ("pause", "resume_job", "retry", "skip", "abort", "signed"):
            return "this is a recorded job: nothing can run from here"
        if self.state == "abandoned" and action in ("resume_job", "retry", "skip", "abort", "signed"):
            return "the job was abandoned (ucterm jobs --abandon): start a new renewal"
        if action == "resume_job" and self.state == "done":
            return "the job is done"
        if action == "retry" and self.failed_step is None:
            return "no step has failed"
        if action == "skip":
            if self.failed_step is None:
                return "only a failed step can be skipped"
            if not self.plan.step(self.failed_step).skippable:
                return "the renewal cannot go on without this step: retry it or abort"
        if action == "abort" and self.state in ("done", "aborted"):
            return f"the job is {self.state} already"
        if action == "signed" and self.waiting_node is None:
            return "no step is waiting for the CA's answer or refused what it issued"
        return None

    def action_resume_job(self) -> None:
        self.action_pause()

    def action_pause(self) -> None:
        runner = self.runner
        if runner is None:
            return
        if not self.running:
            self.start()
            return
        if self.state == "paused" or runner.pause_requested:
            runner.resume()
            self.state = "running"
            self.query_one("#logs", NodeLogs).write(None, "info", "resumed")
        else:
            runner.pause()
            self.query_one("#logs", NodeLogs).write(None, "info", "pause requested: after the current step")
            self.say("pausing after the current step")
        self._show()

    def action_retry(self) -> None:
        if self.runner is None or self.failed_step is None:
            return
        try:
            self.runner.retry()
        except UctermError as exc:
            self.say(str(exc), severity="error")
            return
        self._carry_on()

    def _carry_on(self) -> None:
        """After a retry or a skip: the failed step is settled; restart the runner if it had stopped."""
        self.failed_step = None
        if not self.running:
            self.start()
        else:
            self.state = "running"
            self._show()

    def action_skip(self) -> None:
        runner = self.runner
        if runner is None or self.failed_step is None:
            return
        step = self.plan.step(self.failed_step)

        def answered(reason: str | None) -> None:
            if not reason:
                return
            try:
                runner.skip(reason)
            except UctermError as exc:
                self.say(str(exc), severity="error")
                return
            self._carry_on()

        self.app.push_screen(TextModal("Skip this step?", Content.assemble(
            "Skipping ", (step.name, "bold"), " is recorded in the job's journal with your reason.\n"
            "Why is it safe to skip?"), placeholder="reason (required)",
            required="a reason is required: it is kept in the journal"), answered)

    def action_abort(self) -> None:
        runner = self.runner
        if runner is None:
            return

        def answered(yes: bool | None) -> None:
            if not yes:
                return
            runner.abort()
            self.query_one("#logs", NodeLogs).write(None, "info", "abort requested: at the next step boundary")
            if not self.running:
                self.start()

        self.app.push_screen(ConfirmModal(
            "Abort the renewal?",
            Content.assemble("The job stops at the next step boundary. Steps already done are ",
                             ("not undone", "bold"), " (an uploaded certificate stays uploaded); the journal "
                             "keeps everything and the job can be resumed later.\n\nAbort job ",
                             (self.job_id, "bold"), "?"),
            yes="Abort", no="Keep running", danger=True), answered)

    def action_signed(self) -> None:
        if self.waiting_node is None or self.job is None:
            return
        from ucterm.tui.screens.signed import SignedCertScreen

        def accepted(pems: list[str] | None) -> None:
            if not pems or self.runner is None:
                return
            node = self.waiting_node
            self.runner.provide_signed(pems)  # a run held on the refused step goes back to it at once
            self.query_one("#logs", NodeLogs).write(node, "info",
                                                    f"{counted(len(pems), 'certificate')} given; resuming")
            self.waiting_node = None
            self._carry_on()

        self.app.push_screen(SignedCertScreen(self.job, self.waiting_node, session=self.session), accepted)

    def action_log(self, delta: int) -> None:
        self.query_one("#logs", NodeLogs).cycle(delta)

    def on_screen_resume(self) -> None:
        self._show()

