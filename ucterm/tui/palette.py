"""Command palette (ctrl+p or `:`): context-aware commands.

- the keys of the current screen, by name (so every binding is reachable by typing its name);
- "Renew this" for the highlighted certificate, and a renew command for every certificate
  that needs it;
- jump to any cluster or node; show expiring; jobs; theme (Textual's own) and quit.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import partial

from textual.command import DiscoveryHit, Hit, Hits, Provider

from ucterm.tui.view import Scope, certificates, counted, nodes_text, short_host, status_text


class EstateCommands(Provider):
    def _commands(self) -> list[tuple[str, Callable[[], object], str]]:
        from ucterm.tui.app import UctermApp
        from ucterm.tui.screens.main import MainScreen

        app = self.app
        assert isinstance(app, UctermApp)
        out: list[tuple[str, Callable[[], object], str]] = []
        screen = self.screen
        # What the current screen's keys do, by name.
        for key, active in screen.active_bindings.items():
            b = active.binding
            if b.system or not b.description or b.action in ("command_palette", "app.command_palette"):
                continue
            if not active.enabled:
                continue
            label = f"{b.description} ({app.get_key_display(b.with_key(key))})"
            out.append((label, partial(app.run_action, b.action, active.node), b.tooltip))
        main = app.main_screen
        session = app.session
        if isinstance(screen, MainScreen) and screen.current is not None:
            cert = screen.current
            reason = screen.disabled_reason("renew")
            if reason is None:
                status = status_text(cert.status, cert.record.days_left)
                out.append((f"Renew this: {cert.unit} on {cert.cluster} ({status})",
                            partial(app.open_renewal, cert.cluster, cert.unit, cert),
                            f"{cert.record.subject_cn} on {nodes_text(cert.nodes)}"))
        if session is not None and main is not None:
            scan = session.current_scan()
            for cert in certificates(scan, identity_only=True):
                if cert.status == "ok" or session.cluster_read_only(cert.cluster):
                    continue
                status = status_text(cert.status, cert.record.days_left)
                out.append((f"Renew {cert.unit} on {cert.cluster} ({status})",
                            partial(app.open_renewal, cert.cluster, cert.unit, cert),
                            f"{cert.record.subject_cn} on {nodes_text(cert.nodes)}"))
            if session.inventory is not None:
                for c in session.inventory.clusters:
                    out.append((f"Jump to cluster {c.name}", partial(app.jump_to, Scope("cluster", c.name)),
                                f"{c.product} · {counted(len(c.nodes), 'node')}"))
                    for n in c.ordered_nodes():
                        out.append((f"Jump to node {short_host(n.fqdn)}",
                                    partial(app.jump_to, Scope("node", c.name, n.fqdn)), f"{n.fqdn} ({c.name})"))
            out.append(("Show expiring certificates", app.show_expiring,
                        "Only expired, critical and warning certificates"))
            out.append(("Show the whole estate", partial(app.jump_to, Scope()), "Every cluster's certificates"))
        out.append(("Jobs: renewals in the journal", app.action_jobs, "List journaled renewals; resume one"))
        return out

    async def discover(self) -> Hits:
        for label, callback, help_text in self._commands():
            yield DiscoveryHit(label, callback, help=help_text or None)

    async def search(self, query: str) -> Hits:
        matcher = self.matcher(query)
        for label, callback, help_text in self._commands():
            score = matcher.match(label)
            if score > 0:
                yield Hit(score, matcher.highlight(label), callback, help=help_text or None)
