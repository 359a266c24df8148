"""Where ucterm keeps its files, from platformdirs.

Config (inventory, preferences) lives in the user config dir; scan results and renewal jobs in
the user state dir; known_hosts in the user data dir. `UCTERM_HOME` overrides all of them with
one folder, which tests and rehearsals use to stay out of the user's real files.
"""

from __future__ import annotations

import os
from pathlib import Path

import platformdirs

APP = "ucterm"


def _home_override() -> Path | None:
    value = os.environ.get("UCTERM_HOME")
    return Path(value) if value else None


def config_dir() -> Path:
    """Inventory and preferences."""
    home = _home_override()
    return home / "config" if home else Path(platformdirs.user_config_dir(APP))


def state_dir() -> Path:
    """Last scan, renewal journals."""
    home = _home_override()
    return home / "state" if home else Path(platformdirs.user_state_dir(APP))


def data_dir() -> Path:
    """known_hosts and other long-lived data."""
    home = _home_override()
    return home / "data" if home else Path(platformdirs.user_data_dir(APP))


def log_dir() -> Path:
    home = _home_override()
    return home / "log" if home else Path(platformdirs.user_log_dir(APP))


def default_inventory() -> Path:
    return config_dir() / "inventory.toml"


def preferences_file(inventory: Path | None = None) -> Path:
    """`config.toml` beside the inventory: preferences are not estate data."""
    return (inventory.parent if inventory else config_dir()) / "config.toml"


def default_known_hosts() -> Path:
    return data_dir() / "known_hosts"


def jobs_dir() -> Path:
    return state_dir() / "jobs"


def last_scan_file() -> Path:
    return state_dir() / "last-scan.json"
