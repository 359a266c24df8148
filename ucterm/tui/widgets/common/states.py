"""How a job or step state looks: one glyph, one word, one theme colour, wherever it is shown.

The step table, the run screen's title and the jobs list all draw states from this one table, so
a `⏸ waiting` is the same on every screen and never told by colour alone (style.md).
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class StateLook:
    glyph: str
    word: str
    #: A theme variable (`accent`, `error`, …) without the `$`; None: the muted text colour.
    color: str | None = None

    @property
    def label(self) -> str:
        return f"{self.glyph} {self.word}"

    @property
    def content_style(self) -> str:
        """The colour as a Textual Content style (`$error`, `$text-muted`)."""
        return f"${self.color}" if self.color else "$text-muted"


#: Step states (pending … waiting), job states (running, paused, done, failed, aborted, abandoned, and
#: `interrupted`: the journal says running and no process runs it) and the run screen's own two:
#: `ready` (nothing running yet) and `held` (a step failed, the runner waits).
STATES: dict[str, StateLook] = {
    "pending": StateLook("·", "pending"),
    "ready": StateLook("·", "ready"),
    "running": StateLook("▶", "running", "accent"),
    "paused": StateLook("⏸", "paused", "warning"),
    "waiting": StateLook("⏸", "waiting", "warning"),
    "done": StateLook("✔", "done", "success"),
    "skipped": StateLook("↷", "skipped", "warning"),
    "failed": StateLook("✖", "FAILED", "error"),
    "aborted": StateLook("■", "aborted", "error"),
    "held": StateLook("✖", "step failed: retry, skip or abort", "error"),
    "interrupted": StateLook("↯", "interrupted", "warning"),
    "abandoned": StateLook("∅", "abandoned"),
}


def state_look(state: str) -> StateLook:
    return STATES.get(state) or StateLook("·", state)
