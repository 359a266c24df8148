"""A small PKI built in code for the pki tests: root → intermediate → leaf, and every variant.

No binary blobs: every certificate is made here with `cryptography`, against a frozen clock
(`FIXED_NOW`), so days-left values never change from one day to the next. Keys are cached per
session because RSA key generation dominates the run time on a 2-core box.

Two cases cryptography will not build directly, and how they are built instead:

- SHA-1 / MD5 signatures: `CertificateBuilder.sign` refuses both hashes. `Pki.resign_legacy`
  signs with SHA-256, swaps the two algorithm OIDs in the DER (same length), and re-signs the
  changed TBS bytes with the requested hash through the primitive RSA API, which still allows it.
- Keys above 4096 bits: generating one takes seconds, and a certificate needs only its
  *public* key. `Pki.huge_public_key` makes an 8192-bit RSA public key from numbers instantly.
"""

from __future__ import annotations

import datetime as dt
import ipaddress
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, padding, rsa
from cryptography.hazmat.primitives.serialization import pkcs7
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

FIXED_NOW = dt.datetime(2026, 11, 27, 8, 0, tzinfo=dt.UTC)

PrivateKey = rsa.RSAPrivateKey | ec.EllipticCurvePrivateKey
PublicKey = rsa.RSAPublicKey | ec.EllipticCurvePublicKey

EKU = {
    "serverAuth": ExtendedKeyUsageOID.SERVER_AUTH,
    "clientAuth": ExtendedKeyUsageOID.CLIENT_AUTH,
    "ipsecEndSystem": x509.ObjectIdentifier("1.3.6.1.5.5.7.3.5"),
    "codeSigning": ExtendedKeyUsageOID.CODE_SIGNING,
}
KU_FIELDS = ("digital_signature", "content_commitment", "key_encipherment", "data_encipherment",
             "key_agreement", "key_cert_sign", "crl_sign", "encipher_only", "decipher_only")
LEAF_KU = ("digital_signature", "key_encipherment", "data_encipherment")
CA_KU = ("digital_signature", "key_cert_sign", "crl_sign")
TOMCAT_EKU = ("serverAuth", "clientAuth", "ipsecEndSystem")

_SHA256_RSA = bytes.fromhex("2a864886f70d01010b")
_LEGACY_RSA = {"sha1": bytes.fromhex("2a864886f70d010105"), "md5": bytes.fromhex("2a864886f70d010104")}


def _name(cn: str, org: str = "Example Corp") -> x509.Name:
    return x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, cn),
                      x509.NameAttribute(NameOID.ORGANIZATION_NAME, org)])


def _when(text: str) -> dt.datetime:
    return dt.datetime.fromisoformat(text).replace(tzinfo=dt.UTC)


def _key_usage(bits: Iterable[str]) -> x509.KeyUsage:
    chosen = set(bits)
    return x509.KeyUsage(**{f: f in chosen for f in KU_FIELDS})


def _sans(dns: Sequence[str], ips: Sequence[str]) -> x509.SubjectAlternativeName:
    names: list[x509.GeneralName] = [x509.DNSName(d) for d in dns]
    names += [x509.IPAddress(ipaddress.ip_address(i)) for i in ips]
    return x509.SubjectAlternativeName(names)


@dataclass(frozen=True)
class Issued:
    """A certificate and its private key (None when only the public key exists)."""

    cert: x509.Certificate
    key: PrivateKey | None


