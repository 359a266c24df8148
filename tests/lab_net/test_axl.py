"""AXL on the CUCM publisher (§4.3): listProcessNode, Presence Redundancy Group HA toggle."""

from __future__ import annotations

import asyncio
import xml.etree.ElementTree as ET

from tests.lab_net.netclient import AXL_PATH, NodeHttps
from ucterm.lab import LabEstate, LabNode
from ucterm.lab.views import ha_status

AXL_NS = "http://www.cisco.com/AXL/API/14.0"


def app_api(estate: LabEstate, node: LabNode, *, verify: bool | None = None) -> NodeHttps:
    return NodeHttps(estate, node, auth=(estate.credentials.app_user, estate.credentials.app_password),
                     verify=verify)


def axl(operation: str, inner: str, version: str = "14.0") -> str:
    return f'<ns:{operation} xmlns:ns="http://www.cisco.com/AXL/API/{version}">{inner}</ns:{operation}>'


def action(operation: str) -> str:
    return f'"CUCM:DB ver=14.0 {operation}"'


async def test_list_process_node_names_cucm_and_imp_nodes(estate: LabEstate) -> None:
    publisher = estate.node("cucm14-pub")
    tags = "".join(f"<{t}/>" for t in ("name", "nodeUsage", "processNodeRole"))
    async with app_api(estate, publisher) as api:
        answer = await api.soap(AXL_PATH, axl("listProcessNode", "<searchCriteria><name>%</name></searchCriteria>"
                                                                  f"<returnedTags>{tags}</returnedTags>"),
                                action=action("listProcessNode"))
        assert answer.status_code == 200, answer.text
        root = ET.fromstring(answer.text)
        response = root.find(f".//{{{AXL_NS}}}listProcessNodeResponse")
        assert response is not None
        nodes = {n.findtext("name"): (n.findtext("nodeUsage"), n.findtext("processNodeRole"))
                 for n in response.iter("processNode")}
        assert nodes.pop("EnterpriseWideData")[1] == "CUCM Voice/Video"
        assert nodes == {
            "cucm14-pub.lab.example": ("Publisher", "CUCM Voice/Video"),
            "cucm14-sub1.lab.example": ("Subscriber", "CUCM Voice/Video"),
            "cucm14-sub2.lab.example": ("Subscriber", "CUCM Voice/Video"),
            "imp14-pub.lab.example": ("Subscriber", "CUCM IM and Presence"),
            "imp14-sub1.lab.example": ("Subscriber", "CUCM IM and Presence"),
        }
        assert all(n.get("uuid", "").startswith("{") for n in response.iter("processNode"))
        only_imp = await api.soap(AXL_PATH, axl("listProcessNode", "<searchCriteria><processNodeRole>"
                                                "CUCM IM and Presence</processNodeRole></searchCriteria>"))
        assert [n.text for n in ET.fromstring(only_imp.text).iter("name")] == [
            "imp14-pub.lab.example", "imp14-sub1.lab.example"]
        missing = await api.soap(AXL_PATH, axl("listProcessNode", "<returnedTags><name/></returnedTags>"))
        assert missing.status_code == 500 and ET.fromstring(missing.text).findtext(".//axlcode") == "5003"
    for elsewhere in ("cucm14-sub1", "imp14-pub", "cuc15-pub"):  # AXL lives on the CUCM publisher
        async with app_api(estate, estate.node(elsewhere)) as api:
            assert (await api.soap(AXL_PATH, axl("listProcessNode", ""))).status_code == 404


