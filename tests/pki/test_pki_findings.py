"""Every finding code fires on its case and stays silent on the good cases (design.md §3)."""

from __future__ import annotations

import random
from collections.abc import Callable
from dataclasses import dataclass, field

import pytest
from cryptography import x509

from ucterm.pki import CODES, SEVERITY, Chain, check_material, compare_with_csr, lint


@dataclass
class Case:
    certs: list[x509.Certificate]
    csr: x509.CertificateSigningRequest | None = None
    unit: str | None = "tomcat"
    multi_server: bool = False
    trusted: list[x509.Certificate] = field(default_factory=list)


def chain_of(std, leaf):
    return [leaf.cert, std.inter.cert, std.root.cert]


# -- the failing cases, one per code (unreadable needs a file: see test_pki_check.py) ----------

def _leaf_missing(pki, std):
    return Case([std.inter.cert, std.root.cert])


def _key_mismatch(pki, std):
    wrong = pki.issue(std.inter, "cucm-pub.example.com", key=pki.key("old-csr-key"), sans_dns=std.sans)
    return Case(chain_of(std, wrong), csr=std.csr)


def _san_mismatch(pki, std):
    leaf = pki.issue(std.inter, "cucm-pub.example.com", key=std.leaf.key,
                     sans_dns=["cucm-pub.example.com", "www.cucm-pub.example.com"])
    return Case(chain_of(std, leaf), csr=std.csr)


def _chain_incomplete(pki, std):
    return Case([std.leaf.cert, std.root.cert], csr=std.csr)


def _chain_signature(pki, std):
    # A CA with the same name but another key (the CA was re-keyed): names match, signatures do not.
    impostor = pki.intermediate(std.root, key=pki.key("rekeyed-issuing-ca"))
    return Case([std.leaf.cert, impostor.cert, std.root.cert], csr=std.csr)


def _expired(pki, std):
    leaf = pki.issue(std.inter, "cucm-pub.example.com", key=std.leaf.key, sans_dns=std.sans,
                     not_before="2025-11-01", not_after="2026-11-01")
    return Case(chain_of(std, leaf), csr=std.csr)


def _not_yet_valid(pki, std):
    leaf = pki.issue(std.inter, "cucm-pub.example.com", key=std.leaf.key, sans_dns=std.sans,
                     not_before="2026-12-01", not_after="2027-12-01")
    return Case(chain_of(std, leaf), csr=std.csr)


def _ca_expired(pki, std):
    old = pki.intermediate(std.root, "Old Issuing CA", not_before="2021-01-01", not_after="2026-06-01")
    leaf = pki.issue(old, "cucm-pub.example.com", key=std.leaf.key, sans_dns=std.sans)
    return Case([leaf.cert, old.cert, std.root.cert], csr=std.csr)


def _eku_missing(pki, std):
    leaf = pki.issue(std.inter, "cucm-pub.example.com", key=std.leaf.key, sans_dns=std.sans,
                     eku=["serverAuth"])
    return Case(chain_of(std, leaf), csr=std.csr)


def _wildcard(pki, std):
    leaf = pki.issue(std.inter, "*.example.com", key=std.leaf.key, sans_dns=["*.example.com"])
    return Case(chain_of(std, leaf))


def _ip_san(pki, std):
    leaf = pki.issue(std.inter, "cucm-pub-ms.example.com", key=std.leaf.key, sans_dns=std.sans,
                     sans_ip=["10.1.1.10"])
    return Case(chain_of(std, leaf), multi_server=True)


def _key_too_large(pki, std):
    leaf = pki.issue(std.inter, "cucm-pub.example.com", public_key=pki.huge_public_key(), sans_dns=std.sans)
    return Case(chain_of(std, leaf))


def _not_a_ca(pki, std):
    no_bc = pki.intermediate(std.root, "Issuing CA without basicConstraints", ca=None)
    leaf = pki.issue(no_bc, "cucm-pub.example.com", key=std.leaf.key, sans_dns=std.sans)
    return Case([leaf.cert, no_bc.cert, std.root.cert], csr=std.csr)


def _weak_key(pki, std):
    key = pki.key("weak-1024", "rsa1024")
    leaf = pki.issue(std.inter, "cucm-pub.example.com", key=key, sans_dns=std.sans)
    return Case(chain_of(std, leaf))


