"""Preferences: `config.toml` beside the inventory in the user config dir (design.md §3).

Preferences are not estate data and never hold secrets: the theme and a `[keymap]` table that
maps binding ids (`main.refresh`) to keys (`f5`). Unknown ids and bad values are reported as
warnings the app shows once at start, never as a refusal to start.
"""

from __future__ import annotations

import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import tomli_w

from ucterm.files import atomic_write

KNOWN_KEYS = frozenset({"theme", "keymap"})


@dataclass(frozen=True)
class Preferences:
    path: Path | None = None
    theme: str | None = None
    keymap: dict[str, str] = field(default_factory=dict)
    warnings: tuple[str, ...] = ()


def load_preferences(path: Path | None) -> Preferences:
    """Read `path`; a missing file gives the defaults, a broken one the defaults and a warning."""
    if path is None or not path.exists():
        return Preferences(path=path)
    try:
        raw: dict[str, Any] = tomllib.loads(path.read_text("utf-8"))
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError) as exc:
        return Preferences(path=path, warnings=(f"{path}: cannot be read ({exc}); using the defaults.",))
    warnings: list[str] = []
    for key in raw:
        if key not in KNOWN_KEYS:
            warnings.append(f'{path}: unknown setting "{key}" ignored (known: theme, keymap).')
    theme = raw.get("theme")
    if theme is not None and not isinstance(theme, str):
        warnings.append(f"{path}: theme must be a string such as \"textual-dark\"; ignored.")
        theme = None
    keymap: dict[str, str] = {}
    table = raw.get("keymap", {})
    if not isinstance(table, dict):
        warnings.append(f"{path}: [keymap] must be a table of binding id = \"keys\"; ignored.")
        table = {}
    for binding_id, keys in table.items():
        if isinstance(keys, str) and keys.strip():
            keymap[str(binding_id)] = keys.strip()
        else:
            warnings.append(f'{path}: keymap "{binding_id}" must be a key string such as "f5"; ignored.')
    return Preferences(path=path, theme=theme, keymap=keymap, warnings=tuple(warnings))


def save_theme(path: Path, theme: str) -> None:
    """Remember the theme, keeping whatever else the file holds."""
    document: dict[str, Any] = {}
    if path.exists():
        try:
            document = tomllib.loads(path.read_text("utf-8"))
        except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError):
            return  # never overwrite a file the user is editing by hand
    if document.get("theme") == theme:
        return
    document["theme"] = theme
    atomic_write(path, tomli_w.dumps(document).encode("utf-8"), mode=0o644)
