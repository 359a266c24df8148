"""X.509 building blocks of the lab: names, CSRs, self-signed identities, comparisons.

The lab never imports `ucterm.pki` (the client side): its certificates are made here from the
catalog's unit requirements, so that a misunderstanding in the client cannot be mirrored by the
lab. Everything uses SHA-256, as VOS does by default (§5.4), except a CSR whose hash the REST
client chose (:func:`make_csr`).
"""

from __future__ import annotations

import functools
import ipaddress
import re
from dataclasses import dataclass
from datetime import datetime

from cryptography import x509
from cryptography.exceptions import InvalidSignature, UnsupportedAlgorithm
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from ucterm import catalog
from ucterm.lab.keys import PrivateKey

#: EKU names used by the catalog and by §5.1, as OIDs.
EKU_OIDS: dict[str, x509.ObjectIdentifier] = {
    "serverAuth": ExtendedKeyUsageOID.SERVER_AUTH,
    "clientAuth": ExtendedKeyUsageOID.CLIENT_AUTH,
    "ipsecEndSystem": x509.ObjectIdentifier("1.3.6.1.5.5.7.3.5"),
}

#: §5.1 [VERIFIED: S-ADM125SU3]: the VOS CSR templates of these units also request IPsec End System.
_IPSEC_EKU_UNITS = frozenset({"tomcat", "ipsec", "cup", "cup-xmpp", "cup-xmpp-s2s"})


@dataclass(frozen=True)
class Subject:
    """The distinguished-name fields VOS takes from `set web-security` (§1.2)."""

    cn: str
    ou: str | None = None
    o: str | None = None
    locality: str | None = None
    state: str | None = None
    country: str | None = None

    def name(self, *, include_ou: bool = True) -> x509.Name:
        # DER order C, ST, L, O, OU, CN: printed most specific first (`CN=..., OU=..., ..., C=...`).
        attrs = []
        for oid, value in ((NameOID.COUNTRY_NAME, self.country), (NameOID.STATE_OR_PROVINCE_NAME, self.state),
                           (NameOID.LOCALITY_NAME, self.locality), (NameOID.ORGANIZATION_NAME, self.o),
                           (NameOID.ORGANIZATIONAL_UNIT_NAME, self.ou if include_ou else None),
                           (NameOID.COMMON_NAME, self.cn)):
            if value:
                attrs.append(x509.NameAttribute(oid, value))
        return x509.Name(attrs)


def san_extension(names: list[str]) -> x509.SubjectAlternativeName:
    entries: list[x509.GeneralName] = []
    for name in names:
        try:
            entries.append(x509.IPAddress(ipaddress.ip_address(name)))
        except ValueError:
            entries.append(x509.DNSName(name))
    return x509.SubjectAlternativeName(entries)


def key_usage(names: frozenset[str] | set[str]) -> x509.KeyUsage:
    return x509.KeyUsage(
        digital_signature="digital_signature" in names, content_commitment=False,
        key_encipherment="key_encipherment" in names, data_encipherment="data_encipherment" in names,
        key_agreement="key_agreement" in names, key_cert_sign="key_cert_sign" in names,
        crl_sign=False, encipher_only=False, decipher_only=False)


def unit_ekus(spec: catalog.UnitSpec) -> list[x509.ObjectIdentifier]:
    names = list(spec.eku_required)
    if spec.name in _IPSEC_EKU_UNITS:
        names.append("ipsecEndSystem")
    order = list(EKU_OIDS)
    return [EKU_OIDS[n] for n in sorted(set(names), key=order.index)]


def unit_extensions(spec: catalog.UnitSpec, sans: list[str]) -> list[tuple[x509.ExtensionType, bool]]:
    """The extensions VOS puts in a CSR (and a self-signed certificate) for this unit (§5.1)."""
    exts: list[tuple[x509.ExtensionType, bool]] = [
        (san_extension(sans), False),
        (key_usage(spec.key_usage_required), True),
        (x509.ExtendedKeyUsage(unit_ekus(spec)), False),
    ]
    if spec.name == "CAPF":  # §5.1: CAPF issues LSCs, so it is a CA [INFERRED: basicConstraints].
        exts.append((x509.BasicConstraints(ca=True, path_length=None), True))
    return exts


#: Hash algorithms a CSR may be signed with (§5.4: the GUI/REST offer SHA1–SHA512 [INFERRED list]).
HASHES: dict[str, hashes.HashAlgorithm] = {"sha1": hashes.SHA1(), "sha256": hashes.SHA256(),
                                           "sha384": hashes.SHA384(), "sha512": hashes.SHA512()}


