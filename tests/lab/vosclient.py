"""A plain SSH client for testing the lab: asyncssh, a PTY, regexes on the raw stream.

Deliberately naive: it knows the VOS texts from the reference (prompt, pagers), not the lab's
code, so the tests check what any client would see.
"""

from __future__ import annotations

import asyncio
import re
from datetime import UTC, datetime

import asyncssh

from ucterm.lab import LabNode

#: The injected "now" of every test estate: certificate dates never drift between runs.
NOW = datetime(2026, 11, 27, 8, 0, tzinfo=UTC)

ANSI = re.compile(r"\x1b\[[0-9;]*[A-Za-z]")
#: §1.1, unicon's prompt regex, anchored at the end of what has been received.
PROMPT = re.compile(r"(?:[\r\n]|\x1b\[K)admin:\s*$")
PAGER_MORE = re.compile(r"\x1b\[1mPress <enter> for 1 line, <space> for one page, or <q> to quit\x1b\[0m$")
PAGER_LESS = re.compile(r"\x1b\[1m\r\noptions: q=quit, n=next, p=prev, b=begin, e=end "
                        r"\(lines (\d+) - (\d+) of (\d+)\) : \x1b\[0m$")


def clean(text: str) -> str:
    """Output as a person reads it: no ANSI codes, `\\n` line ends."""
    return ANSI.sub("", text).replace("\r\n", "\n").replace("\r", "")


class VosClient:
    """An interactive PTY session on a lab node, read with expect-style patterns."""

    def __init__(self, conn: asyncssh.SSHClientConnection, proc: asyncssh.SSHClientProcess[str]) -> None:
        self.conn = conn
        self.proc = proc
        self.buffer = ""
        #: Everything received, raw.
        self.transcript = ""

    @classmethod
    async def open(cls, node: LabNode, *, auth: str = "keyboard-interactive", username: str = "admin",
                   password: str = "ucterm-lab-os", size: tuple[int, int] = (80, 24), wait_prompt: bool = True,
                   timeout: float = 10.0) -> VosClient:
        conn = await asyncio.wait_for(asyncssh.connect(
            "127.0.0.1", node.ports["ssh"], username=username, password=password, known_hosts=None,
            client_keys=None, agent_path=None, preferred_auth=auth, config=None), timeout)
        proc = await conn.create_process(term_type="xterm", term_size=size)
        client = cls(conn, proc)
        if wait_prompt:
            await client.read_until(PROMPT, timeout)
        return client

    async def _more(self, timeout: float) -> None:
        try:
            data = await asyncio.wait_for(self.proc.stdout.read(65536), timeout)
        except (asyncssh.ConnectionLost, asyncssh.DisconnectError, BrokenPipeError) as exc:
            raise ConnectionResetError(f"the node closed the connection ({exc})") from exc
        if not data:
            raise ConnectionResetError("the node closed the session")
        self.buffer += data
        self.transcript += data

    async def read_until(self, pattern: re.Pattern[str] | str, timeout: float = 10.0) -> str:
        """Consume and return everything up to the end of the first match."""
        regex = re.compile(pattern) if isinstance(pattern, str) else pattern
        deadline = asyncio.get_running_loop().time() + timeout
        while True:
            match = regex.search(self.buffer)
            if match:
                out, self.buffer = self.buffer[:match.end()], self.buffer[match.end():]
                return out
            remaining = deadline - asyncio.get_running_loop().time()
            if remaining <= 0:
                raise TimeoutError(f"no {regex.pattern!r} in {self.buffer[-300:]!r}")
            await self._more(remaining)

    def send(self, text: str) -> None:
        self.proc.stdin.write(text)

    async def run(self, command: str, *, timeout: float = 10.0, pager_keys: str = " ") -> str:
        """Type a command, answer pagers (with `pager_keys` for the more-pager, n/q for the less-pager),
        and return the cleaned output between the echoed command and the next prompt."""
        self.send(command + "\r")
        raw = ""
        after_less = False
        deadline = asyncio.get_running_loop().time() + timeout
        while True:
            for regex in (PROMPT, PAGER_MORE, PAGER_LESS):
                match = regex.search(self.buffer)
                if match:
                    break
            else:
                remaining = deadline - asyncio.get_running_loop().time()
                if remaining <= 0:
                    raise TimeoutError(f"{command!r}: no prompt in {self.buffer[-300:]!r}")
                await self._more(remaining)
                continue
            chunk = self.buffer[:match.start()]
            if after_less and chunk.startswith("\r\n"):
                chunk = chunk[2:]  # the line end after a less-pager answer (unicon strips it too)
            raw += chunk
            self.buffer = self.buffer[match.end():]
            if regex is PROMPT:
                break
            after_less = regex is PAGER_LESS
            if regex is PAGER_MORE:
                self.send(pager_keys)
            else:
                self.send("q" if match.group(2) == match.group(3) else "n")
        text = clean(raw)
        lines = text.split("\n")
        if lines and lines[0].strip() == command.strip():
            lines = lines[1:]
        return "\n".join(lines).strip("\n")

    async def dialog(self, command: str, steps: list[tuple[str, str]], *, timeout: float = 10.0) -> str:
        """Type a command, answer each (pattern, reply) in turn, and return the cleaned text up to the prompt."""
        self.send(command + "\r")
        raw = ""
        for pattern, reply in steps:
            raw += await self.read_until(pattern, timeout)
            self.send(reply)
        raw += await self.read_until(PROMPT, timeout)
        return clean(PROMPT.sub("", raw)).strip("\n")

    async def paste(self, command: str, pem: str, *, timeout: float = 10.0) -> str:
        """`set cert import ...` the way C-certgen does it: the PEM, then an empty line (§1.7)."""
        return await self.dialog(command, [("Paste the Certificate and Hit Enter", pem.rstrip("\n") + "\n\r\n")],
                                 timeout=timeout)

    async def close(self) -> None:
        self.conn.close()
        await self.conn.wait_closed()
