"""Fixtures for the scan tests: hand-built rows, and the scan estate on the lab.

`mk` builds scan rows in one line (for the pure model and rendering tests); `lab` (async tests)
and `thread_lab` (the synchronous command line) run a small real estate on 127.0.0.1 over SSH,
TLS and HTTPS. Where a test needs a node to fail, the lab grows the fault (ucterm.lab.faults).
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import AsyncIterator, Callable, Coroutine, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest
import pytest_asyncio
from cryptography import x509
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from ucterm.files import write_toml
from ucterm.inventory import Inventory, load_inventory
from ucterm.lab import LabEstate, LabNode, layouts
from ucterm.scan.model import CertRecord, NodeResult, renewal_due, status_at

NOW = datetime(2026, 11, 27, 8, 0, tzinfo=UTC)
_KEY = ec.generate_private_key(ec.SECP256R1())


def make_cert(
    cn: str,
    days: int,
    *,
    serial: int = 1,
    lifetime: int = 730,
    issuer: str = "Test CA",
    sans: tuple[str, ...] = (),
) -> x509.Certificate:
    not_after = NOW + timedelta(days=days, hours=2)
    builder = (
        x509.CertificateBuilder()
        .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, cn)]))
        .issuer_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, issuer)]))
        .public_key(_KEY.public_key())
        .serial_number(serial)
        .not_valid_before(not_after - timedelta(days=lifetime))
        .not_valid_after(not_after)
    )
    if sans:
        builder = builder.add_extension(x509.SubjectAlternativeName([x509.DNSName(s) for s in sans]), False)
    return builder.sign(_KEY, hashes.SHA256())


# ---- the scan estate on the lab ----------------------------------------------------------------
#
# hq: CUCM 12.5 (read over the CLI), a multi-server tomcat 45 days from expiry, four nodes of which
# the inventory lists three (sub3 is found by discovery only); branch: Unity Connection 14 (read
# over certmgr REST) with its own thresholds, 400/30, so its tomcat (200 days) is a warning;
# presence: one IM and Presence node that names hq, listed by hq's `show network cluster`.

PASSWORD_VARIABLE = "SCAN_TEST_PASSWORD"
APP_PASSWORD_VARIABLE = "SCAN_TEST_APP_PASSWORD"
DOMAIN = "scan.example"
HQ = tuple(f"{h}.{DOMAIN}" for h in ("pub", "sub1", "sub2"))
PUB, SUB1, SUB2 = HQ
SUB3 = f"sub3.{DOMAIN}"
CUC = f"cuc.{DOMAIN}"
IMP1 = f"imp1.{DOMAIN}"


def scan_spec() -> layouts.EstateSpec:
    hq = layouts.ClusterSpec(
        "hq", "cucm", "12.5.1.16900-48",
        tuple(layouts.NodeSpec(h, "publisher" if h == "pub" else "subscriber")
              for h in ("pub", "sub1", "sub2", "sub3")),
        certs={"tomcat": layouts.CertPlan("ca", days_left=45, lifetime=730, multi_server=True)},
        ca_trust=("tomcat-trust",))
    branch = layouts.ClusterSpec(
        "branch", "cuc", "14.0.1.11900-21", (layouts.NodeSpec("cuc", "publisher"),),
        certs={"tomcat": layouts.CertPlan("ca", days_left=200, lifetime=730)}, ca_trust=("tomcat-trust",))
    presence = layouts.ClusterSpec(
        "presence", "imp", "12.5.1.16900-4", (layouts.NodeSpec("imp1", "publisher"),),
        presence_domains=(DOMAIN,), cucm_cluster="hq", presence_redundancy_group="DefaultCluster")
    return layouts.EstateSpec((hq, branch, presence), domain=DOMAIN)


Edit = Callable[[dict[str, Any]], None]


def complete(document: dict[str, Any]) -> None:
    """Every lab node in the inventory, the password from the environment, branch's own thresholds.

    The lab's [[signer]] (its AD CS, password inline) is left out: a scan uses no signer, and its
    inline password would add a warning line to what the scan tests read on stderr."""
    document["defaults"]["os_password"] = f"env:{PASSWORD_VARIABLE}"
    document["defaults"]["app_password"] = f"env:{APP_PASSWORD_VARIABLE}"
    document.pop("signer", None)
    for cluster in document["cluster"]:
        if cluster["name"] == "branch":
            cluster.update(warn_days=400, crit_days=30)


def with_gaps(document: dict[str, Any]) -> None:
    """As users write them: sub3 and the presence cluster left out, sub1 without a role and with
    a version it no longer runs (discovery fills the one and notes the other)."""
    complete(document)
    document["cluster"] = [c for c in document["cluster"] if c["name"] != "presence"]
    hq = next(c for c in document["cluster"] if c["name"] == "hq")
    hq["node"] = [n for n in hq["node"] if n["fqdn"] != SUB3]
    sub1 = next(n for n in hq["node"] if n["fqdn"] == SUB1)
    del sub1["role"]
    sub1["version"] = "12.5.1.13900-1"


def write_inventory(estate: LabEstate, folder: Path, *edits: Edit) -> Inventory:
    """The estate's inventory (with known_hosts and the CA bundle beside it), edited in order."""
    folder.mkdir(parents=True, exist_ok=True)
    path = estate.write_inventory(folder / "inventory.toml")
    document = estate.inventory_document()
    for edit in edits:
        edit(document)
    write_toml(path, document, mode=0o600)
    return load_inventory(path)