def _weak_signature(pki, std):
    sha1_leaf = pki.resign_legacy(std.leaf.cert, std.inter.key, "sha1")
    return Case([sha1_leaf, std.inter.cert, std.root.cert], csr=std.csr)


def _ku_missing(pki, std):
    leaf = pki.issue(std.inter, "cucm-pub.example.com", key=std.leaf.key, sans_dns=std.sans,
                     ku=["digital_signature", "key_encipherment"])
    return Case(chain_of(std, leaf), csr=std.csr)


def _self_signed(pki, std):
    """The node's key and names, but signed by itself: handed over as if a CA had issued it."""
    leaf = pki.issue(None, "cucm-pub.example.com", key=std.leaf.key, sans_dns=std.sans)
    return Case([leaf.cert], csr=std.csr)


FAILING: dict[str, Callable] = {
    "leaf-missing": _leaf_missing,
    "key-mismatch": _key_mismatch,
    "san-mismatch": _san_mismatch,
    "chain-incomplete": _chain_incomplete,
    "chain-signature": _chain_signature,
    "expired": _expired,
    "not-yet-valid": _not_yet_valid,
    "ca-expired": _ca_expired,
    "eku-missing": _eku_missing,
    "wildcard": _wildcard,
    "ip-san": _ip_san,
    "key-too-large": _key_too_large,
    "not-a-ca": _not_a_ca,
    "weak-key": _weak_key,
    "weak-signature": _weak_signature,
    "ku-missing": _ku_missing,
    "self-signed": _self_signed,
}


def run(case: Case, now):
    return check_material(case.certs, case.csr, unit=case.unit, multi_server=case.multi_server, now=now,
                          trusted=case.trusted)


def test_every_contract_code_has_a_case():
    assert set(FAILING) | {"unreadable"} == set(CODES)


@pytest.mark.parametrize("code", sorted(FAILING))
def test_code_fires_on_its_case(code, pki, std, now):
    report = run(FAILING[code](pki, std), now)
    fired = [f for f in report.findings if f.code == code]
    assert fired, report.findings
    assert all(f.severity == SEVERITY[code] for f in fired)
    assert all(f.message and f.fix and not f.fix.endswith(".") for f in fired)
    assert report.exit_code == (2 if SEVERITY[code] == "error" else max(1, report.exit_code))
    assert report.ok == (not report.errors)


# -- the good cases ---------------------------------------------------------------------------

def _good_full(pki, std):
    return Case(chain_of(std, std.leaf), csr=std.csr)


def _good_shuffled_without_unit_or_csr(pki, std):
    bag = [std.root.cert, std.leaf.cert, std.inter.cert]
    return Case(bag, unit=None)


def _good_san_order_and_case(pki, std):
    leaf = pki.issue(std.inter, "cucm-pub.example.com", key=std.leaf.key,
                     sans_dns=["CUCM-SUB1.Example.com", "cucm-pub.example.com"])
    return Case(chain_of(std, leaf), csr=std.csr)


def _good_capf(pki, std):
    key = pki.key("capf")
    csr = pki.csr(key, "CAPF-1a2b3c4d", eku=["serverAuth"], ku=["digital_signature", "key_cert_sign"])
    leaf = pki.issue(std.root, "CAPF-1a2b3c4d", key=key, ca=True, eku=["serverAuth"],
                     ku=["digital_signature", "key_cert_sign"])
    return Case([std.root.cert, leaf.cert], csr=csr, unit="CAPF")


def _good_federation_wildcard(pki, std):
    key = pki.key("s2s")
    names = ["imp-pub.example.com", "*.example.com"]
    csr = pki.csr(key, "imp-pub.example.com", sans_dns=names)
    leaf = pki.issue(std.inter, "imp-pub.example.com", key=key, sans_dns=names)
    return Case(chain_of(std, leaf), csr=csr, unit="cup-xmpp-s2s")


