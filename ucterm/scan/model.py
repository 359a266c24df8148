"""What an estate scan found: flat rows (the JSON contract), merged views, status rules.

`ucterm scan --json` stays flat (one row per node and certificate, design.md §3) so that jq
filters stay simple; the human table and the TUI merge rows: a multi-server certificate is one
certificate on several nodes, an identical trust certificate is one row with the nodes that hold
it, and a served certificate that differs from the installed one means a restart is pending.
This module is pure (no I/O but the JSON file helpers) so that the TUI can import it cheaply.
"""

from __future__ import annotations

import copy
import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from functools import cached_property, lru_cache
from pathlib import Path
from typing import Any, Literal

from ucterm.expiry import days_left, is_expired

Status = Literal["expired", "critical", "warning", "ok"]
STATUS_ORDER: dict[str, int] = {"expired": 0, "critical": 1, "warning": 2, "ok": 3}
Source = Literal["cli", "rest", "tls"]


def classify(days_left: int, *, warn_days: int, crit_days: int, expired: bool | None = None) -> Status:
    """`expired` / `critical` / `warning` / `ok` from the thresholds (defaults, per cluster, CLI)."""
    if expired if expired is not None else days_left < 0:
        return "expired"
    if days_left <= crit_days:
        return "critical"
    if days_left <= warn_days:
        return "warning"
    return "ok"


#: Lifetimes up to this many days count as short-lived (public CA maximum, CA/B Forum 398 days).
#: Above it the two-thirds rule would flag a five-year certificate with two years left, which is noise.
SHORT_LIVED_DAYS = 398


def renewal_due(not_before: datetime, not_after: datetime, now: datetime, *,
                short_lived_days: int | None = SHORT_LIVED_DAYS) -> bool:
    """Two thirds of the lifetime have passed: the rule for short-lived certificates.

    Certificates whose lifetime exceeds `short_lived_days` are never "renewal due" (the warn and
    crit thresholds cover them); pass None to apply the rule to every lifetime.
    """
    lifetime = (not_after - not_before).total_seconds()
    if lifetime <= 0:
        return True
    if short_lived_days is not None and lifetime > short_lived_days * 86400:
        return False
    return (now - not_before).total_seconds() >= lifetime * 2 / 3


def status_at(not_after: datetime, now: datetime, *, warn_days: int, crit_days: int) -> tuple[Status, int]:
    """(status, days left) of a certificate at `now`, by the one counting rule (ucterm.expiry)."""
    left = days_left(not_after, now)
    return classify(left, warn_days=warn_days, crit_days=crit_days, expired=is_expired(not_after, now)), left


def status_label(status: str, days: int) -> str:
    """The text shown next to colour (never colour alone): `EXPIRED`, `12d`."""
    return "EXPIRED" if status == "expired" else f"{days}d"


STATUS_GLYPH: dict[str, str] = {"expired": "✖", "critical": "▲", "warning": "●", "ok": "✔"}


@dataclass(frozen=True)
class CertRecord:
    """One certificate on one node: a row of `ucterm scan --json`."""

    cluster: str
    node: str
    unit: str
    store: str  # "own" or a trust store name such as "tomcat-trust"
    subject_cn: str
    issuer_cn: str
    sans: tuple[str, ...]
    serial: str
    not_before: datetime
    not_after: datetime
    days_left: int
    status: Status
    self_signed: bool
    fingerprint_sha256: str
    source: Source
    renewal_due: bool = False
    #: Trust store file name (`tomcat-trust/Lab_Root_CA_01.pem`) where known.
    file: str | None = None
    #: PEM text, kept for the detail view and the renewal plan; not part of the JSON contract.
    pem: str | None = None

    @property
    def is_identity(self) -> bool:
        return self.store == "own"

    def to_json(self) -> dict[str, Any]:
        """The contract row (design.md §3), plus compatible extras."""
        return {
            "cluster": self.cluster,
            "node": self.node,
            "unit": self.unit,
            "store": self.store,
            "subject_cn": self.subject_cn,
            "issuer_cn": self.issuer_cn,
            "sans": list(self.sans),
            "serial": self.serial,
            "not_before": _iso(self.not_before),
            "not_after": _iso(self.not_after),
            "days_left": self.days_left,
            "status": self.status,
            "renewal_due": self.renewal_due,
            "self_signed": self.self_signed,
            "fingerprint_sha256": self.fingerprint_sha256,
            "source": self.source,
            "file": self.file,
        }

    @classmethod
    def from_json(cls, d: dict[str, Any], pem: str | None = None) -> CertRecord:
        return cls(
            cluster=d["cluster"], node=d["node"], unit=d["unit"], store=d["store"],
            subject_cn=d.get("subject_cn", ""), issuer_cn=d.get("issuer_cn", ""),
            sans=tuple(d.get("sans", ())),
            serial=d.get("serial", ""), not_before=_parse_iso(d.get("not_before") or d["not_after"]),
            not_after=_parse_iso(d["not_after"]), days_left=int(d["days_left"]), status=d["status"],
            self_signed=bool(d.get("self_signed")), fingerprint_sha256=d.get("fingerprint_sha256", ""),
            source=d.get("source", "cli"), renewal_due=bool(d.get("renewal_due", False)), file=d.get("file"),
            pem=pem if pem is not None else d.get("pem"),
        )


