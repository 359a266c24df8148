"""The main screen: estate tree | certificate table over the detail pane; scan in the background.

The session comes in the constructor, or with SessionReady once `ucterm demo` has started its lab.
Renewing and reviewing host keys are the app's: the screen posts OpenRenewal, RenewMarked and
HostKeysUnknown. Marks (space) are kept by certificate (tui.view.cert_key), so they survive filters,
sorts, scopes and rescans; a renewal that replaces a certificate drops its mark with it.
"""

from __future__ import annotations

from typing import ClassVar

from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, Vertical
from textual.content import Content
from textual.widgets import Footer, Static

from ucterm.errors import UctermError
from ucterm.events import Event, NodeNotice, TranscriptLine
from ucterm.scan.events import NodeScanned, ScanProgress
from ucterm.scan.model import MergedCert, ScanResult
from ucterm.tui import memory
from ucterm.tui.messages import (
    EngineEvent,
    HostKeysUnknown,
    OpenRenewal,
    RenewMarked,
    ScanFailed,
    ScanFinished,
    SessionFailed,
    SessionReady,
)
from ucterm.tui.screens.base import BaseScreen
from ucterm.tui.session import AskCredentials, Clock, Session, system_clock
from ucterm.tui.view import (
    ESTATE,
    SORT_KEYS,
    SORT_LABELS,
    WIDE,
    Filter,
    MergedRows,
    Scope,
    SortKey,
    cert_key,
    certificates,
    counted,
    counts,
    partly_read_nodes,
)
from ucterm.tui.widgets.certs.detail import CertDetail
from ucterm.tui.widgets.certs.filter import FilterInput
from ucterm.tui.widgets.certs.table import CertTable
from ucterm.tui.widgets.common.bars import StatusBar, TitleBar
from ucterm.tui.widgets.common.safe import safe
from ucterm.tui.widgets.estate.tree import EstateTree


