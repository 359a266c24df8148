"""One log pane per node plus "all", streaming the transcript as the engine reports it."""

from __future__ import annotations

import contextlib
from collections.abc import Iterable
from typing import ClassVar

from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Vertical
from textual.widgets import Log, TabbedContent, TabPane

from ucterm.tui.view import short_host
from ucterm.tui.widgets.common.safe import safe

ARROW = {"sent": "›", "received": " ", "info": "·"}


def _tab_id(node: str) -> str:
    return "log-" + "".join(ch if ch.isalnum() else "-" for ch in node.lower())


class NodeLogs(Vertical):
    """Tabs: `all` then each node; `[` and `]` switch (bindings on the run screen)."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("end", "follow", "Follow", show=False, id="logs.follow", tooltip="Scroll to the newest line"),
    ]

    HELP = ("The transcript of every node as it happens (secrets redacted): › sent, · ucterm's notes. "
            "`all` interleaves the nodes; [ and ] switch tabs.")

    def __init__(self, nodes: Iterable[str], *, id: str | None = None) -> None:
        super().__init__(id=id)
        self.nodes = list(dict.fromkeys(nodes))

    def compose(self) -> ComposeResult:
        with TabbedContent(initial="log-all", id="log-tabs"):
            with TabPane("all", id="log-all"):
                yield Log(id="log-all-lines", max_lines=5000, highlight=False)
            for node in self.nodes:
                with TabPane(safe(short_host(node)), id=_tab_id(node)):
                    yield Log(id=f"{_tab_id(node)}-lines", max_lines=5000, highlight=False)

    @property
    def tabs(self) -> TabbedContent:
        return self.query_one("#log-tabs", TabbedContent)

    @property
    def active(self) -> str:
        return self.tabs.active

    def add_node(self, node: str, first_lines: list[str] | None = None) -> None:
        """A tab for a node the plan did not name (e.g. the CUCM publisher that answers AXL), holding
        the lines that made it appear."""
        if node and node not in self.nodes:
            self.nodes.append(node)
            log = Log(id=f"{_tab_id(node)}-lines", max_lines=5000, highlight=False)
            self.tabs.add_pane(TabPane(safe(short_host(node)), log, id=_tab_id(node)))
            if first_lines:
                self.call_after_refresh(log.write_lines, first_lines)

    def write_many(self, lines: list[tuple[str | None, str, str]]) -> None:
        """Many transcript lines at once: one write per pane (what keeps streaming cheap)."""
        everything: list[str] = []
        per_node: dict[str, list[str]] = {}
        for node, direction, text in lines:
            arrow = ARROW.get(direction, " ")
            host = safe(short_host(node)) if node else "ucterm"
            # What nodes send is shown with its control characters made visible, never obeyed.
            for line in [safe(part) for part in text.splitlines()] or [""]:
                everything.append(f"{host:<10} {arrow} {line}")
                if node:
                    per_node.setdefault(node, []).append(f"{arrow} {line}")
        if not everything:
            return
        try:
            self.query_one("#log-all-lines", Log).write_lines(everything)
        except Exception:
            return  # not composed yet, or being torn down
        for node, node_lines in per_node.items():
            if node not in self.nodes:
                self.add_node(node, node_lines)
                continue
            with contextlib.suppress(Exception):
                self.query_one(f"#{_tab_id(node)}-lines", Log).write_lines(node_lines)

    def write(self, node: str | None, direction: str, text: str) -> None:
        self.write_many([(node, direction, text)])

    def cycle(self, delta: int) -> None:
        ids = ["log-all", *(_tab_id(n) for n in self.nodes)]
        current = self.active if self.active in ids else "log-all"
        self.tabs.active = ids[(ids.index(current) + delta) % len(ids)]

    def action_follow(self) -> None:
        pane = self.tabs.get_pane(self.active) if self.active else None
        if pane is not None:
            pane.query_one(Log).scroll_end(animate=False)

    def line_count(self, node: str | None = None) -> int:
        target = "#log-all-lines" if node is None else f"#{_tab_id(node)}-lines"
        return self.query_one(target, Log).line_count
