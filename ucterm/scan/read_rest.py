"""Reading certificates over certmgr REST (v14+, §4.1): the server snapshot, or one request per unit.

`GET .../snapshot/server` lists every identity and trust certificate of the node in one answer
(§4.1 [VERIFIED: S-DEVNET-CM]), so a v14+ node is read without its CLI, whose banner is the
slow part of a VOS session (§1.1). The snapshot's JSON shape is [INFERRED] (§8): a snapshot
this client cannot interpret (no such endpoint on the build, an empty answer, entries that say
neither their kind nor their service) is not trusted as a complete list, and the caller falls
back to the CLI lists with the per-service endpoints (:func:`read_listed`).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

from ucterm import catalog
from ucterm.scan.noderead import NodeRead
from ucterm.scan.rows import RecordMaker

if TYPE_CHECKING:
    from ucterm.vos.certmgr import CertMgrClient, SnapshotEntry
    from ucterm.vos.parsers import CertListEntry

__all__ = ["read_listed", "read_snapshot"]

#: A node that answers these for the snapshot has certmgr but not that endpoint [INFERRED].
_NO_SNAPSHOT = (404, 405, 501)


def _kind(entry: SnapshotEntry) -> str | None:
    """`own` for an identity, `trust` for a trust certificate, None when the entry does not say."""
    kind = (entry.kind or "").lower()
    if entry.store or "trust" in kind:
        return "trust"
    if kind in ("identity", "own", "server", "certificate") and entry.service:
        return "own"
    return None


def _unit_name(service: str) -> str:
    """The catalog's spelling of a unit (`callmanager` → `CallManager`); unknown names as given."""
    try:
        return catalog.unit_spec(service).name
    except KeyError:
        return service


async def read_snapshot(rest: CertMgrClient, product: str, version: catalog.Version | None, read: NodeRead,
                        rows: RecordMaker) -> bool:
    """Read every certificate from the snapshot; False when the node has no usable one.

    REST errors other than a missing endpoint raise (the caller reads over the CLI and says so).
    """
    from ucterm.vos.errors import RestError

    try:
        snapshot = await rest.snapshot()
    except RestError as exc:
        if exc.status in _NO_SNAPSHOT:
            return False
        raise
    kinds = [_kind(e) for e in snapshot]
    if not snapshot or None in kinds:
        return False
    for entry, kind in zip(snapshot, kinds, strict=True):
        service = entry.service
        if kind == "own":
            assert service is not None
            unit = _unit_name(service)
            read.records.append(rows.record(entry.certificate, unit=unit, store="own", source="rest",
                                            file=f"{unit}/{entry.name or unit + '.pem'}"))
            continue
        store = entry.store or f"{_unit_name(service or '')}-trust"
        read.records.append(rows.record(entry.certificate, unit=catalog.trust_store_unit(store), store=store,
                                        source="rest", file=f"{store}/{entry.name}" if entry.name else None))
    read.failures.extend(f"{what}: the certmgr snapshot holds a certificate that does not parse"
                         for what in snapshot.unreadable)
    if version is not None:
        listed = {r.unit.lower() for r in read.records if r.store == "own"}
        missing = [u.name for u in catalog.units_for(product, version) if u.name.lower() not in listed]
        if missing:
            read.notes.append(f"the certmgr snapshot lists no {', '.join(missing)} certificate, which "
                              f"{catalog.PRODUCT_NAMES.get(product, product)} {version.label} has")
    return True


def _rest_service(store: str) -> str:
    """The `service` to ask certmgr for a trust store: the unit's name (`tomcat` for tomcat-trust,
    §4.1 [VERIFIED: C-netSSL]), or the store's own name for stores that belong to no unit."""
    if any(spec.trust_store == store for spec in catalog.UNITS.values()):
        return catalog.trust_store_unit(store)
    return store


async def read_listed(rest: CertMgrClient, own: Sequence[CertListEntry], trust: Sequence[CertListEntry],
                      read: NodeRead, rows: RecordMaker) -> tuple[list[CertListEntry], list[CertListEntry]]:
    """Read what the CLI lists name, one certmgr request per unit or store (§4.1); return what the
    CLI must read instead.

    A unit or store the API refuses (400/404: not known to it) and a store whose REST answer
    does not hold as many certificates as `show cert list trust` names go to the CLI, so that
    a gap in the API never becomes a gap in the scan. Other errors raise (the caller falls
    back to the CLI for everything).
    """
    from ucterm.vos.errors import RestError

    own_left: list[CertListEntry] = []
    for entry in own:
        unit = entry.unit_or_store
        try:
            cert = await rest.identity(unit)
        except RestError as exc:
            if exc.status in (400, 404):
                own_left.append(entry)
                continue
            raise
        read.records.append(rows.record(cert, unit=unit, store="own", source="rest", file=f"{unit}/{entry.file}"))
    by_store: dict[str, list[CertListEntry]] = {}
    for entry in trust:
        by_store.setdefault(entry.unit_or_store, []).append(entry)
    trust_left: list[CertListEntry] = []
    for store, entries in by_store.items():
        try:
            certs = await rest.trust(_rest_service(store))
        except RestError as exc:
            if exc.status in (400, 404):
                trust_left.extend(entries)
                continue
            raise
        if len(certs) != len(entries):
            read.notes.append(f"certmgr returned {len(certs)} certificates for {store}, `show cert list trust` "
                              f"names {len(entries)}; {store} was read over the CLI")
            trust_left.extend(entries)
            continue
        for cert in certs:
            read.records.append(rows.record(cert, unit=catalog.trust_store_unit(store), store=store,
                                            source="rest"))
    return own_left, trust_left
