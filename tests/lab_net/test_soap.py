"""Control Center Services SOAP (§4.2): status, restarts of deployable services only, safe XML."""

from __future__ import annotations

import xml.etree.ElementTree as ET

from cryptography import x509

from tests.lab_net.netclient import CC_NS, CC_PATH, CERTMGR, NodeHttps, xmpp_starttls
from ucterm.lab import LabEstate, LabNode

Q = f"{{{CC_NS}}}"


def app_api(estate: LabEstate, node: LabNode) -> NodeHttps:
    return NodeHttps(estate, node, auth=(estate.credentials.app_user, estate.credentials.app_password))


def status_request(*names: str) -> str:
    items = "".join(f"<soap:item>{n}</soap:item>" for n in names)
    return (f'<soap:soapGetServiceStatus xmlns:soap="{CC_NS}"><soap:ServiceStatus>{items}</soap:ServiceStatus>'
            "</soap:soapGetServiceStatus>")


def control_request(node: str, control: str, *names: str) -> str:
    """The §4.2 envelope sketch's body."""
    items = "".join(f"<soap:item>{n}</soap:item>" for n in names)
    return (f'<soap:soapDoControlServices xmlns:soap="{CC_NS}"><soap:ControlServiceRequest>'
            f"<soap:NodeName>{node}</soap:NodeName><soap:ControlType>{control}</soap:ControlType>"
            f"<soap:ServiceList>{items}</soap:ServiceList></soap:ControlServiceRequest></soap:soapDoControlServices>")


def items(text: str) -> dict[str, dict[str, str]]:
    root = ET.fromstring(text)
    return {item.findtext(f"{Q}ServiceName") or "": {child.tag.split("}")[1]: child.text or "" for child in item}
            for item in root.iter(f"{Q}item")}


def fault(text: str) -> str:
    return ET.fromstring(text).findtext(".//faultstring") or ""


async def test_service_status_of_every_or_named_services(estate: LabEstate) -> None:
    node = estate.node("cucm14-sub1")
    async with app_api(estate, node) as api:
        every = await api.soap(CC_PATH, status_request(), action="soapGetServiceStatus")
        assert every.status_code == 200 and every.headers["content-type"].startswith("text/xml")
        listed = items(every.text)
        assert listed["Cisco Tomcat"]["ServiceStatus"] == "Started"
        assert "Cisco Tftp" in listed and "Cisco TFTP" not in listed  # Control Center's names (§4.2)
        drf = listed["Cisco DRF Master"]  # publisher-only: not activated on a subscriber
        assert (drf["ServiceStatus"], drf["ReasonCode"], drf["ReasonCodeString"]) == (
            "Stopped", "-1068", "Service Not Activated")
        assert len(listed) == len(node.services())
        named = items((await api.soap(CC_PATH, status_request("Cisco CallManager", "Cisco Nothing"))).text)
        assert list(named) == ["Cisco CallManager", "Cisco Nothing"]
        assert named["Cisco Nothing"]["ReasonCode"] == "-1010"
    imp = estate.node("imp14-sub1")
    async with app_api(estate, imp) as api:
        out = items((await api.soap(CC_PATH, status_request("Cisco XCP Text Conference Manager"))).text)
        assert out["Cisco XCP Text Conference Manager"]["ReasonCodeString"] == "Commanded Out of Service"


async def test_tomcat_and_other_non_deployable_services_are_refused(estate: LabEstate) -> None:
    node = estate.node("cucm14-pub")
    generation = node.service("Cisco Tomcat").generation
    async with app_api(estate, node) as api:
        for name in ("Cisco Tomcat", "Cisco DRF Master", "Cisco Trust Verification Service"):
            answer = await api.soap(CC_PATH, control_request(node.fqdn, "Restart", name))
            assert answer.status_code == 500
            assert "not a deployable service" in fault(answer.text) and name in fault(answer.text)
        mixed = await api.soap(CC_PATH, control_request(node.fqdn, "Restart", "Cisco HAProxy", "Cisco Tomcat"))
        assert mixed.status_code == 500
    assert node.service("Cisco Tomcat").generation == generation
    assert node.service("Cisco HAProxy").generation == 0  # nothing ran: the request was refused whole


async def test_requests_a_node_would_refuse(estate: LabEstate) -> None:
    node = estate.node("cucm14-pub")
    async with app_api(estate, node) as api:
        other = await api.soap(CC_PATH, control_request("cucm14-sub1.lab.example", "Restart", "Cisco HAProxy"))
        assert other.status_code == 500 and "not this node" in fault(other.text)
        bad_type = await api.soap(CC_PATH, control_request(node.fqdn, "Bounce", "Cisco HAProxy"))
        assert bad_type.status_code == 500
        unqualified = await api.soap(CC_PATH, f'<soap:soapGetServiceStatus xmlns:soap="{CC_NS}"><ServiceStatus/>'
                                              "</soap:soapGetServiceStatus>")
        assert unqualified.status_code == 500 and "Unexpected subelement" in fault(unqualified.text)
        soap12 = await api.post(CC_PATH, content=b'<e:Envelope xmlns:e="http://www.w3.org/2003/05/soap-envelope">'
                                                  b"<e:Body/></e:Envelope>", headers={"Content-Type": "text/xml"})
        assert soap12.status_code == 500 and "VersionMismatch" in soap12.text
        plain = await api.post(CC_PATH, content=b"hello", headers={"Content-Type": "text/plain"})
        assert plain.status_code == 415
        assert (await api.get(CC_PATH)).status_code == 405
    creds = estate.credentials
    async with NodeHttps(estate, node, auth=(creds.os_user, creds.os_password)) as api:
        assert (await api.soap(CC_PATH, status_request())).status_code == 401  # the application user only


