"""`resume` checks every node it will still touch before its first change, and notices a damaged
CSR file in the job folder (the lab estate, fast profile, on loopback)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import asyncssh
import pytest

from ucterm import pki
from ucterm.credentials import CredentialStore
from ucterm.inventory import Inventory, load_inventory
from ucterm.lab import LabEstate
from ucterm.renewal.journal import Job, Journal
from ucterm.renewal.plan import build_plan, defaults_for
from ucterm.renewal.runner import NodesNotReady, Runner
from ucterm.renewal.signers import Material
from ucterm.renewal.steps import RunnerSettings

FAST = RunnerSettings(poll_interval=0.02, restart_timeout=20, started_timeout=4, verify_timeout=6, ha_timeout=6,
                      probe_timeout=2)
PUB, SUB = "cucm125-pub.lab.example", "cucm125-sub1.lab.example"


@pytest.fixture
async def lab(tmp_path: Path) -> AsyncIterator[tuple[LabEstate, Inventory, Path]]:
    async with LabEstate.demo(profile="fast") as estate:
        path = estate.write_inventory(tmp_path / "lab" / "inventory.toml")
        yield estate, load_inventory(path), path


def runner(job: Job, inventory: Inventory) -> Runner:
    return Runner(Journal.open(job.id), inventory, CredentialStore(), settings=FAST)


async def waiting_job(inventory: Inventory, path: Path) -> Job:
    """CallManager on the 12.5 cluster, both CSRs made, waiting for the CA."""
    plan = build_plan(inventory, None, defaults_for(inventory, None, "branch", "CallManager", False))
    job = Journal.create(plan, path)
    assert await runner(job, inventory).run() == "waiting"
    return Journal.open(job.id)


def signed(estate: LabEstate, job: Job) -> Material:
    pems: list[str] = []
    for c in job.csr_files():
        leaf, chain = estate.ca.sign(Path(c["path"]).read_text())
        pems += [leaf, *chain]
    return Material.from_pems(pems)


def change_host_key(known_hosts: Path, fqdn: str) -> None:
    other = asyncssh.generate_private_key("ssh-ed25519").export_public_key("openssh").decode().split()
    lines = known_hosts.read_text().splitlines()
    known_hosts.write_text("\n".join(
        f"{ln.split()[0]} {other[0]} {other[1]}" if ln.startswith(f"[{fqdn}]") else ln for ln in lines) + "\n")


async def test_resume_checks_every_node_before_the_first_upload(lab: tuple[LabEstate, Inventory, Path]) -> None:
    estate, inventory, path = lab
    job = await waiting_job(inventory, path)
    before = {n: pki.sha256_hex(estate.node(n).identities()["CallManager"].cert) for n in (PUB, SUB)}
    trust_before = {n: len(estate.node(n).trust_entries()) for n in (PUB, SUB)}
    change_host_key(path.parent / "known_hosts", SUB)

    r = runner(job, inventory)
    r.material.extend(signed(estate, job))
    with pytest.raises(NodesNotReady) as caught:
        await r.run()
    assert SUB in str(caught.value) and "host key" in str(caught.value) and "nothing was changed" in str(caught.value)
    after = Journal.open(job.id)
    # Nothing was uploaded anywhere, the publisher included; the job is still waiting and says why.
    assert {n: pki.sha256_hex(estate.node(n).identities()["CallManager"].cert) for n in (PUB, SUB)} == before
    assert {n: len(estate.node(n).trust_entries()) for n in (PUB, SUB)} == trust_before
    assert all(after.steps[s.id].state != "done" for s in after.plan.steps if s.kind.startswith("upload"))
    assert after.state == "waiting" and "not resumed" in after.detail


async def test_a_damaged_csr_file_is_noticed_and_written_again(lab: tuple[LabEstate, Inventory, Path]) -> None:
    _, inventory, path = lab
    job = await waiting_job(inventory, path)
    csr_file = job.artifact_path(f"csr-{PUB}.pem")
    csr_file.write_text("-----BEGIN CERTIFICATE REQUEST-----\ngarbage\n-----END CERTIFICATE REQUEST-----\n")
    r = runner(job, inventory)
    assert await r.run() == "waiting"
    again = Journal.open(job.id)
    detail = again.steps[f"obtain_signed:{PUB}"].detail
    assert f"csr-{PUB}.pem was damaged (no readable CSR); it was written again from the journal" in detail
    held = pki.load_bundle(csr_file.read_bytes(), "csr").csrs
    assert held and pki.public_key_sha256(held[0]) == again.steps[f"generate_csr:{PUB}"].done["generate"]["key"]


async def test_a_damaged_stored_certificate_is_a_sentence(lab: tuple[LabEstate, Inventory, Path]) -> None:
    _, inventory, path = lab
    job = await waiting_job(inventory, path)
    job2 = Journal.open(job.id)
    for node in (PUB, SUB):
        job2.write_artifact(f"cert-{node}.pem", "-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n")
        job2.set_step(f"obtain_signed:{node}", "done", "stored earlier")
    state = await runner(job2, inventory).run()
    assert state == "failed"
    detail = Journal.open(job.id).detail
    # Both nodes' validations run side by side: whichever fails first is the job's sentence.
    assert any(f"cert-{n}.pem in the job folder holds no readable certificate" in detail for n in (PUB, SUB)), detail
