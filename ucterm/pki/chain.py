"""Chains: from an unordered bag of certificates to leaf → intermediates → root, and back to an upload.

CAs send chains in any order, sometimes with unrelated CA certificates added, sometimes
without the root. The chain is built from names *and* signatures (the AKI only orders the
candidates), never from file order. It is then judged twice: by per-link checks that can
tell "weak" from "broken" (VOS still accepts SHA-1 chains, cryptography's verifier does not),
and by `cryptography.x509.verification` for everything else path validation catches.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

from cryptography import x509
from cryptography.x509 import verification
from cryptography.x509.oid import SignatureAlgorithmOID

from ucterm.pki.findings import GIVE_CHAIN, Finding, finding
from ucterm.pki.load import PkiError
from ucterm.pki.summary import (
    basic_constraints,
    cn_of,
    is_self_signed,
    key_info,
    key_usage_of,
    label,
    public_keys_equal,
    sha256_hex,
    signed_by,
    utc,
)

__all__ = ["MAX_CHAIN_LENGTH", "Chain", "UploadPlan", "build_chain", "pick_leaf", "split_for_upload",
           "verify_chain"]

#: Longer than any real CA hierarchy; stops loops in hostile input.
MAX_CHAIN_LENGTH = 10


@dataclass
class Chain:
    """A certification path, leaf first.

    `complete` means the path ends at a self-signed root or at one of the `trusted`
    certificates (those the node already holds). `broken_at` is the certificate whose issuer
    was found by name but whose signature no such candidate verifies. `unused` lists the bag's
    certificates that are not on the leaf's path.
    """

    certs: list[x509.Certificate]
    complete: bool
    problems: list[str] = field(default_factory=list)
    anchor: x509.Certificate | None = None
    broken_at: x509.Certificate | None = None
    unused: list[x509.Certificate] = field(default_factory=list)
    trusted: list[x509.Certificate] = field(default_factory=list)

    @property
    def leaf(self) -> x509.Certificate | None:
        return self.certs[0] if self.certs else None

    @property
    def cas(self) -> list[x509.Certificate]:
        return self.certs[1:]

    def is_trusted(self, cert: x509.Certificate) -> bool:
        """Whether `cert` came from the node's trust store rather than from the files."""
        fp = sha256_hex(cert)
        return any(sha256_hex(t) == fp for t in self.trusted)


def _dedupe(certs: Iterable[x509.Certificate]) -> list[x509.Certificate]:
    seen: set[str] = set()
    out = []
    for cert in certs:
        fp = sha256_hex(cert)
        if fp not in seen:
            seen.add(fp)
            out.append(cert)
    return out


def _is_ca(cert: x509.Certificate) -> bool:
    bc = basic_constraints(cert)
    return bool(bc is not None and bc.ca)


def pick_leaf(bag: Sequence[x509.Certificate], csr: x509.CertificateSigningRequest | None = None, *,
              ca_leaf: bool = False) -> x509.Certificate | None:
    """The end-entity certificate in `bag`, or None when it holds only CA certificates.

    The certificate whose key is the CSR's wins. Otherwise: a certificate that issued nothing
    else in the bag and is not a CA. With `ca_leaf` (a unit whose certificate signs
    certificates: CAPF, §5.1) a CA that issued nothing and is not self-signed also qualifies;
    without it, such a CA is an intermediate and the leaf is missing. File order breaks ties.
    """
    certs = _dedupe(bag)
    if csr is not None:
        for cert in certs:
            if public_keys_equal(cert, csr):
                return cert

    def issued_something(candidate: x509.Certificate) -> bool:
        fp = sha256_hex(candidate)
        return any(sha256_hex(o) != fp and signed_by(o, candidate) for o in certs)

    childless = [c for c in certs if not issued_something(c)]
    for cert in childless:
        if not _is_ca(cert):
            return cert
    if ca_leaf:
        for cert in childless:
            if not is_self_signed(cert):
                return cert
    return None


def _aki(cert: x509.Certificate) -> bytes | None:
    try:
        value = cert.extensions.get_extension_for_class(x509.AuthorityKeyIdentifier).value
    except x509.ExtensionNotFound:
        return None
    return value.key_identifier


def _ski(cert: x509.Certificate) -> bytes | None:
    try:
        return cert.extensions.get_extension_for_class(x509.SubjectKeyIdentifier).value.digest
    except x509.ExtensionNotFound:
        return None