@dataclass(frozen=True)
class NodeResult:
    """What one node answered; `reachable` False and `error` set when it could not be read."""

    cluster: str
    node: str
    product: str
    role: str | None
    version: str | None
    reachable: bool
    error: str | None = None
    #: What the node's TLS endpoints present, by unit (fingerprint SHA-256), where probed.
    served: dict[str, str] = field(default_factory=dict)
    #: Differences between the inventory and what the node says (discovery).
    notes: tuple[str, ...] = ()
    #: `ok`, `unreachable`, `login-refused`, `host-key-unknown`, `host-key-changed`, `partial`.
    state: str = "ok"
    #: The SSH host key's SHA-256 fingerprint: the one verified (or accepted on first use) when the
    #: node was read, or for `host-key-unknown` the one the user may accept.
    host_key_fingerprint: str | None = None
    #: The key was unknown and accepted by this scan (trust_on_first_use): nobody checked it.
    host_key_accepted: bool = False

    def to_json(self) -> dict[str, Any]:
        return {
            "cluster": self.cluster, "node": self.node, "product": self.product, "role": self.role,
            "version": self.version, "reachable": self.reachable, "error": self.error,
            "state": self.state, "served": dict(self.served), "notes": list(self.notes),
            "host_key_fingerprint": self.host_key_fingerprint,
            "host_key_accepted": self.host_key_accepted,
        }

    @classmethod
    def from_json(cls, d: dict[str, Any]) -> NodeResult:
        return cls(cluster=d["cluster"], node=d["node"], product=d.get("product", ""), role=d.get("role"),
                   version=d.get("version"), reachable=bool(d.get("reachable")), error=d.get("error"),
                   served=dict(d.get("served") or {}), notes=tuple(d.get("notes") or ()),
                   state=d.get("state", "ok" if d.get("reachable") else "unreachable"),
                   host_key_fingerprint=d.get("host_key_fingerprint"),
                   host_key_accepted=bool(d.get("host_key_accepted", False)))


@dataclass(frozen=True)
class MergedCert:
    """A certificate as people think of it: one row, with every node that holds or serves it."""

    cluster: str
    unit: str
    store: str
    nodes: tuple[str, ...]
    record: CertRecord
    #: Nodes whose TLS endpoint for this unit presents a different certificate (restart pending).
    served_differs: tuple[str, ...] = ()
    #: Nodes whose endpoint presents this certificate.
    served_by: tuple[str, ...] = ()

    @property
    def status(self) -> Status:
        return self.record.status

    @property
    def multi_node(self) -> bool:
        return len(self.nodes) > 1


