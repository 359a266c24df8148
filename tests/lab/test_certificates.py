"""CSR → lab CA → trust import → identity import → restart → served certificate, and every refusal (§1.3–§1.8, §5)."""

from __future__ import annotations

import asyncio
import re
import threading
from datetime import timedelta
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from tests.lab.conftest import OpenClient
from tests.lab.vosclient import NOW, PROMPT, VosClient, clean
from ucterm.lab import LabEstate, VosError, certs, keys
from ucterm.lab.certs import load_csr, sans_of

OU_QUESTION = r"Include OU in CSR \(yes\|no\)\?"


async def _csr_via_cli(client: VosClient, unit: str, *, asks_ou: bool = True, ou: str = "no") -> str:
    steps = [(OU_QUESTION, ou + "\r")] if asks_ou else []
    out = await client.dialog(f"set csr gen {unit}", steps)
    assert f"Successfully Generated CSR for {unit}." in out
    return await client.run(f"show csr own {unit}")


async def _trust_chain(client: VosClient, unit: str, chain: list[str]) -> None:
    for pem in reversed(chain):  # root first, then the intermediate (§5.4)
        out = await client.paste(f"set cert import trust {unit}", pem)
        assert out.splitlines()[-3:] == [f"Successfully imported certificate for {unit}.",
                                         f"Please restart services related to {unit} for the new certificate to",
                                         "become active."]


async def test_csr_gen_asks_ou_from_14su1(fresh_estate: LabEstate, open_client: OpenClient) -> None:
    node = fresh_estate.node("cucm14-sub1")
    client = await open_client(node)
    text = await _csr_via_cli(client, "tomcat", ou="no")
    assert text.startswith("-----BEGIN CERTIFICATE REQUEST-----")
    body = text.splitlines()[1:-1]
    assert all(len(line) <= 64 for line in body) and len(body[0]) == 64
    csr = load_csr(text)
    assert csr.subject.get_attributes_for_oid(NameOID.ORGANIZATIONAL_UNIT_NAME) == []
    assert csr.subject.get_attributes_for_oid(NameOID.COMMON_NAME)[0].value == "cucm14-sub1.lab.example"
    assert sans_of(csr) == ["cucm14-sub1.lab.example"]
    eku = csr.extensions.get_extension_for_class(x509.ExtendedKeyUsage).value
    assert {ExtendedKeyUsageOID.SERVER_AUTH, ExtendedKeyUsageOID.CLIENT_AUTH} <= set(eku)
    assert await client.run("show csr list own") == "tomcat/tomcat.csr"
    with_ou = load_csr(await _csr_via_cli(client, "tomcat", ou="yes"))
    assert with_ou.subject.get_attributes_for_oid(NameOID.ORGANIZATIONAL_UNIT_NAME)
    assert with_ou.public_key() != csr.public_key()  # a new CSR replaces the old one and its key (§1.3)
    assert node.csr("tomcat").csr == with_ou  # type: ignore[union-attr]


async def test_csr_on_12_5_has_the_legacy_header_and_no_question(fresh_estate: LabEstate,
                                                                  open_client: OpenClient) -> None:
    client = await open_client(fresh_estate.node("cucm125-sub1"))
    text = await _csr_via_cli(client, "CallManager", asks_ou=False)
    assert text.startswith("-----BEGIN CERTIFICATE SIGN REQUEST-----")
    assert text.endswith("-----END CERTIFICATE SIGN REQUEST-----")
    assert "Include OU" not in client.transcript
    csr = load_csr(text)
    assert csr.subject.get_attributes_for_oid(NameOID.ORGANIZATIONAL_UNIT_NAME)  # OU always before 14SU1
    assert "KEY_AGREEMENT" not in str(csr) and csr.is_signature_valid


async def test_ecdsa_csr(fresh_estate: LabEstate, open_client: OpenClient) -> None:
    client = await open_client(fresh_estate.node("cucm14-pub"))
    csr = load_csr(await _csr_via_cli(client, "tomcat-ECDSA"))
    assert isinstance(csr.public_key(), ec.EllipticCurvePublicKey)


