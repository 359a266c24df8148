"""What `ucterm renew --due DAYS` renews: from a fresh scan and the journal, one renewal per cluster and
unit, like for like, and a reason for everything it leaves alone. Pure.

The rules, in the order they apply:

- **Identity certificates only** (`store = own`): a trust certificate is a CA's, renewed by its CA.
- **Within DAYS**: `days_left <= DAYS`, expired ones included.
- **Like for like**: a multi-server certificate (one certificate on several nodes, or naming several
  in its SANs, §2.1) stays multi-server with the same CN and SAN set; a single-server one stays
  single-server, on the nodes that hold a due one. A multi-server certificate that does not name
  every node of its cluster, or one ucterm cannot make again (no certmgr REST on the publisher,
  §1.3/§4.1), is left for a person, with the command to do it.
- **High-risk units** (CallManager, CallManager-ECDSA, TVS, CAPF, ITLRecovery: phones, ITL/CTL,
  §5.5) only when `--unit` names them; and never two of CallManager, TVS, ITLRecovery on one
  cluster in one batch, nor one renewed there by another job in the last two days (§5.5
  [VERIFIED: S-214231]: wait until every phone has re-registered). ITLRecovery is never batched
  with anything else on its cluster (§5.5 tool policy).
- **Read-only clusters** are skipped and said so; a cluster whose scan is incomplete is not renewed
  (what it holds is not known), which is an error of the batch.
- **Convergence**: a cluster and unit with an unfinished job is not planned again: that job is
  resumed (waiting, interrupted or failed), or left as a person left it (paused, aborted) and said
  so. A certificate that a finished job installed and that is due again at once is not renewed
  again (its CA issues certificates shorter than DAYS), which the batch says, so that a daily
  `ucterm renew --due 30 --yes` never renews the same certificate twice a day.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, replace
from typing import Literal

from ucterm import catalog
from ucterm.errors import UctermError
from ucterm.inventory import Cluster, Inventory
from ucterm.renewal.journal import JobSummary
from ucterm.renewal.model import CsrRequest, PlanOptions
from ucterm.renewal.plan import defaults_for, multi_server_possible
from ucterm.scan.model import CertRecord, ScanResult

__all__ = ["DueError", "DueRenewal", "DueSelection", "LeftAlone", "named_units", "options_for", "select_due",
           "select_marked"]

_MS_CN = re.compile(r"^[^.]+-(?:ec-)?ms\.", re.IGNORECASE)
#: Unfinished jobs a batch resumes; the others (paused, aborted by a person; running elsewhere) it leaves.
RESUMABLE = frozenset({"waiting", "interrupted", "failed"})

LeftKind = Literal["read-only", "high-risk", "never-together", "covered", "renewed", "left", "running",
                   "not-like-for-like", "unscanned", "damaged"]
#: What a left-alone item means for the batch's exit code: a problem (2), or a decision that is no failure.
#: (A job left as a person left it, or running elsewhere, counts by its own state in the batch's jobs.)
_WEIGHT: dict[str, Literal["error", "fine"]] = {
    "read-only": "fine", "high-risk": "fine", "never-together": "fine", "covered": "fine", "renewed": "error",
    "left": "fine", "running": "fine", "not-like-for-like": "error", "unscanned": "error", "damaged": "error"}


class DueError(UctermError):
    """`--due` cannot run as asked (bad arguments, an unknown unit, no node readable): one sentence,
    nothing changed, exit 3 (cli/due.py's contract)."""

    exit_code = 3


@dataclass(frozen=True)
class DueRenewal:
    """One new job: a cluster and unit, like for like."""

    cluster: str
    unit: str
    multi_server: bool
    #: Single-server: the nodes whose certificate is due, publisher first; multi-server: every node (empty).
    nodes: tuple[str, ...]
    #: The due certificates (one row per node that holds one).
    certs: tuple[CertRecord, ...]

    @property
    def days_left(self) -> int:
        return min(c.days_left for c in self.certs)

    def describe(self) -> str:
        kind = "multi-server" if self.multi_server else "single-server on " + ", ".join(
            n.split(".", 1)[0] for n in self.nodes)
        when = f"expired {-self.days_left}d ago" if self.days_left < 0 else f"expires in {self.days_left}d"
        return f"{self.unit} on cluster {self.cluster} ({kind}; {when})"


@dataclass(frozen=True)
class LeftAlone:
    """Something due (or unfinished) that the batch does not renew now, and why, in one sentence."""

    cluster: str
    unit: str | None
    kind: LeftKind
    reason: str
    nodes: tuple[str, ...] = ()
    #: The unfinished job concerned, where there is one.
    job: str | None = None

    @property
    def weight(self) -> Literal["error", "fine"]:
        return _WEIGHT[self.kind]

    def to_json(self) -> dict[str, object]:
        return {"cluster": self.cluster, "unit": self.unit, "kind": self.kind, "reason": self.reason,
                "nodes": list(self.nodes), "job": self.job}


@dataclass(frozen=True)
class DueSelection:
    days: int
    renew: tuple[DueRenewal, ...]
    #: Unfinished jobs in scope that the batch resumes.
    resume: tuple[JobSummary, ...]
    left: tuple[LeftAlone, ...]


def named_units(names: Sequence[str]) -> set[str]:
    """The catalog names of `--unit` values (case-insensitive); DueError names an unknown one."""
    out: set[str] = set()
    for name in names:
        try:
            out.add(catalog.unit_spec(name).name)
        except KeyError:
            raise DueError(f'unknown unit "{name}" for --unit; the units are '
                           + ", ".join(sorted(catalog.UNITS)) + ".") from None
    return out


def _clusters(inventory: Inventory, names: Sequence[str]) -> tuple[Cluster, ...]:
    if not names:
        return inventory.clusters
    wanted = {inventory.cluster(n).name for n in names}  # InventoryError names the known clusters
    return tuple(c for c in inventory.clusters if c.name in wanted)


def _in_scope(unit: str, units: set[str]) -> bool:
    """A unit the batch may renew: named, or (none named) any that is not high-risk (§5.5)."""
    spec = catalog.unit_spec(unit)
    return spec.name in units if units else not spec.high_risk


def select_due(inventory: Inventory, scan: ScanResult, *, days: int, clusters: Sequence[str] = (),
               units: Sequence[str] = (), jobs: Sequence[JobSummary] = (),
               installed: Mapping[str, str] | None = None,
               recent: Mapping[str, Mapping[str, str]] | None = None,
               days_for: Mapping[str, int] | None = None) -> DueSelection:
    """The batch for `--due days` (see the module docstring).

    `jobs`: the journal (list_jobs); `installed`: SHA-256 → job id of the certificates finished jobs
    installed; `recent`: per cluster, units renewed there lately (journal.recent_units); `days_for`:
    per cluster, another limit than `days` (the TUI's "everything due" uses each cluster's warn_days)."""
    chosen = _clusters(inventory, clusters)
    named = named_units(units)

    def limit(cluster: str) -> int:
        return (days_for or {}).get(cluster, days)

    def due(cluster: Cluster) -> list[CertRecord]:
        return [c for c in scan.for_cluster(cluster.name)
                if c.is_identity and c.days_left <= limit(cluster.name) and _known(c.unit)]

    def in_scope(cluster: str, unit: str) -> bool:
        # A job's unit this version does not know (a newer ucterm's) is in scope only when no --unit is named.
        return _in_scope(unit, named) if _known(unit) else not named

    def hint(cluster: str, unit: str) -> str | None:
        if named or not catalog.unit_spec(unit).high_risk:
            return None
        return (f"{unit} on cluster {cluster} is due, but high-risk units (their restarts re-register phones "
                f"and touch the ITL/CTL files) are renewed only when --unit names them: "
                f"`ucterm renew --due {limit(cluster)} --cluster {cluster} --unit {unit}`")

    return _select(inventory, scan, chosen, due, in_scope, hint, jobs=jobs, installed=installed or {},
                   recent=recent or {}, days=days, limit=limit)


def select_marked(inventory: Inventory, scan: ScanResult, marked: Sequence[CertRecord], *,
                  jobs: Sequence[JobSummary] = (), recent: Mapping[str, Mapping[str, str]] | None = None,
                  ) -> DueSelection:
    """The batch for certificates a person marked (the TUI): the same rules as `--due`, but the person
    chose the units (a marked high-risk one is renewed; §5.5's never-together still holds) and the
    certificates, due or not (one a finished job installed too). A marked trust certificate is no
    renewal and is ignored."""
    keys = {(r.cluster, catalog.unit_spec(r.unit).name, r.fingerprint_sha256) for r in marked
            if r.is_identity and _known(r.unit)}
    units = {(cluster, unit) for cluster, unit, _ in keys}
    chosen = tuple(c for c in inventory.clusters if c.name in {cluster for cluster, _ in units})

    def due(cluster: Cluster) -> list[CertRecord]:
        return [c for c in scan.for_cluster(cluster.name) if c.is_identity and _known(c.unit)
                and (cluster.name, catalog.unit_spec(c.unit).name, c.fingerprint_sha256) in keys]

    days = max((r.days_left for r in marked if r.is_identity and _known(r.unit)), default=0)
    return _select(inventory, scan, chosen, due, lambda cluster, unit: (cluster, unit) in units, lambda c, u: None,
                   jobs=jobs, installed={}, recent=recent or {}, days=days, limit=lambda cluster: days)


def _select(inventory: Inventory, scan: ScanResult, chosen: Sequence[Cluster],
            due: Callable[[Cluster], list[CertRecord]], in_scope: Callable[[str, str], bool],
            hint: Callable[[str, str], str | None], *, jobs: Sequence[JobSummary], installed: Mapping[str, str],
            recent: Mapping[str, Mapping[str, str]], days: int, limit: Callable[[str], int]) -> DueSelection:
    """The rules of the module docstring over `chosen`: `due` a cluster's candidates, `in_scope` whether
    a cluster's unit may be renewed (else `hint` says why, or nothing), `limit` a cluster's DAYS."""
    left: list[LeftAlone] = []
    resume: list[JobSummary] = []
    busy: set[tuple[str, str]] = set()
    names = {c.name for c in chosen}
    for j in jobs:
        if j.cluster not in names or not j.unit or not j.unfinished:
            continue
        unit = catalog.unit_spec(j.unit).name if _known(j.unit) else j.unit
        if not in_scope(j.cluster, unit):
            continue
        if inventory.cluster(j.cluster).settings.read_only:
            continue  # said once for the cluster below
        busy.add((j.cluster, unit.lower()))
        if j.damaged:
            left.append(LeftAlone(j.cluster, unit, "damaged", f"job {j.job} for {unit} on cluster {j.cluster} is "
                                  f"damaged ({j.damaged}): check {j.folder} and the nodes, then move the folder "
                                  "away", job=j.job))
        elif j.status in RESUMABLE:
            resume.append(j)
        elif j.status == "running":
            left.append(LeftAlone(j.cluster, unit, "running", f"job {j.job} for {unit} on cluster {j.cluster} is "
                                  "running in another ucterm process: left to it", job=j.job))
        else:
            left.append(LeftAlone(j.cluster, unit, "left", f"job {j.job} for {unit} on cluster {j.cluster} is "
                                  f"{j.status} (a person stopped it): left as it is; `ucterm resume {j.job}` "
                                  f"continues it, `ucterm jobs --abandon {j.job}` gives it up", job=j.job))

    incomplete = {n.cluster for n in scan.incomplete_nodes()}
    renew: list[DueRenewal] = []
    for cluster in chosen:
        records = due(cluster)
        if cluster.settings.read_only:
            left.append(LeftAlone(cluster.name, None, "read-only",
                                  f"cluster {cluster.name} is read-only (read_only in the inventory): skipped"
                                  + (f", {len(records)} due certificate(s) left as they are" if records else "")))
            continue
        if cluster.name in incomplete:
            down = [n for n in scan.incomplete_nodes() if n.cluster == cluster.name]
            left.append(LeftAlone(cluster.name, None, "unscanned",
                                  f"{len(down)} node(s) of cluster {cluster.name} could not be read in full "
                                  f"({down[0].node}: {down[0].error or down[0].state}): nothing on it was renewed; "
                                  "fix the connection and run again", nodes=tuple(n.node for n in down)))
            continue
        by_unit: dict[str, list[CertRecord]] = {}
        for rec in records:
            by_unit.setdefault(catalog.unit_spec(rec.unit).name, []).append(rec)
        for unit, recs in sorted(by_unit.items(), key=lambda kv: min(r.days_left for r in kv[1])):
            nodes = tuple(r.node for r in recs)
            if not in_scope(cluster.name, unit):
                said = hint(cluster.name, unit)
                if said is not None:
                    left.append(LeftAlone(cluster.name, unit, "high-risk", said, nodes))
                continue
            if (cluster.name, unit.lower()) in busy:
                continue  # its unfinished job is resumed (or left, said above)
            again = [installed[r.fingerprint_sha256] for r in recs if r.fingerprint_sha256 in installed]
            if again:
                left.append(LeftAlone(cluster.name, unit, "renewed", (
                    f"job {again[0]} installed the {unit} certificate of cluster {cluster.name}, and it expires "
                    f"within {limit(cluster.name)} days itself: its CA issues certificates shorter than that; "
                    "lower --due (or ask the CA for a longer validity)"), nodes, job=again[0]))
                continue
            renewal = _like_for_like(inventory, scan, cluster, unit, recs, left)
            if renewal is not None:
                renew.append(renewal)
    renew = _never_together(renew, left, recent)
    renew = _covered(inventory, scan, renew, left)
    return DueSelection(days, tuple(renew), tuple(resume), tuple(left))


def _known(unit: str) -> bool:
    try:
        catalog.unit_spec(unit)
    except KeyError:
        return False
    return True


def _multi_holders(scan: ScanResult, cluster: Cluster, rec: CertRecord) -> bool:
    """Whether a due certificate is a multi-server one (§2.1): on several nodes, naming several, or `-ms.`."""
    if rec.self_signed:
        return False
    fqdns = {n.fqdn.lower() for n in cluster.nodes}
    holders = {c.node for c in scan.for_cluster(cluster.name)
               if c.is_identity and c.fingerprint_sha256 == rec.fingerprint_sha256}
    return len(holders) > 1 or len(fqdns & {s.lower() for s in rec.sans}) > 1 or bool(_MS_CN.match(rec.subject_cn))


def _like_for_like(inventory: Inventory, scan: ScanResult, cluster: Cluster, unit: str, recs: list[CertRecord],
                   left: list[LeftAlone]) -> DueRenewal | None:
    multi = [r for r in recs if _multi_holders(scan, cluster, r)]
    nodes_in_order = tuple(n.fqdn for n in cluster.ordered_nodes() if n.fqdn in {r.node for r in recs})
    if not multi:
        return DueRenewal(cluster.name, unit, False, nodes_in_order, tuple(recs))
    cert = multi[0]
    fqdns = {n.fqdn.lower() for n in cluster.nodes}
    names = {s.lower() for s in cert.sans}
    pub = scan.node_result(cluster.name, cluster.publisher.fqdn)
    possible, why = multi_server_possible(cluster, catalog.parse_version(pub.version if pub else None), unit)
    by_hand = f"`ucterm renew --cluster {cluster.name} --unit {unit}` with --multi-server or --single-server"
    if not possible:
        reason = (f"the {unit} certificate of cluster {cluster.name} is multi-server, but {why}; renew it by hand: "
                  f"{by_hand}")
    elif not fqdns <= names:
        missing = ", ".join(sorted(fqdns - names))
        reason = (f"the multi-server {unit} certificate of cluster {cluster.name} does not name {missing}, so it "
                  f"cannot be renewed like for like (a multi-server job renews every node); decide by hand: {by_hand}")
    else:
        return DueRenewal(cluster.name, unit, True, (), tuple(recs))
    left.append(LeftAlone(cluster.name, unit, "not-like-for-like", reason, tuple(r.node for r in recs)))
    return None


def _never_together(renew: list[DueRenewal], left: list[LeftAlone],
                    recent: Mapping[str, Mapping[str, str]]) -> list[DueRenewal]:
    """§5.5 [VERIFIED: S-214231 / S-217138]: CallManager, TVS and ITLRecovery never in one window on a
    cluster; ITLRecovery with nothing else (tool policy). The soonest to expire goes first."""
    kept: list[DueRenewal] = []
    for r in sorted(renew, key=lambda r: r.days_left):
        same = [k for k in kept if k.cluster == r.cluster]
        if r.unit in catalog.NEVER_TOGETHER:
            clash = next((k.unit for k in same if k.unit in catalog.NEVER_TOGETHER), None)
            if clash is None and r.unit == "ITLRecovery" and same:
                clash = same[0].unit
            lately = next(((u, j) for u, j in recent.get(r.cluster, {}).items()
                           if u != r.unit and u in catalog.NEVER_TOGETHER), None)
            if clash is not None or lately is not None:
                other = (f"{clash} is renewed on cluster {r.cluster} in this batch" if clash is not None
                         else f"{lately[0]} was renewed on cluster {r.cluster} by job {lately[1]} in the last two days"
                         if lately is not None else "")
                left.append(LeftAlone(r.cluster, r.unit, "never-together", (
                    f"{r.unit} on cluster {r.cluster} waits: {other}, and they never change in one window (the phones "
                    "must trust one before the other changes); run again once every phone has "
                    "re-registered"), r.nodes))
                continue
        if r.unit != "ITLRecovery" and any(k.unit == "ITLRecovery" for k in same):
            left.append(LeftAlone(r.cluster, r.unit, "never-together", (
                f"{r.unit} on cluster {r.cluster} waits: ITLRecovery is renewed there in this batch and is never "
                "batched with anything; run again afterwards"), r.nodes))
            continue
        kept.append(r)
    order = {id(r): i for i, r in enumerate(renew)}
    return sorted(kept, key=lambda r: order[id(r)])


def _covered(inventory: Inventory, scan: ScanResult, renew: list[DueRenewal],
             left: list[LeftAlone]) -> list[DueRenewal]:
    """A CUCM multi-server certificate that names IM&P nodes reaches them (§2.1): their own renewal of the
    same unit in this batch would fight it over the same certificate, so it is left to that job."""
    by_node = {n.fqdn.lower(): c.name for c in inventory.clusters for n in c.nodes}
    reach: dict[tuple[str, str], str] = {}
    for r in renew:
        if r.multi_server:
            for name in r.certs[0].sans:
                other = by_node.get(name.lower())
                if other is not None and other != r.cluster:
                    reach[(other, r.unit)] = r.cluster
    kept = []
    for r in renew:
        owner = reach.get((r.cluster, r.unit))
        if owner is not None:
            left.append(LeftAlone(r.cluster, r.unit, "covered", (
                f"{r.unit} on cluster {r.cluster} is renewed by the multi-server certificate of cluster {owner}, "
                "which names its nodes"), r.nodes))
            continue
        kept.append(r)
    return kept


def options_for(inventory: Inventory, scan: ScanResult, renewal: DueRenewal, *,
                signer: tuple[Literal["files", "lab", "signer"], str | None] = ("files", None),
                recent: Mapping[str, str] | None = None) -> PlanOptions:
    """The plan options of one renewal, like for like: the CSR subject of the current certificate (a
    multi-server one keeps its CN and exactly its SAN set, where ucterm can ask for them: no wildcard,
    no IP address, §5.2)."""
    options = defaults_for(inventory, scan, renewal.cluster, renewal.unit, renewal.multi_server)
    cluster = inventory.cluster(renewal.cluster)
    csr = dict(options.csr)
    if renewal.multi_server:
        cert = renewal.certs[0]
        pub = cluster.publisher.fqdn.lower()
        names = tuple(dict.fromkeys(s.lower() for s in cert.sans if "*" not in s and not _is_ip(s)))
        csr[pub] = CsrRequest(csr[pub].common_name, names)
    all_nodes = tuple(n.fqdn for n in cluster.ordered_nodes())
    nodes = () if renewal.multi_server or renewal.nodes == all_nodes else renewal.nodes
    return replace(options, nodes=nodes, csr=csr, signer=signer[0], signer_name=signer[1],
                   recent_units=dict(recent or {}))


def _is_ip(text: str) -> bool:
    return bool(re.fullmatch(r"[0-9.]+|[0-9a-fA-F:]+:[0-9a-fA-F:.]*", text))
