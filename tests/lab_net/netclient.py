"""Plain clients for the lab's network face: ssl sockets, XMPP STARTTLS by hand, httpx.

Deliberately written from the reference and the RFCs (XMPP, HTTP), not from the lab's code, so
that the tests check what any client would see.
"""

from __future__ import annotations

import asyncio
import contextlib
import re
import ssl
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

import httpx
from cryptography import x509

from ucterm.lab import LabEstate, LabNode

SOAP_ENV = "http://schemas.xmlsoap.org/soap/envelope/"
CC_NS = "http://schemas.cisco.com/ast/soap"
CC_PATH = "/controlcenterservice2/services/ControlCenterServices"
AXL_PATH = "/axl/"
CERTMGR = "/platformcom/api/v1/certmgr/config"


def insecure_context() -> ssl.SSLContext:
    """Accept any certificate: we only want to read what the port presents."""
    context = ssl.create_default_context()
    context.check_hostname = False
    context.verify_mode = ssl.CERT_NONE
    return context


def verifying_context(estate: LabEstate) -> ssl.SSLContext:
    """Verify against the lab's CA bundle (root CA + self-signed identities), host name checked."""
    return ssl.create_default_context(cadata=estate.ca_bundle_pem())


def _leaf(writer: asyncio.StreamWriter) -> x509.Certificate:
    ssl_object = writer.get_extra_info("ssl_object")
    der = ssl_object.getpeercert(binary_form=True)
    return x509.load_der_x509_certificate(der)


async def tls_leaf(node: LabNode, port: str, *, sni: str | None = None,
                   context: ssl.SSLContext | None = None) -> x509.Certificate:
    """The leaf certificate a plain TLS port presents (SNI = the node's FQDN unless given)."""
    _, writer = await asyncio.wait_for(asyncio.open_connection(
        "127.0.0.1", node.ports[port], ssl=context or insecure_context(), server_hostname=sni or node.fqdn), 10)
    try:
        return _leaf(writer)
    finally:
        writer.close()


@dataclass
class XmppResult:
    header: str
    features: str
    leaf: x509.Certificate | None
    after_tls: str = ""


async def _read_until(reader: asyncio.StreamReader, pattern: str, limit: float = 5.0) -> str:
    data = ""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + limit
    while not re.search(pattern, data, re.S):
        chunk = await asyncio.wait_for(reader.read(4096), max(0.01, deadline - loop.time()))
        if not chunk:
            break
        data += chunk.decode()
    return data


def stream_header(to: str, content_ns: str) -> str:
    return (f"<?xml version='1.0'?><stream:stream to='{to}' xmlns='{content_ns}' "
            "xmlns:stream='http://etherx.jabber.org/streams' version='1.0'>")


async def xmpp_starttls(node: LabNode, port: str, *, to: str, content_ns: str | None = None,
                        context: ssl.SSLContext | None = None, server_hostname: str | None = None,
                        first_element: str = "<starttls xmlns='urn:ietf:params:xml:ns:xmpp-tls'/>") -> XmppResult:
    """RFC 6120 STARTTLS by hand: header, features, starttls, proceed, TLS, restarted stream."""
    content_ns = content_ns or ("jabber:client" if port == "xmpp_c2s" else "jabber:server")
    reader, writer = await asyncio.wait_for(asyncio.open_connection("127.0.0.1", node.ports[port]), 10)
    try:
        writer.write(stream_header(to, content_ns).encode())
        text = await _read_until(reader, r"</stream:features>|</stream:stream>")
        header = text.split("<stream:features>", 1)[0]
        if "<stream:features>" not in text:
            return XmppResult(header, "", None, text)
        features = text[text.index("<stream:features>"):]
        writer.write(first_element.encode())
        answer = await _read_until(reader, r"<proceed[^>]*/>|</stream:stream>")
        if "<proceed" not in answer:
            return XmppResult(header, features, None, answer)
        await asyncio.wait_for(writer.start_tls(context or insecure_context(),
                                                server_hostname=server_hostname or to), 10)
        leaf = _leaf(writer)
        writer.write(stream_header(to, content_ns).encode())
        after = await _read_until(reader, r"</stream:features>")
        writer.write(b"</stream:stream>")
        return XmppResult(header, features, leaf, after)
    finally:
        writer.close()


@contextlib.asynccontextmanager
async def xmpp_session(node: LabNode, port: str, *, to: str) -> AsyncIterator[tuple[asyncio.StreamReader,
                                                                                  asyncio.StreamWriter]]:
    """An XMPP stream after STARTTLS and the stream restart (RFC 6120 §5.4.3.3), held open."""
    content_ns = "jabber:client" if port == "xmpp_c2s" else "jabber:server"
    reader, writer = await asyncio.wait_for(asyncio.open_connection("127.0.0.1", node.ports[port]), 10)
    try:
        writer.write(stream_header(to, content_ns).encode())
        await _read_until(reader, r"</stream:features>")
        writer.write(b"<starttls xmlns='urn:ietf:params:xml:ns:xmpp-tls'/>")
        await _read_until(reader, r"<proceed[^>]*/>")
        await asyncio.wait_for(writer.start_tls(insecure_context(), server_hostname=to), 10)
        writer.write(stream_header(to, content_ns).encode())
        assert "mechanisms" in await _read_until(reader, r"</stream:features>")
        yield reader, writer
    finally:
        writer.close()


class NodeHttps:
    """httpx against one node: connect to 127.0.0.1:<https>, verify and send SNI/Host as the FQDN.

    httpx 0.28 (httpcore 1.x) takes the `sni_hostname` request extension for both SNI and the
    certificate's host name check, while the TCP connection goes to the URL's address.
    """

    def __init__(self, estate: LabEstate, node: LabNode, *, auth: tuple[str, str] | None = None,
                 verify: ssl.SSLContext | bool | None = None) -> None:
        self.node = node
        self.client = httpx.AsyncClient(
            base_url=f"https://127.0.0.1:{node.ports['https']}",
            verify=verifying_context(estate) if verify is None else verify,
            auth=auth, headers={"Host": f"{node.fqdn}:{node.ports['https']}"}, timeout=20.0, trust_env=False)

    async def request(self, method: str, path: str, **kwargs: Any) -> httpx.Response:
        return await self.client.request(method, path, extensions={"sni_hostname": self.node.fqdn}, **kwargs)

    async def get(self, path: str, **kwargs: Any) -> httpx.Response:
        return await self.request("GET", path, **kwargs)

    async def post(self, path: str, **kwargs: Any) -> httpx.Response:
        return await self.request("POST", path, **kwargs)

    async def soap(self, path: str, body: str, *, action: str = "", envelope: bool = True) -> httpx.Response:
        text = (f'<soapenv:Envelope xmlns:soapenv="{SOAP_ENV}"><soapenv:Header/><soapenv:Body>{body}'
                "</soapenv:Body></soapenv:Envelope>") if envelope else body
        return await self.post(path, content=text.encode(), headers={"Content-Type": "text/xml; charset=utf-8",
                                                                     "SOAPAction": action})

    async def aclose(self) -> None:
        await self.client.aclose()

    async def __aenter__(self) -> NodeHttps:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.aclose()


def response_leaf(response: httpx.Response) -> x509.Certificate:
    """The certificate of the connection a response came over."""
    stream = response.extensions["network_stream"]
    der = stream.get_extra_info("ssl_object").getpeercert(binary_form=True)
    return x509.load_der_x509_certificate(der)