@pytest.mark.parametrize(("fqdn", "unit", "service", "asks_ou"), [
    ("cucm125-pub", "tomcat", "Cisco Tomcat", False),
    ("cucm14-sub1", "CallManager", "Cisco HAProxy", True),  # 14SU1+: HAProxy serves SIP TLS (§3.1)
    ("imp14-sub1", "cup", "Cisco SIP Proxy", True),
])
async def test_renewal_over_the_cli(fresh_estate: LabEstate, open_client: OpenClient, fqdn: str, unit: str,
                                    service: str, asks_ou: bool) -> None:
    node = fresh_estate.node(fqdn)
    before = node.served_certificate(unit)
    client = await open_client(node)
    csr_text = await _csr_via_cli(client, unit, asks_ou=asks_ou)
    leaf_pem, chain = fresh_estate.ca.sign(csr_text)
    await _trust_chain(client, unit, chain)
    out = await client.paste(f"set cert import own {unit}", leaf_pem)
    assert f"Successfully imported certificate for {unit}." in out
    leaf = x509.load_pem_x509_certificate(leaf_pem.encode())
    assert node.identity(unit).cert == leaf
    assert node.csr(unit) is None and await client.run("show csr list own") == ""  # consumed (§5.3)
    listing = await client.run("show cert list own")
    assert f"{unit}/{unit}.pem: Certificate Signed by ucterm Lab Issuing CA" in listing.splitlines()
    assert node.served_certificate(unit) == before  # nothing changes on the wire before the restart
    if node.product == "imp":
        fresh_estate.set_ha("DefaultCluster", False)  # the procedure's rule for cup* restarts (§3.4)
    restart = await client.run(f"utils service restart {service}")
    assert restart.splitlines()[-1] == f"{service}[STARTED]"
    assert node.served_certificate(unit) == leaf
    assert [c.subject for c in node.served_identity(unit).chain] == [fresh_estate.ca.intermediate.subject]  # type: ignore[union-attr]


async def test_import_errors(fresh_estate: LabEstate, open_client: OpenClient) -> None:
    node = fresh_estate.node("cuc15-pub")  # tomcat-trust holds the lab CA
    ca = fresh_estate.ca
    client = await open_client(node)

    async def own(pem: str, extra: str = "") -> str:
        return await client.paste(f"set cert import own tomcat{extra}", pem)

    no_csr = await own(ca.chain_pems[0])
    assert "File /usr/local/platform/.security/tomcat/keys/tomcat.csr Does Not Exist" in no_csr
    assert no_csr.splitlines()[-1] == "Executed command unsuccessfully"
    old_csr = await _csr_via_cli(client, "tomcat")
    old_leaf, _ = ca.sign(old_csr)
    csr = await _csr_via_cli(client, "tomcat")
    assert "CSR Public Key and Certificate Public Key Do Not Match" in await own(old_leaf)
    other_sans, _ = ca.sign(csr, sans=["voicemail.lab.example"])
    assert "CSR Subject Alternate Name (SAN) and Certificate SAN Does Not Match" in await own(other_sans)
    wildcard, _ = ca.sign(csr, wildcard=True)
    assert "CSR Subject Alternate Name (SAN) and Certificate SAN Does Not Match" in await own(wildcard)
    untrusted, _ = ca.sign(csr, issuer="untrusted")
    assert "CA Certificate is Not Available in the Trust-Store" in await own(untrusted)
    expired, _ = ca.sign(csr, not_before=NOW - timedelta(days=400), not_after=NOW - timedelta(days=1))
    assert "expired" in await own(expired)
    assert "could not be uploaded" in await own("this is not a certificate")
    good, _ = ca.sign(csr)
    assert "CA Certificate is Not Available in the Trust-Store" in await own(good, " tomcat-trust/missing.pem")
    assert node.csr("tomcat") is not None  # refusals leave the CSR in place
    root_file = next(e.name for e in node.trust_entries("tomcat-trust") if e.cert == ca.root)
    assert "Successfully imported certificate for tomcat." in await own(good, f" tomcat-trust/{root_file}")


