"""`ucterm demo` in a real pseudo-terminal (tmux): the installed entry point, not only the class.

Starts `.venv/bin/ucterm demo --profile fast` in a private tmux server at 100×30, waits for the
scan to show the estate, presses keys and reads the screen back with `tmux capture-pane`.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pytest

UCTERM = Path(sys.executable).with_name("ucterm")
TMUX = shutil.which("tmux")

pytestmark = [pytest.mark.timeout(120),
              pytest.mark.skipif(TMUX is None or not UCTERM.exists(), reason="needs tmux and the ucterm script")]


class Tmux:
    def __init__(self, socket: str) -> None:
        self.socket = socket

    def __call__(self, *args: str, check: bool = True) -> str:
        assert TMUX is not None
        result = subprocess.run([TMUX, "-L", self.socket, *args], capture_output=True, text=True, timeout=20)
        if check and result.returncode != 0:
            raise AssertionError(f"tmux {' '.join(args)}: {result.stderr.strip()}")
        return result.stdout

    def screen(self) -> str:
        return self("capture-pane", "-p", "-t", "demo")

    def wait_for(self, text: str, timeout: float = 30.0, what: str = "") -> str:
        start = time.monotonic()
        while True:
            screen = self.screen()
            if text in screen:
                return screen
            if time.monotonic() - start > timeout:
                raise AssertionError(f"{what or text!r}: {text!r} did not appear within {timeout:.0f} s; "
                                     f"the screen shows:\n{screen}")
            time.sleep(0.2)

    def wait_gone(self, text: str, timeout: float = 30.0, what: str = "") -> str:
        start = time.monotonic()
        while True:
            screen = self.screen()
            if text not in screen:
                return screen
            if time.monotonic() - start > timeout:
                raise AssertionError(f"{what or text!r}: {text!r} still shown after {timeout:.0f} s; "
                                     f"the screen shows:\n{screen}")
            time.sleep(0.2)

    def keys(self, *keys: str) -> None:
        self("send-keys", "-t", "demo", *keys)


def test_ucterm_demo_in_a_real_terminal(tmp_path: Path) -> None:
    tmux = Tmux(f"ucterm-test-{os.getpid()}")
    env = {**os.environ, "UCTERM_HOME": str(tmp_path / "home"), "TZ": "UTC", "TERM": "xterm-256color"}
    env.pop("NO_COLOR", None)
    command = f"{UCTERM} demo --profile fast; echo ucterm-exit=$?; sleep 30"
    try:
        tmux("-f", "/dev/null", "new-session", "-d", "-s", "demo", "-x", "100", "-y", "30",
             *[arg for key, value in env.items() if key in ("UCTERM_HOME", "TZ", "TERM", "PATH", "HOME")
               for arg in ("-e", f"{key}={value}")], command)
        # The status bar's "scanned <date>" once the first scan is in (the tree says "not scanned" before).
        tmux.wait_for("scanned 20", timeout=90)
        screen = tmux.wait_for("EXPIRED", timeout=10, what="the expired certificates in the table")
        assert "ucterm" in screen
        assert "Filter" in screen and "Renew" in screen  # footer hints
        # The first key proves the keyboard reaches the app (x toggles "expiring only").
        tmux.keys("x")
        tmux.wait_for("expiring", what="the first key")
        tmux.keys("x")
        tmux.keys("/")
        tmux.wait_for("Clear filter", what="the filter's footer")
        tmux.keys("-l", "cup-xmpp")
        tmux.wait_for("/cup-xmpp", what="the filter applied as typed")
        tmux.keys("Enter")
        screen = tmux.wait_for("n Renew", what="the table's footer after enter")
        assert "/cup-xmpp" in screen and "0 shown" not in screen
        tmux.keys("?")
        screen = tmux.wait_for("Help ·")
        assert "certificate table" in screen
        time.sleep(0.3)
        tmux.keys("Escape")
        # A lone ESC read together with the next key is alt+<key> in any terminal: send q only once
        # the app has shown that it read the ESC on its own (the help is gone), however slow the machine.
        screen = tmux.wait_gone("Help ·", what="the help after esc")
        assert "/cup-xmpp" in screen, screen
        tmux.keys("q")
        screen = tmux.wait_for("ucterm-exit=", timeout=20)
        assert "ucterm-exit=0" in screen, screen
        assert "Traceback" not in screen
        assert (tmp_path / "home" / "state" / "demo" / "inventory.toml").exists()
    finally:
        tmux("kill-server", check=False)
