"""Fill a DataTable with columns sized from the rows given, in one go.

DataTable measures auto-width columns on idle. A frame drawn before that (the app is busy: scan
events or a job's transcript still queued) renders every cell clipped to its header's width and
caches it, so "✖ EXPIRED" shows as "✖ EXPIRE" until the table is rebuilt; in a real terminal
this happens at random. Measuring here and giving the columns explicit widths leaves nothing to
idle.
"""

from __future__ import annotations

from collections.abc import Sequence

from rich.text import Text
from textual.widgets import DataTable

from ucterm.tui.widgets.common.safe import safe

Cell = Text | str


def _width(cell: Cell) -> int:
    return (cell if isinstance(cell, Text) else Text(cell)).cell_len


def fill(table: DataTable[Cell], columns: Sequence[tuple[str, str]], rows: Sequence[tuple[str, Sequence[Cell]]],
         *, fixed: dict[str, int] | None = None) -> None:
    """Replace the table's columns and rows: `columns` are (label, key), `rows` are (key, cells).

    A column in `fixed` keeps that width (its cells change later, e.g. a step's state); every other
    is as wide as its widest cell or label.
    """
    fixed = fixed or {}
    # Cells quote nodes, certificates and the inventory: their control characters are shown, not obeyed.
    rows = [(key, [safe(cell) for cell in cells]) for key, cells in rows]
    widths = [fixed.get(key) or max([_width(label), *(_width(cells[i]) for _, cells in rows)])
              for i, (label, key) in enumerate(columns)]
    table.clear(columns=True)
    for (label, key), width in zip(columns, widths, strict=True):
        table.add_column(label, key=key, width=width)
    for key, cells in rows:
        table.add_row(*cells, key=key)
