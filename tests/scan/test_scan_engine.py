"""The scan engine's decisions against the lab: every way a node can fail, discovery, thresholds, events.

Each test runs a fresh small estate (tests/scan/conftest.py: hq CUCM 12.5 over the CLI, branch
Unity Connection 14 over certmgr REST, an IM and Presence node the inventory leaves out) over
real SSH, TLS and HTTPS on 127.0.0.1. Where a node must fail, the lab's faults make it fail; what
reached each node is counted by the lab (`node.received`).
"""

from __future__ import annotations

from types import SimpleNamespace
from typing import Any

import pytest

from tests.scan.conftest import CUC, HQ, IMP1, PASSWORD_VARIABLE, PUB, SUB1, SUB2, SUB3, ScanLab
from ucterm.credentials import CredentialStore
from ucterm.errors import CredentialError, InventoryError
from ucterm.events import Event
from ucterm.lab import LabNode
from ucterm.scan import NodeScanned, ScanProgress, scan_estate, scan_node
from ucterm.scan.model import ScanResult, merge
from ucterm.vos import hostkeys


def _held(node: LabNode) -> set[tuple[str, str, str]]:
    """(store, unit or trust file, serial) of every certificate the lab node holds."""
    own = {("own", unit, f"{i.cert.serial_number:x}") for unit, i in node.identities().items()}
    trust = {(e.store, e.path, f"{e.cert.serial_number:x}") for e in node.trust_entries()}
    return own | trust


def _read(result: ScanResult, node: LabNode, *, source: str | None = None) -> set[tuple[str, str, str]]:
    rows = [c for c in result.for_node(node.cluster, node.fqdn) if c.source != "tls"]
    if source is not None:
        assert {c.source for c in rows} <= {source}, {c.source for c in rows}
    return {(c.store, c.unit if c.store == "own" else c.file or "", c.serial) for c in rows}


async def test_full_scan_reads_every_certificate(lab: ScanLab, mk: SimpleNamespace) -> None:
    events: list[Event] = []
    result = await scan_estate(lab.inventory, CredentialStore(), sink=events.append, now=mk.NOW)
    for node in lab.hq():
        assert _read(result, node, source="cli") == _held(node), node.fqdn
    tomcat = [c for c in result.certificates if c.cluster == "hq" and c.unit == "tomcat" and c.store == "own"]
    multi_server = lab.node(PUB).identity("tomcat").cert
    assert {c.serial for c in tomcat} == {f"{multi_server.serial_number:x}"} and len(tomcat) == 3
    assert {c.status for c in tomcat} == {"warning"}  # 45 days left, warn 60
    trust = [c for c in result.for_node("hq", PUB) if c.store == "tomcat-trust"]
    assert {c.file for c in trust} == {e.path for e in lab.node(PUB).trust_entries("tomcat-trust")}
    assert {c.unit for c in trust} == {"tomcat"}
    # the branch cluster's own thresholds: 200 days left is a warning at 400; read over certmgr
    cuc = lab.node(CUC)
    assert _read(result, cuc, source="rest") == _held(cuc)
    assert next(c for c in result.for_node("branch", CUC) if c.unit == "tomcat" and c.store == "own").status \
        == "warning"
    assert result.thresholds == {"hq": (60, 14), "branch": (400, 30)}
    # progress per cluster, one NodeScanned per node
    scanned = [e for e in events if isinstance(e, NodeScanned)]
    assert len(scanned) == 4
    finals = [e for e in events if isinstance(e, ScanProgress) and e.cluster == "hq" and e.message == "done"]
    assert [e.done for e in finals] == [1, 2, 3] and {e.total for e in finals} == {3}
    # no TLS rows when what is served is what is installed
    assert not [c for c in result.certificates if c.source == "tls"]
    assert result.node_result("hq", PUB).served["tomcat"] == tomcat[0].fingerprint_sha256  # type: ignore[union-attr]