def _good_ecdsa(pki, std):
    key = pki.key("ec-tomcat", "p256")
    csr = pki.csr(key, "cucm-pub.example.com", sans_dns=["cucm-pub.example.com"], ku=["digital_signature"])
    leaf = pki.issue(std.inter, "cucm-pub.example.com", key=key, sans_dns=["cucm-pub.example.com"],
                     ku=["digital_signature"])
    return Case(chain_of(std, leaf), csr=csr, unit="tomcat-ECDSA")


def _good_multi_server(pki, std):
    key = pki.key("ms")
    names = ["cucm-pub.example.com", "cucm-sub1.example.com", "cucm-sub2.example.com"]
    csr = pki.csr(key, "cucm-pub-ms.example.com", sans_dns=names)
    leaf = pki.issue(std.inter, "cucm-pub-ms.example.com", key=key, sans_dns=names)
    return Case(chain_of(std, leaf), csr=csr, multi_server=True)


def _good_single_server_ip_san(pki, std):
    leaf = pki.issue(std.inter, "cucm-pub.example.com", key=std.leaf.key, sans_dns=std.sans,
                     sans_ip=["10.1.1.10"])
    return Case(chain_of(std, leaf))


def _good_anchored_in_trust_store(pki, std):
    return Case([std.leaf.cert], csr=std.csr, trusted=[std.inter.cert])


def _good_callmanager(pki, std):
    ku = ["digital_signature", "key_encipherment", "data_encipherment", "key_agreement"]
    leaf = pki.issue(std.inter, "cucm-pub.example.com", key=std.leaf.key, sans_dns=std.sans, ku=ku)
    csr = pki.csr(std.leaf.key, "cucm-pub.example.com", sans_dns=std.sans, ku=ku)
    return Case(chain_of(std, leaf), csr=csr, unit="CallManager")


def _good_no_eku_no_ku(pki, std):
    leaf = pki.issue(std.inter, "cucm-pub.example.com", key=std.leaf.key, sans_dns=std.sans,
                     eku=None, ku=None)
    return Case(chain_of(std, leaf), csr=std.csr)


GOOD: dict[str, Callable] = {
    "full chain with CSR": _good_full,
    "shuffled, no unit, no CSR": _good_shuffled_without_unit_or_csr,
    "SAN order and case differ": _good_san_order_and_case,
    "CAPF (a CA, serverAuth only)": _good_capf,
    "federation wildcard the CSR asked for": _good_federation_wildcard,
    "tomcat-ECDSA": _good_ecdsa,
    "multi-server without IP SANs": _good_multi_server,
    "single-server with an IP SAN": _good_single_server_ip_san,
    "intermediate already in the trust store": _good_anchored_in_trust_store,
    "CallManager with key agreement": _good_callmanager,
    "no EKU/KU extensions (any usage)": _good_no_eku_no_ku,
}


@pytest.mark.parametrize("name", list(GOOD))
def test_good_cases_are_silent(name, pki, std, now):
    report = run(GOOD[name](pki, std), now)
    assert report.findings == []
    assert report.ok and report.exit_code == 0
    assert report.to_json_dict() == {"ok": True, "findings": []}


def test_file_order_does_not_matter(pki, std, now):
    certs = chain_of(std, std.leaf)
    rng = random.Random(7)
    for _ in range(5):
        rng.shuffle(certs)
        report = check_material(certs, std.csr, unit="tomcat", now=now)
        assert report.findings == []
        assert report.chain is not None
        assert report.chain.certs == [std.leaf.cert, std.inter.cert, std.root.cert]


# -- details of individual rules --------------------------------------------------------------

def test_key_mismatch_fix_names_the_csr(pki, std):
    wrong = pki.issue(std.inter, "cucm-pub.example.com", key=pki.key("old-csr-key"), sans_dns=std.sans)
    [f] = compare_with_csr(wrong.cert, std.csr, csr_origin="generated on 2026-11-20")
    assert f.code == "key-mismatch"
    assert f.fix == "the CA issued this from a different CSR: submit the CSR generated on 2026-11-20 again"


def test_key_mismatch_without_csr_when_the_unit_takes_another_algorithm(std, now):
    codes = [f.code for f in lint(std.leaf.cert, unit="tomcat-ECDSA", multi_server=False, now=now)]
    assert "key-mismatch" in codes


