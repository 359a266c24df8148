"""Suite-wide fixtures: every test runs with its own ucterm home, never the user's files."""

from __future__ import annotations

from pathlib import Path

import pytest


@pytest.fixture(autouse=True)
def _ucterm_home(tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch) -> Path:
    home = tmp_path_factory.mktemp("ucterm-home")
    monkeypatch.setenv("UCTERM_HOME", str(home))
    monkeypatch.setenv("TZ", "UTC")
    return home
