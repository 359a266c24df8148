"""certmgr REST, Control Center SOAP, AXL and TLS trust over real loopback TLS (tests/vos/fakehttps.py)."""

from __future__ import annotations

import base64
import json
from collections.abc import AsyncIterator
from dataclasses import replace
from pathlib import Path

import pytest

from tests.vos.certs import make_cert, make_csr, pem
from tests.vos.fakehttps import HttpsServer, Pki, Reply, Request, make_pki
from ucterm.credentials import CredentialStore
from ucterm.events import Event, TranscriptLine
from ucterm.inventory import Settings
from ucterm.vos import NodeSession, NodeTarget, PinStore
from ucterm.vos.errors import (
    LoginRefused,
    NotDeployable,
    RestError,
    TlsVerifyError,
    UnsafeXml,
    VosImportError,
)

FQDN = "cucm-pub.hq.example.com"
PASSWORD = "Os-Pa55word!"
APP_PASSWORD = "App-Pa55word!"
CM = "/platformcom/api/v1/certmgr/config"


@pytest.fixture
async def pki(tmp_path: Path) -> Pki:
    return make_pki(tmp_path / "pki", FQDN)


@pytest.fixture
async def server(pki: Pki) -> AsyncIterator[HttpsServer]:
    srv = await HttpsServer(pki).start()
    yield srv
    await srv.stop()


def target(port: int, *, ca_bundle: Path | None, version: str = "14.0.1.13900-155", fqdn: str = FQDN) -> NodeTarget:
    from ucterm import catalog

    settings = Settings(
        os_user="admin", os_password=PASSWORD, app_user="axladmin", app_password=APP_PASSWORD, ca_bundle=ca_bundle
    )
    ports = {**catalog.DEFAULT_PORTS, "rest": port, "https": port}
    return NodeTarget(
        cluster="hq",
        product="cucm",
        version=catalog.parse_version(version),
        fqdn=fqdn,
        address="127.0.0.1",
        ports=ports,
        role="publisher",
        settings=settings,
    )


def session(server: HttpsServer, events: list[Event] | None = None, **kw: object) -> NodeSession:
    t = target(server.port, ca_bundle=kw.pop("ca_bundle", server.pki.ca_file))  # type: ignore[arg-type]
    return NodeSession(t, CredentialStore(), events.append if events is not None else None, **kw)  # type: ignore[arg-type]


# ------------------------------------------------------------------------------------------------
# certmgr


async def test_certmgr_requests_match_the_reference(server: HttpsServer) -> None:
    csr = make_csr(FQDN)
    leaf = make_cert(FQDN)
    server.routes[("POST", CM + "/csr")] = lambda r: Reply(200, {"csr": pem(csr)})
    server.routes[("GET", CM + "/snapshot/server")] = lambda r: Reply(
        200, {"certificates": [{"service": "tomcat", "type": "identity", "certificate": pem(leaf)}]}
    )
    server.routes[("POST", CM + "/identity/certificates")] = lambda r: Reply(201, {"message": "ok"})
    server.routes[("POST", CM + "/trust/certificates")] = lambda r: Reply(200, {})
    server.routes[("GET", CM + "/identity/certificate")] = lambda r: Reply(200, {"certificate": pem(leaf)})
    server.routes[("GET", CM + "/trust/certificate")] = lambda r: Reply(200, [{"certificate": pem(leaf)}])
    events: list[Event] = []
    async with session(server, events) as s:
        rest = s.rest
        assert rest is not None
        got = await rest.generate_csr("tomcat", common_name=FQDN, alt_names=["alt.example.com"])
        assert got.public_key() == csr.public_key()
        await rest.generate_csr(
            "tomcat",
            distribution="multi-server",
            common_name="cucm-pub-ms.hq.example.com",
            alt_names=[FQDN, "cucm-sub.hq.example.com"],
            key_length=3072,
        )
        [entry] = await rest.snapshot()
        assert (entry.service, entry.kind, entry.certificate) == ("tomcat", "identity", leaf)
        await rest.upload_identity("tomcat", [pem(leaf)])
        await rest.upload_trust(["tomcat"], [pem(leaf)], "Trust Certificate")
        assert await rest.identity("tomcat") == leaf
        assert await rest.trust("tomcat") == [leaf]
    single, multi = (r.json() for r in server.requests[:2])
    # §4.1 [VERIFIED: C-netSSL] body, and [INFERRED] multi-server distribution value.
    assert single == {
        "service": "tomcat",
        "distribution": "this-server",
        "commonName": FQDN,
        "keyType": "rsa",
        "keyLength": 2048,
        "hashAlgorithm": "sha256",
        "altNames": ["alt.example.com"],
    }
    assert multi["distribution"] == "multi-server" and multi["keyLength"] == 3072  # type: ignore[index]
    assert server.requests[3].json() == {"service": "tomcat", "certificates": [pem(leaf)]}
    assert server.requests[4].json() == {
        "service": ["tomcat"],
        "certificates": [pem(leaf)],
        "description": "Trust Certificate",
    }
    assert server.requests[5].query == "service=tomcat"
    for req in server.requests:
        assert req.sni == FQDN and req.headers["host"] == f"{FQDN}:{server.port}"
        assert req.headers["authorization"] == "Basic " + base64.b64encode(f"admin:{PASSWORD}".encode()).decode()
    transcript = "\n".join(e.text for e in events if isinstance(e, TranscriptLine))
    assert PASSWORD not in transcript and "Basic " not in transcript
    assert "<certificate CN=" in transcript and "BEGIN CERTIFICATE" not in transcript
    assert "POST /platformcom/api/v1/certmgr/config/csr" in transcript