@functools.cache
def hash_signable(hash_algorithm: str) -> bool:
    """True if this cryptography/OpenSSL build can sign a CSR with the hash.

    SHA-1 signatures are refused by recent cryptography releases (and by OpenSSL builds in a
    strict crypto policy); a node asked for one must refuse it rather than silently sign with
    something else. Probed once per hash with a throw-away P-256 key (microseconds).
    """
    algorithm = HASHES.get(hash_algorithm.lower())
    if algorithm is None:
        return False
    probe = x509.CertificateSigningRequestBuilder().subject_name(
        x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "probe")]))
    try:
        probe.sign(ec.generate_private_key(ec.SECP256R1()), algorithm)  # type: ignore[arg-type]  # see make_csr
    except (UnsupportedAlgorithm, ValueError):
        return False
    return True


def make_csr(key: PrivateKey, subject: x509.Name, extensions: list[tuple[x509.ExtensionType, bool]],
             hash_algorithm: str = "sha256") -> x509.CertificateSigningRequest:
    """A CSR signed with `hash_algorithm` (one of :data:`HASHES`; check :func:`hash_signable` first)."""
    builder = x509.CertificateSigningRequestBuilder().subject_name(subject)
    for ext, critical in extensions:
        builder = builder.add_extension(ext, critical)
    # cryptography's stubs leave SHA1 out of the CSR hashes; VOS offers it (§5.4) and the build
    # may sign with it (hash_signable() asks first).
    return builder.sign(key, HASHES[hash_algorithm.lower()])  # type: ignore[arg-type]


def self_signed(key: PrivateKey, subject: x509.Name, extensions: list[tuple[x509.ExtensionType, bool]],
                not_before: datetime, not_after: datetime) -> x509.Certificate:
    """A certificate issued by itself, as `set cert regen` produces (§1.8)."""
    builder = (x509.CertificateBuilder().subject_name(subject).issuer_name(subject)
               .public_key(key.public_key()).serial_number(x509.random_serial_number())
               .not_valid_before(not_before).not_valid_after(not_after)
               .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), False))
    for ext, critical in extensions:
        builder = builder.add_extension(ext, critical)
    return builder.sign(key, hashes.SHA256())


# --------------------------------------------------------------------------------------------
# Reading and comparing


def cert_pem(cert: x509.Certificate) -> str:
    return cert.public_bytes(serialization.Encoding.PEM).decode("ascii")


def csr_pem(csr: x509.CertificateSigningRequest) -> str:
    return csr.public_bytes(serialization.Encoding.PEM).decode("ascii")


def key_pem(key: PrivateKey) -> str:
    return key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                             serialization.NoEncryption()).decode("ascii")


_CSR_HEADERS = re.compile(r"-----(BEGIN|END) (?:NEW )?CERTIFICATE (?:SIGN )?REQUEST-----")


def load_csr(text: str) -> x509.CertificateSigningRequest:
    """A CSR from PEM with any of the headers VOS and CAs use (incl. VOS 12.5's `CERTIFICATE SIGN REQUEST`)."""
    normalised = _CSR_HEADERS.sub(lambda m: f"-----{m.group(1)} CERTIFICATE REQUEST-----", text)
    return x509.load_pem_x509_csr(normalised.encode("ascii", "replace"))


def load_certs(text: str) -> list[x509.Certificate]:
    """Every certificate in a PEM text (junk around the blocks and CRLF allowed); [] if none parse."""
    blocks = re.findall(r"-----BEGIN CERTIFICATE-----.+?-----END CERTIFICATE-----", text.replace("\r", ""), re.S)
    certs = []
    for block in blocks:
        body = "".join(block.splitlines()[1:-1]).replace(" ", "")
        wrapped = "\n".join(body[i:i + 64] for i in range(0, len(body), 64))
        try:
            certs.append(x509.load_pem_x509_certificate(
                f"-----BEGIN CERTIFICATE-----\n{wrapped}\n-----END CERTIFICATE-----\n".encode("ascii")))
        except ValueError:
            continue
    return certs


def sans_of(obj: x509.Certificate | x509.CertificateSigningRequest) -> list[str]:
    """DNS names and IP addresses in the SAN extension, lower-cased, in order."""
    try:
        ext = obj.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    except x509.ExtensionNotFound:
        return []
    names = [n.lower() for n in ext.get_values_for_type(x509.DNSName)]
    names += [str(ip) for ip in ext.get_values_for_type(x509.IPAddress)]
    return names


def common_name(name: x509.Name) -> str:
    attrs = name.get_attributes_for_oid(NameOID.COMMON_NAME)
    return str(attrs[0].value) if attrs else name.rfc4514_string()


def is_self_signed(cert: x509.Certificate) -> bool:
    if cert.issuer != cert.subject:
        return False
    return issued_by(cert, cert)


def issued_by(cert: x509.Certificate, issuer: x509.Certificate) -> bool:
    if cert.issuer != issuer.subject:
        return False
    try:
        cert.verify_directly_issued_by(issuer)
    except (ValueError, TypeError, InvalidSignature):
        return False
    return True


def public_key_bytes(obj: x509.Certificate | x509.CertificateSigningRequest | PrivateKey) -> bytes:
    return obj.public_key().public_bytes(serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo)


def fingerprint(cert: x509.Certificate) -> str:
    return cert.fingerprint(hashes.SHA256()).hex()
