"""The running job's step list: live state per step (glyph and word, never colour alone)."""

from __future__ import annotations

from typing import TYPE_CHECKING, ClassVar

from rich.style import Style
from rich.text import Text
from textual.binding import Binding, BindingType
from textual.widgets import DataTable

from ucterm.tui.view import short_host
from ucterm.tui.widgets.common import tables
from ucterm.tui.widgets.common.states import state_look
from ucterm.tui.widgets.common.style import muted, theme_color

if TYPE_CHECKING:
    from ucterm.renewal.model import Plan, Step



class StepTable(DataTable[Text | str]):
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("j", "cursor_down", "Down", show=False, id="steps.down"),
        Binding("k", "cursor_up", "Up", show=False, id="steps.up"),
    ]

    HELP = ("The job's steps with their live state: · pending, ▶ running, ✔ done, ✖ FAILED, ↷ skipped, "
            "⏸ waiting. The line under the list explains the highlighted step.")

    def __init__(self, plan: Plan, *, id: str | None = None) -> None:
        super().__init__(id=id, cursor_type="row", zebra_stripes=False)
        self.plan = plan
        self.states: dict[str, tuple[str, str]] = {s.id: ("pending", "") for s in plan.steps}

    def on_mount(self) -> None:
        dim = muted(self.app)
        rows: list[tuple[str, list[Text | str]]] = [
            (step.id, [self._state_cell(self.states[step.id][0]), Text(short_host(step.node or ""), style=dim),
                       Text(step.name)]) for step in self.plan.steps]
        # The state cell changes as the job runs: its column keeps the width of "✖ FAILED" and the like.
        tables.fill(self, [("state", "state"), ("node", "node"), ("step", "name")], rows, fixed={"state": 9})

    def _state_cell(self, state: str) -> Text:
        look = state_look(state)
        color = theme_color(self.app, look.color) if look.color else None
        style = Style(color=color, bold=state in ("running", "failed")) if color else muted(self.app)
        return Text(look.label, style=style)

    def set_state(self, step_id: str, state: str, detail: str = "", *, follow: bool = False) -> None:
        if step_id not in self.states:
            return
        previous = self.states[step_id][0]
        self.states[step_id] = (state, detail)
        if previous == state and not follow:
            return  # only the detail changed: the row looks the same
        if self.is_mounted and self.row_count:
            self.update_cell(step_id, "state", self._state_cell(state))
            if follow:
                self.move_cursor(row=self.get_row_index(step_id), animate=False)

    @property
    def current_step(self) -> Step | None:
        if not self.row_count:
            return None
        index = self.cursor_row
        return self.plan.steps[index] if 0 <= index < len(self.plan.steps) else None

    def counts(self) -> tuple[int, int]:
        finished = sum(1 for state, _ in self.states.values() if state in ("done", "skipped"))
        return finished, len(self.states)
