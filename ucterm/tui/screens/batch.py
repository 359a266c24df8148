"""Batches: what a batch would do before it runs (BatchPlanScreen), and its jobs while and after it runs
(BatchScreen).

A batch is several renewals made at once: the certificates the user marked (space on the table), or
everything due (the palette). Like `ucterm renew --due`, it renews like for like, one job per cluster
and unit, clusters side by side; it resumes the unfinished job of a cluster and unit instead of making
a second one, and says what it leaves alone and why. Running it is the app's (StartBatch); opening a
job is the app's too (OpenJob), so a batch job has the one run screen every job has.
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

from ucterm.tui.messages import StartBatch
from ucterm.tui.screens.base import BaseScreen
from ucterm.tui.screens.jobs import JobsScreen
from ucterm.tui.screens.modals import ConfirmModal
from ucterm.tui.widgets.common import tables
from ucterm.tui.widgets.common.safe import safe
from ucterm.tui.widgets.common.style import muted

if TYPE_CHECKING:
    from ucterm.renewal.journal import JobSummary
    from ucterm.renewal.model import Plan
    from ucterm.tui.session import BatchProposal, Session


def _distribution(plan: Plan) -> str:
    if plan.multi_server:
        return f"multi-server, {len(plan.all_nodes)} nodes"
    return "single-server on " + ", ".join(n.split(".", 1)[0] for n in plan.nodes)


class BatchPlanScreen(BaseScreen):
    """The jobs a batch would make or resume, and what it leaves; `x` runs it after a confirmation."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape", "back", "Back", id="batchplan.back", tooltip="Back (nothing has run)"),
        Binding("x", "run", "Run all", id="batchplan.run",
                tooltip="Run every job of the batch, clusters side by side (asks first, lists the risky steps)"),
        Binding("enter", "plan", "Plan", id="batchplan.plan",
                tooltip="The highlighted job's plan, with every step and its exact commands"),
        Binding("j", "cursor('down')", "Down", show=False, id="batchplan.down"),
        Binding("k", "cursor('up')", "Up", show=False, id="batchplan.up"),
    ]

    HELP = ("A batch before it runs: one job per cluster and unit, like for like (a multi-server certificate "
            "stays multi-server with its SANs, a single-server one stays on its nodes). Unfinished jobs of "
            "the same cluster and unit are resumed instead. Below: what the batch leaves alone, and why.")

    def __init__(self, proposal: BatchProposal, *, session: Session | None = None, title: str = "Batch") -> None:
        super().__init__(classes="jobs")
        self.proposal = proposal
        self.session = session
        self.title_text = title

    def compose(self) -> ComposeResult:
        yield Static(Content.assemble((self.title_text, "bold $accent"),
                                      (f"  {len(self.proposal.plans)} new, {len(self.proposal.resume)} to resume",
                                       "$text-muted")), id="title")
        yield DataTable(id="batch-table", cursor_type="row", zebra_stripes=True)
        yield Static("", id="batch-detail")
        yield Footer(compact=True)

    def on_mount(self) -> None:
        table = self.query_one("#batch-table", DataTable)
        rows: list[tuple[str, list[Text | str]]] = []
        for plan in self.proposal.plans:
            risky = sum(1 for s in plan.steps if s.risky)
            rows.append((f"new:{plan.cluster}/{plan.unit}", [
                "new", plan.cluster, plan.unit, _distribution(plan),
                Text(f"⚠ {risky} risky" if risky else "nothing risky", style=muted(self.app))]))
        for job in self.proposal.resume:
            where = f"at step {job.stopped_at['number']}" if job.stopped_at else ""
            rows.append((f"resume:{job.job}", ["resume", job.cluster, job.unit, f"{job.status} {where}".strip(),
                                                Text(job.job, style=muted(self.app))]))
        tables.fill(table, [(name, name) for name in ("job", "cluster", "unit", "what", "")], rows)
        table.border_title = f"{len(rows)} jobs"
        table.focus()
        self._detail()

    def _current(self) -> Plan | JobSummary | None:
        table = self.query_one("#batch-table", DataTable)
        items: list[Plan | JobSummary] = [*self.proposal.plans, *self.proposal.resume]
        return items[table.cursor_row] if 0 <= table.cursor_row < len(items) else None

    @on(DataTable.RowHighlighted, "#batch-table")
    def _highlighted(self) -> None:
        self._detail()

    def _detail(self) -> None:
        from ucterm.renewal.model import Plan

        item = self._current()
        parts: list[str | tuple[str, str]] = []
        if isinstance(item, Plan):
            parts += [(f"Renew {item.unit} on {item.cluster}", "bold"), f" ({_distribution(item)}), "
                      f"{len(item.steps)} steps"]
            for risk in item.risks:
                parts += ["\n", ("⚠ ", "bold $warning"), risk]
            for warning in item.warnings:
                parts += ["\n", ("· ", "$text-muted"), warning]
        elif item is not None:
            parts += [(f"Resume job {item.job}", "bold"), f" ({item.status})"]
            if item.detail:
                parts += ["\n", item.detail]
        if self.proposal.left:
            parts += ["\n\n", ("Left alone", "bold")]
            for left in self.proposal.left:
                parts += ["\n", ("· ", "$text-muted"), left.reason]
        self.query_one("#batch-detail", Static).update(safe(Content.assemble(*parts)))

    def disabled_reason(self, action: str) -> str | None:
        if action == "run":
            if self.proposal.empty:
                return "the batch has no job: nothing is due, or everything due is left alone (see why below)"
            if self.session is not None and self.session.read_only_reason:
                return self.session.read_only_reason
        if action == "plan" and self._plan() is None:
            return "highlight a new job: a resumed job has its plan already (J lists it)"
        return None

    def _plan(self) -> Plan | None:
        from ucterm.renewal.model import Plan

        item = self._current()
        return item if isinstance(item, Plan) else None

    def action_cursor(self, direction: str) -> None:
        table = self.query_one("#batch-table", DataTable)
        (table.action_cursor_down if direction == "down" else table.action_cursor_up)()

    @on(DataTable.RowSelected, "#batch-table")
    def _selected(self) -> None:
        self.action_plan()

    def action_plan(self) -> None:
        plan = self._plan()
        if plan is None:
            return
        from ucterm.tui.screens.renewal import PlanScreen

        signer = self.proposal.signers.get(f"{plan.cluster}/{plan.unit}", "files")
        self.app.push_screen(PlanScreen(plan, session=self.session, signer=signer, runnable=False))

    def action_run(self) -> None:
        proposal = self.proposal
        risky = [f"{p.cluster}/{p.unit}: {s.name}" for p in proposal.plans for s in p.steps if s.risky]

        def answered(yes: bool | None) -> None:
            if yes:  # the app takes this screen away (it shows the batch view instead)
                self.post_message(StartBatch(proposal))

        body = Content.assemble(
            f"{len(proposal.plans)} new job(s) and {len(proposal.resume)} to resume, clusters side by side; each "
            "journaled step by step. Restarts that interrupt calls wait for their cluster's maintenance window.\n",
            ("Risky steps:\n" if risky else "No risky step.\n", "bold"), "\n".join(f"⚠ {r}" for r in risky[:20]),
            f"\n… and {len(risky) - 20} more" if len(risky) > 20 else "")
        self.app.push_screen(ConfirmModal("Run the batch?", safe(body), yes="Run", no="Back", danger=bool(risky)),
                             answered)


