"""Benchmark: scan a lab estate of N nodes (default 100, `realistic` profile) and report scaling.

    .venv/bin/python bench/scan.py [--nodes 100] [--concurrency 16] [--profile realistic]

The lab runs in a child process so that its CPU (SSH servers, TLS handshakes) does not share
the scanner's event loop and its memory does not count as the scanner's. In one run the script
measures:

- one node's scan time alone (`scan_node` on one node of each kind, measured after the estate
  scans: v14+ nodes read over REST, older ones and nodes whose HTTPS certificate does not
  verify over the CLI), weighted by the estate's mix: t1;
- the estate scan's wall time with the chosen concurrency C: T;
- T / t1 (how many single-node scans the estate costs) and T / ideal, where the ideal for C is
  the solo times packed perfectly into C slots: max(sum of solo times / C, longest solo time);
- the same for a second run in which every node reads its own copy of each replicated trust
  certificate (no per-cluster sharing, `--no-naive` skips it): that run is the like-for-like
  comparison with the ideal, the first one shows what sharing saves (it can beat the "ideal");
- the scanner process's peak resident memory (ru_maxrss) before and after the estate scans.

It prints the figures and exits; the lab child is stopped on the way out.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import resource
import subprocess
import sys
import tempfile
import time
from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

if TYPE_CHECKING:
    from ucterm.inventory import Inventory
    from ucterm.scan.model import ScanResult


# --------------------------------------------------------------------------------------------
# The lab child


async def _serve_lab(nodes: int, profile: str, folder: Path) -> None:
    """Run LabEstate.scaled(nodes) until the parent closes our stdin."""
    from ucterm.lab import LabEstate

    estate = LabEstate.scaled(nodes, profile=profile)
    async with estate:
        try:  # TLS ports and certmgr REST; newer labs install them in start() (the call is idempotent)
            from ucterm.lab.network import install_endpoints

            install_endpoints(estate)
        except ImportError:
            pass
        path = folder / "inventory.toml"
        estate.write_inventory(path)
        print(f"READY {path}", flush=True)
        loop = asyncio.get_running_loop()
        await loop.run_in_executor(None, sys.stdin.read)


def _start_lab(nodes: int, profile: str, folder: Path, timeout: float) -> tuple[subprocess.Popen[str], Path]:
    child = subprocess.Popen(
        [sys.executable, __file__, "--serve-lab", "--nodes", str(nodes), "--profile", profile,
         "--dir", str(folder)],
        stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True, cwd=ROOT)
    assert child.stdout is not None
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        line = child.stdout.readline()
        if not line:
            break
        if line.startswith("READY "):
            return child, Path(line.split(" ", 1)[1].strip())
    child.kill()
    raise SystemExit(f"bench: the lab of {nodes} nodes did not start within {timeout:g} s.")


def _stop_lab(child: subprocess.Popen[str]) -> None:
    try:
        if child.stdin is not None:
            child.stdin.close()
        child.wait(timeout=30)
    except subprocess.TimeoutExpired:
        child.kill()
        child.wait()


# --------------------------------------------------------------------------------------------
# The measurements


def _maxrss_mib() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # KiB on Linux


@dataclass
class Run:
    """One estate scan."""

    label: str
    wall: float
    durations: list[float]
    result: ScanResult
    rss_after: float

    @property
    def median(self) -> float:
        return self.durations[len(self.durations) // 2] if self.durations else float("nan")


@dataclass
class Measurement:
    nodes: int
    #: (product, transport) → node count, and the scan time of one such node alone.
    classes: dict[tuple[str, str], int]
    solo: dict[tuple[str, str], float]
    concurrency: int
    rss_before: float
    runs: list[Run]

    @property
    def t1(self) -> float:
        """One node's scan time: the solo times weighted by how many nodes of each kind the estate has."""
        return sum(self.solo[k] * n for k, n in self.classes.items()) / self.nodes

    @property
    def ideal(self) -> float:
        """Perfect packing of the solo times into `concurrency` slots: max(sum / C, longest)."""
        total = sum(self.solo[k] * n for k, n in self.classes.items())
        return max(total / self.concurrency, max(self.solo.values()))


async def _estate_run(label: str, inventory: Inventory, concurrency: int, share_trust: bool) -> Run:
    from ucterm.credentials import CredentialStore
    from ucterm.events import Event
    from ucterm.scan import NodeScanned, ScanProgress, scan_estate

    started_at: dict[str, float] = {}
    durations: list[float] = []

    def sink(event: Event) -> None:
        now = time.perf_counter()
        if isinstance(event, ScanProgress) and event.message == "connecting":
            started_at[event.node] = now
        elif isinstance(event, NodeScanned) and event.result.node in started_at:
            durations.append(now - started_at[event.result.node])

    started = time.perf_counter()
    result = await scan_estate(inventory, CredentialStore(), sink=sink, concurrency=concurrency,
                               share_trust=share_trust)
    return Run(label, time.perf_counter() - started, sorted(durations), result, _maxrss_mib())


