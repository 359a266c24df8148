"""Text from outside ucterm made safe to put on a terminal.

A certificate's CN, a node's error message, a line of CLI output, a file name or an inventory
name can hold any character. Written raw, `ESC ] 52` writes the operator's clipboard, `ESC [ 2J`
clears the screen, `ESC ] 0` retitles the window and the C1 forms (U+009B CSI, U+009D OSC) do
the same on terminals that honour 8-bit controls. Rich and Textual strip a few controls (BEL,
backspace, CR) but pass ESC and C1 through, so nothing downstream can be relied on.

:func:`visible` is the one place that decides how such characters look: as `\\x1b`-style
escapes, so an operator still sees that something odd was there (a CN that silently lost
characters would be a lie of its own). Every human output (the scan table, `check`, the renewal
transcript, stored transcripts, `ucterm jobs`, error sentences, the TUI) shows outside text
through it; JSON output is escaped by the JSON encoder instead.
"""

from __future__ import annotations

import re

__all__ = ["clip", "unsafe_spans", "visible"]

#: C0 controls, DEL, C1 controls, and the bidirectional overrides and isolates that make a
#: terminal show text in another order than it is stored ("Trojan Source", CVE-2021-42574),
#: plus the Unicode line and paragraph separators that some terminals treat as line breaks.
_UNSAFE = re.compile("[\x00-\x1f\x7f-\x9f\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069\u2028\u2029]")
#: The same without line feed and tab: for multi-line text (a transcript, a stored log).
_UNSAFE_KEEP_LINES = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069\u2028\u2029]")
_UNSAFE_RUN = re.compile(f"(?:{_UNSAFE.pattern})+")
_UNSAFE_RUN_KEEP_LINES = re.compile(f"(?:{_UNSAFE_KEEP_LINES.pattern})+")


def _escape(match: re.Match[str]) -> str:
    code = ord(match.group(0))
    return f"\\x{code:02x}" if code <= 0xFF else f"\\u{code:04x}"


def visible(text: str, *, lines: bool = False) -> str:
    """`text` with every control character shown as an escape (`\\x1b`, `\\x9b`, `\\u202e`).

    By default line feeds and tabs are escaped too, so a value stays on its one line of a
    table; `lines=True` keeps them, for text that is meant to span lines.
    """
    pattern = _UNSAFE_KEEP_LINES if lines else _UNSAFE
    return pattern.sub(_escape, text)


def unsafe_spans(text: str, *, lines: bool = False) -> list[tuple[int, int]]:
    """Where :func:`visible` (with the same `lines`) would change `text`: each run of control characters."""
    return [m.span() for m in (_UNSAFE_RUN_KEEP_LINES if lines else _UNSAFE_RUN).finditer(text)]


def clip(text: str, limit: int) -> str:
    """`text` cut to about `limit` characters, saying how much was left out.

    A node that answers with a megabyte of text must not turn its one-line error into a
    megabyte on the operator's screen, in the JSON output and in every journal record.
    """
    if len(text) <= limit:
        return text
    return f"{text[:limit]}… ({len(text) - limit:,} more characters)"
