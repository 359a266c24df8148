"""The scan engine against stand-in sessions: every way a node can fail, discovery, thresholds, events.

The lab tests (test_scan_lab.py) check the real path end to end; these check the engine's own
decisions quickly and deterministically, including failures the lab cannot easily produce
(a refused login over REST, a prompt with no terminal).
"""

from __future__ import annotations

from types import SimpleNamespace
from typing import Any

import pytest

from ucterm.credentials import CredentialStore
from ucterm.errors import CredentialError, InventoryError
from ucterm.events import Event
from ucterm.inventory import Inventory, parse_inventory
from ucterm.scan import NodeScanned, ScanProgress, scan_estate, scan_node
from ucterm.scan.model import merge
from ucterm.vos.errors import HostKeyUnknown, LoginRefused, SessionDropped, Unreachable


async def test_full_scan_reads_every_certificate(estate: Any, fake_inventory: Inventory, mk: SimpleNamespace) -> None:
    events: list[Event] = []
    result = await scan_estate(fake_inventory, CredentialStore(), sink=events.append, now=mk.NOW)
    hq = [c for c in result.certificates if c.cluster == "hq" and c.source != "tls"]
    assert len(hq) == 9  # 3 nodes × (tomcat, CallManager, one trust)
    tomcat = [c for c in hq if c.unit == "tomcat" and c.store == "own"]
    assert {c.serial for c in tomcat} == {"abc"} and {c.status for c in tomcat} == {"warning"}
    assert all(c.source == "cli" for c in hq)
    trust = [c for c in hq if c.store == "tomcat-trust"]
    assert {c.file for c in trust} == {"tomcat-trust/Root.pem"} and trust[0].unit == "tomcat"
    # the branch cluster's own thresholds: 200 days left is a warning at 400
    cuc = [c for c in result.certificates if c.cluster == "branch"]
    assert {c.source for c in cuc} == {"rest"}
    assert next(c for c in cuc if c.store == "own").status == "warning"
    assert result.thresholds == {"hq": (60, 14), "branch": (400, 30)}
    # progress per cluster, one NodeScanned per node
    scanned = [e for e in events if isinstance(e, NodeScanned)]
    assert len(scanned) == 4
    finals = [e for e in events if isinstance(e, ScanProgress) and e.cluster == "hq" and e.done]
    assert [e.done for e in finals] == [1, 2, 3] and {e.total for e in finals} == {3}
    # no TLS rows when what is served is what is installed
    assert not [c for c in result.certificates if c.source == "tls"]
    assert result.node_result("hq", "pub.hq.example.com").served["tomcat"] == tomcat[0].fingerprint_sha256  # type: ignore[union-attr]


async def test_discovery_fills_roles_and_reports_disagreement(
    estate: Any, fake_inventory: Inventory, mk: SimpleNamespace
) -> None:
    result = await scan_estate(fake_inventory, CredentialStore(), clusters=["hq"], now=mk.NOW)
    sub1 = result.node_result("hq", "sub1.hq.example.com")
    assert sub1 is not None and sub1.role == "subscriber"  # filled from `show network cluster`
    assert any("runs 12.5.1.13900-1" in n for n in sub1.notes)
    sub2 = result.node_result("hq", "sub2.hq.example.com")
    assert sub2 is not None and any("says publisher" in n for n in sub2.notes)
    missing = result.node_result("hq", "sub3.hq.example.com")
    assert missing is not None and missing.state == "not-in-inventory" and not missing.reachable
    assert "add it to cluster" in (missing.error or "")
    pub = result.node_result("hq", "pub.hq.example.com")
    assert pub is not None and any("imp1.hq.example.com" in n for n in pub.notes)
    assert result.node_result("hq", "imp1.hq.example.com") is None  # another product: a note, not a node
    assert result.exit_code() == 3
    # only inventory nodes were contacted
    assert {sni for sni, _ in estate.probes} == {
        "pub.hq.example.com",
        "sub1.hq.example.com",
        "sub2.hq.example.com",
    }


async def test_command_line_thresholds_override_clusters(
    estate: Any, fake_inventory: Inventory, mk: SimpleNamespace
) -> None:
    result = await scan_estate(fake_inventory, CredentialStore(), warn_days=30, crit_days=10, now=mk.NOW)
    assert result.thresholds == {"hq": (30, 10), "branch": (30, 10)}
    assert {c.status for c in result.certificates if c.unit == "tomcat" and c.cluster == "hq"} == {"ok"}


