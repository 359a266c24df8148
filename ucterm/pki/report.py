"""One verdict on what a CA issued: the entry point for `ucterm check` and for the renewal engine.

Both faces call :func:`check_material` (the engine with certificates it already holds and the
node's trust store, `ucterm check` through :func:`check_files`), so a user who ran
`ucterm check` sees exactly the messages the engine shows before it refuses an upload.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from cryptography import x509

from ucterm import catalog
from ucterm.pki.chain import Chain, UploadPlan, build_chain, pick_leaf, split_for_upload, verify_chain
from ucterm.pki.findings import GIVE_CERT_AND_CHAIN, Finding, finding
from ucterm.pki.lint import compare_with_csr, lint, looks_multi_server, resolve_unit
from ucterm.pki.load import Bundle, load_file
from ucterm.pki.summary import key_info, label, public_keys_equal, utc

__all__ = ["CheckReport", "bundle_findings", "check_files", "check_material"]


@dataclass
class CheckReport:
    """Findings (errors first), the chain as built, the leaf and the upload order.

    `notes` are facts worth a line in a report that are not findings (an ignored private key,
    certificates not on the leaf's path, a CallManager key some phones cannot use).
    """

    findings: list[Finding]
    chain: Chain | None = None
    leaf: x509.Certificate | None = None
    upload: UploadPlan | None = None
    notes: list[str] = field(default_factory=list)
    unit: str | None = None
    csr: x509.CertificateSigningRequest | None = None
    #: Set when the file given as the certificate holds none (not a certificate file at all): there
    #: was nothing to judge, so `ucterm check` could not run (exit 3), and this says why.
    nothing_to_check: str | None = None

    @property
    def errors(self) -> list[Finding]:
        return [f for f in self.findings if f.severity == "error"]

    @property
    def warnings(self) -> list[Finding]:
        return [f for f in self.findings if f.severity == "warning"]

    @property
    def ok(self) -> bool:
        """No errors: the upload is expected to succeed (warnings may remain)."""
        return not self.errors

    @property
    def exit_code(self) -> int:
        """design.md §3: 0 clean, 1 warnings, 2 errors."""
        return 2 if self.errors else 1 if self.warnings else 0

    def codes(self) -> list[str]:
        return [f.code for f in self.findings]

    def to_json_dict(self) -> dict[str, Any]:
        """`{"ok": bool, "findings": [{"code", "severity", "message", "fix"}]}` (design.md §3)."""
        return {"ok": self.ok, "findings": [f.to_dict() for f in self.findings]}


def _ordered(findings: Sequence[Finding]) -> list[Finding]:
    unique = list(dict.fromkeys(findings))
    return sorted(unique, key=lambda f: 0 if f.severity == "error" else 1)


def check_material(certs: Sequence[x509.Certificate], csr: x509.CertificateSigningRequest | None, *,
                   unit: str | None, multi_server: bool = False, now: dt.datetime | None = None,
                   trusted: Sequence[x509.Certificate] = (), leaf: x509.Certificate | None = None,
                   csr_origin: str | None = None) -> CheckReport:
    """Judge `certs` (the leaf and any CA certificates, in any order) before they touch a node.

    `trusted` are the CA certificates the node already holds in `<unit>-trust`; `leaf` forces
    the end-entity certificate when the caller knows it; `csr_origin` names the CSR in the
    key-mismatch fix ("generated on 2026-11-20"). Raises PkiError for an unknown unit only.
    """
    spec = resolve_unit(unit)
    moment = utc(now)
    report = CheckReport(findings=[], unit=spec.name if spec else unit, csr=csr)
    if leaf is None:
        leaf = pick_leaf(certs, csr, ca_leaf=_signs_certificates(spec))
    if leaf is None:
        names = ", ".join(f"'{label(c)}'" for c in certs[:4])
        if len(certs) > 4:
            names += f" and {len(certs) - 4} more"
        report.findings.append(finding(
            "leaf-missing",
            f"there is no server certificate to upload, only CA certificates ({names})"
            if certs else "there is no certificate to check",
            GIVE_CERT_AND_CHAIN))
        return report
    chain = build_chain(certs, leaf, trusted=trusted)
    findings = verify_chain(chain, moment)
    if csr is not None:
        findings += compare_with_csr(leaf, csr, csr_origin=csr_origin)
    findings += lint(leaf, unit=unit, multi_server=multi_server, csr=csr, chain=chain, now=moment)
    report.findings = _ordered(findings)
    report.chain, report.leaf = chain, leaf
    report.upload = split_for_upload(chain)
    report.notes += _notes(chain, leaf, spec, multi_server, moment)
    return report


def _signs_certificates(spec: catalog.UnitSpec | None) -> bool:
    """CAPF's certificate is itself a CA (§5.1): only then may a CA certificate be the leaf."""
    return spec is not None and "key_cert_sign" in spec.key_usage_required


def _notes(chain: Chain, leaf: x509.Certificate, spec: catalog.UnitSpec | None,
           multi_server: bool, now: dt.datetime) -> list[str]:
    # An incomplete or broken chain is a finding already; a complete one may still carry a remark
    # ("self-signed: no CA issued it").
    notes = list(chain.problems) if chain.complete else []
    for cert in chain.unused:
        notes.append(f"'{label(cert)}' is not on the leaf's chain and was ignored")
    for ca in chain.certs[1:]:
        if now <= ca.not_valid_after_utc < leaf.not_valid_after_utc:  # expired CAs are findings
            notes.append(f"the CA certificate '{label(ca)}' expires on {ca.not_valid_after_utc:%Y-%m-%d}, "
                         f"before the leaf ({leaf.not_valid_after_utc:%Y-%m-%d}): the chain stops "
                         "validating then, whatever the leaf says")
    kind, size = key_info(leaf.public_key())
    if spec is not None and spec.name == "CallManager" and kind == "RSA" \
            and size > catalog.CALLMANAGER_PHONE_SAFE_RSA_BITS:
        notes.append(f"the CallManager key has {size} bits: some phones support only "
                     f"{catalog.CALLMANAGER_PHONE_SAFE_RSA_BITS}")
    if not multi_server and looks_multi_server(leaf):
        notes.append("the CN has the multi-server '-ms.' form: checked as a multi-server certificate")
    return notes


def bundle_findings(bundle: Bundle, role: str) -> tuple[list[Finding], list[str]]:
    """`unreadable` findings and notes for one input file; `role` is "cert", "csr" or "chain".

    A file that yields nothing of what its role needs is an error; a damaged block next to good
    ones too (the file was mangled on the way, and what is missing may matter). Skipped blocks
    (a private key, a CRL) are notes.
    """
    out: list[Finding] = []
    notes: list[str] = []
    source = bundle.source
    if bundle.private_key:
        notes.append(f"{source}: contains a private key, which ucterm never reads; keep private keys "
                     "out of e-mail and tickets")
    other = [p for p in bundle.problems if "private key" not in p and "PKCS#12" not in p]
    wanted = bundle.csrs if role == "csr" else bundle.certificates
    if not wanted:
        if role == "cert" and bundle.csrs:
            why = "holds a CSR, not a certificate"
            fix = "pass the CSR with --csr and the certificate the CA issued with --cert"
        elif role == "csr" and bundle.certificates:
            why, fix = "holds a certificate, not a CSR", "pass the CSR the node generated with --csr"
        else:
            why = "; ".join(bundle.problems) or "no certificate or CSR found"
            fix = ("pass the file the CA returned (PEM, DER or PKCS#7), not a private key or PKCS#12"
                   if bundle.private_key else
                   "pass the file as the CA or the node produced it (PEM, DER or PKCS#7), unedited")
        out.append(finding("unreadable", f"{source}: {why}", fix))
    elif bundle.damaged:
        out.append(finding(
            "unreadable", f"{source}: {'; '.join(other)}",
            "get the file again from the CA (e-mail and copy-paste damage PEM text) or pass the "
            "missing part separately"))
    else:
        notes.extend(f"{source}: {p}" for p in other)
    return out, notes


def _csr_origin(path: Path) -> str:
    saved = dt.datetime.fromtimestamp(path.stat().st_mtime, dt.UTC)
    return f"in {path.name} (saved on {saved:%Y-%m-%d})"


def check_files(cert: str | Path, *, csr: str | Path | None = None, chains: Sequence[str | Path] = (),
                unit: str | None = None, multi_server: bool = False, now: dt.datetime | None = None,
                trusted: Sequence[x509.Certificate] = ()) -> CheckReport:
    """`ucterm check`: read the files, then :func:`check_material`.

    Raises PkiError (a file is missing or cannot be read, or the unit is unknown): the check
    could not run. Content problems are `unreadable` findings instead.
    """
    ca_leaf = _signs_certificates(resolve_unit(unit))
    cert_bundle = load_file(cert)
    csr_bundle = load_file(csr) if csr is not None else None
    chain_bundles = [load_file(p) for p in chains]
    findings, notes = bundle_findings(cert_bundle, "cert")
    for b in chain_bundles:
        f, n = bundle_findings(b, "chain")
        findings += f
        notes += n
    the_csr: x509.CertificateSigningRequest | None = None
    if csr_bundle is not None:
        f, n = bundle_findings(csr_bundle, "csr")
        findings += f
        notes += n
        if csr_bundle.csrs:
            the_csr = next((c for c in csr_bundle.csrs
                            if any(public_keys_equal(c, x) for x in cert_bundle.certificates)),
                           csr_bundle.csrs[0])
    if not cert_bundle.certificates:
        first = next((f for f in findings if f.code == "unreadable" and cert_bundle.source in f.message), None)
        why = f"{first.message}; {first.fix}" if first else f"{cert_bundle.source} holds no certificate"
        return CheckReport(findings=_ordered(findings), notes=notes, unit=unit, csr=the_csr, nothing_to_check=why)
    pool = [*cert_bundle.certificates, *(c for b in chain_bundles for c in b.certificates)]
    # The leaf comes from --cert; only when that file holds CA certificates alone, look further.
    leaf = (pick_leaf(cert_bundle.certificates, the_csr, ca_leaf=ca_leaf)
            or pick_leaf(pool, the_csr, ca_leaf=ca_leaf))
    report = check_material(pool, the_csr, unit=unit, multi_server=multi_server, now=now,
                            trusted=trusted, leaf=leaf,
                            csr_origin=_csr_origin(Path(csr)) if csr is not None else None)
    report.findings = _ordered([*findings, *report.findings])
    report.notes = [*notes, *report.notes]
    return report
