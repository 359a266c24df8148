"""A read-only table that draws only the rows on screen: Textual's Line API over a list of rows.

DataTable keeps a Row object per row and, on idle, measures every cell of every new row with
Rich; replacing its rows costs time in proportion to the estate. On a hundred nodes (2,200 merged
certificates with every store shown) one rebuild took 0.6-0.8 s to add the rows and as long again
to measure them (bench/tui.py, profiled with pyinstrument), so a filter keystroke could not
redraw in 100 ms. This table is handed its columns (with widths) and rows as lists, keeps them,
and renders only the lines in view (a `ScrollView`, as DataTable itself is); replacing the rows is
a list assignment. It looks and moves like a row-cursor DataTable: a sticky header, zebra
stripes, the cursor row highlighted (theme colours while focused), up/down/page/home/end, enter
to select.

Cells are drawn as given: a caller showing outside text (a CN, a node name) escapes it first
(`tui/widgets/common/safe.py`), once per row it builds, as the certificate table does.

Replacing the rows keeps the cursor on the same key, and the cursor on the same screen line, so
rows that appear above it during a scan do not move what the user is reading.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import ClassVar

from rich.segment import Segment
from rich.style import Style
from rich.text import Text
from textual import events
from textual.binding import Binding, BindingType
from textual.geometry import Size
from textual.message import Message
from textual.reactive import reactive
from textual.scroll_view import ScrollView
from textual.strip import Strip

Cell = Text | str


@dataclass(frozen=True)
class Column:
    label: str
    key: str
    width: int


def cell_width(cell: Cell) -> int:
    return (cell if isinstance(cell, Text) else Text(cell)).cell_len


class RowTable(ScrollView, can_focus=True):
    """Rows of cells under a sticky header, one row cursor (see the module docstring)."""

    COMPONENT_CLASSES: ClassVar[set[str]] = {"rowtable--header", "rowtable--cursor", "rowtable--even-row"}

    DEFAULT_CSS = """
    RowTable {
        background: $surface;
        color: $foreground;
        & > .rowtable--header {
            text-style: bold;
            background: $panel;
            color: $foreground;
        }
        & > .rowtable--even-row {
            background: $surface-lighten-1 50%;
        }
        &:dark > .rowtable--even-row {
            background: $surface-darken-1 40%;
        }
        & > .rowtable--cursor {
            background: $block-cursor-blurred-background;
            color: $block-cursor-blurred-foreground;
            text-style: $block-cursor-blurred-text-style;
        }
        &:focus {
            background-tint: $foreground 5%;
            & > .rowtable--cursor {
                background: $block-cursor-background;
                color: $block-cursor-foreground;
                text-style: $block-cursor-text-style;
            }
            & > .rowtable--header {
                background-tint: $foreground 5%;
            }
        }
    }
    """

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("up", "cursor_up", "Up", show=False),
        Binding("down", "cursor_down", "Down", show=False),
        Binding("pageup", "page_up", "Page up", show=False),
        Binding("pagedown", "page_down", "Page down", show=False),
        Binding("home", "scroll_top", "Top", show=False),
        Binding("end", "scroll_bottom", "Bottom", show=False),
        Binding("left", "scroll_left", "Left", show=False),
        Binding("right", "scroll_right", "Right", show=False),
        Binding("enter", "select", "Select", show=False),
    ]

    cursor_row: reactive[int] = reactive(0, always_update=False, init=False)

    class Highlighted(Message):
        """The cursor moved to another row (or the row under it changed)."""

        def __init__(self, table: RowTable, key: str | None) -> None:
            super().__init__()
            self.table = table
            self.key = key

        @property
        def control(self) -> RowTable:
            return self.table

    class Selected(Message):
        """Enter (or a click) on a row."""

        def __init__(self, table: RowTable, key: str) -> None:
            super().__init__()
            self.table = table
            self.key = key

        @property
        def control(self) -> RowTable:
            return self.table

    def __init__(self, *, zebra_stripes: bool = True, id: str | None = None, classes: str | None = None) -> None:
        super().__init__(id=id, classes=classes)
        self.zebra_stripes = zebra_stripes
        self.columns: list[Column] = []
        self._keys: list[str] = []
        self._cells: list[Sequence[Cell]] = []
        self._index: dict[str, int] = {}
        self._lines: dict[tuple[int, bool], Strip] = {}  # (row, is cursor) → the row's full-width line
        self._header: Strip | None = None

    # ---- content ----------------------------------------------------------------------------
    @property
    def row_count(self) -> int:
        return len(self._keys)

    @property
    def cursor_key(self) -> str | None:
        return self._keys[self.cursor_row] if 0 <= self.cursor_row < len(self._keys) else None

    def row_index(self, key: str) -> int | None:
        return self._index.get(key)

    def get_row_at(self, row: int) -> Sequence[Cell]:
        """The cells of the row at `row` (as DataTable.get_row_at: tests compare them with the screen)."""
        return self._cells[row]

    def set_rows(self, columns: Sequence[Column], rows: Sequence[tuple[str, Sequence[Cell]]]) -> None:
        """Replace columns and rows, keeping the cursor on the same key and on the same screen line
        where that key still shows (else on the first row, as a DataTable that is refilled)."""
        previous = self.cursor_key
        line_on_screen = self.cursor_row - round(self.scroll_y)
        self.columns = list(columns)
        self._keys = [key for key, _ in rows]
        self._cells = [cells for _, cells in rows]
        self._index = {key: i for i, key in enumerate(self._keys)}
        self._lines.clear()
        self._header = None
        width = sum(c.width + 2 for c in self.columns)
        self.virtual_size = Size(width, len(self._keys) + 1)
        target = self._index.get(previous, 0) if previous is not None else 0
        self.set_reactive(RowTable.cursor_row, target)
        if previous is not None and previous in self._index:
            # The same certificate on the same screen line: rows that came or went above it scroll
            # instead of moving it.
            self.scroll_to(y=max(0, target - line_on_screen), animate=False, immediate=True)
        self._scroll_cursor_into_view()
        self.refresh()
        self.post_message(self.Highlighted(self, self.cursor_key))

    # ---- cursor -----------------------------------------------------------------------------
    def move_cursor(self, row: int) -> None:
        self.cursor_row = max(0, min(row, len(self._keys) - 1)) if self._keys else 0

    def watch_cursor_row(self, old: int, new: int) -> None:
        self._lines.pop((old, True), None)
        self._lines.pop((new, False), None)
        self._scroll_cursor_into_view()
        self.refresh()
        self.post_message(self.Highlighted(self, self.cursor_key))

    def _rows_in_view(self) -> int:
        return max(1, self.scrollable_content_region.height - 1)

    def _scroll_cursor_into_view(self) -> None:
        top = round(self.scroll_y)
        shown = self._rows_in_view()
        if self.cursor_row < top:
            self.scroll_to(y=self.cursor_row, animate=False, immediate=True)
        elif self.cursor_row >= top + shown:
            self.scroll_to(y=self.cursor_row - shown + 1, animate=False, immediate=True)

    def action_cursor_up(self) -> None:
        self.move_cursor(self.cursor_row - 1)

    def action_cursor_down(self) -> None:
        self.move_cursor(self.cursor_row + 1)

    def action_page_up(self) -> None:
        self.move_cursor(self.cursor_row - self._rows_in_view())

    def action_page_down(self) -> None:
        self.move_cursor(self.cursor_row + self._rows_in_view())

    def action_scroll_top(self) -> None:
        self.move_cursor(0)

    def action_scroll_bottom(self) -> None:
        self.move_cursor(len(self._keys) - 1)

    def action_select(self) -> None:
        key = self.cursor_key
        if key is not None:
            self.post_message(self.Selected(self, key))

    def on_click(self, event: events.Click) -> None:
        row = round(self.scroll_y) + event.y - 1
        if event.y >= 1 and 0 <= row < len(self._keys):
            if row == self.cursor_row and event.chain > 1:
                self.action_select()
            self.move_cursor(row)

    def on_resize(self) -> None:
        self._scroll_cursor_into_view()  # a shorter pane must still show the cursor

    # ---- drawing ----------------------------------------------------------------------------
    def on_focus(self) -> None:
        self._restyle()

    def on_blur(self) -> None:
        self._restyle()

    def notify_style_update(self) -> None:
        super().notify_style_update()
        self._restyle()

    def _restyle(self) -> None:
        self._lines.clear()
        self._header = None
        self.refresh()

    def _line_of(self, cells: Sequence[Cell], base: Style) -> Strip:
        segments: list[Segment] = []
        console = self.app.console
        for column, cell in zip(self.columns, cells, strict=False):
            text = cell if isinstance(cell, Text) else Text(cell)
            if text.cell_len > column.width:
                text = text.copy()
                text.truncate(column.width, overflow="ellipsis")
            segments.append(Segment(" "))
            # Text.render leaves the Text's own style out where it has no spans: apply it here.
            own = console.get_style(text.style) if text.style else None
            segments.extend(Segment.apply_style(text.render(console), own))
            segments.append(Segment(" " * (column.width - text.cell_len + 1)))
        width = sum(c.width + 2 for c in self.columns)
        return Strip(Segment.apply_style(segments, base), width)

    def _header_line(self) -> Strip:
        if self._header is None:
            style = self.get_component_rich_style("rowtable--header")
            self._header = self._line_of([Text(c.label) for c in self.columns], style)
        return self._header

    def _row_line(self, row: int) -> Strip:
        cursor = row == self.cursor_row
        line = self._lines.get((row, cursor))
        if line is None:
            base = self.rich_style
            if self.zebra_stripes and row % 2 == 1:
                base = base + self.get_component_rich_style("rowtable--even-row")
            if cursor:
                base = base + self.get_component_rich_style("rowtable--cursor")
            # Under the cells' own styles: a status keeps its colour on the cursor row.
            line = self._line_of(self._cells[row], base)
            self._lines[(row, cursor)] = line
        return line

    def render_line(self, y: int) -> Strip:
        width = self.scrollable_content_region.width
        left = round(self.scroll_x)
        if y == 0:
            line = self._header_line() if self.columns else Strip.blank(width, self.rich_style)
        else:
            row = round(self.scroll_y) + y - 1
            if 0 <= row < len(self._keys):
                line = self._row_line(row)
            else:
                return Strip.blank(width, self.rich_style)
        return line.crop_extend(left, left + width, self.rich_style)