@dataclass
class ScanLab:
    """A running scan estate and the inventory with gaps (`inventory`) or without (`complete`)."""

    estate: LabEstate
    folder: Path
    inventory: Inventory
    complete: Inventory

    def node(self, fqdn: str) -> LabNode:
        return self.estate.node(fqdn)

    def hq(self) -> list[LabNode]:
        return [self.estate.node(f) for f in HQ]

    def inventory_with(self, name: str, *edits: Edit) -> Inventory:
        return write_inventory(self.estate, self.folder / name, *edits)


@pytest.fixture
def scan_password(monkeypatch: pytest.MonkeyPatch) -> None:
    from ucterm.lab.credentials import CREDENTIALS

    monkeypatch.setenv(PASSWORD_VARIABLE, CREDENTIALS.os_password)
    monkeypatch.setenv(APP_PASSWORD_VARIABLE, CREDENTIALS.app_password)


@pytest_asyncio.fixture
async def lab(tmp_path: Path, scan_password: None) -> AsyncIterator[ScanLab]:
    """The scan estate (fast profile, 127.0.0.1), fresh for each test: tests change it freely."""
    estate = LabEstate(scan_spec(), profile="fast", now=NOW)
    async with estate:
        yield ScanLab(estate, tmp_path, write_inventory(estate, tmp_path / "gaps", with_gaps),
                      write_inventory(estate, tmp_path / "complete", complete))


class ThreadLab:
    """The scan estate on its own event loop in a thread, for tests of the synchronous command line
    (`ucterm.cli.main` runs its own loop with asyncio.run)."""

    def __init__(self, folder: Path) -> None:
        self.loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self.loop.run_forever, name="scan-lab", daemon=True)
        self._thread.start()
        self.estate = LabEstate(scan_spec(), profile="fast", now=NOW)
        self.call(self.estate.start())
        self.inventory = write_inventory(self.estate, folder / "gaps", with_gaps)
        self.complete = write_inventory(self.estate, folder / "complete", complete)

    def call(self, coroutine: Coroutine[Any, Any, Any]) -> Any:
        return asyncio.run_coroutine_threadsafe(coroutine, self.loop).result(60)

    def close(self) -> None:
        try:
            self.call(self.estate.stop())
        finally:
            self.loop.call_soon_threadsafe(self.loop.stop)
            self._thread.join(10)
            self.loop.close()


@pytest.fixture
def thread_lab(tmp_path: Path, scan_password: None) -> Iterator[ThreadLab]:
    lab = ThreadLab(tmp_path)
    try:
        yield lab
    finally:
        lab.close()


def cert(
    cluster: str,
    node: str,
    unit: str,
    store: str = "own",
    *,
    days: int = 400,
    fp: str | None = None,
    cn: str | None = None,
    issuer: str = "Lab Issuing CA",
    serial: str = "0a1b",
    lifetime: int = 730,
    source: str = "cli",
    warn: int = 60,
    crit: int = 14,
    self_signed: bool = False,
) -> CertRecord:
    # An hour further from now than `days`, so that `days` is the whole days left either side.
    not_after = NOW + timedelta(days=days, hours=1 if days >= 0 else -1)
    not_before = not_after - timedelta(days=lifetime)
    status, left = status_at(not_after, NOW, warn_days=warn, crit_days=crit)
    return CertRecord(
        cluster=cluster,
        node=node,
        unit=unit,
        store=store,
        subject_cn=cn or f"{unit}.{cluster}.example.com",
        issuer_cn=issuer,
        sans=(node,),
        serial=serial,
        not_before=not_before,
        not_after=not_after,
        days_left=left,
        status=status,
        self_signed=self_signed,
        fingerprint_sha256=fp or f"{cluster}-{node}-{unit}-{store}-{days}",
        source=source,  # type: ignore[arg-type]
        renewal_due=renewal_due(not_before, not_after, NOW),
    )


def node(
    cluster: str,
    fqdn: str,
    *,
    state: str = "ok",
    role: str = "subscriber",
    error: str | None = None,
    served: dict[str, str] | None = None,
    reachable: bool | None = None,
    notes: tuple[str, ...] = (),
) -> NodeResult:
    return NodeResult(
        cluster=cluster,
        node=fqdn,
        product="cucm",
        role=role,
        version="14.0.1.13900-155",
        reachable=(state == "ok") if reachable is None else reachable,
        error=error,
        served=served or {},
        notes=notes,
        state=state,
    )


@pytest.fixture
def mk() -> SimpleNamespace:
    """`mk.cert(...)`, `mk.node(...)` and `mk.NOW`: build rows in one line per test case."""
    return SimpleNamespace(cert=cert, node=node, NOW=NOW, x509=make_cert)
