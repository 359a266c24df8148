"""`ucterm renew` at a terminal asks once, listing the risky steps; `--confirm-each` asks at each.

Run in a pseudo-terminal (a person is there, no --yes), against the lab, answering "y" to every
question and counting them.
"""

from __future__ import annotations

import asyncio
import fcntl
import os
import sys
import termios
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from .conftest import LabRig


def _controlling_terminal() -> None:
    """In the child, after setsid: the pty on stdin becomes its controlling terminal (/dev/tty), where
    ucterm asks its questions, as at a person's shell."""
    fcntl.ioctl(0, termios.TIOCSCTTY, 0)


async def at_a_terminal(lab: LabRig, *args: str, timeout: float = 60) -> tuple[int, str, list[str]]:
    """(exit code, everything the terminal showed, the questions answered "y")."""
    master, slave = os.openpty()
    proc = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "ucterm", "--inventory", str(lab.inventory_path), *args,
        stdin=slave, stdout=asyncio.subprocess.PIPE, stderr=slave, env={**os.environ, "NO_COLOR": "1"},
        start_new_session=True, preexec_fn=_controlling_terminal)
    os.close(slave)
    loop = asyncio.get_running_loop()
    shown = ""
    asked: list[str] = []

    async def read() -> None:
        nonlocal shown
        while True:
            try:
                chunk = await loop.run_in_executor(None, os.read, master, 4096)
            except OSError:  # the terminal's other end closed: ucterm is done
                return
            if not chunk:
                return
            shown += chunk.decode(errors="replace")
            while shown.count("[y/N]") > len(asked):
                question = shown.rsplit("[y/N]", 1)[0].splitlines()[-1]
                asked.append(question)
                os.write(master, b"y\n")

    try:
        await asyncio.wait_for(asyncio.gather(read(), proc.wait()), timeout)
    finally:
        os.close(master)
    return proc.returncode if proc.returncode is not None else -1, shown, asked


async def test_renew_asks_once_listing_the_risky_steps(lab: LabRig) -> None:
    code, shown, asked = await at_a_terminal(lab, "renew", "--cluster", "hq", "--unit", "tomcat", "--multi-server",
                                             "--lab-ca")
    assert code == 0, shown[-3000:]
    assert len(asked) == 1, asked
    assert "Upload the signed tomcat certificate on cucm14-pub" in shown and "Restart" in shown
    assert "approved before the run" in shown


async def test_confirm_each_asks_before_every_risky_step(lab: LabRig) -> None:
    plan = lab.plan("branch", "tomcat")
    risky = [s for s in plan.steps if s.risky]
    code, shown, asked = await at_a_terminal(lab, "renew", "--cluster", "branch", "--unit", "tomcat", "--lab-ca",
                                             "--confirm-each")
    assert code == 0, shown[-3000:]
    assert len(asked) == len(risky), asked
