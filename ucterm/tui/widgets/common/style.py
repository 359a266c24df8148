"""Status colours from the active theme, always next to a glyph and a word (never colour alone).

Tree and table cells are Rich `Text`, which cannot use theme variables ($error): the colours
are read from the theme here and composited over the background when they carry alpha.
"""

from __future__ import annotations

from functools import lru_cache

from rich.style import Style
from rich.text import Text
from textual.app import App
from textual.color import Color, ColorParseError

from ucterm.scan.model import STATUS_GLYPH, status_label

_STATUS_TO_THEME = {"expired": "error", "critical": "error", "warning": "warning", "ok": "success"}
_STATUS_VAR = {"expired": "$error", "critical": "$error", "warning": "$warning", "ok": "$success"}
#: Under NO_COLOR Textual turns every colour grey (its Monochrome filter): red on black became grey 240
#: on 234, the least readable text on screen for the most urgent status. There the urgent statuses are
#: reverse video (default colours swapped: the strongest contrast a terminal has), a warning is bold in
#: the default colour, and the glyph and word say the rest.
_NO_COLOR_STATUS = {"expired": "bold reverse", "critical": "bold reverse", "warning": "bold", "ok": ""}
URGENT = frozenset({"expired", "critical"})


def theme_color(app: App[object], name: str) -> str | None:
    """A theme colour as an opaque `#rrggbb` (None when the theme has none)."""
    value = app.theme_variables.get(name)
    if value is None:
        raw = getattr(app.current_theme, name, None)
        value = raw if isinstance(raw, str) else None
    if value is None:
        return None
    return _opaque(value, app.theme_variables.get("background", "#000000"))


@lru_cache(maxsize=256)
def _opaque(value: str, background: str) -> str | None:
    """`value` composited over `background`, as `#rrggbb`. Kept: a table of thousands of rows asks
    for the same few colours for every cell, and parsing them was most of building its rows."""
    try:
        color = Color.parse(value)
        if color.a < 1:
            color = Color.parse(background) + color
        return color.hex6
    except ColorParseError:
        return None


def status_style(app: App[object], status: str) -> Style:
    """A status as a Rich style (tree and table cells)."""
    if app.no_color:
        return Style(bold=status in URGENT or status == "warning", reverse=status in URGENT)
    color = theme_color(app, _STATUS_TO_THEME.get(status, "foreground"))
    return Style(color=color, bold=status in URGENT)


def status_markup(status: str, *, no_color: bool) -> str:
    """A status as a Textual Content style (`bold $error`), for bars and panes."""
    if no_color:
        return _NO_COLOR_STATUS.get(status, "")
    return f"bold {_STATUS_VAR[status]}" if status in URGENT else _STATUS_VAR.get(status, "")


def status_cell(app: App[object], status: str, days: int) -> Text:
    """`✖ EXPIRED` / `▲ 12d` in the status colour."""
    return Text(f"{STATUS_GLYPH.get(status, '?')} {status_label(status, days)}", style=status_style(app, status))


def muted(app: App[object]) -> Style:
    color = theme_color(app, "text-muted") or theme_color(app, "foreground-muted")
    return Style(color=color, dim=color is None)


def accent(app: App[object]) -> Style:
    return Style(color=theme_color(app, "accent"), bold=True)


def warning(app: App[object]) -> Style:
    return Style(color=theme_color(app, "warning"))
