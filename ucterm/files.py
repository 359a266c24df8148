"""Files ucterm writes: atomically (temp file, fsync, rename), owner-only unless asked otherwise.

A crash or a full disk must leave either the old file or the new one, never half of either:
journals, inventories, preferences, pins, the last scan and the Prometheus textfile all go
through :func:`atomic_write`.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import tomli_w

__all__ = ["atomic_write", "write_toml"]


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
