"""What a certificate says, in the words an administrator checks it by.

:func:`summarise` is the one place that turns a certificate into display data (the scan table,
the TUI detail pane, `ucterm check`), so every face shows the same names: EKU as `serverAuth`,
key usage as cryptography's attribute names (which the catalog uses for its requirements),
fingerprints as lowercase hex. The small helpers here (`sans_of`, `public_keys_equal`,
`signed_by`) are the primitives the chain builder and the linter share.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import warnings
from dataclasses import asdict, dataclass
from typing import Any

from cryptography import x509
from cryptography.exceptions import InvalidSignature, UnsupportedAlgorithm
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import dsa, ec, ed448, ed25519, padding, rsa
from cryptography.utils import CryptographyDeprecationWarning
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID, SignatureAlgorithmOID

from ucterm.expiry import days_left

__all__ = [
    "EKU_NAMES",
    "KEY_USAGE_LABELS",
    "CertSummary",
    "basic_constraints",
    "cn_of",
    "eku_of",
    "is_self_signed",
    "iso",
    "key_info",
    "key_usage_of",
    "label",
    "public_keys_equal",
    "sans_of",
    "serial_hex",
    "sha256_hex",
    "signature_hash_name",
    "signed_by",
    "summarise",
    "utc",
]

#: EKU names as OpenSSL and the Cisco CSR templates print them; anything else stays a dotted OID.
EKU_NAMES: dict[x509.ObjectIdentifier, str] = {
    ExtendedKeyUsageOID.SERVER_AUTH: "serverAuth",
    ExtendedKeyUsageOID.CLIENT_AUTH: "clientAuth",
    ExtendedKeyUsageOID.CODE_SIGNING: "codeSigning",
    ExtendedKeyUsageOID.EMAIL_PROTECTION: "emailProtection",
    ExtendedKeyUsageOID.TIME_STAMPING: "timeStamping",
    ExtendedKeyUsageOID.OCSP_SIGNING: "OCSPSigning",
    ExtendedKeyUsageOID.ANY_EXTENDED_KEY_USAGE: "anyExtendedKeyUsage",
    ExtendedKeyUsageOID.SMARTCARD_LOGON: "smartcardLogon",
    ExtendedKeyUsageOID.KERBEROS_PKINIT_KDC: "pkInitKDC",
    ExtendedKeyUsageOID.IPSEC_IKE: "ipsecIKE",
    # Cisco's CSRs ask for "IPsec End System" (RFC 2459 id-kp-ipsecEndSystem).
    x509.ObjectIdentifier("1.3.6.1.5.5.7.3.5"): "ipsecEndSystem",
    x509.ObjectIdentifier("1.3.6.1.5.5.7.3.6"): "ipsecTunnel",
    x509.ObjectIdentifier("1.3.6.1.5.5.7.3.7"): "ipsecUser",
}

#: cryptography's KeyUsage attribute names (the catalog's vocabulary) → the words in the GUI.
KEY_USAGE_LABELS: dict[str, str] = {
    "digital_signature": "Digital Signature",
    "content_commitment": "Non Repudiation",
    "key_encipherment": "Key Encipherment",
    "data_encipherment": "Data Encipherment",
    "key_agreement": "Key Agreement",
    "key_cert_sign": "Certificate Sign",
    "crl_sign": "CRL Sign",
    "encipher_only": "Encipher Only",
    "decipher_only": "Decipher Only",
}

_SIGNATURE_NAMES: dict[x509.ObjectIdentifier, str] = {
    SignatureAlgorithmOID.RSA_WITH_MD5: "md5WithRSAEncryption",
    SignatureAlgorithmOID.RSA_WITH_SHA1: "sha1WithRSAEncryption",
    SignatureAlgorithmOID.RSA_WITH_SHA224: "sha224WithRSAEncryption",
    SignatureAlgorithmOID.RSA_WITH_SHA256: "sha256WithRSAEncryption",
    SignatureAlgorithmOID.RSA_WITH_SHA384: "sha384WithRSAEncryption",
    SignatureAlgorithmOID.RSA_WITH_SHA512: "sha512WithRSAEncryption",
    SignatureAlgorithmOID.RSASSA_PSS: "RSASSA-PSS",
    SignatureAlgorithmOID.ECDSA_WITH_SHA1: "ecdsa-with-SHA1",
    SignatureAlgorithmOID.ECDSA_WITH_SHA224: "ecdsa-with-SHA224",
    SignatureAlgorithmOID.ECDSA_WITH_SHA256: "ecdsa-with-SHA256",
    SignatureAlgorithmOID.ECDSA_WITH_SHA384: "ecdsa-with-SHA384",
    SignatureAlgorithmOID.ECDSA_WITH_SHA512: "ecdsa-with-SHA512",
    SignatureAlgorithmOID.DSA_WITH_SHA1: "dsa_with_SHA1",
    SignatureAlgorithmOID.DSA_WITH_SHA224: "dsa_with_SHA224",
    SignatureAlgorithmOID.DSA_WITH_SHA256: "dsa_with_SHA256",
    SignatureAlgorithmOID.ED25519: "Ed25519",
    SignatureAlgorithmOID.ED448: "Ed448",
}


def utc(now: dt.datetime | None = None) -> dt.datetime:
    """An aware UTC datetime: `now` if given (naive values are taken as UTC), else the clock.

    Every function that judges validity takes `now` so tests and snapshots freeze time.
    """
    if now is None:
        return dt.datetime.now(dt.UTC)
    return now.replace(tzinfo=dt.UTC) if now.tzinfo is None else now.astimezone(dt.UTC)


def iso(moment: dt.datetime) -> str:
    """`2027-01-01T00:00:00Z`, the form the JSON contracts use."""
    return utc(moment).strftime("%Y-%m-%dT%H:%M:%SZ")


def cn_of(name: x509.Name) -> str:
    """The (first) common name, or "" when the name has none."""
    for attr in name.get_attributes_for_oid(NameOID.COMMON_NAME):
        value = attr.value
        return value if isinstance(value, str) else value.decode("latin-1")
    return ""


def label(cert: x509.Certificate) -> str:
    """How messages name a certificate: its CN, or its whole subject when it has no CN."""
    return cn_of(cert.subject) or cert.subject.rfc4514_string() or f"serial {serial_hex(cert)}"


def serial_hex(cert: x509.Certificate) -> str:
    """Lowercase hex without colons. Quiet about serials that are not positive: the loader
    reported those once already, and a warning must not land in the user's terminal."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", CryptographyDeprecationWarning)
        return f"{cert.serial_number:x}"


