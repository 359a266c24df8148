"""Entry points for `ucterm` / `ucterm tui` and `ucterm demo` (dispatched lazily by ucterm.cli).

`ucterm demo` starts the lab estate (demo profile) inside the app's own event loop, writes its
inventory (with known_hosts, the lab CA bundle and the `[[signer]]` of its AD CS web enrollment)
into the state dir, opens the app on it and offers the corp CA (that signer) and the lab CA as
signers; the lab stops when the app does.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ucterm import paths
from ucterm.errors import UctermError
from ucterm.tui.config import load_preferences

if TYPE_CHECKING:
    from ucterm.tui.app import UctermApp
    from ucterm.tui.session import Clock, Session


def demo_folder() -> Path:
    return paths.state_dir() / "demo"


class DemoStartup:
    """Builds the demo session inside the app's loop: start the lab, write its inventory, open it."""

    def __init__(self, profile: str = "demo", *, read_only: bool = False, inventory: Path | None = None,
                 clock: Clock | None = None, poll_interval: float | None = None, banner: str = "") -> None:
        """`banner`: said on the main screen while the demo runs (plain `ucterm` with no inventory yet)."""
        self.profile = profile
        self.banner = banner
        self.read_only = read_only
        self.inventory = inventory
        self.clock = clock
        #: How often the runner polls a restarting service; the lab restarts in seconds, not minutes.
        self.poll_interval = poll_interval if poll_interval is not None else (0.2 if profile == "fast" else 1.0)
        self.estate: Any = None

    async def __call__(self, app: UctermApp) -> Session:
        from ucterm.lab import LabEstate
        from ucterm.renewal.signers import LabCaSigner
        from ucterm.tui.session import Session, SignerChoice, system_clock

        clock = self.clock or system_clock
        estate = LabEstate.demo(profile=self.profile, now=clock())
        await estate.start()
        app.add_cleanup(estate.stop)
        self.estate = estate
        target = self.inventory or demo_folder() / "inventory.toml"
        estate.write_inventory(target)
        scan_file = target.parent / "last-scan.json"
        scan_file.unlink(missing_ok=True)  # a new lab every run: yesterday's demo scan is not this estate
        # The demo's corp CA (the lab's AD CS web enrollment, [[signer]] corp-adcs) comes first, from the inventory.
        signer = SignerChoice("lab", "the lab CA signs the CSR at once (demo)", lambda: LabCaSigner(estate.ca))
        from ucterm.renewal import RunnerSettings

        session = Session.open(target, read_only=self.read_only, clock=clock, scan_file=scan_file,
                               signers=(signer,), label=f"demo lab ({self.profile})")
        session.banner = self.banner
        session.runner_settings = RunnerSettings(poll_interval=self.poll_interval)
        return session


def _run(app: UctermApp) -> int:
    result = app.run()
    return int(result or 0)


class NoTerminalError(UctermError):
    """The terminal application was started without a terminal: it could not run (exit 3)."""

    exit_code = 3


def _need_a_terminal() -> None:
    """The application draws on a terminal and reads its keys: refuse at once, in one sentence, when
    there is none (a script, a cron job, a pipe), rather than draw into the void."""
    if not (sys.stdin.isatty() and sys.stdout.isatty()):
        raise NoTerminalError("the terminal application needs a terminal (standard input and output are not "
                              "one); in scripts use `ucterm scan`, `ucterm renew` or `ucterm jobs`.")


def no_inventory_banner(inventory: Path) -> str:
    """What plain `ucterm` says on screen when it opens the demo because there is no inventory yet."""
    try:
        shown = "~/" + str(inventory.relative_to(Path.home()))
    except ValueError:
        shown = str(inventory)
    return (f"This is the demo lab: no inventory at {shown} yet. Write one (see the README; "
            "`ucterm lab --write-inventory F` writes an example) or start with --inventory F.")


def run_tui(args: argparse.Namespace) -> int:
    from ucterm.tui.app import UctermApp
    from ucterm.tui.session import Session

    _need_a_terminal()
    inventory = Path(args.inventory) if getattr(args, "inventory", None) else paths.default_inventory()
    preferences = load_preferences(paths.preferences_file(inventory))
    read_only = bool(getattr(args, "read_only", False))
    if not inventory.exists():
        if getattr(args, "inventory", None):
            from ucterm.errors import InventoryError

            raise InventoryError(f"{inventory} does not exist; check the path, or run `ucterm demo` to try "
                                 "ucterm on the embedded lab.")
        print(f"ucterm: no inventory at {inventory} yet; starting the demo lab instead "
              "(see README for the inventory format).", file=sys.stderr)
        return _run(UctermApp(startup=DemoStartup("demo", read_only=read_only,
                                                  banner=no_inventory_banner(inventory)),
                              preferences=preferences))
    session = Session.open(inventory, read_only=read_only, scan_file=paths.last_scan_file(),
                           label=inventory.name)
    return _run(UctermApp(session, preferences=preferences))


def run_demo(args: argparse.Namespace) -> int:
    from ucterm.tui.app import UctermApp

    _need_a_terminal()
    preferences = load_preferences(paths.preferences_file(None))
    inventory = Path(args.inventory) if getattr(args, "inventory", None) else None
    startup = DemoStartup(getattr(args, "profile", "demo") or "demo",
                          read_only=bool(getattr(args, "read_only", False)), inventory=inventory)
    return _run(UctermApp(startup=startup, preferences=preferences))
