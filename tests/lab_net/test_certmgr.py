"""certmgr REST (§4.1): renewal over REST, multi-server, absence before v14, auth and error bodies."""

from __future__ import annotations

import asyncio
import threading
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives.asymmetric import rsa

from tests.lab_net.netclient import CERTMGR, NodeHttps, response_leaf, tls_leaf
from ucterm.lab import LabEstate, LabNode, certs, keys
from ucterm.lab.certs import load_csr, sans_of


def os_api(estate: LabEstate, node: LabNode) -> NodeHttps:
    return NodeHttps(estate, node, auth=(estate.credentials.os_user, estate.credentials.os_password))


def csr_body(service: str, cn: str, *, distribution: str = "this-server", **extra: object) -> dict[str, object]:
    """The netSSL body of §4.1 [VERIFIED: C-netSSL]."""
    return {"service": service, "distribution": distribution, "commonName": cn, "keyType": "rsa",
            "keyLength": 2048, "hashAlgorithm": "sha256", **extra}


async def test_renewal_over_rest_is_served_only_after_the_restart(fresh_estate: LabEstate) -> None:
    node = fresh_estate.node("cucm14-sub1")
    old = node.served_certificate("tomcat")
    async with os_api(fresh_estate, node) as api:
        answer = await api.post(f"{CERTMGR}/csr", json=csr_body("tomcat", node.fqdn, altNames=["alt.lab.example"]))
        assert answer.status_code == 200, answer.text
        csr = load_csr(answer.json()["csr"])
        assert sans_of(csr) == [node.fqdn, "alt.lab.example"]
        leaf, chain = fresh_estate.ca.sign(answer.json()["csr"])
        trust = await api.post(f"{CERTMGR}/trust/certificates",
                               json={"service": ["tomcat"], "certificates": chain, "description": "Lab CA"})
        assert trust.status_code == 200, trust.text
        identity = await api.post(f"{CERTMGR}/identity/certificates",
                                  json={"service": "tomcat", "certificates": [leaf, chain[0]]})
        assert identity.status_code == 200, identity.text
        assert identity.json()["servers"] == [node.fqdn]
        new = x509.load_pem_x509_certificate(leaf.encode())
        installed = await api.get(f"{CERTMGR}/identity/certificate", params={"service": "tomcat"})
        assert x509.load_pem_x509_certificate(installed.json()["certificate"].encode()) == new
        # Installed, not yet served: Tomcat still runs with the old certificate (§3).
        assert await tls_leaf(node, "https") == old
        assert response_leaf(installed) == old
        await node.restart_service("Cisco Tomcat")
        assert await tls_leaf(node, "https") == new
        # The restart closed the old keep-alive connection at once: httpx sees it and reconnects.
        again = await api.get(f"{CERTMGR}/identity/certificate", params={"service": "tomcat"})
        assert again.status_code == 200 and response_leaf(again) == new


async def test_multi_server_csr_on_the_publisher_installs_on_every_san_node(fresh_estate: LabEstate) -> None:
    publisher = fresh_estate.node("cucm14-pub")
    members = [*fresh_estate.cluster("hq").nodes, *fresh_estate.cluster("presence").nodes]
    old = {n.fqdn: n.served_certificate("tomcat") for n in members}
    async with os_api(fresh_estate, publisher) as api:
        answer = await api.post(f"{CERTMGR}/csr", json=csr_body("tomcat", "cucm14-pub-ms.lab.example",
                                                                distribution="multi-server"))
        assert answer.status_code == 200, answer.text
        # §2.1: every node of the cluster, and for tomcat the IM&P nodes too.
        assert set(sans_of(load_csr(answer.json()["csr"]))) == {n.fqdn for n in members}
        leaf, chain = fresh_estate.ca.sign(answer.json()["csr"])
        upload = await api.post(f"{CERTMGR}/identity/certificates",
                                json={"service": "tomcat", "certificates": [leaf, *chain[:1]]})
        assert upload.status_code == 200, upload.text
        assert sorted(upload.json()["servers"]) == sorted(n.fqdn for n in members)
    new = x509.load_pem_x509_certificate(leaf.encode())
    for node in members:
        assert node.identity("tomcat").cert == new
        assert await tls_leaf(node, "https") == old[node.fqdn]
        await node.restart_service("Cisco Tomcat")
    await asyncio.sleep(0.4)  # cucm14-sub2's Tomcat comes up a little after `[STARTING]` (quirk)
    for node in members:
        assert await tls_leaf(node, "https") == new
    subscriber = fresh_estate.node("cucm14-sub1")
    async with os_api(fresh_estate, subscriber) as api:
        refused = await api.post(f"{CERTMGR}/csr", json=csr_body("tomcat", "x-ms.lab.example",
                                                                 distribution="multi-server"))
        assert refused.status_code == 400 and "publisher" in refused.json()["message"]