async def test_intermediate_missing_from_trust(fresh_estate: LabEstate, open_client: OpenClient) -> None:
    node = fresh_estate.node("cucm125-pub")  # tomcat-trust has no lab CA
    client = await open_client(node)
    leaf, chain = fresh_estate.ca.sign(await _csr_via_cli(client, "tomcat", asks_ou=False))
    await client.paste("set cert import trust tomcat", chain[-1])  # the root only
    assert "CA Certificate is Not Available in the Trust-Store" in await client.paste("set cert import own tomcat",
                                                                                     leaf)


async def test_no_client_auth_is_accepted_by_vos(fresh_estate: LabEstate) -> None:
    """VOS does not check EKU at upload (§5.1 is a later mutual-TLS problem), so the lab accepts it."""
    node = fresh_estate.node("cuc15-pub")
    leaf, chain = fresh_estate.ca.sign(node.generate_csr("tomcat"), drop_client_auth=True)
    cert = x509.load_pem_x509_certificate(leaf.encode())
    assert ExtendedKeyUsageOID.CLIENT_AUTH not in cert.extensions.get_extension_for_class(x509.ExtendedKeyUsage).value
    result = node.import_identity("tomcat", [leaf, *chain], via="rest")
    assert result.ok and result.installed_on == ("cuc15-pub.lab.example",)


def _ca_like(cn: str, days_ago: int, days: int) -> str:
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, cn)])
    start = NOW - timedelta(days=days_ago)
    cert = (x509.CertificateBuilder().subject_name(name).issuer_name(name).public_key(key.public_key())
            .serial_number(x509.random_serial_number()).not_valid_before(start)
            .not_valid_after(start + timedelta(days=days))
            .add_extension(x509.BasicConstraints(ca=True, path_length=None), True).sign(key, hashes.SHA256()))
    from cryptography.hazmat.primitives.serialization import Encoding

    return cert.public_bytes(Encoding.PEM).decode()


async def test_trust_import_rules(fresh_estate: LabEstate, open_client: OpenClient) -> None:
    pub, sub = fresh_estate.node("cucm14-pub"), fresh_estate.node("cucm14-sub1")
    client = await open_client(pub)
    renewed_root = _ca_like("ucterm Lab Root CA", 1, 3650)
    await client.paste("set cert import trust tomcat", renewed_root)
    for node in (pub, sub):  # tomcat-trust replicates cluster-wide (§5.4)
        roots = [e for e in node.trust_entries("tomcat-trust") if e.name.startswith("ucterm_Lab_Root_CA_")
                 and not e.name.startswith("ucterm_Lab_Root_CA_2015")]
        assert [e.cert.not_valid_before_utc for e in roots] == [NOW - timedelta(days=1)]  # the older one is gone
    expired = _ca_like("Retired CA", 800, 365)
    out = await client.paste("set cert import trust CallManager", expired)
    assert "expired" in out and out.splitlines()[-1] == "Executed command unsuccessfully"
    await client.paste("set cert import trust CAPF", _ca_like("Node Local CA", 1, 365))
    assert any(e.name.startswith("Node_Local_CA_") for e in pub.trust_entries("CAPF-trust"))
    assert not any(e.name.startswith("Node_Local_CA_") for e in sub.trust_entries("CAPF-trust"))  # node-local
    assert "Invalid certificate unit name: tomcat-trust" in await client.run("set cert import trust tomcat-trust")


async def test_regen_asks_first(fresh_estate: LabEstate, open_client: OpenClient) -> None:
    node = fresh_estate.node("cuc15-pub")
    before = node.identity("tomcat")
    client = await open_client(node)
    proceed = r"Proceed with regeneration \(yes\|no\)\? "
    out = await client.dialog("set cert regen tomcat", [(proceed, "no\r")])
    assert "WARNING: This operation will overwrite any CA signed certificate previously imported for  tomcat" in out
    assert node.identity("tomcat") == before
    out = await client.dialog("set cert regen tomcat", [(proceed, "yes\r")])
    assert out.splitlines()[-2:] == [
        "Successfully Regenerated Certificate for tomcat.",
        "You must restart services related to tomcat for the regenerated certificates to become active."]
    after = node.identity("tomcat")
    assert after.self_signed and after.key != before.key
    assert "tomcat/tomcat.pem: Self-signed certificate generated by system" in await client.run("show cert list own")
    assert any(e.cert == after.cert for e in fresh_estate.node("cuc15-sub").trust_entries("tomcat-trust"))


