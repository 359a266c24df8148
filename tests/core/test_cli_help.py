"""Every command explains itself: a description in `--help`, help text on every option, none twice."""

from __future__ import annotations

import argparse
import re
import subprocess
import sys

from ucterm.cli import build_parser


def _commands() -> dict[str, argparse.ArgumentParser]:
    parser = build_parser()
    sub = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction))
    return dict(sub.choices)


def test_every_command_has_a_description_and_every_option_a_help_text() -> None:
    missing: list[str] = []
    for name, parser in _commands().items():
        if not parser.description:
            missing.append(f"{name}: no description")
        for action in parser._actions:
            if isinstance(action, argparse._HelpAction):
                continue
            if not action.help or action.help == argparse.SUPPRESS:
                missing.append(f"{name} {'/'.join(action.option_strings) or action.dest}: no help text")
    assert not missing, missing


def test_no_option_is_listed_twice() -> None:
    for name, parser in _commands().items():
        text = parser.format_help()
        options = text.split("options:", 1)[1]
        listed = [m.group(1) for m in re.finditer(r"^ {2}(?:-\w, )?(--[\w-]+)", options, re.MULTILINE)]
        assert len(listed) == len(set(listed)), (name, listed)


def test_renew_help_in_a_real_process() -> None:
    out = subprocess.run([sys.executable, "-m", "ucterm", "renew", "--help"], capture_output=True, text=True,
                         check=True).stdout
    options = out.split("options:", 1)[1]
    assert options.count("--read-only") == 1
    assert "--cluster C" in options and "the cluster to renew on" in " ".join(options.split())
