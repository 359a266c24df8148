"""Binding ids: every binding has one, so `config.toml` `[keymap]` can remap it (App.set_keymap)."""

from __future__ import annotations

from collections.abc import Iterable, Mapping

from textual.binding import Binding
from textual.dom import DOMNode


def _classes() -> list[type[DOMNode]]:
    from ucterm.tui.app import UctermApp
    from ucterm.tui.screens import base, help, main, modals
    from ucterm.tui.widgets.certs.detail import CertDetail
    from ucterm.tui.widgets.certs.filter import FilterInput
    from ucterm.tui.widgets.certs.table import CertTable
    from ucterm.tui.widgets.estate.tree import EstateTree

    classes: list[type[DOMNode]] = [UctermApp, base.BaseScreen, main.MainScreen, help.HelpScreen,
                                    modals.ConfirmModal, modals.TextModal, modals.HostKeyModal,
                                    EstateTree, CertTable, CertDetail, FilterInput]
    try:
        from ucterm.tui.screens import jobs, renewal, run

        classes += [renewal.RenewalScreen, renewal.PlanScreen, run.RunScreen, jobs.JobsScreen]
        from ucterm.tui.screens import signed

        classes.append(signed.SignedCertScreen)
    except ImportError:
        pass
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