def build_chain(bag: Sequence[x509.Certificate], leaf: x509.Certificate | None = None, *,
                trusted: Sequence[x509.Certificate] = (),
                csr: x509.CertificateSigningRequest | None = None) -> Chain:
    """Order `bag` into a path from the leaf up, as far as the certificates reach.

    `leaf` defaults to :func:`pick_leaf`. `trusted` are CA certificates the node already has
    (its `<unit>-trust` store): a path that reaches one of them is complete even without the
    root, and the upload plan then skips them.
    """
    certs = _dedupe(bag)
    trusted_list = _dedupe(trusted)
    if leaf is None:
        leaf = pick_leaf(certs, csr)
    if leaf is None:
        return Chain([], False, ["no end-entity certificate: only CA certificates were given"],
                     unused=certs, trusted=trusted_list)
    trusted_fps = {sha256_hex(t) for t in trusted_list}
    pool = _dedupe([*certs, *trusted_list])
    path = [leaf]
    seen = {sha256_hex(leaf)}
    chain = Chain(path, False, trusted=trusted_list)
    current = leaf
    while True:
        if len(path) > 1 and sha256_hex(current) in trusted_fps:
            chain.complete, chain.anchor = True, current
            break
        if is_self_signed(current):
            chain.complete, chain.anchor = True, current
            if len(path) == 1:
                chain.problems.append(f"'{label(current)}' is self-signed: no CA issued it")
            break
        if len(path) >= MAX_CHAIN_LENGTH:
            chain.problems.append(f"the chain is longer than {MAX_CHAIN_LENGTH} certificates")
            break
        aki = _aki(current)
        named = [c for c in pool if c.subject == current.issuer and sha256_hex(c) not in seen]
        named.sort(key=lambda c: (
            0 if aki is not None and _ski(c) == aki else 1,
            0 if sha256_hex(c) in trusted_fps else 1,
            0 if is_self_signed(c) else 1,
        ))
        issuer = next((c for c in named if signed_by(current, c)), None)
        if issuer is None:
            if named:
                chain.broken_at = current
                chain.problems.append(
                    f"the signature on '{label(current)}' does not verify with the key of any "
                    f"'{cn_of(current.issuer) or current.issuer.rfc4514_string()}' certificate given")
            else:
                chain.problems.append(
                    f"the issuer of '{label(current)}', "
                    f"'{cn_of(current.issuer) or current.issuer.rfc4514_string()}', is not in the files")
            break
        path.append(issuer)
        seen.add(sha256_hex(issuer))
        current = issuer
    chain.unused = [c for c in certs if sha256_hex(c) not in seen]
    return chain


# --------------------------------------------------------------------------------------------
# Verification

#: Signature algorithms cryptography's path validation accepts; with anything else (SHA-1,
#: MD5, DSA) it fails by policy, which ucterm reports as `weak-signature`, not as broken.
_MODERN_SIGNATURES = frozenset({
    SignatureAlgorithmOID.RSA_WITH_SHA256, SignatureAlgorithmOID.RSA_WITH_SHA384,
    SignatureAlgorithmOID.RSA_WITH_SHA512, SignatureAlgorithmOID.ECDSA_WITH_SHA256,
    SignatureAlgorithmOID.ECDSA_WITH_SHA384, SignatureAlgorithmOID.ECDSA_WITH_SHA512,
})


def _verifier_can_judge(chain: Chain, now: dt.datetime) -> bool:
    """Whether cryptography's verifier would judge this chain on its merits rather than on policy.

    It refuses RSA keys under 2048 bits, SHA-1/MD5 and curves outside P-256/384/521; those
    are warnings here, and validity dates are reported per certificate already.
    """
    for cert in chain.certs:
        kind, size = key_info(cert.public_key())
        if kind == "RSA" and size < 2048:
            return False
        if kind == "EC" and size not in (256, 384, 521):
            return False
        if kind not in ("RSA", "EC"):
            return False
        if cert is not chain.anchor and cert.signature_algorithm_oid not in _MODERN_SIGNATURES:
            return False
        if not cert.not_valid_before_utc <= now <= cert.not_valid_after_utc:
            return False
    return True


def _cryptography_verdict(chain: Chain, now: dt.datetime) -> str | None:
    """Path validation by `cryptography.x509.verification`; the reason it fails, or None.

    A client verifier, because ucterm validates a path, not a server name: VOS checks the
    SANs against the CSR, not against a host name. Extension policies are permissive (the
    unit's EKU/KU rules are linted separately, with Cisco's requirements rather than the
    Web PKI's), except that every CA must carry basicConstraints.
    """
    assert chain.anchor is not None and chain.leaf is not None
    ca_policy = verification.ExtensionPolicy.permit_all().require_present(
        x509.BasicConstraints, verification.Criticality.AGNOSTIC, None)
    verifier = (
        verification.PolicyBuilder()
        .store(verification.Store([chain.anchor]))
        .time(now)
        .max_chain_depth(MAX_CHAIN_LENGTH)
        .extension_policies(ca_policy=ca_policy, ee_policy=verification.ExtensionPolicy.permit_all())
        .build_client_verifier()
    )
    intermediates = [c for c in chain.certs[1:] if c is not chain.anchor]
    try:
        verifier.verify(chain.leaf, intermediates)
    except verification.VerificationError as exc:
        return str(exc)
    return None


def _date(moment: dt.datetime) -> str:
    return moment.strftime("%Y-%m-%d")


