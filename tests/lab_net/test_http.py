"""The HTTP/1.1 layer behind 8443, spoken by hand: framing, keep-alive, refusals, restarts."""

from __future__ import annotations

import asyncio
import base64
import json
import re
import select
from collections import Counter
from dataclasses import replace

from tests.lab_net.netclient import CC_NS, CC_PATH, CERTMGR, NodeHttps, insecure_context, response_leaf
from ucterm.lab import LabEstate, LabNode


class RawHttps:
    """One TLS connection to a node's 8443, requests written byte for byte."""

    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.reader = reader
        self.writer = writer

    @classmethod
    async def open(cls, node: LabNode) -> RawHttps:
        reader, writer = await asyncio.open_connection("127.0.0.1", node.ports["https"], ssl=insecure_context(),
                                                       server_hostname=node.fqdn)
        return cls(reader, writer)

    async def send(self, data: bytes) -> None:
        self.writer.write(data)
        await self.writer.drain()

    async def response(self) -> tuple[int, dict[str, str], bytes]:
        head = await asyncio.wait_for(self.reader.readuntil(b"\r\n\r\n"), 5)
        lines = head.decode("latin-1").split("\r\n")
        status = int(lines[0].split(" ")[1])
        headers = {k.lower(): v.strip() for k, _, v in (line.partition(":") for line in lines[1:] if line)}
        body = await self.reader.readexactly(int(headers.get("content-length", "0")))
        return status, headers, body

    async def closed(self, timeout: float = 2.0) -> bool:
        try:
            return await asyncio.wait_for(self.reader.read(1), timeout) == b""
        except (ConnectionError, TimeoutError):
            return False

    def close_pending(self) -> bool:
        """True if the server's close (TLS close_notify / FIN) is already waiting in our socket, unread."""
        sock = self.writer.get_extra_info("socket")
        return bool(self.reader._buffer) or self.reader.at_eof() or bool(select.select([sock], [], [], 0)[0])

    async def rest(self, timeout: float = 5.0) -> bytes:
        """Everything the server sends until it closes (a TimeoutError here is a hang)."""
        data = b""
        while chunk := await asyncio.wait_for(self.reader.read(65536), timeout):
            data += chunk
        return data

    def close(self) -> None:
        self.writer.close()


def basic(user: str, password: str) -> str:
    return "Basic " + base64.b64encode(f"{user}:{password}".encode()).decode()


def get(node: LabNode, path: str, *extra: str) -> bytes:
    lines = [f"GET {path} HTTP/1.1", f"Host: {node.fqdn}", *extra]
    return ("\r\n".join(lines) + "\r\n\r\n").encode()


def post_json(node: LabNode, path: str, body: object, *extra: str) -> bytes:
    data = json.dumps(body).encode()
    lines = [f"POST {path} HTTP/1.1", f"Host: {node.fqdn}", "Content-Type: application/json",
             f"Content-Length: {len(data)}", *extra]
    return ("\r\n".join(lines) + "\r\n\r\n").encode() + data


def parse_response(data: bytes) -> tuple[int, dict[str, str], bytes]:
    head, sep, body = data.partition(b"\r\n\r\n")
    assert sep, f"a partial response: {data[:80]!r}"
    lines = head.decode("latin-1").split("\r\n")
    headers = {k.lower(): v.strip() for k, _, v in (line.partition(":") for line in lines[1:] if line)}
    assert len(body) == int(headers["content-length"]), "a truncated body"
    return int(lines[0].split(" ")[1]), headers, body


async def test_keep_alive_and_connection_close(estate: LabEstate) -> None:
    node = estate.node("cucm14-pub")
    auth = f"Authorization: {basic(estate.credentials.os_user, estate.credentials.os_password)}"
    conn = await RawHttps.open(node)
    try:
        for _ in range(2):
            await conn.send(get(node, f"{CERTMGR}/trust/certificate?service=tomcat", auth))
            status, headers, body = await conn.response()
            assert status == 200 and headers["content-type"] == "application/json" and body.startswith(b"[")
        await conn.send(get(node, "/nothing", "Connection: close"))
        status, headers, body = await conn.response()
        assert status == 404 and b"HTTP Status 404" in body and headers["connection"] == "close"
        assert await conn.closed()
    finally:
        conn.close()


async def test_framing_errors_are_refused_like_tomcat(estate: LabEstate) -> None:
    node = estate.node("cucm14-pub")
    cases = [
        (b"GET / HTTP/1.1\r\n\r\n", 400),  # no Host (RFC 9112 §3.2)
        (b"NONSENSE\r\nHost: x\r\n\r\n", 400),
        (f"POST {CC_PATH} HTTP/1.1\r\nHost: x\r\nContent-Length: 99999999\r\n\r\n".encode(), 413),
        (f"POST {CC_PATH} HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: gzip\r\n\r\n".encode(), 501),
    ]
    for raw, expected in cases:
        conn = await RawHttps.open(node)
        try:
            await conn.send(raw)
            status, headers, _ = await conn.response()
            assert (status, headers.get("connection")) == (expected, "close"), raw
            assert await conn.closed()
        finally:
            conn.close()


