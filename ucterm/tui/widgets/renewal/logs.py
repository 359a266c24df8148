"""The transcript of a job: a tab per node plus "all", streaming as the engine reports it."""

from __future__ import annotations

from collections.abc import Iterable
from typing import ClassVar

from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Vertical
from textual.widgets import Tab, Tabs

from ucterm.tui.view import short_host
from ucterm.tui.widgets.common.safe import safe
from ucterm.tui.widgets.renewal.transcript import TranscriptLog

ARROW = {"sent": "›", "received": " ", "info": "·"}
ALL = "log-all"


def _tab_id(node: str) -> str:
    return "log-" + "".join(ch if ch.isalnum() else "-" for ch in node.lower())


class NodeLogs(Vertical):
    """Tabs: `all` then each node; `[` and `]` switch (bindings on the run screen).

    One transcript pane under the tab strip shows the chosen tab's lines (TranscriptLog buffers):
    a tab switch swaps what it draws instead of laying out another pane.
    """

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("end", "follow", "Follow", show=False, id="logs.follow", tooltip="Scroll to the newest line"),
    ]

    HELP = ("The transcript of every node as it happens (secrets redacted): › sent, · ucterm's notes. "
            "`all` interleaves the nodes; [ and ] switch tabs.")

    def __init__(self, nodes: Iterable[str], *, id: str | None = None) -> None:
        super().__init__(id=id)
        self.nodes = list(dict.fromkeys(nodes))

    def compose(self) -> ComposeResult:
        yield Tabs(Tab("all", id=ALL), *(Tab(safe(short_host(n)), id=_tab_id(n)) for n in self.nodes), id="log-tabs")
        yield TranscriptLog(id="log-lines", max_lines=5000, buffer=ALL)

    @property
    def tabs(self) -> Tabs:
        return self.query_one("#log-tabs", Tabs)

    @property
    def pane(self) -> TranscriptLog:
        return self.query_one("#log-lines", TranscriptLog)

    @property
    def active(self) -> str:
        """The tab whose lines are on screen."""
        return self.pane.buffer

    def on_tabs_tab_activated(self, event: Tabs.TabActivated) -> None:
        event.stop()
        if event.tab.id:
            self.pane.show(event.tab.id)

    def add_node(self, node: str, first_lines: list[str] | None = None) -> None:
        """A tab for a node the plan did not name (e.g. the CUCM publisher that answers AXL), holding
        the lines that made it appear."""
        if node and node not in self.nodes:
            self.nodes.append(node)
            self.tabs.add_tab(Tab(safe(short_host(node)), id=_tab_id(node)))
            if first_lines:
                self.pane.write_lines(first_lines, _tab_id(node))

    def write_many(self, lines: list[tuple[str | None, str, str]]) -> None:
        """Many transcript lines at once: one write per tab (what keeps streaming cheap)."""
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
            pane = self.pane
        except Exception:
            return  # not composed yet, or being torn down
        pane.write_lines(everything, ALL)
        for node, node_lines in per_node.items():
            if node not in self.nodes:
                self.add_node(node, node_lines)
                continue
            pane.write_lines(node_lines, _tab_id(node))

    def write(self, node: str | None, direction: str, text: str) -> None:
        self.write_many([(node, direction, text)])

    def cycle(self, delta: int) -> None:
        ids = [ALL, *(_tab_id(n) for n in self.nodes)]
        current = self.active if self.active in ids else ALL
        target = ids[(ids.index(current) + delta) % len(ids)]
        self.pane.show(target)  # at once: the key's frame shows the lines, not only the tab
        self.tabs.active = target

    def action_follow(self) -> None:
        self.pane.scroll_end(animate=False)

    def line_count(self, node: str | None = None) -> int:
        return self.pane.line_count_of(ALL if node is None else _tab_id(node))

    def lines(self, node: str | None = None) -> list[str]:
        return self.pane.lines_of(ALL if node is None else _tab_id(node))
