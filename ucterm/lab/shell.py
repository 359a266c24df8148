"""The SSH face of a lab node: login, the `admin:` CLI, its pagers and dialogs.

Reproduces what clients of real VOS must cope with (§1.1): no exec channel (only an interactive
shell), keyboard-interactive logins (and on some nodes nothing else), a slow start-up banner,
`ESC[K` before every prompt, the server echoing what is typed, two pager styles that wait for a
single key, and questions in the middle of commands. Input typed before the prompt appears is
kept and read once the CLI is ready, as a terminal would.
"""

from __future__ import annotations

import asyncio
import collections
import logging
import string
from typing import Any

import asyncssh

from ucterm.lab import commands, texts
from ucterm.lab.errors import VosError
from ucterm.lab.faults import CommandFault
from ucterm.lab.node import LabNode

log = logging.getLogger(__name__)

DEFAULT_SIZE = (80, 24)
#: A `garble` fault's base64 (same alphabet, other letters): it decodes, but not to a certificate.
_GARBLE = str.maketrans(string.ascii_uppercase + string.ascii_lowercase,
                        string.ascii_uppercase[13:] + string.ascii_uppercase[:13]
                        + string.ascii_lowercase[13:] + string.ascii_lowercase[:13])


class _Input:
    """Characters from the client; `\\r\\n` counts as one Enter, like a terminal in raw mode."""

    def __init__(self) -> None:
        self._chars: collections.deque[str] = collections.deque()
        self._ready = asyncio.Event()
        self._closed = False
        self._after_cr = False

    def feed(self, data: str) -> None:
        for ch in data:
            if self._after_cr and ch == "\n":
                self._after_cr = False
                continue
            self._after_cr = ch == "\r"
            self._chars.append(ch)
        self._ready.set()

    @property
    def pending(self) -> bool:
        return bool(self._chars)

    def close(self) -> None:
        self._closed = True
        self._ready.set()

    async def getch(self) -> str:
        while not self._chars:
            if self._closed:
                raise EOFError
            self._ready.clear()
            await self._ready.wait()
        return self._chars.popleft()


class _FaultFired(Exception):
    def __init__(self, hang: bool) -> None:
        super().__init__("hang" if hang else "drop")
        self.hang = hang


