"""ucterm's own known_hosts: which SSH host key each node is allowed to present.

The file is in OpenSSH format (so `ssh-keygen -F` and editors work on it) but separate from the
user's `~/.ssh/known_hosts`: ucterm never trusts keys it did not record or the user did not
accept. Entries name the node's FQDN and its address (`[host]:port` when the port is not 22),
so a node is recognised whichever of the two the inventory uses.

Verdicts: a key recorded for the node → trusted; none recorded → unknown (error with the
SHA-256 fingerprint, or recorded at once with `trust_on_first_use`); a *different* key
recorded → changed, always refused.
"""

from __future__ import annotations

import asyncio
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

import asyncssh

from ucterm.vos.errors import HostKeyChanged, Unreachable, VosError

Verdict = Literal["trusted", "unknown", "changed"]


def fingerprint(key: asyncssh.SSHKey) -> str:
    """`SHA256:base64` as OpenSSH prints it."""
    return key.get_fingerprint("sha256")


def _pattern(host: str, port: int) -> str:
    return host if port == 22 else f"[{host}]:{port}"


def _read(path: Path) -> asyncssh.SSHKnownHosts | None:
    # Regular files only, size-capped: a known_hosts setting pointing at a FIFO or a device would
    # otherwise hang or read without end before every login.
    from ucterm.files import FileProblem, read_regular

    if not path.exists() and not path.is_symlink():
        return None
    try:
        text = read_regular(path, "ucterm's known_hosts (the known_hosts setting)").decode("utf-8")
    except FileProblem as exc:
        raise VosError(f"{exc} Set known_hosts in the inventory to a file ucterm may keep keys in.") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise VosError(
            f"{path}: cannot read ucterm's known_hosts ({getattr(exc, 'strerror', None) or exc}); "
            "check its permissions or set known_hosts in the inventory."
        ) from None
    try:
        return asyncssh.import_known_hosts(text) if text.strip() else None
    except ValueError as exc:
        raise VosError(
            f"{path}: ucterm's known_hosts has a line it cannot read ({exc}); fix or remove that line."
        ) from None


def known_keys(path: Path, host: str, port: int, address: str | None = None) -> list[asyncssh.SSHKey]:
    """Keys recorded for `host` (FQDN) or `address` on `port`.

    Entries with an explicit port must match that port exactly: the lab runs many nodes on one
    loopback address, and a plain `host` line (port 22) must not vouch for another port.
    """
    known = _read(path)
    if known is None:
        return []
    keys: list[asyncssh.SSHKey] = []
    for name in dict.fromkeys(n for n in (host, address) if n):
        # asyncssh's match() falls back to port-less entries; match exactly by passing the port pattern.
        found = known.match(_pattern(name, port), "", None)[0] if port != 22 else known.match(name, "", None)[0]
        for key in found:
            if all(k.public_data != key.public_data for k in keys):
                keys.append(key)
    return keys


@dataclass(frozen=True)
class HostKeyCheck:
    verdict: Verdict
    fingerprint: str
    known_fingerprints: tuple[str, ...] = ()


def check(path: Path, host: str, port: int, key: asyncssh.SSHKey, address: str | None = None) -> HostKeyCheck:
    known = known_keys(path, host, port, address)
    fp = fingerprint(key)
    if any(k.public_data == key.public_data for k in known):
        return HostKeyCheck("trusted", fp)
    if known:
        return HostKeyCheck("changed", fp, tuple(fingerprint(k) for k in known))
    return HostKeyCheck("unknown", fp)


async def fetch_host_key(address: str, port: int, *, timeout: float, node: str | None = None) -> asyncssh.SSHKey:
    """The SSH host key `address` presents on `port`, read without logging in or trusting it.

    Raises :class:`Unreachable` (naming `node`, or the address) when nothing answers, the SSH
    handshake fails, no key is offered or `timeout` seconds pass.
    """
    name = node or address
    try:
        key = await asyncio.wait_for(asyncssh.get_server_host_key(address, port), timeout)
    except TimeoutError:
        raise Unreachable(name, address, port, f"no SSH host key within {timeout:g} s") from None
    except (OSError, asyncssh.Error) as exc:
        raise Unreachable(name, address, port, f"cannot read the SSH host key: {exc}") from None
    if key is None:
        raise Unreachable(name, address, port, "the server offered no SSH host key")
    return key


def accept_host_key(
    known_hosts_path: Path | str, host: str, port: int, key: asyncssh.SSHKey, *, address: str | None = None
) -> None:
    """Record `key` as the host key of `host` (and `address`) on `port`.

    Refuses to add a second key for a node that already has a different one: a changed key must
    be removed by hand, knowingly (the file's path is in the message).
    """
    path = Path(known_hosts_path)
    result = check(path, host, port, key, address)
    if result.verdict == "trusted":
        return
    if result.verdict == "changed":
        raise HostKeyChanged(host, port, result.fingerprint, list(result.known_fingerprints), str(path))
    names = ",".join(_pattern(n, port) for n in dict.fromkeys(n for n in (host, address) if n))
    public = key.export_public_key("openssh").decode("ascii").split()
    line = f"{names} {public[0]} {public[1]}\n"
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
    with os.fdopen(fd, "a", encoding="utf-8") as fh:
        if path.stat().st_size and not _ends_with_newline(path):
            fh.write("\n")
        fh.write(line)


def _ends_with_newline(path: Path) -> bool:
    with path.open("rb") as fh:
        fh.seek(-1, os.SEEK_END)
        return fh.read(1) == b"\n"