@pytest.mark.parametrize(
    ("error", "state", "reachable"),
    [
        (Unreachable("sub1.hq.example.com", "127.0.0.1", 22, "connection refused"), "unreachable", False),
        (LoginRefused("sub1.hq.example.com", "admin"), "login-refused", False),
        (HostKeyUnknown("SHA256:abc", "sub1.hq.example.com", 22, None), "host-key-unknown", False),
    ],
)
async def test_node_failures_are_states(
    estate: Any, fake_inventory: Inventory, mk: SimpleNamespace, error: Exception, state: str, reachable: bool
) -> None:
    estate.nodes["sub1.hq.example.com"].fail_open = error
    result = await scan_estate(fake_inventory, CredentialStore(), clusters=["hq"], now=mk.NOW)
    sub1 = result.node_result("hq", "sub1.hq.example.com")
    assert sub1 is not None and sub1.state == state and sub1.reachable is reachable
    assert sub1.error == str(error)
    if state == "host-key-unknown":
        assert sub1.host_key_fingerprint == "SHA256:abc"
    others = [n for n in result.nodes if n.node in ("pub.hq.example.com", "sub2.hq.example.com")]
    assert all(n.state == "ok" for n in others)
    assert len(result.for_node("hq", "pub.hq.example.com")) == 3
    assert result.exit_code() == 3


