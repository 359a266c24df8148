"""The lab CA: a root and an issuing intermediate that sign CSRs like a well-run enterprise CA.

By default it honours what the CSR asks for (subject, SANs, key usage, extended key usage),
which is what VOS needs (§5.1: "the CA template must copy KU/EKU from the CSR"). The keyword
knobs of :meth:`LabCA.sign` reproduce the ways real CAs get it wrong, so that tests and
rehearsals can see each VOS refusal (§5.2, §5.3): dropping clientAuth, other SANs, a wildcard,
an expired certificate, an issuer that is not in the node's trust store.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Literal

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from ucterm.files import atomic_write
from ucterm.lab import certs
from ucterm.lab.clock import LabClock
from ucterm.lab.errors import LabError
from ucterm.lab.keys import KeySource, PrivateKey

Issuer = Literal["intermediate", "root", "untrusted"]


@dataclass(frozen=True)
class _Authority:
    cert: x509.Certificate
    key: PrivateKey


def _ca_name(cn: str) -> x509.Name:
    return x509.Name([x509.NameAttribute(NameOID.COUNTRY_NAME, "US"),
                      x509.NameAttribute(NameOID.ORGANIZATION_NAME, "ucterm lab"),
                      x509.NameAttribute(NameOID.COMMON_NAME, cn)])


def _ca_cert(subject: x509.Name, key: PrivateKey, issuer: _Authority | None, not_before: datetime,
             not_after: datetime, path_length: int | None) -> x509.Certificate:
    signer_key = issuer.key if issuer else key
    builder = (x509.CertificateBuilder().subject_name(subject)
               .issuer_name(issuer.cert.subject if issuer else subject)
               .public_key(key.public_key()).serial_number(x509.random_serial_number())
               .not_valid_before(not_before).not_valid_after(not_after)
               .add_extension(x509.BasicConstraints(ca=True, path_length=path_length), True)
               .add_extension(x509.KeyUsage(digital_signature=True, content_commitment=False,
                                            key_encipherment=False, data_encipherment=False,
                                            key_agreement=False, key_cert_sign=True, crl_sign=True,
                                            encipher_only=False, decipher_only=False), True)
               .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), False))
    if issuer:
        builder = builder.add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_public_key(issuer.key.public_key()), False)
    return builder.sign(signer_key, hashes.SHA256())


class LabCA:
    """Root CA + issuing CA (+ an expired old root kept in one trust store of the demo estate)."""

    ROOT_CN = "ucterm Lab Root CA"
    ISSUING_CN = "ucterm Lab Issuing CA"
    OLD_ROOT_CN = "ucterm Lab Root CA 2015"

    def __init__(self, keys: KeySource, clock: LabClock) -> None:
        self._keys = keys
        self._clock = clock
        now = clock.now()
        root_key = keys.fresh("RSA")
        root = _ca_cert(_ca_name(self.ROOT_CN), root_key, None, now - timedelta(days=400),
                        now + timedelta(days=3650), 1)
        self._root = _Authority(root, root_key)
        issuing_key = keys.fresh("RSA")
        issuing = _ca_cert(_ca_name(self.ISSUING_CN), issuing_key, self._root, now - timedelta(days=390),
                           now + timedelta(days=1825), 0)
        self._issuing = _Authority(issuing, issuing_key)
        old_key = keys.fresh("RSA")
        self.old_root = _ca_cert(_ca_name(self.OLD_ROOT_CN), old_key, None, now - timedelta(days=3680),
                                 now - timedelta(days=30), 1)
        self._untrusted: tuple[_Authority, _Authority] | None = None

    # ---- persistence: `ucterm renew --lab-ca` signs in another process than the lab ----------

    _FILES = ("root.pem", "root-key.pem", "issuing.pem", "issuing-key.pem", "old-root.pem")

    def save(self, folder: Path) -> Path:
        """Write the CA (certificates, and keys owner-only) to `folder`, for :func:`load_ca`."""
        folder.mkdir(mode=0o700, parents=True, exist_ok=True)
        items = (certs.cert_pem(self.root), certs.key_pem(self._root.key), certs.cert_pem(self.intermediate),
                 certs.key_pem(self._issuing.key), certs.cert_pem(self.old_root))
        for name, text in zip(self._FILES, items, strict=True):
            atomic_write(folder / name, text.encode("ascii"), mode=0o600 if "key" in name else 0o644)
        return folder

    @classmethod
    def load(cls, folder: Path, *, keys: KeySource | None = None, clock: LabClock | None = None) -> LabCA:
        """The CA saved by :meth:`save` (LabError naming the folder if it is not one)."""
        try:
            texts = [(folder / name).read_bytes() for name in cls._FILES]
            root, issuing, old = (x509.load_pem_x509_certificate(texts[i]) for i in (0, 2, 4))
            root_key, issuing_key = (serialization.load_pem_private_key(texts[i], None) for i in (1, 3))
        except (OSError, ValueError) as exc:
            raise LabError(f"{folder}: not a lab CA folder written by `ucterm lab --write-inventory` ({exc}); "
                           "write the inventory again or use --signed FILE.") from None
        ca = cls.__new__(cls)
        ca._keys = keys or KeySource()
        ca._clock = clock or LabClock()
        ca._root = _Authority(root, root_key)  # type: ignore[arg-type]
        ca._issuing = _Authority(issuing, issuing_key)  # type: ignore[arg-type]
        ca.old_root = old
        ca._untrusted = None
        return ca

    @property
    def root(self) -> x509.Certificate:
        return self._root.cert

    @property
    def intermediate(self) -> x509.Certificate:
        return self._issuing.cert

    @property
    def chain(self) -> list[x509.Certificate]:
        """Intermediate then root: what a CA returns with a leaf."""
        return [self._issuing.cert, self._root.cert]

    @property
    def chain_pems(self) -> list[str]:
        return [certs.cert_pem(c) for c in self.chain]

    def _untrusted_pair(self) -> tuple[_Authority, _Authority]:
        """A second CA that no node trusts (for `CA Certificate is Not Available in the Trust-Store`)."""
        if self._untrusted is None:
            now = self._clock.now()
            root_key = self._keys.fresh("EC")
            root = _Authority(_ca_cert(_ca_name("Elsewhere Root CA"), root_key, None,
                                       now - timedelta(days=10), now + timedelta(days=3650), 1), root_key)
            key = self._keys.fresh("EC")
            issuing = _Authority(_ca_cert(_ca_name("Elsewhere Issuing CA"), key, root,
                                          now - timedelta(days=10), now + timedelta(days=1825), 0), key)
            self._untrusted = (issuing, root)
        return self._untrusted

    def sign(self, csr_pem: str, days: int = 730, *, drop_client_auth: bool = False,
             sans: Sequence[str] | None = None, extra_sans: Sequence[str] = (), wildcard: bool = False,
             not_before: datetime | None = None, not_after: datetime | None = None,
             issuer: Issuer = "intermediate", drop_key_usage: bool = False) -> tuple[str, list[str]]:
        """Sign a CSR; return the leaf PEM and the chain PEMs (intermediate, root).

        Knobs for bad issuance: `drop_client_auth` (public CAs often do), `sans` (replace the
        requested SANs), `extra_sans`, `wildcard` (CN and SAN `*.<domain>`), `not_before` /
        `not_after` (e.g. an already expired certificate), `issuer="untrusted"` (a CA no node
        trusts; the chain returned is that CA's), `drop_key_usage`.
        """
        leaf, chain = self.issue(certs.load_csr(csr_pem), days, drop_client_auth=drop_client_auth, sans=sans,
                                 extra_sans=extra_sans, wildcard=wildcard, not_before=not_before,
                                 not_after=not_after, issuer=issuer, drop_key_usage=drop_key_usage)
        return certs.cert_pem(leaf), [certs.cert_pem(c) for c in chain]

    def issue(self, csr: x509.CertificateSigningRequest, days: int = 730, *, drop_client_auth: bool = False,
              sans: Sequence[str] | None = None, extra_sans: Sequence[str] = (), wildcard: bool = False,
              not_before: datetime | None = None, not_after: datetime | None = None,
              issuer: Issuer = "intermediate", drop_key_usage: bool = False,
              ) -> tuple[x509.Certificate, list[x509.Certificate]]:
        """:meth:`sign` on objects: the leaf and its chain (intermediate, root)."""
        if not csr.is_signature_valid:
            raise ValueError("the CSR signature does not verify; it was altered or is not a CSR")
        if issuer == "untrusted":
            signer, top = self._untrusted_pair()
            chain = [signer.cert, top.cert]
        elif issuer == "root":
            signer, chain = self._root, [self._root.cert]
        else:
            signer, chain = self._issuing, self.chain
        now = self._clock.now()
        start = not_before or now - timedelta(minutes=5)
        end = not_after or start + timedelta(days=days)
        names = list(sans) if sans is not None else certs.sans_of(csr)
        names += [n for n in extra_sans if n not in names]
        subject = csr.subject
        if wildcard:
            domain = (names[0] if names else certs.common_name(subject)).split(".", 1)[-1]
            names = [f"*.{domain}"]
            subject = x509.Name([a for a in subject if a.oid != NameOID.COMMON_NAME]
                                + [x509.NameAttribute(NameOID.COMMON_NAME, f"*.{domain}")])
        builder = (x509.CertificateBuilder().subject_name(subject).issuer_name(signer.cert.subject)
                   .public_key(csr.public_key()).serial_number(x509.random_serial_number())
                   .not_valid_before(start).not_valid_after(end)
                   .add_extension(x509.BasicConstraints(ca=False, path_length=None), True)
                   .add_extension(x509.SubjectKeyIdentifier.from_public_key(csr.public_key()), False)
                   .add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(
                       signer.key.public_key()), False))
        if names:
            builder = builder.add_extension(certs.san_extension(names), False)
        requested = {type(e.value): e for e in csr.extensions}
        ku = requested.get(x509.KeyUsage)
        if ku is not None and not drop_key_usage:
            builder = builder.add_extension(ku.value, ku.critical)
        eku = requested.get(x509.ExtendedKeyUsage)
        usages = list(eku.value) if eku is not None else [ExtendedKeyUsageOID.SERVER_AUTH,
                                                          ExtendedKeyUsageOID.CLIENT_AUTH]
        if drop_client_auth:
            usages = [u for u in usages if u != ExtendedKeyUsageOID.CLIENT_AUTH]
        if usages:
            builder = builder.add_extension(x509.ExtendedKeyUsage(usages), False)
        return builder.sign(signer.key, hashes.SHA256()), chain


def load_ca(folder: Path | str) -> LabCA:
    """The lab CA written beside an inventory by `ucterm lab --write-inventory` (its `lab_ca` folder)."""
    return LabCA.load(Path(folder))
