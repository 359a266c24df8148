"""`ucterm scan`: the headless face of the estate scan (design.md §3).

stdout carries only what was asked for (the table, pure JSON or CSV); progress goes to stderr
and only when stderr is a terminal, so cron jobs and pipes stay quiet. The exit code is the
scan's verdict (0 ok, 1 warning, 2 critical/expired, 3 incomplete), so a monitoring wrapper
needs nothing but `$?`.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import shutil
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import TextIO

from ucterm import paths
from ucterm.credentials import CredentialStore, terminal_prompter
from ucterm.errors import UctermError
from ucterm.events import Event, NodeNotice
from ucterm.files import atomic_write
from ucterm.inventory import Cluster, Inventory, load_inventory
from ucterm.scan import ScanProgress, scan_estate, selected_clusters, warm_credentials
from ucterm.scan.model import ScanResult, load_scan, save_scan
from ucterm.scan.render import (
    problem_sentences,
    render_csv,
    render_json,
    render_prometheus,
    render_table,
)
from ucterm.text import visible


class ScanArgumentError(UctermError):
    """A scan option has a value that cannot work (negative days, crit above warn)."""

    exit_code = 3


def run(args: argparse.Namespace) -> int:
    """Scan, print the requested form, write the Prometheus file and keep the result for the TUI."""
    concurrency = _concurrency(args)
    inventory = load_inventory(getattr(args, "inventory", None))
    warn_days, crit_days = _thresholds(args, inventory)
    clusters: Sequence[str] | None = getattr(args, "cluster", None) or None
    chosen = selected_clusters(inventory, clusters)  # unknown names fail here, before any connection
    _something_to_scan(inventory, chosen, clusters)
    for warning in inventory.warnings:
        print(f"ucterm: warning: {visible(warning)}", file=sys.stderr)
    interactive = sys.stdin.isatty() and sys.stderr.isatty()
    credentials = CredentialStore(prompter=terminal_prompter if interactive else None)
    if interactive:
        # Ask for `prompt` passwords now, once per cluster, before the progress line takes the terminal.
        warm_credentials(inventory, credentials, clusters)
    progress = Progress(sys.stderr, {c.name: len(c.nodes) for c in chosen}) if sys.stderr.isatty() else None
    try:
        result = asyncio.run(scan_estate(
            inventory, credentials, sink=progress, warn_days=warn_days, crit_days=crit_days,
            clusters=clusters, probe=not getattr(args, "no_probe", False), concurrency=concurrency))
    finally:
        if progress is not None:
            progress.clear()
    _keep(result, clusters)
    _accepted_keys_to_stderr(result, inventory)
    if getattr(args, "json", False):
        sys.stdout.write(render_json(result))
        _problems_to_stderr(result)
    elif getattr(args, "csv", False):
        sys.stdout.write(render_csv(result))
        _problems_to_stderr(result)
    else:
        tty = sys.stdout.isatty()
        width = shutil.get_terminal_size().columns if tty else None
        color = tty and not os.environ.get("NO_COLOR") and os.environ.get("TERM") != "dumb"
        sys.stdout.write(render_table(result, width=width, color=color))
    sys.stdout.flush()
    if getattr(args, "prometheus", None):
        # After the output: a file that cannot be written must not cost the user the review itself.
        _write_prometheus(Path(args.prometheus), result)
    return result.exit_code()


def _concurrency(args: argparse.Namespace) -> int:
    value = getattr(args, "concurrency", None)
    if value is None:
        return 16
    if value < 1:
        raise ScanArgumentError(f"--concurrency is {value}; give the number of nodes to read at the same time, "
                                "1 or more (default 16).")
    return int(value)


def _something_to_scan(inventory: Inventory, chosen: Sequence[Cluster], names: Sequence[str] | None) -> None:
    """An empty scan is not a clean one: monitoring would read exit 0 with no nodes as "all fine"."""
    if any(c.nodes for c in chosen):
        return
    where = str(inventory.path) if inventory.path else "the inventory"
    if names:
        what = f"the cluster(s) {', '.join(c.name for c in chosen)} chosen with --cluster list no nodes"
    elif chosen:
        what = f"its cluster(s) {', '.join(c.name for c in chosen)} list no nodes"
    else:
        what = "it lists no clusters"
    fix = "add [[cluster.node]] entries" if chosen else "add a [[cluster]] with its [[cluster.node]] entries"
    raise ScanArgumentError(f"{where}: there is nothing to scan, {what}; {fix} (exit 3: an empty scan is "
                            "not a clean one).")


def _thresholds(args: argparse.Namespace, inventory: Inventory) -> tuple[int | None, int | None]:
    """Command-line thresholds, checked against each other and against the inventory's."""
    warn = getattr(args, "warn_days", None)
    crit = getattr(args, "crit_days", None)
    for name, value in (("--warn-days", warn), ("--crit-days", crit)):
        if value is not None and value < 0:
            raise ScanArgumentError(f"{name} is {value}; give zero or more days.")
    effective_warn = warn if warn is not None else inventory.defaults.warn_days
    effective_crit = crit if crit is not None else inventory.defaults.crit_days
    if (warn is not None or crit is not None) and effective_crit > effective_warn:
        raise ScanArgumentError(f"the critical threshold ({effective_crit} days) is larger than the warning "
                                f"threshold ({effective_warn} days); make --crit-days the smaller one.")
    return warn, crit