async def test_a_v14_node_is_read_without_its_cli(lab: ScanLab, mk: SimpleNamespace) -> None:
    result = await scan_estate(lab.inventory, CredentialStore(), clusters=["branch"], now=mk.NOW)
    cuc = lab.node(CUC)
    assert result.nodes[0].state == "ok" and result.nodes[0].reachable
    assert cuc.received.rest == ["GET snapshot/server"]
    # Unity Connection has no AXL: its publisher's CLI is asked for the members, and nothing else.
    assert cuc.received.commands == ["set cli pagination off", "show network cluster"]


async def test_host_keys_are_reported_for_the_ssh_a_rest_read_still_opened(lab: ScanLab, mk: SimpleNamespace
                                                                          ) -> None:
    """A v14 node read over certmgr still logs in over SSH for its members: that key is reported
    (and its acceptance on first use); a node read over REST alone verified no SSH key at all."""
    def first_use(document: dict[str, Any]) -> None:
        document["defaults"]["trust_on_first_use"] = True

    inventory = lab.inventory_with("first-use", first_use)
    known = lab.folder / "first-use" / "known_hosts"
    known.write_text("".join(ln + "\n" for ln in known.read_text().splitlines() if CUC not in ln))
    result = await scan_estate(inventory, CredentialStore(), clusters=["branch"], now=mk.NOW)
    [cuc] = result.nodes
    assert cuc.state == "ok" and {c.source for c in result.certificates} == {"rest"}
    branch = inventory.cluster("branch")
    node = branch.node(CUC)
    [key] = hostkeys.known_keys(known, CUC, node.port("ssh"), node.address)  # recorded on first use
    assert cuc.host_key_fingerprint == hostkeys.fingerprint(key) and cuc.host_key_accepted
    lab.node(CUC).received.clear()
    alone = await scan_node(branch, node, CredentialStore(), discover=False, now=mk.NOW)
    assert lab.node(CUC).received.ssh_sessions == 0
    assert alone.result.state == "ok" and alone.result.host_key_fingerprint is None
    assert not alone.result.host_key_accepted


async def test_the_last_scan_says_the_release_the_inventory_leaves_out(lab: ScanLab, mk: SimpleNamespace) -> None:
    def no_version(document: dict[str, Any]) -> None:
        next(c for c in document["cluster"] if c["name"] == "branch").pop("version")

    inventory = lab.inventory_with("no-version", no_version)
    first = await scan_estate(inventory, CredentialStore(), clusters=["branch"], now=mk.NOW)
    cuc = lab.node(CUC)
    assert cuc.received.count("show version active") == 1  # nothing else knew the release
    assert {c.source for c in first.certificates} == {"rest"} and first.nodes[0].version == cuc.version
    cuc.received.clear()
    again = await scan_estate(inventory, CredentialStore(), clusters=["branch"], now=mk.NOW, previous=first)
    assert cuc.received.count("show version") == 0 and cuc.received.count("show cert") == 0
    assert again.nodes[0].version == cuc.version
    assert {c.source for c in again.certificates} == {"rest"} and again.nodes[0].state == "ok"


