"""A hostile `admin:` shell on loopback: the ways a VOS CLI's output can mislead a client.

Like VOS (§1.1) it logs in by keyboard-interactive `Password:` only, prints the start-up
banner, writes `ESC[K` before each `admin:` prompt and echoes what is typed. What it prints
for each command is a script the test gives: floods of output, a prompt-looking line in the
middle of a certificate followed by a pause, text after the prompt, escape sequences. Every
loop is bounded (commands per session, bytes per flood, characters per line).

`echo="on_read"` echoes typed characters when the CLI reads them, as the lab and a terminal in
canonical mode do; `echo="on_receipt"` echoes at once, as a line editor that reads ahead does.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Literal

import asyncssh

PROMPT = "\x1b[Kadmin:"
PASSWORD = "Hostile-Pa55!"
MAX_COMMANDS = 2000
MAX_LINE = 4096

Handler = Callable[["Term"], Awaitable[None]]


class Term:
    """What a command handler writes to."""

    def __init__(self, process: asyncssh.SSHServerProcess[str]) -> None:
        self._process = process

    def write(self, text: str) -> None:
        self._process.stdout.write(text)

    async def drain(self) -> None:
        await self._process.stdout.drain()

    async def pause(self, seconds: float) -> None:
        await self.drain()
        await asyncio.sleep(seconds)


def lines(*text: str) -> Handler:
    """A handler printing `text` as CRLF lines."""

    async def handler(t: Term) -> None:
        for line in text:
            t.write(line + "\r\n")

    return handler


def flood(total: int, line: str = "x" * 79, *, newline: bool = True) -> Handler:
    """`total` characters of output in 64 KiB writes (one long line when `newline` is False)."""

    async def handler(t: Term) -> None:
        unit = (line + "\r\n") if newline else line
        block = unit * max(1, 65536 // len(unit))
        sent = 0
        while sent < total:
            part = block[: total - sent]
            t.write(part)
            sent += len(part)
            await t.drain()
        if not newline:
            t.write("\r\n")

    return handler


@dataclass
class Script:
    commands: dict[str, Handler] = field(default_factory=dict)
    echo: Literal["on_read", "on_receipt"] = "on_read"
    #: What every session received, command by command (empty lines included).
    received: list[str] = field(default_factory=list)
    sessions: int = 0


class _Server(asyncssh.SSHServer):
    def begin_auth(self, username: str) -> bool:
        return True

    def password_auth_supported(self) -> bool:
        return False

    def kbdint_auth_supported(self) -> bool:
        return True

    def get_kbdint_challenge(self, username: str, lang: str,
                             submethods: str) -> tuple[str, str, str, list[tuple[str, bool]]]:
        return "", "", "", [("Password: ", False)]

    def validate_kbdint_response(self, username: str, responses: list[str]) -> bool:  # type: ignore[override]
        return list(responses) == [PASSWORD]


class _Shell:
    """One session: reads characters, echoes them per `Script.echo`, runs the script."""

    def __init__(self, script: Script, process: asyncssh.SSHServerProcess[str]) -> None:
        self.script = script
        self.process = process
        self.term = Term(process)
        self.queue: asyncio.Queue[str | None] = asyncio.Queue()

    async def _reader(self) -> None:
        """on_receipt: echo each line as it arrives and queue it for the CLI to read later."""
        buffer = ""
        try:
            for _ in range(MAX_COMMANDS * 4):
                chunk = await self.process.stdin.read(1024)
                if not chunk:
                    break
                for ch in chunk:
                    if ch in "\r\n":
                        self.term.write("\r\n")
                        await self.queue.put(buffer)
                        buffer = ""
                    elif len(buffer) < MAX_LINE:
                        self.term.write(ch)
                        buffer += ch
        except (asyncssh.Error, ConnectionError, BrokenPipeError):
            pass
        await self.queue.put(None)

    async def _read_line_on_read(self) -> str | None:
        chars: list[str] = []
        for _ in range(MAX_LINE):
            ch = await self.process.stdin.read(1)
            if not ch:
                return None
            if ch in "\r\n":
                self.term.write("".join(chars) + "\r\n")
                return "".join(chars)
            chars.append(ch)
        return "".join(chars)

    async def read_line(self) -> str | None:
        if self.script.echo == "on_receipt":
            return await self.queue.get()
        return await self._read_line_on_read()

    async def run(self) -> None:
        self.script.sessions += 1
        reader = asyncio.ensure_future(self._reader()) if self.script.echo == "on_receipt" else None
        w = self.term.write
        try:
            w("Command Line Interface is starting up, please wait ...\r\n")
            w("\r\n   Welcome to the Platform Command Line Interface\r\n\r\n")
            for _ in range(MAX_COMMANDS):
                w(PROMPT)
                line = await self.read_line()
                if line is None:
                    break
                command = line.strip()
                self.script.received.append(command)
                if not command:
                    continue
                if command == "set cli pagination off":
                    w("\r\nAutomatic pagination is turned off\r\n\r\n")
                    continue
                handler = self.script.commands.get(command)
                if handler is None:
                    w(f"Executed command unsuccessfully\r\nInvalid command: {command}\r\n\r\n")
                    continue
                await handler(self.term)
                w("\r\n")
        except (asyncssh.Error, ConnectionError, BrokenPipeError):
            pass
        finally:
            if reader is not None:
                reader.cancel()
                with contextlib.suppress(asyncio.CancelledError, Exception):
                    await reader
            with contextlib.suppress(Exception):
                self.process.exit(0)


async def start(script: Script, host_key: asyncssh.SSHKey) -> asyncssh.SSHAcceptor:
    return await asyncssh.create_server(
        _Server, "127.0.0.1", 0, server_host_keys=[host_key], line_editor=False,
        process_factory=lambda p: _Shell(script, p).run(), encoding="utf-8",
    )


def port_of(server: asyncssh.SSHAcceptor) -> int:
    return int(server.sockets[0].getsockname()[1])


def certificate_output(pem: str) -> Handler:
    """What `show cert own <unit>` prints (§1.6): a few detail lines, then the PEM block."""
    return lines("[", "  Version: V3", "  SignatureAlgorithm: SHA256withRSA (1.2.840.113549.1.1.11)", "]",
                 *pem.strip().splitlines())


def interrupted(before: Handler, after: Handler, *, pause: float, fake: str = PROMPT) -> Handler:
    """`before`, then a line that looks like the prompt and a pause, then `after`: what a
    description or a broadcast holding `admin:` does to a client that trusts the first prompt."""

    async def handler(t: Term) -> None:
        await before(t)
        t.write(fake)
        await t.pause(pause)
        t.write("\r\n")
        await after(t)

    return handler