async def test_no_credentials_still_probes(
    estate: Any, fake_inventory: Inventory, mk: SimpleNamespace, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("SCAN_TEST_PASSWORD")
    inv = fake_inventory
    scan_result = await scan_node(
        inv.cluster("hq"), inv.cluster("hq").node("sub2.hq.example.com"), CredentialStore(), now=mk.NOW
    )
    r = scan_result.result
    assert r.state == "partial" and r.reachable
    assert "SCAN_TEST_PASSWORD" in (r.error or "") and "TLS probe" in (r.error or "")
    units = {(c.unit, c.source) for c in scan_result.certificates}
    assert units == {("tomcat", "tls"), ("CallManager", "tls")}


async def test_prompt_without_terminal_is_partial(estate: Any, fake_inventory: Inventory, mk: SimpleNamespace) -> None:
    assert fake_inventory.path is not None
    text = fake_inventory.path.read_text().replace('"env:SCAN_TEST_PASSWORD"', '"prompt"')
    inv = parse_inventory(text, path=fake_inventory.path)
    with pytest.raises(CredentialError):
        CredentialStore().resolve("prompt", what="x")
    result = await scan_estate(inv, CredentialStore(), clusters=["branch"], now=mk.NOW)
    assert [n.state for n in result.nodes] == ["partial"]
    assert "prompt" in (result.nodes[0].error or "")


async def test_served_differs_from_installed(estate: Any, fake_inventory: Inventory, mk: SimpleNamespace) -> None:
    old = mk.x509("pub-ms.hq.example.com", 5, serial=0xDEF)
    estate.nodes["sub2.hq.example.com"].served[8443] = old
    estate.nodes["sub2.hq.example.com"].served[443] = old
    result = await scan_estate(fake_inventory, CredentialStore(), clusters=["hq"], now=mk.NOW)
    tls = [c for c in result.certificates if c.source == "tls"]
    assert [(c.node, c.unit, c.serial, c.status) for c in tls] == [("sub2.hq.example.com", "tomcat", "def", "critical")]
    sub2 = result.node_result("hq", "sub2.hq.example.com")
    assert sub2 is not None and any("restart Cisco Tomcat" in n for n in sub2.notes)
    ms = next(m for m in merge(result.certificates, result.nodes) if m.record.serial == "abc")
    assert ms.served_differs == ("sub2.hq.example.com",)
    assert set(ms.served_by) == {"pub.hq.example.com", "sub1.hq.example.com"}


async def test_rest_falls_back_to_cli(estate: Any, fake_inventory: Inventory, mk: SimpleNamespace) -> None:
    estate.nodes["cuc.branch.example.com"].rest_fails = True
    result = await scan_estate(fake_inventory, CredentialStore(), clusters=["branch"], now=mk.NOW)
    assert {c.source for c in result.certificates} == {"cli"}
    assert result.nodes[0].state == "ok"
    assert any("REST API failed" in n for n in result.nodes[0].notes)


async def test_dropped_session_is_retried_once(estate: Any, fake_inventory: Inventory, mk: SimpleNamespace) -> None:
    node = estate.nodes["pub.hq.example.com"]
    node.fail_once = SessionDropped("pub.hq.example.com", "show cert own tomcat", "connection lost")
    result = await scan_estate(fake_inventory, CredentialStore(), clusters=["hq"], now=mk.NOW)
    assert node.opened == 2
    assert result.node_result("hq", "pub.hq.example.com").state == "ok"  # type: ignore[union-attr]


async def test_unreadable_certificate_makes_the_node_partial(
    estate: Any, fake_inventory: Inventory, mk: SimpleNamespace
) -> None:
    estate.nodes["sub1.hq.example.com"].broken_units.add("CallManager")
    result = await scan_estate(fake_inventory, CredentialStore(), clusters=["hq"], now=mk.NOW)
    sub1 = result.node_result("hq", "sub1.hq.example.com")
    assert sub1 is not None and sub1.state == "partial" and sub1.reachable
    assert "CallManager" in (sub1.error or "")
    assert {c.unit for c in result.for_node("hq", "sub1.hq.example.com") if c.source == "cli"} == {"tomcat"}


async def test_unknown_cluster_is_one_sentence(estate: Any, fake_inventory: Inventory) -> None:
    with pytest.raises(InventoryError, match='no cluster "nope"'):
        await scan_estate(fake_inventory, CredentialStore(), clusters=["nope"])


async def test_probe_off_sends_nothing(estate: Any, fake_inventory: Inventory, mk: SimpleNamespace) -> None:
    result = await scan_estate(fake_inventory, CredentialStore(), probe=False, now=mk.NOW)
    assert not estate.probes and all(not n.served for n in result.nodes)


async def test_replicated_trust_is_read_once_per_cluster(
    estate: Any, fake_inventory: Inventory, mk: SimpleNamespace
) -> None:
    cas = {f"tomcat-trust/CA{i}.pem": mk.x509(f"CA {i}", 1000 + i, serial=100 + i) for i in range(6)}
    hq = ("pub.hq.example.com", "sub1.hq.example.com", "sub2.hq.example.com")
    for fqdn in hq:
        estate.nodes[fqdn].trust = dict(cas)
    result = await scan_estate(fake_inventory, CredentialStore(), clusters=["hq"], now=mk.NOW)
    reads = [estate.nodes[f].trust_reads for f in hq]
    assert sum(reads) == 6 and sum(1 for r in reads if r) > 1, reads  # once each, and the work was shared
    for fqdn in hq:
        rows = [c for c in result.for_node("hq", fqdn) if c.store == "tomcat-trust"]
        assert sorted(c.serial for c in rows) == [f"{100 + i:x}" for i in range(6)]
        assert {c.file for c in rows} == set(cas)


async def test_a_failed_trust_read_is_not_inherited(
    estate: Any, fake_inventory: Inventory, mk: SimpleNamespace
) -> None:
    cas = {f"tomcat-trust/CA{i}.pem": mk.x509(f"CA {i}", 1000 + i, serial=100 + i) for i in range(3)}
    hq = ("pub.hq.example.com", "sub1.hq.example.com", "sub2.hq.example.com")
    broken = {"tomcat-trust/CA1.pem"}  # shared: whichever node reads CA1 first fails, once
    for fqdn in hq:
        estate.nodes[fqdn].trust = dict(cas)
        estate.nodes[fqdn].broken_trust = broken
    result = await scan_estate(fake_inventory, CredentialStore(), clusters=["hq"], now=mk.NOW)
    partial = [n for n in result.nodes if n.state == "partial"]
    assert len(partial) == 1 and "CA1.pem" in (partial[0].error or "")
    for n in result.nodes:
        if n.state == "ok":
            assert len([c for c in result.for_node("hq", n.node) if c.store == "tomcat-trust"]) == 3


async def test_what_rest_cannot_give_is_read_over_the_cli(
    estate: Any, fake_inventory: Inventory, mk: SimpleNamespace
) -> None:
    cuc = estate.nodes["cuc.branch.example.com"]
    cuc.trust["Phone-SAST-trust/Old.pem"] = mk.x509("Old CA", 30, serial=0x55)
    cuc.rest_refuses = {"Phone-SAST-trust"}
    result = await scan_estate(fake_inventory, CredentialStore(), clusters=["branch"], now=mk.NOW)
    rows = {(c.store, c.source) for c in result.certificates}
    assert rows == {("own", "rest"), ("tomcat-trust", "rest"), ("Phone-SAST-trust", "cli")}
    assert result.nodes[0].state == "ok"
    sast = next(c for c in result.certificates if c.store == "Phone-SAST-trust")
    assert sast.serial == "55" and sast.status == "critical" and sast.file == "Phone-SAST-trust/Old.pem"
