"""Renderers and model rules on hand-built scans: table, CSV, JSON, Prometheus, exit codes, merge."""

from __future__ import annotations

import csv
import io
import json
import re
from datetime import timedelta
from types import SimpleNamespace

from ucterm.scan.model import ScanResult, load_scan, merge, renewal_due, save_scan
from ucterm.scan.render import render_csv, render_json, render_prometheus, render_table

HQ = ("cucm-pub.hq.example.com", "cucm-sub1.hq.example.com", "cucm-sub2.hq.example.com")


def _estate(mk: SimpleNamespace, *, down: bool = False) -> ScanResult:
    """hq: a multi-server tomcat on three nodes, a root CA in every tomcat-trust, one critical CallManager."""
    certs = []
    for fqdn in HQ:
        certs.append(mk.cert("hq", fqdn, "tomcat", fp="ms-tomcat", cn="cucm-pub-ms.hq.example.com", days=300))
        certs.append(
            mk.cert(
                "hq",
                fqdn,
                "tomcat",
                "tomcat-trust",
                fp="root",
                cn="Lab Root CA",
                issuer="Lab Root CA",
                days=3000,
                lifetime=7300,
                self_signed=True,
            )
        )
    certs.append(mk.cert("hq", HQ[1], "CallManager", fp="cm-sub1", days=10))
    nodes = [
        mk.node("hq", HQ[0], role="publisher"),
        mk.node("hq", HQ[1]),
        mk.node(
            "hq",
            HQ[2],
            state="unreachable" if down else "ok",
            error=f"{HQ[2]}: cannot connect to 127.0.0.1 port 2224 (refused)." if down else None,
        ),
    ]
    if down:
        certs = [c for c in certs if c.node != HQ[2]]
    return ScanResult(mk.NOW, tuple(nodes), tuple(certs))


def test_table_merges_multi_server_and_trust_rows(mk: SimpleNamespace) -> None:
    text = render_table(_estate(mk))
    lines = text.splitlines()
    header = next(ln for ln in lines if ln.startswith("CLUSTER"))
    for col in ("NODE", "UNIT", "STORE", "CN", "ISSUER", "EXPIRES", "DAYS", "STATUS"):
        assert col in header
    tomcat = [ln for ln in lines if "cucm-pub-ms.hq" in ln]
    assert len(tomcat) == 1 and "all 3 nodes" in tomcat[0] and "multi-server" in tomcat[0]
    root = [ln for ln in lines if "Lab Root CA" in ln and "tomcat-trust" in ln]
    assert len(root) == 1 and "all 3 nodes" in root[0]
    # worst first, and the status is a word, not a colour
    first = lines[lines.index(header) + 1]
    assert "CallManager" in first and "CRITICAL" in first and "cucm-sub1" in first
    assert "\x1b[" not in text
    assert "3 certificates (7 node rows): 0 expired, 1 critical, 0 warning, 2 ok." in text


def test_table_lists_unreadable_nodes_and_fits_80_columns(mk: SimpleNamespace) -> None:
    text = render_table(_estate(mk, down=True), width=80)
    assert all(len(ln) <= 80 for ln in text.splitlines()), text
    assert "Nodes not fully read:" in text
    assert "UNREACHABLE" in text and "port 2224" in " ".join(text.split())
    assert "1 of 3 nodes not fully read" in " ".join(text.split())
    # with two of three nodes read, the tomcat row names both rather than "all 3"
    assert "on cucm-pub,cucm-sub1" in text


def test_table_colour_only_repeats_the_word(mk: SimpleNamespace) -> None:
    text = render_table(_estate(mk), color=True)
    plain = re.sub(r"\x1b\[[0-9;]*m", "", text)
    assert "\x1b[31m" in text
    assert plain == render_table(_estate(mk))


def test_restart_pending_and_served_rows(mk: SimpleNamespace) -> None:
    installed = mk.cert("hq", HQ[0], "tomcat", fp="new", days=700)
    served = mk.cert("hq", HQ[0], "tomcat", fp="old", days=5, source="tls", serial="99")
    nodes = (mk.node("hq", HQ[0], role="publisher", served={"tomcat": "old"}),)
    result = ScanResult(mk.NOW, nodes, (installed, served))
    merged = merge(result.certificates, result.nodes)
    assert [m.record.fingerprint_sha256 for m in merged] == ["old", "new"]
    assert merged[1].served_differs == (HQ[0],)
    text = render_table(result)
    assert "restart pending" in text and "served (TLS)" in text
    assert result.exit_code() == 2  # the certificate clients still see expires in 5 days


def test_exit_codes(mk: SimpleNamespace) -> None:
    ok = ScanResult(mk.NOW, (mk.node("hq", HQ[0]),), (mk.cert("hq", HQ[0], "tomcat", days=300),))
    assert ok.exit_code() == 0
    warn = ScanResult(mk.NOW, ok.nodes, (mk.cert("hq", HQ[0], "tomcat", days=30),))
    assert warn.exit_code() == 1
    expired = ScanResult(mk.NOW, ok.nodes, (mk.cert("hq", HQ[0], "tomcat", days=-3),))
    assert expired.exit_code() == 2
    assert expired.certificates[0].status == "expired"
    assert _estate(mk, down=True).exit_code() == 3
    partial = ScanResult(mk.NOW, (mk.node("hq", HQ[0], state="partial", reachable=True, error="x"),), ())
    assert partial.exit_code() == 3
    assert ScanResult(mk.NOW, (), ()).exit_code() == 0


