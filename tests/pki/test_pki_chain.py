"""Chain building (by names and signatures, never file order), verification and the upload split."""

from __future__ import annotations

import datetime as dt

import pytest
from cryptography import x509

from ucterm.pki import (
    PkiError,
    build_chain,
    check_material,
    pick_leaf,
    split_for_upload,
    verify_chain,
)
from ucterm.pki.chain import Chain


def codes(findings):
    return [f.code for f in findings]


def test_build_from_an_unordered_bag_with_a_decoy(pki, std, now):
    decoy = pki.root("Unrelated Root CA")
    chain = build_chain([decoy.cert, std.root.cert, std.leaf.cert, std.inter.cert])
    assert chain.certs == [std.leaf.cert, std.inter.cert, std.root.cert]
    assert chain.complete and chain.anchor is std.root.cert
    assert chain.unused == [decoy.cert]
    assert verify_chain(chain, now) == []


def test_the_leaf_is_the_certificate_that_issued_nothing(std):
    assert pick_leaf([std.root.cert, std.inter.cert, std.leaf.cert]) is std.leaf.cert
    assert pick_leaf([std.inter.cert, std.root.cert]) is None


def test_the_csr_decides_between_two_leaves(pki, std):
    other = pki.issue(std.inter, "cucm-sub1.example.com", sans_dns=["cucm-sub1.example.com"])
    assert pick_leaf([other.cert, std.leaf.cert], std.csr) is std.leaf.cert
    assert pick_leaf([other.cert, std.leaf.cert]) is other.cert  # file order breaks the tie


def test_a_ca_is_a_leaf_only_for_a_unit_that_signs_certificates(pki, std, now):
    capf = pki.issue(std.root, "CAPF-1a2b3c4d", key=pki.key("capf"), ca=True, eku=["serverAuth"],
                     ku=["digital_signature", "key_cert_sign"])
    assert pick_leaf([std.root.cert, capf.cert]) is None
    assert pick_leaf([std.root.cert, capf.cert], ca_leaf=True) is capf.cert
    report = check_material([std.root.cert, capf.cert], None, unit="CAPF", now=now)
    assert report.leaf is capf.cert and report.findings == []
    assert codes(check_material([std.root.cert, capf.cert], None, unit="tomcat", now=now).findings) == [
        "leaf-missing"]


def test_incomplete_chain_names_the_missing_issuer(std, now):
    chain = build_chain([std.leaf.cert, std.root.cert])
    assert not chain.complete and chain.certs == [std.leaf.cert]
    [f] = verify_chain(chain, now)
    assert f.code == "chain-incomplete"
    assert f.fix == ("ask the CA for the intermediate or root certificate 'Example Issuing CA' that issued "
                     "'cucm-pub.example.com' and pass it with --chain")


def test_a_chain_ending_in_an_intermediate_is_incomplete_unless_the_node_trusts_it(std, now):
    assert codes(verify_chain(build_chain([std.leaf.cert, std.inter.cert]), now)) == ["chain-incomplete"]
    chain = build_chain([std.leaf.cert, std.inter.cert], trusted=[std.inter.cert])
    assert chain.complete and chain.anchor is std.inter.cert
    assert verify_chain(chain, now) == []
    plan = split_for_upload(chain)
    assert plan.trust == [] and plan.already_trusted == [std.inter.cert]


def test_a_root_already_trusted_is_skipped_in_the_upload(std):
    chain = build_chain([std.leaf.cert, std.inter.cert], trusted=[std.root.cert])
    plan = split_for_upload(chain)
    assert plan.trust == [std.inter.cert] and plan.already_trusted == [std.root.cert]


def test_upload_order_is_root_then_intermediates_then_identity(pki, std):
    sub = pki.intermediate(std.root, "Example Policy CA", path_len=1, key=pki.key("policy-ca"))
    issuing = pki.intermediate(sub, "Example Issuing CA 2", key=pki.key("issuing-2"))
    leaf = pki.issue(issuing, "cucm-pub.example.com", key=std.leaf.key, sans_dns=std.sans)
    plan = split_for_upload(build_chain([issuing.cert, leaf.cert, std.root.cert, sub.cert]))
    assert plan.trust == [std.root.cert, sub.cert, issuing.cert]
    assert plan.identity is leaf.cert
    assert plan.identity_chain == [leaf.cert, issuing.cert, sub.cert]
    assert plan.to_dict()["identity"]["subject_cn"] == "cucm-pub.example.com"


def test_split_without_a_leaf_raises(std):
    with pytest.raises(PkiError):
        split_for_upload(build_chain([std.root.cert]))


