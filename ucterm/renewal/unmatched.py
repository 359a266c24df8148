"""Why a certificate the user gave fits no CSR of the job, in the words `ucterm check --csr` uses.

`--signed` takes everything the CA returned and pairs certificates with CSRs by public key. A
certificate that pairs with none used to be dropped without a word, and the job kept "waiting
for the certificate" the user had just given. This names the file and compares the certificate
with the CSR it was most likely meant for (the one whose names it carries): key-mismatch
first, then the SANs, exactly the findings `ucterm check --cert F --csr CSR` prints.
"""

from __future__ import annotations

from collections.abc import Mapping

from cryptography import x509

from ucterm import pki
from ucterm.renewal.journal import Job
from ucterm.renewal.signers import Material

__all__ = ["compare", "csr_files", "explain", "explain_unmatched", "job_csrs", "nearest_csr", "unmatched_leaves"]


def job_csrs(job: Job) -> dict[str, x509.CertificateSigningRequest]:
    """The CSRs the job has made (node -> CSR), in plan order."""
    out: dict[str, x509.CertificateSigningRequest] = {}
    for node in job.plan.csr_nodes:
        record = job.steps[f"generate_csr:{node}"].done.get("generate")
        if record and record.get("csr"):
            out[node] = pki.load_csr_pem(str(record["csr"]), f"the CSR of {node} in job {job.id}")
    return out


def csr_files(job: Job) -> dict[str, str]:
    """How messages name each CSR: its file in the job folder."""
    return {node: job.artifact_path(f"csr-{node}.pem").name for node in job.plan.csr_nodes}


def unmatched_leaves(csrs: Mapping[str, x509.CertificateSigningRequest],
                     material: Material) -> list[x509.Certificate]:
    """The leaves of `material` whose public key is no CSR's of `csrs` (node -> CSR)."""
    return [leaf for leaf in material.leaves if not any(pki.public_keys_equal(leaf, c) for c in csrs.values())]


def _names(obj: x509.Certificate | x509.CertificateSigningRequest) -> set[str]:
    return {n for n in (pki.cn_of(obj.subject).lower(), *pki.sans_of(obj)) if n}


def nearest_csr(leaf: x509.Certificate, csrs: Mapping[str, x509.CertificateSigningRequest]) -> str | None:
    """The node whose CSR shares the most names with `leaf` (plan order breaks ties); None when none
    shares a name: the certificate is for another server, unit or job."""
    mine = _names(leaf)
    best, score = None, 0
    for node, csr in csrs.items():
        shared = len(mine & _names(csr))
        if shared > score:
            best, score = node, shared
    return best


def compare(leaf: x509.Certificate, csrs: Mapping[str, x509.CertificateSigningRequest], *,
            csr_files: Mapping[str, str]) -> tuple[str | None, list[pki.Finding]]:
    """The node `leaf` was most likely meant for and the `check --csr` findings against its CSR
    (key-mismatch first, then san-mismatch); (None, []) when it names no node of the job."""
    node = nearest_csr(leaf, csrs)
    if node is None:
        return None, []
    return node, pki.compare_with_csr(leaf, csrs[node], csr_origin=f"in {csr_files.get(node, 'the job folder')}")


def explain(leaf: x509.Certificate, source: str, csrs: Mapping[str, x509.CertificateSigningRequest], *,
            job: str, csr_files: Mapping[str, str]) -> str:
    """One sentence: which file matched no CSR of `job`, and why (the `check --csr` findings)."""
    what = f"{source} ('{pki.label(leaf)}') matches no CSR of job {job}"
    node, findings = compare(leaf, csrs, csr_files=csr_files)
    if node is None:
        names = ", ".join(sorted(_names(leaf))) or "no name"
        nodes = ", ".join(csrs) or "none"
        return (f"{what}: it names {names}, which no CSR of the job asks for (its CSRs are for {nodes}); "
                "it was issued for another server, unit or job")
    reasons = "; ".join(f"{f.message} [{f.code}]" for f in findings) or "its key is not the CSR's"
    fix = findings[0].fix if findings else f"submit the CSR in {csr_files.get(node)} to the CA again"
    return f"{what}; compared with the CSR of {node}: {reasons}; {fix}"


def explain_unmatched(job: Job, material: Material) -> list[str]:
    """A sentence per leaf of `material` that fits no CSR of `job`."""
    csrs = job_csrs(job)
    files = csr_files(job)
    return [explain(leaf, material.source_of(leaf), csrs, job=job.id, csr_files=files)
            for leaf in unmatched_leaves(csrs, material)]
