"""The catalog's facts, checked against the reference sections they cite."""

from __future__ import annotations

import pytest

from ucterm import catalog as c

V125 = c.parse_version("12.5.1.14900-63")
V14 = c.parse_version("14.0.1.10000-20")
V14SU1 = c.parse_version("14.0.1.11900-132")
V14SU3 = c.parse_version("14.0.1.13900-155")
V15 = c.parse_version("15.0.1.10000-12")


def services(product: str, version: c.Version | None, unit: str) -> list[str]:
    return [a.service for a in c.restart_services(product, version, unit)]


def test_version_parsing_reads_the_su_from_the_build() -> None:
    assert V14SU3 is not None and (V14SU3.major, V14SU3.minor, V14SU3.su) == (14, 0, 3)
    assert V125 is not None and V125.su == 4 and V125.label == "12.5SU4"
    assert c.parse_version("15") == c.Version(15, 0, 0)
    assert c.parse_version("junk") is None


def test_transport_facts_follow_section_1_and_4() -> None:
    assert not c.rest_api_available(V125) and c.rest_api_available(V14)
    assert c.cli_accepts_multi_san_upload(V14SU1) and not c.cli_accepts_multi_san_upload(V14SU3)
    assert c.identity_upload_needs_rest(V14SU3, True) and not c.identity_upload_needs_rest(V14SU3, False)
    assert not c.cli_generates_multi_server_csr()
    assert c.csr_gen_asks_ou(V14SU1) and not c.csr_gen_asks_ou(V14)


def test_multi_server_support() -> None:
    assert c.multi_server_allowed("cucm", V14, "tomcat")
    assert c.multi_server_allowed("cucm", V125, "CallManager")  # seed note lists it (12.5 guide)
    assert not c.multi_server_allowed("cucm", V14, "CAPF")
    assert not c.multi_server_allowed("cucm", V15, "ipsec")
    assert not c.multi_server_allowed("cucm", V15, "ITLRecovery")
    assert not c.multi_server_allowed("imp", V14, "cup")
    assert c.multi_server_allowed("imp", V14, "cup-xmpp-s2s")
    assert c.multi_server_allowed("cuc", V15, "tomcat") and not c.multi_server_allowed("cuc", V15, "ipsec")
    assert not c.multi_server_allowed("cucm", V125, "TVS")
    assert c.multi_server_cn("cucm-pub.hq.example.com") == "cucm-pub-ms.hq.example.com"
    assert c.multi_server_cn("cucm-pub.hq.example.com", ecdsa=True) == "cucm-pub-EC-ms.hq.example.com"


def test_services_absent_before_14_are_not_restarted() -> None:
    # §1.9: Cisco HAProxy exists from 14; restarting it on 12.5 would fail.
    assert "Cisco HAProxy" not in services("cucm", V125, "CallManager")
    assert "Cisco HAProxy" in services("cucm", V14SU1, "CallManager")
    assert "HAProxy" in c.restart_rule("cucm", V125, "CallManager").note
    assert "Cisco HAProxy" not in services("cucm", V125, "CAPF")


def test_cucm_tomcat_restarts() -> None:
    s14 = services("cucm", V14SU3, "tomcat")
    assert s14[0] == "Cisco Tomcat"
    for svc in ("Cisco AXL Tomcat", "Cisco UDS Tomcat", "Cisco TFTP", "Cisco DRF Master", "Cisco DRF Local"):
        assert svc in s14
    actions = c.restart_services("cucm", V14SU3, "tomcat")
    drf_master = next(a for a in actions if a.service == "Cisco DRF Master")
    assert drf_master.scope == "publisher"
    s125 = services("cucm", V125, "tomcat")
    assert s125[:2] == ["Cisco Tomcat", "Cisco CallManager"] and "Cisco TFTP" in s125
    assert "Cisco AXL Tomcat" not in s125


