"""A transcript pane: plain lines in named buffers, the newest kept, only the lines on screen drawn.

Textual's Log does the same job but, while a renewal streams on five nodes (hundreds of lines a
second), it was most of the run screen's frame time (bench/tui.py, pyinstrument): it works out
the widget's style for every line it draws, and once `max_lines` is reached each write shifts
its list of lines and rebuilds its line cache. Here the lines live in bounded deques (dropping
the oldest costs nothing), the style is worked out once per style change, and a drawn line is
kept by its absolute number, so lines that scroll up are not drawn again.

One pane shows one buffer at a time (a node's tab, or `all`): switching tabs swaps what it draws
instead of laying out another widget, which kept a tab switch within a frame during streaming.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Iterable
from dataclasses import dataclass, field

from rich.cells import cell_len
from rich.segment import Segment
from rich.style import Style
from textual.geometry import Size
from textual.scroll_view import ScrollView
from textual.strip import Strip

__all__ = ["LineBuffer", "TranscriptLog"]


@dataclass
class LineBuffer:
    """The lines of one tab, and where its view was when another tab was shown."""

    lines: deque[str]
    #: The absolute number of lines[0] (how many were dropped before it).
    first: int = 0
    width: int = 0
    #: The view's top line while hidden; None: following the newest line.
    scroll_y: int | None = None
    strips: dict[int, Strip] = field(default_factory=dict)


class TranscriptLog(ScrollView, can_focus=True):
    """Append-only lines per buffer; follows the newest line while scrolled to the end (like Log)."""

    DEFAULT_CSS = """
    TranscriptLog {
        background: $surface;
        color: $text;
        overflow: scroll;
        &:focus {
            background-tint: $foreground 5%;
        }
    }
    """

    def __init__(self, *, max_lines: int = 5000, buffer: str = "", id: str | None = None) -> None:
        super().__init__(id=id)
        self.max_lines = max_lines
        self._buffers: dict[str, LineBuffer] = {}
        self.buffer = buffer
        self._style: Style | None = None

    def _get(self, name: str) -> LineBuffer:
        found = self._buffers.get(name)
        if found is None:
            found = self._buffers[name] = LineBuffer(deque(maxlen=self.max_lines))
        return found

    @property
    def _shown(self) -> LineBuffer:
        return self._get(self.buffer)

    def lines_of(self, name: str | None = None) -> list[str]:
        return list(self._get(self.buffer if name is None else name).lines)

    @property
    def lines(self) -> list[str]:
        return self.lines_of()

    def line_count_of(self, name: str | None = None) -> int:
        return len(self._get(self.buffer if name is None else name).lines)

    @property
    def line_count(self) -> int:
        return self.line_count_of()

    def write_lines(self, lines: Iterable[str], buffer: str | None = None) -> None:
        """Append lines (each may hold several) to a buffer; the shown one stays at its end if the
        view was there."""
        name = self.buffer if buffer is None else buffer
        target = self._get(name)
        new = [part.expandtabs() for line in lines for part in line.splitlines()]
        if not new:
            return
        shown = name == self.buffer
        follow = shown and (not target.lines or self.is_vertical_scroll_end)
        dropped = max(0, len(target.lines) + len(new) - self.max_lines)
        target.first += dropped
        target.lines.extend(new)
        target.width = max(target.width, *(cell_len(line) for line in new))
        if not shown:
            return  # drawn when its tab is shown
        self.virtual_size = Size(target.width, len(target.lines))
        if follow:
            self.scroll_end(animate=False, immediate=True, x_axis=False)
        self.refresh()

    def show(self, name: str) -> None:
        """Show another buffer, where its view was left (or at its end if it was following)."""
        if name == self.buffer:
            return
        current = self._shown
        current.scroll_y = None if self.is_vertical_scroll_end else round(self.scroll_y)
        self.buffer = name
        target = self._shown
        self.virtual_size = Size(target.width, len(target.lines))
        if target.scroll_y is None:
            self.scroll_end(animate=False, immediate=True, x_axis=False)
        else:
            self.scroll_to(y=target.scroll_y, animate=False, immediate=True)
        self.refresh()

    # ---- drawing ----------------------------------------------------------------------------
    def notify_style_update(self) -> None:
        super().notify_style_update()
        self._restyle()

    def on_focus(self) -> None:
        self._restyle()

    def on_blur(self) -> None:
        self._restyle()

    def _restyle(self) -> None:
        self._style = None
        for buffer in self._buffers.values():
            buffer.strips.clear()
        self.refresh()

    def _base(self) -> Style:
        if self._style is None:
            self._style = self.rich_style
        return self._style

    def render_line(self, y: int) -> Strip:
        scroll_x, scroll_y = self.scroll_offset
        width = self.size.width
        style = self._base()
        shown = self._shown
        index = scroll_y + y
        if index >= len(shown.lines):
            return Strip.blank(width, style)
        number = shown.first + index
        strip = shown.strips.get(number)
        if strip is None:
            text = shown.lines[index]
            strip = Strip([Segment(text, style)], cell_len(text))
            if len(shown.strips) > 4 * max(8, self.size.height):
                low = shown.first + scroll_y
                shown.strips = {n: s for n, s in shown.strips.items() if low <= n < low + self.size.height}
            shown.strips[number] = strip
        return strip.crop_extend(scroll_x, scroll_x + width, style)
