"""Linting a signed certificate against what VOS and the unit need (cisco-uc-certs.md §5).

Each rule exists because an upload fails on it, or because the certificate installs but
something stops working afterwards (phones, federation partners, mutual TLS). Messages name
the certificate and say what is wrong; fixes say, in one sentence, what to ask for.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Iterable

from cryptography import x509

from ucterm import catalog
from ucterm.expiry import ago_words, days_left, is_expired
from ucterm.pki.chain import Chain
from ucterm.pki.findings import Finding, finding
from ucterm.pki.load import PkiError
from ucterm.pki.summary import (
    KEY_USAGE_LABELS,
    cn_of,
    eku_of,
    is_self_signed,
    key_info,
    key_usage_of,
    label,
    public_keys_equal,
    sans_of,
    signature_hash_name,
    utc,
)

__all__ = ["WILDCARD_UNITS", "compare_with_csr", "lint", "looks_multi_server", "resolve_unit"]

#: §5.2: no wildcards, except the federation certificate whose CSR asked for one (issue 3).
WILDCARD_UNITS = frozenset({"cup-xmpp-s2s", "cup-xmpp-s2s-ECDSA"})
#: §2.1 [VERIFIED: S-SEC14SU2]: the default multi-server CN is `<host>-ms.<domain>` / `<host>-EC-ms.<domain>`.
_MULTI_SERVER_CN = re.compile(r"^[^.]+-(?:ec-)?ms\.", re.IGNORECASE)
_WEAK_HASHES = frozenset({"md5", "sha1"})
_EC_WEAK_BITS = 256


def resolve_unit(unit: str | None) -> catalog.UnitSpec | None:
    """The catalog's spec for `unit` (case-insensitive); PkiError listing the units when unknown."""
    if unit is None:
        return None
    try:
        return catalog.unit_spec(unit)
    except KeyError:
        names = ", ".join(catalog.UNITS)
        raise PkiError(f"unknown unit '{unit}': use one of {names}") from None


def looks_multi_server(cert: x509.Certificate) -> bool:
    """A CN of the `-ms.` form is VOS's multi-server default, even when --multi-server was not given."""
    return bool(_MULTI_SERVER_CN.match(cn_of(cert.subject)))


def _date(moment: dt.datetime) -> str:
    return moment.strftime("%Y-%m-%d")


def _join(items: Iterable[str]) -> str:
    items = list(items)
    return items[0] if len(items) == 1 else ", ".join(items[:-1]) + " and " + items[-1]


def compare_with_csr(cert: x509.Certificate, csr: x509.CertificateSigningRequest, *,
                     csr_origin: str | None = None) -> list[Finding]:
    """The two checks VOS makes against the pending CSR at upload (§5.3): key, then SAN set.

    `csr_origin` completes "submit the CSR … again" ("generated on 2026-11-20",
    "in tomcat.csr (saved on 2026-11-20)"), so the fix names the right CSR.
    """
    out: list[Finding] = []
    name = label(cert)
    if not public_keys_equal(cert, csr):
        which = f"the CSR {csr_origin}" if csr_origin else "the current CSR"
        out.append(finding(
            "key-mismatch",
            f"the public key of '{name}' is not the CSR's (VOS refuses it: \"CSR Public Key and "
            "Certificate Public Key Do Not Match\")",
            f"the CA issued this from a different CSR: submit {which} again"))
    cert_sans, csr_sans = sans_of(cert), sans_of(csr)
    if not csr_sans and not _has_san_extension(csr) and cert_sans <= {cn_of(csr.subject).lower()}:
        # A CSR without SANs: CAs copy the CN into the SAN. Treated as equal [INFERRED]: no
        # source says how VOS compares an empty CSR SAN list.
        return out
    if cert_sans != csr_sans:
        missing, extra = sorted(csr_sans - cert_sans), sorted(cert_sans - csr_sans)
        parts = []
        if missing:
            parts.append(f"missing {_join(missing)}")
        if extra:
            parts.append(f"added {_join(extra)}")
        out.append(finding(
            "san-mismatch",
            f"the SANs of '{name}' differ from the CSR's ({'; '.join(parts)}); VOS refuses it: "
            "\"CSR Subject Alternate Name (SAN) and Certificate SAN Does Not Match\"",
            "ask the CA to issue with exactly the CSR's SANs (turn off options that add names such as "
            "www. or the bare domain, and do not type SANs into the portal)"))
    return out


def _has_san_extension(csr: x509.CertificateSigningRequest) -> bool:
    try:
        csr.extensions.get_extension_for_class(x509.SubjectAlternativeName)
    except x509.ExtensionNotFound:
        return False
    return True