async def test_doctype_and_entities_are_refused(estate: LabEstate) -> None:
    node = estate.node("cucm14-pub")
    bomb = ('<?xml version="1.0"?><!DOCTYPE x [<!ENTITY a "aaaaaaaaaa"><!ENTITY b "&a;&a;&a;&a;&a;">]>'
            f'<soapenv:Envelope xmlns:soapenv="http://schemas.xmlsoap.org/soap/envelope/"><soapenv:Body>'
            f"{status_request('&b;')}</soapenv:Body></soapenv:Envelope>")
    external = ('<?xml version="1.0"?><!DOCTYPE x SYSTEM "file:///etc/passwd">'
                f'<soapenv:Envelope xmlns:soapenv="http://schemas.xmlsoap.org/soap/envelope/"><soapenv:Body>'
                f"{status_request()}</soapenv:Body></soapenv:Envelope>")
    async with app_api(estate, node) as api:
        for document in (bomb, external):
            answer = await api.soap(CC_PATH, document, envelope=False)
            assert answer.status_code == 500 and fault(answer.text) == "DOCTYPE is not allowed"
        broken = await api.soap(CC_PATH, "<soapenv:Envelope", envelope=False)
        assert broken.status_code == 500 and "well-formed" in fault(broken.text)


async def test_cup_xmpp_renewal_restarted_over_soap_with_ha_off(fresh_estate: LabEstate) -> None:
    """§3.4: cup-xmpp is served by the XCP Connection Manager, deployable, but stuck while HA is on."""
    node = fresh_estate.node("imp14-sub1")
    creds = fresh_estate.credentials
    old = node.served_certificate("cup-xmpp")
    async with NodeHttps(fresh_estate, node, auth=(creds.os_user, creds.os_password)) as rest:
        body = {"service": "cup-xmpp", "distribution": "this-server", "commonName": node.fqdn,
                "keyType": "rsa", "keyLength": 2048, "hashAlgorithm": "sha256"}
        csr = (await rest.post(f"{CERTMGR}/csr", json=body)).json()["csr"]
        leaf, chain = fresh_estate.ca.sign(csr)
        assert (await rest.post(f"{CERTMGR}/trust/certificates", json={
            "service": ["cup-xmpp"], "certificates": chain, "description": "Lab CA"})).status_code == 200
        upload = await rest.post(f"{CERTMGR}/identity/certificates",
                                 json={"service": "cup-xmpp", "certificates": [leaf, chain[0]]})
        assert upload.status_code == 200, upload.text
    new = x509.load_pem_x509_certificate(leaf.encode())
    assert (await xmpp_starttls(node, "xmpp_c2s", to="lab.example")).leaf == old
    restart = control_request(node.fqdn, "Restart", "Cisco XCP Connection Manager")
    async with app_api(fresh_estate, node) as api:
        stuck = items((await api.soap(CC_PATH, restart)).text)["Cisco XCP Connection Manager"]
        assert stuck["ServiceStatus"] == "Starting"  # HA on: the restart never completes (§3.4, S-IMP-SVC)
        assert (await xmpp_starttls(node, "xmpp_c2s", to="lab.example")).leaf is None
        fresh_estate.set_ha("DefaultCluster", False)
        done = items((await api.soap(CC_PATH, restart)).text)["Cisco XCP Connection Manager"]
        assert done["ServiceStatus"] == "Started"
    assert (await xmpp_starttls(node, "xmpp_c2s", to="lab.example")).leaf == new


async def test_start_time_and_uptime_follow_the_service_manager(fresh_estate: LabEstate) -> None:
    node = fresh_estate.node("cucm14-sub1")
    async with app_api(fresh_estate, node) as api:
        before = items((await api.soap(CC_PATH, status_request("Cisco HAProxy", "Cisco CallManager"))).text)
        assert int(before["Cisco HAProxy"]["UpTime"]) > 40 * 86400  # up since the node booted
        restart = control_request(node.fqdn, "Restart", "Cisco HAProxy")
        restarted = items((await api.soap(CC_PATH, restart)).text)["Cisco HAProxy"]
        assert 0 <= int(restarted["UpTime"]) < 60 and restarted["StartTime"] != before["Cisco HAProxy"]["StartTime"]
        untouched = items((await api.soap(CC_PATH, status_request("Cisco CallManager"))).text)["Cisco CallManager"]
        assert untouched["StartTime"] == before["Cisco CallManager"]["StartTime"]
        stopped = items((await api.soap(CC_PATH, control_request(node.fqdn, "Stop", "Cisco HAProxy"))).text)
        assert (stopped["Cisco HAProxy"]["StartTime"], stopped["Cisco HAProxy"]["UpTime"]) == ("", "-1")
        assert node.service("Cisco HAProxy").started_at is None
        started = items((await api.soap(CC_PATH, control_request(node.fqdn, "Start", "Cisco HAProxy"))).text)
        assert 0 <= int(started["Cisco HAProxy"]["UpTime"]) < 60
