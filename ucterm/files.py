"""Files ucterm reads and writes.

Writes are atomic (temp file, fsync, rename), owner-only unless asked otherwise: a crash or a
full disk must leave either the old file or the new one, never half of either. Journals,
inventories, preferences, pins, the last scan and the Prometheus textfile all go through
:func:`atomic_write`.

Files a user hands over (the inventory, certificates, CSRs, chains) are read with
:func:`read_regular`: regular files only and up to a size cap, so that `/dev/zero`, a FIFO or
a terminal given by mistake is one sentence instead of a read without end or a hang.
"""

from __future__ import annotations

import os
import stat
from pathlib import Path
from typing import Any

import tomli_w

from ucterm.errors import UctermError

__all__ = ["MAX_INPUT_BYTES", "FileProblem", "atomic_write", "read_regular", "write_toml"]

#: The most ucterm reads from one file a user hands over. A certificate bundle or an inventory is
#: kilobytes; a few megabytes leaves room for folders of PKCS#7 exports and large inventories.
MAX_INPUT_BYTES = 8 * 1024 * 1024


class FileProblem(UctermError):
    """A file given to ucterm cannot be read as one (missing, a device or FIFO, too large, unreadable)."""

    exit_code = 3


def _kind(mode: int) -> str:
    if stat.S_ISFIFO(mode):
        return "a FIFO (named pipe)"
    if stat.S_ISCHR(mode):
        return "a character device"
    if stat.S_ISBLK(mode):
        return "a block device"
    if stat.S_ISSOCK(mode):
        return "a socket"
    if stat.S_ISDIR(mode):
        return "a folder"
    return "not a regular file"


def read_regular(path: Path, what: str, *, limit: int = MAX_INPUT_BYTES) -> bytes:
    """The bytes of `path`, which must be a regular file of at most `limit` bytes.

    `what` names the file in the sentence ("the inventory", "the certificate"). The file is
    opened without blocking (a FIFO would otherwise wait for a writer for ever) and checked on
    the open descriptor, so a file swapped for a device between a check and the read is caught.
    """
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK | getattr(os, "O_NOCTTY", 0))
    except FileNotFoundError:
        raise FileProblem(f"{path}: no such file; check the path given as {what}.") from None
    except OSError as exc:
        raise FileProblem(f"{path}: cannot open {what} ({exc.strerror or exc}); check its permissions.") from None
    try:
        info = os.fstat(fd)
        if not stat.S_ISREG(info.st_mode):
            raise FileProblem(f"{path}: {what} is {_kind(info.st_mode)}, not a regular file; pass a file.")
        if info.st_size > limit:
            raise FileProblem(f"{path}: {what} is {info.st_size:,} bytes, more than the {limit:,} ucterm reads; "
                              "pass the file itself, not an archive or a disk image.")
        os.set_blocking(fd, True)
        chunks: list[bytes] = []
        total = 0
        while chunk := os.read(fd, 1 << 16):
            total += len(chunk)
            if total > limit:  # it grew while being read
                raise FileProblem(f"{path}: {what} grew past {limit:,} bytes while it was read; pass a file "
                                  "that is complete.")
            chunks.append(chunk)
        return b"".join(chunks)
    except OSError as exc:
        raise FileProblem(f"{path}: cannot read {what} ({exc.strerror or exc}).") from None
    finally:
        os.close(fd)


def write_toml(path: Path, document: dict[str, Any], *, mode: int = 0o600) -> None:
    """Write a TOML document atomically (temp file + fsync + rename) with owner-only permissions."""
    atomic_write(path, tomli_w.dumps(document).encode("utf-8"), mode=mode)


def atomic_write(path: Path, data: bytes, *, mode: int = 0o600) -> None:
    """Replace `path` with `data` so that a crash leaves either the old or the new file, never half."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, mode)
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
            fh.flush()
            os.fsync(fh.fileno())
        os.chmod(tmp, mode)
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    try:
        dir_fd = os.open(path.parent, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(dir_fd)
    except OSError:
        pass
    finally:
        os.close(dir_fd)