async def test_chunked_body_and_expect_continue(estate: LabEstate) -> None:
    node = estate.node("cucm14-sub1")
    envelope = (f'<e:Envelope xmlns:e="http://schemas.xmlsoap.org/soap/envelope/"><e:Body>'
                f'<s:soapGetServiceStatus xmlns:s="{CC_NS}"><s:ServiceStatus><s:item>Cisco Tomcat</s:item>'
                "</s:ServiceStatus></s:soapGetServiceStatus></e:Body></e:Envelope>").encode()
    head = (f"POST {CC_PATH} HTTP/1.1\r\nHost: {node.fqdn}\r\nContent-Type: text/xml\r\n"
            f"Authorization: {basic(estate.credentials.app_user, estate.credentials.app_password)}\r\n")
    conn = await RawHttps.open(node)
    try:
        half = len(envelope) // 2
        chunks = b"".join(b"%x\r\n%s\r\n" % (len(p), p) for p in (envelope[:half], envelope[half:])) + b"0\r\n\r\n"
        await conn.send((head + "Transfer-Encoding: chunked\r\n\r\n").encode() + chunks)
        status, _, body = await conn.response()
        assert status == 200 and b"<ns:ServiceStatus>Started</ns:ServiceStatus>" in body
        await conn.send((head + f"Content-Length: {len(envelope)}\r\nExpect: 100-continue\r\n\r\n").encode())
        assert await asyncio.wait_for(conn.reader.readuntil(b"\r\n\r\n"), 5) == b"HTTP/1.1 100 Continue\r\n\r\n"
        await conn.send(envelope)
        status, _, body = await conn.response()
        assert status == 200
    finally:
        conn.close()


async def test_axl_context_root_redirects(estate: LabEstate) -> None:
    node = estate.node("cucm14-pub")
    conn = await RawHttps.open(node)
    try:
        await conn.send(get(node, "/axl"))
        status, headers, _ = await conn.response()
        assert status == 302 and headers["location"] == "/axl/"
    finally:
        conn.close()


async def test_a_tomcat_restart_closes_idle_connections_before_it_goes_on(fresh_estate: LabEstate) -> None:
    """The close is on the wire by the time the restart returns: a client that checks before reusing a
    keep-alive connection (as pooled clients do) sees it, so it never sends a request into it."""
    node = fresh_estate.node("cuc15-pub")
    conn = await RawHttps.open(node)
    try:
        await conn.send(get(node, "/"))
        assert (await conn.response())[0] == 404
        node.regenerate("tomcat")  # a new identity, served once Tomcat restarts
        await asyncio.sleep(0)
        assert not conn.close_pending()  # still the old process: the connection lives on
        await node.restart_service("Cisco Tomcat")
        assert conn.close_pending()  # no polling interval: told by the service change itself
        assert await conn.closed(timeout=1.0)
    finally:
        conn.close()


