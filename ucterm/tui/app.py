"""The ucterm Textual application: one app, one stylesheet (`app.tcss`), screens pushed on top.

The app owns the session (inventory, last scan, credentials, clock) and the things every screen
needs: asking for `prompt` passwords in a modal, reviewing unknown host keys, opening the
renewal screens, help generated from the bindings, and the preferences (theme, keymap).
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Awaitable, Callable, Sequence
from typing import Any, ClassVar

from textual import events, work
from textual.app import App
from textual.binding import Binding, BindingType
from textual.notifications import SeverityLevel
from textual.screen import Screen
from textual.theme import Theme

from ucterm.errors import UctermError
from ucterm.scan.model import MergedCert, NodeResult
from ucterm.tui.config import Preferences, save_theme
from ucterm.tui.messages import SessionFailed, SessionReady
from ucterm.tui.palette import EstateCommands
from ucterm.tui.screens.base import ReasonedActions
from ucterm.tui.screens.help import HelpScreen, help_sections
from ucterm.tui.screens.main import MainScreen
from ucterm.tui.screens.modals import ConfirmModal, HostKeyModal, PasswordModal
from ucterm.tui.session import Clock, Session, system_clock
from ucterm.tui.view import WIDE, Scope
from ucterm.tui.widgets.common.safe import safe

#: Builds the session inside the app's event loop (the demo starts its lab there).
Startup = Callable[["UctermApp"], Awaitable[Session]]
Cleanup = Callable[[], Awaitable[object]]


class UctermApp(ReasonedActions, App[int]):
    CSS_PATH = "app.tcss"
    TITLE = "ucterm"
    COMMANDS: ClassVar = {*App.COMMANDS, EstateCommands}  # type: ignore[misc]
    NOTIFICATION_TIMEOUT = 6
    HORIZONTAL_BREAKPOINTS: ClassVar[list[tuple[int, str]] | None] = [(0, "-narrow"), (WIDE, "-wide")]

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
        #: Running renewal jobs by id (their screens stay installed while they run).
        self.running_jobs: dict[str, Screen[object]] = {}

    # ---- life cycle -----------------------------------------------------------------------------
    def get_default_screen(self) -> Screen[object]:
        self.main_screen = MainScreen()
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
        if self.main_screen is not None:
            self.main_screen.post_message(SessionReady())

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
        """A key bound to a disabled action says why (lazygit); nothing else reaches here."""
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
            self.push_screen(JobsScreen())

    async def action_quit(self) -> None:
        running = [job for job, screen in self.running_jobs.items() if getattr(screen, "running", False)]
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

        self.push_screen(RenewalScreen(cluster, unit, cert))

    def start_job(self, plan: object, *, signer: str = "files") -> None:
        """Create the job in the journal and open its run screen (which runs it in a worker)."""
        from ucterm.tui.screens.run import RunScreen

        session = self.session
        if session is None:
            return
        try:
            screen = RunScreen.create(session, plan, signer=signer)
        except UctermError as exc:
            self.say(str(exc), severity="error")
            return
        self._show_job(screen)

    def _show_job(self, screen: Screen[object]) -> None:
        job_id = getattr(screen, "job_id", "")
        name = f"job-{job_id}"
        if self.is_screen_installed(name) and self.get_screen(name) not in self.screen_stack:
            self.uninstall_screen(name)
        self.running_jobs[job_id] = screen
        self.install_screen(screen, name=name)
        main = self._to_main()
        if main is None:
            return
        self.push_screen(f"job-{job_id}")

    # ---- credentials and host keys (call from workers) -----------------------------------------
    async def ask_credentials(self, clusters: Sequence[str] | None = None, *, app_user: bool = False) -> bool:
        """Ask every `prompt` password the engine will need, once, in a modal. False if cancelled."""
        session = self.session
        if session is None:
            return False
        for question in session.credential_questions(clusters, app_user=app_user):
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
