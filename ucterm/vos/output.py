"""One CLI command's output as it arrives: cleaned once, searched only where it is new.

The shell driver (:mod:`ucterm.vos.shell`) reads a command's output in chunks (VOS sends about a
packet per line) and after each chunk asks: does the output end with the `admin:` prompt, a
pager or a question, did a dialog prompt appear, has the command's echo arrived? Asking that of
the whole accumulated output made reading quadratic (16 MB of output took 102 s on the event
loop every node shares). Here each complete line is cleaned once, classified once (prompt,
blank, content) and handed to each search once; only the unfinished last line is looked at
again on every chunk, and a line longer than :data:`MAX_LINE` is cut so that even that is
bounded. The whole text is joined once, when the command is over.

The trailing run of prompt lines is counted as lines arrive: the driver ends a command only when
the CLI answered its end-of-output check with a second prompt (see the shell), so it must know
how many prompts the output ends with and whether other text came in between.
"""

from __future__ import annotations

import re

from ucterm.vos import text as vtext

__all__ = ["MAX_LINE", "CommandOutput", "Cursor", "OutputLimit"]

#: An unfinished line longer than this is cut into a line of its own. No VOS line is near it (a
#: `show cert list` row is about 150 characters); without the cut, a node writing one endless
#: line would have it cleaned again on every chunk.
MAX_LINE = 64 * 1024

#: A line made of `admin:` prompts only (`admin:admin:` is two prompts: the echo of an empty line
#: arrived before the prompt that answered it). §1.1 [VERIFIED: C-unicon patterns.py] `admin:`.
_PROMPTS_RE = re.compile(r"(?:admin:[ \t]*)+")


class OutputLimit(Exception):
    """The command printed more than the limit; raised by :meth:`CommandOutput.feed`."""


class Cursor:
    """A place in the cleaned output from which one kind of search continues.

    `line` indexes the complete lines (`len(lines)` means the unfinished last line), `column`
    the character in that line.
    """

    __slots__ = ("column", "line")

    def __init__(self, line: int = 0, column: int = 0) -> None:
        self.line = line
        self.column = column


class CommandOutput:
    """The cleaned output of one command, built incrementally (see the module docstring)."""

    def __init__(self, limit: int) -> None:
        self.limit = limit
        #: Raw characters received.
        self.size = 0
        self._lines: list[str] = []
        self._raw_tail = ""
        self._tail = ""
        #: The unfinished line is the rest of a line cut at MAX_LINE: it does not start a terminal line.
        self._tail_continues = False
        #: Prompts in the trailing run of complete lines that hold only prompts or nothing.
        self._run = 0
        #: Counts the lines of other text than prompts: "did anything but prompts arrive since?"
        self.content_seq = 0

    # ---- feeding ----------------------------------------------------------------------------

    def feed(self, data: str) -> None:
        """Add a chunk as read from the channel; :class:`OutputLimit` past `limit` characters."""
        self.size += len(data)
        if self.size > self.limit:
            raise OutputLimit()
        if "\n" in data:
            first, *middle, last = (self._raw_tail + data).split("\n")
            self._add(first, self._tail_continues)
            self._tail_continues = False
            for raw in middle:
                self._add(raw, False)
            self._raw_tail = last
        else:
            self._raw_tail += data
        while len(self._raw_tail) > MAX_LINE:
            self._add(self._raw_tail[:MAX_LINE], self._tail_continues)
            self._raw_tail = self._raw_tail[MAX_LINE:]
            self._tail_continues = True
        self._tail = vtext.clean(self._raw_tail)

    def _add(self, raw: str, continues: bool) -> None:
        line = vtext.clean_line(raw)
        self._lines.append(line)
        stripped = line.strip()
        if not stripped:
            return
        if not continues and _PROMPTS_RE.fullmatch(stripped):
            self._run += stripped.count("admin:")
        else:
            self.content_seq += 1
            self._run = 0

    # ---- questions the driver asks after each chunk -------------------------------------------

    @property
    def tail(self) -> str:
        """The unfinished last line, cleaned (where a prompt, a pager or a question waits)."""
        return self._tail

    def ends_with_prompt(self) -> bool:
        """The output ends with the `admin:` prompt at the start of a line (one or more of them)."""
        return not self._tail_continues and _PROMPTS_RE.fullmatch(self._tail.strip() or "-") is not None

    def trailing_prompts(self) -> int:
        """How many prompts the output ends with, blank lines between them allowed."""
        tail = self._tail.strip()
        if not tail:
            return self._run
        if self._tail_continues or not _PROMPTS_RE.fullmatch(tail):
            return 0
        return self._run + tail.count("admin:")

    def cursor_here(self) -> Cursor:
        """A cursor at the current end of the output."""
        return Cursor(len(self._lines), len(self._tail))

    def cursor_at_line_start(self) -> Cursor:
        """A cursor at the start of the current last line."""
        return Cursor(len(self._lines), 0)

    def take(self, cursor: Cursor) -> str:
        """The text from `cursor` to the end, and move the cursor past what will not change.

        Complete lines are final, so the cursor moves past them; the unfinished last line may still
        grow, so it is returned again next time.
        """
        lines = self._lines
        if cursor.line < len(lines):
            parts = [lines[cursor.line][cursor.column:], *lines[cursor.line + 1:], self._tail]
            cursor.line, cursor.column = len(lines), 0
            return "\n".join(parts)
        return self._tail[cursor.column:]

    def end_from(self, cursor: Cursor) -> str:
        """The last complete line and the unfinished one, but nothing before `cursor`."""
        lines = self._lines
        if cursor.line >= len(lines):
            return self._tail[cursor.column:]
        last = lines[-1][cursor.column:] if cursor.line == len(lines) - 1 else lines[-1]
        return last + "\n" + self._tail

    def text(self) -> str:
        """The whole cleaned output (joined once, when the command is over)."""
        return "\n".join([*self._lines, self._tail])