async def test_set_web_security_regenerates_a_self_signed_tomcat(fresh_estate: LabEstate,
                                                                open_client: OpenClient) -> None:
    node = fresh_estate.node("cuc15-pub")
    assert not node.identity("tomcat").self_signed
    client = await open_client(node, size=(200, 200))
    out = await client.run('set web-security "IT Dept" "Example Corp" Boston Massachusetts US vm.lab.example')
    assert "Successfully Regenerated Certificate for tomcat." in out
    cert = node.identity("tomcat").cert
    assert node.identity("tomcat").self_signed
    assert cert.subject.rfc4514_string() == ("CN=cuc15-pub.lab.example,OU=IT Dept,O=Example Corp,L=Boston,"
                                             "ST=Massachusetts,C=US")
    assert sans_of(cert) == ["cuc15-pub.lab.example", "vm.lab.example"]
    web = await client.run("show web-security")
    assert "Subject Name: CN=cuc15-pub.lab.example, OU=IT Dept, O=Example Corp" in web
    refused = await client.run("set web-security IT Example Boston Massachusetts DE")
    assert "The country cannot be changed after installation." in refused


async def test_multi_server_upload_over_the_cli_on_12_5(fresh_estate: LabEstate, open_client: OpenClient) -> None:
    pub, sub = fresh_estate.node("cucm125-pub"), fresh_estate.node("cucm125-sub1")
    pub.generate_csr("tomcat", multi_server=True)  # as the GUI / REST would; the CLI makes single-server CSRs
    client = await open_client(pub)
    csr_text = await client.run("show csr own tomcat")
    assert sorted(sans_of(load_csr(csr_text))) == ["cucm125-pub.lab.example", "cucm125-sub1.lab.example"]
    assert load_csr(csr_text).subject.get_attributes_for_oid(NameOID.COMMON_NAME)[0].value == \
        "cucm125-pub-ms.lab.example"
    leaf_pem, chain = fresh_estate.ca.sign(csr_text)
    await _trust_chain(client, "tomcat", chain)
    served_on_sub = sub.served_certificate("tomcat")
    assert "Successfully imported certificate for tomcat." in await client.paste("set cert import own tomcat",
                                                                                 leaf_pem)
    leaf = x509.load_pem_x509_certificate(leaf_pem.encode())
    assert pub.identity("tomcat").cert == leaf and sub.identity("tomcat").cert == leaf  # on every SAN node
    assert sub.served_certificate("tomcat") == served_on_sub  # each node still needs its restart
    sub_client = await open_client(sub)
    await sub_client.run("utils service restart Cisco Tomcat")
    assert sub.served_certificate("tomcat") == leaf


async def test_multi_san_upload_refused_by_the_cli_from_14su2(fresh_estate: LabEstate,
                                                               open_client: OpenClient) -> None:
    pub = fresh_estate.node("cucm14-pub")
    csr_pem = pub.generate_csr("tomcat", multi_server=True)
    sans = sans_of(load_csr(csr_pem))
    assert {"imp14-pub.lab.example", "imp14-sub1.lab.example"} <= set(sans)  # cluster-wide tomcat (§2.1)
    leaf_pem, chain = fresh_estate.ca.sign(csr_pem)
    client = await open_client(pub)
    out = await client.paste("set cert import own tomcat", leaf_pem)
    assert re.search(r"We do not support uploading of Multi-SAN certificates via the CLI\.", out)
    result = pub.import_identity("tomcat", [leaf_pem, *chain], via="rest")
    assert result.ok, result.lines
    assert set(result.installed_on) == set(sans)
    leaf = x509.load_pem_x509_certificate(leaf_pem.encode())
    assert fresh_estate.node("imp14-sub1").identity("tomcat").cert == leaf


