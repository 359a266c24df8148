"""The root ACME does not return: from `roots`, else the intermediate's AIA caIssuers (fetched from a
real HTTP server on loopback), else a progress line naming `roots`."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import AuthorityInformationAccessOID, NameOID

from ucterm import pki
from ucterm.renewal.signers.acme import complete_chain
from ucterm.signer_config import AcmeSpec, DnsCommand, SignerConfig


def _name(cn: str) -> x509.Name:
    return x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, cn)])


def _pair(aia: str | None) -> tuple[x509.Certificate, x509.Certificate]:
    now = datetime.now(UTC)
    root_key, key = ec.generate_private_key(ec.SECP256R1()), ec.generate_private_key(ec.SECP256R1())
    root = (x509.CertificateBuilder().subject_name(_name("Test ACME Root")).issuer_name(_name("Test ACME Root"))
            .public_key(root_key.public_key()).serial_number(1).not_valid_before(now)
            .not_valid_after(now + timedelta(days=9)).add_extension(x509.BasicConstraints(True, None), True)
            .sign(root_key, hashes.SHA256()))
    builder = (x509.CertificateBuilder().subject_name(_name("Test ACME Intermediate")).issuer_name(root.subject)
               .public_key(key.public_key()).serial_number(2).not_valid_before(now)
               .not_valid_after(now + timedelta(days=9)).add_extension(x509.BasicConstraints(True, 0), True))
    if aia:
        builder = builder.add_extension(x509.AuthorityInformationAccess([x509.AccessDescription(
            AuthorityInformationAccessOID.CA_ISSUERS, x509.UniformResourceIdentifier(aia))]), False)
    return root, builder.sign(root_key, hashes.SHA256())


@pytest.fixture
def http_server() -> Iterator[tuple[str, dict[str, bytes]]]:
    files: dict[str, bytes] = {}

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            body = files.get(self.path)
            self.send_response(200 if body else 404)
            self.send_header("Content-Length", str(len(body or b"")))
            self.end_headers()
            self.wfile.write(body or b"")

        def log_message(self, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}", files
    finally:
        server.shutdown()
        server.server_close()


def _config(roots: Path | None = None) -> SignerConfig:
    return SignerConfig("acme", "acme", AcmeSpec("https://127.0.0.1:1/dir", DnsCommand(("true", "{name}",
                                                                                        "{value}"))), roots=roots)


async def test_the_root_comes_from_the_aia_url(http_server: tuple[str, dict[str, bytes]]) -> None:
    base, files = http_server
    root, inter = _pair(f"{base}/root.cer")
    files["/root.cer"] = root.public_bytes(serialization.Encoding.DER)
    said: list[str] = []

    async def progress(line: str) -> None:
        said.append(line)

    found = await complete_chain(_config(), [pki.pem(inter)], progress)
    assert [pki.sha256_hex(c) for p in found for c in pki.load_bundle(p.encode()).certificates] == \
        [pki.sha256_hex(root)]
    assert any("fetched from" in s and "(AIA)" in s for s in said)


async def test_roots_first_then_a_clear_line_when_nothing_has_it(tmp_path: Path) -> None:
    root, inter = _pair(None)
    roots = tmp_path / "roots.pem"
    roots.write_text(pki.pem(root))
    said: list[str] = []

    async def progress(line: str) -> None:
        said.append(line)

    assert await complete_chain(_config(roots), [pki.pem(inter)], progress) == [pki.pem(root)]
    assert await complete_chain(_config(), [pki.pem(inter)], progress) == []
    assert "set roots in its [[signer]] table" in said[-1]
