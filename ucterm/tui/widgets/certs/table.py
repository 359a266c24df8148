"""The certificate table: one row per merged certificate, worst first."""

from __future__ import annotations

from collections.abc import Collection, Sequence
from typing import ClassVar

from rich.text import Text
from textual.binding import Binding, BindingType
from textual.message import Message

from ucterm.scan.model import MergedCert
from ucterm.tui.view import SortKey, cert_key, nodes_text
from ucterm.tui.widgets.common.rowtable import Column, RowTable, cell_width
from ucterm.tui.widgets.common.safe import safe
from ucterm.tui.widgets.common.style import accent, muted, status_cell, warning

MAX_CN = 30
MAX_ISSUER = 24
#: Beside the tree at 80 columns: the longest units (cup-xmpp-s2s-ECDSA) end in "…"; the detail's
#: title names them in full.
MAX_UNIT_NARROW = 15
#: Before the status glyph of a marked certificate (space on the table; n renews the marked ones).
MARK = "■ "


def _clip(text: str, width: int) -> str:
    return text if len(text) <= width else text[: width - 1] + "…"


class CertTable(RowTable):
    """Right pane. `s` sorts, `/` filters, `i` toggles trust stores (bindings live on the screen).

    Draws only the rows on screen (RowTable): a hundred nodes make thousands of rows, and a
    filter keystroke rebuilds them.
    """

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("j", "cursor_down", "Down", show=False, id="table.down"),
        Binding("k", "cursor_up", "Up", show=False, id="table.up"),
        Binding("g", "scroll_top", "Top", show=False, id="table.top"),
        Binding("G", "scroll_bottom", "Bottom", show=False, id="table.bottom"),
    ]

    HELP = ("Certificates of the selected cluster, node or the whole estate, one row per certificate: "
            "a multi-server certificate or a trust certificate held by several nodes is one row "
            "(`+2` = two more nodes). The first column is the status glyph with the days left "
            "(EXPIRED once expired), after a ■ on a certificate marked with space (n renews the marked "
            "ones as one batch). The detail pane below follows the cursor.")

    class CertHighlighted(Message):
        def __init__(self, cert: MergedCert | None) -> None:
            super().__init__()
            self.cert = cert

    class CertSelected(Message):
        """Enter on a row: the screen opens its details."""

        def __init__(self, cert: MergedCert) -> None:
            super().__init__()
            self.cert = cert

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(id=id, zebra_stripes=True)
        self._certs: dict[str, MergedCert] = {}
        self._shown: MergedCert | None = None
        #: (cert_key, columns, mark) → (the certificate, its cells, their widths).
        self._row_cache: dict[tuple[str, bool, bool, bool, bool],
                              tuple[MergedCert, list[Text | str], tuple[int, ...]]] = {}
        self._styles: tuple[object, ...] | None = None

    @property
    def current(self) -> MergedCert | None:
        key = self.cursor_key
        return self._certs.get(key) if key is not None else None

    def _row_cells(self, cert: MergedCert, row_key: str, with_cluster: bool, with_store: bool, narrow: bool,
                   marked: bool = False) -> tuple[list[Text | str], tuple[int, ...]]:
        """A row's cells and their widths, kept while the certificate, its mark and the columns stay the
        same (a filter keystroke shows rows it built before; measuring 15,000 cells again took 40 ms)."""
        key = (row_key, with_cluster, with_store, narrow, marked)
        kept = self._row_cache.get(key)
        if kept is not None and (kept[0] is cert or kept[0] == cert):  # equal: a rescan that changed nothing
            return kept[1], kept[2]
        dim = muted(self.app)
        r = cert.record
        merged_store = narrow and with_store
        name = cert.store if merged_store and cert.store != "own" else cert.unit
        # Cells quote nodes, certificates and the inventory: their control characters are shown, not
        # obeyed (safe, as tables.fill does for DataTables); escaped once per row, kept with the row.
        # A unit is clipped only beside cluster/node names (a cluster's or node's view has the room).
        unit = Text(_clip(name, MAX_UNIT_NARROW) if narrow and with_cluster else name,
                    style=dim if merged_store and cert.store != "own" else "")
        status = status_cell(self.app, cert.status, r.days_left)
        if marked:
            status = Text.assemble((MARK, accent(self.app)), status)
        row: list[Text | str] = [status, safe(unit)]
        if with_store and not merged_store:
            row.append(safe(Text(cert.store, style=dim if cert.store == "own" else "")))
        nodes = Text(f"{cert.cluster}/" if with_cluster else "", style=dim)
        nodes.append(nodes_text(cert.nodes))
        if cert.served_differs:
            nodes.append(" ⟳", style=warning(self.app))
        row.append(safe(nodes))
        if not narrow:
            row.append(safe(Text(_clip(r.subject_cn, MAX_CN))))
            row.append(safe(Text(_clip(r.issuer_cn + (" (self)" if r.self_signed else ""), MAX_ISSUER), style=dim)))
            row.append(Text(r.not_after.strftime("%Y-%m-%d")))
        widths = tuple(cell_width(cell) for cell in row)
        self._row_cache[key] = (cert, row, widths)
        return row, widths

    def show(self, certs: Sequence[MergedCert], *, with_cluster: bool, with_store: bool, sort: SortKey,
             reverse: bool, narrow: bool = False, marked: Collection[str] = ()) -> None:
        """Replace the rows, keeping the cursor on the same certificate (and on its screen line) where
        it still shows.

        `narrow` (below the wide breakpoint, 80 columns beside the tree): status, unit and where,
        in full; CN, issuer and expiry date are in the detail pane below. `marked`: the cert_keys
        of the marked certificates (a ■ before their status; the column widens only while one shows).
        """
        styles = (self.app.theme, muted(self.app), warning(self.app))
        if styles != self._styles:  # another theme: cells carry its colours
            self._row_cache.clear()
            self._styles = styles
        arrow = "▲" if reverse else "▼"

        def head(name: str, key: str) -> str:
            return f"{name} {arrow}" if key == sort else name

        # Narrow with every store: one column says the unit of an identity, the store of a trust certificate.
        merged_store = narrow and with_store
        labels = [(head("status", "status"), "status"),
                  (head("unit/store" if merged_store else "unit", "unit"), "unit")]
        if with_store and not merged_store:
            labels.append((head("store", "store"), "store"))
        labels.append((head("cluster/node(s)" if with_cluster else "node(s)", "nodes"), "nodes"))
        if not narrow:
            labels += [(head("CN", "cn"), "cn"), (head("issuer", "issuer"), "issuer"),
                       (head("expires", "expires"), "expires")]
        certs_by_key: dict[str, MergedCert] = {}
        rows: list[tuple[str, list[Text | str]]] = []
        widths = [cell_width(label) for label, _ in labels]
        for cert in certs:
            key = cert_key(cert)
            certs_by_key[key] = cert
            cells, cell_widths = self._row_cells(cert, key, with_cluster, with_store, narrow, key in marked)
            for i, w in enumerate(cell_widths):
                if w > widths[i]:
                    widths[i] = w
            rows.append((key, cells))
        self._certs = certs_by_key
        self.set_rows([Column(label, key, width) for (label, key), width in zip(labels, widths, strict=True)], rows)

    def on_row_table_highlighted(self, event: RowTable.Highlighted) -> None:
        event.stop()
        current = self.current
        if current is not self._shown:
            self._shown = current
            self.post_message(self.CertHighlighted(current))

    def on_row_table_selected(self, event: RowTable.Selected) -> None:
        event.stop()
        cert = self._certs.get(event.key)
        if cert is not None:
            self.post_message(self.CertSelected(cert))
