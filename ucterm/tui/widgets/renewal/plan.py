"""The plan preview's widgets: the step table and the step detail (exact commands, risks)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from rich.text import Text
from textual.containers import VerticalScroll
from textual.content import Content
from textual.widgets import DataTable, Static

from ucterm import catalog
from ucterm.tui.view import short_host
from ucterm.tui.widgets.common import tables
from ucterm.tui.widgets.common.safe import safe
from ucterm.tui.widgets.common.style import muted, warning

if TYPE_CHECKING:
    from ucterm.renewal.model import Plan, Step

TRANSPORT_LABEL = {"cli": "SSH CLI", "rest": "REST", "axl": "AXL", "manual": "by hand", "local": "local",
                   "tls": "TLS probe"}


def plan_header(plan: Plan) -> Content:
    product = catalog.PRODUCT_NAMES.get(plan.product, plan.product)
    distribution = "multi-server" if plan.multi_server else "single-server"
    nodes = ", ".join(short_host(n) for n in plan.all_nodes)
    return safe(Content.assemble(("Plan", "bold $accent"), "  ", (f"renew {plan.unit} on {plan.cluster}", "bold"),
                                 (f"  {product} · {distribution} · {nodes}", "$text-muted")))


class PlanStepTable(DataTable[Text | str]):
    HELP = "The plan's steps in order; the detail below shows the highlighted step's exact commands."

    def __init__(self, plan: Plan, *, id: str | None = None) -> None:
        super().__init__(id=id, cursor_type="row", zebra_stripes=True)
        self.plan = plan

    def on_mount(self) -> None:
        dim = muted(self.app)
        rows: list[tuple[str, list[Text | str]]] = [
            (step.id, [Text(str(i), style=dim), Text("⚠", style=warning(self.app)) if step.risky else "",
                       Text(short_host(step.target or ""), style=dim),
                       Text(TRANSPORT_LABEL.get(step.transport, step.transport), style=dim), Text(step.name)])
            for i, step in enumerate(self.plan.steps, 1)]
        tables.fill(self, [("#", "n"), ("⚠", "risk"), ("node", "node"), ("via", "via"), ("step", "name")], rows)


class PlanStepDetail(VerticalScroll, can_focus=True):
    HELP = "The highlighted step: node, transport, the exact commands, and why it is risky."

    def compose(self):  # type: ignore[no-untyped-def]
        yield Static("", id="plan-detail-body")

    def show_step(self, plan: Plan, step: Step, index: int) -> None:
        self.border_title = f"step {index + 1} · {step.kind.replace('_', ' ')}"
        lines: list[Content] = [Content.styled(step.name, "bold")]
        where = step.target or "—"
        if step.via_node and step.via_node != step.node:
            where += f" (result checked on {step.node})"
        lines.append(Content.assemble(("node ", "$text-muted"), where, ("   via ", "$text-muted"),
                                      TRANSPORT_LABEL.get(step.transport, step.transport)))
        if step.risky:
            lines.append(Content.assemble(("⚠ risky: ", "bold $warning"), step.risk_note or "hard to undo"))
        lines.append(Content.styled("commands", "bold $text-muted"))
        for command in step.commands:
            lines.append(Content.assemble(("$ " if step.transport in ("cli",) else "› ", "$text-muted"),
                                          (command, "$text")))
        if plan.warnings:
            lines.append(Content(""))
            lines.append(Content.styled("plan warnings", "bold $text-muted"))
            lines += [Content.assemble(("▲ ", "$warning"), w) for w in plan.warnings]
        if plan.risks:
            lines.append(Content(""))
            lines.append(Content.styled("risks", "bold $text-muted"))
            lines += [Content.assemble(("⚠ ", "$warning"), r) for r in plan.risks]
        self.query_one(Static).update(safe(Content("\n").join(lines)))
        self.scroll_home(animate=False)
