"""Make the README's screenshots (SVG) from the demo: `python screenshots/make.py [--out DIR]`.

Rerunnable: starts the embedded lab (fast profile) inside the app, exactly as `ucterm demo`
does, waits for the scan, then drives the keyboard and saves one SVG per screen:

  main.svg          the estate at 120×36 (tree, certificate table, detail pane)
  main-80x24.svg    the same on an 80×24 jumpbox terminal
  details.svg       the detail pane of a multi-server certificate, zoomed
  plan.svg          the plan preview of a renewal (every step, node, transport, command)
  renewal.svg       a renewal running with the lab CA (steps and per-node transcript)
  help.svg          `?` help for the certificate table
"""

from __future__ import annotations

import argparse
import asyncio
import os
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent


async def _wait(pilot: Any, condition: Callable[[], object], what: str, timeout: float = 60.0) -> None:
    start = time.monotonic()
    while not condition():
        if time.monotonic() - start > timeout:
            raise SystemExit(f"screenshots: timed out after {timeout:.0f} s waiting for {what} "
                             f"(screen: {type(pilot.app.screen).__name__})")
        await pilot.pause(0.05)


async def _shoot(out: Path, size: tuple[int, int], name: str, drive: Callable[[Any, Any], Any]) -> None:
    from ucterm.tui.app import UctermApp
    from ucterm.tui.launch import DemoStartup

    app = UctermApp(startup=DemoStartup("fast"))
    async with app.run_test(size=size) as pilot:
        await _wait(pilot, lambda: app.session is not None and app.session.scan is not None
                    and app.main_screen is not None and not app.main_screen.progress, "the first scan")
        app.clear_notifications()
        await pilot.pause(0.2)
        await drive(app, pilot)
        await pilot.pause(0.3)
        app.clear_notifications()
        await pilot.pause(0.1)
        (out / f"{name}.svg").write_text(app.export_screenshot(title=f"ucterm · {name}"), "utf-8")
    print(f"wrote {out / (name + '.svg')}")


async def _main_screen(app: Any, pilot: Any) -> None:
    await pilot.press("1", "down", "2")  # hq in the tree, back to the table


async def _details(app: Any, pilot: Any) -> None:
    await pilot.press("slash", *"tomcat hq", "enter", "enter")


async def _plan(app: Any, pilot: Any) -> None:
    await pilot.press("slash", *"tomcat hq", "enter", "n")
    await pilot.pause()
    await pilot.press("p")
    await pilot.pause()
    await pilot.press(*(["down"] * 8))


async def _renewal(app: Any, pilot: Any) -> None:
    from ucterm.tui.screens.run import RunScreen

    await pilot.press("slash", *"tomcat branch", "enter", "n")
    await pilot.pause()
    await pilot.press("p")
    await pilot.pause()
    from ucterm.tui.screens.modals import ConfirmModal

    await pilot.press("x")
    await _wait(pilot, lambda: isinstance(app.screen, ConfirmModal), "the confirmation")
    await pilot.pause(0.2)
    await pilot.press("y")
    await _wait(pilot, lambda: any(isinstance(s, RunScreen) for s in app.screen_stack), "the run screen")
    screen = next(s for s in app.screen_stack if isinstance(s, RunScreen))
    start = time.monotonic()
    while screen.query_one("#steps").counts()[0] < 8 and screen.state == "running":
        if isinstance(app.screen, ConfirmModal):  # the runner asks before the upload: yes
            await pilot.press("y")
        if time.monotonic() - start > 90:
            raise SystemExit("screenshots: the renewal did not get far enough in 90 s")
        await pilot.pause(0.1)
    while app.screen is not screen:  # a last question on top: answer it so the shot shows the job
        await pilot.press("y")
        await pilot.pause(0.2)


async def _help(app: Any, pilot: Any) -> None:
    await pilot.press("question_mark")


SHOTS: list[tuple[str, tuple[int, int], Callable[[Any, Any], Any]]] = [
    ("main", (120, 36), _main_screen),
    ("main-80x24", (80, 24), _main_screen),
    ("details", (100, 32), _details),
    ("plan", (120, 36), _plan),
    ("renewal", (120, 36), _renewal),
    ("help", (100, 32), _help),
]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=HERE, help="folder for the SVGs (default: screenshots/)")
    parser.add_argument("--only", nargs="*", help="only these screenshots (by name)")
    args = parser.parse_args(argv)
    args.out.mkdir(parents=True, exist_ok=True)
    # Never the user's files: the demo's inventory, scan and jobs go into a throwaway home.
    os.environ["UCTERM_HOME"] = tempfile.mkdtemp(prefix="ucterm-shots-")
    os.environ.setdefault("TZ", "UTC")
    for name, size, drive in SHOTS:
        if args.only and name not in args.only:
            continue
        asyncio.run(_shoot(args.out, size, name, drive))
    return 0


if __name__ == "__main__":
    sys.exit(main())
