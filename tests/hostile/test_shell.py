"""The CLI's output stays tied to the command that was typed, and bounded, whatever a node prints.

Each test starts the hostile `admin:` shell (tests/hostile/sshd.py) on loopback; both echo
styles run, since a prompt-looking line must not end a command whichever way the CLI echoes.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from pathlib import Path

import asyncssh
import pytest

from tests.hostile import sshd
from tests.hostile.certs import make_cert, pem
from ucterm.credentials import Secret
from ucterm.events import Event, NodeNotice, TranscriptLine
from ucterm.vos import hostkeys
from ucterm.vos.commands import VosCli
from ucterm.vos.errors import OutputTooLarge, SessionDropped
from ucterm.vos.shell import ShellOptions, SshEndpoint, VosShell

HOST_KEY = asyncssh.generate_private_key("ssh-ed25519")
NODE = "hostile1.lab.example"
TOMCAT = make_cert("tomcat.hostile.example", 99, serial=99)
CALLMANAGER = make_cert("callmanager.hostile.example", 4, serial=4)


@dataclass
class Harness:
    script: sshd.Script
    port: int
    folder: Path
    events: list[Event] = field(default_factory=list)

    def shell(self, **options: float) -> VosShell:
        known = self.folder / "known_hosts"
        hostkeys.accept_host_key(known, NODE, self.port, HOST_KEY, address="127.0.0.1")
        settings: dict[str, float] = {"banner_timeout": 5, "command_timeout": 10, "nudge_after": 1,
                                      "end_check_grace": 0.3, **options}
        opts = ShellOptions(**settings)  # type: ignore[arg-type]
        return VosShell(SshEndpoint(NODE, "127.0.0.1", self.port, "admin", known),
                        lambda: Secret(sshd.PASSWORD), options=opts, sink=self.events.append)

    def notices(self) -> list[str]:
        return [e.message for e in self.events if isinstance(e, NodeNotice)]


@pytest.fixture(params=["on_read", "on_receipt"])
async def hostile(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[Harness]:
    script = sshd.Script(echo=request.param)
    server = await sshd.start(script, HOST_KEY)
    try:
        yield Harness(script, sshd.port_of(server), tmp_path)
    finally:
        server.close()


async def test_a_fake_prompt_and_a_pause_inside_output_do_not_end_the_command(hostile: Harness) -> None:
    """The issue's case: tomcat's output holds `admin:` and a pause; CallManager must get its own."""
    hostile.script.commands["show cert own tomcat"] = sshd.interrupted(
        sshd.lines("[", "  Version: V3", "  Description:"), sshd.certificate_output(pem(TOMCAT)), pause=1.0)
    hostile.script.commands["show cert own CallManager"] = sshd.certificate_output(pem(CALLMANAGER))
    shell = hostile.shell()
    cli = VosCli(shell)
    assert await cli.cert_own("tomcat") == TOMCAT
    assert await cli.cert_own("CallManager") == CALLMANAGER
    assert await cli.cert_own("tomcat") == TOMCAT
    assert shell.connect_count == 1
    await shell.close()


async def test_a_fake_prompt_at_the_end_of_a_certificate_leaves_the_next_command_alone(hostile: Harness) -> None:
    """The fake prompt comes after the PEM: the first command is whole either way, the rest (the
    real end) must not become the start of the next command's output."""
    hostile.script.commands["show cert own tomcat"] = sshd.interrupted(
        sshd.certificate_output(pem(TOMCAT)), sshd.lines("Certificate shown by the hostile CLI"), pause=1.0)
    hostile.script.commands["show cert own CallManager"] = sshd.certificate_output(pem(CALLMANAGER))
    shell = hostile.shell()
    out = await shell.run("show cert own tomcat")
    assert out.rstrip().endswith("Certificate shown by the hostile CLI")
    assert await VosCli(shell).cert_own("CallManager") == CALLMANAGER
    await shell.close()


async def test_output_after_the_prompt_means_a_new_session_not_a_wrong_answer(hostile: Harness) -> None:
    """Text that arrives after a command ended is nobody's output: the next command is typed on a
    new session instead of taking it as its own."""

    async def late(t: sshd.Term) -> None:
        t.write("first\r\n")
        # Written while the CLI sits at its prompt, as a broadcast or a stray background job would.
        asyncio.get_running_loop().call_later(0.5, t.write, "\r\nlate text nobody asked for\r\n")

    hostile.script.commands["show first"] = late
    hostile.script.commands["show second"] = sshd.lines("second")
    shell = hostile.shell()
    assert (await shell.run("show first")).strip() == "first"
    await asyncio.sleep(1.0)  # the late text arrives between the commands
    assert (await shell.run("show second")).strip() == "second"
    assert shell.connect_count == 2
    assert any("output arrived after the previous command had ended" in n for n in hostile.notices())
    await shell.close()


async def test_output_that_never_settles_is_given_up_not_guessed(hostile: Harness) -> None:
    """Prompt, pause, more output, again and again: after a few end-of-output checks the output
    cannot be tied to the command, and the command fails (it is not half-returned)."""

    async def restless(t: sshd.Term) -> None:
        for i in range(8):
            t.write(f"part {i}\r\n" + sshd.PROMPT)
            await t.pause(0.5)
            t.write("\r\n")

    hostile.script.commands["show restless"] = restless
    shell = hostile.shell(max_end_checks=3)
    with pytest.raises(SessionDropped) as caught:
        await shell.run("show restless")
    assert "could not be tied" in " ".join(hostile.notices())
    assert "show restless" in str(caught.value)
    await shell.close()


@pytest.mark.parametrize("newline", [True, False])
async def test_one_command_s_output_is_capped(hostile: Harness, newline: bool) -> None:
    hostile.script.commands["show flood"] = sshd.flood(3 * 1024 * 1024, newline=newline)
    hostile.script.commands["show version active"] = sshd.lines("Active Master Version: 12.5.1.16900-48")
    shell = hostile.shell(max_output=1024 * 1024)
    started = time.monotonic()
    with pytest.raises(OutputTooLarge) as caught:
        await shell.run("show flood")
    assert time.monotonic() - started < 5
    assert "more than 1,048,576 characters" in str(caught.value)
    # The session was closed; the next command works on a new one.
    assert "12.5.1.16900-48" in await shell.run("show version active")
    assert shell.connect_count == 2
    await shell.close()


async def test_reading_16_mb_is_linear(hostile: Harness) -> None:
    """16 MB of output took 102 s before output was searched incrementally (bench/cli_output.py)."""
    if hostile.script.echo != "on_read":
        pytest.skip("one echo style is enough for a timing")
    hostile.script.commands["show flood"] = sshd.flood(16 * 1024 * 1024)
    shell = hostile.shell(max_output=32 * 1024 * 1024, command_timeout=60)
    await shell.run("show cli")  # log in first
    started = time.monotonic()
    out = await shell.run("show flood")
    elapsed = time.monotonic() - started
    assert len(out) > 16_000_000
    assert elapsed < 20, elapsed  # about 2 s on a shared 2-core machine
    await shell.close()


async def test_a_long_line_in_the_transcript_is_cut(hostile: Harness) -> None:
    hostile.script.commands["show line"] = sshd.flood(200_000, newline=False)
    shell = hostile.shell()
    out = await shell.run("show line")
    assert len(out) >= 200_000
    lines = [e.text for e in hostile.events if isinstance(e, TranscriptLine) and e.direction == "received"]
    longest = max(lines, key=len)
    assert len(longest) < 5000 and "more characters on this line" in longest
    await shell.close()