@dataclass(frozen=True)
class ScanResult:
    generated_at: datetime
    nodes: tuple[NodeResult, ...]
    certificates: tuple[CertRecord, ...]
    #: The thresholds of the scan as a whole (inventory defaults, or the command line's).
    warn_days: int = 60
    crit_days: int = 14
    #: Per-cluster (warn_days, crit_days) where a cluster's settings differ; rows were classified with them.
    thresholds: dict[str, tuple[int, int]] = field(default_factory=dict)

    # ---- contract ------------------------------------------------------------------------
    def to_json(self, *, with_pem: bool = False) -> dict[str, Any]:
        """The `ucterm scan --json` document; `with_pem` adds `pems` (fingerprint → PEM), the form the
        scan is kept in. Each PEM is there once: a replicated trust certificate is one PEM for the
        rows of every node that holds it (a hundred nodes' kept scan was 9 MB, most of it repeats)."""
        rows = [c.to_json() for c in self.certificates]
        document: dict[str, Any] = {
            "generated_at": _iso(self.generated_at),
            "warn_days": self.warn_days,
            "crit_days": self.crit_days,
            "thresholds": {name: {"warn_days": w, "crit_days": c}
                           for name, (w, c) in self.thresholds.items()},
            "nodes": [n.to_json() for n in self.nodes],
            "certificates": rows,
        }
        if with_pem:
            document["pems"] = {c.fingerprint_sha256: c.pem for c in self.certificates if c.pem}
        return document

    @classmethod
    def from_json(cls, d: dict[str, Any]) -> ScanResult:
        pems: dict[str, str] = d.get("pems") or {}
        return cls(
            generated_at=_parse_iso(d["generated_at"]),
            nodes=tuple(NodeResult.from_json(n) for n in d.get("nodes", [])),
            # Rows of files kept before `pems` carry their own `pem`.
            certificates=tuple(CertRecord.from_json(c, c.get("pem") or pems.get(c.get("fingerprint_sha256", "")))
                               for c in d.get("certificates", [])),
            warn_days=int(d.get("warn_days", 60)), crit_days=int(d.get("crit_days", 14)),
            thresholds={name: (int(t["warn_days"]), int(t["crit_days"]))
                        for name, t in (d.get("thresholds") or {}).items()},
        )

    # ---- questions -------------------------------------------------------------------------
    @property
    def complete(self) -> bool:
        """Every node was read in full: reachable, logged in, every certificate read (state `ok`)."""
        return not self.incomplete_nodes()

    def thresholds_for(self, cluster: str) -> tuple[int, int]:
        """(warn_days, crit_days) the cluster's rows were classified with."""
        return self.thresholds.get(cluster, (self.warn_days, self.crit_days))

    def incomplete_nodes(self) -> tuple[NodeResult, ...]:
        """The nodes not read in full (unreachable, refused, unknown host key, partly read)."""
        return tuple(n for n in self.nodes if not (n.reachable and n.state == "ok"))

    def worst_status(self, certs: Iterable[CertRecord] | None = None) -> Status | None:
        statuses: list[Status] = [c.status for c in (self.certificates if certs is None else certs)]
        if not statuses:
            return None
        worst: Status = min(statuses, key=STATUS_ORDER.__getitem__)
        return worst

    def exit_code(self) -> int:
        """0 ok, 1 warning, 2 critical/expired, 3 incomplete (design.md §3)."""
        if not self.complete:
            return 3
        worst = self.worst_status()
        if worst in ("expired", "critical"):
            return 2
        if worst == "warning":
            return 1
        return 0

    def node_result(self, cluster: str, node: str) -> NodeResult | None:
        return self._nodes_by_name.get((cluster, node))

    def for_node(self, cluster: str, node: str) -> tuple[CertRecord, ...]:
        return self._by_node.get((cluster, node), ())

    def for_cluster(self, cluster: str) -> tuple[CertRecord, ...]:
        return self._by_cluster.get(cluster, ())

    # Indexes, built on first use: a screen asks these per node and per certificate, and each
    # question was a pass over every row (8,000 on a hundred nodes). The scan is immutable.
    @cached_property
    def _nodes_by_name(self) -> dict[tuple[str, str], NodeResult]:
        out: dict[tuple[str, str], NodeResult] = {}
        for n in self.nodes:
            out.setdefault((n.cluster, n.node), n)
        return out

    @cached_property
    def _by_node(self) -> dict[tuple[str, str], tuple[CertRecord, ...]]:
        out: dict[tuple[str, str], list[CertRecord]] = {}
        for c in self.certificates:
            out.setdefault((c.cluster, c.node), []).append(c)
        return {k: tuple(v) for k, v in out.items()}

    @cached_property
    def _by_cluster(self) -> dict[str, tuple[CertRecord, ...]]:
        out: dict[str, list[CertRecord]] = {}
        for c in self.certificates:
            out.setdefault(c.cluster, []).append(c)
        return {k: tuple(v) for k, v in out.items()}

    def reclassified(self, *, warn_days: int, crit_days: int, now: datetime | None = None,
                     thresholds: Mapping[str, tuple[int, int]] | None = None) -> ScanResult:
        """The same scan with other thresholds (defaults, and per cluster where given) and, for a
        stored scan, today's days-left."""
        fresh = replace(self, warn_days=warn_days, crit_days=crit_days, thresholds=dict(thresholds or {}))
        return fresh.aged(now or self.generated_at)

    def aged(self, now: datetime) -> ScanResult:
        """The same scan seen at `now` (a stored scan opened days later), by each cluster's thresholds.

        Rows whose days, status and renewal flag stay the same are kept as they are (the TUI asks
        again every minute and on every threshold change; most rows do not change).
        """
        certs = []
        for c in self.certificates:
            warn, crit = self.thresholds_for(c.cluster)
            status, d = status_at(c.not_after, now, warn_days=warn, crit_days=crit)
            due = renewal_due(c.not_before, c.not_after, now)
            certs.append(c if (d, status, due) == (c.days_left, c.status, c.renewal_due)
                         else _aged_record(c, d, status, due))
        return replace(self, certificates=tuple(certs))

    def with_clusters(self, fresh: ScanResult) -> ScanResult:
        """This scan with every cluster of `fresh` (a scan of some clusters) replaced by its new rows;
        the other clusters keep their rows and the thresholds they were classified with."""
        scanned = {n.cluster for n in fresh.nodes}
        nodes = (*(n for n in self.nodes if n.cluster not in scanned), *fresh.nodes)
        certs = (*(c for c in self.certificates if c.cluster not in scanned), *fresh.certificates)
        thresholds = {k: v for k, v in self.thresholds.items() if k not in scanned}
        for n in self.nodes:
            if n.cluster not in scanned and n.cluster not in thresholds:
                thresholds[n.cluster] = (self.warn_days, self.crit_days)
        thresholds.update(fresh.thresholds)
        for name in scanned:
            thresholds.setdefault(name, (fresh.warn_days, fresh.crit_days))
        return replace(fresh, nodes=nodes, certificates=certs, thresholds=thresholds)

    def with_nodes(self, nodes: Iterable[NodeResult], certificates: Iterable[CertRecord]) -> ScanResult:
        """This scan with some nodes rescanned (a single-node refresh): their rows are replaced, in place."""
        fresh = list(nodes)
        keys = {(n.cluster, n.node) for n in fresh}
        by_key = {(n.cluster, n.node): n for n in fresh}
        merged_nodes = [by_key.pop((n.cluster, n.node), n) for n in self.nodes]
        merged_nodes.extend(by_key.values())
        kept = [c for c in self.certificates if (c.cluster, c.node) not in keys]
        return replace(self, nodes=tuple(merged_nodes), certificates=(*kept, *certificates))