async def test_discovery_fills_roles_and_reports_disagreement(lab: ScanLab, mk: SimpleNamespace) -> None:
    result = await scan_estate(lab.inventory, CredentialStore(), clusters=["hq"], now=mk.NOW)
    sub1 = result.node_result("hq", SUB1)
    assert sub1 is not None and sub1.role == "subscriber"  # filled from `show network cluster`
    assert any("says version 12.5.1.13900-1" in n and "runs 12.5.1.16900-48" in n for n in sub1.notes), sub1.notes
    missing = result.node_result("hq", SUB3)
    assert missing is not None and missing.state == "not-in-inventory" and not missing.reachable
    assert "add it to cluster" in (missing.error or "")
    pub = result.node_result("hq", PUB)
    assert pub is not None and any(IMP1 in n for n in pub.notes)
    assert result.node_result("hq", IMP1) is None  # another product: a note, not a node
    assert result.exit_code() == 3
    # only inventory nodes were contacted
    for fqdn in (SUB3, IMP1):
        assert not lab.node(fqdn).received.connections, fqdn

    def swapped(document: dict[str, Any]) -> None:  # the inventory has the roles the wrong way round
        hq = next(c for c in document["cluster"] if c["name"] == "hq")
        for n in hq["node"]:
            n["role"] = {PUB: "subscriber", SUB2: "publisher"}.get(n["fqdn"], n.get("role", "subscriber"))

    result = await scan_estate(lab.inventory_with("swapped", swapped), CredentialStore(), clusters=["hq"],
                               now=mk.NOW)
    sub2 = result.node_result("hq", SUB2)
    assert sub2 is not None and any("inventory says publisher" in n and "says subscriber" in n for n in sub2.notes)
    pub = result.node_result("hq", PUB)
    assert pub is not None and any("inventory says subscriber" in n and "says publisher" in n for n in pub.notes)


async def test_command_line_thresholds_override_clusters(lab: ScanLab, mk: SimpleNamespace) -> None:
    result = await scan_estate(lab.inventory, CredentialStore(), warn_days=30, crit_days=10, now=mk.NOW)
    assert result.thresholds == {"hq": (30, 10), "branch": (30, 10)}
    assert {c.status for c in result.certificates if c.unit == "tomcat" and c.cluster == "hq"} == {"ok"}


@pytest.mark.parametrize(("failure", "state", "words"), [
    ("down", "unreachable", "cannot connect"),
    ("password", "login-refused", "refused"),
    ("host-key", "host-key-unknown", "SHA256:"),
])
async def test_node_failures_are_states(lab: ScanLab, mk: SimpleNamespace, failure: str, state: str,
                                        words: str) -> None:
    inventory = lab.inventory
    if failure == "down":
        await lab.estate.take_down(SUB1)
    elif failure == "password":
        lab.node(SUB1).faults.refuse_logins()  # its administrator's password was changed on the node
    else:
        known = lab.folder / "gaps" / "known_hosts"
        known.write_text("".join(ln + "\n" for ln in known.read_text().splitlines() if SUB1 not in ln))
    result = await scan_estate(inventory, CredentialStore(), clusters=["hq"], now=mk.NOW)
    sub1 = result.node_result("hq", SUB1)
    assert sub1 is not None and sub1.state == state and sub1.reachable is False
    assert SUB1 in (sub1.error or "") and words in (sub1.error or ""), sub1.error
    if state == "host-key-unknown":
        assert sub1.host_key_fingerprint and sub1.host_key_fingerprint in (sub1.error or "")
    others = [n for n in result.nodes if n.node in (PUB, SUB2)]
    assert [n.state for n in others] == ["ok", "ok"]
    assert _read(result, lab.node(PUB)) == _held(lab.node(PUB))
    assert result.exit_code() == 3


async def test_no_credentials_still_probes(lab: ScanLab, mk: SimpleNamespace, monkeypatch: pytest.MonkeyPatch
                                           ) -> None:
    monkeypatch.delenv(PASSWORD_VARIABLE)
    hq = lab.inventory.cluster("hq")
    scanned = await scan_node(hq, hq.node(SUB2), CredentialStore(), now=mk.NOW)
    r = scanned.result
    assert r.state == "partial" and r.reachable
    assert PASSWORD_VARIABLE in (r.error or "") and "TLS probe" in (r.error or "")
    assert {(c.unit, c.source) for c in scanned.certificates} == {("tomcat", "tls"), ("CallManager", "tls")}
    assert lab.node(SUB2).received.ssh_sessions == 0


