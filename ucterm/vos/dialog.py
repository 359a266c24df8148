"""What the VOS shell may print while a command runs, and how each command answers it.

A command that asks questions carries an explicit :class:`Dialog`: the prompts it may show and
the answer to each. The shell driver answers only those; any other question (`(yes|no)?`,
`(y/n)?`, a paste request) stops the command with an error naming the question, because
guessing an answer on an appliance is how certificates get overwritten.

Pager prompts are answered for every command: pagination is turned off at login, but the pager
can still appear (§1.1 [VERIFIED: C-unicon handles both pagers even after pagination off]).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

#: §1.1 [VERIFIED: C-unicon patterns.py, C-netSSL `promptPattern: 'admin:'`] the CLI prompt, matched
#: at the very end of the cleaned output, at the start of a line.
PROMPT_RE = re.compile(r"(?:^|\n)admin:[ \t]*\Z")

#: §1.1 [VERIFIED: C-unicon vos_mock_data.yaml] banner lines.
BANNER_STARTING = "Command Line Interface is starting up, please wait"
BANNER_WELCOME = "Welcome to the Platform Command Line Interface"

#: §1.1 [VERIFIED: C-unicon patterns.py] `Press <enter> for 1 line, <space> for one page, or <q> to quit`
#: (bold ANSI around it, removed by cleaning). Answered with a space (one page), as unicon does.
PAGER_MORE_RE = re.compile(r"Press <enter> for 1 line, <space> for one page, or <q> to quit[ \t]*\Z")
#: §1.1 [VERIFIED: C-unicon patterns.py] `options: q=quit, n=next, p=prev, b=begin, e=end (lines N - M of T) :`.
#: Answered with `n`, or `q` on the last page (unicon's paginate()).
PAGER_LESS_RE = re.compile(
    r"options: q=quit, n=next, p=prev, b=begin, e=end \(lines (\d+) - (\d+) of (\d+)\) :[ \t]*\Z"
)
#: Lines to drop from a command's output once the pager was answered.
PAGER_LINE_RE = re.compile(
    r"^\s*(?:Press <enter> for 1 line, <space> for one page, or <q> to quit"
    r"|options: q=quit, n=next, p=prev, b=begin, e=end \(lines \d+ - \d+ of \d+\) :)\s*$"
)

#: Questions VOS asks: §1.1 [VERIFIED: C-unicon statements.py `Continue (y/n)?`], §1.8 [VERIFIED: S-HCMF
#: `(yes|no)?`], §1.7 [VERIFIED: C-certgen `Paste the Certificate and Hit Enter`]. A question at the
#: end of the output that the command's dialog does not answer is an error, never a guess.
QUESTION_RE = re.compile(
    r"(?:\((?:yes\|no|y/n|yes/no)\)\s*\?|\?\s*\((?:yes\|no|y/n)\)|Paste the Certificate and Hit Enter)[^\n]*\Z",
    re.IGNORECASE,
)


@dataclass(frozen=True)
class Step:
    """One prompt a command may show and what to send back.

    `answer` is sent followed by a newline. `source` cites the reference for the prompt text.
    `repeat` lets a step be answered more than once (never needed by today's commands).
    """

    pattern: re.Pattern[str]
    answer: str
    source: str
    repeat: bool = False


@dataclass(frozen=True)
class Dialog:
    steps: tuple[Step, ...] = ()


NO_DIALOG = Dialog()

#: §1.3 [VERIFIED: C-certgen expects this prompt; S-SEC14SU2] asked by `set csr gen` on 14SU1+.
INCLUDE_OU_RE = re.compile(r"Include OU in CSR \(yes\|no\)\?", re.IGNORECASE)
#: §1.7 [VERIFIED: C-certgen] `.*Paste the Certificate and Hit Enter.*`.
PASTE_RE = re.compile(r"Paste the Certificate and Hit Enter", re.IGNORECASE)
#: §1.8 [VERIFIED: S-HCMF, S-214231] `Proceed with regeneration (yes|no)?`.
PROCEED_REGEN_RE = re.compile(r"Proceed with regeneration \(yes\|no\)\?", re.IGNORECASE)


def csr_gen_dialog(include_ou: bool) -> Dialog:
    return Dialog((Step(INCLUDE_OU_RE, "yes" if include_ou else "no", "§1.3 [VERIFIED: C-certgen, S-SEC14SU2]"),))


def paste_dialog(pem: str) -> Dialog:
    """Send the PEM line by line and an empty line to end the paste (§1.7 [VERIFIED: C-certgen])."""
    body = "\n".join(ln.strip() for ln in pem.strip().splitlines() if ln.strip())
    return Dialog((Step(PASTE_RE, body + "\n", "§1.7 [VERIFIED: C-certgen]"),))


def regen_dialog() -> Dialog:
    return Dialog((Step(PROCEED_REGEN_RE, "yes", "§1.8 [VERIFIED: S-HCMF]"),))