async def test_csr_rules(fresh_estate: LabEstate) -> None:
    """Multi-server where VOS allows it; the hash asked for, or a refusal (never another hash, §5.4)."""
    with pytest.raises(VosError, match="publisher"):
        fresh_estate.node("cucm14-sub1").generate_csr("tomcat", multi_server=True)
    with pytest.raises(VosError, match="not supported"):
        fresh_estate.node("cucm14-pub").generate_csr("ipsec", multi_server=True)
    imp = fresh_estate.node("imp14-sub1")  # any IM&P node may make the cup-xmpp multi-server CSR (§2.2)
    sans = sans_of(load_csr(imp.generate_csr("cup-xmpp-s2s", multi_server=True)))
    assert sans == ["imp14-pub.lab.example", "imp14-sub1.lab.example", "lab.example", "conference.lab.example"]
    result = imp.import_identity("cup-xmpp-s2s", ["garbage"], via="rest")
    assert not result.ok and result.error == "The file /usr/local/platform/upload/certs//cup-xmpp-s2s.der " \
                                             "could not be uploaded."
    node = fresh_estate.node("cuc15-pub")
    for name in ("sha384", "sha512"):
        csr = load_csr(node.generate_csr("tomcat", hash_algorithm=name))
        assert csr.signature_hash_algorithm.name == name  # type: ignore[union-attr]
    outstanding = node.csr("tomcat")
    with pytest.raises(VosError, match="Invalid key type, key length or hash algorithm"):
        node.generate_csr("tomcat", hash_algorithm="md5")
    if not certs.hash_signable("sha1"):
        with pytest.raises(VosError, match="Hash algorithm SHA1 is not supported on this system"):
            node.generate_csr("tomcat", hash_algorithm="sha1")
    assert node.csr("tomcat") is outstanding  # refusals replace nothing


async def test_paste_with_crlf_line_ends(fresh_estate: LabEstate, open_client: OpenClient) -> None:
    node = fresh_estate.node("cuc15-sub")
    client = await open_client(node)
    leaf, _ = fresh_estate.ca.sign(await _csr_via_cli(client, "tomcat"))
    client.send("set cert import own tomcat\r")
    await client.read_until("Paste the Certificate and Hit Enter")
    client.send(leaf.replace("\n", "\r\n") + "\r\n")  # CRLF ends, then the empty line
    out = clean(await client.read_until(PROMPT))
    assert "Successfully imported certificate for tomcat." in out


async def test_default_sans_are_what_vos_fills_in(estate: LabEstate) -> None:
    sub = estate.node("cucm14-sub1")
    assert sub.default_sans("tomcat") == [sub.fqdn]
    assert sub.default_sans("callmanager") == [sub.fqdn]  # unit names are case-insensitive
    hq = [n.fqdn for n in estate.cluster("hq").nodes]
    presence = [n.fqdn for n in estate.cluster("presence").nodes]
    pub = estate.node("cucm14-pub")
    assert pub.default_sans("tomcat", multi_server=True) == hq + presence  # §2.1: the IM&P nodes too
    assert pub.default_sans("CallManager", multi_server=True) == hq
    imp = estate.node("imp14-pub")
    cluster = imp.cluster_ref
    assert imp.default_sans("cup-xmpp-s2s", multi_server=True) == [
        *presence, *cluster.presence_domains, cluster.group_chat_alias]


async def test_a_csr_key_is_made_off_the_event_loop(fresh_estate: LabEstate, open_client: OpenClient,
                                                    tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """`set csr gen` on one node must not freeze the other nodes' sessions (they share the event loop)."""
    node = fresh_estate.node("cucm125-sub1")
    node.keys = keys.KeySource(keys.KeyPool(tmp_path))  # an empty cache: the key is really generated
    generating, release = threading.Event(), threading.Event()
    real = keys.new_rsa_key

    def held_key(bits: int = 2048) -> rsa.RSAPrivateKey:
        generating.set()
        assert release.wait(5), "key generation ran on the event loop: nothing else could run meanwhile"
        return real(bits)

    monkeypatch.setattr(keys, "new_rsa_key", held_key)
    client = await open_client(node)
    other = await open_client(fresh_estate.node("cucm125-pub"))
    client.send("set csr gen tomcat\r")
    assert await asyncio.to_thread(generating.wait, 5)
    assert "Active Master Version" in await other.run("show version active")  # answered meanwhile
    release.set()
    await client.read_until(r"Successfully Generated CSR for tomcat\.", 5)
    assert node.csr("tomcat") is not None