class VosSession(asyncssh.SSHServerSession[str]):
    """One `admin:` CLI session. Implements :class:`ucterm.lab.commands.Terminal` for the handlers."""

    def __init__(self, node: LabNode, conn: asyncssh.SSHServerConnection) -> None:
        self.node = node
        self.pagination = True
        self._conn = conn
        self._chan: asyncssh.SSHServerChannel[str] | None = None
        self._size = DEFAULT_SIZE
        self._input = _Input()
        self._task: asyncio.Task[None] | None = None
        self._fault: CommandFault | None = None
        self._lines_out = 0
        self._in_pem = False
        self._muted = False

    # ---- asyncssh callbacks ------------------------------------------------------------------

    def connection_made(self, chan: asyncssh.SSHServerChannel[str]) -> None:
        self._chan = chan

    def pty_requested(self, term_type: str, term_size: tuple[int, int, int, int], term_modes: Any) -> bool:
        self._resize(term_size[0], term_size[1])
        return True

    def terminal_size_changed(self, width: int, height: int, pixwidth: int, pixheight: int) -> None:
        self._resize(width, height)

    def _resize(self, width: int, height: int) -> None:
        self._size = (width or DEFAULT_SIZE[0], height or DEFAULT_SIZE[1])

    def shell_requested(self) -> bool:
        return True

    def exec_requested(self, command: str) -> bool:
        return False  # §1.1 [VERIFIED: C-ctmcp]: VOS has no SSH exec channel

    def subsystem_requested(self, subsystem: str) -> bool:
        return False

    def session_started(self) -> None:
        self.node.received.ssh_sessions += 1
        self._task = asyncio.ensure_future(self._run())

    def data_received(self, data: str, datatype: asyncssh.DataType) -> None:
        self._input.feed(data)

    def eof_received(self) -> bool:
        self._input.close()
        return False

    def connection_lost(self, exc: Exception | None) -> None:
        self._input.close()
        if self._task is not None and not self._task.done():
            self._task.cancel()

    # ---- output ------------------------------------------------------------------------------

    def _write(self, text: str) -> None:
        if self._chan is not None and not self._muted:
            self._chan.write(text)

    def _fire(self) -> None:
        fault = self._fault
        assert fault is not None
        self._muted = True
        if fault.kind == "drop":
            self._conn.abort()
        raise _FaultFired(hang=fault.kind == "hang")

    def _line(self, line: str) -> None:
        """Write one output line, letting an armed fault act at its line count."""
        if self._muted:
            raise _FaultFired(hang=self._fault is not None and self._fault.kind == "hang")
        fault = self._fault
        if fault is not None and fault.kind in ("drop", "hang") and self._lines_out >= fault.after_lines:
            self._fire()
        if fault is not None and fault.kind == "garble":
            line = self._garbled(line)
        self._lines_out += 1
        self._write(line + "\r\n")

    def _garbled(self, line: str) -> str:
        """Inside a PEM block, base64 that no longer decodes to a certificate (same shape, same length)."""
        if line.startswith("-----BEGIN"):
            self._in_pem = True
        elif line.startswith("-----END"):
            self._in_pem = False
        elif self._in_pem and line.strip():
            return line.strip().translate(_GARBLE)
        return line

    async def emit(self, line: str) -> None:
        self._line(line)
        await asyncio.sleep(0)

    async def show(self, lines: list[str], pager: commands.Pager = "more") -> None:
        page = self._size[1] - 1
        if pager == "less" and len(lines) > self._size[1] - 2:
            # The less-like pager ignores `set cli pagination off` [INFERRED from §1.1: unicon keeps
            # handling both pagers after turning pagination off].
            await self._less(lines, max(1, self._size[1] - 2))
        elif pager == "more" and self.pagination and len(lines) > page:
            await self._more(lines, max(1, page))
        else:
            for line in lines:
                self._line(line)

    async def _more(self, lines: list[str], page: int) -> None:
        shown = 0
        step = page
        while shown < len(lines):
            for line in lines[shown:shown + step]:
                self._line(line)
            shown += step
            if shown >= len(lines):
                return
            self._write(texts.PAGER_MORE)
            key = await self._key()
            self._write(texts.PAGER_MORE_ERASE)
            if key in ("q", "Q"):
                return
            step = 1 if key in ("\r", "\n") else page

    async def _less(self, lines: list[str], page: int) -> None:
        total = len(lines)
        start = 0
        while True:
            end = min(total, start + page)
            for line in lines[start:end]:
                self._line(line)
            self._write(texts.PAGER_LESS.format(first=start + 1, last=end, total=total))
            key = (await self._key()).lower()
            self._write(texts.PAGER_LESS_AFTER)
            if key == "q":
                return
            if key == "p":
                start = max(0, start - page)
            elif key == "b":
                start = 0
            elif key == "e":
                start = max(0, total - page)
            elif key in ("n", " ", "\r", "\n") and end < total:
                start = end

    # ---- input -------------------------------------------------------------------------------

    async def _key(self) -> str:
        if self._muted:
            raise _FaultFired(hang=True)
        return await self._input.getch()

    async def _skip_escape(self) -> None:
        """Drop an escape sequence (arrow keys and the like): the VOS CLI has no line history here."""
        ch = await self._input.getch()
        if ch not in "[O":
            return
        while True:
            ch = await self._input.getch()
            if "@" <= ch <= "~":
                return

    async def _read_line(self) -> str:
        chars: list[str] = []
        echo: list[str] = []  # written in one go once the input received so far is consumed
        while True:
            if echo and not self._input.pending:
                self._write("".join(echo))
                echo.clear()
            ch = await self._input.getch()
            if ch in ("\r", "\n"):
                self._write("".join(echo) + "\r\n")
                return "".join(chars)
            if ch in ("\x7f", "\x08"):
                if chars:
                    chars.pop()
                    echo.append("\b \b")
            elif ch == "\x03":  # Ctrl+C drops the line being typed [INFERRED]
                self._write("".join(echo) + "^C\r\n")
                return ""
            elif ch == "\x1b":
                await self._skip_escape()
            elif ch >= " ":
                chars.append(ch)
                echo.append(ch)

    async def ask(self, prompt: str) -> str:
        if self._muted:
            raise _FaultFired(hang=True)
        self._write(prompt)
        return await self._read_line()

    async def paste(self, prompt: str) -> str:
        self._line(prompt)
        lines: list[str] = []
        while True:
            line = await self._read_line()
            if not line.strip():
                if lines:
                    return "\n".join(lines)
                continue
            lines.append(line)

    # ---- the session -------------------------------------------------------------------------

    async def _run(self) -> None:
        try:
            await self._banner()
            while True:
                self._write(texts.PROMPT)
                line = (await self._read_line()).strip()
                if not line:
                    continue
                if line.lower() in ("exit", "quit"):
                    break
                await self._execute(line)
        except EOFError:
            return
        except asyncio.CancelledError:
            raise
        except Exception:  # a lab bug must not take the whole estate down
            log.exception("lab shell on %s failed", self.node.fqdn)
        if self._chan is not None:
            self._chan.exit(0)

    async def _banner(self) -> None:
        self._write(texts.BANNER_STARTING + "\r\n")
        delay = self.node.faults.banner_delay
        await asyncio.sleep(self.node.profile.banner_delay if delay is None else delay)
        self._write("\r\n" + texts.BANNER_WELCOME + "\r\n\r\n")
        self._write("".join(line + "\r\n" for line in texts.BANNER_HARDWARE) + "\r\n")

    async def _execute(self, line: str) -> None:
        self.node.received.commands.append(line)
        self._fault = self.node.faults.take(line)
        self._lines_out = 0
        self._in_pem = False
        try:
            if self._fault is not None and self._fault.kind in ("drop", "hang") and self._fault.after_lines == 0:
                self._fire()
            latency = self.node.profile.command_latency(self.node.rng)
            if latency:
                await asyncio.sleep(latency)
            parsed = commands.parse(line)
            if self._fault is not None and self._fault.kind == "fail":
                await self.show([texts.COMMAND_FAILED])
            elif parsed.command is None:
                await self.show(list(parsed.error))
            else:
                try:
                    await parsed.command.handler(self, parsed.args)
                except VosError as exc:
                    await self.show(list(exc.lines))
            self._write("\r\n")
        except _FaultFired as fired:
            if fired.hang:
                await asyncio.Event().wait()  # never returns; cancelled when the client goes away
            raise EOFError from None
        finally:
            self._fault = None


