"""Everything X.509 ucterm needs, as pure functions over `cryptography` (no openssl subprocess).

- :mod:`~ucterm.pki.load`: read anything a CA or a node hands over (PEM, DER, PKCS#7, CSRs).
- :mod:`~ucterm.pki.summary`: what a certificate says (`summarise`) and shared primitives.
- :mod:`~ucterm.pki.chain`: order a bag of certificates into a path, verify it, plan the upload.
- :mod:`~ucterm.pki.lint`: the unit's requirements (cisco-uc-certs.md §5) and the CSR match.
- :mod:`~ucterm.pki.report`: one verdict (`check_material`) for `ucterm check` and the engine.

Import from here; the submodules are an implementation layout, not part of the contract.
"""

from __future__ import annotations

from ucterm.pki.chain import Chain, UploadPlan, build_chain, pick_leaf, split_for_upload, verify_chain
from ucterm.pki.findings import CODES, SEVERITY, Finding, Severity, dialog_fix, finding
from ucterm.pki.lint import compare_with_csr, lint, looks_multi_server, resolve_unit
from ucterm.pki.load import Bundle, PkiError, PkiFileError, load_bundle, load_csr_pem, load_file, load_paths, pem
from ucterm.pki.report import CheckReport, bundle_findings, check_files, check_material
from ucterm.pki.summary import (
    CertSummary,
    cn_of,
    eku_of,
    is_self_signed,
    iso,
    key_info,
    key_usage_of,
    label,
    public_key_sha256,
    public_keys_equal,
    sans_of,
    serial_hex,
    sha256_hex,
    signed_by,
    summarise,
)

__all__ = [
    "CODES",
    "SEVERITY",
    "Bundle",
    "CertSummary",
    "Chain",
    "CheckReport",
    "Finding",
    "PkiError",
    "PkiFileError",
    "Severity",
    "UploadPlan",
    "build_chain",
    "bundle_findings",
    "check_files",
    "check_material",
    "cn_of",
    "compare_with_csr",
    "dialog_fix",
    "eku_of",
    "finding",
    "is_self_signed",
    "iso",
    "key_info",
    "key_usage_of",
    "label",
    "lint",
    "load_bundle",
    "load_csr_pem",
    "load_file",
    "load_paths",
    "looks_multi_server",
    "pem",
    "pick_leaf",
    "public_key_sha256",
    "public_keys_equal",
    "resolve_unit",
    "sans_of",
    "serial_hex",
    "sha256_hex",
    "signed_by",
    "split_for_upload",
    "summarise",
    "verify_chain",
]