def test_san_mismatch_lists_missing_and_added(pki, std):
    leaf = pki.issue(std.inter, "cucm-pub.example.com", key=std.leaf.key,
                     sans_dns=["cucm-pub.example.com", "www.cucm-pub.example.com"])
    [f] = compare_with_csr(leaf.cert, std.csr)
    assert "missing cucm-sub1.example.com" in f.message and "added www.cucm-pub.example.com" in f.message


def test_csr_without_sans_accepts_the_cn_copied_by_the_ca(pki, std):
    key = pki.key("cucm-pub.example.com")
    csr = pki.csr(key, "cucm-pub.example.com")
    leaf = pki.issue(std.inter, "cucm-pub.example.com", key=key, sans_dns=["cucm-pub.example.com"])
    assert compare_with_csr(leaf.cert, csr) == []


def test_eku_fix_sentence(pki, std, now):
    leaf = pki.issue(std.inter, "cucm-pub.example.com", key=std.leaf.key, sans_dns=std.sans,
                     eku=["serverAuth"])
    found = lint(leaf.cert, unit="CallManager", multi_server=False, now=now)
    [f] = [f for f in found if f.code == "eku-missing"]
    assert f.fix.startswith("the CA template dropped clientAuth: ask for a template that keeps the CSR's "
                            "extended key usage")
    assert "mutual TLS" in f.message and "FN74345" in f.message  # why it matters, in plain words


def test_eku_without_unit_follows_the_csr(pki, std, now):
    leaf = pki.issue(std.inter, "cucm-pub.example.com", key=std.leaf.key, sans_dns=std.sans,
                     eku=["serverAuth"])
    with_csr = lint(leaf.cert, unit=None, multi_server=False, csr=std.csr, now=now)
    without = lint(leaf.cert, unit=None, multi_server=False, now=now)
    assert [f.code for f in with_csr] == ["eku-missing"] and without == []


def test_federation_wildcard_needs_the_csr_to_ask(pki, std, now):
    key = pki.key("s2s")
    leaf = pki.issue(std.inter, "imp-pub.example.com", key=key,
                     sans_dns=["imp-pub.example.com", "*.example.com"])
    csr_without = pki.csr(key, "imp-pub.example.com", sans_dns=["imp-pub.example.com"])
    found = lint(leaf.cert, unit="cup-xmpp-s2s", multi_server=False, csr=csr_without, now=now)
    codes = [f.code for f in found]
    assert "wildcard" in codes
    codes = [f.code for f in lint(leaf.cert, unit="cup-xmpp", multi_server=False, csr=csr_without, now=now)]
    assert "wildcard" in codes


def test_ip_san_inferred_from_the_multi_server_cn(pki, std, now):
    leaf = pki.issue(std.inter, "cucm-pub-ms.example.com", key=std.leaf.key, sans_dns=std.sans,
                     sans_ip=["10.1.1.10"])
    assert "ip-san" in [f.code for f in lint(leaf.cert, unit=None, multi_server=False, now=now)]
    report = check_material([leaf.cert, std.inter.cert, std.root.cert], None, unit=None, now=now)
    assert any("multi-server" in n for n in report.notes)


def test_md5_and_weak_chain_cas(pki, std, now):
    md5 = pki.resign_legacy(std.leaf.cert, std.inter.key, "md5")
    report = check_material([md5, std.inter.cert, std.root.cert], std.csr, unit="tomcat", now=now)
    assert report.codes() == ["weak-signature"] and "MD5" in report.findings[0].message
    weak_ca = pki.intermediate(std.root, "Weak Issuing CA", key=pki.key("weak-ca", "rsa1024"))
    leaf = pki.issue(weak_ca, "cucm-pub.example.com", key=std.leaf.key, sans_dns=std.sans)
    report = check_material([leaf.cert, weak_ca.cert, std.root.cert], std.csr, unit="tomcat", now=now)
    assert report.codes() == ["weak-key"] and "CA certificate 'Weak Issuing CA'" in report.findings[0].message
    assert report.exit_code == 1 and report.ok


def test_sha1_intermediate_is_weak_not_broken(pki, std, now):
    sha1_inter = pki.resign_legacy(std.inter.cert, std.root.key, "sha1")
    report = check_material([std.leaf.cert, sha1_inter, std.root.cert], std.csr, unit="tomcat", now=now)
    assert report.codes() == ["weak-signature"]
    assert "intermediate 'Example Issuing CA'" in report.findings[0].message


