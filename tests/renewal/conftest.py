"""A static inventory like the lab's estate, for tests that need no lab (plans, journal, CLI dry-run)."""

from __future__ import annotations

from collections import Counter
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes

from ucterm.credentials import CredentialStore
from ucterm.events import Event
from ucterm.inventory import Inventory, load_inventory, parse_inventory
from ucterm.lab import LabEstate, LabNode
from ucterm.renewal import Job, Journal, LabCaSigner, Plan, Runner, RunnerSettings, build_plan, defaults_for

ESTATE = """
[defaults]
os_user = "admin"
os_password = "env:UCTERM_TEST_PW"
app_user = "axladmin"
app_password = "env:UCTERM_TEST_PW"

[[cluster]]
name = "hq"
product = "cucm"
version = "14.0.1.13900-155"
[[cluster.node]]
fqdn = "cucm-pub.hq.example.com"
role = "publisher"
[[cluster.node]]
fqdn = "cucm-sub1.hq.example.com"
role = "subscriber"
[[cluster.node]]
fqdn = "cucm-sub2.hq.example.com"
role = "subscriber"

[[cluster]]
name = "branch"
product = "cucm"
version = "12.5.1.14900-63"
mixed_mode = true
[[cluster.node]]
fqdn = "cm125-pub.branch.example.com"
role = "publisher"
[[cluster.node]]
fqdn = "cm125-sub.branch.example.com"
role = "subscriber"

[[cluster]]
name = "presence"
product = "imp"
version = "14.0.1.13900-9"
cucm_cluster = "hq"
presence_redundancy_group = "DefaultCUPSubcluster"
presence_domains = ["example.com"]
email_domains = ["mail.example.com"]
group_chat_alias = "conference.example.com"
federation_wildcard = true
[[cluster.node]]
fqdn = "imp-pub.hq.example.com"
role = "publisher"
[[cluster.node]]
fqdn = "imp-sub.hq.example.com"
role = "subscriber"

[[cluster]]
name = "voicemail"
product = "cuc"
version = "15.0.1.10000-12"
[[cluster.node]]
fqdn = "cuc-pub.hq.example.com"
role = "publisher"
[[cluster.node]]
fqdn = "cuc-sub.hq.example.com"
role = "subscriber"
"""


def estate(extra: str = "") -> Inventory:
    return parse_inventory(ESTATE + extra)



@pytest.fixture
def inventory() -> Inventory:
    return estate()


@pytest.fixture(name="estate_factory")
def _estate_factory() -> Callable[[str], Inventory]:
    return estate


# --------------------------------------------------------------------------------------------
# The lab estate (fast profile) and the tools renewal tests use on it


@dataclass
class Counts:
    """Side effects the lab nodes saw, by (node, what): CSRs, uploads, restarts."""

    csr: Counter[str] = field(default_factory=Counter)
    identity: Counter[str] = field(default_factory=Counter)
    trust: Counter[str] = field(default_factory=Counter)
    restart: Counter[tuple[str, str]] = field(default_factory=Counter)


FAST = RunnerSettings(poll_interval=0.02, restart_timeout=20, started_timeout=4, verify_timeout=6, ha_timeout=6,
                      probe_timeout=2)


@dataclass
class LabRig:
    estate: LabEstate
    inventory: Inventory
    inventory_path: Path
    counts: Counts
    events: list[Event] = field(default_factory=list)

    def plan(self, cluster: str, unit: str, multi: bool = False, **options: Any) -> Plan:
        opts = replace(defaults_for(self.inventory, None, cluster, unit, multi), **options)
        return build_plan(self.inventory, None, opts)

    def job(self, cluster: str, unit: str, multi: bool = False, **options: Any) -> Job:
        return Journal.create(self.plan(cluster, unit, multi, **options), self.inventory_path)

    def runner(self, job: Job, *, sink: Any = None, signer: Any = "lab", **kwargs: Any) -> Runner:
        def record(event: Event) -> Any:
            self.events.append(event)
            return sink(event) if sink is not None else None
        kwargs.setdefault("settings", FAST)
        return Runner(Journal.open(job.id), self.inventory, CredentialStore(), sink=record,
                      signer=LabCaSigner(self.estate.ca) if signer == "lab" else signer, **kwargs)

    def served_fp(self, fqdn: str, unit: str) -> str | None:
        cert = self.estate.node(fqdn).served_certificate(unit)
        return certs_fp(cert) if cert is not None else None


def certs_fp(cert: x509.Certificate) -> str:
    return cert.fingerprint(hashes.SHA256()).hex()


@pytest.fixture
async def lab(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> AsyncIterator[LabRig]:
    estate = LabEstate.demo(profile="fast")
    counts = Counts()
    real_csr, real_identity = LabNode.generate_csr, LabNode.import_identity
    real_trust, real_restart = LabNode.import_trust, LabNode.restart_service

    def generate_csr(self: LabNode, unit: str, **kw: Any) -> str:
        counts.csr[self.fqdn] += 1
        return real_csr(self, unit, **kw)

    def import_identity(self: LabNode, unit: str, chain: Any, **kw: Any) -> Any:
        result = real_identity(self, unit, chain, **kw)
        if result.ok:
            counts.identity[self.fqdn] += 1
        return result

    def import_trust(self: LabNode, unit: str, pems: Any, **kw: Any) -> Any:
        result = real_trust(self, unit, pems, **kw)
        if result.ok:
            counts.trust[self.fqdn] += 1
        return result

    async def restart_service(self: LabNode, name: str, progress: Any = None) -> Any:
        counts.restart[(self.fqdn, self.service(name).name)] += 1
        return await real_restart(self, name, progress)

    await estate.start()
    try:
        path = estate.write_inventory(tmp_path / "lab" / "inventory.toml")
        monkeypatch.setattr(LabNode, "generate_csr", generate_csr)
        monkeypatch.setattr(LabNode, "import_identity", import_identity)
        monkeypatch.setattr(LabNode, "import_trust", import_trust)
        monkeypatch.setattr(LabNode, "restart_service", restart_service)
        yield LabRig(estate, load_inventory(path), path, counts)
    finally:
        await estate.stop()
