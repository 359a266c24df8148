"""summarise() and the shared primitives: names, key facts, fingerprints, an injectable clock."""

from __future__ import annotations

import datetime as dt
import json

from cryptography import x509
from cryptography.hazmat.primitives import hashes

from ucterm.pki import public_keys_equal, sans_of, signed_by, summarise


def test_summary_of_the_leaf(std, now):
    s = summarise(std.leaf.cert, now)
    assert s.subject_cn == "cucm-pub.example.com"
    assert s.subject == "O=Example Corp,CN=cucm-pub.example.com"
    assert s.issuer_cn == "Example Issuing CA"
    assert s.sans_dns == ("cucm-pub.example.com", "cucm-sub1.example.com")
    assert s.sans_ip == ()
    assert s.serial_hex == f"{std.leaf.cert.serial_number:x}" and ":" not in s.serial_hex
    assert s.not_before == dt.datetime(2026, 11, 20, tzinfo=dt.UTC)
    assert s.not_after == dt.datetime(2027, 11, 20, tzinfo=dt.UTC)
    assert s.days_left == 357  # 2026-11-27 08:00 → 2027-11-20 00:00: 357 whole days
    assert (s.key_type, s.key_size) == ("RSA", 2048)
    assert s.signature_algorithm == "sha256WithRSAEncryption"
    assert s.sha256 == std.leaf.cert.fingerprint(hashes.SHA256()).hex()
    assert s.sha1 == std.leaf.cert.fingerprint(hashes.SHA1()).hex()
    assert s.eku == ("serverAuth", "clientAuth", "ipsecEndSystem") and s.eku_present
    assert s.key_usage == ("digital_signature", "key_encipherment", "data_encipherment")
    assert not s.is_ca and s.path_len is None
    ski = std.inter.cert.extensions.get_extension_for_class(x509.SubjectKeyIdentifier).value.digest
    assert s.aki == ski.hex()
    assert s.ski is not None and not s.self_signed


def test_days_left_follows_the_injected_clock(std):
    later = dt.datetime(2027, 11, 21, tzinfo=dt.UTC)
    assert summarise(std.leaf.cert, later).days_left == -1
    naive = dt.datetime(2027, 11, 19, 12, 0)  # naive means UTC
    assert summarise(std.leaf.cert, naive).days_left == 0


def test_summary_of_root_and_intermediate(std, now):
    root, inter = summarise(std.root.cert, now), summarise(std.inter.cert, now)
    assert root.self_signed and root.is_ca and root.path_len is None
    assert inter.is_ca and inter.path_len == 0 and not inter.self_signed
    assert inter.eku == () and not inter.eku_present
    assert "key_cert_sign" in inter.key_usage


def test_ec_key_and_ip_sans(pki, std, now):
    ec_leaf = pki.issue(std.inter, "cucm-pub-ec.example.com", key=pki.key("ec", "p384"),
                        sans_dns=["CUCM-PUB-EC.example.com"], sans_ip=["10.1.1.10", "2001:db8::1"])
    s = summarise(ec_leaf.cert, now)
    assert (s.key_type, s.key_size) == ("EC", 384)
    assert s.sans_ip == ("10.1.1.10", "2001:db8::1")
    assert sans_of(ec_leaf.cert) == {"cucm-pub-ec.example.com", "10.1.1.10", "2001:db8::1"}


def test_to_dict_is_json_ready(std, now):
    d = summarise(std.leaf.cert, now).to_dict()
    assert d["not_after"] == "2027-11-20T00:00:00Z"
    assert d["sans_dns"] == ["cucm-pub.example.com", "cucm-sub1.example.com"]
    json.dumps(d)


def test_public_keys_equal_and_sans_of(std, pki):
    assert public_keys_equal(std.leaf.cert, std.csr)
    assert public_keys_equal(std.leaf.cert.public_key(), std.csr)
    assert not public_keys_equal(std.inter.cert, std.csr)
    other = pki.csr(pki.key("other"), "x", sans_dns=["CUCM-SUB1.example.com.", "cucm-pub.EXAMPLE.com"])
    assert sans_of(other) == sans_of(std.leaf.cert) == {"cucm-pub.example.com", "cucm-sub1.example.com"}


def test_signed_by_handles_legacy_hashes(pki, std):
    sha1 = pki.resign_legacy(std.leaf.cert, std.inter.key, "sha1")
    md5 = pki.resign_legacy(std.leaf.cert, std.inter.key, "md5")
    assert signed_by(sha1, std.inter.cert) and signed_by(md5, std.inter.cert)
    assert not signed_by(sha1, std.root.cert)
    assert summarise(sha1).signature_algorithm == "sha1WithRSAEncryption"
