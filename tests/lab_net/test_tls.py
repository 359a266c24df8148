"""TLS ports: each presents the served certificate of its unit (§2.1, §2.2), XMPP behind STARTTLS."""

from __future__ import annotations

import asyncio
import ssl

import pytest

from tests.lab_net.netclient import (
    NodeHttps,
    insecure_context,
    tls_leaf,
    verifying_context,
    xmpp_session,
    xmpp_starttls,
)
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


async def test_held_connections_end_the_moment_their_service_goes_away(fresh_estate: LabEstate) -> None:
    """No polling: the service change itself ends SIP TLS and XMPP connections of the old process."""
    node = fresh_estate.node("imp14-sub1")
    reader, writer = await asyncio.open_connection("127.0.0.1", node.ports["sip_tls"], ssl=insecure_context(),
                                                   server_hostname=node.fqdn)
    try:
        stopping = asyncio.ensure_future(node.stop_service("Cisco SIP Proxy"))
        assert await asyncio.wait_for(reader.read(1), 1.0) == b""
        await stopping
    finally:
        writer.close()
    async with xmpp_session(node, "xmpp_c2s", to="lab.example") as (reader, writer):
        fresh_estate.set_ha("DefaultCluster", False)
        restart = asyncio.ensure_future(node.restart_service("Cisco XCP Connection Manager"))
        text = (await asyncio.wait_for(reader.read(4096), 1.0)).decode()
        # RFC 6120 §4.9.3.19: the server tells the client it is shutting down, then closes the stream.
        assert "<system-shutdown xmlns='urn:ietf:params:xml:ns:xmpp-streams'/>" in text
        assert text.endswith("</stream:stream>")
        assert await asyncio.wait_for(reader.read(1), 1.0) == b""
        await restart
    assert (await xmpp_starttls(node, "xmpp_c2s", to="lab.example")).leaf == node.served_certificate("cup-xmpp")


async def test_certificate_probes_log_no_asyncio_warnings(estate: LabEstate, caplog) -> None:  # type: ignore[no-untyped-def]
    """A client that closes right after the handshake (every probe) must not make asyncio complain."""
    caplog.set_level("DEBUG", logger="asyncio")
    node = estate.node("cucm14-pub")
    for _ in range(6):  # without the fix, every one of them logs the warning
        _, writer = await asyncio.open_connection("127.0.0.1", node.ports["https"], ssl=insecure_context(),
                                                  server_hostname=node.fqdn)
        writer.close()  # close_notify at once, while the server may still be finishing its handshake
        await writer.wait_closed()
    await asyncio.sleep(0.1)
    assert not [r for r in caplog.records if r.name == "asyncio" and r.levelno >= 30], caplog.text


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