def test_renewal_due_only_for_short_lived(mk: SimpleNamespace) -> None:
    short = mk.cert("hq", HQ[0], "tomcat", days=25, lifetime=90)
    assert short.renewal_due and short.status == "warning"
    long = mk.cert("hq", HQ[0], "tomcat", days=400, lifetime=1825)
    assert not long.renewal_due
    assert renewal_due(long.not_before, long.not_after, mk.NOW, short_lived_days=None)
    fresh = mk.cert("hq", HQ[0], "tomcat", days=80, lifetime=90)
    assert not fresh.renewal_due


def test_csv_is_flat_with_contract_columns(mk: SimpleNamespace) -> None:
    result = _estate(mk)
    rows = list(csv.DictReader(io.StringIO(render_csv(result))))
    assert len(rows) == len(result.certificates)
    first = rows[0]
    for col in (
        "cluster",
        "node",
        "unit",
        "store",
        "subject_cn",
        "issuer_cn",
        "sans",
        "serial",
        "not_after",
        "days_left",
        "status",
        "self_signed",
        "fingerprint_sha256",
        "source",
    ):
        assert col in first
    assert first["not_after"].endswith("Z") and first["self_signed"] in ("true", "false")


def test_json_contract_round_trip(mk: SimpleNamespace, tmp_path) -> None:  # type: ignore[no-untyped-def]
    result = _estate(mk, down=True)
    doc = json.loads(render_json(result))
    assert set(doc) >= {"generated_at", "nodes", "certificates"}
    assert doc["generated_at"] == "2026-11-27T08:00:00Z"
    node_keys = {"cluster", "node", "product", "role", "version", "reachable", "error"}
    assert all(node_keys <= set(n) for n in doc["nodes"])
    cert_keys = {
        "cluster",
        "node",
        "unit",
        "store",
        "subject_cn",
        "issuer_cn",
        "sans",
        "serial",
        "not_after",
        "days_left",
        "status",
        "self_signed",
        "fingerprint_sha256",
        "source",
    }
    assert all(cert_keys <= set(c) for c in doc["certificates"])
    assert all("pem" not in c for c in doc["certificates"])
    again = ScanResult.from_json(doc)
    assert again.exit_code() == result.exit_code() == 3
    save_scan(result, tmp_path / "last.json")
    loaded = load_scan(tmp_path / "last.json")
    assert loaded is not None and loaded.certificates == result.certificates
    assert load_scan(tmp_path / "missing.json") is None


def test_prometheus_textfile(mk: SimpleNamespace) -> None:
    result = _estate(mk, down=True)
    dup = mk.cert("hq", HQ[0], "tomcat", "tomcat-trust", fp="root2", cn="Lab Root CA", serial="77", days=20)
    odd = mk.cert("hq", HQ[0], "tomcat", "tomcat-trust", fp="q", cn='A "quoted"\\CA', serial="78")
    result = ScanResult(result.generated_at, result.nodes, (*result.certificates, dup, odd))
    text = render_prometheus(result)
    samples = [ln for ln in text.splitlines() if ln and not ln.startswith("#")]
    series = [s.rsplit(" ", 1)[0] for s in samples]
    assert len(series) == len(set(series)), "every series must be unique"
    assert "# TYPE ucterm_certificate_not_after_seconds gauge" in text
    line = next(s for s in samples if 'unit="CallManager"' in s)
    cm = next(c for c in result.certificates if c.unit == "CallManager")
    assert line.endswith(f" {int(cm.not_after.timestamp())}")
    for label in ("cluster=", "node=", "unit=", "store=", "cn="):
        assert label in line
    assert f'ucterm_node_scan_success{{cluster="hq",node="{HQ[2]}"}} 0' in text
    assert f'ucterm_node_scan_success{{cluster="hq",node="{HQ[0]}"}} 1' in text
    assert r'cn="A \"quoted\"\\CA"' in text


def test_aged_and_with_nodes(mk: SimpleNamespace) -> None:
    result = _estate(mk)
    result = ScanResult(result.generated_at, result.nodes, result.certificates, thresholds={"hq": (400, 30)})
    later = result.aged(mk.NOW + timedelta(days=5))
    cm = next(c for c in later.certificates if c.unit == "CallManager")
    assert cm.days_left == 5 and cm.status == "critical"
    tomcat = next(c for c in later.certificates if c.unit == "tomcat" and c.store == "own")
    assert tomcat.status == "warning"  # 295 days left against the cluster's 400-day warning
    fresh = mk.cert("hq", HQ[1], "CallManager", fp="cm-new", days=700)
    updated = result.with_nodes([mk.node("hq", HQ[1])], [fresh])
    assert [c.fingerprint_sha256 for c in updated.for_node("hq", HQ[1])] == ["cm-new"]
    assert len(updated.for_node("hq", HQ[0])) == 2 and len(updated.nodes) == 3