def _keep(result: ScanResult, clusters: Sequence[str] | None) -> None:
    """Save the scan for the TUI; a `--cluster` scan updates those clusters in the last full scan."""
    target = paths.last_scan_file()
    to_save = result
    if clusters:
        previous = load_scan(target)
        if previous is not None:
            to_save = previous.with_clusters(result)
    try:
        save_scan(to_save, target)
    except OSError as exc:
        print(f"ucterm: warning: could not keep the scan in {target} ({exc.strerror}); the TUI will rescan "
              "when it opens.", file=sys.stderr)


def _write_prometheus(path: Path, result: ScanResult) -> None:
    """Atomic (temp file + rename) so node_exporter never reads half a file; world-readable for it."""
    try:
        atomic_write(path, render_prometheus(result).encode("utf-8"), mode=0o644)
    except OSError as exc:
        raise ScanArgumentError(f"cannot write the Prometheus file {path} ({exc.strerror or exc}); check that "
                                "its folder exists and is writable.") from None


def _accepted_keys_to_stderr(result: ScanResult, inventory: Inventory) -> None:
    """Trust on first use is never silent: a headless scan may be the only run that saw the key."""
    for n in result.nodes:
        if not n.host_key_accepted:
            continue
        cluster = next((c for c in inventory.clusters if c.name == n.cluster), None)
        known_hosts = cluster.settings.known_hosts_path if cluster is not None else "known_hosts"
        print(f"ucterm: {visible(n.node)}: accepted the unknown SSH host key {n.host_key_fingerprint} on first use "
              f"(trust_on_first_use) and recorded it in {known_hosts}; nobody has checked it: compare it with "
              "the node's administrator.", file=sys.stderr)


def _problems_to_stderr(result: ScanResult) -> None:
    for sentence in problem_sentences(result.nodes):
        print(f"ucterm: {sentence}", file=sys.stderr)


class Progress:
    """A one-line progress display on a terminal's stderr, fed by the scan's events."""

    def __init__(self, stream: TextIO, totals: dict[str, int] | None = None) -> None:
        self.stream = stream
        #: cluster → (nodes done, nodes in the cluster), known up front so the total never grows.
        self.clusters: dict[str, tuple[int, int]] = {name: (0, n) for name, n in (totals or {}).items()}
        self.shown = False

    def __call__(self, event: Event) -> None:
        if isinstance(event, ScanProgress):
            self.clusters[event.cluster] = (event.done, event.total)
            done = sum(d for d, _ in self.clusters.values())
            total = sum(t for _, t in self.clusters.values())
            self._show(visible(f"scanning {done}/{total} nodes · {event.node.split('.', 1)[0]}: {event.message}"))
        elif isinstance(event, NodeNotice) and event.level == "error":
            self._line(visible(f"ucterm: {event.node}: {event.message}"))

    def _show(self, text: str) -> None:
        width = max(20, shutil.get_terminal_size().columns - 1)
        self.stream.write("\r\x1b[K" + text[:width])
        self.stream.flush()
        self.shown = True

    def _line(self, text: str) -> None:
        self.clear()
        self.stream.write(text + "\n")
        self.stream.flush()

    def clear(self) -> None:
        if self.shown:
            self.stream.write("\r\x1b[K")
            self.stream.flush()
            self.shown = False
