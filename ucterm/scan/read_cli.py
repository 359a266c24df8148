"""Reading certificates over the VOS CLI: `show cert own <unit>` and `show cert trust <store>/<file>`.

The `show cert list` entries say what to read (§1.5); each read costs one CLI round trip, so
replicated trust certificates are read once per cluster (:class:`TrustShare`). A command that
fails or prints no parsable certificate costs that certificate (a failure of the node's read),
never the node; a dropped session or a timeout ends the read (see :func:`fatal`).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

from cryptography import x509

from ucterm import catalog
from ucterm.errors import UctermError
from ucterm.scan.noderead import NodeRead
from ucterm.scan.rows import RecordMaker
from ucterm.scan.share import TrustShare

if TYPE_CHECKING:
    from ucterm.vos.commands import VosCli
    from ucterm.vos.parsers import CertListEntry

__all__ = ["fatal", "read_own", "read_trust"]


def fatal(exc: BaseException) -> bool:
    """Whether the session is unusable after `exc` (stop reading this node), or only one command failed.

    A command that printed something unexpected (VosCommandError) or a certificate that does not
    parse costs one certificate; a dropped session, a timeout (the shell may be stuck), a refused
    login or an unknown host key end the node's read, and the caller records why.
    """
    from ucterm.pki import PkiError
    from ucterm.vos.errors import RestError, VosCommandError

    return not isinstance(exc, VosCommandError | RestError | PkiError | ValueError)


async def read_own(cli: VosCli, entries: Sequence[CertListEntry], read: NodeRead, rows: RecordMaker) -> None:
    """`show cert own <unit>` for each listed identity (§1.6)."""
    for entry in entries:
        unit = entry.unit_or_store
        try:
            cert = await cli.cert_own(unit)
        except (UctermError, ValueError) as exc:
            if fatal(exc):
                raise
            read.failures.append(f"{unit}: {exc}")
            continue
        read.records.append(rows.record(cert, unit=unit, store="own", source="cli", file=f"{unit}/{entry.file}"))


async def read_trust(cli: VosCli, entries: Sequence[CertListEntry], read: NodeRead, rows: RecordMaker,
                     share: TrustShare | None = None, wait: float = 120.0) -> None:
    """`show cert trust <store>/<file>` for each listed trust certificate (§1.6), shared per cluster."""

    async def trust_cert(path: str) -> x509.Certificate | None:
        try:
            cert: x509.Certificate = await cli.cert_trust(path)
            return cert
        except (UctermError, ValueError) as exc:
            if fatal(exc):
                raise
            read.failures.append(f"{path}: {exc}")
            return None

    found: dict[str, x509.Certificate | None] = {}
    deferred: list[tuple[str, tuple[str, str, str]]] = []
    for entry in entries:
        path = f"{entry.unit_or_store}/{entry.file}"
        key = (entry.unit_or_store, entry.file, entry.description)
        if share is not None and not share.claim(key):
            deferred.append((path, key))
            continue
        cert = None
        try:
            cert = await trust_cert(path)
        finally:
            if share is not None:
                share.release(key, cert)
        found[path] = cert
    for path, key in deferred:
        cert = await share.wait(key, wait) if share is not None else None
        found[path] = cert if cert is not None else await trust_cert(path)
    for entry in entries:
        path = f"{entry.unit_or_store}/{entry.file}"
        cert = found.get(path)
        if cert is not None:
            read.records.append(rows.record(cert, unit=catalog.trust_store_unit(entry.unit_or_store),
                                            store=entry.unit_or_store, source="cli", file=path))
