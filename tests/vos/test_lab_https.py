"""certmgr REST, Control Center SOAP, AXL and the TLS probe against the embedded lab's HTTPS/TLS ports."""

from __future__ import annotations

import pytest

from tests.vos.lab import Lab
from ucterm import pki
from ucterm.vos import probe_node_unit
from ucterm.vos.errors import NotDeployable, TlsVerifyError, VosImportError

PUB = "cucm14-pub.lab.example"
SUB1 = "cucm14-sub1.lab.example"
BRANCH = "cucm125-pub.lab.example"
IMP = "imp14-pub.lab.example"
IMP_SUB = "imp14-sub1.lab.example"


def test_every_lab_node_listens_on_https(lab: Lab) -> None:
    """The tests below talk to these ports; a lab without them fails here, it does not skip."""
    for node in lab.estate.nodes:
        assert "https" in node.port_handlers, node.fqdn


async def test_certmgr_read(lab: Lab) -> None:
    node = lab.estate.node(PUB)
    async with lab.session(PUB) as s:
        rest = s.rest
        assert rest is not None
        assert await rest.identity("tomcat") == node.identity("tomcat").cert
        trust = await rest.trust("tomcat")
        assert lab.estate.ca.root in trust
        snapshot = await rest.snapshot()
        assert node.identity("tomcat").cert in [e.certificate for e in snapshot]
    async with lab.session(BRANCH) as s:
        assert s.rest is None  # 12.5: no certmgr (§4.1)


async def test_certmgr_csr_trust_and_identity_upload(lab: Lab) -> None:
    node = lab.estate.node(SUB1)
    async with lab.session(SUB1) as s:
        rest = s.rest
        assert rest is not None
        csr = await rest.generate_csr("tomcat", common_name=SUB1, alt_names=[SUB1])
        leaf_pem, chain = lab.estate.ca.sign(pki.pem(csr))
        await rest.upload_trust(["tomcat"], list(reversed(chain)), "Trust Certificate")
        await rest.upload_identity("tomcat", [leaf_pem, *chain[:1]])
        leaf = pki.load_bundle(leaf_pem.encode()).certificates[0]
        assert node.identity("tomcat").cert == leaf
        assert await rest.identity("tomcat") == leaf
        with pytest.raises(VosImportError) as info:
            await rest.upload_identity("tomcat", [leaf_pem])  # the CSR was consumed by the upload
        assert info.value.code in ("no-csr", "key-mismatch")


async def test_certmgr_multi_server_csr(lab: Lab) -> None:
    cluster_fqdns = [n.fqdn for n in lab.estate.cluster("hq").nodes]
    async with lab.session(PUB) as s:
        assert s.transport_for("csr-multi") == "rest" and s.rest is not None
        csr = await s.rest.generate_csr(
            "tomcat", distribution="multi-server", common_name="cucm14-pub-ms.lab.example", alt_names=cluster_fqdns
        )
    assert set(cluster_fqdns) <= pki.sans_of(csr)


async def test_tls_verification_and_pinning(lab: Lab) -> None:
    async with lab.session(PUB, ca_bundle=None) as s:
        assert s.rest is not None
        with pytest.raises(TlsVerifyError) as info:
            await s.rest.identity("tomcat")
        assert info.value.certificate is not None
        await s.accept_tls_certificate(info.value.certificate)
        assert await s.rest.identity("tomcat") == info.value.certificate


async def test_control_center(lab: Lab) -> None:
    async with lab.session(PUB) as s:
        statuses = {x.name: x for x in await s.control_center.service_status()}
        assert "Cisco CallManager" in statuses
        with pytest.raises(NotDeployable, match="Cisco Tomcat"):
            await s.control_center.restart(["Cisco Tomcat"])
        restarted = await s.control_center.restart(["Cisco CallManager"])
        assert [x.name for x in restarted] == ["Cisco CallManager"]


async def test_axl_discovery_and_ha(lab: Lab) -> None:
    prg_name = lab.estate.cluster("presence").prg.name  # type: ignore[union-attr]
    async with lab.session(PUB) as s:
        names = {n.name for n in await s.axl.list_process_nodes()}
        assert PUB in names or "cucm14-pub" in names
        prg = await s.axl.get_presence_redundancy_group(prg_name)
        assert prg.ha_enabled
        await s.axl.set_ha(prg_name, False)
        assert not (await s.axl.get_presence_redundancy_group(prg_name)).ha_enabled
    async with lab.session(IMP) as s:
        [status] = await s.cli.ha_status()
        assert not status.ha_enabled


async def test_probe_every_port_type(lab: Lab) -> None:
    for fqdn, unit, kind in (
        (PUB, "tomcat", "tls"),
        (PUB, "CallManager", "tls"),
        (IMP, "cup", "tls"),
        (IMP, "cup-xmpp", "xmpp-c2s"),
        (IMP_SUB, "cup-xmpp-s2s", "xmpp-s2s"),
    ):
        target = lab.target(fqdn)
        results = await probe_node_unit(target, unit)
        assert results, (fqdn, unit)
        served = lab.estate.node(fqdn).served_certificate(unit)
        for result in results:
            assert result.ok, (fqdn, unit, result.error)
            assert result.kind == kind and result.leaf == served
            assert result.verified is True, (fqdn, unit, result.verify_error)