async def test_prompt_without_terminal_is_partial(lab: ScanLab, mk: SimpleNamespace) -> None:
    def prompt(document: dict[str, Any]) -> None:
        document["defaults"]["os_password"] = "prompt"

    with pytest.raises(CredentialError):
        CredentialStore().resolve("prompt", what="x")
    result = await scan_estate(lab.inventory_with("prompt", prompt), CredentialStore(), clusters=["branch"],
                               now=mk.NOW)
    assert [n.state for n in result.nodes] == ["partial"]
    assert "prompt" in (result.nodes[0].error or "")


async def test_served_differs_from_installed(lab: ScanLab, mk: SimpleNamespace) -> None:
    sub2 = lab.node(SUB2)
    multi_server = sub2.identity("tomcat")
    other = sub2.self_signed_identity("tomcat", days=5)
    sub2.install_identity("tomcat", other)
    await sub2.restart_service("Cisco Tomcat")  # Tomcat now serves `other`...
    sub2.install_identity("tomcat", multi_server)  # ...and keeps serving it: no restart after this upload
    result = await scan_estate(lab.inventory, CredentialStore(), clusters=["hq"], now=mk.NOW)
    tls = [c for c in result.certificates if c.source == "tls"]
    assert [(c.node, c.unit, c.serial, c.status) for c in tls] == [
        (SUB2, "tomcat", f"{other.cert.serial_number:x}", "critical")]
    r = result.node_result("hq", SUB2)
    assert r is not None and any("restart Cisco Tomcat" in n for n in r.notes)
    ms = next(m for m in merge(result.certificates, result.nodes)
              if m.record.serial == f"{multi_server.cert.serial_number:x}" and m.store == "own")
    assert ms.served_differs == (SUB2,)
    assert set(ms.served_by) == {PUB, SUB1}


async def test_rest_falls_back_to_cli(lab: ScanLab, mk: SimpleNamespace) -> None:
    cuc = lab.node(CUC)
    cuc.faults.rest_error(503, message="Service Unavailable")
    result = await scan_estate(lab.inventory, CredentialStore(), clusters=["branch"], now=mk.NOW)
    assert {c.source for c in result.certificates} == {"cli"}
    assert _read(result, cuc) == _held(cuc)
    assert result.nodes[0].state == "ok"
    assert any("REST API failed" in n and "503" in n for n in result.nodes[0].notes), result.nodes[0].notes


async def test_dropped_session_is_retried_once(lab: ScanLab, mk: SimpleNamespace) -> None:
    pub = lab.node(PUB)
    pub.faults.drop_connection("show cert own tomcat", after_lines=0)
    result = await scan_estate(lab.inventory, CredentialStore(), clusters=["hq"], now=mk.NOW)
    assert pub.received.ssh_sessions == 2
    assert result.node_result("hq", PUB).state == "ok"  # type: ignore[union-attr]
    assert _read(result, pub) == _held(pub)


async def test_unreadable_certificate_makes_the_node_partial(lab: ScanLab, mk: SimpleNamespace) -> None:
    sub1 = lab.node(SUB1)
    sub1.faults.garble_pem("show cert own CallManager")
    result = await scan_estate(lab.inventory, CredentialStore(), clusters=["hq"], now=mk.NOW)
    r = result.node_result("hq", SUB1)
    assert r is not None and r.state == "partial" and r.reachable
    assert "CallManager" in (r.error or "")
    own = {c.unit for c in result.for_node("hq", SUB1) if c.source == "cli" and c.store == "own"}
    assert own == set(sub1.units) - {"CallManager"}


async def test_unknown_cluster_is_one_sentence(lab: ScanLab) -> None:
    with pytest.raises(InventoryError, match='no cluster "nope"'):
        await scan_estate(lab.inventory, CredentialStore(), clusters=["nope"])


async def test_probe_off_sends_nothing(lab: ScanLab, mk: SimpleNamespace) -> None:
    result = await scan_estate(lab.inventory, CredentialStore(), probe=False, now=mk.NOW)
    assert all(not n.served for n in result.nodes)
    for fqdn in HQ:  # read over the CLI: nothing but SSH reached them
        assert set(lab.node(fqdn).received.connections) == {"ssh"}, fqdn
    # certmgr (one keep-alive connection), and the CLI for `show network cluster` (no AXL on Unity Connection)
    assert lab.node(CUC).received.connections == {"https": 1, "ssh": 1}