def verify_chain(chain: Chain, now: dt.datetime | None = None) -> list[Finding]:
    """Findings about the path itself: incomplete, broken signatures, CAs that are not CAs or expired.

    The leaf's own dates, key and extensions are :func:`ucterm.pki.lint`'s business.
    """
    moment = utc(now)
    out: list[Finding] = []
    if not chain.certs:
        return out
    last = chain.certs[-1]
    issuer_name = cn_of(last.issuer) or last.issuer.rfc4514_string()
    if chain.broken_at is not None:
        out.append(finding(
            "chain-signature",
            f"the signature on '{label(chain.broken_at)}' does not verify with the key of the "
            f"'{issuer_name}' certificate in the files",
            f"the '{issuer_name}' certificate you have is not the one that signed it (a renewed CA "
            f"with the same name?): ask the CA for the issuing certificate that matches and {GIVE_CHAIN}"))
    elif not chain.complete:
        out.append(finding(
            "chain-incomplete",
            f"the chain stops at '{label(last)}': the CA certificate '{issuer_name}' that issued it "
            "is not in the files, and VOS refuses the upload unless the node already trusts it",
            f"ask the CA for the intermediate or root certificate '{issuer_name}' that issued "
            f"'{label(last)}' and {GIVE_CHAIN}"))
    for depth, ca in enumerate(chain.certs[1:], start=1):
        out.extend(_ca_findings(ca, depth, moment))
    if not out and chain.complete and len(chain.certs) > 1 and _verifier_can_judge(chain, moment):
        reason = _cryptography_verdict(chain, moment)
        if reason:
            out.append(finding(
                "chain-signature",
                f"path validation rejects the chain from '{label(chain.certs[0])}' to "
                f"'{label(last)}' ({reason})",
                "ask the CA for its current chain (intermediates and root) and check again"))
    return out


def _ca_findings(ca: x509.Certificate, depth: int, now: dt.datetime) -> list[Finding]:
    """Checks on one CA of the path; `depth` 1 is the leaf's issuer."""
    out: list[Finding] = []
    name = label(ca)
    bc = basic_constraints(ca)
    if bc is None or not bc.ca:
        out.append(finding(
            "not-a-ca",
            f"'{name}' issued a certificate in this chain but is not a CA "
            f"({'no basicConstraints extension' if bc is None else 'basicConstraints CA:FALSE'})",
            f"the file holds the wrong '{name}' certificate: ask the CA for its CA certificate"))
    else:
        usage = key_usage_of(ca)
        if usage is not None and "key_cert_sign" not in usage:
            out.append(finding(
                "not-a-ca",
                f"'{name}' is marked as a CA but its key usage does not allow signing certificates",
                f"ask the CA for a correct '{name}' CA certificate (key usage with Certificate Sign)"))
        below = depth - 1
        if bc.path_length is not None and below > bc.path_length:
            out.append(finding(
                "not-a-ca",
                f"'{name}' may have at most {bc.path_length} CA(s) below it (pathLenConstraint) "
                f"but has {below}",
                "ask the CA which intermediate should issue server certificates and use that chain"))
    if ca.not_valid_after_utc < now:
        out.append(finding(
            "ca-expired",
            f"the CA certificate '{name}' expired on {_date(ca.not_valid_after_utc)}",
            f"ask the CA for the renewed '{name}' certificate (and a leaf issued under it if its key "
            "changed)"))
    elif ca.not_valid_before_utc > now:
        out.append(finding(
            "not-yet-valid",
            f"the CA certificate '{name}' is valid only from {_date(ca.not_valid_before_utc)}",
            f"wait until {_date(ca.not_valid_before_utc)} or check the clock of the CA and of this machine"))
    return out


# --------------------------------------------------------------------------------------------
# Upload


@dataclass(frozen=True)
class UploadPlan:
    """What goes where: `trust` to `<unit>-trust` first, root then intermediates; then `identity`.

    `already_trusted` are path CAs the node holds already (skipped). `identity_chain` is the
    leaf with its intermediates, leaf first, as the certmgr identity upload takes it (§4.1).
    """

    trust: list[x509.Certificate]
    identity: x509.Certificate
    already_trusted: list[x509.Certificate] = field(default_factory=list)
    identity_chain: list[x509.Certificate] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        def brief(cert: x509.Certificate) -> dict[str, str]:
            return {"subject_cn": label(cert), "sha256": sha256_hex(cert)}
        return {"trust": [brief(c) for c in self.trust], "identity": brief(self.identity),
                "already_trusted": [brief(c) for c in self.already_trusted]}


def split_for_upload(chain: Chain) -> UploadPlan:
    """The upload order for `chain` (§5.4: root → intermediates into trust, then the identity)."""
    if chain.leaf is None:
        raise PkiError("there is no leaf certificate to upload: pass the certificate the CA issued")
    cas = chain.certs[1:]
    trust = [c for c in reversed(cas) if not chain.is_trusted(c)]
    already = [c for c in reversed(cas) if chain.is_trusted(c)]
    intermediates = [c for c in cas if not is_self_signed(c)]
    return UploadPlan(trust=trust, identity=chain.leaf, already_trusted=already,
                      identity_chain=[chain.leaf, *intermediates])
