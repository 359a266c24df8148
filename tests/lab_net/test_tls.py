"""TLS ports: each presents the served certificate of its unit (§2.1, §2.2), XMPP behind STARTTLS."""

from __future__ import annotations

import asyncio
import ssl

import pytest

from tests.lab_net.netclient import NodeHttps, tls_leaf, verifying_context, xmpp_starttls
from ucterm.lab import LabEstate
from ucterm.lab.network import endpoints_of, install_endpoints

#: Port → unit per product, from the reference's "Used by" columns (§2.1, §2.2).
EXPECTED = {
    "cucm": {"https": "tomcat", "sip_tls": "CallManager"},
    "imp": {"https": "tomcat", "sip_tls": "cup", "xmpp_c2s": "cup-xmpp", "xmpp_s2s": "cup-xmpp-s2s"},
    "cuc": {"https": "tomcat"},
}


async def test_every_port_presents_its_units_served_certificate(estate: LabEstate) -> None:
    seen = 0
    for node in estate.nodes:
        for port, unit in EXPECTED[node.product].items():
            if port.startswith("xmpp"):
                domain = node.cluster_ref.presence_domains[0]
                leaf = (await xmpp_starttls(node, port, to=domain)).leaf
            else:
                leaf = await tls_leaf(node, port)
            assert leaf == node.served_certificate(unit), (node.fqdn, port)
            seen += 1
    assert seen == 3 * 2 + 2 * 2 + 2 * 4 + 2  # every TLS port of the demo estate


async def test_sni_does_not_select_another_certificate(estate: LabEstate) -> None:
    node = estate.node("cucm14-sub1")
    assert await tls_leaf(node, "https", sni="something-else.example") == node.served_certificate("tomcat")


async def test_certificates_verify_by_fqdn_with_the_written_lab_ca_bundle(estate: LabEstate, tmp_path) -> None:
    estate.write_inventory(tmp_path / "inventory.toml")
    bundle = ssl.create_default_context(cafile=str(tmp_path / "lab-ca.pem"))
    ca_signed = estate.node("cucm14-pub")  # multi-server tomcat signed by the lab's issuing CA
    assert await tls_leaf(ca_signed, "https", context=bundle) == ca_signed.served_certificate("tomcat")
    self_signed = estate.node("cucm125-sub1")  # self-signed tomcat, published in the bundle
    assert await tls_leaf(self_signed, "https", context=bundle) == self_signed.served_certificate("tomcat")
    with pytest.raises(ssl.SSLCertVerificationError):
        await tls_leaf(ca_signed, "https", sni="not-this-node.lab.example", context=bundle)
    imp = estate.node("imp14-sub1")  # multi-server cup-xmpp, SANs = IM&P nodes + presence domain
    result = await xmpp_starttls(imp, "xmpp_c2s", to="lab.example", context=bundle, server_hostname=imp.fqdn)
    assert result.leaf == imp.served_certificate("cup-xmpp")
    async with NodeHttps(estate, ca_signed, auth=(estate.credentials.os_user, estate.credentials.os_password),
                         verify=bundle) as api:
        assert (await api.get("/platformcom/api/v1/certmgr/config/snapshot/server")).status_code == 200


async def test_xmpp_streams_follow_rfc_6120(estate: LabEstate) -> None:
    node = estate.node("imp14-pub")
    result = await xmpp_starttls(node, "xmpp_c2s", to="lab.example")
    assert "xmlns='jabber:client'" in result.header and "from='lab.example'" in result.header
    assert "<starttls xmlns='urn:ietf:params:xml:ns:xmpp-tls'><required/></starttls>" in result.features
    assert "urn:ietf:params:xml:ns:xmpp-sasl" in result.after_tls  # the stream restarts over TLS
    s2s = await xmpp_starttls(node, "xmpp_s2s", to="conference.lab.example")
    assert "xmlns='jabber:server'" in s2s.header and s2s.leaf == node.served_certificate("cup-xmpp-s2s")
    wrong_ns = await xmpp_starttls(node, "xmpp_c2s", to="lab.example", content_ns="jabber:server")
    assert wrong_ns.leaf is None and "<invalid-namespace" in wrong_ns.after_tls
    unknown = await xmpp_starttls(node, "xmpp_c2s", to="elsewhere.example")
    assert unknown.leaf is None and "<host-unknown" in unknown.after_tls
    no_tls = await xmpp_starttls(node, "xmpp_c2s", to="lab.example",
                                 first_element="<auth xmlns='urn:ietf:params:xml:ns:xmpp-sasl' mechanism='PLAIN'/>")
    assert no_tls.leaf is None and "<policy-violation" in no_tls.after_tls


async def test_a_port_whose_service_is_not_running_gives_no_tls(fresh_estate: LabEstate) -> None:
    node = fresh_estate.node("cucm14-sub1")  # 14SU3: HAProxy fronts CallManager's TLS (§3.1)
    served = node.served_certificate("CallManager")
    await node.stop_service("Cisco HAProxy")
    with pytest.raises((ssl.SSLError, ConnectionError, asyncio.IncompleteReadError)):
        await tls_leaf(node, "sip_tls")
    await node.start_service("Cisco HAProxy")
    assert await tls_leaf(node, "sip_tls") == served


async def test_a_node_taken_down_refuses_then_serves_again(fresh_estate: LabEstate) -> None:
    node = fresh_estate.node("cuc15-pub")
    await fresh_estate.take_down(node.fqdn)
    with pytest.raises(ConnectionRefusedError):
        await tls_leaf(node, "https")
    await fresh_estate.bring_up(node.fqdn)
    assert await tls_leaf(node, "https", context=verifying_context(fresh_estate)) == node.served_certificate("tomcat")


async def test_install_endpoints_is_idempotent(estate: LabEstate) -> None:
    before = {n.fqdn: endpoints_of(n) for n in estate.nodes}
    install_endpoints(estate)
    assert all(endpoints_of(n) is before[n.fqdn] is not None for n in estate.nodes)
    assert set(estate.node("cuc15-sub").port_handlers) == {"https"}
    assert set(estate.node("imp14-sub1").port_handlers) == {"https", "sip_tls", "xmpp_c2s", "xmpp_s2s"}