async def test_presence_redundancy_group_get_and_ha_toggle(fresh_estate: LabEstate) -> None:
    publisher = fresh_estate.node("cucm14-pub")
    imp = fresh_estate.node("imp14-pub")
    prg = fresh_estate.cluster("presence").prg
    assert prg is not None and prg.enabled
    async with app_api(fresh_estate, publisher) as api:
        got = await api.soap(AXL_PATH, axl("getPresenceRedundancyGroup", "<name>DefaultCluster</name>"),
                             action=action("getPresenceRedundancyGroup"))
        group = ET.fromstring(got.text).find(".//presenceRedundancyGroup")
        assert group is not None
        assert (group.findtext("name"), group.findtext("server1"), group.findtext("server2"),
                group.findtext("haEnabled")) == ("DefaultCluster", "imp14-pub.lab.example",
                                                 "imp14-sub1.lab.example", "true")
        off = await api.soap(AXL_PATH, axl("updatePresenceRedundancyGroup",
                                           "<name>DefaultCluster</name><haEnabled>false</haEnabled>"),
                             action=action("updatePresenceRedundancyGroup"))
        assert off.status_code == 200, off.text
        assert ET.fromstring(off.text).findtext(f".//{{{AXL_NS}}}updatePresenceRedundancyGroupResponse/return") == \
            group.get("uuid")
        assert not prg.enabled
        assert all("High Availability Not Enabled" in line for line in ha_status(imp)[1:])
        reread = await api.soap(AXL_PATH, axl("getPresenceRedundancyGroup", f"<uuid>{group.get('uuid')}</uuid>"))
        assert ET.fromstring(reread.text).findtext(".//haEnabled") == "false"
        on = await api.soap(AXL_PATH, axl("updatePresenceRedundancyGroup",
                                          "<name>DefaultCluster</name><haEnabled>true</haEnabled>"))
        assert on.status_code == 200 and prg.enabled
        assert prg.state == "initializing"  # HA settles before `State: Normal` (§1.10)
        await asyncio.sleep(fresh_estate.profile.ha_settle + 0.05)
        assert all(line.endswith("State: Normal") for line in ha_status(imp)[1:])
        listed = await api.soap(AXL_PATH, axl("listPresenceRedundancyGroup",
                                              "<searchCriteria><name>%</name></searchCriteria>"))
        assert [n.text for n in ET.fromstring(listed.text).iter("name")] == ["DefaultCluster"]


async def test_axl_refusals(estate: LabEstate) -> None:
    publisher = estate.node("cucm14-pub")
    async with app_api(estate, publisher) as api:
        unknown = await api.soap(AXL_PATH, axl("getPresenceRedundancyGroup", "<name>Nowhere</name>"))
        assert unknown.status_code == 500 and ET.fromstring(unknown.text).findtext(".//axlcode") == "5007"
        not_bool = await api.soap(AXL_PATH, axl("updatePresenceRedundancyGroup",
                                                "<name>DefaultCluster</name><haEnabled>maybe</haEnabled>"))
        assert not_bool.status_code == 500
        future = await api.soap(AXL_PATH, axl("listProcessNode", "<searchCriteria><name>%</name></searchCriteria>",
                                              version="99.0"))
        assert future.status_code == 500 and "not supported" in future.text
        no_such = await api.soap(AXL_PATH, axl("removePhone", "<name>SEP000000000000</name>"))
        assert no_such.status_code == 500
        doctype = await api.soap(AXL_PATH, '<?xml version="1.0"?><!DOCTYPE e [<!ENTITY x SYSTEM "file:///etc/hosts">]>'
                                 '<soapenv:Envelope xmlns:soapenv="http://schemas.xmlsoap.org/soap/envelope/">'
                                 f"<soapenv:Body>{axl('listProcessNode', '<searchCriteria><name>&x;</name>')}"
                                 "</searchCriteria></soapenv:Body></soapenv:Envelope>", envelope=False)
        assert doctype.status_code == 500 and "DOCTYPE is not allowed" in doctype.text
    creds = estate.credentials
    async with NodeHttps(estate, publisher, auth=(creds.os_user, creds.os_password)) as api:
        assert (await api.soap(AXL_PATH, axl("listProcessNode", ""))).status_code == 401
    branch = estate.node("cucm125-pub")  # 12.5: its own schema version works, 14.0 does not
    async with app_api(estate, branch, verify=False) as api:  # its tomcat expired 3 days ago
        body = "<searchCriteria><name>%</name></searchCriteria>"
        assert (await api.soap(AXL_PATH, axl("listProcessNode", body, version="12.5"))).status_code == 200
        assert (await api.soap(AXL_PATH, axl("listProcessNode", body))).status_code == 500
