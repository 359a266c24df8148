"""The person at the keyboard, for the headless commands: questions go to the controlling terminal.

`ucterm renew 2>renew.log` or `ucterm renew | tail` still has a person in front of it: the
question and the answer go through `/dev/tty` (as ssh, sudo and gpg do), not through stderr and
stdin, which may be a file or a pipe. The answer is read with the event loop (not a thread), so
Ctrl+C at a `[y/N]` prompt ends ucterm at once. When there is no controlling terminal at all (cron,
a CI job), :func:`tell` puts a message where a person can still see it.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import sys

__all__ = ["Terminal", "tell"]

TTY = "/dev/tty"


class Terminal:
    """The controlling terminal, open for questions; :meth:`open` returns None when there is none."""

    def __init__(self, fd: int) -> None:
        self._fd = fd

    @classmethod
    def open(cls) -> Terminal | None:
        try:
            fd = os.open(TTY, os.O_RDWR | os.O_NOCTTY)
        except OSError:  # ENXIO: this process has no controlling terminal
            return None
        return cls(fd)

    def write(self, text: str) -> None:
        with contextlib.suppress(OSError):
            os.write(self._fd, text.encode("utf-8", "replace"))

    async def confirm(self, question: str) -> bool:
        """`question [y/N]` on the terminal; True for y/yes. Cancelling (Ctrl+C) returns at once."""
        self.write(f"{question} [y/N] ")
        answer = await self._line()
        return answer.strip().lower() in ("y", "yes")

    async def _line(self) -> str:
        loop = asyncio.get_running_loop()
        done: asyncio.Future[str] = loop.create_future()
        data = bytearray()

        def readable() -> None:
            try:
                chunk = os.read(self._fd, 1024)
            except BlockingIOError:
                return
            except OSError:
                chunk = b""
            data.extend(chunk)
            if (not chunk or b"\n" in chunk) and not done.done():
                done.set_result(data.decode("utf-8", "replace"))

        loop.add_reader(self._fd, readable)
        try:
            return await done
        finally:
            loop.remove_reader(self._fd)

    def close(self) -> None:
        with contextlib.suppress(OSError):
            os.close(self._fd)


def tell(message: str) -> None:
    """`message` on stderr, and also where a person sees it when stderr is a file or a pipe: the
    controlling terminal, or else stdout if that is a terminal."""
    print(message, file=sys.stderr, flush=True)
    if _isatty(sys.stderr):
        return
    terminal = Terminal.open()
    if terminal is not None:
        terminal.write(message + "\n")
        terminal.close()
    elif _isatty(sys.stdout):
        print(message, file=sys.stdout, flush=True)


def _isatty(stream: object) -> bool:
    try:
        return bool(stream.isatty())  # type: ignore[attr-defined]
    except (AttributeError, ValueError):
        return False
