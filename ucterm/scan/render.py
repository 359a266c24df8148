"""The faces of a scan on stdout: the human table, CSV, JSON and the Prometheus textfile.

Pure functions from a :class:`~ucterm.scan.model.ScanResult` to text, so that they are tested on
hand-built results and the CLI only decides which one to print. The table merges rows the way
an administrator thinks of certificates (a multi-server certificate once, a trust certificate
once with the nodes that hold it); CSV, JSON and Prometheus stay flat, one row per node and
certificate (design.md §3), so that scripts need no knowledge of the merge.

Status is always written as a word (`EXPIRED`, `CRITICAL`, …): colour, where the terminal
allows it, only repeats what the word says.

Every value that came from a node, a certificate or the inventory goes through
:func:`ucterm.text.visible` in the table, CSV and Prometheus faces, so a CN holding `ESC ] 52`
shows as `\x1b]52` instead of writing the operator's clipboard; JSON is escaped by its encoder.
"""

from __future__ import annotations

import csv
import io
import json
import textwrap
from collections.abc import Sequence
from datetime import UTC

from ucterm.scan.model import MergedCert, NodeResult, ScanResult, merge
from ucterm.text import visible

STATUS_WORD: dict[str, str] = {"expired": "EXPIRED", "critical": "CRITICAL", "warning": "WARNING", "ok": "ok"}
_COLOR: dict[str, str] = {"expired": "\x1b[1;31m", "critical": "\x1b[31m", "warning": "\x1b[33m",
                          "ok": "\x1b[32m"}
_RESET = "\x1b[0m"

#: Flat columns for CSV, in the order of the JSON contract (design.md §3) plus the compatible extras.
CSV_COLUMNS: tuple[str, ...] = (
    "cluster", "node", "unit", "store", "subject_cn", "issuer_cn", "sans", "serial", "not_before",
    "not_after", "days_left", "status", "renewal_due", "self_signed", "fingerprint_sha256", "source", "file",
)

#: Node states in words for the table's "not fully read" section and stderr.
NODE_STATE_WORD: dict[str, str] = {
    "ok": "ok",
    "unreachable": "UNREACHABLE",
    "login-refused": "LOGIN REFUSED",
    "host-key-unknown": "HOST KEY UNKNOWN",
    "host-key-changed": "HOST KEY CHANGED",
    "partial": "PARTIAL",
    "not-in-inventory": "NOT IN INVENTORY",
}


# --------------------------------------------------------------------------------------------
# JSON and CSV (flat)


def render_json(result: ScanResult) -> str:
    """The `ucterm scan --json` document (no PEMs: they belong to the state file, not to jq)."""
    return json.dumps(result.to_json(), indent=2) + "\n"