def sha256_hex(cert: x509.Certificate) -> str:
    return cert.fingerprint(hashes.SHA256()).hex()


def _extension(obj: x509.Certificate | x509.CertificateSigningRequest, kind: type[Any]) -> Any:
    try:
        return obj.extensions.get_extension_for_class(kind).value
    except x509.ExtensionNotFound:
        return None


def eku_of(obj: x509.Certificate | x509.CertificateSigningRequest) -> tuple[str, ...] | None:
    """EKU names, or None when the extension is absent (which means "any usage")."""
    value = _extension(obj, x509.ExtendedKeyUsage)
    if value is None:
        return None
    return tuple(EKU_NAMES.get(oid, oid.dotted_string) for oid in value)


def key_usage_of(obj: x509.Certificate | x509.CertificateSigningRequest) -> tuple[str, ...] | None:
    """Key usage bits set (cryptography attribute names), or None when the extension is absent."""
    ku = _extension(obj, x509.KeyUsage)
    if ku is None:
        return None
    out = []
    for name in KEY_USAGE_LABELS:
        if name in ("encipher_only", "decipher_only") and not ku.key_agreement:
            continue  # cryptography refuses to read these two unless key_agreement is set
        if getattr(ku, name):
            out.append(name)
    return tuple(out)


def basic_constraints(cert: x509.Certificate) -> x509.BasicConstraints | None:
    value: x509.BasicConstraints | None = _extension(cert, x509.BasicConstraints)
    return value


