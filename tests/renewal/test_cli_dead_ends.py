"""No dead ends (issue 14), as users meet them: `ucterm renew` / `resume` / `jobs` in their own processes
against the lab. Each test is a way a job got stuck or the tool said something untrue."""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING

from cryptography import x509
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import rsa

from ucterm import pki
from ucterm.renewal import Journal

from .test_cli_lab import ucterm

if TYPE_CHECKING:
    from .conftest import LabRig

PUB125 = "cucm125-pub.lab.example"
SUB125 = "cucm125-sub1.lab.example"


async def _waiting_job(lab: LabRig, *nodes: str) -> dict[str, object]:
    args = [a for n in nodes for a in ("--node", n)]
    r = await ucterm(lab, "renew", "--cluster", "branch", "--unit", "CallManager", *args, "--yes", "--json")
    assert r.code == 4, r.stderr
    summary: dict[str, object] = json.loads(r.stdout)
    return summary


def _csr(summary: dict[str, object], node: str) -> str:
    csrs = summary["csrs"]
    assert isinstance(csrs, list)
    return Path(next(c["path"] for c in csrs if c["node"] == node)).read_text()


def _write(folder: Path, name: str, *pems: str) -> str:
    folder.mkdir(exist_ok=True)
    path = folder / name
    path.write_text("".join(pems))
    return str(path)


async def test_a_corrected_chain_given_to_resume_is_used(lab: LabRig, tmp_path: Path) -> None:
    """`--chain` given again (with or without `--signed`) extends what the job holds; validation runs again."""
    summary = await _waiting_job(lab, PUB125)
    job = str(summary["job"])
    leaf, (intermediate, root) = lab.estate.ca.sign(_csr(summary, PUB125), issuer="untrusted")
    files = tmp_path / "ca"
    r = await ucterm(lab, "resume", job, "--signed", _write(files, "leaf.cer", leaf),
                     "--chain", _write(files, "root.cer", root), "--yes")
    assert r.code == 2, r.stderr
    assert "chain-incomplete" in r.stdout + r.stderr and "--chain" in r.stdout + r.stderr
    # What the refusal says: pass the missing CA with --chain. Doing so finishes the job.
    r = await ucterm(lab, "resume", job, "--chain", _write(files, "intermediate.cer", intermediate), "--yes",
                     "--json")
    assert r.code == 0, r.stderr
    assert json.loads(r.stdout)["state"] == "done"
    final = Journal.open(job)
    assert len(pki.load_bundle((final.read_artifact(f"chain-{PUB125}.pem") or "").encode(), "t").certificates) == 2
    assert lab.counts.identity == {PUB125: 1} and lab.counts.csr == {PUB125: 1}


async def test_a_corrected_chain_with_the_same_certificate_again(lab: LabRig, tmp_path: Path) -> None:
    summary = await _waiting_job(lab, PUB125)
    job = str(summary["job"])
    leaf, (intermediate, root) = lab.estate.ca.sign(_csr(summary, PUB125), issuer="untrusted")
    files = tmp_path / "ca"
    cert = _write(files, "leaf.cer", leaf)
    r = await ucterm(lab, "resume", job, "--signed", cert, "--chain", _write(files, "root.cer", root), "--yes")
    assert r.code == 2, r.stderr
    r = await ucterm(lab, "resume", job, "--signed", cert, "--chain", _write(files, "full.p7", intermediate, root),
                     "--yes")
    assert r.code == 0, r.stderr + r.stdout


def _other_key_certificate(lab: LabRig, csr_pem: str, extra: str) -> str:
    """What the CA issued from *another* CSR with the node's subject and one name more: the wrong file."""
    real = pki.load_csr_pem(csr_pem)
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    names = [x509.DNSName(n) for n in sorted(pki.sans_of(real))] + [x509.DNSName(extra)]
    other = (x509.CertificateSigningRequestBuilder().subject_name(real.subject)
             .add_extension(x509.SubjectAlternativeName(names), critical=False).sign(key, hashes.SHA256()))
    leaf, _ = lab.estate.ca.sign(pki.pem(other))
    return leaf


async def test_a_certificate_that_fits_no_csr_is_named_with_the_check_findings(lab: LabRig, tmp_path: Path) -> None:
    summary = await _waiting_job(lab)
    job = str(summary["job"])
    wrong = _write(tmp_path / "ca", "from-the-ca.cer", _other_key_certificate(lab, _csr(summary, SUB125),
                                                                              "www.lab.example"))
    r = await ucterm(lab, "resume", job, "--signed", wrong, "--yes", "--json")
    assert r.code == 4, r.stderr
    detail = json.loads(r.stdout)["detail"]
    assert "from-the-ca.cer" in detail and f"matches no CSR of job {job}" in detail
    assert f"the CSR of {SUB125}" in detail
    assert detail.index("[key-mismatch]") < detail.index("[san-mismatch]")  # as `ucterm check --csr` orders them
    assert "from-the-ca.cer" in r.stderr
    assert lab.counts.identity == {}
