"""A wrong certificate stops at validation with `ucterm check`'s message, and the node is untouched."""

from __future__ import annotations

from typing import TYPE_CHECKING

from cryptography import x509
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import rsa

from ucterm import pki
from ucterm.renewal import Journal

if TYPE_CHECKING:
    from .conftest import LabRig

NODE = "cucm125-pub.lab.example"


class OtherCsrSigner:
    """A CA that signs a *different* CSR with the same names (the user sent an old CSR)."""

    label = "a CA that got the wrong CSR"

    def __init__(self, lab: LabRig) -> None:
        self.lab = lab

    async def sign(self, csr_pem: str) -> tuple[str, list[str]]:
        real = pki.load_csr_pem(csr_pem)
        key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        other = x509.CertificateSigningRequestBuilder().subject_name(real.subject)
        for ext in real.extensions:
            other = other.add_extension(ext.value, ext.critical)
        pem = pki.pem(other.sign(key, hashes.SHA256()))
        return self.lab.estate.ca.sign(pem)


class NoIntermediateSigner:
    """A CA no node trusts yet, whose answer lacks the intermediate."""

    label = "a CA that forgot its intermediate"

    def __init__(self, lab: LabRig) -> None:
        self.lab = lab

    async def sign(self, csr_pem: str) -> tuple[str, list[str]]:
        leaf, chain = self.lab.estate.ca.sign(csr_pem, issuer="untrusted")
        return leaf, chain[1:]  # the root only


def snapshot(lab: LabRig) -> dict[str, object]:
    node = lab.estate.node(NODE)
    return {"identity": lab.served_fp(NODE, "CallManager"),
            "installed": node.identity("CallManager").cert.serial_number,
            "trust": sorted(e.name for e in node.trust_entries()),
            "services": {s.name: s.generation for s in node.services()}}


async def _refused(lab: LabRig, signer: object, code: str) -> None:
    before = snapshot(lab)
    job = lab.job("branch", "CallManager", nodes=(NODE,))
    state = await lab.runner(job, signer=signer).run()
    final = Journal.open(job.id)
    assert state == "failed"
    assert final.steps[f"validate:{NODE}"].state == "failed"
    report = pki.check_files(final.artifact_path(f"cert-{NODE}.pem"), csr=final.artifact_path(f"csr-{NODE}.pem"),
                             chains=[final.artifact_path(f"chain-{NODE}.pem")], unit="CallManager")
    finding = next(f for f in report.findings if f.code == code)
    assert finding.message in final.detail and f"[{code}]" in final.detail  # the words `ucterm check` prints
    assert finding.fix in final.detail
    assert snapshot(lab) == before  # nothing uploaded, nothing restarted
    assert lab.counts.identity == {} and lab.counts.trust == {} and not lab.counts.restart
    assert lab.estate.node(NODE).csr("CallManager") is not None  # the CSR waits for a correct certificate


async def test_certificate_from_another_csr(lab: LabRig) -> None:
    await _refused(lab, OtherCsrSigner(lab), "key-mismatch")


async def test_missing_intermediate(lab: LabRig) -> None:
    await _refused(lab, NoIntermediateSigner(lab), "chain-incomplete")


async def test_a_corrected_certificate_resumes_the_same_job(lab: LabRig) -> None:
    job = lab.job("branch", "CallManager", nodes=(NODE,))
    assert await lab.runner(job, signer=OtherCsrSigner(lab)).run() == "failed"
    csr = Journal.open(job.id).read_artifact(f"csr-{NODE}.pem") or ""
    leaf, chain = lab.estate.ca.sign(csr)
    runner = lab.runner(job, signer=None)
    runner.provide_signed([leaf, *chain])
    assert await runner.run() == "done", Journal.open(job.id).detail
    assert lab.counts.csr == {NODE: 1} and lab.counts.identity == {NODE: 1}
