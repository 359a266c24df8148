"""Benchmark: scan a lab estate of N nodes against the physical limit, the slowest node alone.

    .venv/bin/python bench/scan.py [--nodes 100] [--profile realistic] [--concurrency N]
    .venv/bin/python bench/scan.py --nodes 500 --profile fast      # the many-nodes check

The lab runs in a child process so that its CPU (SSH servers, TLS handshakes) does not share
the scanner's event loop and its memory does not count as the scanner's. In one run the script
measures:

- the estate scan's wall time T, as the TUI and `ucterm scan` run it (every node in flight,
  the jumpbox's bounds of vos.limits), its client CPU time and the limiter's peaks;
- the scanner process's peak resident memory (ru_maxrss) after the estate scan;
- then one node of each kind alone (`scan_node`): kinds by release, role (the publisher also
  asks for the cluster's members) and how the scan read it (certmgr REST, or the CLI: releases
  before 14, and v14+ nodes whose HTTPS certificate does not verify, e.g. an expired tomcat);
- T / the slowest solo time: how far the estate is from the physical limit, one node's own time
  (ideal 1.0; trust certificates shared within a cluster can even make it lower).

The figures are from one run on whatever machine runs it; on a shared machine they are noisy.
It prints them and exits; the lab child is stopped on the way out.
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
    from ucterm.scan.model import NodeResult, ScanResult
    from ucterm.vos.limits import ConnectionLimiter

#: (release, role, transport) of a node, e.g. ("14.0", "subscriber", "rest").
Kind = tuple[str, str, str]


# --------------------------------------------------------------------------------------------
# The lab child


async def _serve_lab(nodes: int, profile: str, folder: Path) -> None:
    """Run LabEstate.scaled(nodes) until the parent closes our stdin."""
    from ucterm.lab import LabEstate

    estate = LabEstate.scaled(nodes, profile=profile)
    async with estate:
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


def _cpu_seconds(pid: int) -> float:
    """User + system CPU of another process so far (Linux /proc), 0 where unknown."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    except (OSError, ValueError, IndexError):
        return 0.0


def _maxrss_mib() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # KiB on Linux


@dataclass
class Measurement:
    nodes: int
    wall: float
    cpu: float
    rss: float
    rss_before: float
    result: ScanResult
    limiter: ConnectionLimiter
    #: How many nodes of each kind the estate has, and one such node's scan time alone.
    kinds: Counter[Kind]
    solo: dict[Kind, float]
    concurrency: int | None
    #: CPU the lab (the simulated appliances, sharing this machine) spent during the estate scan.
    lab_cpu: float = 0.0

    @property
    def slowest(self) -> tuple[Kind, float] | None:
        if not self.solo:
            return None
        kind = max(self.solo, key=lambda k: self.solo[k])
        return kind, self.solo[kind]

    @property
    def rest_solo(self) -> float | None:
        times = [t for (_, _, transport), t in self.solo.items() if transport == "rest"]
        return max(times) if times else None


def _kind(result: ScanResult, node: NodeResult) -> Kind:
    sources = {c.source for c in result.for_node(node.cluster, node.node)}
    release = ".".join((node.version or "?").split(".")[:2])
    return release, node.role or "?", "rest" if "rest" in sources else "cli"


