"""The estate tree: clusters → nodes, publisher first, each with its worst certificate status."""

from __future__ import annotations

from typing import ClassVar

from rich.style import Style
from rich.text import Text
from textual.binding import Binding, BindingType
from textual.message import Message
from textual.widgets import Tree
from textual.widgets.tree import TreeNode

from ucterm.catalog import parse_version
from ucterm.scan.model import STATUS_GLYPH, CertRecord, NodeResult, ScanResult, status_label
from ucterm.tui.session import Session
from ucterm.tui.view import ESTATE, PARTLY, PRODUCT_SHORT, WIDE, Scope, read_gap, short_host, worst
from ucterm.tui.widgets.common.safe import safe
from ucterm.tui.widgets.common.style import accent, muted, status_style


def version_label(text: str | None) -> str:
    """`14SU3` (the full version is in the help and the detail)."""
    v = parse_version(text)
    if v is None:
        return text or ""
    return v.label


class EstateTree(Tree[Scope]):
    """Left pane. Highlighting a line scopes the certificate table to it."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("j", "cursor_down", "Down", show=False, id="tree.down"),
        Binding("k", "cursor_up", "Up", show=False, id="tree.up"),
        Binding("enter", "open_scope", "Show certificates", id="tree.open",
                tooltip="Show the certificates of the highlighted cluster or node in the table"),
    ]

    HELP = ("The estate: every cluster and its nodes, publisher first, with the product, version, "
            "reachability and the worst identity certificate status. Moving the cursor scopes the "
            "certificate table; enter moves to the table.")

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__("Estate", data=ESTATE, id=id)
        self.show_root = True
        self.guide_depth = 2
        self.auto_expand = False
        self._progress: dict[str, tuple[int, int]] = {}
        self._session: Session | None = None
        #: The lines saying a cluster's restarts wait for its maintenance window, with the window.
        self._windows: list[tuple[TreeNode[Scope], str]] = []

    def action_open_scope(self) -> None:
        node = self.cursor_node
        if node is not None and node.data is not None:
            self.post_message(self.ScopeChosen(node.data))

    class ScopeChosen(Message):
        """Enter on a line: show its certificates (the table takes the focus)."""

        def __init__(self, scope: Scope) -> None:
            super().__init__()
            self.scope = scope

    # ---- content ----------------------------------------------------------------------------
    def show(self, session: Session, scan: ScanResult | None, progress: dict[str, tuple[int, int]]) -> None:
        """Rebuild from the inventory and the scan, keeping the cursor on the same scope."""
        self._session = session
        self._progress = dict(progress)
        current = self.cursor_node.data if self.cursor_node is not None else ESTATE
        self.clear()
        self._windows.clear()
        root = self.root
        root.data = ESTATE
        root.set_label(safe(self._estate_label(scan)))
        root.expand()
        target: TreeNode[Scope] | None = root if current == ESTATE else None
        for name, product, version, nodes in self._layout(session, scan):
            scope = Scope("cluster", name)
            cluster_node = root.add(safe(self._cluster_label(name, product, version, scan)), data=scope,
                                    expand=True)
            if current == scope:
                target = cluster_node
            window = session.windows.get(name)
            if window:
                # A job's restarts here wait for the maintenance window (Session.reload_jobs): said first.
                self._windows.append((cluster_node.add_leaf(safe(self._window_label(window)), data=scope), window))
            for fqdn, role, result in nodes:
                nscope = Scope("node", name, fqdn)
                label = safe(self._node_label(fqdn, role, result, version, scan))
                gap = read_gap(scan, name, fqdn) if scan is not None else None
                if gap is None:
                    leaf = cluster_node.add_leaf(label, data=nscope)
                else:
                    # A partly read node says so under its line, with the scan's reason: its ✔ covers
                    # only what was read.
                    leaf = cluster_node.add(label, data=nscope, expand=True)
                    leaf.add_leaf(safe(self._gap_label(gap, result)), data=nscope)
                if current == nscope:
                    target = leaf
        if target is not None:
            self.call_after_refresh(self._move_to, target)

    def _move_to(self, node: TreeNode[Scope]) -> None:
        if node.line >= 0:
            self.cursor_line = node.line

    def set_progress(self, progress: dict[str, tuple[int, int]], scan: ScanResult | None) -> None:
        """Update the cluster lines' scan progress without rebuilding the tree."""
        self._progress = dict(progress)
        if self._session is None:
            return
        layout = {name: (product, version) for name, product, version, _ in self._layout(self._session, scan)}
        for child in self.root.children:
            scope = child.data
            if scope is not None and scope.cluster in layout:
                product, version = layout[scope.cluster]
                child.set_label(safe(self._cluster_label(scope.cluster, product, version, scan)))

    @staticmethod
    def _layout(session: Session, scan: ScanResult | None
                ) -> list[tuple[str, str, str | None, list[tuple[str, str | None, NodeResult | None]]]]:
        """(cluster, product, version, [(fqdn, role, result)]) from the inventory, else from the scan."""
        out: list[tuple[str, str, str | None, list[tuple[str, str | None, NodeResult | None]]]] = []
        if session.inventory is not None:
            for c in session.inventory.clusters:
                nodes = []
                for n in c.ordered_nodes():
                    result = scan.node_result(c.name, n.fqdn) if scan else None
                    nodes.append((n.fqdn, n.role or (result.role if result else None), result))
                version = c.version
                if version is None and nodes and nodes[0][2] is not None:
                    version = nodes[0][2].version
                out.append((c.name, c.product, version, nodes))
            return out
        if scan is None:
            return out
        clusters: dict[str, list[NodeResult]] = {}
        for node_result in scan.nodes:
            clusters.setdefault(node_result.cluster, []).append(node_result)
        for name, results in clusters.items():
            results.sort(key=lambda r: (r.role != "publisher", r.node))
            out.append((name, results[0].product, results[0].version,
                        [(r.node, r.role, r) for r in results]))
        return out

    # ---- labels -----------------------------------------------------------------------------
    def _status(self, scan: ScanResult | None, records: list[CertRecord]) -> Text:
        if scan is None:
            return Text("· not scanned", style=muted(self.app))
        w = worst(scan, records)
        if w is None:
            return Text("· no certificates", style=muted(self.app))
        status, days = w
        if status == "expired" and self._narrow:
            # 80 columns: the glyph says it (the table beside spells EXPIRED); days for the others.
            return Text(STATUS_GLYPH[status], style=status_style(self.app, status))
        return Text(f"{STATUS_GLYPH[status]} {status_label(status, days)}", style=status_style(self.app, status))

    @property
    def _narrow(self) -> bool:
        """Below the wide breakpoint the tree is 26 columns: names, glyphs and days, no product or role."""
        return self.app.size.width < WIDE

    def _estate_label(self, scan: ScanResult | None) -> Text:
        text = Text("Estate ", style=Style(bold=True))
        if scan is not None:
            text.append_text(self._status(scan, list(scan.certificates)))
        return text

    def _cluster_label(self, name: str, product: str, version: str | None, scan: ScanResult | None) -> Text:
        text = Text(name, style=Style(bold=True))
        if not self._narrow:  # at 80 columns the name only: the product is in the form, the help and the palette
            text.append(f" {PRODUCT_SHORT.get(product, product)} {version_label(version)}".rstrip(),
                        style=muted(self.app))
        text.append(" ")
        if name in self._progress:
            done, total = self._progress[name]
            text.append(f"⟳ {done}/{total}", style=accent(self.app))
        else:
            text.append_text(self._status(scan, list(scan.for_cluster(name)) if scan else []))
        return text

    def _node_label(self, fqdn: str, role: str | None, result: NodeResult | None, cluster_version: str | None,
                    scan: ScanResult | None) -> Text:
        text = Text(short_host(fqdn))
        # 80 columns: no role tag (the publisher is always first; the detail and the form say it).
        tag = {"publisher": " pub", "subscriber": " sub"}.get(role or "", "") if not self._narrow else ""
        text.append(tag, style=muted(self.app))
        if result is not None and result.version and result.version != cluster_version:
            text.append(f" {version_label(result.version)}", style=muted(self.app))
        text.append(" ")
        if result is None:
            text.append("· not scanned", style=muted(self.app))
        elif not result.reachable:
            word = {"login-refused": "LOGIN", "host-key-unknown": "HOSTKEY",
                    "host-key-changed": "HOSTKEY"}.get(result.state, "DOWN")
            text.append(f"⚠ {word}", style=status_style(self.app, "expired"))
        else:
            assert scan is not None
            text.append_text(self._status(scan, list(scan.for_node(result.cluster, result.node))))
        return text

    def on_resize(self) -> None:
        for node, window in self._windows:
            node.set_label(safe(self._window_label(window)))

    def _window_label(self, window: str) -> Text:
        """`⏸ restarts wait for Sat 01:00–05:00 Europe/Berlin`, clipped with … to the tree's width; at
        80 columns (26 of tree) `⏸ Sat 01:00–05:0…`: the days and hours; the job and J say the rest."""
        text = f"⏸ {window}" if self._narrow else f"⏸ restarts wait for {window}"
        # The tree's width less the scrollbar and the guides of the root, the cluster and the line itself
        # (clipped again when the tree is resized: on_resize).
        room = self.size.width - 1 - 3 * self.guide_depth
        if 0 < room < len(text):
            text = text[: max(room - 1, 1)] + "…"
        return Text(text, style=status_style(self.app, "warning"))

    def _gap_label(self, gap: str, result: NodeResult | None) -> Text:
        """`◐ TLS only: os_password for cluster "hq" refers to …`: what is missing and why."""
        reason = (result.error or "") if result is not None else ""
        if result is not None and reason.startswith(f"{result.node}: "):
            reason = reason[len(result.node) + 2:]
        text = Text(f"{PARTLY} {gap}", style=status_style(self.app, "warning"))
        if reason:
            text.append(f": {reason}", style=muted(self.app))
        return text