def test_a_renamed_key_breaks_the_signature(pki, std, now):
    impostor = pki.intermediate(std.root, key=pki.key("rekeyed-issuing-ca"))
    chain = build_chain([std.leaf.cert, impostor.cert, std.root.cert])
    assert chain.broken_at is std.leaf.cert and not chain.complete
    assert codes(verify_chain(chain, now)) == ["chain-signature"]


def test_the_right_ca_wins_over_a_same_name_impostor(pki, std, now):
    impostor = pki.intermediate(std.root, key=pki.key("rekeyed-issuing-ca"))
    chain = build_chain([std.leaf.cert, impostor.cert, std.inter.cert, std.root.cert])
    assert chain.certs == [std.leaf.cert, std.inter.cert, std.root.cert]
    assert verify_chain(chain, now) == []


@pytest.mark.parametrize(("bc", "ku", "words"), [
    (None, ["key_cert_sign"], "no basicConstraints"),
    (False, ["key_cert_sign"], "CA:FALSE"),
    (True, ["digital_signature"], "does not allow signing certificates"),
])
def test_not_a_ca(pki, std, now, bc, ku, words):
    bad = pki.intermediate(std.root, f"Bad CA {bc} {ku}", ca=bc, path_len=None, ku=ku)
    leaf = pki.issue(bad, "cucm-pub.example.com", key=std.leaf.key, sans_dns=std.sans)
    found = verify_chain(build_chain([leaf.cert, bad.cert, std.root.cert]), now)
    assert codes(found) == ["not-a-ca"] and words in found[0].message


def test_path_length_constraint(pki, std, now):
    strict = pki.intermediate(std.root, "Strict CA", path_len=0, key=pki.key("strict"))
    below = pki.intermediate(strict, "Below Strict CA", key=pki.key("below"))
    leaf = pki.issue(below, "cucm-pub.example.com", key=std.leaf.key, sans_dns=std.sans)
    found = verify_chain(build_chain([leaf.cert, below.cert, strict.cert, std.root.cert]), now)
    assert codes(found) == ["not-a-ca"] and "pathLenConstraint" in found[0].message


def test_expired_and_future_cas(pki, std):
    chain = build_chain([std.leaf.cert, std.inter.cert, std.root.cert])
    assert codes(verify_chain(chain, dt.datetime(2036, 1, 1, tzinfo=dt.UTC))) == ["ca-expired"]
    found = verify_chain(chain, dt.datetime(2020, 6, 1, tzinfo=dt.UTC))
    assert codes(found) == ["not-yet-valid"] and "Example Issuing CA" in found[0].message


def test_path_validation_catches_what_link_checks_do_not(pki, now):
    """Name constraints: every link verifies, but cryptography's path validation says no."""
    constraints = x509.NameConstraints(permitted_subtrees=[x509.DNSName("example.org")],
                                       excluded_subtrees=None)
    root = pki.root("Constrained Root CA", key=pki.key("constrained-root"), name_constraints=constraints)
    leaf = pki.issue(root, "cucm-pub.example.com", key=pki.key("cucm-pub.example.com"),
                     sans_dns=["cucm-pub.example.com"])
    found = verify_chain(build_chain([leaf.cert, root.cert]), now)
    assert codes(found) == ["chain-signature"] and "path validation" in found[0].message


def test_self_signed_leaf(pki, now):
    key = pki.key("self-signed-tomcat")
    leaf = pki.issue(None, "cucm-pub.example.com", key=key, sans_dns=["cucm-pub.example.com"])
    chain = build_chain([leaf.cert])
    assert chain.complete and chain.certs == [leaf.cert]
    assert any("self-signed" in p for p in chain.problems)
    assert split_for_upload(chain).trust == []


def test_cross_signed_loop_terminates(pki, now):
    """Two CAs that each certify the other: the builder must stop, not loop."""
    ka, kb = pki.key("loop-a"), pki.key("loop-b")
    a0 = pki.issue(None, "Loop CA A", key=ka, ca=True, eku=None, ku=["key_cert_sign"])
    b0 = pki.issue(None, "Loop CA B", key=kb, ca=True, eku=None, ku=["key_cert_sign"])
    a_by_b = pki.issue(b0, "Loop CA A", key=ka, ca=True, eku=None, ku=["key_cert_sign"])
    b_by_a = pki.issue(a0, "Loop CA B", key=kb, ca=True, eku=None, ku=["key_cert_sign"])
    leaf = pki.issue(a0, "loop.example.com", key=pki.key("loop-leaf"), sans_dns=["loop.example.com"])
    chain = build_chain([leaf.cert, a_by_b.cert, b_by_a.cert])
    assert chain.certs == [leaf.cert, a_by_b.cert, b_by_a.cert] and not chain.complete
    assert codes(verify_chain(chain, now)) == ["chain-incomplete"]


def test_chain_dataclass_defaults():
    chain = Chain([], complete=False)
    assert chain.leaf is None and chain.cas == [] and chain.unused == []