async def test_no_rest_api_before_release_14(estate: LabEstate) -> None:
    node = estate.node("cucm125-sub1")
    async with os_api(estate, node) as api:
        assert (await api.get(f"{CERTMGR}/snapshot/server")).status_code == 404
        assert (await api.post(f"{CERTMGR}/csr", json=csr_body("tomcat", node.fqdn))).status_code == 404
    async with os_api(estate, estate.node("cuc15-sub")) as api:  # v14+ on every product (§4.1)
        assert (await api.get(f"{CERTMGR}/snapshot/server")).status_code == 200


async def test_certmgr_wants_the_os_administrator(estate: LabEstate) -> None:
    node = estate.node("cucm14-pub")
    creds = estate.credentials
    for auth in (None, (creds.os_user, "wrong"), (creds.app_user, creds.app_password)):
        async with NodeHttps(estate, node, auth=auth) as api:
            answer = await api.get(f"{CERTMGR}/snapshot/server")
            assert answer.status_code == 401
            assert answer.headers["www-authenticate"].startswith("Basic realm=")


async def test_reading_the_certificates(estate: LabEstate) -> None:
    node = estate.node("cucm14-pub")
    async with os_api(estate, node) as api:
        snapshot = (await api.get(f"{CERTMGR}/snapshot/server")).json()
        identities = {c["service"]: c for c in snapshot["certificates"] if c["type"] == "identity"}
        assert set(identities) == set(node.units)
        tomcat = identities["tomcat"]
        assert tomcat["distribution"] == "multi-server" and not tomcat["selfSigned"]
        assert x509.load_pem_x509_certificate(tomcat["certificate"].encode()) == node.identity("tomcat").cert
        trust_rows = [c for c in snapshot["certificates"] if c["type"] == "trust"]
        assert len(trust_rows) == len(node.trust_entries())
        trust = await api.get(f"{CERTMGR}/trust/certificate", params={"service": "tomcat"})
        assert isinstance(trust.json(), list)
        pems = {x509.load_pem_x509_certificate(t["certificate"].encode()) for t in trust.json()}
        assert estate.ca.root in pems and estate.ca.intermediate in pems
        assert (await api.get(f"{CERTMGR}/trust/certificate", params={"service": "nope"})).status_code == 400
        assert (await api.get(f"{CERTMGR}/identity/certificate")).status_code == 400
        assert (await api.post(f"{CERTMGR}/snapshot/server")).status_code == 405
        assert (await api.get(f"{CERTMGR}/nothing/here")).status_code == 404


