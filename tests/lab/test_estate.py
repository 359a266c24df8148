"""The estate as a whole: its layout, the files it writes for clients, the scaled estate, the lab CA."""

from __future__ import annotations

import ast
import stat
import time
from collections import Counter
from datetime import timedelta
from pathlib import Path

import asyncssh
import pytest
from cryptography import x509
from cryptography.x509.oid import ExtendedKeyUsageOID

from tests.lab.vosclient import NOW, PROMPT
from ucterm import catalog
from ucterm.inventory import load_inventory
from ucterm.lab import CREDENTIALS, LabCA, LabError, LabEstate, load_ca, texts
from ucterm.lab.certs import is_self_signed, load_csr, sans_of
from ucterm.lab.profiles import get_profile

LAB = Path(__file__).resolve().parents[2] / "ucterm" / "lab"


def _status(cert: x509.Certificate) -> str:
    days = (cert.not_valid_after_utc - NOW).days
    return "expired" if days < 0 else "critical" if days <= 14 else "warning" if days <= 60 else "ok"


def test_demo_layout() -> None:
    lab = LabEstate.demo(profile="fast", now=NOW)
    assert [(c.name, c.product, c.version, len(c.nodes)) for c in lab.clusters] == [
        ("hq", "cucm", "14.0.1.13900-155", 3), ("branch", "cucm", "12.5.1.16900-48", 2),
        ("presence", "imp", "14.0.1.13900-8", 2), ("voicemail", "cuc", "15.0.1.10000-34", 2)]
    assert all(n.fqdn.endswith(".lab.example") for n in lab.nodes)
    presence = lab.cluster("presence")
    assert presence.cucm_cluster == "hq" and presence.presence_domains == ("lab.example",)
    assert presence.group_chat_alias == "conference.lab.example" and presence.prg.name == "DefaultCluster"  # type: ignore[union-attr]
    for node in lab.nodes:
        assert set(node.identities()) == {u.name for u in catalog.units_for(node.product, node.vos_version)}
        assert set(node.trust_stores) >= set(catalog.trust_stores_for(node.product, node.vos_version))
        assert not node.csrs()
    statuses = Counter(_status(i.cert) for n in lab.nodes for i in n.identities().values())
    assert set(statuses) == {"expired", "critical", "warning", "ok"}
    kinds = Counter(is_self_signed(i.cert) for n in lab.nodes for i in n.identities().values())
    assert kinds[True] and kinds[False]
    hq_tomcat = {n.identity("tomcat").cert for n in lab.cluster("hq").nodes}
    assert len(hq_tomcat) == 1 and not is_self_signed(next(iter(hq_tomcat)))
    assert _status(lab.node("cucm125-pub").identity("CallManager").cert) == "critical"
    assert not lab.node("cucm125-pub").password_auth and lab.node("cucm14-pub").password_auth
    # Every identity key is distinct except where a multi-server certificate is shared.
    keys = {(n.fqdn, u): i.key for n in lab.nodes for u, i in n.identities().items()}
    shared = Counter(k.public_key().public_numbers() for k in keys.values())
    assert max(shared.values()) == 3  # hq's multi-server tomcat on three nodes


def test_lookup_errors() -> None:
    lab = LabEstate.demo(profile="fast", now=NOW)
    assert lab.node("cucm14-pub") is lab.node("CUCM14-PUB.lab.example")
    with pytest.raises(LabError, match="no node"):
        lab.node("nowhere")
    with pytest.raises(LabError, match="no cluster"):
        lab.cluster("nowhere")
    with pytest.raises(LabError, match="presence redundancy group"):
        lab.set_ha("nowhere", False)
    with pytest.raises(LabError, match="not running"):
        lab.write_inventory(Path("/nonexistent/inventory.toml"))
    with pytest.raises(ValueError, match="unknown lab profile"):
        get_profile("slow")