@pytest.mark.parametrize(
    ("status", "body", "code"),
    [
        (400, {"message": "CA Certificate is Not Available in the Trust-Store"}, "ca-not-in-trust"),
        (500, {"messages": ["CSR Public Key and Certificate Public Key Do Not Match"]}, "key-mismatch"),
        (400, {"error": "CSR Subject Alternate Name (SAN) and Certificate SAN Does Not Match"}, "san-mismatch"),
    ],
)
async def test_certmgr_upload_errors_are_typed(server: HttpsServer, status: int, body: dict, code: str) -> None:
    server.routes[("POST", CM + "/identity/certificates")] = lambda r: Reply(status, body)
    async with session(server) as s:
        assert s.rest is not None
        with pytest.raises(VosImportError) as info:
            await s.rest.upload_identity("tomcat", [pem(make_cert())])
    assert info.value.code == code and info.value.transport == "rest" and FQDN in str(info.value)


async def test_certmgr_other_errors_and_login(server: HttpsServer) -> None:
    server.routes[("GET", CM + "/identity/certificate")] = lambda r: Reply(404, {"message": "no such service"})
    server.routes[("GET", CM + "/snapshot/server")] = lambda r: Reply(401, "")
    async with session(server) as s:
        assert s.rest is not None
        with pytest.raises(RestError, match=r"HTTP 404 .no such service"):
            await s.rest.identity("nope")
        with pytest.raises(LoginRefused, match="admin"):
            await s.rest.snapshot()


async def test_rest_is_none_below_14(server: HttpsServer) -> None:
    t = replace(target(server.port, ca_bundle=None), version=None)
    async with NodeSession(
        replace(t, version=__import__("ucterm").catalog.parse_version("12.5.1.11900-146")), CredentialStore()
    ) as s:
        assert s.rest is None


# ------------------------------------------------------------------------------------------------
# TLS trust


async def test_unverified_node_offers_its_certificate_then_a_pin_works(server: HttpsServer) -> None:
    server.routes[("GET", CM + "/snapshot/server")] = lambda r: Reply(200, [])
    async with session(server, ca_bundle=None) as s:
        assert s.rest is not None
        with pytest.raises(TlsVerifyError) as info:
            await s.rest.snapshot()
        err = info.value
        assert err.certificate == server.pki.leaf and err.fingerprint_sha256 and "ca_bundle" in str(err)
        pinned = await s.accept_tls_certificate(err.certificate)  # the user accepted it in the TUI
        assert pinned.parent.name == "pins"
        assert await s.rest.snapshot() == []
    async with session(server, ca_bundle=None, pins=PinStore()) as s:  # the pin outlives the session
        assert s.rest is not None
        assert await s.rest.snapshot() == []