@dataclass
class Pki:
    """Certificate factory. Defaults make a tomcat-ready leaf; keyword arguments make the variants."""

    now: dt.datetime = FIXED_NOW
    _keys: dict[str, PrivateKey] = field(default_factory=dict)

    def key(self, name: str, kind: str = "rsa2048") -> PrivateKey:
        if name not in self._keys:
            if kind.startswith("rsa"):
                self._keys[name] = rsa.generate_private_key(65537, int(kind[3:]))
            elif kind == "p256":
                self._keys[name] = ec.generate_private_key(ec.SECP256R1())
            elif kind == "p384":
                self._keys[name] = ec.generate_private_key(ec.SECP384R1())
            else:
                raise ValueError(kind)
        return self._keys[name]

    @staticmethod
    def huge_public_key(bits: int = 8192) -> rsa.RSAPublicKey:
        """An RSA public key of `bits` bits without generating primes (no private key exists)."""
        return rsa.RSAPublicNumbers(65537, (1 << (bits - 1)) | 1).public_key()

    def issue(
        self,
        issuer: Issued | None,
        cn: str,
        *,
        key: PrivateKey | None = None,
        public_key: PublicKey | None = None,
        ca: bool | None = False,
        path_len: int | None = None,
        eku: Sequence[str] | None = TOMCAT_EKU,
        ku: Sequence[str] | None = LEAF_KU,
        sans_dns: Sequence[str] = (),
        sans_ip: Sequence[str] = (),
        not_before: str = "2026-11-20",
        not_after: str = "2027-11-20",
        subject: x509.Name | None = None,
        name_constraints: x509.NameConstraints | None = None,
        key_ids: bool = True,
    ) -> Issued:
        """Issue a certificate; `issuer=None` makes it self-signed. `ca=None` omits basicConstraints."""
        if key is None and public_key is None:
            key = self.key(cn)
        pub = public_key if public_key is not None else key.public_key()  # type: ignore[union-attr]
        subject_name = subject or _name(cn)
        signer_key = issuer.key if issuer is not None else key
        issuer_name = issuer.cert.subject if issuer is not None else subject_name
        assert signer_key is not None, "a self-signed certificate needs its private key"
        builder = (
            x509.CertificateBuilder()
            .subject_name(subject_name)
            .issuer_name(issuer_name)
            .public_key(pub)
            .serial_number(x509.random_serial_number())
            .not_valid_before(_when(not_before))
            .not_valid_after(_when(not_after))
        )
        if ca is not None:
            builder = builder.add_extension(x509.BasicConstraints(ca=ca, path_length=path_len), critical=True)
        if ku is not None:
            builder = builder.add_extension(_key_usage(ku), critical=True)
        if eku is not None:
            builder = builder.add_extension(x509.ExtendedKeyUsage([EKU[e] for e in eku]), critical=False)
        if sans_dns or sans_ip:
            builder = builder.add_extension(_sans(sans_dns, sans_ip), critical=False)
        if name_constraints is not None:
            builder = builder.add_extension(name_constraints, critical=True)
        if key_ids:
            builder = builder.add_extension(x509.SubjectKeyIdentifier.from_public_key(pub), critical=False)
            builder = builder.add_extension(
                x509.AuthorityKeyIdentifier.from_issuer_public_key(signer_key.public_key()), critical=False)
        return Issued(builder.sign(signer_key, hashes.SHA256()), key)

    def root(self, cn: str = "Example Root CA", **kw: object) -> Issued:
        kw.setdefault("not_before", "2020-01-01")
        kw.setdefault("not_after", "2040-01-01")
        kw.setdefault("eku", None)
        kw.setdefault("ku", CA_KU)
        return self.issue(None, cn, ca=True, **kw)  # type: ignore[arg-type]

    def intermediate(self, root: Issued, cn: str = "Example Issuing CA", **kw: object) -> Issued:
        kw.setdefault("not_before", "2021-01-01")
        kw.setdefault("not_after", "2035-01-01")
        kw.setdefault("ca", True)
        kw.setdefault("path_len", 0)
        kw.setdefault("eku", None)
        kw.setdefault("ku", CA_KU)
        return self.issue(root, cn, **kw)  # type: ignore[arg-type]

    def csr(
        self,
        key: PrivateKey,
        cn: str,
        *,
        sans_dns: Sequence[str] = (),
        sans_ip: Sequence[str] = (),
        eku: Sequence[str] | None = TOMCAT_EKU,
        ku: Sequence[str] | None = LEAF_KU,
    ) -> x509.CertificateSigningRequest:
        """A CSR shaped like a VOS one (EKU and KU requested as extensions)."""
        builder = x509.CertificateSigningRequestBuilder().subject_name(_name(cn))
        if sans_dns or sans_ip:
            builder = builder.add_extension(_sans(sans_dns, sans_ip), critical=False)
        if eku is not None:
            builder = builder.add_extension(x509.ExtendedKeyUsage([EKU[e] for e in eku]), critical=False)
        if ku is not None:
            builder = builder.add_extension(_key_usage(ku), critical=True)
        return builder.sign(key, hashes.SHA256())

    @staticmethod
    def resign_legacy(cert: x509.Certificate, issuer_key: PrivateKey | None,
                      algorithm: str) -> x509.Certificate:
        """The same certificate signed with SHA-1 or MD5 (see the module docstring for why)."""
        assert isinstance(issuer_key, rsa.RSAPrivateKey)
        der = cert.public_bytes(serialization.Encoding.DER)
        assert der.count(_SHA256_RSA) == 2
        der = der.replace(_SHA256_RSA, _LEGACY_RSA[algorithm])

        def header(i: int) -> tuple[int, int]:
            length, start = der[i + 1], i + 2
            if length & 0x80:
                n = length & 0x7F
                length, start = int.from_bytes(der[start:start + n], "big"), start + n
            return length, start

        _, tbs_at = header(0)
        tbs_len, tbs_body = header(tbs_at)
        tbs = der[tbs_at:tbs_body + tbs_len]
        alg_len, alg_body = header(tbs_body + tbs_len)
        sig_len, sig_body = header(alg_body + alg_len)
        legacy = hashes.SHA1() if algorithm == "sha1" else hashes.MD5()
        signature = issuer_key.sign(tbs, padding.PKCS1v15(), legacy)
        assert len(signature) == sig_len - 1
        return x509.load_der_x509_certificate(der[:sig_body + 1] + signature)