class MainScreen(BaseScreen):
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape", "back", "Back", show=False, id="main.back",
                tooltip="Leave the zoomed pane, clear the filter or return to the table"),
        # Not a priority binding: `/` is handled in the order typed. A priority binding jumps ahead of
        # keys already queued for the table (`x/cup`: the `x` was lost). The keys typed right after it
        # still reach the filter: the app hands them on (UctermApp.on_key).
        Binding("slash", "filter", "Filter", id="main.filter",
                tooltip="Filter the table as you type; !word excludes"),
        Binding("n", "renew", "Renew", id="main.renew",
                tooltip="Renew the highlighted certificate (choose options, preview, run), or the marked "
                        "ones as one batch"),
        Binding("space", "mark", "Mark", show=False, id="main.mark",
                tooltip="Mark or unmark the highlighted identity certificate; n renews the marked ones as a batch"),
        Binding("M", "clear_marks", "Clear marks", show=False, id="main.clear_marks",
                tooltip="Unmark every marked certificate"),
        Binding("r", "refresh", "Refresh", id="main.refresh",
                tooltip="Scan every cluster again in the background"),
        Binding("R", "refresh_cluster", "Refresh cluster", show=False, id="main.refresh_cluster",
                tooltip="Scan only the highlighted cluster again"),
        Binding("i", "toggle_stores", "Stores", id="main.stores",
                tooltip="Toggle between identity certificates only and every trust store"),
        Binding("x", "toggle_expiring", "Expiring", show=False, id="main.expiring",
                tooltip="Show only certificates that are expired, critical or in the warning window"),
        Binding("s", "sort", "Sort", id="main.sort", tooltip="Sort by the next column"),
        Binding("S", "sort_reverse", "Reverse", show=False, id="main.sort_reverse",
                tooltip="Reverse the sort order"),
        Binding("d", "details", "Details", show=False, id="main.details",
                tooltip="Open the detail pane full screen (esc returns)"),
        Binding("t", "toggle_tree", "Tree", show=False, id="main.tree",
                tooltip="Hide or show the estate tree (more room for the table on 80 columns)"),
        Binding("z", "zoom", "Zoom", show=False, id="main.zoom",
                tooltip="Give the focused pane the whole screen, or restore it"),
        Binding("y", "copy_pem", "Copy PEM", show=False, id="main.copy",
                tooltip="Copy the highlighted certificate's PEM to the clipboard (OSC 52, works over SSH)"),
        Binding("1", "focus_pane('tree')", "Tree", show=False, id="main.focus_tree", tooltip="Focus the tree"),
        Binding("2", "focus_pane('table')", "Table", show=False, id="main.focus_table",
                tooltip="Focus the certificate table"),
        Binding("3", "focus_pane('detail')", "Detail", show=False, id="main.focus_detail",
                tooltip="Focus the detail pane"),
    ]

    HELP = ("The estate at a glance. Left: clusters and nodes with their worst certificate. Right: "
            "the certificates of the selection, worst first, and the details of the highlighted one.")

    def __init__(self, session: Session | None = None, *, ask_credentials: AskCredentials | None = None,
                 scan_on_start: bool = True, clock: Clock = system_clock) -> None:
        """`session` None: the session comes with SessionReady (the demo starts its lab first)."""
        super().__init__(id="main")
        self.session = session
        self.ask_credentials = ask_credentials
        self.scan_on_start = scan_on_start
        self.clock = clock
        self.scope: Scope = ESTATE
        self.identity_only = True
        self.expiring_only = False
        self.text_filter = Filter()
        self.sort: SortKey = "status"
        self.reverse = False
        self.progress: dict[str, tuple[int, int]] = {}
        self.finished: dict[str, str] = {}
        self.message = ""
        self._scan_view: ScanResult | None = None
        #: The merged rows of the scan on screen, kept between keystrokes (view.MergedRows).
        self._rows = MergedRows()
        self._detail_for: MergedCert | None = None
        self._detail_pending = False
        self._keys_state: tuple[str | None, ...] | None = None
        self._settled: ScanResult | None = None
        self._live_refresh_due = False
        #: The detail is full screen because enter or d was pressed on a row (minimize() goes back there).
        self._detail_from_row = False
        #: Whether the view was last laid out below the wide breakpoint (None: not yet).
        self._laid_out_narrow: bool | None = None
        #: The marked certificates (space), by tui.view.cert_key.
        self.marked: set[str] = set()

    # ---- layout -------------------------------------------------------------------------------
    def compose(self) -> ComposeResult:
        yield TitleBar(id="title")
        yield Static("", id="banner")
        with Horizontal(id="main-body"):
            yield EstateTree(id="tree")
            with Vertical(id="right"):
                yield CertTable(id="certs")
                yield FilterInput(return_to="#certs", id="filter")
                yield CertDetail(id="detail")
        yield StatusBar(id="status")
        yield Footer(compact=True)

    def on_mount(self) -> None:
        self.query_one(FilterInput).display = False
        self.query_one(CertTable).border_title = "certificates"
        if self.session is None:
            self.message = "starting the lab estate…"
        self.refresh_view(rebuild_tree=True)
        self.query_one(CertTable).focus()
        # Without a session yet (the demo lab), SessionReady starts the scan; scanning here too would
        # start a second scan that cancels the first while it may be asking for a password.
        if self.scan_on_start and self.session is not None and self.session.inventory is not None:
            self.scan_estate()

    # ---- view ---------------------------------------------------------------------------------
    @property
    def _narrow(self) -> bool:
        return self.app.size.width < WIDE

    def on_resize(self) -> None:
        """Across the wide breakpoint the table's columns and the tree's labels change."""
        if self._laid_out_narrow is not None and self._laid_out_narrow != self._narrow:
            self.refresh_view(rebuild_tree=True)

    @property
    def current(self) -> MergedCert | None:
        return self.query_one(CertTable).current

    def refresh_view(self, *, rebuild_tree: bool = False) -> None:
        self._laid_out_narrow = self._narrow
        session = self.session
        scan = session.current_scan() if session is not None else None
        kept = session.scan if session is not None else None
        if kept is not None and kept is not self._settled:
            self._settled = kept
            self.set_timer(memory.AFTER, memory.settle)  # a new estate on screen, once drawn (tui.memory)
        self._scan_view = scan
        tree = self.query_one(EstateTree)
        if session is not None and (rebuild_tree or not tree.root.children):
            tree.show(session, scan, self.progress)
        table = self.query_one(CertTable)
        rows = certificates(scan, self.scope, identity_only=self.identity_only, text_filter=self.text_filter,
                            expiring_only=self.expiring_only, sort=self.sort, reverse=self.reverse,
                            rows=self._rows)
        table.show(rows, with_cluster=self.scope.kind == "estate", with_store=not self.identity_only,
                   sort=self.sort, reverse=self.reverse, narrow=self._narrow, marked=self.marked)
        table.border_title = safe(f"certificates · {self.scope.label}")
        table.border_subtitle = f"{len(rows)} shown" + (f" · {len(self.marked)} marked" if self.marked else "")
        if session is not None and session.inventory is not None:
            n_clusters = len(session.inventory.clusters)
            n_nodes = sum(len(c.nodes) for c in session.inventory.clusters)
        elif scan is not None:
            n_clusters = len({n.cluster for n in scan.nodes})
            n_nodes = len(scan.nodes)
        else:
            n_clusters = n_nodes = 0
        tree.border_title = (counted(n_nodes, "node") if self._narrow else
                             f"{counted(n_clusters, 'cluster')} · {counted(n_nodes, 'node')}")
        # The title counts what the toggle shows, across the estate, merged as `ucterm scan` merges.
        all_rows = self._rows.merged(scan, ESTATE, self.identity_only) if scan is not None else []
        banner = self.query_one("#banner", Static)
        banner.display = bool(session and session.banner)
        if session and session.banner:
            banner.update(Content.styled(session.banner, "bold"))
        self.query_one(TitleBar).show(session.label if session else "", counts(all_rows) if scan else None,
                                      bool(session and session.read_only_reason),
                                      counted="identity" if self.identity_only else "all stores")
        self._show_status()

    def _show_status(self) -> None:
        session = self.session
        bar = self.query_one(StatusBar)
        partly = partly_read_nodes(self._scan_view)
        bar.show_progress(self.progress, self.finished, session.scan.generated_at if session and session.scan
                          else None, self.message, partly=len(partly),
                          nodes=len(self._scan_view.nodes) if self._scan_view is not None else 0)
        view = [f"■ {len(self.marked)} marked"] if self.marked else []
        view.append("identity" if self.identity_only else "all stores")
        if self.expiring_only:
            view.append("expiring")
        if self.text_filter:
            view.append(f"/{self.text_filter.text}")
        view.append(f"by {SORT_LABELS[self.sort]}{'↑' if self.reverse else ''}")
        bar.show_view(" · ".join(view))

    def _products(self) -> dict[str, tuple[str, str | None]]:
        session = self.session
        out: dict[str, tuple[str, str | None]] = {}
        if session is not None and session.inventory is not None:
            for c in session.inventory.clusters:
                out[c.name] = (c.product, c.version)
        if self._scan_view is not None:
            for n in self._scan_view.nodes:
                product, version = out.get(n.cluster, (n.product, None))
                out[n.cluster] = (product, version or n.version)
        return out

    @on(CertTable.CertHighlighted)
    def _cert_highlighted(self, event: CertTable.CertHighlighted) -> None:
        # The detail pane after the frame that shows the table: a key that moves the cursor (or a
        # filter keystroke) is on screen before the chain and lint of the new certificate are worked
        # out; only the last of several quick moves is worked out at all.
        self._detail_for = event.cert
        if not self._detail_pending:
            self._detail_pending = True
            self.set_timer(self.DETAIL_DELAY, self._show_detail)
        keys = tuple(self.disabled_reason(a) for a in ("renew", "mark", "copy_pem", "details"))
        if keys != self._keys_state:  # the footer is rebuilt only when a key's state changed
            self._keys_state = keys
            self.refresh_bindings()

    #: The detail pane waits this long after the cursor stops (held `j`, a burst of keystrokes).
    DETAIL_DELAY = 0.02

    def _show_detail(self) -> None:
        self._detail_pending = False
        session = self.session
        now = session.now() if session else self.clock()
        self.query_one(CertDetail).show(self._detail_for, self._scan_view, now, self._products())

    @on(EstateTree.NodeHighlighted)
    def _tree_highlighted(self, event: EstateTree.NodeHighlighted[Scope]) -> None:
        scope = event.node.data or ESTATE
        if scope != self.scope:
            self.scope = scope
            self.refresh_view()

    @on(EstateTree.ScopeChosen)
    def _scope_chosen(self, event: EstateTree.ScopeChosen) -> None:
        self.query_one(CertTable).focus()

    @on(CertTable.CertSelected)
    def _row_selected(self, event: CertTable.CertSelected) -> None:
        self.action_details()

    # ---- actions -------------------------------------------------------------------------------
    def disabled_reason(self, action: str) -> str | None:
        session = self.session
        if action in ("refresh", "refresh_cluster"):
            if session is None or session.inventory is None:
                return "the estate is not loaded yet"
            if action == "refresh_cluster" and self.scope.cluster is None:
                return "highlight a cluster or node in the tree first"
        if action == "renew" and self.marked:
            if session is None:
                return "the estate is not loaded yet"
            return session.read_only_reason
        if action == "mark":
            cert = self.current
            if cert is None:
                return "highlight a certificate first"
            if cert.store != "own":
                return ("trust store certificates are not renewed (their CA renews them): mark an identity "
                        "certificate")
        if action == "clear_marks" and not self.marked:
            return "no certificate is marked"
        if action == "renew":
            if session is None:
                return "the estate is not loaded yet"
            cert = self.current
            if cert is None:
                return "highlight a certificate first"
            reason = session.cluster_read_only(cert.cluster)
            if reason:
                return reason
            if cert.store != "own":
                return "trust store certificates are not renewed: highlight an identity certificate"
        if action in ("copy_pem", "details") and self.current is None:
            return "highlight a certificate first"
        return None

    def action_back(self) -> None:
        if self.maximized is not None:
            self.minimize()
            return
        if self.text_filter:
            self.set_filter("")
            return
        if self.focused is not self.query_one(CertTable):
            self.query_one(CertTable).focus()

    def action_filter(self) -> None:
        box = self.query_one(FilterInput)
        if self.focused is box:
            box.insert_text_at_cursor("/")  # a `/` typed in the filter is text
            return
        box.display = True
        box.value = self.text_filter.text
        # Focus now, not after a refresh: keys typed right after `/` must reach the filter.
        self.set_focus(box)

    def set_filter(self, text: str) -> None:
        self.text_filter = Filter(text)
        box = self.query_one(FilterInput)
        if not text:
            box.display = False
        self.refresh_view()

    @on(FilterInput.Changed)
    def _filter_changed(self, event: FilterInput.Changed) -> None:
        self.text_filter = Filter(event.value)
        self.refresh_view()

    @on(FilterInput.Done)
    def _filter_done(self, event: FilterInput.Done) -> None:
        self.set_filter(self.query_one(FilterInput).value)
        self.query_one(FilterInput).display = bool(self.text_filter)
        self.query_one(CertTable).focus()

    def action_toggle_stores(self) -> None:
        self.identity_only = not self.identity_only
        self.refresh_view()

    def action_toggle_expiring(self) -> None:
        self.expiring_only = not self.expiring_only
        self.refresh_view()

    def show_expiring(self) -> None:
        self.expiring_only = True
        self.refresh_view()

    def action_toggle_tree(self) -> None:
        tree = self.query_one(EstateTree)
        tree.display = not tree.display
        if not tree.display and tree.has_focus:
            self.query_one(CertTable).focus()

    def action_sort(self) -> None:
        self.sort = SORT_KEYS[(SORT_KEYS.index(self.sort) + 1) % len(SORT_KEYS)]
        if self.sort == "store" and self.identity_only:
            self.sort = SORT_KEYS[(SORT_KEYS.index(self.sort) + 1) % len(SORT_KEYS)]
        self.refresh_view()

    def action_sort_reverse(self) -> None:
        self.reverse = not self.reverse
        self.refresh_view()

    def action_details(self) -> None:
        detail = self.query_one(CertDetail)
        detail.focus()
        self.maximize(detail, container=False)
        self._detail_from_row = True

    def minimize(self) -> None:
        """Also esc (Textual minimizes before any binding sees the key): the full-screen detail opened
        from a row (enter, d) returns to that row, so ↑/↓ move the table again, not the detail."""
        from_row, self._detail_from_row = self._detail_from_row, False
        super().minimize()
        if from_row:
            self.query_one(CertTable).focus()

    def action_zoom(self) -> None:
        if self.maximized is not None:
            self.minimize()
        elif self.focused is not None:
            self.maximize(self.focused, container=False)

    def action_focus_pane(self, pane: str) -> None:
        if self.maximized is not None:
            self.minimize()
        target = {"tree": EstateTree, "table": CertTable, "detail": CertDetail}[pane]
        widget = self.query_one(target)
        widget.display = True
        widget.focus()

    def action_copy_pem(self) -> None:
        cert = self.current
        if cert is not None and cert.record.pem:
            self.app.copy_to_clipboard(cert.record.pem)
            self.say(f"copied the PEM of {cert.record.subject_cn} ({cert.unit}, {cert.cluster})")

    def action_renew(self) -> None:
        if self.marked:
            marked = self.marked_certs()
            if not marked:
                self.say("the marked certificates are no longer in the scan (renewed, or gone): marks cleared",
                         severity="warning")
                self.action_clear_marks()
                return
            self.post_message(RenewMarked(marked))
            return
        cert = self.current
        if cert is not None:
            self.post_message(OpenRenewal(cert.cluster, cert.unit, cert))

    def action_mark(self) -> None:
        cert = self.current
        if cert is None or cert.store != "own":
            return
        key = cert_key(cert)
        if key in self.marked:
            self.marked.discard(key)
        else:
            self.marked.add(key)
        self.refresh_view()
        self.refresh_bindings()

    def action_clear_marks(self) -> None:
        self.marked.clear()
        self.refresh_view()
        self.refresh_bindings()

    def marked_certs(self) -> list[MergedCert]:
        """The marked certificates as the last scan has them now (a mark whose certificate is gone is dropped)."""
        scan = self._scan_view
        if scan is None:
            return []
        certs = [c for c in self._rows.merged(scan, ESTATE, True) if cert_key(c) in self.marked]
        self.marked = {cert_key(c) for c in certs}
        return certs

    def jump_to(self, scope: Scope) -> None:
        tree = self.query_one(EstateTree)

        def walk(node):  # type: ignore[no-untyped-def]
            yield node
            for child in node.children:
                yield from walk(child)

        for node in walk(tree.root):
            if node.data == scope:
                tree.select_node(node)
                tree.move_cursor(node)
                break
        self.scope = scope
        self.refresh_view()
        self.query_one(CertTable).focus()

    # ---- scanning ---------------------------------------------------------------------------
    def action_refresh(self) -> None:
        self.scan_estate()

    def action_refresh_cluster(self) -> None:
        if self.scope.cluster:
            self.scan_estate((self.scope.cluster,))

    @work(exclusive=True, group="scan")
    async def scan_estate(self, clusters: tuple[str, ...] | None = None) -> None:
        session = self.session
        if session is None or session.inventory is None:
            return
        if self.ask_credentials is not None and not await self.ask_credentials(clusters):
            self.message = "scan cancelled: a password was not given"
            self._show_status()
            return
        names = clusters or tuple(c.name for c in session.inventory.clusters)
        self.progress = {c.name: (0, len(c.nodes)) for c in session.inventory.clusters if c.name in names}
        self.finished = {}
        self.message = ""
        self.query_one(EstateTree).set_progress(self.progress, self._scan_view)
        self._show_status()
        try:
            result = await session.run_scan(self._sink, clusters)
        except UctermError as exc:
            self.post_message(ScanFailed(str(exc)))
            return
        self.post_message(ScanFinished(result, clusters))

    def _sink(self, event: Event) -> None:
        if isinstance(event, TranscriptLine):
            return  # the main screen shows progress, not the scan's transcript (the CLI keeps it)
        self.post_message(EngineEvent(event))

    @on(EngineEvent)
    def _engine_event(self, message: EngineEvent) -> None:
        match message.event:
            case ScanProgress(cluster=cluster, done=done, total=total):
                if cluster in self.progress or cluster not in self.finished:
                    if total and done >= total:
                        self.progress.pop(cluster, None)
                        self.finished[cluster] = "✔"
                    else:
                        self.progress[cluster] = (done, total)
                self.query_one(EstateTree).set_progress(self.progress, self._scan_view)
                self._show_status()
            case NodeScanned(result=result, certificates=certs):
                if not result.reachable:
                    self.finished[result.cluster] = "⚠"
                session = self.session
                if session is not None:
                    # The node's rows at once, a few times a second at most: a hundred nodes finishing
                    # within a second are a handful of redraws, and the cursor stays on its certificate.
                    session.node_scanned(result, certs)
                    if not self._live_refresh_due:
                        self._live_refresh_due = True
                        self.set_timer(self.LIVE_REFRESH_SECONDS, self._live_refresh)
            case NodeNotice(node=node, message=text):
                self.message = f"{node}: {text}"
                self._show_status()

    #: How long finished nodes gather before the table shows them.
    LIVE_REFRESH_SECONDS = 0.5

    def _live_refresh(self) -> None:
        self._live_refresh_due = False
        self.refresh_view(rebuild_tree=True)

    @on(ScanFinished)
    def _scan_finished(self, message: ScanFinished) -> None:
        self.progress = {}
        self.finished = {}
        result = message.result
        down = [n for n in result.nodes if not n.reachable and (message.clusters is None
                                                                 or n.cluster in message.clusters)]
        self.message = (f"{counted(len(down), 'node')} did not answer: {', '.join(n.node for n in down[:3])}"
                        if down else "")
        self.refresh_view(rebuild_tree=True)
        unknown = [n for n in down if n.state == "host-key-unknown" and n.host_key_fingerprint]
        if unknown:
            self.post_message(HostKeysUnknown(unknown))

    @on(ScanFailed)
    def _scan_failed(self, message: ScanFailed) -> None:
        self.progress = {}
        self.finished = {}
        self.message = message.error
        self.refresh_view(rebuild_tree=True)
        self.say(message.error, severity="error")

    def on_session_ready(self, message: SessionReady) -> None:
        self.session = message.session
        self.clock = message.session.clock
        self.message = ""
        self.refresh_view(rebuild_tree=True)
        self.refresh_bindings()
        if self.session.inventory is not None:
            self.scan_estate()

    def on_session_failed(self, message: SessionFailed) -> None:
        self.message = message.error
        self._show_status()