class BatchScreen(JobsScreen):
    """The jobs of one batch, with their states, read from the journal (again every second while any runs)."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape", "back", "Back", id="batch.back", tooltip="Back; the batch goes on (J lists every job)"),
    ]

    HELP = ("The jobs of one batch: one per cluster and unit, clusters side by side, the jobs of a cluster one "
            "after another. enter opens a job (its steps and logs); a failed step waits there for retry, skip "
            "or abort while the other clusters go on.")

    def __init__(self, batch_id: str, running: Collection[str] = ()) -> None:
        super().__init__(running)
        self.batch_id = batch_id

    def compose(self) -> ComposeResult:
        yield Static(Content.assemble(("Batch", "bold $accent"), (f"  {self.batch_id}", "$text-muted")), id="title")
        yield DataTable(id="jobs-table", cursor_type="row", zebra_stripes=True)
        yield Static("", id="jobs-detail")
        yield Footer(compact=True)

    def on_mount(self) -> None:
        super().on_mount()
        self.set_interval(1.0, self._tick)

    def _tick(self) -> None:
        # Until every job shows where it stopped: the list read while a job ran still says running.
        if self.is_current and (not self.summaries or any(s.job in self.running or s.status == "running"
                                                          for s in self.summaries)):
            self.action_reload()

    def listed(self, summaries: list[JobSummary]) -> list[JobSummary]:
        return [s for s in summaries if s.batch == self.batch_id]

    def empty_text(self) -> str:
        return "The batch's first jobs are being journaled…"


__all__ = ["BatchPlanScreen", "BatchScreen"]