def key_info(key: Any) -> tuple[str, int]:
    """("RSA", 2048), ("EC", 256), ("Ed25519", 256), …; ("unknown", 0) for anything else."""
    if isinstance(key, rsa.RSAPublicKey):
        return "RSA", key.key_size
    if isinstance(key, ec.EllipticCurvePublicKey):
        return "EC", key.curve.key_size
    if isinstance(key, dsa.DSAPublicKey):
        return "DSA", key.key_size
    if isinstance(key, ed25519.Ed25519PublicKey):
        return "Ed25519", 256
    if isinstance(key, ed448.Ed448PublicKey):
        return "Ed448", 456
    return "unknown", 0


def signature_hash_name(cert: x509.Certificate) -> str | None:
    """The signature's hash ("sha256", "sha1", "md5"), None for Ed25519/Ed448 or unknown algorithms."""
    try:
        algorithm = cert.signature_hash_algorithm
    except UnsupportedAlgorithm:
        return None
    return algorithm.name if algorithm is not None else None


def _spki(obj: Any) -> bytes:
    key = obj.public_key() if hasattr(obj, "public_key") else obj
    der: bytes = key.public_bytes(serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo)
    return der


def public_key_sha256(obj: Any) -> str:
    """SHA-256 (hex) of the public key's SubjectPublicKeyInfo: what ties a certificate to its CSR,
    as a value a journal can keep."""
    return hashlib.sha256(_spki(obj)).hexdigest()


def public_keys_equal(a: Any, b: Any) -> bool:
    """Same public key? Takes certificates, CSRs or public keys; compares SubjectPublicKeyInfo.

    This is the check behind VOS's "CSR Public Key and Certificate Public Key Do Not Match".
    """
    try:
        return _spki(a) == _spki(b)
    except (ValueError, TypeError, UnsupportedAlgorithm):
        return False


def sans_of(obj: x509.Certificate | x509.CertificateSigningRequest) -> set[str]:
    """SAN DNS names (lowercase, no trailing dot) and IP addresses (as text), as a set.

    VOS compares the CSR's and the certificate's SAN sets: order and case do not matter.
    """
    value = _extension(obj, x509.SubjectAlternativeName)
    if value is None:
        return set()
    out = {name.lower().rstrip(".") for name in value.get_values_for_type(x509.DNSName)}
    out |= {str(ip) for ip in value.get_values_for_type(x509.IPAddress)}
    return out


def _verify_legacy(child: x509.Certificate, key: Any) -> None:
    """Check a SHA-1/MD5 signature, which cryptography's certificate API refuses to verify.

    VOS still accepts such chains, so ucterm must tell "weak" (a warning) from "broken" (an
    error) and verifies the signature with the primitive API. Raises InvalidSignature.
    """
    algorithm = child.signature_hash_algorithm
    if algorithm is None:
        raise InvalidSignature
    if isinstance(key, rsa.RSAPublicKey):
        params = child.signature_algorithm_parameters
        pad = params if isinstance(params, (padding.PSS, padding.PKCS1v15)) else padding.PKCS1v15()
        key.verify(child.signature, child.tbs_certificate_bytes, pad, algorithm)
    elif isinstance(key, ec.EllipticCurvePublicKey):
        key.verify(child.signature, child.tbs_certificate_bytes, ec.ECDSA(algorithm))
    elif isinstance(key, dsa.DSAPublicKey):
        key.verify(child.signature, child.tbs_certificate_bytes, algorithm)
    else:
        raise InvalidSignature