async def test_replicated_trust_is_read_once_per_cluster(lab: ScanLab, mk: SimpleNamespace) -> None:
    result = await scan_estate(lab.inventory, CredentialStore(), clusters=["hq"], now=mk.NOW)
    held = {(e.store, e.name, e.description) for n in lab.hq() for e in n.trust_entries()}
    reads = [n.received.count("show cert trust") for n in lab.hq()]
    assert sum(reads) == len(held) and sum(1 for r in reads if r) > 1, reads  # once each, and shared
    for node in lab.hq():
        assert _read(result, node) == _held(node)


async def test_a_failed_trust_read_is_not_inherited(lab: ScanLab, mk: SimpleNamespace) -> None:
    from ucterm.lab.faults import CommandFault

    root = next(e for e in lab.node(PUB).trust_entries("tomcat-trust") if e.cert == lab.estate.ca.root)
    fault = CommandFault("fail", f"show cert trust {root.path}")  # whichever node reads it first fails, once
    for node in lab.hq():
        node.faults.arm(fault)
    result = await scan_estate(lab.inventory, CredentialStore(), clusters=["hq"], now=mk.NOW)
    assert fault.fired == 1
    partial = [n for n in result.nodes if n.state == "partial"]
    assert len(partial) == 1 and root.name in (partial[0].error or "")
    for n in result.nodes:
        if n.state == "ok":
            assert _read(result, lab.node(n.node)) == _held(lab.node(n.node))


async def test_what_rest_cannot_give_is_read_over_the_cli(lab: ScanLab, mk: SimpleNamespace) -> None:
    cuc = lab.node(CUC)
    old = cuc.add_trust("ipsec-trust", mk.x509("Old CA", 30, serial=0x55))
    cuc.faults.rest_error(404, route="snapshot/server", message="No resource")  # a build without the snapshot
    cuc.faults.rest_error(400, route="trust/certificate", service="ipsec", message="Unknown unit ipsec")
    result = await scan_estate(lab.inventory, CredentialStore(), clusters=["branch"], now=mk.NOW)
    rows = {(c.store, c.source) for c in result.certificates}
    assert rows == {("own", "rest"), ("tomcat-trust", "rest"), ("ipsec-trust", "cli")}
    assert result.nodes[0].state == "ok"
    read, held = _read(result, cuc), _held(cuc)
    assert {k for k in read if k[0] != "tomcat-trust"} == {k for k in held if k[0] != "tomcat-trust"}
    assert {k[2] for k in read if k[0] == "tomcat-trust"} == {k[2] for k in held if k[0] == "tomcat-trust"}
    row = next(c for c in result.certificates if c.serial == "55")
    assert row.status == "critical" and row.file == old.path  # 30 days, crit 30



async def test_every_node_is_in_flight_unless_concurrency_says_otherwise(lab: ScanLab, mk: SimpleNamespace) -> None:
    from ucterm.vos.limits import ConnectionLimiter

    for node in lab.hq():
        node.faults.slow_banner(0.3)  # long enough for the sessions to overlap
    together = ConnectionLimiter()
    result = await scan_estate(lab.inventory, CredentialStore(), clusters=["hq"], probe=False, now=mk.NOW,
                               limiter=together)
    assert {n.state for n in result.nodes if n.node in HQ} == {"ok"}
    assert together.sockets_peak == 3 and together.sockets_open == 0  # all three waited for banners at once
    gentle = ConnectionLimiter()
    await scan_estate(lab.inventory, CredentialStore(), clusters=["hq"], probe=False, now=mk.NOW,
                      limiter=gentle, concurrency=1)
    assert gentle.sockets_peak == 1  # one appliance at a time
