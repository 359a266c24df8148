"""`ucterm info`: the paths and versions a bug report needs."""

from __future__ import annotations

import argparse
from pathlib import Path

from ucterm import __version__

__all__ = ["run"]


def run(args: argparse.Namespace) -> int:
    """Paths and versions a bug report needs."""
    import platform

    from ucterm import paths

    inventory = args.inventory or paths.default_inventory()
    rows = [
        ("ucterm", __version__),
        ("python", platform.python_version()),
        ("inventory", str(inventory) + ("" if Path(inventory).exists() else " (missing)")),
        ("preferences", str(paths.preferences_file(Path(inventory)))),
        ("known_hosts", str(paths.default_known_hosts())),
        ("acme accounts", str(paths.data_dir() / "acme")),
        ("state", str(paths.state_dir())),
        ("jobs", str(paths.jobs_dir())),
        ("logs", str(paths.log_dir())),
    ]
    from importlib.metadata import PackageNotFoundError, version

    # pyspnego: AD CS signers (NTLM/Kerberos); acme, dnspython: ACME signers (the `acme` extra).
    for dist in ("textual", "asyncssh", "cryptography", "httpx", "platformdirs", "tomli-w", "pyspnego", "acme",
                 "dnspython"):
        try:
            rows.append((dist, version(dist)))
        except PackageNotFoundError:
            rows.append((dist, "not installed"))
    width = max(len(k) for k, _ in rows)
    for k, v in rows:
        print(f"{k.ljust(width)}  {v}")
    return 0