class VosServer(asyncssh.SSHServer):
    """Authentication as on VOS: the OS administrator by keyboard-interactive `Password:`
    (every node) or plain password (where the node allows it), no public keys (§1.1)."""

    def __init__(self, node: LabNode, user: str, password: str,
                 connections: set[asyncssh.SSHServerConnection]) -> None:
        self._node = node
        self._user = user
        self._password = password
        self._connections = connections
        self._conn: asyncssh.SSHServerConnection | None = None

    def connection_made(self, conn: asyncssh.SSHServerConnection) -> None:
        self._conn = conn
        self._connections.add(conn)
        self._node.received.connections["ssh"] += 1

    def connection_lost(self, exc: Exception | None) -> None:
        if self._conn is not None:
            self._connections.discard(self._conn)

    def begin_auth(self, username: str) -> bool:
        return True

    def public_key_auth_supported(self) -> bool:
        return False

    def password_auth_supported(self) -> bool:
        return self._node.password_auth

    def validate_password(self, username: str, password: str) -> bool:
        if self._node.faults.logins_refused:
            return False
        return username == self._user and password == self._password

    def kbdint_auth_supported(self) -> bool:
        return True

    def get_kbdint_challenge(self, username: str, lang: str,
                             submethods: str) -> tuple[str, str, str, list[tuple[str, bool]]]:
        return "", "", "", [("Password: ", False)]

    def validate_kbdint_response(self, username: str, responses: list[str]) -> bool:  # type: ignore[override]
        return len(responses) == 1 and self.validate_password(username, responses[0])

    def session_requested(self) -> VosSession:
        assert self._conn is not None
        return VosSession(self._node, self._conn)