def render_csv(result: ScanResult) -> str:
    """One CSV row per node and certificate; SANs separated by spaces (they never contain one)."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(CSV_COLUMNS)
    for cert in result.certificates:
        row = cert.to_json()
        row["sans"] = " ".join(cert.sans)
        writer.writerow(["" if row[c] is None else _csv_value(row[c]) for c in CSV_COLUMNS])
    return out.getvalue()


def _csv_value(value: object) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return visible(str(value))


# --------------------------------------------------------------------------------------------
# Prometheus textfile collector


def _label(value: str) -> str:
    return visible(value.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n"))


def _labels(pairs: Sequence[tuple[str, str]]) -> str:
    return "{" + ",".join(f'{k}="{_label(v)}"' for k, v in pairs) + "}"


def render_prometheus(result: ScanResult) -> str:
    """node_exporter textfile-collector format: expiry as a timestamp, and per-node scan success.

    The value of `ucterm_certificate_not_after_seconds` is the absolute `not_after` (Unix seconds)
    so that alert rules compute the time left themselves (`… - time() < 14 * 86400`) and a stale
    file never lies about days left. `serial` and `source` are labels too: a trust store may hold
    two certificates with the same CN (an old and a renewed CA), and a series must be unique.
    """
    lines = [
        "# HELP ucterm_certificate_not_after_seconds Certificate expiry (notAfter) as a Unix timestamp.",
        "# TYPE ucterm_certificate_not_after_seconds gauge",
    ]
    seen: dict[str, int] = {}
    for cert in result.certificates:
        key = _labels((("cluster", cert.cluster), ("node", cert.node), ("unit", cert.unit),
                       ("store", cert.store), ("cn", cert.subject_cn), ("serial", cert.serial),
                       ("source", cert.source)))
        value = int(cert.not_after.timestamp())
        seen[key] = min(value, seen.get(key, value))
    lines.extend(f"ucterm_certificate_not_after_seconds{key} {value}" for key, value in seen.items())
    lines += [
        "# HELP ucterm_node_scan_success Whether the scan read every certificate of the node (1) or not (0).",
        "# TYPE ucterm_node_scan_success gauge",
    ]
    for node in result.nodes:
        ok = 1 if node.reachable and node.state == "ok" else 0
        labels = _labels((("cluster", node.cluster), ("node", node.node)))
        lines.append(f"ucterm_node_scan_success{labels} {ok}")
    lines += [
        "# HELP ucterm_scan_timestamp_seconds When the scan ran, as a Unix timestamp.",
        "# TYPE ucterm_scan_timestamp_seconds gauge",
        f"ucterm_scan_timestamp_seconds {int(result.generated_at.timestamp())}",
    ]
    return "\n".join(lines) + "\n"


# --------------------------------------------------------------------------------------------
# The human table


def _short(fqdn: str) -> str:
    return fqdn.split(".", 1)[0]


def _nodes_cell(m: MergedCert, cluster_size: dict[str, int]) -> str:
    """`all 4 nodes` when every node of the cluster holds it, short host names for a few, else a count."""
    size = cluster_size.get(m.cluster, 0)
    if len(m.nodes) > 1 and len(m.nodes) >= size:
        return f"all {size} nodes"
    if len(m.nodes) <= 3:
        return ",".join(_short(n) for n in m.nodes)
    return f"{len(m.nodes)} of {size} nodes"


def _notes(m: MergedCert) -> str:
    notes: list[str] = []
    if m.record.source == "tls":
        notes.append("served (TLS)")
    if m.store == "own" and m.multi_node:
        notes.append("multi-server")
    if m.served_differs:
        notes.append("restart pending: " + ",".join(_short(n) for n in m.served_differs) + " serve another")
    if m.record.renewal_due:
        notes.append("renewal due")
    if m.record.self_signed and m.store == "own":
        notes.append("self-signed")
    return "; ".join(notes)


def _cell(text: str, width: int) -> str:
    if len(text) <= width:
        return text.ljust(width)
    return text[: max(0, width - 1)] + "…"


_HEADERS = ("CLUSTER", "NODE", "UNIT", "STORE", "CN", "ISSUER", "EXPIRES", "DAYS", "STATUS", "NOTE")
_GAP = "  "


def render_table(result: ScanResult, *, width: int | None = None, color: bool = False) -> str:
    """The readable review: merged rows worst first, then the nodes that could not be read in full.

    `width` is the terminal's: when the one-line layout does not fit, each certificate takes two
    lines (status, days, expiry, where; then CN, issuer and notes) so that nothing is cut at 80
    columns. None keeps one line per certificate whatever its length, for pipes and files.
    """
    cluster_size: dict[str, int] = {}
    for n in result.nodes:
        cluster_size[n.cluster] = cluster_size.get(n.cluster, 0) + 1
    merged = merge(result.certificates, result.nodes)
    rows: list[tuple[str, ...]] = []
    statuses: list[str] = []
    for m in merged:
        r = m.record
        rows.append(tuple(visible(cell) for cell in (
            m.cluster, _nodes_cell(m, cluster_size), m.unit if m.store == "own" else "-", m.store,
            r.subject_cn or "-", r.issuer_cn or "-", r.not_after.astimezone(UTC).strftime("%Y-%m-%d"),
            str(r.days_left), STATUS_WORD[r.status], _notes(m),
        )))
        statuses.append(r.status)
    out: list[str] = []
    warn, crit = result.warn_days, result.crit_days
    clusters = sorted({n.cluster for n in result.nodes})
    out.append(_wrap(
        f"Scan of {len(result.nodes)} node{'s' * (len(result.nodes) != 1)} in {len(clusters)} "
        f"cluster{'s' * (len(clusters) != 1)} at {result.generated_at.astimezone(UTC):%Y-%m-%d %H:%M} UTC; "
        f"warning at {warn} days, critical at {crit} days" + _threshold_overrides(result) + ".",
        width, indent=""))
    if not rows:
        out.append("No certificates were read.")
    else:
        widths = [max(len(h), *(len(row[i]) for row in rows)) for i, h in enumerate(_HEADERS)]
        if width is None or sum(widths) + len(_GAP) * (len(widths) - 1) <= width:
            out.append(_row(_HEADERS, widths, numeric={7}, status_col=8))
            out.extend(_row(row, widths, numeric={7}, status_col=8, status=status if color else None)
                       for row, status in zip(rows, statuses, strict=True))
        else:
            out.extend(_narrow(rows, statuses, width, color))
    problems = node_problems(result)
    if problems:
        out.append("")
        out.append("Nodes not fully read:")
        out.extend(_wrap(p, width) for p in problems)
    notes = [visible(f"{n.cluster} {n.node}: {note}") for n in result.nodes for note in n.notes]
    if notes:
        out.append("")
        out.append("Inventory and node notes:")
        out.extend(_wrap(n, width) for n in notes)
    out.append("")
    out.append(_wrap(summary_line(result, merged), width, indent=""))
    return "\n".join(out) + "\n"


def _wrap(text: str, width: int | None, indent: str = "  ") -> str:
    if width is None:
        return indent + text
    return "\n".join(textwrap.wrap(text, width=width, initial_indent=indent, subsequent_indent=indent + "  ",
                                   break_on_hyphens=False, break_long_words=True)) or indent


#: Narrow layout, first line: STATUS DAYS EXPIRES CLUSTER NODE UNIT STORE (indexes into a wide row).
_NARROW = (8, 7, 6, 0, 1, 2, 3)


def _narrow(rows: list[tuple[str, ...]], statuses: list[str], width: int, color: bool) -> list[str]:
    """Two lines per certificate: where and when, then what (CN, issuer, notes), indented."""
    headers = tuple(_HEADERS[i] for i in _NARROW)
    firsts = [tuple(row[i] for i in _NARROW) for row in rows]
    widths = [max(len(h), *(len(f[i]) for f in firsts)) for i, h in enumerate(headers)]
    budget = width - len(_GAP) * (len(widths) - 1)
    shrinkable = (4, 5, 3)  # node, unit, cluster
    minimum = {4: 11, 5: 8, 3: 6}
    while sum(widths) > budget:
        candidates = [i for i in shrinkable if widths[i] > minimum[i]]
        if not candidates:
            break
        widths[max(candidates, key=lambda i: widths[i])] -= 1
    out = [_row(headers, widths, numeric={1}, status_col=0)]
    for row, first, status in zip(rows, firsts, statuses, strict=True):
        out.append(_row(first, widths, numeric={1}, status_col=0, status=status if color else None))
        detail = f"CN {row[4]} · issued by {row[5]}" + (f" · {row[9]}" if row[9] else "")
        if len(first[4]) > widths[4]:
            detail += f" · on {first[4]}"  # the node list did not fit its column
        out.append(_cell("    " + detail, width).rstrip())
    return out


def _threshold_overrides(result: ScanResult) -> str:
    parts = [f"{name} {w}/{c}" for name, (w, c) in sorted(result.thresholds.items())
             if (w, c) != (result.warn_days, result.crit_days)]
    return f" (cluster overrides, warning/critical days: {', '.join(parts)})" if parts else ""


def _row(cells: Sequence[str], widths: Sequence[int], *, numeric: set[int], status_col: int,
         status: str | None = None) -> str:
    parts: list[str] = []
    for i, (cell, w) in enumerate(zip(cells, widths, strict=True)):
        text = cell.rjust(w) if i in numeric and len(cell) <= w else _cell(cell, w)
        if i == status_col and status is not None:
            word = text.rstrip()
            text = f"{_COLOR[status]}{word}{_RESET}{text[len(word):]}"
        parts.append(text)
    return _GAP.join(parts).rstrip()


def node_problems(result: ScanResult) -> list[str]:
    """One line per node that was not read in full: cluster, node, state in words, the reason."""
    out = []
    for n in result.incomplete_nodes():
        word = NODE_STATE_WORD.get(n.state, n.state.upper())
        reason = _without_node(n.error, n.node) or "no reason recorded"
        out.append(visible(f"{n.cluster} {n.node}: {word}: {reason}"))
    return out


def _without_node(sentence: str | None, node: str) -> str | None:
    """`node: cannot connect…` → `cannot connect…` where the line already names the node."""
    if sentence and sentence.startswith(f"{node}: "):
        return sentence[len(node) + 2:]
    return sentence


def summary_line(result: ScanResult, merged: list[MergedCert] | None = None) -> str:
    """`12 certificates (40 rows): 1 expired, 2 critical, 0 warning, 9 ok; 1 of 5 nodes not fully read.`"""
    merged = merge(result.certificates, result.nodes) if merged is None else merged
    counts = {s: 0 for s in STATUS_WORD}
    for m in merged:
        counts[m.status] += 1
    incomplete = result.incomplete_nodes()
    text = (f"{len(merged)} certificate{'s' * (len(merged) != 1)} ({len(result.certificates)} node rows): "
            + ", ".join(f"{counts[s]} {s}" for s in STATUS_WORD))
    renew = sum(1 for m in merged if m.record.renewal_due)
    if renew:
        text += f", {renew} renewal due"
    if incomplete:
        text += f"; {len(incomplete)} of {len(result.nodes)} nodes not fully read"
    return text + "."


def problem_sentences(nodes: Sequence[NodeResult]) -> list[str]:
    """The reasons of incomplete nodes as they go to stderr with `--json`/`--csv` (one each)."""
    return [visible(n.error or f"{n.node}: {NODE_STATE_WORD.get(n.state, n.state)}")
            for n in nodes if not (n.reachable and n.state == "ok")]
