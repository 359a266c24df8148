"""`kind = "command"`: any CA the site scripts itself.

The program is run with its argv from the inventory, `{csr}` replaced by the path of the CSR file
and `{out}` by the path where it must write the certificate (PEM or DER, the leaf alone or with
its chain: everything the loader understands). Both live in a private folder inside the job
folder, so that the journal keeps what was sent and what came back. No shell is involved. A
non-zero exit, a timeout or an empty `{out}` is one sentence with the end of the program's stderr.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
from pathlib import Path

from ucterm import pki
from ucterm.renewal.signers.base import SignerError, SigningContext
from ucterm.signer_config import CommandSpec, SignerConfig

#: How much of the program's stderr a message quotes (its last characters: where the error usually is).
STDERR_QUOTE = 400
#: How much output is read at all; the rest is drained and dropped so a chatty program cannot fill memory.
OUTPUT_CAP = 64 * 1024


def _bounded(raw: bytes) -> str:
    text = " ".join(raw.decode("utf-8", "replace").split())
    return text if len(text) <= STDERR_QUOTE else "…" + text[-STDERR_QUOTE:]


async def _read_capped(stream: asyncio.StreamReader | None) -> bytes:
    if stream is None:
        return b""
    kept = bytearray()
    while chunk := await stream.read(8192):
        if len(kept) < OUTPUT_CAP:
            kept += chunk[: OUTPUT_CAP - len(kept)]
    return bytes(kept)


async def run_argv(argv: list[str], timeout: float, what: str) -> tuple[int, str]:
    """Run a program (no shell), wait up to `timeout`, and return (exit code, bounded stderr);
    SignerError naming `what` if it cannot start or runs too long (its process group is killed)."""
    try:
        proc = await asyncio.create_subprocess_exec(
            *argv, stdin=asyncio.subprocess.DEVNULL, stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE, start_new_session=True)
    except OSError as exc:
        raise SignerError(f"{what}: {argv[0]} cannot be started ({exc.strerror or exc}); check the program "
                          "path in the inventory.") from None
    readers = asyncio.gather(_read_capped(proc.stdout), _read_capped(proc.stderr))
    try:
        _, err = await asyncio.wait_for(readers, timeout)
        code = await asyncio.wait_for(proc.wait(), timeout)
    except TimeoutError:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGKILL)
        await proc.wait()
        readers.cancel()
        raise SignerError(f"{what}: {argv[0]} did not finish within {timeout:g} s and was stopped; raise timeout "
                          "in its [[signer]] table, or check the program.") from None
    return code, _bounded(err)


class CommandSigner:
    """One `kind = "command"` signer (see the module docstring)."""

    def __init__(self, config: SignerConfig) -> None:
        assert isinstance(config.spec, CommandSpec)
        self.config = config
        self.spec: CommandSpec = config.spec
        self.label = f'signer "{config.name}" ({Path(self.spec.command[0]).name})'

    async def obtain(self, csr_pem: str, ctx: SigningContext) -> tuple[str, list[str]]:
        folder = ctx.workdir()
        csr_path = folder / "request.csr"
        out_path = folder / "issued.pem"
        csr_path.write_text(csr_pem, "ascii")
        out_path.unlink(missing_ok=True)
        argv = [a.replace("{csr}", str(csr_path)).replace("{out}", str(out_path)) for a in self.spec.command]
        ctx.remember({"command": self.spec.command[0], "csr": str(csr_path), "out": str(out_path)})
        await ctx.progress(f"{self.label}: running {Path(argv[0]).name} on {csr_path.name}")
        code, err = await run_argv(argv, self.config.timeout, self.label)
        if code != 0:
            raise SignerError(f"{self.label} exited with status {code}" + (f": {err}" if err else " and said nothing")
                              + "; fix the program or the CA it calls, then resume the job.")
        try:
            data = out_path.read_bytes()
        except OSError:
            data = b""
        bundle = pki.load_bundle(data, str(out_path)) if data else None
        if bundle is None or not bundle.certificates:
            raise SignerError(f"{self.label} exited 0 but wrote no certificate to {{out}} ({out_path})"
                              + (f"; it said: {err}" if err else "") + "; make it write the PEM there.")
        csr = pki.load_csr_pem(csr_pem)
        leaves = [c for c in bundle.certificates if pki.public_keys_equal(c, csr)]
        leaf = leaves[0] if leaves else bundle.certificates[0]
        chain = [pki.pem(c) for c in bundle.certificates if c is not leaf]
        await ctx.progress(f"{self.label}: issued {pki.label(leaf)}")
        return pki.pem(leaf), chain