async def _measure(inventory_path: Path, concurrency: int | None, profile_to: Path | None = None,
                   with_solo: bool = True, lab_pid: int = 0) -> Measurement:
    from ucterm.credentials import CredentialStore
    from ucterm.inventory import load_inventory
    from ucterm.scan import scan_estate, scan_node
    from ucterm.vos.limits import ConnectionLimiter

    inventory: Inventory = load_inventory(inventory_path)
    rss_before = _maxrss_mib()
    limiter = ConnectionLimiter()
    profiler = None
    if profile_to is not None:
        from pyinstrument import Profiler  # `pip install pyinstrument`; only with --pyinstrument

        profiler = Profiler(async_mode="disabled")
        profiler.start()
    started, cpu0, lab0 = time.perf_counter(), time.process_time(), _cpu_seconds(lab_pid)
    result = await scan_estate(inventory, CredentialStore(), concurrency=concurrency, limiter=limiter)
    wall, cpu = time.perf_counter() - started, time.process_time() - cpu0
    lab_cpu = _cpu_seconds(lab_pid) - lab0
    if profiler is not None and profile_to is not None:
        profiler.stop()
        profile_to.write_text(profiler.output_text(unicode=True, show_all=False))
    rss = _maxrss_mib()
    kinds: Counter[Kind] = Counter()
    sample: dict[Kind, tuple[str, str]] = {}
    for n in result.nodes:
        kind = _kind(result, n)
        kinds[kind] += 1
        sample.setdefault(kind, (n.cluster, n.node))
    solo: dict[Kind, float] = {}
    for kind, (cluster_name, fqdn) in sorted(sample.items()) if with_solo else ():
        cluster = inventory.cluster(cluster_name)
        started = time.perf_counter()
        one = await scan_node(cluster, cluster.node(fqdn), CredentialStore())
        solo[kind] = time.perf_counter() - started
        if one.result.state != "ok":
            raise SystemExit(f"bench: the single-node scan of {fqdn} ended {one.result.state}: {one.result.error}")
    return Measurement(len(result.nodes), wall, cpu, rss, rss_before, result, limiter, kinds, solo, concurrency,
                       lab_cpu)


def _report(m: Measurement, profile: str) -> None:
    result = m.result
    states = dict(Counter(n.state for n in result.nodes))
    sources = ", ".join(f"{k} {v}" for k, v in sorted(Counter(c.source for c in result.certificates).items()))
    errors = [n for n in result.nodes if n.state != "ok"]
    print(f"lab: {m.nodes} nodes, profile {profile}, "
          f"concurrency {m.concurrency if m.concurrency else 'every node at once'}")
    print(f"estate scan: {m.wall:.2f} s wall, {m.cpu:.2f} s client CPU ({m.lab_cpu:.2f} s of the lab's on the same "
          f"{os.cpu_count()} cores); {len(result.certificates)} certificate rows ({sources}); nodes {states}; "
          f"exit code {result.exit_code()}")
    print(f"  in flight at once: {m.limiter.sockets_peak} sockets (limit {m.limiter.socket_limit}), "
          f"{m.limiter.peak} handshakes (limit {m.limiter.limit})")
    for kind, count in sorted(m.kinds.items()):
        release, role, transport = kind
        alone = f": one alone {m.solo[kind]:.2f} s" if kind in m.solo else ""
        print(f"  {count:3d} x {release} {role} read over {transport.upper()}{alone}")
    if m.slowest is not None:
        kind, slowest = m.slowest
        print(f"slowest node alone: {slowest:.2f} s ({' '.join(kind)})")
        if m.rest_solo is not None:
            print(f"REST node alone (slowest REST kind): {m.rest_solo:.2f} s")
        print(f"estate wall / slowest node alone = {m.wall / slowest:.2f}   (ideal 1.00; sequential {m.nodes})")
    print(f"peak RSS of the scanner: {m.rss:.1f} MiB after the estate scan ({m.rss_before:.1f} MiB before)")
    if errors:
        print(f"nodes not ok: {len(errors)}")
        for n in errors[:5]:
            print(f"  {n.node}: {n.state}: {n.error} {list(n.notes)}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--nodes", type=int, default=100)
    parser.add_argument("--concurrency", type=int, default=None, help="as `ucterm scan --concurrency`")
    parser.add_argument("--profile", default="realistic", choices=("fast", "demo", "realistic"))
    parser.add_argument("--start-timeout", type=float, default=900.0, help="seconds to wait for the lab")
    parser.add_argument("--pyinstrument", type=Path, metavar="FILE",
                        help="profile the estate scan with pyinstrument and write the report to FILE")
    parser.add_argument("--no-solo", action="store_true", help="skip the single-node scans (no ratio)")
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
            measured = asyncio.run(_measure(inventory, args.concurrency, args.pyinstrument, not args.no_solo,
                                            child.pid))
        finally:
            _stop_lab(child)
        _report(measured, args.profile)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
