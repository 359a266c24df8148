"""Fixtures for the scan tests: hand-built rows, a stand-in estate (no network), and the lab.

`mk` builds scan rows in one line; `estate` replaces the engine's session and probe with
stand-ins (FakeEstate) so the engine's decisions are tested fast and deterministically; the lab
fixtures (further down) run the real estate on 127.0.0.1.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from ucterm.credentials import CredentialStore, password_what
from ucterm.inventory import Inventory, parse_inventory
from ucterm.scan import read as scan_read
from ucterm.scan import served as scan_served
from ucterm.scan.model import CertRecord, NodeResult, renewal_due, status_at
from ucterm.vos.errors import RestError, Unreachable, VosCommandError
from ucterm.vos.parsers import CertListEntry, ClusterNode, VersionInfo

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


INVENTORY = """
[defaults]
os_user = "admin"
os_password = "env:SCAN_TEST_PASSWORD"
warn_days = 60
crit_days = 14

[[cluster]]
name = "hq"
product = "cucm"
version = "12.5.1.11900-146"

[[cluster.node]]
fqdn = "pub.hq.example.com"
address = "127.0.0.1"
role = "publisher"

[[cluster.node]]
fqdn = "sub1.hq.example.com"
address = "127.0.0.1"

[[cluster.node]]
fqdn = "sub2.hq.example.com"
address = "127.0.0.1"
role = "publisher_placeholder"

[[cluster]]
name = "branch"
product = "cuc"
warn_days = 400
crit_days = 30

