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


async def test_a_failed_job_blocks_a_new_one_until_abandoned(lab: LabRig) -> None:
    node = lab.estate.node(PUB125)
    node.service("Cisco CallManager").status = "STOPPED"  # the preflight refuses: the job fails
    r = await ucterm(lab, "renew", "--cluster", "branch", "--unit", "CallManager", "--node", PUB125, "--yes",
                     "--json")
    assert r.code == 2, r.stderr
    job = json.loads(r.stdout)["job"]
    assert f"`ucterm jobs --abandon {job}`" in r.stderr
    node.service("Cisco CallManager").status = "STARTED"
    r = await ucterm(lab, "renew", "--cluster", "branch", "--unit", "CallManager", "--node", PUB125, "--yes")
    assert r.code == 2
    assert f"job {job} for CallManager on cluster branch failed at step 1" in r.stderr
    assert "still running" not in r.stderr
    assert f"`ucterm resume {job}`" in r.stderr and f"`ucterm jobs --abandon {job}`" in r.stderr

    before = lab.served_fp(PUB125, "CallManager"), dict(lab.counts.csr), dict(lab.counts.identity)
    r = await ucterm(lab, "jobs", "--abandon", job)
    assert r.code == 0, r.stderr
    assert f"job {job}: abandoned" in r.stdout and "nothing was changed on the nodes" in r.stdout
    assert (lab.served_fp(PUB125, "CallManager"), dict(lab.counts.csr), dict(lab.counts.identity)) == before
    listed = {j["job"]: j for j in json.loads((await ucterm(lab, "jobs", "--json")).stdout)}
    assert listed[job]["status"] == "abandoned" and listed[job]["state"] == "failed"
    assert any(r["type"] == "job" and r["state"] == "abandoned" for r in Journal.open(job).records())
    r = await ucterm(lab, "resume", job, "--yes")
    assert r.code == 2 and "was abandoned" in r.stderr and "ucterm renew --cluster branch" in r.stderr

    r = await ucterm(lab, "renew", "--cluster", "branch", "--unit", "CallManager", "--node", PUB125, "--lab-ca",
                     "--yes", "--json")
    assert r.code == 0, r.stderr
    assert json.loads(r.stdout)["job"] != job


async def test_ctrl_c_during_a_step_names_the_job_and_jobs_says_interrupted(lab: LabRig) -> None:
    import asyncio
    import os
    import signal
    import sys

    proc = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "ucterm", "--inventory", str(lab.inventory_path), "renew", "--cluster", "branch",
        "--unit", "CallManager", "--node", PUB125, "--lab-ca", "--yes",
        stdin=asyncio.subprocess.DEVNULL, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
        env={**os.environ, "NO_COLOR": "1"}, start_new_session=True)
    assert proc.stderr is not None
    job = ""
    while True:
        line = (await asyncio.wait_for(proc.stderr.readline(), 60)).decode()
        assert line, "ucterm renew ended before its restart"
        if line.startswith("ucterm: job "):
            job = line.split()[2]
        if "utils service restart Cisco CallManager" in line:
            proc.send_signal(signal.SIGINT)
            break
    rest = (await asyncio.wait_for(proc.stderr.read(), 20)).decode()
    assert await proc.wait() == 130
    assert f"job {job} keeps everything done so far" in rest and f"`ucterm resume {job}`" in rest
    assert "during step" in rest and "Restart" in rest and "Traceback" not in rest

    r = await ucterm(lab, "jobs")
    row = next(line for line in r.stdout.splitlines() if line.startswith(job))
    assert "interrupted" in row.split() and "running" not in row.split() and f"ucterm resume {job}" in row
    listed = {j["job"]: j for j in json.loads((await ucterm(lab, "jobs", "--json")).stdout)}[job]
    assert listed["status"] == "interrupted" and listed["state"] == "failed"
    assert listed["next"] == f"ucterm resume {job}" and listed["stopped_at"]["id"] == f"restart:{PUB125}"
    r = await ucterm(lab, "resume", job, "--yes", "--json")
    assert r.code == 0, r.stderr
    assert json.loads(r.stdout)["status"] == "done"


async def test_renew_plans_like_for_like_and_warns_about_the_opposite(lab: LabRig) -> None:
    """hq's tomcat certificate is multi-server over its three nodes: renew keeps it so unless told."""
    r = await ucterm(lab, "renew", "--cluster", "hq", "--unit", "tomcat", "--dry-run", "--json")
    assert r.code == 0, r.stderr
    plan = json.loads(r.stdout)["plan"]
    assert plan["multi_server"] is True and plan["csr_nodes"] == ["cucm14-pub.lab.example"]
    assert "multi-server" in r.stderr and "like for like" in r.stderr and "--single-server" in r.stderr

    r = await ucterm(lab, "renew", "--cluster", "hq", "--unit", "tomcat", "--single-server", "--dry-run")
    assert r.code == 0, r.stderr
    assert "single-server)" in r.stdout.splitlines()[0]
    assert "the current tomcat certificate is multi-server (CN cucm14-pub-ms.lab.example" in r.stdout

    r = await ucterm(lab, "renew", "--cluster", "branch", "--unit", "CallManager", "--dry-run", "--json")
    assert r.code == 0 and json.loads(r.stdout)["plan"]["multi_server"] is False
    r = await ucterm(lab, "renew", "--cluster", "hq", "--unit", "tomcat", "--single-server", "--multi-server",
                     "--dry-run")
    assert r.code != 0 and "not allowed with argument" in r.stderr


async def test_a_node_with_its_own_administrator_is_scanned_and_renewed(lab: LabRig) -> None:
    """VOS gives each node its own platform administrator: the subscriber's login is not the cluster's."""
    from ucterm.lab import LabCredentials

    lab.estate.set_credentials(SUB125, LabCredentials(os_user="ccmadmin", os_password="sub1-own-secret"))
    lab.estate.write_inventory(lab.inventory_path)
    text = lab.inventory_path.read_text()
    assert 'os_user = "ccmadmin"' in text
    r = await ucterm(lab, "scan", "--json", "--cluster", "branch", "--no-probe")
    nodes = {n["node"]: n for n in json.loads(r.stdout)["nodes"]}
    assert nodes[SUB125]["reachable"] and nodes[PUB125]["reachable"], r.stderr
    r = await ucterm(lab, "renew", "--cluster", "branch", "--unit", "CallManager", "--lab-ca", "--yes", "--json")
    assert r.code == 0, r.stderr
    job = json.loads(r.stdout)["job"]
    assert lab.counts.identity == {PUB125: 1, SUB125: 1}
    folder = Journal.open(job).folder
    assert not any("sub1-own-secret" in p.read_text(errors="replace") for p in folder.rglob("*") if p.is_file())
