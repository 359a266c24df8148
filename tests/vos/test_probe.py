"""The TLS probe on direct TLS and XMPP STARTTLS endpoints (loopback fakes)."""

from __future__ import annotations

import asyncio
import socket
from pathlib import Path

import pytest

from tests.vos.fakehttps import HttpsServer, make_pki, start_xmpp
from ucterm.vos.probe import ProbeTarget, probe, probe_many

FQDN = "imp1.hq.example.com"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


async def test_direct_tls_reads_the_whole_chain_and_reports_verification(tmp_path: Path) -> None:
    pki = make_pki(tmp_path / "a", FQDN)
    other = make_pki(tmp_path / "b", FQDN)
    server = await HttpsServer(pki).start()
    try:
        result = await probe("127.0.0.1", server.port, sni=FQDN, verify_bundle=pki.ca_file)
        assert result.ok and result.error is None
        assert result.chain == [pki.leaf, pki.ca]  # full chain via get_unverified_chain on 3.11
        assert result.note is None
        assert result.verified is True
        wrong = await probe("127.0.0.1", server.port, sni=FQDN, verify_bundle=other.ca_file)
        assert wrong.ok and wrong.verified is False and wrong.verify_error
        unchecked = await probe("127.0.0.1", server.port, sni=FQDN)
        assert unchecked.verified is None
        bad_name = await probe("127.0.0.1", server.port, sni="other.example.com", verify_bundle=pki.ca_file)
        assert bad_name.ok and bad_name.verified is False
    finally:
        await server.stop()


async def test_expired_certificate_is_still_read(tmp_path: Path) -> None:
    pki = make_pki(tmp_path / "x", FQDN, expired=True)
    server = await HttpsServer(pki).start()
    try:
        result = await probe("127.0.0.1", server.port, sni=FQDN, verify_bundle=pki.ca_file)
        assert result.ok and result.leaf == pki.leaf
        assert result.verified is False and "expired" in (result.verify_error or "")
    finally:
        await server.stop()


@pytest.mark.parametrize(("kind", "namespace"), [("xmpp-c2s", b"jabber:client"), ("xmpp-s2s", b"jabber:server")])
async def test_xmpp_starttls(tmp_path: Path, kind: str, namespace: bytes) -> None:
    pki = make_pki(tmp_path / kind, FQDN)
    server, seen = await start_xmpp(pki)
    port = int(server.sockets[0].getsockname()[1])
    try:
        result = await probe(
            "127.0.0.1",
            port,
            sni=FQDN,
            kind=kind,
            xmpp_domain="example.com",  # type: ignore[arg-type]
            verify_bundle=pki.ca_file,
        )
        assert result.ok, result.error
        assert result.chain[0] == pki.leaf and result.verified is True
        assert b"to='example.com'" in seen[0] and b"xmlns='" + namespace + b"'" in seen[0]
        assert seen[1] == b"<starttls xmlns='urn:ietf:params:xml:ns:xmpp-tls'/>"
    finally:
        server.close()
        await server.wait_closed()


async def test_xmpp_refused_and_closed_ports_are_clear_errors(tmp_path: Path) -> None:
    pki = make_pki(tmp_path / "r", FQDN)
    server, _ = await start_xmpp(pki, refuse=True)
    port = int(server.sockets[0].getsockname()[1])
    try:
        refused = await probe("127.0.0.1", port, sni=FQDN, kind="xmpp-c2s")
        assert not refused.ok and "refused STARTTLS" in (refused.error or "")
    finally:
        server.close()
        await server.wait_closed()
    closed = await probe("127.0.0.1", _free_port(), sni=FQDN, timeout=1.0)
    assert not closed.ok and closed.chain == [] and "refused" in (closed.error or "")


async def test_silent_port_times_out(tmp_path: Path) -> None:
    async def silent(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await asyncio.sleep(5)
        writer.close()

    server = await asyncio.start_server(silent, "127.0.0.1", 0)
    port = int(server.sockets[0].getsockname()[1])
    try:
        result = await probe("127.0.0.1", port, sni=FQDN, timeout=0.3)
        assert not result.ok and result.error == "timed out" and result.elapsed < 2
    finally:
        server.close()


async def test_probe_many_keeps_order_and_runs_concurrently(tmp_path: Path) -> None:
    pki = make_pki(tmp_path / "m", FQDN)
    server = await HttpsServer(pki).start()
    closed = _free_port()
    try:
        targets = [ProbeTarget("127.0.0.1", server.port if i % 2 == 0 else closed, FQDN) for i in range(200)]
        results = await probe_many(targets, concurrency=50, timeout=3.0)
        assert [r.ok for r in results] == [i % 2 == 0 for i in range(200)]
        assert all(r.leaf == pki.leaf for r in results[::2])
    finally:
        await server.stop()


async def test_probe_node_unit_maps_units_to_ports(tmp_path: Path) -> None:
    from ucterm import catalog
    from ucterm.inventory import Settings
    from ucterm.vos import NodeTarget, probe_node_unit

    pki = make_pki(tmp_path / "u", FQDN)
    server = await HttpsServer(pki).start()
    xmpp, seen = await start_xmpp(pki)
    xmpp_port = int(xmpp.sockets[0].getsockname()[1])
    try:
        ports = {**catalog.DEFAULT_PORTS, "https": server.port, "rest": server.port, "xmpp_c2s": xmpp_port}
        target = NodeTarget(
            "presence",
            "imp",
            None,
            FQDN,
            "127.0.0.1",
            ports,
            "publisher",
            Settings(ca_bundle=pki.ca_file),
            presence_domains=("example.com",),
        )
        https, rest = await probe_node_unit(target, "tomcat")
        assert (https.port, https.kind, https.verified) == (server.port, "tls", True)
        assert rest.leaf == pki.leaf
        [c2s] = await probe_node_unit(target, "cup-xmpp")
        assert c2s.kind == "xmpp-c2s" and c2s.ok and b"to='example.com'" in seen[0]
        assert await probe_node_unit(target, "ipsec") == []
    finally:
        await server.stop()
        xmpp.close()


def test_leaf_only_when_the_chain_api_is_missing(tmp_path: Path) -> None:
    from cryptography.hazmat.primitives import serialization

    from ucterm.vos.probe import _chain_of

    pki = make_pki(tmp_path / "l", FQDN)

    class OldSslObject:  # an ssl object without the private chain API
        def getpeercert(self, binary_form: bool = False) -> bytes:
            return pki.leaf.public_bytes(serialization.Encoding.DER)

    class Writer:
        def get_extra_info(self, name: str) -> object:
            return OldSslObject() if name == "ssl_object" else None

    chain, note = _chain_of(Writer())  # type: ignore[arg-type]
    assert chain == [pki.leaf] and note is not None and "leaf only" in note