def lint(cert: x509.Certificate, *, unit: str | None, multi_server: bool,
         csr: x509.CertificateSigningRequest | None = None, chain: Chain | None = None,
         now: dt.datetime | None = None) -> list[Finding]:
    """Findings on the leaf `cert` for `unit` (and on the keys and signatures of `chain`'s CAs).

    Without a unit, the EKU rule falls back to what the CSR asked for (serverAuth and
    clientAuth among it), or to serverAuth, which every VOS unit needs.
    """
    spec = resolve_unit(unit)
    moment = utc(now)
    out: list[Finding] = []
    out += _self_signed(cert)
    out += _validity(cert, moment)
    out += _eku(cert, spec, csr)
    out += _key_usage(cert, spec, csr)
    out += _wildcard(cert, spec, csr)
    out += _ip_san(cert, multi_server)
    out += _key(cert, spec, csr, leaf=True)
    out += _signature(cert, leaf=True)
    if chain is not None:
        for ca in chain.certs[1:]:
            if chain.is_trusted(ca):
                continue  # already in the node's trust store: nothing to upload, nothing to judge
            out += _key(ca, spec, None, leaf=False)
            if not is_self_signed(ca):  # a root's own signature is never checked by anyone
                out += _signature(ca, leaf=False)
    return out


def _validity(cert: x509.Certificate, now: dt.datetime) -> list[Finding]:
    name = label(cert)
    if is_expired(cert.not_valid_after_utc, now):
        ago = ago_words(days_left(cert.not_valid_after_utc, now))
        return [finding(
            "expired",
            f"'{name}' expired on {_date(cert.not_valid_after_utc)} ({ago}); VOS refuses "
            "expired certificates",
            "generate a fresh CSR on the node and have it signed again")]
    if cert.not_valid_before_utc > now:
        return [finding(
            "not-yet-valid",
            f"'{name}' is valid only from {_date(cert.not_valid_before_utc)} "
            f"({cert.not_valid_before_utc:%H:%M} UTC)",
            f"upload it after {_date(cert.not_valid_before_utc)}, or check the clock of this machine and "
            "of the CA (a back-dated start is normal, a future one is not)")]
    return []


def _eku(cert: x509.Certificate, spec: catalog.UnitSpec | None,
         csr: x509.CertificateSigningRequest | None) -> list[Finding]:
    have = eku_of(cert)
    if have is None or "anyExtendedKeyUsage" in have:
        return []  # no EKU extension (or "any") allows every usage (RFC 5280 §4.2.1.12)
    if spec is not None:
        required = set(spec.eku_required)
        why = f"which {spec.name} needs"
    else:
        asked = eku_of(csr) if csr is not None else None
        required = {e for e in (asked or ("serverAuth",)) if e in ("serverAuth", "clientAuth")}
        why = "which the CSR asked for" if asked else "which every VOS unit needs"
    missing = sorted(required - set(have), key=_eku_order)
    if not missing:
        return []
    has = _join(have) if have else "nothing"
    asked_for = _join(sorted(required, key=_eku_order))
    client, public = "", ""
    if "clientAuth" in missing:
        # The units that need clientAuth present their certificate as a TLS client too (SIP trunks,
        # XMPP federation, intra-cluster HTTPS): without it those mutual TLS links fail.
        client = (": the node also uses this certificate as a TLS client (mutual TLS), and public CAs now "
                  "issue server-auth-only certificates (Cisco field notice FN74345)")
        public = "; a public CA that issues server-auth-only cannot: sign this unit with your enterprise CA"
    return [finding(
        "eku-missing",
        f"the extended key usage of '{label(cert)}' lacks {_join(missing)}, {why} (it has {has}){client}",
        f"the CA template dropped {_join(missing)}: ask for a template that keeps the CSR's extended "
        f"key usage ({asked_for}){public}")]


def _eku_order(name: str) -> tuple[int, str]:
    """serverAuth, clientAuth, then anything else alphabetically: the order Cisco lists them in."""
    return {"serverAuth": 0, "clientAuth": 1}.get(name, 2), name


def _key_usage(cert: x509.Certificate, spec: catalog.UnitSpec | None,
               csr: x509.CertificateSigningRequest | None) -> list[Finding]:
    """With a CSR, the bits that CSR asked for (a CA template should copy them unchanged); without
    one, the bits the catalog says VOS puts in the unit's CSR (§5.1)."""
    have = key_usage_of(cert)
    if have is None:
        return []  # no KeyUsage extension: the key may be used for anything
    if csr is not None:
        required = set(key_usage_of(csr) or ())
        whose = "the CSR asks for"
    elif spec is not None:
        required = set(spec.key_usage_required)
        whose = f"VOS puts in {spec.name}'s CSR"
    else:
        return []
    missing = [k for k in KEY_USAGE_LABELS if k in required and k not in have]
    if not missing:
        return []
    words = _join(KEY_USAGE_LABELS[k] for k in missing)
    return [finding(
        "ku-missing",
        f"the key usage of '{label(cert)}' lacks {words}, which {whose}",
        "ask for a CA template that copies the CSR's key usage unchanged"
        + (" (Cisco: do not change or remove the Data Encipherment bit)"
           if "data_encipherment" in missing else ""))]


