"""Service restarts, the served certificate, the never-[STARTED] quirk and IM&P HA (§1.9, §1.10, §3.4)."""

from __future__ import annotations

import asyncio
from dataclasses import replace

import pytest

from tests.lab.conftest import OpenClient
from tests.lab.vosclient import NOW
from ucterm.lab import PROFILES, LabEstate
from ucterm.lab.node import Service


async def _wait_for(predicate, timeout: float = 3.0) -> None:
    deadline = asyncio.get_running_loop().time() + timeout
    while not predicate():
        assert asyncio.get_running_loop().time() < deadline, "condition not reached in time"
        await asyncio.sleep(0.02)


async def test_restart_output(estate: LabEstate, open_client: OpenClient) -> None:
    client = await open_client(estate.node("cucm14-sub1"), size=(200, 50))
    lines = (await client.run("utils service restart Cisco Tomcat")).splitlines()
    assert lines[0].startswith("Do not press Ctrl+C while the service is restarting.")
    assert lines[1] == "Service Manager is running"
    assert lines[2:4] == ["Cisco Tomcat[STOPPING]"] * 2
    assert lines[4:6] == ["Cisco Tomcat[STARTING]"] * 2
    assert lines[-1] == "Cisco Tomcat[STARTED]"


async def test_served_certificate_changes_only_with_its_serving_service(fresh_estate: LabEstate,
                                                                        open_client: OpenClient) -> None:
    node = fresh_estate.node("cuc15-sub")
    old = node.served_certificate("tomcat")
    leaf, chain = fresh_estate.ca.sign(node.generate_csr("tomcat"))
    assert node.import_identity("tomcat", [leaf, *chain], via="rest").ok
    client = await open_client(fresh_estate.node("cuc15-pub"))
    await client.run("utils service restart Cisco Tomcat")  # another node: no effect here
    sub = await open_client(node)
    await sub.run("utils service restart Connection Jetty")  # another service: no effect
    assert node.served_certificate("tomcat") == old
    await sub.run("utils service restart Cisco Tomcat")  # the quirk node: back after [STARTING]
    await _wait_for(lambda: node.served_certificate("tomcat") == node.identity("tomcat").cert)


async def test_tomcat_never_prints_started_on_some_subscribers(open_client: OpenClient) -> None:
    async with LabEstate.demo(profile=replace(PROFILES["fast"], started_lag=1.0), now=NOW) as lab:
        await _never_started(lab, open_client)


async def _never_started(fresh_estate: LabEstate, open_client: OpenClient) -> None:
    node = fresh_estate.node("cucm14-sub2")
    client = await open_client(node, size=(200, 60))
    lines = (await client.run("utils service restart Cisco Tomcat")).splitlines()
    assert lines[-1] == "Cisco Tomcat[STARTING]" and "Cisco Tomcat[STARTED]" not in lines
    assert "Cisco Tomcat[STARTING]" in (await client.run("utils service list")).splitlines()
    assert node.served_certificate("tomcat") is None  # not serving while starting
    await _wait_for(lambda: node.service("Cisco Tomcat").status == "STARTED")
    assert "Cisco Tomcat[STARTED]" in (await client.run("utils service list")).splitlines()
    assert node.served_certificate("tomcat") == node.identity("tomcat").cert
    other = await open_client(fresh_estate.node("cucm14-sub1"), size=(200, 60))
    assert (await other.run("utils service restart Cisco Tomcat")).splitlines()[-1] == "Cisco Tomcat[STARTED]"


async def test_ha_leaves_xcp_stuck_in_starting_until_disabled(fresh_estate: LabEstate,
                                                               open_client: OpenClient) -> None:
    node = fresh_estate.node("imp14-pub")
    client = await open_client(node, size=(200, 60))
    before = node.served_certificate("cup-xmpp")
    lines = (await client.run("utils service restart Cisco XCP Connection Manager")).splitlines()
    assert lines[-1] == "Cisco XCP Connection Manager[STARTING]"
    await asyncio.sleep(0.5)  # longer than any lag of the fast profile: it stays stuck
    assert "Cisco XCP Connection Manager[STARTING]" in (await client.run("utils service list")).splitlines()
    assert node.served_certificate("cup-xmpp") is None  # the 5222 endpoint is not served
    assert node.served_certificate("tomcat") is not None  # Tomcat is not affected by HA
    fresh_estate.set_ha("DefaultCluster", False)
    assert "State: Unknown Reason: High Availability Not Enabled" in await client.run("utils ha status")
    lines = (await client.run("utils service restart Cisco XCP Connection Manager")).splitlines()
    assert lines[-1] == "Cisco XCP Connection Manager[STARTED]"
    assert node.served_certificate("cup-xmpp") == before
    fresh_estate.profile = replace(fresh_estate.profile, ha_settle=1.0)  # room for a loaded machine
    fresh_estate.set_ha("DefaultCluster", True)
    assert "Node 1 Name : imp14-pub State: Initializing" in await client.run("utils ha status")
    await asyncio.sleep(1.05)
    assert "Node 2 Name : imp14-sub1 State: Normal" in await client.run("utils ha status")