async def test_upload_errors_carry_the_vos_text(fresh_estate: LabEstate) -> None:
    node = fresh_estate.node("cucm14-sub2")
    async with os_api(fresh_estate, node) as api:
        first = (await api.post(f"{CERTMGR}/csr", json=csr_body("tomcat", node.fqdn))).json()["csr"]
        stale, chain = fresh_estate.ca.sign(first)
        second = (await api.post(f"{CERTMGR}/csr", json=csr_body("tomcat", node.fqdn))).json()["csr"]
        # §4.1 [VERIFIED: C-netSSL]: a certificate from an old CSR → 500; §5.3 text.
        mismatch = await api.post(f"{CERTMGR}/identity/certificates",
                                  json={"service": "tomcat", "certificates": [stale, chain[0]]})
        assert mismatch.status_code == 500
        assert mismatch.json() == {"message": "CSR Public Key and Certificate Public Key Do Not Match"}
        # §4.1 [VERIFIED: C-netSSL]: issuing CA not in trust → 400.
        foreign, _ = fresh_estate.ca.sign(second, issuer="untrusted")
        untrusted = await api.post(f"{CERTMGR}/identity/certificates",
                                   json={"service": "tomcat", "certificates": [foreign]})
        assert untrusted.status_code == 400
        assert untrusted.json()["message"] == "CA Certificate is Not Available in the Trust-Store"
        other_sans, _ = fresh_estate.ca.sign(second, extra_sans=["extra.lab.example"])
        san = await api.post(f"{CERTMGR}/identity/certificates", json={"service": "tomcat",
                                                                       "certificates": [other_sans]})
        assert san.status_code == 400 and "SAN" in san.json()["message"]
        # Wrong bodies: service must be an array for trust; JSON only; a known unit; keyLength in range.
        as_string = await api.post(f"{CERTMGR}/trust/certificates",
                                   json={"service": "tomcat", "certificates": chain, "description": "x"})
        assert as_string.status_code == 400 and "array" in as_string.json()["message"]
        as_array = await api.post(f"{CERTMGR}/identity/certificates",
                                  json={"service": ["tomcat"], "certificates": [stale]})
        assert as_array.status_code == 400 and "string" in as_array.json()["message"]
        form = await api.post(f"{CERTMGR}/csr", data={"service": "tomcat"})
        assert form.status_code == 415
        broken = await api.post(f"{CERTMGR}/csr", content=b"{not json", headers={"Content-Type": "application/json"})
        assert broken.status_code == 400
        unknown = await api.post(f"{CERTMGR}/csr", json=csr_body("cup-xmpp", node.fqdn))
        assert unknown.status_code == 400 and "cup-xmpp" in unknown.json()["message"]
        too_big = await api.post(f"{CERTMGR}/csr", json=csr_body("tomcat", node.fqdn, keyLength=8192))
        assert too_big.status_code == 400
        wildcard = await api.post(f"{CERTMGR}/csr", json=csr_body("tomcat", "*.lab.example"))
        assert wildcard.status_code == 400
    # The outstanding CSR is still the second one: refusals consumed nothing.
    assert node.csr("tomcat") is not None and node.csr("tomcat").pem == second  # type: ignore[union-attr]


async def test_the_csr_is_signed_with_the_hash_asked_for(fresh_estate: LabEstate,
                                                         monkeypatch: pytest.MonkeyPatch) -> None:
    node = fresh_estate.node("cuc15-sub")
    async with os_api(fresh_estate, node) as api:
        for name in ("sha256", "sha384", "sha512"):
            answer = await api.post(f"{CERTMGR}/csr", json=csr_body("tomcat", node.fqdn, hashAlgorithm=name))
            assert answer.status_code == 200, answer.text
            assert load_csr(answer.json()["csr"]).signature_hash_algorithm.name == name  # type: ignore[union-attr]
        outstanding = node.csr("tomcat")
        sha1 = await api.post(f"{CERTMGR}/csr", json=csr_body("tomcat", node.fqdn, hashAlgorithm="SHA1"))
        if certs.hash_signable("sha1"):  # older cryptography releases still sign SHA-1
            assert sha1.status_code == 200
            assert load_csr(sha1.json()["csr"]).signature_hash_algorithm.name == "sha1"  # type: ignore[union-attr]
        else:  # never silently signed with another hash
            assert sha1.status_code == 400
            assert sha1.json() == {"message": "Hash algorithm SHA1 is not supported on this system; use SHA256."}
            assert node.csr("tomcat") is outstanding  # the refusal consumed nothing
        monkeypatch.setattr(certs, "hash_signable", lambda name: name == "sha256")  # a FIPS-like library
        refused = await api.post(f"{CERTMGR}/csr", json=csr_body("tomcat", node.fqdn, hashAlgorithm="sha512"))
        assert refused.status_code == 400 and "SHA512 is not supported" in refused.json()["message"]


