"""Plans are pure: inventory + scan + options → steps, each with node, transport and commands."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime

import pytest

from ucterm.errors import InventoryError
from ucterm.inventory import Inventory
from ucterm.renewal.model import Plan, PlanOptions
from ucterm.renewal.plan import PlanError, build_plan, defaults_for, render
from ucterm.scan.model import CertRecord, NodeResult, ScanResult

NOW = datetime(2026, 11, 27, tzinfo=UTC)


def kinds(plan: Plan) -> list[str]:
    return [s.kind for s in plan.steps]


def test_tomcat_multi_server_on_cucm14(inventory: Inventory) -> None:
    plan = build_plan(inventory, None, PlanOptions("hq", "tomcat", multi_server=True))
    assert plan.csr_nodes == ("cucm-pub.hq.example.com",)
    assert plan.nodes[0] == "cucm-pub.hq.example.com" and len(plan.nodes) == 3
    gen = plan.step("generate_csr:cucm-pub.hq.example.com")
    assert gen.transport == "rest" and '"distribution": "multi-server"' in gen.commands[0]
    assert '"commonName": "cucm-pub-ms.hq.example.com"' in gen.commands[0]
    # VOS auto-populates a CUCM multi-server tomcat CSR with the IM&P nodes too (§2.1).
    imp = ("imp-pub.hq.example.com", "imp-sub.hq.example.com")
    assert gen.csr is not None and gen.csr.alt_names == (
        "cucm-pub.hq.example.com", "cucm-sub1.hq.example.com", "cucm-sub2.hq.example.com", *imp)
    assert plan.linked_nodes == imp
    # 14SU3 refuses multi-SAN over the CLI: uploads go over REST.
    assert plan.step("upload_identity:cucm-pub.hq.example.com").transport == "rest"
    restarts = plan.steps_of("restart")
    assert [s.node for s in restarts] == [*plan.nodes, *imp]  # publisher first, one node at a time, IM&P last
    pub_services = [r.service for r in restarts[0].restarts]
    sub_services = [r.service for r in restarts[1].restarts]
    assert pub_services[0] == "Cisco Tomcat" and restarts[0].restarts[0].serving
    assert "Cisco DRF Master" in pub_services and "Cisco DRF Master" not in sub_services
    assert restarts[3].restarts[0].service == "Cisco Tomcat"
    assert kinds(plan)[-5:] == ["verify"] * 5
    assert [s.node for s in plan.steps_of("preflight")] == [*plan.nodes, *imp]
    assert "also covers (IM&P, restarted and verified too): imp-pub.hq.example.com" in render(plan)
    order = kinds(plan)
    assert order.index("upload_trust") < order.index("upload_identity") < order.index("restart")
    assert "ha_disable" not in order


def test_callmanager_single_server_on_125_uses_cli(inventory: Inventory) -> None:
    plan = build_plan(inventory, None, PlanOptions("branch", "CallManager"))
    assert plan.csr_nodes == plan.nodes == ("cm125-pub.branch.example.com", "cm125-sub.branch.example.com")
    gen = plan.step("generate_csr:cm125-sub.branch.example.com")
    assert gen.transport == "cli" and gen.commands == [
        "set csr gen CallManager    (no question before 14SU1: the CSR carries the OU from show web-security)",
        "show csr own CallManager"]
    up = plan.step("upload_identity:cm125-pub.branch.example.com")
    assert up.transport == "cli" and up.commands[0].startswith("set cert import own CallManager")
    services = [r.service for r in plan.step("restart:cm125-pub.branch.example.com").restarts]
    assert "Cisco HAProxy" not in services and "Cisco CallManager" in services
    text = " ".join(plan.risks)
    assert "never renew CallManager" in text and "mixed mode" in text
    assert plan.step("verify:cm125-pub.branch.example.com").commands[0].endswith("= the new one")


def test_cup_xmpp_on_imp_toggles_ha_over_axl(inventory: Inventory) -> None:
    plan = build_plan(inventory, None, PlanOptions("presence", "cup-xmpp", multi_server=True))
    order = kinds(plan)
    idx = order.index
    assert idx("ha_disable") < idx("restart") < idx("ha_enable") < idx("verify")
    off = plan.step("ha_disable:imp-pub.hq.example.com")
    assert off.transport == "axl" and "haEnabled=false" in off.commands[0]
    assert plan.ha_group == "DefaultCUPSubcluster"
    gen = plan.step("generate_csr:imp-pub.hq.example.com")
    assert gen.csr is not None and "example.com" in gen.csr.alt_names
    assert "utils ha status" in plan.step("preflight:imp-pub.hq.example.com").commands


def test_ha_is_manual_without_axl(inventory: Inventory) -> None:
    clusters = tuple(replace(c, cucm_cluster=None) if c.name == "presence" else c for c in inventory.clusters)
    plan = build_plan(replace(inventory, clusters=clusters), None, PlanOptions("presence", "cup"))
    assert plan.step("ha_disable:imp-pub.hq.example.com").transport == "manual"
    assert "by hand" in plan.step("ha_disable:imp-pub.hq.example.com").commands[0]
    assert any("by hand" in w for w in plan.warnings)


def test_cup_xmpp_s2s_sans(inventory: Inventory) -> None:
    opts = defaults_for(inventory, None, "presence", "cup-xmpp-s2s", True)
    req = opts.csr["imp-pub.hq.example.com"]
    assert req.common_name == "imp-pub-ms.hq.example.com"
    assert req.alt_names == ("imp-pub.hq.example.com", "imp-sub.hq.example.com", "example.com",
                             "mail.example.com", "conference.example.com", "*.example.com")


def test_tomcat_on_unity_connection(inventory: Inventory) -> None:
    plan = build_plan(inventory, None, PlanOptions("voicemail", "tomcat"))
    services = [r.service for r in plan.step("restart:cuc-sub.hq.example.com").restarts]
    assert "Connection Conversation Manager" in services
    assert plan.step("restart:cuc-sub.hq.example.com").risky


def test_refusals(inventory: Inventory) -> None:
    with pytest.raises(PlanError, match="GUI"):
        build_plan(inventory, None, PlanOptions("branch", "tomcat", multi_server=True))
    with pytest.raises(PlanError, match="no multi-server"):
        build_plan(inventory, None, PlanOptions("hq", "ipsec", multi_server=True))
    with pytest.raises(PlanError, match="no cup-xmpp certificate"):
        build_plan(inventory, None, PlanOptions("hq", "cup-xmpp"))
    with pytest.raises(PlanError, match="drop --node"):
        build_plan(inventory, None, PlanOptions("hq", "tomcat", multi_server=True, nodes=("cucm-sub1",)))
    with pytest.raises(InventoryError, match="no node"):
        build_plan(inventory, None, PlanOptions("hq", "tomcat", nodes=("nope",)))


def test_node_filter_and_case_insensitive_unit(inventory: Inventory) -> None:
    plan = build_plan(inventory, None, PlanOptions("hq", "TOMCAT", nodes=("cucm-sub2",)))
    assert plan.unit == "tomcat" and plan.nodes == ("cucm-sub2.hq.example.com",)
    assert all(s.node == "cucm-sub2.hq.example.com" for s in plan.steps)
    # DRF Master is a publisher service: not restarted when only a subscriber is renewed.
    assert "Cisco DRF Master" not in [r.service for r in plan.steps_of("restart")[0].restarts]


def _record(node: str, cn: str, sans: tuple[str, ...], self_signed: bool = False) -> CertRecord:
    return CertRecord(cluster="hq", node=node, unit="tomcat", store="own", subject_cn=cn, issuer_cn="CA",
                      sans=sans, serial="01", not_before=NOW, not_after=NOW, days_left=10, status="critical",
                      self_signed=self_signed, fingerprint_sha256="ab", source="cli")


def test_defaults_prefill_from_the_current_certificate(inventory: Inventory) -> None:
    scan = ScanResult(NOW, (NodeResult("hq", "cucm-pub.hq.example.com", "cucm", "publisher",
                                       "14.0.1.13900-155", True),),
                      (_record("cucm-pub.hq.example.com", "cucm-pub-ms.hq.example.com",
                               ("cucm-pub.hq.example.com", "cucm-sub1.hq.example.com", "hq.example.com",
                                "10.0.0.1")),
                       _record("cucm-sub1.hq.example.com", "CUCM-SUB1", ("cucm-sub1.hq.example.com",),
                               self_signed=True)))
    multi = defaults_for(inventory, scan, "hq", "tomcat", True).csr["cucm-pub.hq.example.com"]
    assert multi.common_name == "cucm-pub-ms.hq.example.com"
    assert multi.alt_names[-1] == "hq.example.com" and "10.0.0.1" not in multi.alt_names
    single = defaults_for(inventory, scan, "hq", "tomcat", False).csr
    assert single["cucm-sub1.hq.example.com"].common_name == "cucm-sub1"
    # A single-server CSR never carries another node's name from a multi-server certificate.
    assert "cucm-sub1.hq.example.com" not in single["cucm-pub.hq.example.com"].alt_names


def test_scan_versions_win_over_inventory(inventory: Inventory) -> None:
    scan = ScanResult(NOW, (NodeResult("branch", "cm125-pub.branch.example.com", "cucm", "publisher",
                                       "14.0.1.13900-155", True),), ())
    plan = build_plan(inventory, scan, PlanOptions("branch", "tomcat", nodes=("cm125-pub",)))
    assert plan.step("generate_csr:cm125-pub.branch.example.com").transport == "rest"


def test_plan_round_trips_and_renders(inventory: Inventory) -> None:
    plan = build_plan(inventory, None, PlanOptions("presence", "cup-xmpp", multi_server=True,
                                                   recent_units={"TVS": "job-1"}))
    assert Plan.from_dict(plan.to_dict()) == plan
    text = render(plan, "JOB1")
    assert "set csr gen" not in text and "POST https://imp-pub.hq.example.com:443" in text
    assert "JOB1/csr-imp-pub.hq.example.com.pem" in text and "[RISKY]" in text


def test_never_together_warning(inventory: Inventory) -> None:
    plan = build_plan(inventory, None, PlanOptions("hq", "CallManager", recent_units={"TVS": "job-7"}))
    assert plan.risks[0].startswith("TVS was renewed on this cluster by job job-7")


def test_read_only_is_a_warning_for_display() -> None:
    """read_only in [defaults] reaches every cluster, and a cluster may lift it for itself."""
    from ucterm.inventory import parse_inventory

    from .conftest import ESTATE

    text = ESTATE.replace('app_user = "axladmin"', 'app_user = "axladmin"\nread_only = true', 1)
    text = text.replace('name = "branch"', 'name = "branch"\nread_only = false', 1)
    ro = parse_inventory(text)
    assert any("read-only" in w for w in build_plan(ro, None, PlanOptions("hq", "tomcat")).warnings)
    assert not any("read-only" in w for w in build_plan(ro, None, PlanOptions("branch", "tomcat")).warnings)


def test_multi_server_sans_reaching_another_cluster_are_named(inventory: Inventory) -> None:
    """A SAN naming a node the plan does not cover (here: a Unity Connection node typed into the
    SANs by hand) is warned about: VOS installs the certificate there, the job restarts nothing there."""
    opts = defaults_for(inventory, None, "hq", "tomcat", True)
    req = opts.csr["cucm-pub.hq.example.com"]
    other = "cuc-pub.hq.example.com"
    opts = replace(opts, csr={"cucm-pub.hq.example.com": replace(req, alt_names=(*req.alt_names, other))})
    plan = build_plan(inventory, None, opts)
    assert any(f"{other} too" in w for w in plan.warnings)
    assert not any("imp-pub.hq.example.com too" in w for w in plan.warnings)  # covered by the plan
    assert other in plan.step("generate_csr:cucm-pub.hq.example.com").commands[0]


def test_linked_imp_nodes_follow_the_sans(inventory: Inventory) -> None:
    """Only the IM&P nodes left in the SANs are restarted and verified; without cucm_cluster, none."""
    opts = defaults_for(inventory, None, "hq", "tomcat", True)
    req = opts.csr["cucm-pub.hq.example.com"]
    trimmed = tuple(a for a in req.alt_names if a != "imp-sub.hq.example.com")
    plan = build_plan(inventory, None, replace(opts, csr={"cucm-pub.hq.example.com": replace(req, alt_names=trimmed)}))
    assert plan.linked_nodes == ("imp-pub.hq.example.com",)
    assert "verify:imp-sub.hq.example.com" not in {s.id for s in plan.steps}
    unlinked = replace(inventory, clusters=tuple(replace(c, cucm_cluster=None) for c in inventory.clusters))
    plan = build_plan(unlinked, None, PlanOptions("hq", "tomcat", multi_server=True))
    assert plan.linked_nodes == () and len(plan.steps_of("verify")) == 3
    single = build_plan(inventory, None, PlanOptions("hq", "tomcat"))
    assert single.linked_nodes == ()
    assert Plan.from_dict(single.to_dict()) == single


def test_every_step_kind_has_a_handler() -> None:
    """The runner's map from step kind to what it does is complete (no kind fails at run time)."""
    from ucterm.renewal.model import STEP_KINDS
    from ucterm.renewal.steps import StepWorker

    assert set(StepWorker(None).handlers) == set(STEP_KINDS)  # type: ignore[arg-type]
