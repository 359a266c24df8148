"""Whether a job's restarts may start now, by its clusters' maintenance windows. Pure.

`maintenance_window` (design.md §3) says when restarts that interrupt calls or clients may run:
the catalog marks those restarts (`RestartItem.disruptive`: Cisco CallManager, TFTP, Unity
Connection's Conversation Manager, the IM&P XCP Router, §3). A job does everything before its
restart phase at once (CSRs, signing, validation, uploads: none of it touches a call) and starts
the phase only inside the window of every cluster whose nodes it restarts disruptively.

Once the phase has started it is finished, window or not: half a cluster restarted, or IM&P High
Availability left off until the next window (§3.4), is worse than a restart that runs a few
minutes past the window's end. A restart phase that interrupts nothing never waits.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime

from ucterm.inventory import Inventory
from ucterm.renewal.model import Plan, RestartItem
from ucterm.renewal.schedule import restart_phase
from ucterm.window import MaintenanceWindow

__all__ = ["WindowWait", "closed_windows", "disruptive_restarts", "phase_begun"]


@dataclass(frozen=True)
class WindowWait:
    """The restarts of a job wait: for which windows, until when, because of which services."""

    #: (cluster, window) of every cluster whose window is closed now.
    closed: tuple[tuple[str, MaintenanceWindow], ...]
    #: When every closed window has opened (UTC): the latest of their next openings.
    opens: datetime
    #: The services that interrupt calls or clients, as `Service on node`.
    services: tuple[str, ...]

    @property
    def windows_text(self) -> str:
        """`Sat 01:00–05:00 Europe/Berlin`, or `hq: …; presence: …` when several clusters wait."""
        if len(self.closed) == 1:
            return self.closed[0][1].describe()
        return "; ".join(f"{name}: {window.describe()}" for name, window in self.closed)

    def sentence(self, job_id: str) -> str:
        """What the job says when it stops: the issue's words first ("restarts wait for …")."""
        services = ", ".join(self.services[:4]) + (f" and {len(self.services) - 4} more"
                                                   if len(self.services) > 4 else "")
        return (f"restarts wait for {self.windows_text} (next opening {self.opens:%a %Y-%m-%d %H:%M} UTC): "
                f"{services} interrupt calls or clients; everything before the restarts is done. "
                f"`ucterm resume {job_id}` inside the window goes on (cron or a timer can run it), "
                "--restart-now restarts outside it")

    def to_dict(self) -> dict[str, str]:
        return {"window": self.windows_text, "opens": self.opens.strftime("%Y-%m-%dT%H:%M:%SZ")}


def _will_run(item: RestartItem, trust_added: bool) -> bool:
    return item.when == "always" or trust_added


def disruptive_restarts(plan: Plan, facts: Mapping[str, object]) -> list[tuple[str, str]]:
    """(node, service) of every restart in the plan that interrupts calls or clients and will run
    (a restart that only follows an added CA counts only once a CA was added)."""
    trust_added = bool(facts.get("trust_added"))
    return [(s.node or "", item.service) for s in plan.steps_of("restart") for item in s.restarts
            if item.disruptive and _will_run(item, trust_added)]


def phase_begun(plan: Plan, states: Mapping[str, str], intents: Mapping[str, bool]) -> bool:
    """Whether any step of the restart phase has run (or begun and was interrupted): the phase then
    finishes whatever the clock says (see the module docstring)."""
    return any(states.get(s.id) in ("running", "done", "skipped", "failed") or intents.get(s.id)
               for s in restart_phase(plan))


def closed_windows(plan: Plan, inventory: Inventory, facts: Mapping[str, object], now: datetime,
                   ) -> WindowWait | None:
    """The wait, or None when the restart phase may start at `now` (no disruptive restart, no window,
    or every window concerned open)."""
    disruptive = disruptive_restarts(plan, facts)
    if not disruptive:
        return None
    by_node = {n.fqdn.lower(): c for c in inventory.clusters for n in c.nodes}
    clusters = {by_node[node.lower()].name: by_node[node.lower()] for node, _ in disruptive
                if node.lower() in by_node}
    closed: list[tuple[str, MaintenanceWindow]] = []
    for name, cluster in sorted(clusters.items()):
        window = cluster.settings.maintenance_window
        if window is not None and not window.contains(now):
            closed.append((name, window))
    if not closed:
        return None
    opens = max(window.next_opening(now) for _, window in closed)
    services = tuple(dict.fromkeys(f"{service} on {node.split('.', 1)[0]}" for node, service in disruptive))
    return WindowWait(tuple(closed), opens, services)
