"""The certificate table: one row per merged certificate, worst first."""

from __future__ import annotations

import contextlib
from collections.abc import Sequence
from typing import ClassVar

from rich.text import Text
from textual.binding import Binding, BindingType
from textual.message import Message
from textual.widgets import DataTable
from textual.widgets.data_table import RowDoesNotExist

from ucterm.scan.model import MergedCert
from ucterm.tui.view import SortKey, cert_key, nodes_text
from ucterm.tui.widgets.common import tables
from ucterm.tui.widgets.common.style import muted, status_cell, warning

MAX_CN = 30
MAX_ISSUER = 24
#: Beside the tree at 80 columns: the longest units (cup-xmpp-s2s-ECDSA) end in "…"; the detail's
#: title names them in full.
MAX_UNIT_NARROW = 15


def _clip(text: str, width: int) -> str:
    return text if len(text) <= width else text[: width - 1] + "…"


class CertTable(DataTable[Text | str]):
    """Right pane. `s` sorts, `/` filters, `i` toggles trust stores (bindings live on the screen)."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("j", "cursor_down", "Down", show=False, id="table.down"),
        Binding("k", "cursor_up", "Up", show=False, id="table.up"),
        Binding("g", "scroll_top", "Top", show=False, id="table.top"),
        Binding("G", "scroll_bottom", "Bottom", show=False, id="table.bottom"),
    ]

    HELP = ("Certificates of the selected cluster, node or the whole estate, one row per certificate: "
            "a multi-server certificate or a trust certificate held by several nodes is one row "
            "(`+2` = two more nodes). The first column is the status glyph with the days left "
            "(EXPIRED once expired). The detail pane below follows the cursor.")

    class CertHighlighted(Message):
        def __init__(self, cert: MergedCert | None) -> None:
            super().__init__()
            self.cert = cert

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(id=id, cursor_type="row", zebra_stripes=True)
        self._certs: dict[str, MergedCert] = {}

    @property
    def current(self) -> MergedCert | None:
        if not self._certs or self.row_count == 0:
            return None
        try:
            key = self.coordinate_to_cell_key(self.cursor_coordinate).row_key
        except Exception:
            return None
        return self._certs.get(str(key.value)) if key is not None else None

    def show(self, certs: Sequence[MergedCert], *, with_cluster: bool, with_store: bool, sort: SortKey,
             reverse: bool, narrow: bool = False) -> None:
        """Replace the rows, keeping the cursor on the same certificate where it still shows.

        `narrow` (below the wide breakpoint, 80 columns beside the tree): status, unit and where,
        in full; CN, issuer and expiry date are in the detail pane below.
        """
        previous = self.current
        arrow = "▲" if reverse else "▼"

        def head(name: str, key: str) -> str:
            return f"{name} {arrow}" if key == sort else name

        # Narrow with every store: one column says the unit of an identity, the store of a trust certificate.
        merged_store = narrow and with_store
        columns = [(head("status", "status"),
                    "status"), (head("unit/store" if merged_store else "unit", "unit"), "unit")]
        if with_store and not merged_store:
            columns.append((head("store", "store"), "store"))
        columns.append((head("cluster/node(s)" if with_cluster else "node(s)", "nodes"), "nodes"))
        if not narrow:
            columns += [(head("CN", "cn"), "cn"), (head("issuer", "issuer"), "issuer"),
                        (head("expires", "expires"), "expires")]
        certs_by_key: dict[str, MergedCert] = {}
        rows: list[tuple[str, list[Text | str]]] = []
        dim = muted(self.app)
        for cert in certs:
            key = cert_key(cert)
            certs_by_key[key] = cert
            r = cert.record
            name = cert.store if merged_store and cert.store != "own" else cert.unit
            # Clipped only beside cluster/node names (a cluster's or node's view has the room).
            unit = Text(_clip(name, MAX_UNIT_NARROW) if narrow and with_cluster else name,
                        style=dim if merged_store and cert.store != "own" else "")
            row: list[Text | str] = [status_cell(self.app, cert.status, r.days_left), unit]
            if with_store and not merged_store:
                row.append(Text(cert.store, style=dim if cert.store == "own" else ""))
            nodes = Text(f"{cert.cluster}/" if with_cluster else "", style=dim)
            nodes.append(nodes_text(cert.nodes))
            if cert.served_differs:
                nodes.append(" ⟳", style=warning(self.app))
            row.append(nodes)
            if not narrow:
                row.append(Text(_clip(r.subject_cn, MAX_CN)))
                row.append(Text(_clip(r.issuer_cn + (" (self)" if r.self_signed else ""), MAX_ISSUER), style=dim))
                row.append(Text(r.not_after.strftime("%Y-%m-%d")))
            rows.append((key, row))
        # Columns are rebuilt every time, sized to the rows shown now (tables.fill says why).
        tables.fill(self, columns, rows)
        self._certs = certs_by_key
        if previous is not None and cert_key(previous) in self._certs:
            with contextlib.suppress(RowDoesNotExist):
                self.move_cursor(row=self.get_row_index(cert_key(previous)), animate=False)
        self.post_message(self.CertHighlighted(self.current))

    def on_data_table_row_highlighted(self, event: DataTable.RowHighlighted) -> None:
        event.stop()
        self.post_message(self.CertHighlighted(self.current))
