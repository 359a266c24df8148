"""The command line: help answers without Textual, errors are one sentence."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

COMMANDS = ["tui", "demo", "scan", "check", "renew", "resume", "jobs", "report", "lab", "info"]


def run(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "ucterm", *args], capture_output=True, text=True, timeout=60,
                          env=env)


@pytest.mark.parametrize("command", [None, *COMMANDS])
def test_help_never_imports_textual(command: str | None) -> None:
    argv = ["--help"] if command is None else [command, "--help"]
    code = (
        "import sys, runpy\n"
        f"sys.argv = ['ucterm', *{argv!r}]\n"
        "try:\n"
        "    runpy.run_module('ucterm', run_name='__main__')\n"
        "except SystemExit as e:\n"
        "    assert e.code == 0, e.code\n"
        "bad = [m for m in sys.modules if m == 'textual' or m.startswith('textual.')]\n"
        "assert not bad, bad\n"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    assert "usage: ucterm" in result.stdout


def test_missing_inventory_is_one_sentence(tmp_path: Path) -> None:
    missing = run("scan", "--inventory", str(tmp_path / "none.toml"))
    assert missing.returncode == 3
    assert "Traceback" not in missing.stderr
    assert str(tmp_path / "none.toml") in missing.stderr
    assert len(missing.stderr.strip().splitlines()) == 1


def test_jobs_reads_the_journal_not_the_inventory(tmp_path: Path) -> None:
    """`ucterm jobs` exits 0 (design.md §3) even where the inventory is missing: it lists the journal."""
    listed = run("--inventory", str(tmp_path / "none.toml"), "jobs")
    assert listed.returncode == 0, listed.stderr
    assert "no renewal jobs yet" in (listed.stdout + listed.stderr).lower()
    as_json = run("--inventory", str(tmp_path / "none.toml"), "jobs", "--json")
    assert as_json.returncode == 0, as_json.stderr
    assert as_json.stdout.strip() == "[]"


def test_info_lists_paths() -> None:
    result = run("info")
    assert result.returncode == 0
    for word in ("inventory", "known_hosts", "jobs", "textual"):
        assert word in result.stdout
