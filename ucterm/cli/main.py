"""`ucterm`'s entry point: parse, run the command's handler, turn errors into one sentence.

Every handler returns an exit code; a :class:`~ucterm.errors.UctermError` becomes its sentence
on stderr and its exit code, never a traceback.
"""

from __future__ import annotations

import importlib
import os
import sys
from collections.abc import Sequence

from ucterm.cli.parser import build_parser

__all__ = ["HANDLERS", "main"]

#: command -> "module:function" that takes the parsed namespace and returns an exit code.
HANDLERS: dict[str, str] = {
    "tui": "ucterm.tui.launch:run_tui",
    "demo": "ucterm.tui.launch:run_demo",
    "scan": "ucterm.cli.scan:run",
    "check": "ucterm.cli.check:run",
    "renew": "ucterm.cli.renew:run_renew",
    "resume": "ucterm.cli.renew:run_resume",
    "jobs": "ucterm.cli.renew:run_jobs",
    "lab": "ucterm.cli.lab:run",
    "info": "ucterm.cli.info:run",
    "report": "ucterm.cli.report:run",
}


def main(argv: Sequence[str] | None = None) -> int:
    from ucterm.errors import UctermError

    argv = list(sys.argv[1:] if argv is None else argv)
    parser = build_parser()
    args = parser.parse_args(argv)
    if args.command is None:
        args.command = "tui"
    module_name, func_name = HANDLERS[args.command].split(":")
    try:
        handler = getattr(importlib.import_module(module_name), func_name)
        return int(handler(args) or 0)
    except UctermError as exc:
        # The sentence may quote a node, a file or a CA: never their control characters (ucterm.text).
        from ucterm.text import visible

        print(f"ucterm: {visible(str(exc), lines=True)}", file=sys.stderr)
        return exc.exit_code
    except KeyboardInterrupt:
        print("ucterm: interrupted.", file=sys.stderr)
        return 130
    except BrokenPipeError:
        # stdout closed early (e.g. `ucterm scan --json | head`): not an error worth a traceback.
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 0
    except OSError as exc:
        # A folder or file ucterm itself needs (state, jobs, config) cannot be used: one sentence, no
        # traceback. Journaled work is already on disk record by record, so nothing done is lost.
        from ucterm.text import visible

        where = f" {visible(str(exc.filename))}" if exc.filename else ""
        print(f"ucterm: cannot use{where}: {exc.strerror or exc}; check its permissions and free space, "
              "or set UCTERM_HOME to a writable folder.", file=sys.stderr)
        return 3