async def test_the_auto_populated_sans_come_from_the_node(estate: LabEstate) -> None:
    imp = estate.node("imp14-pub")
    async with os_api(estate, imp) as api:
        answer = await api.post(f"{CERTMGR}/csr", json=csr_body("cup-xmpp-s2s", imp.fqdn, distribution="multi-server",
                                                                altNames=["Extra.lab.example"]))
        assert answer.status_code == 200, answer.text
    imp.discard_csr("cup-xmpp-s2s")  # the module's estate stays as it was
    assert sans_of(load_csr(answer.json()["csr"])) == [*imp.default_sans("cup-xmpp-s2s", True), "extra.lab.example"]


async def test_a_slow_key_does_not_stall_the_other_nodes(fresh_estate: LabEstate, tmp_path: Path,
                                                         monkeypatch: pytest.MonkeyPatch) -> None:
    """RSA 3072/4096 keys take seconds; every node shares the event loop, so they are made in a thread."""
    node = fresh_estate.node("cucm14-sub1")
    node.keys = keys.KeySource(keys.KeyPool(tmp_path))  # an empty cache: the key is really generated
    generating, release = threading.Event(), threading.Event()
    real = keys.new_rsa_key

    def held_key(bits: int = 2048) -> rsa.RSAPrivateKey:
        generating.set()
        assert release.wait(5), "key generation ran on the event loop: nothing else could run meanwhile"
        return real(bits)

    monkeypatch.setattr(keys, "new_rsa_key", held_key)
    async with os_api(fresh_estate, node) as api, os_api(fresh_estate, fresh_estate.node("cucm14-pub")) as other:
        pending = asyncio.ensure_future(api.post(f"{CERTMGR}/csr", json=csr_body("tomcat", node.fqdn,
                                                                                  keyLength=1024)))
        assert await asyncio.to_thread(generating.wait, 5)
        assert (await other.get(f"{CERTMGR}/snapshot/server")).status_code == 200  # served meanwhile
        assert not pending.done()
        release.set()
        answer = await pending
    assert answer.status_code == 200, answer.text
    assert load_csr(answer.json()["csr"]).public_key().key_size == 1024  # type: ignore[union-attr]


async def test_an_armed_rest_error_answers_for_one_service(fresh_estate: LabEstate) -> None:
    node = fresh_estate.node("cucm14-sub1")
    node.faults.rest_error(400, route="trust/certificate", service="CallManager", message="Unknown unit")
    node.faults.rest_error(503, route="snapshot/server", times=1)
    async with os_api(fresh_estate, node) as api:
        refused = await api.get(f"{CERTMGR}/trust/certificate", params={"service": "CallManager"})
        assert (refused.status_code, refused.json()) == (400, {"message": "Unknown unit"})
        fine = await api.get(f"{CERTMGR}/trust/certificate", params={"service": "tomcat"})
        assert fine.status_code == 200 and fine.json()
        assert (await api.get(f"{CERTMGR}/snapshot/server")).status_code == 503
        assert (await api.get(f"{CERTMGR}/snapshot/server")).status_code == 200  # armed once
    assert node.received.rest == ["GET trust/certificate", "GET trust/certificate", "GET snapshot/server",
                                  "GET snapshot/server"]


async def test_refused_logins_also_refuse_certmgr(fresh_estate: LabEstate) -> None:
    node = fresh_estate.node("cucm14-sub1")
    node.faults.refuse_logins()
    async with os_api(fresh_estate, node) as api:
        assert (await api.get(f"{CERTMGR}/snapshot/server")).status_code == 401