def _aged_record(record: CertRecord, days: int, status: Status, due: bool) -> CertRecord:
    """`replace(record, days_left=..., status=..., renewal_due=...)` without re-running __init__
    (a tenth of the time: a hundred nodes' rows are aged on every day boundary)."""
    aged = copy.copy(record)
    object.__setattr__(aged, "days_left", days)
    object.__setattr__(aged, "status", status)
    object.__setattr__(aged, "renewal_due", due)
    return aged


def merge(records: Iterable[CertRecord], nodes: Iterable[NodeResult] = ()) -> list[MergedCert]:
    """Merge flat rows per cluster: same store and same fingerprint is one certificate.

    Identity certificates are merged only for the same unit, so that tomcat and a CallManager
    certificate reusing the same multi-SAN certificate (14+ "Reuse Certificate") stay two rows.
    Sorted worst status first, then soonest expiry.
    """
    groups: dict[tuple[str, str, str, str], list[CertRecord]] = {}
    for r in records:
        key = (r.cluster, r.store, r.unit if r.store == "own" else "", r.fingerprint_sha256)
        groups.setdefault(key, []).append(r)
    served: dict[tuple[str, str], dict[str, str]] = {}
    for n in nodes:
        served[(n.cluster, n.node)] = n.served
    out: list[MergedCert] = []
    for rows in groups.values():
        first = rows[0]
        node_names = tuple(dict.fromkeys(r.node for r in rows))
        differs: list[str] = []
        serving: list[str] = []
        if first.store == "own":
            for name in node_names:
                fp = served.get((first.cluster, name), {}).get(first.unit)
                if fp is None:
                    continue
                if fp == first.fingerprint_sha256:
                    serving.append(name)
                else:
                    differs.append(name)
        out.append(MergedCert(first.cluster, first.unit, first.store, node_names, first,
                              tuple(differs), tuple(serving)))
    out.sort(key=lambda m: (STATUS_ORDER[m.status], m.record.not_after, m.cluster, m.store != "own", m.unit))
    return out


def save_scan(result: ScanResult, path: Path) -> None:
    """Keep the last scan (with PEMs) so the TUI opens instantly and refreshes in the background."""
    from ucterm.files import atomic_write

    atomic_write(path, json.dumps(result.to_json(with_pem=True)).encode("utf-8"))


def load_scan(path: Path) -> ScanResult | None:
    """The last scan, or None when there is none or it cannot be read (a stale cache is not an error)."""
    try:
        return ScanResult.from_json(json.loads(path.read_text("utf-8")))
    except (OSError, ValueError, KeyError, TypeError):
        return None


def _iso(dt: datetime) -> str:
    return dt.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


@lru_cache(maxsize=4096)
def _parse_iso(text: str) -> datetime:
    """Kept per text: a kept scan repeats the dates of every replicated certificate on every node."""
    dt = datetime.fromisoformat(text.replace("Z", "+00:00"))
    return dt if dt.tzinfo else dt.replace(tzinfo=UTC)