async def test_write_inventory(estate: LabEstate, tmp_path: Path) -> None:
    path = estate.write_inventory(tmp_path / "inventory.toml")
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    inventory = load_inventory(path)
    assert inventory.defaults.os_user == "admin" and inventory.defaults.os_password == CREDENTIALS.os_password
    assert inventory.defaults.app_user == "axladmin" and inventory.defaults.app_password == CREDENTIALS.app_password
    assert inventory.defaults.known_hosts == tmp_path / "known_hosts"
    assert inventory.defaults.ca_bundle == tmp_path / "lab-ca.pem"
    assert [c.name for c in inventory.clusters] == ["hq", "branch", "presence", "voicemail"]
    presence = inventory.cluster("presence")
    assert presence.cucm_cluster == "hq" and presence.presence_redundancy_group == "DefaultCluster"
    assert presence.presence_domains == ("lab.example",) and presence.group_chat_alias == "conference.lab.example"
    for cluster, node in inventory.nodes():
        lab_node = estate.node(node.fqdn)
        assert node.address == "127.0.0.1" and node.role == lab_node.role
        assert node.ports == lab_node.ports and node.ports["rest"] == node.ports["https"]
        assert cluster.version == lab_node.version
    assert set(inventory.cluster("presence").nodes[0].ports) == {"ssh", "https", "rest", "sip_tls", "xmpp_c2s",
                                                                  "xmpp_s2s"}
    assert set(inventory.cluster("voicemail").nodes[0].ports) == {"ssh", "https", "rest"}
    # The lab's AD CS web enrollment is the inventory's signer corp-adcs (used only when asked for).
    [signer] = inventory.signers
    assert signer.name == "corp-adcs" and signer.kind == "adcs" and signer.ca_bundle == tmp_path / "lab-ca.pem"
    assert signer.spec.url == estate.web_enrollment.url  # type: ignore[union-attr]
    assert all(c.settings.signer is None for c in inventory.clusters)


async def test_known_hosts_verifies_every_node(estate: LabEstate, tmp_path: Path) -> None:
    estate.write_inventory(tmp_path / "inventory.toml")
    known_hosts = tmp_path / "known_hosts"
    lines = known_hosts.read_text().splitlines()
    assert len(lines) == len(estate.nodes)
    node = estate.node("cucm125-sub1")
    line = next(x for x in lines if x.startswith(f"[{node.fqdn}]:"))
    assert line.startswith(f"[{node.fqdn}]:{node.ports['ssh']},[127.0.0.1]:{node.ports['ssh']} ssh-ed25519 ")
    async with asyncssh.connect("127.0.0.1", node.ports["ssh"], username="admin", password=CREDENTIALS.os_password,
                                known_hosts=str(known_hosts), client_keys=None, agent_path=None, config=None) as conn:
        proc = await conn.create_process(term_type="xterm")
        assert "admin:" in await proc.stdout.readuntil(PROMPT)
    other = estate.node("cucm125-pub")
    wrong = tmp_path / "wrong"
    wrong.write_text(line.replace(str(node.ports["ssh"]), str(other.ports["ssh"])) + "\n")
    with pytest.raises(asyncssh.HostKeyNotVerifiable):
        await asyncssh.connect("127.0.0.1", other.ports["ssh"], username="admin", password="x",
                               known_hosts=str(wrong), client_keys=None, agent_path=None, config=None)


async def test_ca_bundle_and_ca_folder(estate: LabEstate, tmp_path: Path) -> None:
    estate.write_inventory(tmp_path / "inventory.toml")
    bundle = x509.load_pem_x509_certificates((tmp_path / "lab-ca.pem").read_bytes())
    assert bundle[0] == estate.ca.root
    self_signed = {i.cert for n in estate.nodes for i in n.identities().values() if i.self_signed}
    assert set(bundle[1:]) == self_signed
    inventory = load_inventory(tmp_path / "inventory.toml")
    folder = inventory.defaults.lab_ca
    assert folder is not None and stat.S_IMODE((folder / "issuing-key.pem").stat().st_mode) == 0o600
    assert load_ca(folder).root == estate.ca.root
    ca = LabCA.load(folder, clock=estate.clock)  # the estate runs on the injected NOW
    assert ca.intermediate == estate.ca.intermediate
    leaf_pem, chain = ca.sign(estate.node("cuc15-pub").generate_csr("tomcat"))
    assert chain == estate.ca.chain_pems
    assert estate.node("cuc15-pub").import_identity("tomcat", [leaf_pem, *chain], via="rest").ok
    with pytest.raises(LabError, match="not a lab CA folder"):
        load_ca(tmp_path)


