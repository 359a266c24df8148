"""The ucterm Textual application: one app, one stylesheet (`app.tcss`), screens pushed on top.

The app owns the session (inventory, last scan, credentials, clock) and the things every screen
needs: asking for `prompt` passwords in a modal, reviewing unknown host keys, help generated from
the bindings, and the preferences (theme, keymap).

It is the only owner of the screen stack and of the running jobs (Textual's pattern, and
Harlequin's): screens get what they need in their constructors and post messages
(`ucterm.tui.messages`: OpenRenewal, PreviewPlan, StartJob, OpenJob, JobStarted, JobEnded, …);
the handlers below decide what is shown. A job's run screen is installed while its job runs or
while it is on the stack, so there is one run screen per job, never two.

A batch (RenewMarked, RenewDue → the batch plan; StartBatch) runs in a worker here with
`renewal.batch.Batch`, clusters side by side; each of its jobs runs on its own run screen, mounted
off the stack, exactly as a single job runs, so that opening it shows its steps, logs and questions.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Awaitable, Callable, Sequence
from typing import TYPE_CHECKING, Any, ClassVar

from textual import events, on, work
from textual.app import App
from textual.binding import Binding, BindingType
from textual.notifications import SeverityLevel
from textual.screen import Screen
from textual.theme import Theme
from textual.widgets import Input

from ucterm.errors import UctermError
from ucterm.scan.model import MergedCert, NodeResult
from ucterm.tui.config import Preferences, save_theme
from ucterm.tui.messages import (
    HostKeysUnknown,
    JobEnded,
    JobStarted,
    OpenBatch,
    OpenJob,
    OpenRenewal,
    PreviewPlan,
    RenewDue,
    RenewMarked,
    SessionFailed,
    SessionReady,
    StartBatch,
    StartJob,
)
from ucterm.tui.palette import EstateCommands
from ucterm.tui.screens.base import ReasonedActions
from ucterm.tui.screens.help import HelpScreen, help_sections
from ucterm.tui.screens.main import MainScreen
from ucterm.tui.screens.modals import ConfirmModal, HostKeyModal, PasswordModal
from ucterm.tui.session import Clock, Session, system_clock
from ucterm.tui.view import WIDE, Scope
from ucterm.tui.widgets.common.safe import safe

if TYPE_CHECKING:
    from ucterm.renewal.journal import Job
    from ucterm.renewal.nodes import NodePool
    from ucterm.tui.screens.run import RunScreen
    from ucterm.tui.session import BatchProposal

#: Builds the session inside the app's event loop (the demo starts its lab there).
Startup = Callable[["UctermApp"], Awaitable[Session]]
Cleanup = Callable[[], Awaitable[object]]


class UctermApp(ReasonedActions, App[int]):
    CSS_PATH = "app.tcss"
    TITLE = "ucterm"
    # ucterm's provider alone: it lists Textual's system commands after its own (palette.py says why).
    COMMANDS: ClassVar = {EstateCommands}
    NOTIFICATION_TIMEOUT = 6
    # Textual reads it per instance and annotates it without a ClassVar the checker accepts.
    HORIZONTAL_BREAKPOINTS: list[tuple[int, str]] | None = [(0, "-narrow"), (WIDE, "-wide")]  # noqa: RUF012

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("ctrl+p", "command_palette", "Commands", show=False, priority=True, id="app.palette",
                tooltip="Open the command palette: renew, jump to a cluster, show expiring, theme, …"),
        Binding("colon", "command_palette", "Commands", show=False, id="app.command",
                tooltip="Command mode (as in k9s): the command palette"),
        Binding("question_mark,f1", "help", "Help", id="app.help",
                tooltip="Help for the focused widget and every key that works here"),
        Binding("J", "jobs", "Jobs", show=False, id="app.jobs",
                tooltip="Renewal jobs from the journal; resume one"),
        Binding("q", "quit", "Quit", id="app.quit", tooltip="Quit ucterm (asks first while a renewal runs)"),
        Binding("ctrl+q", "quit", "Quit", show=False, priority=True, id="app.quit_now",
                tooltip="Quit ucterm (asks first while a renewal runs)"),
    ]

    HELP = "Keys that work everywhere."

    def __init__(self, session: Session | None = None, *, startup: Startup | None = None,
                 preferences: Preferences | None = None, scan_on_start: bool = True,
                 clock: Clock | None = None) -> None:
        super().__init__()
        self.session = session
        self.startup = startup
        self.preferences = preferences or Preferences()
        self.scan_on_start = scan_on_start
        self.clock: Clock = clock or (session.clock if session is not None else system_clock)
        self._cleanups: list[Cleanup] = []
        self.main_screen: MainScreen | None = None
        #: The ids of the jobs whose runner runs now (JobStarted … JobEnded).
        self.running_jobs: set[str] = set()
        #: The installed run screen of each job that has one (see _job_screen).
        self._job_screens: dict[str, RunScreen] = {}
        #: The end state each running batch job's lane waits for (JobEnded), by job id.
        self._job_waiters: dict[str, asyncio.Future[str]] = {}
        #: The id of the last batch started in this app (the palette opens it again).
        self.last_batch: str | None = None
        #: Clusters to scan again once their jobs are done (several lanes ending together: one scan).
        self._rescan: set[str] = set()

    # ---- life cycle -----------------------------------------------------------------------------
    def get_default_screen(self) -> Screen[object]:
        # With a startup (the demo lab), the session and the first scan come with SessionReady.
        self.main_screen = MainScreen(self.session, ask_credentials=self.ask_credentials, clock=self.clock,
                                      scan_on_start=self.scan_on_start and self.startup is None)
        return self.main_screen

    def on_mount(self) -> None:
        prefs = self.preferences
        if prefs.theme:
            if prefs.theme in self.available_themes:
                self.theme = prefs.theme
            else:
                self.say(f"{prefs.path}: unknown theme \"{prefs.theme}\"; using {self.theme}.", severity="warning")
        if prefs.keymap:
            from ucterm.tui.keymap import unknown_ids

            self.set_keymap(prefs.keymap)
            bad = unknown_ids(prefs.keymap)
            if bad:
                self.say(f"{prefs.path}: unknown binding ids in [keymap]: {', '.join(bad)} (see ? help).",
                         severity="warning")
        for warning in prefs.warnings:
            self.say(warning, severity="warning")
        if self.session is not None:
            for warning in (self.session.inventory.warnings if self.session.inventory else ()):
                self.say(warning, severity="warning")
            self.session.reload_jobs()
        self.theme_changed_signal.subscribe(self, self._theme_changed)
        if self.startup is not None and self.session is None:
            self.start_session()

    def _theme_changed(self, theme: Theme) -> None:
        if self.preferences.path is not None and theme.name != self.preferences.theme:
            try:
                save_theme(self.preferences.path, theme.name)
            except OSError as exc:
                self.say(f"cannot save the theme in {self.preferences.path}: {exc.strerror}", severity="warning")
        if self.main_screen is not None and self.main_screen.is_mounted:
            self.main_screen.refresh_view(rebuild_tree=True)

    @work(exclusive=True, group="startup")
    async def start_session(self) -> None:
        assert self.startup is not None
        try:
            self.session = await self.startup(self)
        except (UctermError, OSError) as exc:
            if self.main_screen is not None:
                self.main_screen.post_message(SessionFailed(str(exc)))
            self.say(str(exc), severity="error")
            return
        self.clock = self.session.clock
        self.session.reload_jobs()
        if self.main_screen is not None:
            self.main_screen.post_message(SessionReady(self.session))

    def add_cleanup(self, cleanup: Cleanup) -> None:
        """Run `cleanup` (e.g. stopping the demo lab) while the app shuts down, inside its loop."""
        self._cleanups.append(cleanup)

    async def on_unmount(self) -> None:
        for cleanup in reversed(self._cleanups):
            with contextlib.suppress(Exception):  # shutting down: nothing left to tell the user
                await cleanup()
        self._cleanups.clear()

    # ---- messages to the user -----------------------------------------------------------------
    def say(self, message: str, *, severity: SeverityLevel = "information") -> None:
        self.notify(safe(message, lines=True), severity=severity, markup=False)

    def on_key(self, event: events.Key) -> None:
        """Keys no binding took: a stray key goes to the widget that has focus, a disabled one says why.

        Textual queues each key for the widget focused when it arrives and checks bindings when the
        key has bubbled up here, against the focus at *that* moment. In a burst (`/cup` typed at
        once, or a slow jumpbox) the keys after `/` were queued for the table before `/` moved the
        focus to the filter; they bubble here unhandled. An Input never lets a key it consumes
        bubble, so a consumable key arriving here while one is focused was meant for it. It is typed
        at once (not posted to the input's queue), so that it lands before the keys behind it that
        are still to come through here, `enter` among them.
        """
        focused = self.focused
        if focused is not None and focused.check_consume_key(event.key, event.character):
            event.stop()
            if isinstance(focused, Input) and event.character is not None:
                focused.insert_text_at_cursor(event.character)
            else:
                focused.post_message(events.Key(event.key, event.character))
            return
        active = self.screen.active_bindings.get(event.key)
        if active is None or active.enabled:
            return
        reason_of = getattr(active.node, "disabled_reason", None)
        name = active.binding.action.rsplit(".", 1)[-1].split("(", 1)[0]
        reason = reason_of(name) if callable(reason_of) else None
        self.say(f"{active.binding.description}: {reason or 'not available here'}", severity="warning")

    # ---- global actions -----------------------------------------------------------------------
    def action_help(self) -> None:
        if isinstance(self.screen, HelpScreen):
            return
        from ucterm.tui.screens.help import friendly_name

        focused = self.screen.focused
        where = friendly_name(focused if focused is not None else self.screen)
        self.push_screen(HelpScreen(help_sections(self.screen), title=f"Help · {where}"))

    def action_jobs(self) -> None:
        from ucterm.tui.screens.jobs import JobsScreen

        if not isinstance(self.screen, JobsScreen):
            self.push_screen(JobsScreen(self.running_jobs))

    async def action_quit(self) -> None:
        running = sorted(self.running_jobs)
        if not running:
            self.exit(0)
            return

        def answered(yes: bool | None) -> None:
            if yes:
                self.exit(0)

        self.push_screen(ConfirmModal(
            "Quit while a renewal runs?",
            f"Renewal {', '.join(running)} is running. Quitting stops it between steps; the journal keeps "
            "every step done so far and `ucterm resume` (or Jobs, J) continues it later.",
            yes="Quit", no="Stay", danger=True), answered)

    # ---- navigation used by the palette -----------------------------------------------------------
    def _to_main(self) -> MainScreen | None:
        main = self.main_screen
        if main is None:
            return None
        while self.screen is not main and len(self.screen_stack) > 1:
            self.pop_screen()
        return main

    def jump_to(self, scope: Scope) -> None:
        main = self._to_main()
        if main is not None:
            main.jump_to(scope)

    def show_expiring(self) -> None:
        main = self._to_main()
        if main is not None:
            main.show_expiring()

    def open_renewal(self, cluster: str, unit: str, cert: MergedCert | None = None) -> None:
        session = self.session
        if session is None:
            return
        reason = session.cluster_read_only(cluster)
        if reason:
            self.say(f"Renew: {reason}", severity="warning")
            return
        from ucterm.tui.screens.renewal import RenewalScreen

        self.push_screen(RenewalScreen(session, cluster, unit, cert))

    @on(OpenRenewal)
    def _open_renewal(self, message: OpenRenewal) -> None:
        self.open_renewal(message.cluster, message.unit, message.cert)

    @on(PreviewPlan)
    def _preview_plan(self, message: PreviewPlan) -> None:
        from ucterm.tui.screens.renewal import PlanScreen

        self.push_screen(PlanScreen(message.plan, session=self.session, signer=message.signer))

    # ---- jobs: one run screen per job ---------------------------------------------------------------
    @on(StartJob)
    def _start_job(self, message: StartJob) -> None:
        """Create the job in the journal and show its run screen (which runs it in a worker)."""
        from ucterm.tui.screens.run import RunScreen

        session = self.session
        if session is None:
            return
        try:
            screen = RunScreen.create(session, message.plan, signer=message.signer,
                                      ask_credentials=self.ask_credentials)
        except UctermError as exc:
            self.say(str(exc), severity="error")
            return
        self._show_job(self._install_job_screen(screen))

    @on(OpenJob)
    def _open_job(self, message: OpenJob) -> None:
        """The job's run screen: the live one or the one on the stack, else a new one from the journal
        (which may have moved on since: `ucterm resume` in another terminal)."""
        screen = self._job_screen(message.job_id)
        if screen is None:
            screen = self._job_screen_from_journal(message.job_id)
        if screen is not None:
            self._show_job(screen)

    @on(JobStarted)
    def _job_started(self, message: JobStarted) -> None:
        self.running_jobs.add(message.job_id)

    @on(JobEnded)
    def _job_ended(self, message: JobEnded) -> None:
        self.running_jobs.discard(message.job_id)
        waiter = self._job_waiters.pop(message.job_id, None)
        if waiter is not None and not waiter.done():
            waiter.set_result(message.state)  # the batch's lane goes on
        session = self.session
        if session is not None:
            windows = dict(session.windows)
            session.reload_jobs()
            if session.windows != windows and self.main_screen is not None and self.main_screen.is_mounted:
                self.main_screen.refresh_view(rebuild_tree=True)  # a cluster's restarts wait for its window
        if message.state != "done":
            return
        self.say(f"renewal {message.job_id} done: {message.detail}")
        if self.main_screen is not None and session is not None and session.inventory is not None:
            if not self._rescan:
                self.set_timer(self.RESCAN_DELAY, self._rescan_done)
            self._rescan.add(message.cluster)

    #: How long the rescan after a done job waits for other lanes' jobs ending at the same time.
    RESCAN_DELAY = 0.5

    def _rescan_done(self) -> None:
        """Scan the clusters whose jobs are done (to show the new certificates), with those a scan
        under way still reads: a new scan replaces it."""
        main = self.main_screen
        clusters, self._rescan = self._rescan, set()
        if main is not None and clusters:
            main.scan_estate(tuple(sorted(clusters | set(main.progress))))

    def _job_screen(self, job_id: str) -> RunScreen | None:
        """The installed run screen of `job_id` if it is still the one to show (its job runs, or the
        user has it on the stack); a stale one (ended and out of sight) is uninstalled."""
        screen = self._job_screens.get(job_id)
        if screen is None:
            return None
        if job_id in self.running_jobs or screen in self.screen_stack:
            return screen
        del self._job_screens[job_id]
        self.uninstall_screen(screen)
        return None

    def _job_screen_from_journal(self, job_id: str) -> RunScreen | None:
        from ucterm.renewal import Journal
        from ucterm.tui.screens.run import RunScreen

        session = self.session
        if session is None or session.inventory is None:
            self.say("Open job: the estate is not loaded yet", severity="warning")
            return None
        try:
            screen = RunScreen.for_job(session, Journal.open(job_id), ask_credentials=self.ask_credentials)
        except UctermError as exc:
            self.say(str(exc), severity="error")
            return None
        return self._install_job_screen(screen)

    def _install_job_screen(self, screen: RunScreen) -> RunScreen:
        """Installed, a run screen outlives being popped: `esc` goes back to the estate, the job goes on."""
        self._job_screens[screen.job_id] = screen
        self.install_screen(screen, name=f"job-{screen.job_id}")
        return screen

    def _show_job(self, screen: RunScreen) -> None:
        """`screen` on top: down to it where it is on the stack already, else pushed over the batch view
        it was opened from (the batch goes on beneath), else over the estate."""
        from ucterm.tui.screens.batch import BatchScreen

        if screen in self.screen_stack:
            while self.screen is not screen:
                self.pop_screen()
            return
        # Opened from a batch's view, it goes over it (esc returns there); else over the estate.
        if isinstance(self.screen, BatchScreen) or self._to_main() is not None:
            self.push_screen(screen)

    # ---- batches: the marked certificates, or everything due ------------------------------------------
    def renew_due(self) -> None:
        """The palette's "Renew everything due": the batch plan first."""
        self.propose_batch(None)

    @on(RenewDue)
    def _renew_due(self, message: RenewDue) -> None:
        self.propose_batch(None)

    @on(RenewMarked)
    def _renew_marked(self, message: RenewMarked) -> None:
        self.propose_batch(message.certs)

    @work(exclusive=True, group="batch-proposal")
    async def propose_batch(self, marked: Sequence[MergedCert] | None) -> None:
        """What a batch would do (the journal is read, every plan built; no node is contacted), shown
        in the batch plan; `marked` None: everything due."""
        from ucterm.tui.screens.batch import BatchPlanScreen
        from ucterm.tui.view import counted

        session = self.session
        if session is None or session.inventory is None:
            self.say("Renew: the estate is not loaded yet", severity="warning")
            return

        def propose() -> BatchProposal:
            if marked is None:
                return session.batch_proposal(session.due_selection())
            return session.batch_proposal(session.marked_selection(marked), kind="marked")

        try:
            proposal = await asyncio.to_thread(propose)
        except (UctermError, OSError) as exc:
            self.say(f"Renew: {exc}", severity="error")
            return
        title = ("Renew everything due" if marked is None
                 else f"Renew {counted(len(marked), 'marked certificate')}")
        self.push_screen(BatchPlanScreen(proposal, session=session, title=title))

    @on(StartBatch)
    def _start_batch(self, message: StartBatch) -> None:
        from ucterm.renewal.batch import new_batch_id

        session = self.session
        if session is None or session.inventory is None:
            return
        if session.read_only_reason:
            self.say(f"Run the batch: {session.read_only_reason}", severity="warning")
            return
        batch_id = new_batch_id(message.proposal.kind)
        self.last_batch = batch_id
        if message.proposal.kind == "marked" and self.main_screen is not None:
            self.main_screen.action_clear_marks()  # renewed now (or left, said why on the batch plan)
        self.run_batch(message.proposal, batch_id)
        self.open_batch(batch_id)

    def open_batch(self, batch_id: str) -> None:
        from ucterm.tui.screens.batch import BatchScreen

        screen = self.screen
        if isinstance(screen, BatchScreen) and screen.batch_id == batch_id:
            return
        if self._to_main() is not None:
            self.push_screen(BatchScreen(batch_id, self.running_jobs))

    @on(OpenBatch)
    def _open_batch(self, message: OpenBatch) -> None:
        self.open_batch(message.batch_id)

    @work(group="batch")
    async def run_batch(self, proposal: BatchProposal, batch_id: str) -> None:
        """Journal and run the batch's jobs in lanes (renewal.batch.Batch), each on its own run screen."""
        from ucterm.renewal.batch import Batch, BatchItem

        session = self.session
        assert session is not None and session.inventory is not None
        clusters: list[str] = []
        for name in [*(p.cluster for p in proposal.plans), *(j.cluster for j in proposal.resume)]:
            cluster = session.cluster(name)
            clusters += [name, *([cluster.cucm_cluster] if cluster is not None and cluster.cucm_cluster else [])]
        signers = sorted({p.options.signer_name for p in proposal.plans
                          if p.options.signer == "signer" and p.options.signer_name})
        # Every password the batch's jobs need, asked once before any lane starts.
        for signer in [None, *signers]:
            if not await self.ask_credentials(sorted(set(clusters)), app_user=True, signer=signer):
                self.say(f"batch {batch_id}: a password was not given; nothing ran", severity="warning")
                return
        items = [BatchItem(j.cluster, j.unit, job_id=j.job) for j in proposal.resume]
        items += [BatchItem(p.cluster, p.unit, plan=p) for p in proposal.plans]

        async def run_job(job: Job, pool: NodePool) -> str:
            return await self._run_batch_job(job, pool, signer=proposal.signers.get(
                f"{job.plan.cluster}/{job.plan.unit}"), approved=job.id not in {j.job for j in proposal.resume})

        batch = Batch(items, inventory=session.inventory, credentials=session.credentials, run_job=run_job,
                      batch_id=batch_id)
        results = await batch.run()
        for r in results:
            if r.error:
                self.say(f"batch {batch_id}: {r.item.label}: {r.error}", severity="warning")
        states = [r.state for r in results]
        summary = ", ".join(f"{states.count(s)} {s}" for s in dict.fromkeys(states))
        self.say(f"batch {batch_id} ended: {summary}")

    async def _run_batch_job(self, job: Job, pool: NodePool, *, signer: str | None, approved: bool) -> str:
        """A batch's RunJob: the job runs on its run screen, as a single job does (steps, logs, questions,
        retry, skip, abort); the lane waits for where it stops."""
        from ucterm.tui.screens.run import RunScreen

        session = self.session
        assert session is not None
        if job.id in self.running_jobs:
            return "running"
        old = self._job_screens.pop(job.id, None)
        if old is not None and old not in self.screen_stack:
            self.uninstall_screen(old)
            old = None
        future: asyncio.Future[str] = asyncio.get_running_loop().create_future()
        self._job_waiters[job.id] = future
        if old is not None:  # on the stack already (opened from the jobs list): that one runs it
            self._job_screens[job.id] = old
            old.start()
        else:
            # New jobs were approved in "Run the batch?", which listed their risky steps; resumed ones ask.
            screen = RunScreen.for_job(session, job, signer=signer, approved=approved, pool=pool)
            screen.autostart = True
            self._install_job_screen(screen)
            # Mounted off the stack (Textual's own step of push_screen): it runs and gathers its transcript
            # while the person watches another screen; OpenJob shows it.
            await self._get_screen(screen)[1]
        try:
            return await future
        finally:
            self._job_waiters.pop(job.id, None)

    @on(HostKeysUnknown)
    def _host_keys_unknown(self, message: HostKeysUnknown) -> None:
        self.review_host_keys(message.nodes)

    # ---- credentials and host keys (call from workers) -----------------------------------------
    async def ask_credentials(self, clusters: Sequence[str] | None = None, *, app_user: bool = False,
                              signer: str | None = None) -> bool:
        """Ask every `prompt` password the engine will need (the signer's too), once, in a modal.
        False if cancelled."""
        session = self.session
        if session is None:
            return False
        for question in session.credential_questions(clusters, app_user=app_user, signer=signer):
            answer = await self._ask(PasswordModal(question))
            if not answer:
                return False
            session.remember(question, answer)
        return True

    async def _ask(self, modal: Screen[Any]) -> Any:
        """push_screen_wait that takes its modal away if the asking worker is cancelled (a newer
        exclusive worker replaced it), so no question is left on screen with nobody waiting."""
        try:
            return await self.push_screen_wait(modal)
        except asyncio.CancelledError:
            if self.screen is modal:
                self.pop_screen()
            raise

    @work(exclusive=True, group="host-keys")
    async def review_host_keys(self, nodes: Sequence[NodeResult]) -> None:
        session = self.session
        if session is None:
            return
        accepted: set[str] = set()
        for n in nodes:
            if not n.host_key_fingerprint:
                continue
            yes = await self._ask(HostKeyModal(n.node, n.host_key_fingerprint, n.cluster))
            if not yes:
                continue
            try:
                await session.accept_host_key(n.cluster, n.node, n.host_key_fingerprint)
            except UctermError as exc:
                self.say(str(exc), severity="error")
                continue
            accepted.add(n.cluster)
            self.say(f"{n.node}: host key recorded")
        if accepted and self.main_screen is not None:
            self.main_screen.scan_estate(tuple(sorted(accepted)))
