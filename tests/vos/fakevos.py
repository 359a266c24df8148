"""A tiny scripted `admin:` shell on loopback, to test the shell driver's mechanics in isolation.

The lab (`ucterm/lab/`) is the faithful simulation; this fake exists so that mechanics the lab
may not exercise on demand (a less-style pager, a question no dialog answers, a prompt that
needs a nudge, keyboard-interactive-only login) are tested directly and quickly.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field

import asyncssh

PROMPT = "\x1b[Kadmin:"
Handler = Callable[[asyncssh.SSHServerProcess], Awaitable[None]]


@dataclass
class FakeConfig:
    auth: str = "password"  # password | kbdint
    password: str = "Secr3t-pw"
    banner_delay: float = 0.0
    prompt_needs_nudge: bool = False
    commands: dict[str, Handler] = field(default_factory=dict)
    received: list[str] = field(default_factory=list)


class _Server(asyncssh.SSHServer):
    def __init__(self, cfg: FakeConfig) -> None:
        self.cfg = cfg

    def begin_auth(self, username: str) -> bool:
        return True

    def password_auth_supported(self) -> bool:
        return self.cfg.auth == "password"

    def validate_password(self, username: str, password: str) -> bool:
        return password == self.cfg.password

    def kbdint_auth_supported(self) -> bool:
        return self.cfg.auth == "kbdint"

    def get_kbdint_challenge(self, username: str, lang: str, submethods: str):  # type: ignore[no-untyped-def]
        return "", "", "", [("Password: ", False)]

    def validate_kbdint_response(self, username: str, responses):  # type: ignore[no-untyped-def]
        return list(responses) == [self.cfg.password]


async def read_key(process: asyncssh.SSHServerProcess) -> str:
    """One key press, without the line editor (pagers and the like)."""
    process.channel.set_line_mode(False)
    process.channel.set_echo(False)
    try:
        return await process.stdin.read(1)
    finally:
        process.channel.set_line_mode(True)
        process.channel.set_echo(True)


async def _session(cfg: FakeConfig, process: asyncssh.SSHServerProcess) -> None:
    w = process.stdout.write
    w("Command Line Interface is starting up, please wait ...\r\n")
    await asyncio.sleep(cfg.banner_delay)
    w("\r\n   Welcome to the Platform Command Line Interface\r\n\r\n")
    if cfg.prompt_needs_nudge:
        await process.stdin.readline()
    try:
        while True:
            w(PROMPT)
            line = await process.stdin.readline()
            if not line:
                break
            command = line.strip()
            cfg.received.append(command)
            if not command:
                continue
            if command == "set cli pagination off":
                w("\r\nAutomatic pagination is turned off\r\n\r\n")
                continue
            handler = cfg.commands.get(command)
            if handler is None:
                w(f"Invalid command: {command}\r\n")
                continue
            await handler(process)
    except (asyncssh.BreakReceived, asyncssh.TerminalSizeChanged, BrokenPipeError, ConnectionError):
        pass
    finally:
        process.exit(0)


async def start(cfg: FakeConfig, host_key: asyncssh.SSHKey) -> asyncssh.SSHAcceptor:
    return await asyncssh.create_server(
        lambda: _Server(cfg),
        "127.0.0.1",
        0,
        server_host_keys=[host_key],
        process_factory=lambda p: _session(cfg, p),
        line_editor=True,
    )


def port_of(server: asyncssh.SSHAcceptor) -> int:
    return int(server.sockets[0].getsockname()[1])
