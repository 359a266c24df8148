"""Benchmark: log into N lab nodes at once and read their certificates; compare with one node.

    .venv/bin/python bench/login_read.py [--nodes 25] [--limit N] [--profile realistic]

Starts `LabEstate.scaled(N)` on 127.0.0.1 (in a child process, so that the simulated nodes'
CPU is not charged to the client, as with real appliances; `--same-process` to share it), then
(1) logs into one node and reads every own
certificate (`show cert list own`, then `show cert own <unit>` for each unit), and (2) does the
same on all N nodes concurrently through one ConnectionLimiter (`--limit`: handshakes at a time;
sessions waiting for their banners hold none). A session-per-node design with
no shared bottleneck gives a wall-time ratio close to 1×; the lab's realistic profile makes the
CLI banner and each command slow, as on real nodes. Prints the figures and exits.
"""

from __future__ import annotations

import argparse
import asyncio
import ipaddress
import multiprocessing
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from ucterm.credentials import CredentialStore
from ucterm.inventory import load_inventory
from ucterm.lab import LabEstate
from ucterm.vos import ConnectionLimiter, NodeSession, NodeTarget


async def read_node(target: NodeTarget, limiter: ConnectionLimiter) -> int:
    if not ipaddress.ip_address(target.address).is_loopback:
        raise SystemExit(f"refusing to connect to {target.address}: the benchmark talks to the lab on loopback only")
    async with NodeSession(target, CredentialStore(), limiter=limiter) as session:
        entries = await session.cli.list_certs("own")
        for entry in entries:
            await session.cli.cert_own(entry.unit_or_store)
        return len(entries)


def _serve_lab(nodes: int, profile: str, folder: str, ready: Any, stop: Any) -> None:
    """Child process: run the lab estate until told to stop (the lab's CPU is not the client's)."""

    async def serve() -> None:
        async with LabEstate.scaled(nodes, profile=profile) as estate:
            estate.write_inventory(Path(folder) / "inventory.toml")
            ready.set()
            while not stop.is_set():
                await asyncio.sleep(0.1)

    asyncio.run(serve())


async def measure(targets: list[NodeTarget], limit: int | None) -> tuple[float, int, float, int, ConnectionLimiter]:
    limiter = ConnectionLimiter(limit or len(targets))
    t0 = time.monotonic()
    certs_one = await read_node(targets[0], ConnectionLimiter(1))
    single = time.monotonic() - t0
    t0, cpu0 = time.monotonic(), time.process_time()
    counts = await asyncio.gather(*(read_node(t, limiter) for t in targets))
    wall = time.monotonic() - t0
    print(f"client CPU  : {time.process_time() - cpu0:6.2f} s for the {len(targets)} nodes", file=sys.stderr)
    return single, certs_one, wall, sum(counts), limiter


def main(nodes: int, limit: int | None, profile: str, same_process: bool) -> int:
    started = time.monotonic()
    folder = Path(tempfile.mkdtemp(prefix="ucterm-bench-"))
    if same_process:

        async def in_process() -> tuple[float, int, float, int, ConnectionLimiter]:
            async with LabEstate.scaled(nodes, profile=profile) as estate:
                estate.write_inventory(folder / "inventory.toml")
                return await measure(_targets(folder), limit)

        single, certs_one, wall, total, limiter = asyncio.run(in_process())
    else:
        ctx = multiprocessing.get_context("spawn")
        ready, stop = ctx.Event(), ctx.Event()
        child = ctx.Process(target=_serve_lab, args=(nodes, profile, str(folder), ready, stop), daemon=True)
        child.start()
        try:
            if not ready.wait(120):
                raise SystemExit("the lab did not start within 120 s")
            print(
                f"lab: {nodes} nodes ({profile} profile) in a separate process, ready in "
                f"{time.monotonic() - started:.1f} s",
                file=sys.stderr,
            )
            single, certs_one, wall, total, limiter = asyncio.run(measure(_targets(folder), limit))
        finally:
            stop.set()
            child.join(10)
            if child.is_alive():
                child.terminate()
    where = "same process" if same_process else "lab in its own process"
    print(f"single node : {single:6.2f} s  ({certs_one} certificates)")
    print(
        f"{nodes:3d} nodes   : {wall:6.2f} s  ({total} certificates, {limiter.sockets_peak} sessions open at once, "
        f"at most {limiter.peak} of {limiter.limit} handshakes at a time, {where})"
    )
    print(f"ratio       : {wall / single:6.2f}x  (ideal 1.00x; sequential would be {nodes}x)")
    return 0


def _targets(folder: Path) -> list[NodeTarget]:
    inventory = load_inventory(folder / "inventory.toml")
    return [NodeTarget.from_inventory(c, n) for c, n in inventory.nodes()]


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--nodes", type=int, default=25)
    parser.add_argument("--limit", type=int, default=None,
                        help="handshakes at a time (ConnectionLimiter; default: --nodes)")
    parser.add_argument("--profile", default="realistic", choices=("fast", "demo", "realistic"))
    parser.add_argument(
        "--same-process",
        action="store_true",
        help="run the lab in this process (its CPU then counts against the client)",
    )
    args = parser.parse_args()
    raise SystemExit(main(args.nodes, args.limit, args.profile, args.same_process))
