"""From a certificate to a row: the thresholds a cluster uses and one way to build a CertRecord.

Shared by the scan and the renewal survey, so that the two cannot disagree about a row (SAN
order, serial format, status).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from cryptography import x509

from ucterm import pki
from ucterm.inventory import Cluster
from ucterm.scan.model import CertRecord, Source, renewal_due, status_at

__all__ = ["RecordMaker", "thresholds_for"]


def thresholds_for(cluster: Cluster, warn_days: int | None, crit_days: int | None) -> tuple[int, int]:
    """(warn, crit): the command line overrides the cluster's settings, which override the defaults."""
    warn = cluster.settings.warn_days if warn_days is None else warn_days
    crit = cluster.settings.crit_days if crit_days is None else crit_days
    if crit_days is None:
        # `--warn-days 7` on a cluster with crit_days 14: critical stays inside warning
        crit = min(crit, warn)
    return warn, crit


@dataclass(frozen=True)
class RecordMaker:
    """Builds CertRecords for one node with the cluster's thresholds and one fixed `now` (the scan's,
    and the renewal survey's: one way to turn a certificate into a row)."""

    cluster: str
    node: str
    warn: int
    crit: int
    now: datetime

    def record(self, cert: x509.Certificate, *, unit: str, store: str, source: Source,
               file: str | None = None) -> CertRecord:
        s = pki.summarise(cert, self.now)
        status, left = status_at(s.not_after, self.now, warn_days=self.warn, crit_days=self.crit)
        return CertRecord(
            cluster=self.cluster, node=self.node, unit=unit, store=store, subject_cn=s.subject_cn,
            issuer_cn=s.issuer_cn, sans=(*s.sans_dns, *s.sans_ip), serial=s.serial_hex,
            not_before=s.not_before, not_after=s.not_after, days_left=left,
            status=status, self_signed=s.self_signed,
            fingerprint_sha256=s.sha256, source=source,
            renewal_due=renewal_due(s.not_before, s.not_after, self.now), file=file, pem=pki.pem(cert))
