"""The estate scan end to end against the lab (demo estate, `fast` profile, 127.0.0.1 only).

One estate per module, scanned once for the read-only checks; tests that change the lab (a node
down, a fault, a key removed) undo what they did, and scan only what they need.
"""

from __future__ import annotations

import asyncio
import json
import os
import sys
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import pytest
import pytest_asyncio
from cryptography.hazmat.primitives import hashes

from ucterm.credentials import CredentialStore
from ucterm.inventory import Inventory, load_inventory
from ucterm.lab import LabEstate
from ucterm.lab.network import install_endpoints
from ucterm.scan import scan_estate, scan_node
from ucterm.scan.model import ScanResult, merge, status_at

pytestmark = pytest.mark.asyncio(loop_scope="module")

NOW = datetime(2026, 11, 27, 8, 0, tzinfo=UTC)


@dataclass
class Lab:
    estate: LabEstate
    folder: Path
    inventory: Inventory
    result: ScanResult


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def lab(tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[Lab]:
    folder = tmp_path_factory.mktemp("scan-lab")
    async with LabEstate.demo(profile="fast", now=NOW) as estate:
        install_endpoints(estate)  # TLS ports and certmgr REST (idempotent)
        inventory = load_inventory(estate.write_inventory(folder / "inventory.toml"))
        result = await scan_estate(inventory, CredentialStore(), now=NOW)
        yield Lab(estate, folder, inventory, result)


def _hex(serial: int) -> str:
    return f"{serial:x}"


async def test_every_certificate_the_lab_holds_is_reported(lab: Lab) -> None:
    result = lab.result
    assert [n.state for n in result.nodes] == ["ok"] * len(lab.estate.nodes), [
        (n.node, n.error) for n in result.nodes if n.state != "ok"
    ]
    rows = {(c.node, c.store, c.unit if c.store == "own" else c.file): c for c in result.certificates}
    checked = 0
    for node in lab.estate.nodes:
        warn, crit = result.thresholds_for(node.cluster)
        for unit, identity in node.identities().items():
            row = rows[(node.fqdn, "own", unit)]
            cert = identity.cert
            assert row.serial == _hex(cert.serial_number), (node.fqdn, unit)
            assert row.not_after == cert.not_valid_after_utc
            status, left = status_at(cert.not_valid_after_utc, NOW, warn_days=warn, crit_days=crit)
            assert row.days_left == left and row.status == status
            assert row.source in ("cli", "rest")
            checked += 1
        for entry in node.trust_entries():
            row = rows.get((node.fqdn, entry.store, entry.path))
            if row is None:  # read over REST: no file names, match by store and serial
                row = next(
                    c
                    for c in result.for_node(node.cluster, node.fqdn)
                    if c.store == entry.store and c.serial == _hex(entry.cert.serial_number)
                )
            assert row.serial == _hex(entry.cert.serial_number)
            assert row.not_after == entry.cert.not_valid_after_utc
            checked += 1
    assert checked == len([c for c in result.certificates if c.source != "tls"])
    # The demo estate's verdict: an expired trust CA and expired identities.
    statuses = {c.status for c in result.certificates}
    assert statuses == {"expired", "critical", "warning", "ok"}
    assert result.exit_code() == 2


async def test_multi_server_and_trust_rows_merge(lab: Lab) -> None:
    merged = merge(lab.result.certificates, lab.result.nodes)
    hq = [n.fqdn for n in lab.estate.cluster("hq").nodes]
    tomcat = [m for m in merged if m.cluster == "hq" and m.unit == "tomcat" and m.store == "own"]
    assert len(tomcat) == 1 and sorted(tomcat[0].nodes) == sorted(hq)
    assert tomcat[0].record.serial == _hex(lab.estate.node(hq[0]).identity("tomcat").cert.serial_number)
    presence = [n.fqdn for n in lab.estate.cluster("presence").nodes]
    xmpp = [m for m in merged if m.cluster == "presence" and m.unit == "cup-xmpp" and m.store == "own"]
    assert len(xmpp) == 1 and sorted(xmpp[0].nodes) == sorted(presence)
    root = lab.estate.ca.root
    roots = [
        m
        for m in merged
        if m.cluster == "hq" and m.store == "tomcat-trust" and m.record.serial == _hex(root.serial_number)
    ]
    assert len(roots) == 1 and sorted(roots[0].nodes) == sorted(hq)
    # single-server identities stay one row per node
    cm = [m for m in merged if m.cluster == "branch" and m.unit == "CallManager" and m.store == "own"]
    assert len(cm) == 2 and all(len(m.nodes) == 1 for m in cm)


async def test_discovery_agrees_with_the_lab(lab: Lab) -> None:
    for node in lab.estate.nodes:
        r = lab.result.node_result(node.cluster, node.fqdn)
        assert r is not None and r.role == node.role and r.version == node.version
        assert not [n for n in r.notes if "inventory says" in n or "not listed" in n], r.notes


async def test_a_node_down_gives_exit_3_and_the_rest_completes(lab: Lab) -> None:
    down = "cucm14-sub1.lab.example"
    await lab.estate.take_down(down)
    try:
        result = await scan_estate(lab.inventory, CredentialStore(), clusters=["hq", "voicemail"], now=NOW)
    finally:
        await lab.estate.bring_up(down)
    states = {n.node: n.state for n in result.nodes}
    assert states.pop(down) == "unreachable"
    assert set(states.values()) == {"ok"} and len(states) == 4
    failed = result.node_result("hq", down)
    assert failed is not None and not failed.reachable and "cannot connect" in (failed.error or "")
    assert not result.for_node("hq", down)
    assert len(result.for_node("hq", "cucm14-pub.lab.example")) == len(
        lab.result.for_node("hq", "cucm14-pub.lab.example")
    )
    assert result.exit_code() == 3


async def test_unknown_host_key_and_refused_login(lab: Lab, tmp_path: Path) -> None:
    folder = tmp_path / "inv"
    folder.mkdir()
    path = lab.estate.write_inventory(folder / "inventory.toml")
    known = folder / "known_hosts"
    # cucm125-sub1 is read over the CLI (12.5); cuc15-sub over certmgr, which needs no SSH host key
    known.write_text("".join(ln + "\n" for ln in known.read_text().splitlines()
                             if "cuc15-sub" not in ln and "cucm125-sub1" not in ln))
    text = path.read_text()
    path.write_text(
        text + '\n[[cluster]]\nname = "x"\nproduct = "cuc"\nos_password = "wrong"\n'
        '[[cluster.node]]\nfqdn = "cuc-again.lab.example"\naddress = "127.0.0.1"\nrole = "publisher"\n'
        f"ports = {{ ssh = {lab.estate.node('cuc15-pub').ports['ssh']} }}\n"
    )
    inventory = load_inventory(path)
    result = await scan_estate(inventory, CredentialStore(), clusters=["branch", "voicemail", "x"], now=NOW,
                               probe=False)
    sub = result.node_result("branch", "cucm125-sub1.lab.example")
    assert sub is not None and sub.state == "host-key-unknown" and sub.host_key_fingerprint
    assert sub.host_key_fingerprint in (sub.error or "")
    other = result.node_result("x", "cuc-again.lab.example")
    assert other is not None and other.state in ("login-refused", "host-key-unknown")
    assert result.node_result("voicemail", "cuc15-pub.lab.example").state == "ok"  # type: ignore[union-attr]
    assert result.node_result("voicemail", "cuc15-sub.lab.example").state == "ok"  # type: ignore[union-attr]
    assert result.exit_code() == 3


async def test_a_dropped_session_is_retried(lab: Lab) -> None:
    node = lab.estate.node("cucm125-pub")  # 12.5: read over the CLI
    fault = node.faults.drop_connection("show cert list trust")
    try:
        cluster = lab.inventory.cluster("branch")
        scanned = await scan_node(cluster, cluster.node("cucm125-pub.lab.example"), CredentialStore(), now=NOW)
    finally:
        node.faults.clear()
    assert fault.fired == 1
    assert scanned.result.state == "ok", scanned.result.error
    assert len(scanned.certificates) == len(lab.result.for_node("branch", "cucm125-pub.lab.example"))


async def test_the_command_line_against_the_lab(lab: Lab, tmp_path: Path) -> None:
    env = dict(os.environ, UCTERM_HOME=str(tmp_path / "home"), NO_COLOR="1")
    prom = tmp_path / "ucterm.prom"
    proc = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "ucterm",
        "scan",
        "--inventory",
        str(lab.inventory.path),
        "--json",
        "--cluster",
        "voicemail",
        "--prometheus",
        str(prom),
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
        env=env,
    )
    out, err = await asyncio.wait_for(proc.communicate(), 60)
    doc = json.loads(out)
    assert proc.returncode == 2  # cuc15-pub's tomcat expires within the critical threshold
    assert {n["node"] for n in doc["nodes"]} == {"cuc15-pub.lab.example", "cuc15-sub.lab.example"}
    assert b"Traceback" not in err and b"\r" not in err  # no progress line: stderr is not a terminal
    assert 'ucterm_node_scan_success{cluster="voicemail",node="cuc15-sub.lab.example"} 1' in prom.read_text()
    assert (tmp_path / "home" / "state" / "last-scan.json").exists()