def signed_by(child: x509.Certificate, issuer: x509.Certificate) -> bool:
    """Whether `issuer` issued `child`: names chain up and the signature verifies with its key."""
    if child.issuer != issuer.subject:
        return False
    try:
        child.verify_directly_issued_by(issuer)
        return True
    except InvalidSignature:
        return False
    except (ValueError, TypeError, UnsupportedAlgorithm):
        pass  # cryptography refuses SHA-1/MD5 and mismatched key types; judge the bytes ourselves
    try:
        _verify_legacy(child, issuer.public_key())
        return True
    except (InvalidSignature, ValueError, TypeError, UnsupportedAlgorithm):
        return False


def is_self_signed(cert: x509.Certificate) -> bool:
    return cert.subject == cert.issuer and signed_by(cert, cert)


def _key_id(obj: Any, attribute: str) -> str | None:
    value = getattr(obj, attribute, None) if obj is not None else None
    return value.hex() if isinstance(value, bytes) else None


@dataclass(frozen=True)
class CertSummary:
    """The facts of one certificate, ready for tables, JSON and findings."""

    subject: str
    subject_cn: str
    issuer: str
    issuer_cn: str
    sans_dns: tuple[str, ...]
    sans_ip: tuple[str, ...]
    serial_hex: str
    not_before: dt.datetime
    not_after: dt.datetime
    days_left: int
    key_type: str
    key_size: int
    signature_algorithm: str
    sha256: str
    sha1: str
    #: None-free: an absent EKU/KU extension gives an empty tuple; `eku_present` tells them apart.
    eku: tuple[str, ...]
    key_usage: tuple[str, ...]
    is_ca: bool
    path_len: int | None
    aki: str | None
    ski: str | None
    self_signed: bool
    eku_present: bool = False

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready: datetimes as `...Z` strings, tuples as lists."""
        out = asdict(self)
        for key, value in out.items():
            if isinstance(value, dt.datetime):
                out[key] = iso(value)
            elif isinstance(value, tuple):
                out[key] = list(value)
        return out


def summarise(cert: x509.Certificate, now: dt.datetime | None = None) -> CertSummary:
    """Summarise `cert`; `days_left` counts whole days from `now` by ucterm.expiry's rule (negative once
    expired)."""
    moment = utc(now)
    san = _extension(cert, x509.SubjectAlternativeName)
    dns = tuple(san.get_values_for_type(x509.DNSName)) if san is not None else ()
    ips = tuple(str(ip) for ip in san.get_values_for_type(x509.IPAddress)) if san is not None else ()
    key_type, key_size = key_info(cert.public_key())
    bc = basic_constraints(cert)
    aki = _extension(cert, x509.AuthorityKeyIdentifier)
    ski = _extension(cert, x509.SubjectKeyIdentifier)
    eku = eku_of(cert)
    oid = cert.signature_algorithm_oid
    return CertSummary(
        subject=cert.subject.rfc4514_string(),
        subject_cn=cn_of(cert.subject),
        issuer=cert.issuer.rfc4514_string(),
        issuer_cn=cn_of(cert.issuer),
        sans_dns=dns,
        sans_ip=ips,
        serial_hex=serial_hex(cert),
        not_before=cert.not_valid_before_utc,
        not_after=cert.not_valid_after_utc,
        days_left=days_left(cert.not_valid_after_utc, moment),
        key_type=key_type,
        key_size=key_size,
        signature_algorithm=_SIGNATURE_NAMES.get(oid, oid.dotted_string),
        sha256=sha256_hex(cert),
        sha1=cert.fingerprint(hashes.SHA1()).hex(),
        eku=eku or (),
        key_usage=key_usage_of(cert) or (),
        is_ca=bool(bc is not None and bc.ca),
        path_len=bc.path_length if bc is not None else None,
        aki=_key_id(aki, "key_identifier"),
        ski=_key_id(ski, "digest"),
        self_signed=is_self_signed(cert),
        eku_present=eku is not None,
    )