async def test_everything_listens_on_loopback_only(estate: LabEstate) -> None:
    addresses = estate.addresses()
    assert len(addresses) == sum(len(set(n.ports.values())) for n in estate.nodes)
    assert {host for host, _ in addresses} == {"127.0.0.1"}


def test_lab_ca_honours_the_csr_and_its_knobs() -> None:
    lab = LabEstate.demo(profile="fast", now=NOW)
    node = lab.node("imp14-pub")
    csr = node.generate_csr("cup-xmpp")
    leaf = x509.load_pem_x509_certificate(lab.ca.sign(csr, days=90)[0].encode())
    assert leaf.not_valid_after_utc - leaf.not_valid_before_utc == timedelta(days=90)
    assert sans_of(leaf) == sans_of(load_csr(csr)) == ["imp14-pub.lab.example", "lab.example"]
    eku = set(leaf.extensions.get_extension_for_class(x509.ExtendedKeyUsage).value)
    assert {ExtendedKeyUsageOID.SERVER_AUTH, ExtendedKeyUsageOID.CLIENT_AUTH} <= eku
    assert leaf.extensions.get_extension_for_class(x509.KeyUsage).value.key_encipherment
    legacy = node.csr_text("cup-xmpp").replace("CERTIFICATE REQUEST", "CERTIFICATE SIGN REQUEST")
    assert lab.ca.sign(legacy)[0]
    extra = x509.load_pem_x509_certificate(lab.ca.sign(csr, extra_sans=["other.lab.example"])[0].encode())
    assert sans_of(extra)[-1] == "other.lab.example"
    wild = x509.load_pem_x509_certificate(lab.ca.sign(csr, wildcard=True)[0].encode())
    assert sans_of(wild) == ["*.lab.example"]
    _, chain = lab.ca.sign(csr, issuer="root")
    assert chain == [lab.ca.chain_pems[1]]
    with pytest.raises(ValueError):
        lab.ca.sign("-----BEGIN CERTIFICATE REQUEST-----\nMIIB\n-----END CERTIFICATE REQUEST-----\n")


async def test_scaled_estate_for_the_benchmark() -> None:
    start = time.monotonic()
    lab = LabEstate.scaled(100, profile="fast", now=NOW)
    async with lab:
        assert len(lab.nodes) == 100 and len(lab.clusters) == 20
        assert all(len(c.nodes) == 5 and c.publisher.role == "publisher" for c in lab.clusters)
        assert len({n.ports["ssh"] for n in lab.nodes}) == 100
        assert {c.version for c in lab.clusters} == {"14.0.1.13900-155", "15.0.1.11900-40", "12.5.1.16900-48"}
    assert time.monotonic() - start < 10
    assert LabEstate.scaled(7, now=NOW).profile.name == "realistic"
    assert [len(c.nodes) for c in LabEstate.scaled(7, profile="fast", now=NOW).clusters] == [5, 2]


async def test_demo_estate_starts_fast() -> None:
    LabEstate.demo(profile="fast", now=NOW)  # a first run may fill the key cache
    start = time.monotonic()
    async with LabEstate.demo(profile="demo", now=NOW):
        assert time.monotonic() - start < 1.5


def test_every_text_cites_its_source() -> None:
    constants = {name for name, value in vars(texts).items()
                 if name.isupper() and not name.startswith("_") and name != "SOURCES"
                 and isinstance(value, str | tuple | dict)}
    assert constants == set(texts.SOURCES)
    assert all("§" in source or "VERIFIED" in source or "INFERRED" in source for source in texts.SOURCES.values())
    assert {"INVALID_COMMAND", "INCOMPLETE_COMMAND", "ERR_EXPIRED"} <= set(texts.inferred())
    assert "ERR_KEY_MISMATCH" not in texts.inferred() and "BANNER_STARTING" not in texts.inferred()


def test_the_lab_never_imports_the_client_side() -> None:
    forbidden = ("ucterm.vos", "ucterm.renewal", "ucterm.scan", "ucterm.pki", "ucterm.tui", "ucterm.cli")
    for path in LAB.glob("*.py"):
        for node in ast.walk(ast.parse(path.read_text())):
            names = [a.name for a in node.names] if isinstance(node, ast.Import) else \
                [node.module or ""] if isinstance(node, ast.ImportFrom) else []
            for name in names:
                assert not name.startswith(forbidden), f"{path.name} imports {name}"
