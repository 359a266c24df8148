"""The table's view model: scope, filter (with `!`), identity/all stores, sort. No Textual."""

from __future__ import annotations

import pytest

from ucterm.scan.model import ScanResult
from ucterm.tui.session import Session
from ucterm.tui.view import ESTATE, Filter, Scope, cert_key, certificates, nodes_text, status_text


@pytest.fixture
def s(session: Session) -> ScanResult:
    result = session.current_scan()
    assert result is not None
    return result


def test_estate_is_worst_first_and_merges_multi_server(s: ScanResult) -> None:
    rows = certificates(s)
    assert (rows[0].cluster, rows[0].unit, rows[0].status) == ("branch", "tomcat", "expired")
    tomcat_hq = next(r for r in rows if r.cluster == "hq" and r.unit == "tomcat")
    assert len(tomcat_hq.nodes) == 3 and tomcat_hq.served_differs == ("cucm-sub2.hq.example.com",)
    assert nodes_text(tomcat_hq.nodes) == "cucm-pub +2"
    assert status_text("expired", -3) == "✖ EXPIRED" and status_text("critical", 12) == "▲ 12d"


def test_scope_node_keeps_the_cluster_wide_merge(s: ScanResult) -> None:
    rows = certificates(s, Scope("node", "hq", "cucm-sub1.hq.example.com"))
    assert {r.cluster for r in rows} == {"hq"}
    assert any(r.unit == "tomcat" and len(r.nodes) == 3 for r in rows)
    assert all("cucm-sub1.hq.example.com" in r.nodes for r in rows)


def test_filter_terms_and_negation(s: ScanResult) -> None:
    tomcat = certificates(s, text_filter=Filter("tomcat"))
    assert tomcat and all("tomcat" in r.unit for r in tomcat)
    not_tomcat = certificates(s, text_filter=Filter("!tomcat"))
    assert not_tomcat and all("tomcat" not in r.unit for r in not_tomcat)
    assert len(tomcat) + len(not_tomcat) == len(certificates(s))
    assert [r.cluster for r in certificates(s, text_filter=Filter("expired"))] == ["branch"]
    assert certificates(s, text_filter=Filter("tomcat hq !ecdsa"))[0].cluster == "hq"
    assert certificates(s, text_filter=Filter("restart-pending"))[0].unit == "tomcat"


def test_identity_only_and_all_stores(s: ScanResult) -> None:
    identity = certificates(s)
    everything = certificates(s, identity_only=False)
    assert all(r.store == "own" for r in identity)
    assert any(r.store == "tomcat-trust" for r in everything)
    # A trust certificate held by every node of a cluster is one row.
    root = [r for r in everything if r.cluster == "hq" and r.store == "tomcat-trust"
            and r.record.subject_cn == "Example Root CA"]
    assert len(root) == 1 and len(root[0].nodes) == 3


def test_sort_and_reverse(s: ScanResult) -> None:
    by_cn = certificates(s, sort="cn")
    assert [r.record.subject_cn.lower() for r in by_cn] == sorted(r.record.subject_cn.lower() for r in by_cn)
    assert certificates(s, sort="status", reverse=True)[-1].status == "expired"
    keys = {cert_key(r) for r in certificates(s, ESTATE)}
    assert len(keys) == len(certificates(s))


def test_expiring_only(s: ScanResult) -> None:
    rows = certificates(s, expiring_only=True)
    assert rows and all(r.status != "ok" for r in rows)


def test_current_scan_uses_each_clusters_thresholds(session) -> None:  # type: ignore[no-untyped-def]
    """A cluster's own warn_days/crit_days classify its certificates; the others keep the defaults."""
    from dataclasses import replace

    inv = session.inventory
    hq = inv.cluster("hq")
    strict = replace(hq, settings=replace(hq.settings, warn_days=100_000, crit_days=90_000))
    session.inventory = replace(inv, clusters=tuple(strict if c.name == "hq" else c for c in inv.clusters))
    scan = session.current_scan()
    hq_live = [c for c in scan.certificates if c.cluster == "hq" and c.days_left >= 0]
    assert hq_live and all(c.status == "critical" for c in hq_live)
    assert any(c.status == "ok" for c in scan.certificates if c.cluster != "hq")
    assert session.current_scan() is scan  # kept until the scan, the inventory or the minute changes


async def test_a_node_that_gets_its_tab_late_keeps_its_first_lines() -> None:
    """A node the plan did not name (the CUCM publisher answering AXL for an IM&P job) gets a tab
    when it first speaks, with those first lines in it (they used to reach only "all")."""
    from textual.app import App, ComposeResult

    from ucterm.tui.widgets.renewal.logs import NodeLogs, _tab_id

    class Host(App[None]):
        def compose(self) -> ComposeResult:
            yield NodeLogs(("imp-pub.hq.example.com",), id="logs")

    app = Host()
    async with app.run_test() as pilot:
        logs = app.query_one(NodeLogs)
        logs.write("cucm-pub.hq.example.com", "sent", "AXL getPresenceRedundancyGroup")
        await pilot.pause()
        await pilot.pause()
        assert _tab_id("cucm-pub.hq.example.com") in [t.id for t in logs.tabs.query("Tab")]
        lines = logs.lines("cucm-pub.hq.example.com")
        assert any("AXL getPresenceRedundancyGroup" in line for line in lines)
        logs.write("cucm-pub.hq.example.com", "received", "haEnabled true")
        await pilot.pause()
        assert any("haEnabled true" in line for line in logs.lines("cucm-pub.hq.example.com"))
