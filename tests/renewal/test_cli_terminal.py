"""Headless commands with a person at a real terminal (a pty, through pexpect): questions on the
controlling terminal when stderr is a log file, declining a question, and Ctrl+C at a `[y/N]` prompt."""

from __future__ import annotations

import asyncio
import os
import shlex
import sys
import time
from pathlib import Path
from typing import TYPE_CHECKING

import pexpect
import pytest

from ucterm.renewal import Journal

if TYPE_CHECKING:
    from .conftest import LabRig

PUB125 = "cucm125-pub.lab.example"
pytestmark = pytest.mark.timeout(120)


def spawn(lab: LabRig, args: str, log: Path) -> pexpect.spawn:
    """`ucterm ARGS 2>LOG` on a pty that is its controlling terminal (stdin and stdout are the pty)."""
    command = (f"exec {shlex.quote(sys.executable)} -m ucterm --inventory {shlex.quote(str(lab.inventory_path))} "
               f"{args} 2>{shlex.quote(str(log))}")
    return pexpect.spawn("/bin/sh", ["-c", command], env={**os.environ, "NO_COLOR": "1"}, encoding="utf-8",
                         timeout=60, dimensions=(24, 200))


async def ended(child: pexpect.spawn, within: float) -> int:
    start = time.monotonic()
    while child.isalive():
        if time.monotonic() - start > within:
            child.terminate(force=True)
            raise AssertionError(f"ucterm did not end within {within:g} s")
        await asyncio.sleep(0.05)
    child.close()
    return child.exitstatus if child.exitstatus is not None else -(child.signalstatus or 0)


async def test_questions_go_to_the_terminal_when_stderr_is_a_file_and_no_is_one_paused_state(
        lab: LabRig, tmp_path: Path) -> None:
    log = tmp_path / "renew.log"
    # --confirm-each: the step asks itself (else the one confirmation before the run answers it).
    child = spawn(lab, f"renew --cluster branch --unit CallManager --node {PUB125} --lab-ca --confirm-each", log)
    await child.expect(r"Upload the new CallManager certificate on \S+\? .*\[y/N\] ", async_=True)
    child.sendline("n")
    assert await ended(child, 30) == 4  # waiting for the user's approval (design.md §3: 4)
    text = log.read_text()
    assert "no terminal to ask on" not in text and "Traceback" not in text
    assert "FAILED" not in text and "aborted" not in text and "fix what the failed step says" not in text
    job = next(line.split()[2] for line in text.splitlines() if line.startswith("ucterm: job "))
    assert f"job {job}: paused (you declined step" in text
    assert f"`ucterm resume {job}` asks again" in child.before + text

    # Ctrl+C at the question ends ucterm at once, and says how to go on.
    log2 = tmp_path / "resume.log"
    child = spawn(lab, f"resume {job}", log2)
    await child.expect(r"Upload the new CallManager certificate .*\[y/N\] ", async_=True)
    asked = time.monotonic()
    child.sendintr()
    await child.expect(rf"ucterm resume {job}", async_=True)  # on the terminal, though stderr is a file
    assert await ended(child, 5) == 130
    assert time.monotonic() - asked < 5
    assert f"job {job} keeps everything done so far" in log2.read_text()
    assert lab.counts.identity == {}
    assert Journal.open(job).summary().status == "interrupted"


async def test_without_any_terminal_the_refusal_reaches_the_stream_a_person_sees(lab: LabRig) -> None:
    """No controlling terminal (its own session), stderr a pipe, stdout a terminal: the refusal is
    said on stdout too, not only in a log nobody reads."""
    import pty

    master, slave = pty.openpty()
    try:
        proc = await asyncio.create_subprocess_exec(
            sys.executable, "-m", "ucterm", "--inventory", str(lab.inventory_path), "renew", "--cluster", "branch",
            "--unit", "CallManager", stdin=asyncio.subprocess.DEVNULL, stdout=slave,
            stderr=asyncio.subprocess.PIPE, start_new_session=True)
        _, err = await asyncio.wait_for(proc.communicate(), 30)
        os.close(slave)
        slave = -1
        seen = b""
        os.set_blocking(master, False)
        try:
            while chunk := os.read(master, 4096):
                seen += chunk
        except OSError:
            pass
    finally:
        if slave >= 0:
            os.close(slave)
        os.close(master)
    assert proc.returncode == 2
    assert b"no terminal to ask on" in err and b"--yes" in err
    assert b"no terminal to ask on" in seen
    assert not Journal.root().exists() or not list(Journal.root().iterdir())