async def test_transports_and_served_certificates(lab: Lab) -> None:
    """v14+ nodes are read over certmgr REST, 12.5 over the CLI; every TLS port was probed."""
    for node in lab.estate.nodes:
        sources = {c.source for c in lab.result.for_node(node.cluster, node.fqdn)}
        assert sources == ({"rest"} if node.vos_version and node.vos_version.at_least(14) else {"cli"}), node
        r = lab.result.node_result(node.cluster, node.fqdn)
        assert r is not None
        for unit in r.served:
            served = node.served_certificate(unit)
            assert served is not None and r.served[unit] == served.fingerprint(hashes.SHA256()).hex()
    imp = lab.result.node_result("presence", "imp14-pub.lab.example")
    assert imp is not None and {"cup", "cup-xmpp", "cup-xmpp-s2s", "tomcat"} <= set(imp.served)


async def test_an_upload_without_restart_is_flagged(tmp_path: Path) -> None:
    async with LabEstate.demo(profile="fast", now=NOW) as estate:
        install_endpoints(estate)
        inventory = load_inventory(estate.write_inventory(tmp_path / "inventory.toml"))
        node = estate.node("cuc15-sub")
        old = node.identity("tomcat").cert
        node.install_identity("tomcat", node.self_signed_identity("tomcat", days=700))  # no Tomcat restart
        result = await scan_estate(inventory, CredentialStore(), clusters=["voicemail"], now=NOW)
    rows = [c for c in result.for_node("voicemail", node.fqdn) if c.unit == "tomcat" and c.store == "own"]
    by_source = {c.source: c for c in rows}
    assert set(by_source) == {"rest", "tls"}
    assert by_source["tls"].serial == _hex(old.serial_number)
    assert by_source["rest"].serial != by_source["tls"].serial
    merged = next(m for m in merge(result.certificates, result.nodes) if m.record is by_source["rest"])
    assert merged.served_differs == (node.fqdn,)
    r = result.node_result("voicemail", node.fqdn)
    assert r is not None and any("restart Cisco Tomcat" in n for n in r.notes)
