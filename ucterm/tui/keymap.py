"""Binding ids: every binding has one, so `config.toml` `[keymap]` can remap it (App.set_keymap)."""

from __future__ import annotations

from collections.abc import Iterable, Mapping

from textual.binding import Binding
from textual.dom import DOMNode


def _classes() -> list[type[DOMNode]]:
    """Every widget, screen and app class of `ucterm.tui` that declares bindings, found by importing
    the package's modules (a hand-kept list fell behind: new bindings read as "unknown ids")."""
    import importlib
    import inspect
    import pkgutil

    import ucterm.tui as package

    classes: list[type[DOMNode]] = []
    for info in pkgutil.walk_packages(package.__path__, prefix=f"{package.__name__}."):
        module = importlib.import_module(info.name)
        for _, cls in inspect.getmembers(module, inspect.isclass):
            if (issubclass(cls, DOMNode) and cls.__module__ == module.__name__ and "BINDINGS" in cls.__dict__
                    and cls not in classes):
                classes.append(cls)
    return classes


def bindings(classes: Iterable[type[DOMNode]] | None = None) -> list[tuple[str, Binding]]:
    """(owner class name, binding) for every binding with an id, in declaration order."""
    out = []
    for cls in classes or _classes():
        for raw in cls.__dict__.get("BINDINGS", []):
            if isinstance(raw, Binding) and raw.id:
                out.append((cls.__name__, raw))
    return out


def known_ids() -> set[str]:
    return {b.id for _, b in bindings() if b.id}


def unknown_ids(keymap: Mapping[str, str]) -> list[str]:
    known = known_ids()
    return sorted(k for k in keymap if k not in known)