@dataclass(frozen=True)
class Std:
    """The good case: root → intermediate → tomcat leaf, with the CSR the leaf was issued from."""

    pki: Pki
    root: Issued
    inter: Issued
    leaf: Issued
    csr: x509.CertificateSigningRequest
    sans: tuple[str, ...] = ("cucm-pub.example.com", "cucm-sub1.example.com")


def build_std(pki: Pki, *, leaf_validity: tuple[str, str] = ("2026-11-20", "2027-11-20")) -> Std:
    root = pki.root()
    inter = pki.intermediate(root)
    leaf_key = pki.key("cucm-pub.example.com")
    sans = ("cucm-pub.example.com", "cucm-sub1.example.com")
    csr = pki.csr(leaf_key, "cucm-pub.example.com", sans_dns=sans)
    leaf = pki.issue(inter, "cucm-pub.example.com", key=leaf_key, sans_dns=sans,
                     not_before=leaf_validity[0], not_after=leaf_validity[1])
    return Std(pki, root, inter, leaf, csr, sans)


@pytest.fixture(scope="session")
def pki() -> Pki:
    return Pki()


@pytest.fixture(scope="session")
def std(pki: Pki) -> Std:
    return build_std(pki)


@pytest.fixture
def now() -> dt.datetime:
    return FIXED_NOW


# --------------------------------------------------------------------------------------------
# Encodings


def pem_of(*objs: x509.Certificate | x509.CertificateSigningRequest) -> bytes:
    return b"".join(o.public_bytes(serialization.Encoding.PEM) for o in objs)


def der_of(obj: x509.Certificate | x509.CertificateSigningRequest) -> bytes:
    return obj.public_bytes(serialization.Encoding.DER)


def p7_of(certs: Sequence[x509.Certificate], encoding: serialization.Encoding) -> bytes:
    return pkcs7.serialize_certificates(list(certs), encoding)


class Encode:
    """The encodings as a fixture, so test modules need not import from this conftest."""

    pem = staticmethod(pem_of)
    der = staticmethod(der_of)
    p7 = staticmethod(p7_of)


@pytest.fixture(scope="session")
def enc() -> Encode:
    return Encode()


@pytest.fixture
def write(tmp_path: Path):  # type: ignore[no-untyped-def]
    """write(name, data) -> Path in the test's temporary folder."""

    def _write(name: str, data: bytes | str) -> Path:
        path = tmp_path / name
        path.write_bytes(data.encode() if isinstance(data, str) else data)
        return path

    return _write