async def _measure(inventory_path: Path, concurrency: int, naive: bool) -> Measurement:
    from ucterm.credentials import CredentialStore
    from ucterm.inventory import load_inventory
    from ucterm.scan import scan_node

    inventory = load_inventory(inventory_path)
    rss_before = _maxrss_mib()
    runs = [await _estate_run("estate scan", inventory, concurrency, share_trust=True)]
    if naive:
        runs.append(await _estate_run("same, each node reading its own trust copies", inventory, concurrency,
                                      share_trust=False))
    # Kinds of node by what the scan had to do: v14+ nodes read over REST, older ones (and any node
    # whose HTTPS certificate does not verify, e.g. an expired tomcat) over the CLI.
    kind_of: dict[str, tuple[str, str]] = {}
    for n in runs[0].result.nodes:
        sources = {c.source for c in runs[0].result.for_node(n.cluster, n.node)}
        kind_of[n.node] = (n.product, "rest" if "rest" in sources else "cli")
    classes = Counter(kind_of.values())
    # Then one node of each kind alone (a subscriber: the publisher also runs discovery).
    solo: dict[tuple[str, str], float] = {}
    for cluster in inventory.clusters:
        for node in (*cluster.subscribers, cluster.publisher):
            kind = kind_of[node.fqdn]
            if kind in solo:
                continue
            started = time.perf_counter()
            one = await scan_node(cluster, node, CredentialStore())
            solo[kind] = time.perf_counter() - started
            if one.result.state != "ok":
                raise SystemExit(f"bench: the single-node scan of {node.fqdn} ended {one.result.state}: "
                                 f"{one.result.error}")
    return Measurement(sum(classes.values()), dict(classes), solo, concurrency, rss_before, runs)


def _report(m: Measurement, profile: str) -> None:
    print(f"lab: {m.nodes} nodes, profile {profile}, concurrency {m.concurrency}")
    for (product, transport), count in m.classes.items():
        print(f"  {count:3d} x {product} read over {transport.upper()}: one node alone "
              f"{m.solo[(product, transport)]:.2f} s")
    print(f"one node's scan time (t1, weighted by kind): {m.t1:.2f} s; sequential estate: {m.t1 * m.nodes:.0f} s")
    print(f"ideal for concurrency {m.concurrency} (perfect packing of the solo times): {m.ideal:.2f} s")
    for run in m.runs:
        result = run.result
        states = dict(Counter(n.state for n in result.nodes))
        sources = ", ".join(f"{k} {v}" for k, v in Counter(c.source for c in result.certificates).items())
        print(f"- {run.label}: {run.wall:.2f} s wall; {len(result.certificates)} certificate rows ({sources}); "
              f"nodes {states}; exit code {result.exit_code()}")
        print(f"    per node inside it: median {run.median:.2f} s, max {run.durations[-1]:.2f} s")
        print(f"    wall / one node = {run.wall / m.t1:.2f}   (sequential: {m.nodes})")
        print(f"    wall / ideal    = {run.wall / m.ideal:.2f}")
        print(f"    peak RSS of the scanner so far: {run.rss_after:.1f} MiB")
    print(f"RSS before the estate scans: {m.rss_before:.1f} MiB")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--nodes", type=int, default=100)
    parser.add_argument("--concurrency", type=int, default=16)
    parser.add_argument("--profile", default="realistic", choices=("fast", "demo", "realistic"))
    parser.add_argument("--start-timeout", type=float, default=600.0, help="seconds to wait for the lab")
    parser.add_argument("--no-naive", action="store_true",
                        help="skip the second run without per-cluster sharing of trust reads")
    parser.add_argument("--serve-lab", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--dir", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.serve_lab:
        asyncio.run(_serve_lab(args.nodes, args.profile, args.dir))
        return 0
    with tempfile.TemporaryDirectory(prefix="ucterm-bench-") as tmp:
        os.environ.setdefault("UCTERM_HOME", str(Path(tmp) / "home"))
        print(f"starting a lab of {args.nodes} nodes ({args.profile}) in a child process…", file=sys.stderr)
        child, inventory = _start_lab(args.nodes, args.profile, Path(tmp), args.start_timeout)
        try:
            measured = asyncio.run(_measure(inventory, args.concurrency, naive=not args.no_naive))
        finally:
            _stop_lab(child)
        _report(measured, args.profile)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
