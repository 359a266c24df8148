"""TUI benchmarks: start-up to first frame, and key-to-screen latency under streaming logs.

    .venv/bin/python bench/tui.py            # both, prints one line per figure
    .venv/bin/python bench/tui.py --lab      # latency during a real renewal on the demo lab

1. start-up: a fresh interpreter imports the app, loads the recorded estate (tests/tui/fixtures)
   and renders the main screen; measured from process start to the first frame (5 runs, median).
2. key-to-screen: a renewal's transcript streams on three nodes (the engine's events, through the
   run screen's sink as the runner delivers them) while `]` switches the log tab; measured from the
   key event to the frame that shows the new tab (median, p95, max over 60 keys). With --lab the stream is a
   real renewal (CUCM 12.5 CallManager on two nodes) against the demo lab in the same process.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
FIXTURES = ROOT / "tests" / "tui" / "fixtures"

_CHILD = r"""
import time
t0 = time.perf_counter()
import asyncio, datetime as dt, sys
from pathlib import Path
from ucterm.tui.app import UctermApp
from ucterm.tui.session import Session, frozen_clock
from ucterm.inventory import load_inventory
from ucterm.scan.model import load_scan
t_import = time.perf_counter()
fixtures = Path(sys.argv[1])
now = dt.datetime(2026, 11, 27, 8, tzinfo=dt.UTC)
session = Session(inventory=load_inventory(fixtures / "inventory.toml"), inventory_path=fixtures / "inventory.toml",
                  scan=load_scan(fixtures / "scan.json"), clock=frozen_clock(now))
async def main():
    app = UctermApp(session, scan_on_start=False)
    first = asyncio.get_running_loop().create_future()
    async with app.run_test(size=(80, 24)) as pilot:
        app.main_screen.call_after_refresh(lambda: first.done() or first.set_result(time.perf_counter()))
        t_frame = await first
    print(f"{t_import - t0:.4f} {t_frame - t0:.4f}")