def _self_signed(cert: x509.Certificate) -> list[Finding]:
    """What a CA issued is never its own issuer: a self-signed certificate handed over as the CA's answer
    is refused by VOS (its issuer is in no trust store) and is not what the CSR asked for."""
    if not is_self_signed(cert):
        return []
    return [finding(
        "self-signed",
        f"'{label(cert)}' is self-signed, not issued by a CA: VOS refuses it as the signed certificate "
        "(\"CA Certificate is Not Available in the Trust-Store\"), and it is not what the CSR asked for",
        "send the CSR to the CA and pass the certificate the CA returns (a node's own self-signed "
        "certificate is regenerated with `set cert regen`, not uploaded)")]


def _names(cert: x509.Certificate) -> list[str]:
    return [cn_of(cert.subject), *sorted(sans_of(cert))]


def _wildcard(cert: x509.Certificate, spec: catalog.UnitSpec | None,
              csr: x509.CertificateSigningRequest | None) -> list[Finding]:
    wild = sorted({n.lower() for n in _names(cert) if "*" in n})
    if not wild:
        return []
    if spec is not None and spec.name in WILDCARD_UNITS and csr is not None:
        asked = sans_of(csr) | {cn_of(csr.subject).lower()}
        if set(wild) <= asked:
            return []  # the federation CSR asked for this wildcard itself
    return [finding(
        "wildcard",
        f"'{label(cert)}' carries the wildcard name {_join(wild)}; VOS does not support wildcard "
        "certificates",
        "have the CA sign the node's CSR as it is, with its own host names instead of a wildcard")]


def _ip_san(cert: x509.Certificate, multi_server: bool) -> list[Finding]:
    try:
        san = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    except x509.ExtensionNotFound:
        return []
    ips = [str(ip) for ip in san.get_values_for_type(x509.IPAddress)]
    if not ips:
        return []
    inferred = not multi_server and looks_multi_server(cert)
    if not (multi_server or inferred):
        return []
    how = " (its CN has the multi-server '-ms.' form)" if inferred else ""
    return [finding(
        "ip-san",
        f"the multi-server certificate '{label(cert)}'{how} has IP address SANs ({_join(ips)}); "
        "multi-server certificates must not have any",
        "ask the CA to issue it without IP address SANs, with only the CSR's host names")]


def _key(cert: x509.Certificate, spec: catalog.UnitSpec | None,
         csr: x509.CertificateSigningRequest | None, *, leaf: bool) -> list[Finding]:
    out: list[Finding] = []
    kind, size = key_info(cert.public_key())
    name = label(cert)
    what = f"'{name}'" if leaf else f"the CA certificate '{name}'"
    if kind == "RSA" and size > catalog.MAX_RSA_BITS:
        out.append(finding(
            "key-too-large",
            f"{what} has an RSA key of {size} bits; VOS accepts at most {catalog.MAX_RSA_BITS}",
            f"generate the CSR again with a key of {catalog.MAX_RSA_BITS} bits or fewer and have it signed"
            if leaf else
            f"ask the CA for a chain whose keys are {catalog.MAX_RSA_BITS} bits or fewer"))
    elif (kind == "RSA" and size < catalog.WEAK_RSA_BITS) or (kind == "EC" and size < _EC_WEAK_BITS):
        floor = catalog.WEAK_RSA_BITS if kind == "RSA" else _EC_WEAK_BITS
        out.append(finding(
            "weak-key",
            f"{what} has an {kind} key of {size} bits, below {floor}; current clients may refuse it",
            f"generate the CSR again with at least {floor} bits" if leaf else
            "ask the CA whether a chain with stronger keys is available"))
    if leaf and spec is not None and csr is None and kind in ("RSA", "EC") and kind != spec.key_algorithm:
        out.append(finding(
            "key-mismatch",
            f"{spec.name} takes an {spec.key_algorithm} key but '{name}' has an {kind} key",
            f"the CA issued this for another unit: submit {spec.name}'s own CSR"))
    return out


def _signature(cert: x509.Certificate, *, leaf: bool) -> list[Finding]:
    algorithm = signature_hash_name(cert)
    if algorithm not in _WEAK_HASHES:
        return []
    name = label(cert)
    what = f"'{name}'" if leaf else f"the intermediate '{name}'"
    return [finding(
        "weak-signature",
        f"{what} is signed with {algorithm.upper().replace('SHA1', 'SHA-1')}, which browsers, Jabber "
        "and FIPS mode reject",
        "ask the CA to sign with SHA-256 or stronger" if leaf else
        "ask the CA for its SHA-256 chain")]
