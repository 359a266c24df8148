"""Jobs from the journal: every renewal with its state; enter opens one (and resumes it with p)."""

from __future__ import annotations

from typing import Any, ClassVar

from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.content import Content
from textual.widgets import DataTable, Footer, Static

from ucterm.errors import UctermError
from ucterm.tui.screens.base import BaseScreen
from ucterm.tui.widgets.common import tables
from ucterm.tui.widgets.common.safe import safe
from ucterm.tui.widgets.common.style import muted, theme_color

STATE = {"running": ("▶", "running", "accent"), "paused": ("⏸", "paused", "warning"),
         "waiting": ("⏸", "waiting", "warning"), "done": ("✔", "done", "success"),
         "failed": ("✖", "FAILED", "error"), "aborted": ("■", "aborted", "error")}


class JobsScreen(BaseScreen):
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape", "back", "Back", id="jobs.back", tooltip="Back"),
        Binding("enter", "open", "Open", id="jobs.open",
                tooltip="Open the job: its steps and logs; p resumes it where it stopped"),
        Binding("r", "reload", "Reload", id="jobs.reload", tooltip="Read the journal again"),
        Binding("j", "cursor('down')", "Down", show=False, id="jobs.down"),
        Binding("k", "cursor('up')", "Up", show=False, id="jobs.up"),
    ]

    HELP = ("Renewal jobs from the journal, newest first. A job that waits for the CA, failed or was "
            "interrupted resumes from where it stopped, without regenerating its CSR.")

    def __init__(self) -> None:
        super().__init__(classes="jobs")
        self.summaries: list[Any] = []

    def compose(self) -> ComposeResult:
        yield Static(Content.assemble(("Jobs", "bold $accent"), ("  renewals in the journal", "$text-muted")),
                     id="title")
        yield DataTable(id="jobs-table", cursor_type="row", zebra_stripes=True)
        yield Static("", id="jobs-detail")
        yield Footer(compact=True)

    def on_mount(self) -> None:
        self.action_reload()
        self.query_one("#jobs-table").focus()

    def action_reload(self) -> None:
        from ucterm.renewal import list_jobs

        table = self.query_one("#jobs-table", DataTable)
        try:
            self.summaries = list_jobs()
        except UctermError as exc:
            self.uc.say(str(exc), severity="error")
            self.summaries = []
        running = self.uc.running_jobs
        rows: list[tuple[str, list[Text | str]]] = []
        for s in self.summaries:
            state = "running" if s.job in running and getattr(running[s.job], "running", False) else s.state
            glyph, word, color = STATE.get(state, ("·", state, "foreground"))
            rows.append((s.job, [Text(f"{glyph} {word}", style=theme_color(self.app, color) or ""), s.cluster, s.unit,
                                 Text(s.updated.replace("T", " ")[:16], style=muted(self.app)),
                                 Text(s.job, style=muted(self.app))]))
        tables.fill(table, [(name, name) for name in ("state", "cluster", "unit", "updated", "job")], rows)
        table.border_title = f"{len(self.summaries)} jobs"
        self._detail()

    @on(DataTable.RowHighlighted)
    def _highlighted(self) -> None:
        self._detail()

    def _current(self) -> Any | None:
        table = self.query_one("#jobs-table", DataTable)
        if not self.summaries or table.cursor_row >= len(self.summaries):
            return None
        return self.summaries[table.cursor_row]

    def _detail(self) -> None:
        s = self._current()
        box = self.query_one("#jobs-detail", Static)
        if s is None:
            box.update(Content.styled("No renewal has been journaled yet: n on a certificate starts one.",
                                      "$text-muted"))
            return
        done = sum(1 for st in s.steps if st["state"] in ("done", "skipped"))
        parts: list[str | tuple[str, str]] = [(s.job, "bold"), f"  {done}/{len(s.steps)} steps"]
        if s.detail:
            parts += ["\n", s.detail]
        for csr in s.csrs:
            parts += ["\n", ("CSR ", "$text-muted"), csr["path"]]
        box.update(safe(Content.assemble(*parts)))

    def disabled_reason(self, action: str) -> str | None:
        if action == "open":
            if self._current() is None:
                return "there is no job to open"
            if self.uc.session is None or self.uc.session.inventory is None:
                return "the estate is not loaded yet"
        return None

    def action_cursor(self, direction: str) -> None:
        table = self.query_one("#jobs-table", DataTable)
        (table.action_cursor_down if direction == "down" else table.action_cursor_up)()

    @on(DataTable.RowSelected)
    def _selected(self) -> None:
        self.action_open()

    def action_open(self) -> None:
        s = self._current()
        session = self.uc.session
        if s is None or session is None:
            return
        screen = self.uc.running_jobs.get(s.job)
        if screen is not None:
            self.app.pop_screen()
            self.app.push_screen(f"job-{s.job}")
            return
        from ucterm.renewal import Journal
        from ucterm.tui.screens.run import RunScreen

        try:
            job = Journal.open(s.job)
            run = RunScreen.for_job(session, job)
        except UctermError as exc:
            self.uc.say(str(exc), severity="error")
            return
        self.app.pop_screen()
        self.uc._show_job(run)