def test_sha1_self_signed_root_is_not_flagged(pki, std, now):
    sha1_root = pki.resign_legacy(std.root.cert, std.root.key, "sha1")
    report = check_material([std.leaf.cert, std.inter.cert, sha1_root], std.csr, unit="tomcat", now=now)
    assert report.findings == []


def test_huge_ca_key_is_too_large(pki, std, now):
    """A CA with an 8192-bit key cannot sign here (no private key), so the path is given as built."""
    big = pki.issue(std.root, "Big Issuing CA", public_key=pki.huge_public_key(), ca=True, path_len=0,
                    eku=None, ku=["key_cert_sign", "crl_sign"],
                    not_before="2021-01-01", not_after="2035-01-01")
    chain = Chain([std.leaf.cert, big.cert, std.root.cert], complete=True, anchor=std.root.cert)
    found = lint(std.leaf.cert, unit="tomcat", multi_server=False, now=now, chain=chain)
    assert [f.code for f in found] == ["key-too-large"]
    assert "the CA certificate 'Big Issuing CA' has an RSA key of 8192 bits" in found[0].message


def test_callmanager_key_above_2048_is_a_note(pki, std, now):
    key = pki.key("cm-3072", "rsa3072")
    ku = ["digital_signature", "key_encipherment", "data_encipherment", "key_agreement"]
    leaf = pki.issue(std.inter, "cucm-pub.example.com", key=key, sans_dns=std.sans, ku=ku)
    report = check_material([leaf.cert, std.inter.cert, std.root.cert], None, unit="CallManager", now=now)
    assert report.findings == [] and any("some phones" in n for n in report.notes)


def test_a_ca_expiring_before_the_leaf_is_a_note(pki, std, now):
    short = pki.intermediate(std.root, "Short-lived CA", key=pki.key("short-ca"), not_after="2027-03-01")
    leaf = pki.issue(short, "cucm-pub.example.com", key=std.leaf.key, sans_dns=std.sans)
    report = check_material([leaf.cert, short.cert, std.root.cert], std.csr, unit="tomcat", now=now)
    assert report.findings == []
    assert any("'Short-lived CA' expires on 2027-03-01, before the leaf" in n for n in report.notes)


def test_key_usage_is_judged_against_the_csr_when_one_is_given(pki, std, now):
    """A CallManager CSR that asks no Key Agreement: the certificate is not blamed for lacking it."""
    ku = ["digital_signature", "key_encipherment", "data_encipherment"]
    leaf = pki.issue(std.inter, "cucm-pub.example.com", key=std.leaf.key, sans_dns=std.sans, ku=ku)
    csr = pki.csr(std.leaf.key, "cucm-pub.example.com", sans_dns=std.sans, ku=ku)
    with_csr = check_material([leaf.cert, std.inter.cert, std.root.cert], csr, unit="CallManager", now=now)
    assert with_csr.findings == []
    # Without a CSR, the catalog's list (what VOS puts in a CallManager CSR, §5.1).
    alone = check_material([leaf.cert, std.inter.cert, std.root.cert], None, unit="CallManager", now=now)
    [f] = alone.findings
    assert f.code == "ku-missing" and "lacks Key Agreement, which VOS puts in CallManager's CSR" in f.message
    # A CSR that asks for a bit the certificate lacks is still named.
    asks = pki.csr(std.leaf.key, "cucm-pub.example.com", sans_dns=std.sans, ku=[*ku, "key_agreement"])
    [f] = check_material([leaf.cert, std.inter.cert, std.root.cert], asks, unit="CallManager", now=now).findings
    assert "lacks Key Agreement, which the CSR asks for" in f.message


def test_a_self_signed_certificate_is_never_ready_to_upload(pki, std, now):
    leaf = pki.issue(None, "cucm-pub.example.com", key=std.leaf.key, sans_dns=std.sans)
    report = check_material([leaf.cert], std.csr, unit="tomcat", now=now)
    assert not report.ok and report.exit_code == 2 and report.codes()[0] == "self-signed"
