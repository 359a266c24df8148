"""The HTTP/1.1 layer behind 8443, spoken by hand: framing, keep-alive, refusals, restarts."""

from __future__ import annotations

import asyncio
import base64
import re

from tests.lab_net.netclient import CC_NS, CC_PATH, CERTMGR, insecure_context
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

    def close(self) -> None:
        self.writer.close()


def basic(user: str, password: str) -> str:
    return "Basic " + base64.b64encode(f"{user}:{password}".encode()).decode()


def get(node: LabNode, path: str, *extra: str) -> bytes:
    lines = [f"GET {path} HTTP/1.1", f"Host: {node.fqdn}", *extra]
    return ("\r\n".join(lines) + "\r\n\r\n").encode()


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


async def test_a_tomcat_restart_closes_idle_connections(fresh_estate: LabEstate) -> None:
    node = fresh_estate.node("cuc15-pub")
    conn = await RawHttps.open(node)
    try:
        await conn.send(get(node, "/"))
        assert (await conn.response())[0] == 404
        node.regenerate("tomcat")  # a new identity, served once Tomcat restarts
        await asyncio.sleep(0.2)
        assert not await conn.closed(timeout=0.1)  # still the old process: the connection lives on
        await node.restart_service("Cisco Tomcat")
        assert await conn.closed()
    finally:
        conn.close()


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
