"""`ucterm report JOB [--format md|html] [--output F]`: a job's change record (design.md §3).

Reads the job folder only (no inventory, no node): the record can be made after the fact, on
another machine, from a copy of the folder. stdout carries the record and nothing else.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import TextIO

from ucterm.errors import UctermError
from ucterm.files import atomic_write
from ucterm.renewal.journal import Journal, JournalError
from ucterm.renewal.report import build, render

__all__ = ["run"]


class ReportError(UctermError):
    exit_code = 3


def run(args: argparse.Namespace, *, out: TextIO | None = None) -> int:
    try:
        job = Journal.open(args.job)
    except JournalError as exc:  # no such job, or its folder cannot be read: the report could not run
        raise ReportError(str(exc)) from None
    text = render(build(job), args.format)
    target: Path | None = getattr(args, "output", None)
    if target is None:
        (out or sys.stdout).write(text)
        return 0
    try:
        atomic_write(target, text.encode("utf-8"))
    except OSError as exc:
        raise ReportError(f"cannot write the report to {target} ({exc.strerror or exc}); check that its folder "
                          "exists and is writable.") from None
    print(f"ucterm: the change record of job {job.id} is in {target}", file=sys.stderr)
    return 0