async def test_a_request_racing_a_tomcat_restart_is_answered_or_cleanly_refused(fresh_estate: LabEstate) -> None:
    """Keep-alive connection, Tomcat restart, a request at the same moment, in every interleaving.

    The client sees either the whole answer (and the request took effect) or a close before any
    byte of an answer (and the request took no effect, so retrying it is safe); never a hang,
    never a partial answer, never a request acted on but not answered.
    """
    node = fresh_estate.node("cuc15-pub")
    creds = fresh_estate.credentials
    auth = f"Authorization: {basic(creds.os_user, creds.os_password)}"
    body = {"service": "tomcat-ECDSA", "distribution": "this-server", "commonName": node.fqdn,
            "keyType": "ec", "keyLength": 256, "hashAlgorithm": "sha256"}
    outcomes: Counter[str] = Counter()
    for step in range(12):
        conn = await RawHttps.open(node)
        try:
            await conn.send(get(node, "/"))  # the connection is in keep-alive use
            assert (await conn.response())[0] == 404
            before = node.csr("tomcat-ECDSA")
            restart_first = step % 2 == 1
            if restart_first:  # the request goes out just after the restart (an old connection reused)
                restart = asyncio.ensure_future(node.restart_service("Cisco Tomcat"))
                for _ in range(step // 2):
                    await asyncio.sleep(0)
                conn.writer.write(post_json(node, f"{CERTMGR}/csr", body, auth))
            else:  # the request is under way, at various stages, when the restart begins
                conn.writer.write(post_json(node, f"{CERTMGR}/csr", body, auth))
                for _ in range(step // 2):
                    await asyncio.sleep(0)
                restart = asyncio.ensure_future(node.restart_service("Cisco Tomcat"))
            try:
                data = await conn.rest()
            except (ConnectionError, OSError):
                data = b""  # a reset is a close too; what matters is that nothing was half-done
            await restart
            after = node.csr("tomcat-ECDSA")
            if data:
                status, headers, answer = parse_response(data)
                assert status == 200 and after is not None and json.loads(answer)["csr"] == after.pem
                assert headers.get("connection") == "close" or restart_first is False
                outcomes["answered"] += 1
            else:
                assert after is before, "the request took effect but was not answered"
                outcomes["refused"] += 1
        finally:
            conn.close()
    assert sum(outcomes.values()) == 12
    retry = await RawHttps.open(node)  # what a client does after a refusal: a new connection
    try:
        await retry.send(post_json(node, f"{CERTMGR}/csr", body, auth))
        assert (await retry.response())[0] == 200
    finally:
        retry.close()


async def test_a_request_in_flight_when_tomcat_restarts_is_answered_then_closed(fresh_estate: LabEstate) -> None:
    node = fresh_estate.node("cucm14-sub1")
    node.profile = replace(node.profile, restart_default=0.15)  # Control Center's restart takes a moment
    creds = fresh_estate.credentials
    envelope = (f'<e:Envelope xmlns:e="http://schemas.xmlsoap.org/soap/envelope/"><e:Body>'
                f'<s:soapDoControlServices xmlns:s="{CC_NS}"><s:ControlServiceRequest>'
                f"<s:NodeName>{node.fqdn}</s:NodeName><s:ControlType>Restart</s:ControlType>"
                "<s:ServiceList><s:item>Cisco HAProxy</s:item></s:ServiceList></s:ControlServiceRequest>"
                "</s:soapDoControlServices></e:Body></e:Envelope>").encode()
    conn = await RawHttps.open(node)
    try:
        await conn.send((f"POST {CC_PATH} HTTP/1.1\r\nHost: {node.fqdn}\r\nContent-Type: text/xml\r\n"
                         f"Authorization: {basic(creds.app_user, creds.app_password)}\r\n"
                         f"Content-Length: {len(envelope)}\r\n\r\n").encode() + envelope)
        haproxy = node.service("Cisco HAProxy")
        while haproxy.status == "STARTED":  # the SOAP request is being handled
            await asyncio.sleep(0.01)
        await node.restart_service("Cisco Tomcat")
        status, headers, body = await conn.response()
        assert status == 200 and headers["connection"] == "close" and b"Cisco HAProxy" in body
        assert await conn.closed()
    finally:
        conn.close()


async def test_a_pooled_client_never_reuses_a_connection_a_restart_closed(fresh_estate: LabEstate) -> None:
    """httpx checks a pooled connection before reusing it: the restart's close must already be visible."""
    node = fresh_estate.node("cucm14-sub1")
    creds = fresh_estate.credentials
    # Not verifying: the regenerated self-signed certificate is in no bundle.
    async with NodeHttps(fresh_estate, node, auth=(creds.os_user, creds.os_password),
                         verify=insecure_context()) as api:
        first = await api.get(f"{CERTMGR}/snapshot/server")
        assert first.status_code == 200
        node.regenerate("tomcat")
        await node.restart_service("Cisco Tomcat")
        body = {"service": "tomcat", "distribution": "this-server", "commonName": node.fqdn,
                "keyType": "rsa", "keyLength": 2048, "hashAlgorithm": "sha256"}
        second = await api.post(f"{CERTMGR}/csr", json=body)  # not idempotent: a drop would not be retried
        assert second.status_code == 200, second.text
        assert response_leaf(second) == node.identity("tomcat").cert != response_leaf(first)


async def test_logs_never_carry_credentials(fresh_estate: LabEstate, caplog) -> None:  # type: ignore[no-untyped-def]
    node = fresh_estate.node("cucm14-pub")
    caplog.set_level("DEBUG", logger="ucterm.lab")
    secret = fresh_estate.credentials.os_password
    conn = await RawHttps.open(node)
    try:
        await conn.send(get(node, f"{CERTMGR}/snapshot/server", f"Authorization: {basic('admin', secret)}"))
        assert (await conn.response())[0] == 200
    finally:
        conn.close()
    text = caplog.text
    assert secret not in text and base64.b64encode(f"admin:{secret}".encode()).decode() not in text
    assert re.search(r"GET /platformcom/api/v1/certmgr/config/snapshot/server -> 200", text)
