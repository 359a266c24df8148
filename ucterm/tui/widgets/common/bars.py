"""One-line bars: the title bar (what estate, how it stands) and the status bar (scan progress)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping

from textual.app import ComposeResult
from textual.containers import Horizontal
from textual.content import Content
from textual.widgets import Static

from ucterm.scan.model import STATUS_GLYPH
from ucterm.tui.widgets.common.safe import safe
from ucterm.tui.widgets.common.style import status_markup


class TitleBar(Static):
    """`ucterm  demo  identity: ✖ 1 expired  ▲ 1 critical  ● 4 warning  ✔ 38 ok`.

    The counts say what they count: identity certificates, or every store's (the `i` toggle), merged
    as `ucterm scan` merges them, so that "all stores" gives the numbers of its summary line.
    Where the line is short (80 columns), the product name gives its room to the counts.
    """

    _shown: tuple[str, Mapping[str, int] | None, bool, str] | None = None

    def on_resize(self) -> None:
        """Whether the product name fits depends on the width: a terminal resized (or a first frame
        drawn at another size) shows the title again."""
        if self._shown is not None:
            label, counts, read_only, counted = self._shown
            self.show(label, counts, read_only, counted=counted)

    def show(self, label: str, counts: Mapping[str, int] | None, read_only: bool, *,
             counted: str = "identity") -> None:
        from ucterm.tui.view import WIDE

        self._shown = (label, counts, read_only, counted)

        wide = self.app.size.width >= WIDE
        gap = "  " if wide else " "
        parts: list[str | tuple[str, str]] = []
        if label:
            parts += [(safe(label), "bold"), gap]
        if read_only:
            parts += [("READ-ONLY", "bold reverse $warning"), gap]
        if counts is not None:
            parts += [" ", (f"{counted}:", "$text-muted"), " "]
            for status, word in (("expired", "expired"), ("critical", "critical"), ("warning", "warning"),
                                 ("ok", "ok")):
                n = counts.get(status, 0)
                if n or status == "ok":
                    parts += [(f"{STATUS_GLYPH[status]} {n} {word}",
                               status_markup(status, no_color=self.app.no_color)), gap]
        content = Content.assemble(*parts).rstrip()
        brand = Content.assemble(("ucterm", "bold $accent"), gap)
        if content.cell_length + brand.cell_length <= self.app.size.width - 2:  # the counts come first
            content = brand + content
        self.update(content)


class StatusBar(Horizontal):
    """Scan progress per cluster on the left, view state on the right."""

    def compose(self) -> ComposeResult:
        yield Static("", id="status-left")
        yield Static("", id="status-right")

    def show_progress(self, progress: Mapping[str, tuple[int, int]], finished: Mapping[str, str],
                      scanned_at: dt.datetime | None, message: str = "", *, partly: int = 0,
                      nodes: int = 0) -> None:
        """`partly`: nodes of the last scan not read in full (of `nodes`), counted whatever else shows."""
        left = self.query_one("#status-left", Static)
        gap: list[str | tuple[str, str]] = (
            [(f"◐ {partly} of {nodes} partly read", "bold $warning"), "  "] if partly else [])
        if progress:
            parts: list[str | tuple[str, str]] = [("scanning ", "bold $accent")]
            for cluster, (done, total) in progress.items():
                filled = round(4 * done / total) if total else 0
                parts += [(safe(cluster), "bold"), f" {'▰' * filled}{'▱' * (4 - filled)} {done}/{total}  "]
            for cluster, outcome in finished.items():
                style = "$success" if outcome == "✔" else "$warning"
                parts += [(safe(cluster), "bold"), " ", (outcome, style), "  "]
            left.update(Content.assemble(*parts))
            return
        if message:
            left.update(Content.assemble(*gap, (safe(message), "$text-muted")))
        elif scanned_at is not None:
            # `r Refresh` is in the footer: not repeated here, where 80 columns have no room for it.
            left.update(Content.assemble(*gap, ("scanned ", "$text-muted"), f"{scanned_at:%Y-%m-%d %H:%M} UTC"))
        else:
            left.update(Content.styled("no scan yet: r scans the estate", "$text-muted"))

    def show_view(self, text: str) -> None:
        self.query_one("#status-right", Static).update(Content.styled(safe(text), "$text-muted"))
