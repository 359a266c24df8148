"""The AD CS signer's pieces against the lab's web enrollment (a real NTLM acceptor over TLS on loopback).

Extended Protection: a client that omits the channel binding is refused with 401 whatever its
password, and the same client is let in where Extended Protection is off; ucterm's flow sends
the binding of the certificate its own connection negotiated.
"""

from __future__ import annotations

import ssl
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.serialization import Encoding
from cryptography.x509.oid import NameOID

from ucterm.lab import adcs, certs
from ucterm.lab.ca import LabCA
from ucterm.lab.clock import LabClock
from ucterm.lab.keys import KeySource
from ucterm.renewal.signers.adcs import parse_disposition
from ucterm.renewal.signers.negotiate import NegotiateAuth, server_end_point

USER = f"{adcs.DOMAIN}\\{adcs.USER}"


async def _site(require_binding: bool) -> adcs.LabWebEnrollment:
    keys, clock = KeySource(), LabClock()
    site = adcs.LabWebEnrollment(LabCA(keys, clock), keys, clock, require_binding=require_binding)
    await site.start()
    return site


@pytest.fixture
async def site() -> AsyncIterator[adcs.LabWebEnrollment]:
    s = await _site(True)
    try:
        yield s
    finally:
        await s.stop()


def _client(site: adcs.LabWebEnrollment, auth: httpx.Auth) -> httpx.AsyncClient:
    ctx = ssl.create_default_context(cafile=None, cadata=certs.cert_pem(site.ca.root))
    return httpx.AsyncClient(verify=ctx, auth=auth, trust_env=False, limits=httpx.Limits(max_connections=1))


async def test_ntlm_with_the_channel_binding_is_let_in(site: adcs.LabWebEnrollment) -> None:
    auth = NegotiateAuth(USER, adcs.PASSWORD, "ntlm")
    async with _client(site, auth) as http:
        response = await http.get(f"{site.url}/")
        again = await http.get(f"{site.url}/")  # the connection stays authenticated (IIS)
    assert response.status_code == 200 and "Welcome" in response.text and again.status_code == 200
    assert auth.outcome == "authenticated" and site.refusals == []


async def test_epa_refuses_a_client_without_the_channel_binding(site: adcs.LabWebEnrollment) -> None:
    auth = NegotiateAuth(USER, adcs.PASSWORD, "ntlm", channel_binding=False)
    async with _client(site, auth) as http:
        response = await http.get(f"{site.url}/")
    assert response.status_code == 401
    assert site.refusals and "no channel binding" in site.refusals[-1]


async def test_the_same_client_passes_where_epa_is_off() -> None:
    site = await _site(False)
    try:
        async with _client(site, NegotiateAuth(USER, adcs.PASSWORD, "ntlm", channel_binding=False)) as http:
            assert (await http.get(f"{site.url}/")).status_code == 200
    finally:
        await site.stop()


async def test_wrong_password_is_refused(site: adcs.LabWebEnrollment) -> None:
    auth = NegotiateAuth(USER, "not-it", "ntlm")
    async with _client(site, auth) as http:
        response = await http.get(f"{site.url}/")
    assert response.status_code == 401 and auth.outcome == "the server refused the credentials"
    assert "not-it" not in repr(auth)


def _cert(algorithm: hashes.HashAlgorithm) -> bytes:
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "ca.test")])
    now = datetime.now(UTC)
    cert = (x509.CertificateBuilder().subject_name(name).issuer_name(name).public_key(key.public_key())
            .serial_number(1).not_valid_before(now).not_valid_after(now + timedelta(days=1)).sign(key, algorithm))
    return cert.public_bytes(Encoding.DER)


@pytest.mark.parametrize(("signed_with", "hashed_with"), [(hashes.SHA256(), hashes.SHA256()),
                                                          (hashes.SHA384(), hashes.SHA384()),
                                                          (hashes.SHA512(), hashes.SHA512())])
def test_tls_server_end_point_uses_the_signature_hash(signed_with: hashes.HashAlgorithm,
                                                      hashed_with: hashes.HashAlgorithm) -> None:
    der = _cert(signed_with)
    digest = hashes.Hash(hashed_with)
    digest.update(der)
    assert server_end_point(der) == digest.finalize()


PAGES = Path(__file__).with_name("pages")


@pytest.mark.parametrize(("page", "state", "rid", "message"), [
    ("issued.html", "issued", "23", ""),
    ("pending.html", "pending", "24", "Taken Under Submission"),
    ("denied.html", "denied", "25", "Denied by Policy Module  0x80094800, The request was for a certificate "
                                    "template that is not supported by the Active Directory Certificate "
                                    "Services policy: WebServer2."),
    ("error.html", "error", None, "Error Parsing Request  ASN1 bad tag value met. 0x8009310b"),
])
def test_disposition_pages(page: str, state: str, rid: str | None, message: str) -> None:
    found = parse_disposition((PAGES / page).read_text())
    assert (found.state, found.request_id) == (state, rid)
    assert " ".join(found.message.split()) == " ".join(message.split()) or (not message and state == "issued")
