"""Outside text on screen with its control characters made visible, styles kept.

Textual and Rich strip BEL, backspace, VT, FF and CR from what widgets render, but pass ESC and
the C1 controls through to the terminal: a certificate CN holding `ESC ] 52 ; c ; …` would write
the operator's clipboard through the certificate table. Everything the TUI shows from a node, a
file, a CA or the inventory goes through these helpers (or :func:`ucterm.text.visible` for plain
strings), which escape exactly what :func:`ucterm.text.visible` escapes. Styled text (a Rich
`Text` or a Textual `Content` assembled from pieces) is escaped piece by piece, so a CN keeps its
bold and a node name its colour.
"""

from __future__ import annotations

from typing import TypeVar, overload

from rich.text import Span as RichSpan
from rich.text import Text
from textual.content import Content
from textual.content import Span as ContentSpan

from ucterm.text import unsafe_spans, visible

__all__ = ["safe", "visible"]

T = TypeVar("T", Text, Content)


@overload
def safe(value: str, *, lines: bool = False) -> str: ...
@overload
def safe(value: Text, *, lines: bool = True) -> Text: ...
@overload
def safe(value: Content, *, lines: bool = True) -> Content: ...
def safe(value: str | Text | Content, *, lines: bool | None = None) -> str | Text | Content:
    """`value` with control characters shown as escapes (see the module docstring).

    Line feeds and tabs are kept in styled text (a detail pane is lines joined by `\n`) and, with
    `lines=True`, in strings; a string is by default one value on one line (a table cell).
    """
    if isinstance(value, str):
        return visible(value, lines=bool(lines))
    keep = True if lines is None else lines
    cuts = unsafe_spans(value.plain, lines=keep)
    if not cuts:
        return value
    if isinstance(value, Text):
        return _safe_text(value, cuts, keep)
    return _safe_content(value, cuts, keep)


def _offsets(cuts: list[tuple[int, int]]) -> list[int]:
    return sorted({i for start, end in cuts for i in (start, end)})


def _safe_text(text: Text, cuts: list[tuple[int, int]], lines: bool) -> Text:
    out = Text(style=text.style, justify=text.justify, overflow=text.overflow, no_wrap=text.no_wrap, end=text.end)
    for piece in text.divide(_offsets(cuts)):
        shown = visible(piece.plain, lines=lines)
        if shown == piece.plain:
            out.append_text(piece)
        else:
            out.append_text(Text(shown, style=piece.style,
                                 spans=[RichSpan(0, len(shown), s.style) for s in piece.spans]))
    return out


def _safe_content(content: Content, cuts: list[tuple[int, int]], lines: bool) -> Content:
    pieces: list[Content] = []
    for piece in content.divide(_offsets(cuts)):
        shown = visible(piece.plain, lines=lines)
        if shown == piece.plain:
            pieces.append(piece)
        else:
            pieces.append(Content(shown, [ContentSpan(0, len(shown), s.style) for s in piece.spans]))
    return Content("").join(pieces)