asyncio.run(main())
"""


def startup(runs: int = 5) -> tuple[float, float, float]:
    """(import s, first frame s from interpreter start, whole process wall s) medians."""
    imports, frames, walls = [], [], []
    env = {**os.environ, "UCTERM_HOME": tempfile.mkdtemp(prefix="ucterm-bench-"), "TZ": "UTC"}
    for _ in range(runs):
        start = time.perf_counter()
        out = subprocess.run([sys.executable, "-c", _CHILD, str(FIXTURES)], capture_output=True, text=True,
                             env=env, timeout=120, check=True).stdout.split()
        walls.append(time.perf_counter() - start)
        imports.append(float(out[0]))
        frames.append(float(out[1]))
    return statistics.median(imports), statistics.median(frames), statistics.median(walls)


async def _latencies(app: Any, pilot: Any, screen: Any, keys: int, stop: asyncio.Event) -> list[float]:
    from textual import events

    logs = screen.query_one("#logs")
    out: list[float] = []
    loop = asyncio.get_running_loop()
    for _ in range(keys):
        if stop.is_set():
            break
        if app.screen is not screen:  # a question from the runner: answer and go on
            await pilot.press("y")
            await asyncio.sleep(0.05)
            continue
        before = logs.active
        frame: asyncio.Future[float] = loop.create_future()
        t0 = time.perf_counter()
        app.post_message(events.Key("right_square_bracket", "]"))  # next log tab: always visible
        while logs.active == before:
            await asyncio.sleep(0)
            if app.screen is not screen or time.perf_counter() - t0 > 5:
                break
        if logs.active == before:
            # A runner question opened over the run screen and took the key: not a latency sample.
            continue
        logs.call_after_refresh(lambda f=frame: f.done() or f.set_result(time.perf_counter()))
        out.append(await frame - t0)
        await asyncio.sleep(0.05)
    return out


async def synthetic(keys: int = 60, rate: int = 300) -> tuple[list[float], int]:
    """Latencies while `rate` transcript lines per second and node stream on three nodes."""
    sys.path.insert(0, str(FIXTURES.parent))
    import datetime as dt

    from ucterm.inventory import load_inventory
    from ucterm.renewal.events import JobTranscriptLine, StepProgress
    from ucterm.scan.model import load_scan
    from ucterm.tui.app import UctermApp
    from ucterm.tui.screens.run import RunScreen
    from ucterm.tui.session import Session, frozen_clock

    session = Session(inventory=load_inventory(FIXTURES / "inventory.toml"),
                      inventory_path=FIXTURES / "inventory.toml", scan=load_scan(FIXTURES / "scan.json"),
                      clock=frozen_clock(dt.datetime(2026, 11, 27, 8, tzinfo=dt.UTC)))
    app = UctermApp(session, scan_on_start=False)
    sent = 0
    async with app.run_test(size=(120, 40)) as pilot:
        plan = session.build_plan(session.renewal_defaults("hq", "tomcat", True))
        screen = RunScreen(plan, "bench", session=session)
        await app.push_screen(screen)
        await pilot.pause()
        stop = asyncio.Event()
        nodes = list(plan.nodes)
        step = plan.steps[-4]

        async def stream() -> None:
            nonlocal sent
            batch = max(1, rate // 50)
            while not stop.is_set():
                for node in nodes:
                    for _ in range(batch):
                        sent += 1
                        screen._sink(JobTranscriptLine(  # the runner's sink, as in a real job
                            node=node, direction="received", text=f"Cisco Tomcat[STARTING] line {sent}",
                            job="bench", step=step.id))
                screen._sink(StepProgress(job="bench", step=step.id, node=nodes[0],
                                          message=f"waiting for STARTED ({sent})"))
                await asyncio.sleep(0.02)

        task = asyncio.create_task(stream())
        await asyncio.sleep(0.5)
        started = time.perf_counter()
        latencies = await _latencies(app, pilot, screen, keys, stop)
        elapsed = time.perf_counter() - started
        stop.set()
        await task
    return latencies, int(sent / max(elapsed, 1e-9))


async def lab(keys: int = 60) -> tuple[list[float], int]:
    """Latencies during a real renewal on the demo lab (branch CallManager, both nodes)."""
    from ucterm.tui.app import UctermApp
    from ucterm.tui.launch import DemoStartup
    from ucterm.tui.messages import EngineEvents
    from ucterm.tui.screens.modals import ConfirmModal
    from ucterm.tui.screens.run import RunScreen

    lines = 0

    def hook(message: Any) -> None:
        nonlocal lines
        if isinstance(message, EngineEvents):
            lines += sum(1 for e in message.events if type(e).__name__ == "JobTranscriptLine")

    app = UctermApp(startup=DemoStartup("demo"))
    async with app.run_test(size=(120, 40), message_hook=hook) as pilot:
        while not (app.session and app.session.scan is not None and not app.main_screen.progress):
            await pilot.pause(0.1)
        app.open_renewal("branch", "CallManager")
        await pilot.pause(0.3)
        app.screen.multi = False
        await pilot.press("p")
        await pilot.pause(0.3)
        await pilot.press("x")
        while not isinstance(app.screen, ConfirmModal):
            await pilot.pause(0.05)
        await pilot.press("y")
        while not any(isinstance(s, RunScreen) for s in app.screen_stack):
            await pilot.pause(0.05)
        screen = next(s for s in app.screen_stack if isinstance(s, RunScreen))
        stop = asyncio.Event()
        started = time.perf_counter()
        count0 = lines
        latencies = await _latencies(app, pilot, screen, keys, stop)
        rate = int((lines - count0) / max(time.perf_counter() - started, 1e-9))
    return latencies, rate


def report(name: str, latencies: list[float], rate: int) -> None:
    ms = sorted(x * 1000 for x in latencies)
    p95 = ms[min(len(ms) - 1, int(len(ms) * 0.95))]
    print(f"{name}: key-to-screen median {statistics.median(ms):.1f} ms, p95 {p95:.1f} ms, max {ms[-1]:.1f} ms "
          f"over {len(ms)} keys while {rate} transcript lines/s streamed")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="ucterm TUI benchmarks")
    parser.add_argument("--lab", action="store_true", help="latency during a real renewal on the demo lab")
    parser.add_argument("--skip-startup", action="store_true")
    args = parser.parse_args(argv)
    os.environ["UCTERM_HOME"] = tempfile.mkdtemp(prefix="ucterm-bench-")
    os.environ.setdefault("TZ", "UTC")
    if not args.skip_startup:
        imports, frame, wall = startup()
        print(f"start-up: first frame {frame * 1000:.0f} ms after interpreter start (imports {imports * 1000:.0f} ms; "
              f"whole process incl. shutdown {wall * 1000:.0f} ms), median of 5, 80x24, recorded estate")
    latencies, rate = asyncio.run(synthetic())
    report("streaming (3 nodes, synthetic engine events)", latencies, rate)
    if args.lab:
        latencies, rate = asyncio.run(lab())
        report("streaming (real renewal on the demo lab, 2 nodes)", latencies, rate)
    return 0


if __name__ == "__main__":
    sys.exit(main())
