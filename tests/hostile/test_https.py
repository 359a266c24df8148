"""What a node's web service sends is bounded: time, size, nesting and length of what it says.

Each test starts the hostile HTTPS server (tests/hostile/httpsd.py) on loopback with a
certificate that verifies, so the client's answer to a *trusted but broken* service is tested.
"""

from __future__ import annotations

import asyncio
import json
import time
from pathlib import Path

import pytest

from tests.hostile.conftest import REST_NODE, write_inventory
from tests.hostile.httpsd import Answer, HostileHttps
from tests.vos.fakehttps import Pki
from ucterm.credentials import CredentialStore, Secret
from ucterm.inventory import load_inventory
from ucterm.lab import LabEstate
from ucterm.scan import scan_estate
from ucterm.vos.certmgr import BASE, CertMgrClient
from ucterm.vos.errors import CommandTimeout, ResponseTooLarge, RestError
from ucterm.vos.http import HttpsEndpoint, NodeHttpClient

SNAPSHOT = BASE + "/snapshot/server"


def client(server: HostileHttps, *, timeout: float = 2.0, max_body: int = 1024 * 1024) -> CertMgrClient:
    endpoint = HttpsEndpoint(node=REST_NODE, address="127.0.0.1", port=server.port, ca_bundle=server.pki.ca_file)
    http = NodeHttpClient(endpoint, user="admin", password=lambda: Secret("pw"), timeout=timeout,
                          max_body=max_body)
    return CertMgrClient(http)


async def test_a_body_trickled_a_byte_at_a_time_meets_the_total_deadline(pki: Pki) -> None:
    async with HostileHttps(pki, default=Answer("drip", body=b'{"certificates": []}' * 10, interval=0.2)) as srv:
        rest = client(srv, timeout=1.5)
        started = time.monotonic()
        with pytest.raises(CommandTimeout) as caught:
            await rest.snapshot()
        elapsed = time.monotonic() - started
        await rest.http.aclose()
    # httpx's read timeout alone would wait for ever: every byte arrives well within it.
    assert 1.4 < elapsed < 4, elapsed
    assert "answered too slowly" in str(caught.value) and REST_NODE in str(caught.value)


async def test_headers_trickled_a_byte_at_a_time_meet_the_total_deadline(pki: Pki) -> None:
    async with HostileHttps(pki, default=Answer("drip_headers", body=b"{}", interval=0.1)) as srv:
        rest = client(srv, timeout=1.0)
        started = time.monotonic()
        with pytest.raises(CommandTimeout):
            await rest.snapshot()
        assert time.monotonic() - started < 3
        await rest.http.aclose()


async def test_an_endless_body_is_cut_at_the_size_cap(pki: Pki) -> None:
    async with HostileHttps(pki, default=Answer("endless")) as srv:
        rest = client(srv, timeout=20.0, max_body=2 * 1024 * 1024)
        with pytest.raises(ResponseTooLarge) as caught:
            await rest.snapshot()
        await rest.http.aclose()
        streamed = srv.streamed
    assert "more than 2,097,152 bytes" in str(caught.value)
    # The server stops once the client is gone; it never got near its 64 MiB budget.
    assert streamed < 16 * 1024 * 1024, streamed


async def test_a_declared_huge_body_is_refused_before_it_is_read(pki: Pki) -> None:
    async with HostileHttps(pki, default=Answer("huge_declared", interval=5.0)) as srv:
        rest = client(srv)
        started = time.monotonic()
        with pytest.raises(ResponseTooLarge) as caught:
            await rest.snapshot()
        assert time.monotonic() - started < 1.5
        await rest.http.aclose()
    assert "1,000,000,000 bytes" in str(caught.value)


@pytest.mark.parametrize("depth", [100, 100_000])
async def test_deeply_nested_json_is_a_rest_error_not_a_recursion_error(pki: Pki, depth: int) -> None:
    deep = ("[" * depth + "]" * depth).encode()
    async with HostileHttps(pki, default=Answer(body=deep)) as srv:
        rest = client(srv)
        with pytest.raises(RestError) as caught:
            await rest.snapshot()
        await rest.http.aclose()
    assert "nested more than" in str(caught.value)


async def test_a_megabyte_error_message_becomes_a_short_sentence(pki: Pki) -> None:
    message = "x" * (3 * 1024 * 1024 // 2)
    async with HostileHttps(pki, default=Answer.json({"message": message}, status=500)) as srv:
        rest = client(srv, max_body=4 * 1024 * 1024)
        with pytest.raises(RestError) as caught:
            await rest.snapshot()
        await rest.http.aclose()
    assert len(str(caught.value)) < 2100
    assert "more characters" in str(caught.value)


# ------------------------------------------------------------------------------------------------
# The scan: each of these is a REST failure of one node, and the CLI reads the node instead.

BROKEN = {
    "trickle": Answer("drip", body=b"{}" * 50, interval=0.3),
    "endless": Answer("endless"),
    "deep": Answer(body=("[" * 100_000 + "]" * 100_000).encode()),
}


@pytest.mark.parametrize("kind", sorted(BROKEN))
async def test_a_broken_certmgr_falls_back_to_the_cli(estate: LabEstate, pki: Pki, tmp_path: Path,
                                                    kind: str) -> None:
    async with HostileHttps(pki, default=BROKEN[kind]) as srv:
        path = write_inventory(estate, tmp_path, nodes=(REST_NODE,), ports={REST_NODE: {"rest": srv.port}},
                               extra_ca=pki.ca_file, defaults={"command_timeout": 3})
        inventory = load_inventory(path)
        result = await asyncio.wait_for(scan_estate(inventory, CredentialStore(), probe=False),
                                        60)
        asked = list(srv.requests)
    node = next(n for n in result.nodes if n.node == REST_NODE)
    assert asked, "the scan did not try REST"
    assert node.state == "ok", node.error
    assert any("certmgr REST API failed" in n for n in node.notes), node.notes
    assert "RecursionError" not in json.dumps(node.to_json())
    own = {c.unit for c in result.certificates if c.store == "own"}
    assert {"tomcat", "CallManager"} <= own
    assert {c.source for c in result.certificates} == {"cli"}


async def test_a_trickling_lab_tomcat_meets_the_deadline_and_the_cli_reads(estate: LabEstate, tmp_path: Path) -> None:
    """The same as a lab fault, for rehearsals: `node.faults.trickle_https(seconds)`."""
    from ucterm.lab.network import install_endpoints

    install_endpoints(estate)
    estate.node(REST_NODE).faults.trickle_https(0.2)
    path = write_inventory(estate, tmp_path, nodes=(REST_NODE,), defaults={"command_timeout": 3})
    started = time.monotonic()
    result = await asyncio.wait_for(scan_estate(load_inventory(path), CredentialStore(), probe=False), 60)
    node = next(n for n in result.nodes if n.node == REST_NODE)
    assert node.state == "ok", node.error
    assert any("answered too slowly" in n for n in node.notes), node.notes
    assert {c.source for c in result.certificates} == {"cli"}
    assert time.monotonic() - started < 30
