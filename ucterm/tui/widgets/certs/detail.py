"""The detail pane: everything about the highlighted certificate, computed from its PEM.

Chain (as a tree, root at the top), SANs, fingerprints, key, EKU/KU, lint findings, the nodes
that hold or serve it and "served ≠ installed" when a restart is pending. Pure rendering of the
scan: nothing here talks to a node.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from functools import lru_cache
from typing import TYPE_CHECKING, ClassVar

from textual.binding import Binding, BindingType
from textual.containers import VerticalScroll
from textual.content import Content
from textual.widgets import Static

from ucterm import catalog
from ucterm.expiry import left_short
from ucterm.scan.model import STATUS_GLYPH, MergedCert, ScanResult, status_label
from ucterm.tui.view import read_gap, short_host, trust_read
from ucterm.tui.widgets.common.safe import safe
from ucterm.tui.widgets.common.style import status_markup

if TYPE_CHECKING:  # cryptography loads with the first detail shown, not with the app (first frame)
    from cryptography import x509

LABEL_WIDTH = 9


@lru_cache(maxsize=512)
def _load(pem: str) -> x509.Certificate | None:
    from cryptography import x509

    try:
        return x509.load_pem_x509_certificate(pem.encode("ascii"))
    except (ValueError, UnicodeEncodeError):
        return None


@dataclass
class Facts:
    """What the pane shows, computed once per certificate and clock."""

    summary: object | None = None
    chain: list[tuple[str, str, str, int, str]] = field(default_factory=list)  # (cn, where, status, days, fp)
    chain_note: str = ""
    findings: list[tuple[str, str, str]] = field(default_factory=list)  # (severity, message, fix)
    notes: list[str] = field(default_factory=list)


def _days_status(not_after: dt.datetime, now: dt.datetime, warn: int, crit: int) -> tuple[str, int]:
    from ucterm.scan.model import status_at

    return status_at(not_after, now, warn_days=warn, crit_days=crit)


def compute_facts(cert: MergedCert, scan: ScanResult, now: dt.datetime) -> Facts:
    from ucterm import pki

    facts = Facts()
    leaf = _load(cert.record.pem) if cert.record.pem else None
    if leaf is None:
        facts.notes.append("the scan kept no PEM for this certificate: refresh (r) to read it again")
        return facts
    facts.summary = pki.summarise(leaf, now)
    node = cert.nodes[0] if cert.nodes else cert.record.node
    trusted: list[x509.Certificate] = []
    where: dict[str, str] = {}
    for r in scan.for_node(cert.cluster, node):
        if r.is_identity or not r.pem:
            continue
        c = _load(r.pem)
        if c is None:
            continue
        trusted.append(c)
        where.setdefault(r.fingerprint_sha256, r.store)
    # Up to the root where the node's trust stores hold it; `trusted` stops at the first trusted CA.
    chain = pki.build_chain([leaf, *trusted], leaf)
    if not chain.complete:
        chain = pki.build_chain([leaf], leaf, trusted=trusted)
    for c in reversed(chain.certs):
        fp = pki.sha256_hex(c)
        status, days = _days_status(c.not_valid_after_utc, now, scan.warn_days, scan.crit_days)
        is_leaf = c is chain.certs[0]
        place = cert.store if is_leaf else where.get(fp, "not on the node")
        facts.chain.append((pki.label(c), place, status, days, fp))
    # A node read over TLS only (no OS password, no login) has no trust stores in the scan: a chain
    # that stops at the leaf there says nothing about the node, so no chain finding is shown for it.
    chain_known = trust_read(scan, cert.cluster, node)
    if not chain_known and not chain.complete:
        facts.chain_note = "not checked: the node's trust stores were not read (" + \
            (read_gap(scan, cert.cluster, node) or "partly read") + ")"
    elif not chain.complete:
        facts.chain_note = "; ".join(chain.problems) or "the chain does not reach a root"
    elif chain.anchor is leaf and cert.store == "own":
        facts.chain_note = "self-signed: no CA involved"
    if cert.store == "own":
        try:
            findings = pki.lint(leaf, unit=cert.unit, multi_server=cert.multi_node,
                                chain=chain if chain_known or chain.complete else None, now=now)
            if chain.anchor is not leaf and (chain_known or chain.complete):
                findings = pki.verify_chain(chain, now) + findings
        except pki.PkiError as exc:
            facts.notes.append(str(exc))
            findings = []
        seen = set()
        for f in findings:
            if (f.code, f.message) in seen:
                continue
            seen.add((f.code, f.message))
            facts.findings.append((f.severity, f.message, f.fix))
    return facts


class CertDetail(VerticalScroll, can_focus=True):
    """Bottom pane; focus it (tab or 3) to scroll, `z` to give it the whole screen."""

    ALLOW_MAXIMIZE = True

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("j,down", "scroll_down", "Scroll down", show=False, id="detail.down"),
        Binding("k,up", "scroll_up", "Scroll up", show=False, id="detail.up"),
    ]

    HELP = ("Details of the highlighted certificate: validity, the nodes that hold it and whether "
            "their TLS endpoint serves it (⟳ served ≠ installed: a restart is pending), the chain "
            "as a tree (root at the top), SANs, key, EKU/KU, fingerprints and lint findings with "
            "the fix.")

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self._body = Static("", id="detail-body")
        self._cache: dict[tuple[str, dt.datetime], Facts] = {}

    def compose(self):  # type: ignore[no-untyped-def]
        yield self._body

    def show(self, cert: MergedCert | None, scan: ScanResult | None, now: dt.datetime,
             products: dict[str, tuple[str, str | None]] | None = None) -> None:
        if cert is None or scan is None:
            self.border_title = "details"
            self._body.update(Content.styled("No certificate selected.", "$text-muted"))
            return
        key = (f"{cert.cluster}|{cert.store}|{cert.unit}|{cert.record.fingerprint_sha256}", now)
        facts = self._cache.get(key)
        if facts is None:
            facts = compute_facts(cert, scan, now)
            self._cache[key] = facts
        self.border_title = safe(f"{cert.unit} · {cert.store} · {cert.cluster}")
        self._body.update(safe(render_detail(cert, scan, facts, products or {}, no_color=self.app.no_color)))
        self.scroll_home(animate=False)


def _without_node(sentence: str, node: str) -> str:
    return sentence[len(node) + 2:] if sentence.startswith(f"{node}: ") else sentence


def _row(label: str, *parts: str | tuple[str, str] | Content) -> Content:
    return Content.assemble((f"{label:<{LABEL_WIDTH}}", "bold $text-muted"), *parts)


def _status(status: str, days: int, no_color: bool) -> tuple[str, str]:
    return (f"{STATUS_GLYPH[status]} {status_label(status, days)}", status_markup(status, no_color=no_color))


def render_detail(cert: MergedCert, scan: ScanResult, facts: Facts,
                  products: dict[str, tuple[str, str | None]], *, no_color: bool = False) -> Content:
    r = cert.record
    lines: list[Content] = []
    lines.append(Content.assemble(_status(cert.status, r.days_left, no_color), "  ", (r.subject_cn, "bold")))
    valid = f"{r.not_before:%Y-%m-%d} → {r.not_after:%Y-%m-%d}"
    left = left_short(r.days_left, cert.status == "expired")
    parts: list[str | tuple[str, str]] = [valid, (f" ({left})", "$text-muted")]
    if r.renewal_due and cert.status != "expired":
        parts.append(("  renewal due", "$warning"))
    lines.append(_row("valid", *parts))
    lines.append(_row("issuer", r.issuer_cn + ("  (self-signed)" if r.self_signed else "")))
    if cert.store == "own":
        errors = sum(1 for f in facts.findings if f[0] == "error")
        warnings = len(facts.findings) - errors
        if not facts.findings:
            lines.append(_row("lint", ("✔ no findings", "$success")))
        else:
            summary: list[str | tuple[str, str]] = []
            if errors:
                summary.append((f"✖ {errors} error{'s' if errors > 1 else ''}",
                                status_markup("expired", no_color=no_color)))
            if warnings:
                summary.append((f"{'  ' if errors else ''}▲ {warnings} warning{'s' if warnings > 1 else ''}",
                                "bold $warning"))
            summary.append(("  (below)", "$text-muted"))
            lines.append(_row("lint", *summary))

    # Nodes that hold or serve it.
    product, version = products.get(cert.cluster, ("", None))
    service = None
    if cert.store == "own" and product:
        try:
            service = catalog.serving_service(product, catalog.parse_version(version), cert.unit)
        except KeyError:
            service = None
    for node in cert.nodes:
        gap = read_gap(scan, cert.cluster, node)
        result = scan.node_result(cert.cluster, node)
        if gap is not None and result is not None:
            lines.append(_row("read", (f"◐ {gap}", "bold $warning"), f" on {short_host(node)}: ",
                              (_without_node(result.error or "", node), "$text-muted")))
    for i, node in enumerate(cert.nodes):
        state: list[str | tuple[str, str]] = [short_host(node)]
        if node in cert.served_by:
            state.append(("  serves it", "$success"))
        elif node in cert.served_differs:
            state.append(("  ⟳ served ≠ installed", "bold $warning"))
        elif cert.store == "own":
            state.append(("  holds it", "$text-muted"))
        lines.append(_row("nodes" if i == 0 else "", *state))
    if cert.served_differs:
        fix = f"restart {service}" if service else "restart the service that uses it"
        hosts = ", ".join(short_host(n) for n in cert.served_differs)
        lines.append(Content.assemble(
            ("⟳ served ≠ installed", "bold $warning"),
            f" on {hosts}: a restart is pending; {fix} there to serve the installed certificate."))

    # Chain as a tree.
    lines.append(Content(""))
    lines.append(Content.styled("chain", "bold $text-muted"))
    for depth, (cn, where, status, days, _fp) in enumerate(facts.chain):
        guide = "" if depth == 0 else "   " * (depth - 1) + "└─ "
        lines.append(Content.assemble(" ", guide, _status(status, days, no_color), " ", cn,
                                      (f"  {where}", "$text-muted")))
    if facts.chain_note:
        lines.append(Content.styled(f" {facts.chain_note}", "$text-muted"))

    s = facts.summary
    if s is not None:
        from ucterm.pki import CertSummary
        from ucterm.pki.summary import KEY_USAGE_LABELS

        assert isinstance(s, CertSummary)
        lines.append(Content(""))
        sans = [*s.sans_dns, *s.sans_ip]
        if sans:
            for i, name in enumerate(sans):
                lines.append(_row("SANs" if i == 0 else "", name))
        else:
            lines.append(_row("SANs", ("none", "$text-muted")))
        lines.append(_row("key", f"{s.key_type} {s.key_size}", ("  " + s.signature_algorithm, "$text-muted")))
        lines.append(_row("EKU", ", ".join(s.eku) if s.eku_present else ("absent (any)", "$text-muted")))
        ku = ", ".join(KEY_USAGE_LABELS.get(k, k) for k in s.key_usage)
        lines.append(_row("KU", ku or ("absent", "$text-muted")))
        lines.append(_row("SHA-256", s.sha256[:32]))
        lines.append(_row("", s.sha256[32:]))
        lines.append(_row("SHA-1", s.sha1))
        lines.append(_row("serial", r.serial))
        if r.file:
            lines.append(_row("file", r.file))

    if cert.store == "own" and facts.findings:
        lines.append(Content(""))
        lines.append(Content.styled("lint findings", "bold $text-muted"))
        for severity, message, fix in facts.findings:
            glyph, style = (("✖ error", status_markup("expired", no_color=no_color)) if severity == "error"
                            else ("▲ warning", "bold $warning"))
            lines.append(Content.assemble((glyph, style), f" {message}"))
            lines.append(Content.assemble(("  fix: ", "$text-muted"), fix))
    for note in facts.notes:
        lines.append(Content.styled(note, "$text-muted"))
    return Content("\n").join(lines)
