"""Turning what a VOS PTY prints into plain lines.

The VOS CLI writes ANSI sequences (`ESC[K` before the prompt, bold pager prompts: §1.1
[VERIFIED: C-unicon patterns.py]), CRLF line ends, and carriage returns that overwrite a line
(the pager erases its own prompt). Parsers only ever see the output of :func:`clean`, so they can
be written against the plain text the reference quotes.
"""

from __future__ import annotations

import re

#: CSI (`ESC [ ... final`), OSC (`ESC ] ... BEL|ST`) and two-character escapes.
_ANSI_RE = re.compile(r"\x1b\[[0-?]*[ -/]*[@-~]|\x1b\][^\x07\x1b]*(?:\x07|\x1b\\)|\x1b[@-Z\\-_]")
_CTRL_RE = re.compile(r"[\x00-\x07\x0b\x0c\x0e-\x1f\x7f]")
_BACKSPACE_RE = re.compile(r"[^\x08\n]\x08")


def strip_ansi(text: str) -> str:
    """Remove ANSI escape sequences (colours, bold, erase-line) and stray control characters."""
    text = _ANSI_RE.sub("", text)
    while "\x08" in text:
        new = _BACKSPACE_RE.sub("", text)
        if new == text:
            text = text.replace("\x08", "")
            break
        text = new
    return _CTRL_RE.sub("", text)


_TOKEN_RE = re.compile(
    r"(\r|\x08|\x1b\[[0-2]?K|\x1b\[[0-?]*[ -/]*[@-~]|\x1b\][^\x07\x1b]*(?:\x07|\x1b\\)|\x1b[@-Z\\-_])"
)


def _render(line: str) -> str:
    """What a terminal shows for one line: `\\r` returns to column 0, text overwrites, `ESC[K` erases
    to the end of the line (VOS writes it before the prompt and to erase its pager prompt), `ESC[2K`
    clears the line, backspace moves left; other escape sequences are dropped."""
    if "\r" not in line and "\x1b" not in line and "\x08" not in line:
        return _CTRL_RE.sub("", line)
    shown: list[str] = []
    cursor = 0
    for token in _TOKEN_RE.split(line):
        if not token:
            continue
        if token == "\r":
            cursor = 0
        elif token == "\x08":
            cursor = max(0, cursor - 1)
        elif token in ("\x1b[K", "\x1b[0K"):
            del shown[cursor:]
        elif token == "\x1b[2K":
            shown = [" "] * cursor
        elif token == "\x1b[1K":
            shown[:cursor] = [" "] * min(cursor, len(shown))
        elif token.startswith("\x1b"):
            continue
        else:
            token = _CTRL_RE.sub("", token)
            if cursor > len(shown):
                shown.extend(" " * (cursor - len(shown)))
            shown[cursor : cursor + len(token)] = token
            cursor += len(token)
    return "".join(shown)


def clean(text: str) -> str:
    """Plain text with `\\n` line ends, as a terminal would show it: escape sequences applied and
    removed, carriage-return overwrites applied, trailing spaces dropped."""
    text = text.replace("\r\n", "\n")
    return "\n".join(_render(line).rstrip() for line in text.split("\n"))


def clean_line(line: str) -> str:
    """:func:`clean` of one line (no `\n` in it), for text that arrives line by line.

    The carriage returns that end a CRLF line change nothing on screen, so they are dropped before
    rendering: most lines then take the fast path.
    """
    return _render(line.rstrip("\r")).rstrip()


def lines(text: str) -> list[str]:
    """The non-empty, cleaned lines of `text`."""
    return [ln for ln in clean(text).split("\n") if ln.strip()]


_PEM_BLOCK_RE = re.compile(r"-----BEGIN ([A-Z0-9 ]+)-----(.*?)-----END \1-----", re.DOTALL)


def pem_blocks(text: str, kinds: tuple[str, ...] | None = None) -> list[tuple[str, str]]:
    """`(label, normalised PEM)` for each armoured block in `text`.

    VOS wraps long lines and may insert CR/ANSI inside the block (§1.4 [INFERRED]); the base64
    body is rebuilt from its characters alone, in 64-character lines, so the result always
    parses if the content is intact.
    """
    out: list[tuple[str, str]] = []
    for m in _PEM_BLOCK_RE.finditer(clean(text)):
        label = m.group(1).strip()
        if kinds is not None and label not in kinds:
            continue
        body = re.sub(r"[^A-Za-z0-9+/=]", "", m.group(2))
        wrapped = "\n".join(body[i : i + 64] for i in range(0, len(body), 64))
        out.append((label, f"-----BEGIN {label}-----\n{wrapped}\n-----END {label}-----\n"))
    return out