async def test_start_stop_and_inactive_services(fresh_estate: LabEstate, open_client: OpenClient) -> None:
    client = await open_client(fresh_estate.node("cucm14-sub1"), size=(200, 60))
    out = await client.run("utils service restart Cisco DRF Master")  # publisher-only service
    assert "Cisco DRF Master is not activated" in out and out.endswith("Executed command unsuccessfully")
    assert (await client.run("utils service stop Cisco Extension Mobility")).splitlines()[-1] == \
        "Cisco Extension Mobility[STOPPED]"
    assert "Cisco Extension Mobility[STOPPED]  Commanded Out of Service" in await client.run("utils service list")
    assert (await client.run("utils service start Cisco Extension Mobility")).splitlines()[-1] == \
        "Cisco Extension Mobility[STARTED]"
    assert "Cisco Extension Mobility[STARTED]" in await client.run("utils service list")


async def test_restart_takes_time_and_survives_a_dropped_session(open_client: OpenClient) -> None:
    timed = replace(PROFILES["fast"], name="timed", restart_tomcat=0.6, status_interval=0.1)
    async with LabEstate.demo(profile=timed, now=NOW) as lab:
        node = lab.node("cucm14-pub")
        node.faults.drop_connection("utils service restart", after_lines=3)
        client = await open_client(node)
        client.send("utils service restart Cisco Tomcat\r")
        await _wait_for(lambda: node.service("Cisco Tomcat").status == "STOPPING", 2)
        assert node.served_certificate("tomcat") is None
        await client.read_until(r"Cisco Tomcat\[STOPPING\]", 3)
        with pytest.raises(ConnectionResetError):  # dropped after the third line: no prompt
            await client.read_until(r"admin:", 3)
        assert "[STARTING]" not in client.transcript
        await _wait_for(lambda: node.service("Cisco Tomcat").status == "STARTED", 3)
        assert node.served_certificate("tomcat") == node.identity("tomcat").cert


async def test_start_and_stop_run_on_the_node_not_in_the_caller(fresh_estate: LabEstate) -> None:
    """Like a restart: the Service Manager finishes even if whoever asked goes away mid-operation."""
    node = fresh_estate.node("cucm14-sub1")
    node.profile = replace(node.profile, restart_default=0.15)
    service = node.service("Cisco Extension Mobility")
    caller = asyncio.ensure_future(node.stop_service(service.name))
    await _wait_for(lambda: service.status == "STOPPING")
    caller.cancel()  # the SSH session or HTTP client that asked is gone
    await _wait_for(lambda: service.status == "STOPPED")
    assert service.commanded_out and service.started_at is None
    caller = asyncio.ensure_future(node.start_service(service.name))
    await _wait_for(lambda: service.status == "STARTING")
    caller.cancel()
    await _wait_for(lambda: service.status == "STARTED")
    assert not service.commanded_out and service.started_at is not None


async def test_stopping_the_estate_cancels_service_operations(fresh_estate: LabEstate) -> None:
    node = fresh_estate.node("cucm14-sub1")
    node.profile = replace(node.profile, restart_default=60.0)
    service = node.service("Cisco Extension Mobility")
    caller = asyncio.ensure_future(node.stop_service(service.name))
    await _wait_for(lambda: service.status == "STOPPING")
    await fresh_estate.stop()
    with pytest.raises(asyncio.CancelledError):
        await asyncio.wait_for(caller, 1.0)  # cancelled, not left running for a minute
    assert service.status == "STOPPING"


async def test_service_changes_are_announced(fresh_estate: LabEstate, caplog) -> None:  # type: ignore[no-untyped-def]
    node = fresh_estate.node("cucm14-sub1")
    seen: list[tuple[str, str]] = []

    def broken(service: Service) -> None:
        raise RuntimeError("a listener bug")

    unwatch_broken = node.watch_services(broken)
    unwatch = node.watch_services(lambda s: seen.append((s.name, s.status)))
    await node.restart_service("Cisco Tomcat")
    assert seen == [("Cisco Tomcat", "STOPPING"), ("Cisco Tomcat", "STARTING"), ("Cisco Tomcat", "STARTED")]
    assert "service listener failed" in caplog.text  # logged; the restart and the other listener went on
    unwatch_broken()
    seen.clear()
    haproxy = node.service("Cisco HAProxy")
    haproxy.status = "STOPPED"  # by hand, as a test or a fault would: announced all the same
    haproxy.status = "STOPPED"  # no change, no announcement
    assert seen == [("Cisco HAProxy", "STOPPED")] and haproxy.started_at is None
    haproxy.status = "STARTED"
    assert haproxy.started_at is not None and abs((haproxy.started_at - node.clock.now()).total_seconds()) < 5
    unwatch()
    unwatch()  # harmless twice
    haproxy.status = "STOPPED"
    assert seen == [("Cisco HAProxy", "STOPPED"), ("Cisco HAProxy", "STARTED")]
