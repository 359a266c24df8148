"""From a certificate to a row: the thresholds a cluster uses and one way to build a CertRecord.

Shared by the scan and the renewal survey, so that the two cannot disagree about a row (SAN
order, serial format, status).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from cryptography import x509

from ucterm import pki
from ucterm.inventory import Cluster
from ucterm.scan.model import CertRecord, Source, renewal_due, status_at

__all__ = ["RecordMaker", "Summaries", "thresholds_for"]


def thresholds_for(cluster: Cluster, warn_days: int | None, crit_days: int | None) -> tuple[int, int]:
    """(warn, crit): the command line overrides the cluster's settings, which override the defaults."""
    warn = cluster.settings.warn_days if warn_days is None else warn_days
    crit = cluster.settings.crit_days if crit_days is None else crit_days
    if crit_days is None:
        # `--warn-days 7` on a cluster with crit_days 14: critical stays inside warning
        crit = min(crit, warn)
    return warn, crit


#: A scan's summaries by certificate (equal DER, equal key), shared by its nodes' RecordMakers.
Summaries = dict[x509.Certificate, tuple[pki.CertSummary, str]]


@dataclass(frozen=True)
class RecordMaker:
    """Builds CertRecords for one node with the cluster's thresholds and one fixed `now` (the scan's,
    and the renewal survey's: one way to turn a certificate into a row).

    `summaries` (one dict for a whole scan) summarises each distinct certificate once: a trust
    certificate replicated to every node of a cluster (§5.4) or a multi-server identity is one
    summary for all its rows, where summarising (a signature check for self-signed, the names)
    was a fifth of a large scan's CPU.
    """

    cluster: str
    node: str
    warn: int
    crit: int
    now: datetime
    summaries: Summaries | None = field(default=None, compare=False, hash=False, repr=False)

    def _summary(self, cert: x509.Certificate) -> tuple[pki.CertSummary, str]:
        if self.summaries is None:
            return pki.summarise(cert, self.now), pki.pem(cert)
        known = self.summaries.get(cert)
        if known is None:
            known = self.summaries[cert] = (pki.summarise(cert, self.now), pki.pem(cert))
        return known

    def record(self, cert: x509.Certificate, *, unit: str, store: str, source: Source,
               file: str | None = None) -> CertRecord:
        s, pem = self._summary(cert)
        status, left = status_at(s.not_after, self.now, warn_days=self.warn, crit_days=self.crit)
        return CertRecord(
            cluster=self.cluster, node=self.node, unit=unit, store=store, subject_cn=s.subject_cn,
            issuer_cn=s.issuer_cn, sans=(*s.sans_dns, *s.sans_ip), serial=s.serial_hex,
            not_before=s.not_before, not_after=s.not_after, days_left=left,
            status=status, self_signed=s.self_signed,
            fingerprint_sha256=s.sha256, source=source,
            renewal_due=renewal_due(s.not_before, s.not_after, self.now), file=file, pem=pem)