def test_callmanager_superset_and_commands() -> None:
    s = services("cucm", V14SU3, "CallManager")
    assert set(s) >= {"Cisco HAProxy", "Cisco CallManager", "Cisco CTIManager", "Cisco TVS", "Cisco TFTP"}
    tomcat = c.restart_services("cucm", V14SU3, "tomcat")[0]
    assert tomcat.cli == "utils service restart Cisco Tomcat"


def test_imp_and_cuc_restarts() -> None:
    assert services("imp", V14, "cup-xmpp")[0] == "Cisco XCP Router"
    assert services("imp", V14, "cup") == ["Cisco SIP Proxy", "Cisco Presence Engine"]
    assert services("imp", V14, "cup-xmpp-s2s") == ["Cisco XCP XMPP Federation Connection Manager"]
    assert services("cuc", V15, "tomcat-ECDSA") == services("cuc", V15, "tomcat")
    assert any(a.disruptive for a in c.restart_services("cuc", V15, "tomcat"))


def test_trust_restarts() -> None:
    imp = [a.service for a in c.trust_restart_services("imp", "tomcat-trust")]
    assert imp == ["Cisco Intercluster Sync Agent"]
    cucm = [a.service for a in c.trust_restart_services("cucm", "tomcat-trust", V125)]
    assert "Cisco HAProxy" not in cucm and "Cisco CallManager" in cucm
    assert c.trust_restart_services("cuc", "tomcat-trust") == ()


def test_serving_service() -> None:
    assert c.serving_service("cucm", V14SU3, "tomcat") == "Cisco Tomcat"
    assert c.serving_service("cucm", V125, "CallManager") == "Cisco CallManager"
    assert c.serving_service("cucm", V14SU1, "CallManager") == "Cisco HAProxy"
    assert c.serving_service("imp", V14, "cup-xmpp") == "Cisco XCP Connection Manager"


def test_ha_rule_and_risks() -> None:
    assert all(c.ha_applies("imp", u) for u in ("cup", "cup-xmpp", "cup-xmpp-s2s"))
    assert not c.ha_applies("imp", "tomcat") and not c.ha_applies("cucm", "tomcat")
    notes = " ".join(c.risk_notes("cucm", V14SU3, "CallManager", mixed_mode=True))
    assert "never renew CallManager" in notes and "ITLRecovery" in notes and "TVS" in notes
    assert "utils ctl update CTLFile" in notes and "re-register" in notes
    assert "mixed mode" in " ".join(c.risk_notes("cucm", V14SU3, "TVS"))
    assert "High Availability" in " ".join(c.risk_notes("imp", V14, "cup-xmpp"))
    assert "drops active calls" in " ".join(c.risk_notes("cuc", V15, "tomcat"))


@pytest.mark.parametrize(("unit", "expected"), [
    ("tomcat", ("a.example.com", "b.example.com")),
    ("cup-xmpp", ("a.example.com", "b.example.com", "example.com")),
    ("cup-xmpp-s2s", ("a.example.com", "b.example.com", "example.com", "example.org",
                      "conference.example.com", "*.example.com")),
])
def test_auto_populated_sans_multi_server(unit: str, expected: tuple[str, ...]) -> None:
    got = c.auto_populated_sans(unit, multi_server=True, node_fqdn="a.example.com",
                                cluster_fqdns=("a.example.com", "b.example.com"),
                                presence_domains=("example.com",), email_domains=("example.org",),
                                group_chat_alias="conference.example.com", federation_wildcard=True)
    assert got == expected


def test_auto_populated_sans_single_server_and_no_wildcard_when_off() -> None:
    got = c.auto_populated_sans("cup-xmpp-s2s", multi_server=False, node_fqdn="A.example.com",
                                cluster_fqdns=("a.example.com", "b.example.com"),
                                presence_domains=("example.com",), federation_wildcard=False)
    assert got == ("a.example.com", "example.com")


def test_every_unit_has_a_source_and_a_trust_store() -> None:
    for spec in c.UNITS.values():
        assert spec.source and spec.trust_store.endswith("-trust")
        for product in spec.products:
            rule = c.restart_rule(product, V14SU3, spec.name)
            assert rule.source