async def test_host_name_is_checked_against_the_fqdn(server: HttpsServer) -> None:
    t = target(server.port, ca_bundle=server.pki.ca_file, fqdn="other.hq.example.com")
    async with NodeSession(t, CredentialStore()) as s:
        assert s.rest is not None
        with pytest.raises(TlsVerifyError, match=r"other\.hq\.example\.com"):
            await s.rest.snapshot()


# ------------------------------------------------------------------------------------------------
# Control Center SOAP and AXL

STATUS_XML = """<?xml version="1.0" encoding="UTF-8"?>
<soapenv:Envelope xmlns:soapenv="http://schemas.xmlsoap.org/soap/envelope/"><soapenv:Body>
<ns1:soapGetServiceStatusResponse xmlns:ns1="http://schemas.cisco.com/ast/soap"><ns1:ServiceInfoList>
<ns1:item><ns1:ServiceName>Cisco CallManager</ns1:ServiceName><ns1:ServiceStatus>Started</ns1:ServiceStatus>
<ns1:ReasonCode>-1</ns1:ReasonCode><ns1:ReasonCodeString></ns1:ReasonCodeString>
<ns1:StartTime>Thu Nov 26 10:00:00 2026</ns1:StartTime><ns1:UpTime>3600</ns1:UpTime></ns1:item>
<ns1:item><ns1:ServiceName>Cisco Tomcat</ns1:ServiceName><ns1:ServiceStatus>Started</ns1:ServiceStatus>
<ns1:ReasonCode>-1</ns1:ReasonCode></ns1:item>
</ns1:ServiceInfoList></ns1:soapGetServiceStatusResponse></soapenv:Body></soapenv:Envelope>"""


async def test_control_center_status_restart_and_refusals(server: HttpsServer) -> None:
    path = "/controlcenterservice2/services/ControlCenterServices"

    def route(req: Request) -> Reply:
        if req.headers["soapaction"] == "soapDoControlServices":
            return Reply(
                200,
                STATUS_XML.replace("soapGetServiceStatusResponse", "soapDoControlServicesResponse").replace(
                    "<ns1:ServiceInfoList>", "<ns1:ReturnCode>0</ns1:ReturnCode><ns1:ServiceInfoList>"
                ),
                "text/xml",
            )
        return Reply(200, STATUS_XML, "text/xml")

    server.routes[("POST", path)] = route
    async with session(server) as s:
        statuses = await s.control_center.service_status()
        assert [(x.name, x.status) for x in statuses] == [("Cisco CallManager", "Started"), ("Cisco Tomcat", "Started")]
        assert statuses[0].up_time == "3600"
        with pytest.raises(NotDeployable, match=r"utils service restart Cisco Tomcat"):
            await s.control_center.restart(["Cisco Tomcat"])
        sent_before = len(server.requests)
        await s.control_center.restart(["Cisco CallManager"])
        assert len(server.requests) == sent_before + 1
    body = server.requests[-1].body.decode()
    assert "<soap:NodeName>cucm-pub.hq.example.com</soap:NodeName>" in body
    assert "<soap:ControlType>Restart</soap:ControlType>" in body
    assert "<soap:item>Cisco CallManager</soap:item>" in body
    assert (
        server.requests[-1].headers["authorization"].startswith("Basic " + base64.b64encode(b"axladmin:").decode()[:8])
    )

    server.routes[("POST", path)] = lambda r: Reply(
        500,
        (
            '<soapenv:Envelope xmlns:soapenv="http://schemas.xmlsoap.org/soap/envelope/"><soapenv:Body><soapenv:Fault>'
            "<faultcode>soapenv:Server</faultcode><faultstring>Service not found</faultstring></soapenv:Fault>"
            "</soapenv:Body></soapenv:Envelope>"
        ),
        "text/xml",
    )
    async with session(server) as s:
        with pytest.raises(RestError, match="Service not found"):
            await s.control_center.service_status(["Cisco Foo"])
    server.routes[("POST", path)] = lambda r: Reply(
        200, '<?xml version="1.0"?><!DOCTYPE x [<!ENTITY a "b">]><x>&a;</x>', "text/xml"
    )
    async with session(server) as s:
        with pytest.raises(UnsafeXml):
            await s.control_center.service_status()


