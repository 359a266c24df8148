"""Command palette (ctrl+p or `:`): context-aware commands, ucterm's own first.

In the order the palette opens on:

- "Renew this" for the highlighted certificate, and a renew command for every certificate
  that needs it; "Renew everything due" (one batch); jump to any cluster or node; show expiring;
  jobs; the last batch;
- the keys of the current screen that ucterm describes (so every binding is reachable by name);
- then what Textual offers anyway: its widgets' generic keys (cursor up, page down) and its system
  commands (theme, keys, maximize, screenshot, quit).

The app lists this provider alone: with Textual's system provider beside it, the palette showed
whichever provider answered first, usually Textual's "Maximize" and "Screenshot".
"""

from __future__ import annotations

from collections.abc import Callable
from functools import partial

from textual.command import DiscoveryHit, Hit, Hits, Provider

from ucterm.tui.view import Scope, certificates, counted, nodes_text, short_host, status_text
from ucterm.tui.widgets.common.safe import safe


class EstateCommands(Provider):
    def _commands(self) -> list[tuple[str, Callable[[], object], str]]:
        from ucterm.tui.app import UctermApp
        from ucterm.tui.screens.main import MainScreen

        app = self.app
        assert isinstance(app, UctermApp)
        out: list[tuple[str, Callable[[], object], str]] = []
        screen = self.screen
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
                out.append(("Renew everything due", app.renew_due,
                            "One batch: every identity certificate within its cluster's warning days, like for "
                            "like, clusters side by side (shown first; high-risk units are left, said why)"))
            out.append(("Show expiring certificates", app.show_expiring,
                        "Only expired, critical and warning certificates"))
            out.append(("Show the whole estate", partial(app.jump_to, Scope()), "Every cluster's certificates"))
            if session.inventory is not None:
                for c in session.inventory.clusters:
                    out.append((f"Jump to cluster {c.name}", partial(app.jump_to, Scope("cluster", c.name)),
                                f"{c.product} · {counted(len(c.nodes), 'node')}"))
                    for n in c.ordered_nodes():
                        out.append((f"Jump to node {short_host(n.fqdn)}",
                                    partial(app.jump_to, Scope("node", c.name, n.fqdn)), f"{n.fqdn} ({c.name})"))
        out.append(("Jobs: renewals in the journal", app.action_jobs, "List journaled renewals; resume one"))
        if app.last_batch is not None:
            out.append((f"Batch {app.last_batch}", partial(app.open_batch, app.last_batch),
                        "The jobs of the last batch started here, with their states"))
        # What the current screen's keys do, by name: ucterm's (they carry a tooltip), then Textual's.
        ours: list[tuple[str, Callable[[], object], str]] = []
        generic: list[tuple[str, Callable[[], object], str]] = []
        for key, active in screen.active_bindings.items():
            b = active.binding
            if b.system or not b.description or b.action in ("command_palette", "app.command_palette"):
                continue
            if not active.enabled:
                continue
            label = f"{b.description} ({app.get_key_display(b.with_key(key))})"
            (ours if b.tooltip else generic).append((label, partial(app.run_action, b.action, active.node),
                                                     b.tooltip))
        out += ours
        out += generic
        out += [(c.title, c.callback, c.help) for c in app.get_system_commands(screen)]
        return out

    def _shown(self) -> list[tuple[str, Callable[[], object], str]]:
        """The commands with CNs and names made safe to show (ucterm.text.visible)."""
        return [(safe(label), callback, safe(help_text)) for label, callback, help_text in self._commands()]

    async def discover(self) -> Hits:
        for label, callback, help_text in self._shown():
            yield DiscoveryHit(label, callback, help=help_text or None)

    async def search(self, query: str) -> Hits:
        matcher = self.matcher(query)
        for label, callback, help_text in self._shown():
            score = matcher.match(label)
            if score > 0:
                yield Hit(score, matcher.highlight(label), callback, help=help_text or None)
