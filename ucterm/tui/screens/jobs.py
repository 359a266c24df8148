"""Jobs from the journal: every renewal with its state; enter opens one (and resumes it with p).

Opening is the app's: enter posts OpenJob, and the app shows the job's one run screen (the live
one, the one already on the stack, or a new one from the journal).
"""

from __future__ import annotations

from collections.abc import Collection
from typing import TYPE_CHECKING, ClassVar

from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.content import Content
from textual.widgets import DataTable, Footer, Static

from ucterm.errors import UctermError
from ucterm.tui.messages import OpenJob
from ucterm.tui.screens.base import BaseScreen
from ucterm.tui.screens.modals import ConfirmModal
from ucterm.tui.view import counted
from ucterm.tui.widgets.common import tables
from ucterm.tui.widgets.common.safe import safe
from ucterm.tui.widgets.common.states import state_look
from ucterm.tui.widgets.common.style import muted, theme_color

if TYPE_CHECKING:
    from ucterm.renewal.journal import JobSummary



class JobsScreen(BaseScreen):
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape", "back", "Back", id="jobs.back", tooltip="Back"),
        Binding("enter", "open", "Open", id="jobs.open",
                tooltip="Open the job: its steps and logs; p resumes it where it stopped"),
        Binding("r", "reload", "Reload", id="jobs.reload", tooltip="Read the journal again"),
        Binding("A", "abandon", "Abandon", id="jobs.abandon",
                tooltip="Give the highlighted job up (asks first; journaled; nothing on the nodes changes), so that "
                        "a new renewal of its unit may start"),
        Binding("j", "cursor('down')", "Down", show=False, id="jobs.down"),
        Binding("k", "cursor('up')", "Up", show=False, id="jobs.up"),
    ]

    HELP = ("Renewal jobs from the journal, newest first. A job that waits for the CA, failed, was paused or "
            "interrupted resumes from where it stopped, without regenerating its CSR; A gives one up (as "
            "`ucterm jobs --abandon JOB` does) so that a new renewal of its unit may start.")

    def __init__(self, running: Collection[str] = ()) -> None:
        """`running`: the ids of the jobs running in this app (the app's own set, read at each reload)."""
        super().__init__(classes="jobs")
        self.running = running
        self.summaries: list[JobSummary] = []

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
        current = self._current()
        try:
            self.summaries = self.listed(list_jobs())
        except UctermError as exc:
            self.say(str(exc), severity="error")
            self.summaries = []
        rows: list[tuple[str, list[Text | str]]] = []
        for s in self.summaries:
            state = "running" if s.job in self.running else s.status
            look = state_look(state)
            style = (theme_color(self.app, look.color) or "") if look.color else muted(self.app)
            rows.append((s.job, [Text(look.label, style=style), s.cluster, s.unit,
                                 Text(s.updated.replace("T", " ")[:16], style=muted(self.app)),
                                 Text(s.job, style=muted(self.app))]))
        tables.fill(table, [(name, name) for name in ("state", "cluster", "unit", "updated", "job")], rows)
        table.border_title = counted(len(self.summaries), "job")
        if current is not None:  # a reload (the batch view's, every second) keeps the cursor on its job
            row = next((i for i, x in enumerate(self.summaries) if x.job == current.job), None)
            if row is not None:
                table.move_cursor(row=row)
        self._detail()

    def listed(self, summaries: list[JobSummary]) -> list[JobSummary]:
        """The jobs this screen lists (all of them; the batch view lists one batch's)."""
        return summaries

    def empty_text(self) -> str:
        return "No renewal has been journaled yet: n on a certificate starts one."

    @on(DataTable.RowHighlighted)
    def _highlighted(self) -> None:
        self._detail()

    def _current(self) -> JobSummary | None:
        table = self.query_one("#jobs-table", DataTable)
        if not self.summaries or table.cursor_row >= len(self.summaries):
            return None
        return self.summaries[table.cursor_row]

    def _detail(self) -> None:
        s = self._current()
        box = self.query_one("#jobs-detail", Static)
        if s is None:
            box.update(Content.styled(self.empty_text(), "$text-muted"))
            return
        done = sum(1 for st in s.steps if st["state"] in ("done", "skipped"))
        parts: list[str | tuple[str, str]] = [(s.job, "bold"), f"  {done}/{counted(len(s.steps), 'step')}"]
        if s.window:
            parts += ["\n", ("⏸ ", "bold $warning"), f"restarts wait for the maintenance window {s.window['window']}"]
            if s.window.get("opens"):
                parts += [f" (opens {s.window['opens'].replace('T', ' ')[:16]} UTC)"]
        if s.batch:
            parts += ["\n", ("batch ", "$text-muted"), s.batch]
        if s.detail:
            parts += ["\n", s.detail]
        if s.status == "interrupted" and s.stopped_at:
            parts += ["\n", ("interrupted ", "bold $warning"),
                      f"in step {s.stopped_at['number']}: {s.stopped_at['name']} (no ucterm runs it)"]
        if s.next:
            parts += ["\n", ("enter", "bold $accent"), " opens it, ", ("p", "bold $accent"),
                      " resumes it; headless: ", (s.next, "bold")]
        for csr in s.csrs:
            parts += ["\n", ("CSR ", "$text-muted"), csr["path"]]
        box.update(safe(Content.assemble(*parts)))

    def disabled_reason(self, action: str) -> str | None:
        current = self._current()
        if action in ("open", "abandon") and current is None:
            return f"there is no job to {action}"
        if action == "abandon" and current is not None:
            if current.job in self.running or current.status == "running":
                return "the job is running: pause or abort it on its run screen first"
            if current.status in ("done", "abandoned"):
                return f"the job is {current.status}: there is nothing to give up"
            if current.damaged:
                return "the job is damaged: its folder does not read as a job (move it out of the journal)"
        return None

    def action_abandon(self) -> None:
        """Ask, then give the job up in the journal (Job.abandon: what it left on the nodes is said)."""
        current = self._current()
        if current is None or self.disabled_reason("abandon") is not None:
            return
        job_id = current.job

        def answered(yes: bool | None) -> None:
            if not yes:
                return
            from ucterm.renewal import Journal

            try:
                detail = Journal.open(job_id).abandon()
            except UctermError as exc:  # another ucterm runs it now, or it ended meanwhile
                self.say(str(exc), severity="error")
            else:
                self.say(f"job {job_id}: {detail}")
            self.action_reload()

        body = (f"Give up job {job_id} ({current.unit} on cluster {current.cluster}, {current.status})? Nothing on "
                "the nodes changes: a CSR it made or a certificate it uploaded stays. A new renewal of the unit may "
                "start afterwards; this job can no longer be resumed.")
        self.app.push_screen(ConfirmModal("Abandon the job?", body, yes="Abandon", no="Keep it", danger=True),
                             answered)

    def action_cursor(self, direction: str) -> None:
        table = self.query_one("#jobs-table", DataTable)
        (table.action_cursor_down if direction == "down" else table.action_cursor_up)()

    @on(DataTable.RowSelected)
    def _selected(self) -> None:
        self.action_open()

    def action_open(self) -> None:
        s = self._current()
        if s is not None:
            self.post_message(OpenJob(s.job))