[[cluster.node]]
fqdn = "cuc.branch.example.com"
address = "127.0.0.1"
role = "publisher"
""".replace('role = "publisher_placeholder"', 'role = "subscriber"')


@dataclass
class FakeNode:
    """What one stand-in appliance holds and how it fails."""

    version: str = "12.5.1.11900-146"
    own: dict[str, x509.Certificate] = field(default_factory=dict)
    trust: dict[str, x509.Certificate] = field(default_factory=dict)  # "store/file" → cert
    members: list[ClusterNode] = field(default_factory=list)
    fail_open: BaseException | None = None
    fail_once: BaseException | None = None
    rest: bool = False
    rest_fails: bool = False
    broken_units: set[str] = field(default_factory=set)
    served: dict[int, x509.Certificate] = field(default_factory=dict)  # port → cert
    opened: int = 0
    trust_reads: int = 0
    rest_refuses: set[str] = field(default_factory=set)  # services certmgr answers 400 for
    broken_trust: set[str] = field(default_factory=set)


class FakeCli:
    def __init__(self, fqdn: str, node: FakeNode) -> None:
        self.fqdn, self.node = fqdn, node

    async def show_version(self) -> VersionInfo:
        return VersionInfo(self.node.version)

    async def show_network_cluster(self) -> list[ClusterNode]:
        return list(self.node.members)

    async def list_certs(self, which: str) -> list[CertListEntry]:
        if which == "own":
            return [CertListEntry(u, f"{u}.pem", "", None, False) for u in self.node.own]
        return [CertListEntry(p.split("/")[0], p.split("/")[1], "", None, False) for p in self.node.trust]

    async def cert_own(self, unit: str) -> x509.Certificate:
        if self.node.fail_once is not None:
            exc, self.node.fail_once = self.node.fail_once, None
            raise exc
        if unit in self.node.broken_units:
            raise VosCommandError(self.fqdn, f"show cert own {unit}", "printed no certificate.")
        return self.node.own[unit]

    async def cert_trust(self, path: str) -> x509.Certificate:
        self.node.trust_reads += 1
        await asyncio.sleep(0)  # let the other nodes of the cluster interleave, as real sessions do
        if path in self.node.broken_trust:
            self.node.broken_trust.discard(path)  # fails once (the set may be shared by several nodes)
            raise VosCommandError(self.fqdn, f"show cert trust {path}", "printed no certificate.")
        return self.node.trust[path]


class FakeRest:
    def __init__(self, fqdn: str, node: FakeNode) -> None:
        self.fqdn, self.node = fqdn, node

    async def identity(self, service: str) -> x509.Certificate:
        if self.node.rest_fails:
            raise RestError(self.fqdn, "GET", "/identity/certificate", 503, "service unavailable")
        if service not in self.node.own:
            raise RestError(self.fqdn, "GET", "/identity/certificate", 404, "no such service")
        return self.node.own[service]

    async def trust(self, service: str) -> list[x509.Certificate]:
        if service in self.node.rest_refuses:
            raise RestError(self.fqdn, "GET", "/trust/certificate", 400, f"Unknown unit {service}")
        return [c for p, c in self.node.trust.items() if p.split("/")[0] == f"{service}-trust"]


class FakeSession:
    def __init__(self, fqdn: str, node: FakeNode) -> None:
        self.cli = FakeCli(fqdn, node)
        self.rest = FakeRest(fqdn, node) if node.rest else None


@dataclass
class FakeEstate:
    nodes: dict[str, FakeNode]
    probes: list[tuple[str, int]] = field(default_factory=list)

    def session(self, cluster: Any, node: Any, credentials: CredentialStore, sink: Any) -> Any:
        fake = self.nodes[node.fqdn]

        @contextlib.asynccontextmanager
        async def opened() -> AsyncIterator[FakeSession]:
            credentials.resolve(cluster.settings.os_password, what=password_what("os_password", cluster.name))
            if fake.fail_open is not None:
                raise fake.fail_open
            fake.opened += 1
            yield FakeSession(node.fqdn, fake)

        return opened()

    async def probe(self, address: str, port: int, *, sni: str, **kwargs: Any) -> Any:
        self.probes.append((sni, port))
        cert = self.nodes[sni].served.get(port)
        if cert is None or (
            self.nodes[sni].fail_open is not None and isinstance(self.nodes[sni].fail_open, Unreachable)
        ):
            return _Probe(False, [], "connection refused")
        return _Probe(True, [cert], None)


@dataclass
class _Probe:
    ok: bool
    chain: list[x509.Certificate]
    error: str | None


def _standard(fqdn: str, *, tomcat: x509.Certificate, root: x509.Certificate, **kw: Any) -> FakeNode:
    cm = make_cert(f"{fqdn}", 300, serial=hash(fqdn) & 0xFFFF)
    return FakeNode(
        own={"tomcat": tomcat, "CallManager": cm},
        trust={"tomcat-trust/Root.pem": root},
        served={8443: tomcat, 443: tomcat, 5061: cm},
        **kw,
    )


@pytest.fixture
def estate(monkeypatch: pytest.MonkeyPatch) -> FakeEstate:
    monkeypatch.setenv("SCAN_TEST_PASSWORD", "secret")
    ms = make_cert(
        "pub-ms.hq.example.com",
        45,
        serial=0xABC,
        sans=("pub.hq.example.com", "sub1.hq.example.com", "sub2.hq.example.com"),
    )
    root = make_cert("Test Root", 3000, serial=0x1, lifetime=7300, issuer="Test Root")
    members = [
        ClusterNode("10.0.0.1", "pub.hq.example.com", "pub", "publisher", "callmanager", "DBPub", ""),
        ClusterNode("10.0.0.2", "sub1.hq.example.com", "sub1", "subscriber", "callmanager", "DBSub", ""),
        ClusterNode("10.0.0.3", "sub2.hq.example.com", "sub2", "publisher", "callmanager", "DBSub", ""),
        ClusterNode("10.0.0.4", "sub3.hq.example.com", "sub3", "subscriber", "callmanager", "DBSub", ""),
        ClusterNode("10.0.0.9", "imp1.hq.example.com", "imp1", "subscriber", "cups", "DBPub", ""),
    ]
    fake = FakeEstate(
        {
            "pub.hq.example.com": _standard("pub.hq.example.com", tomcat=ms, root=root, members=members),
            "sub1.hq.example.com": _standard("sub1.hq.example.com", tomcat=ms, root=root, version="12.5.1.13900-1"),
            "sub2.hq.example.com": _standard("sub2.hq.example.com", tomcat=ms, root=root),
            "cuc.branch.example.com": FakeNode(
                version="14.0.1.13900-155",
                rest=True,
                own={"tomcat": make_cert("cuc.branch.example.com", 200, serial=77)},
                trust={"tomcat-trust/Root.pem": root},
            ),
        }
    )
    monkeypatch.setattr(scan_read, "_session", fake.session)
    monkeypatch.setattr(scan_served, "_probe", fake.probe)
    return fake


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


@pytest.fixture
def fake_inventory(tmp_path: Path) -> Inventory:
    """The stand-in estate's inventory: hq (CUCM 12.5, three nodes) and branch (CUC 14, own thresholds)."""
    path = tmp_path / "inventory.toml"
    path.write_text(INVENTORY)
    path.chmod(0o600)
    return parse_inventory(INVENTORY, path=path)