AXL_LIST = """<soapenv:Envelope xmlns:soapenv="http://schemas.xmlsoap.org/soap/envelope/"><soapenv:Body>
<ns:listProcessNodeResponse xmlns:ns="http://www.cisco.com/AXL/API/14.0"><return>
<processNode uuid="{1}"><name>EnterpriseWideData</name><processNodeRole>CUCM Voice/Video</processNodeRole></processNode>
<processNode uuid="{2}"><name>cucm-pub.hq.example.com</name><description>pub</description>
<nodeUsage>Publisher</nodeUsage><processNodeRole>CUCM Voice/Video</processNodeRole></processNode>
<processNode uuid="{3}"><name>imp1.hq.example.com</name><description/>
<nodeUsage>Subscriber</nodeUsage><processNodeRole>CUCM IM and Presence</processNodeRole></processNode>
</return></ns:listProcessNodeResponse></soapenv:Body></soapenv:Envelope>"""
AXL_PRG = """<soapenv:Envelope xmlns:soapenv="http://schemas.xmlsoap.org/soap/envelope/"><soapenv:Body>
<ns:getPresenceRedundancyGroupResponse xmlns:ns="http://www.cisco.com/AXL/API/14.0"><return>
<presenceRedundancyGroup uuid="{9}"><name>DefaultCUPSubcluster</name><description>d</description>
<server1 uuid="{3}">imp1.hq.example.com</server1><server2 uuid="{4}">imp2.hq.example.com</server2>
<haEnabled>true</haEnabled><numUsers>120</numUsers></presenceRedundancyGroup>
</return></ns:getPresenceRedundancyGroupResponse></soapenv:Body></soapenv:Envelope>"""


async def test_axl_discovery_and_ha_toggle(server: HttpsServer) -> None:
    def route(req: Request) -> Reply:
        action = req.headers["soapaction"]
        if "listProcessNode" in action:
            return Reply(200, AXL_LIST, "text/xml")
        if "getPresenceRedundancyGroup" in action:
            return Reply(200, AXL_PRG, "text/xml")
        return Reply(
            200,
            AXL_PRG.replace("getPresenceRedundancyGroupResponse", "updatePresenceRedundancyGroupResponse"),
            "text/xml",
        )

    server.routes[("POST", "/axl/")] = route
    async with session(server) as s:
        nodes = await s.axl.list_process_nodes()
        assert [(n.name, n.is_presence) for n in nodes] == [
            ("cucm-pub.hq.example.com", False),
            ("imp1.hq.example.com", True),
        ]
        prg = await s.axl.get_presence_redundancy_group("DefaultCUPSubcluster")
        assert (prg.server1, prg.server2, prg.ha_enabled, prg.num_users) == (
            "imp1.hq.example.com",
            "imp2.hq.example.com",
            True,
            120,
        )
        await s.axl.set_ha("DefaultCUPSubcluster", False)
    update = server.requests[-1]
    assert update.headers["soapaction"] == '"CUCM:DB ver=14.0 updatePresenceRedundancyGroup"'
    assert "<name>DefaultCUPSubcluster</name><haEnabled>false</haEnabled>" in update.body.decode()
    assert 'xmlns:ns="http://www.cisco.com/AXL/API/14.0"' in update.body.decode()


async def test_app_user_is_required_for_axl(server: HttpsServer) -> None:
    from ucterm.vos.errors import UnsupportedOperation

    t = target(server.port, ca_bundle=server.pki.ca_file)
    t = replace(t, settings=replace(t.settings, app_user=None))
    async with NodeSession(t, CredentialStore()) as s:
        with pytest.raises(UnsupportedOperation, match="app_user"):
            _ = s.axl


def test_reply_helper_serialises_json() -> None:
    assert json.loads(Reply(200, {"a": 1}).encoded()) == {"a": 1}
