"""Benchmark: how long the shell driver takes to read one command's long output.

    .venv/bin/python bench/cli_output.py [--mb 2 8 16] [--one-line]

A hostile `admin:` shell (tests/hostile/sshd.py) runs in a child process so that its CPU is
not the client's; the client logs in, types `flood` and reads N MB of 80-column lines (or one
line without a break, `--one-line`) until the prompt. Every size is read with the output cap
lifted, so the figure is the reading itself; the cap (ShellOptions.max_output) then stops a
flood at its limit.
"""

from __future__ import annotations

import argparse
import asyncio
import inspect
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

SERVER = """
import asyncio, sys
import asyncssh
from tests.hostile import sshd
async def main():
    key = asyncssh.generate_private_key("ssh-ed25519")
    key.write_private_key(sys.argv[1])
    script = sshd.Script()
    for mb in (1, 2, 4, 8, 16, 32):
        script.commands[f"flood {mb}"] = sshd.flood(mb * 1024 * 1024)
        script.commands[f"line {mb}"] = sshd.flood(mb * 1024 * 1024, newline=False)
    server = await sshd.start(script, key)
    print(sshd.port_of(server), flush=True)
    await asyncio.sleep(3600)
asyncio.run(main())
"""


async def measure(port: int, keyfile: Path, sizes: list[int], one_line: bool) -> None:
    import asyncssh

    from tests.hostile import sshd
    from ucterm.credentials import Secret
    from ucterm.vos import hostkeys
    from ucterm.vos.shell import ShellOptions, SshEndpoint, VosShell

    known = keyfile.parent / "known_hosts"
    key = asyncssh.read_private_key(keyfile)
    hostkeys.accept_host_key(known, "bench.example", port, key, address="127.0.0.1")
    endpoint = SshEndpoint("bench.example", "127.0.0.1", port, "admin", known)
    fields = inspect.signature(ShellOptions).parameters
    extra = {"max_output": 1 << 40} if "max_output" in fields else {}
    shell = VosShell(endpoint, lambda: Secret(sshd.PASSWORD),
                     options=ShellOptions(command_timeout=600, **extra))  # type: ignore[arg-type]
    await shell.run("show version active")  # log in first: the figures are the reading alone
    for mb in sizes:
        command = f"{'line' if one_line else 'flood'} {mb}"
        started = time.perf_counter()
        out = await shell.run(command)
        elapsed = time.perf_counter() - started
        print(f"{command:>9} MB: {elapsed:7.2f} s  ({len(out) / 1e6:.1f} M characters returned)", flush=True)
    await shell.close()
    if "max_output" in fields:
        capped = VosShell(endpoint, lambda: Secret(sshd.PASSWORD), options=ShellOptions(command_timeout=600))
        started = time.perf_counter()
        try:
            await capped.run(f"flood {max(sizes)}")
        except Exception as exc:  # the cap's error, shown as the user sees it
            print(f"default cap, flood {max(sizes)} MB: {time.perf_counter() - started:.2f} s -> {exc}")
        await capped.close()


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--mb", type=int, nargs="+", default=[2, 8, 16])
    parser.add_argument("--one-line", action="store_true")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        keyfile = Path(folder) / "host_key"
        child = subprocess.Popen([sys.executable, "-c", SERVER, str(keyfile)], cwd=ROOT, stdout=subprocess.PIPE,
                                 text=True)
        try:
            assert child.stdout is not None
            port = int(child.stdout.readline())
            asyncio.run(measure(port, keyfile, args.mb, args.one_line))
        finally:
            child.kill()
            child.wait()


if __name__ == "__main__":
    main()
