"""Where the signed certificate comes from when a person carries it: the user's files.

A renewal without a signer waits for a person to send the CSR to the CA and bring back what it
issued, so the runner treats "no certificate yet" as a normal state (the job waits, exit code 4),
not as an error. :func:`match_signed` pairs what the user hands over with the job's CSRs by public
key, so that a whole folder from the CA can be given at once (design.md §3 `--signed`).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from cryptography import x509

from ucterm import pki
from ucterm.renewal.signers.base import SignerPending


def _is_ca(cert: x509.Certificate) -> bool:
    try:
        return bool(cert.extensions.get_extension_for_class(x509.BasicConstraints).value.ca)
    except x509.ExtensionNotFound:
        return pki.is_self_signed(cert)


@dataclass
class Material:
    """Certificates handed over by the user (leaves and CAs), de-duplicated by fingerprint.

    `sources` names where each came from (fingerprint -> file), so that a certificate that fits
    no CSR can be reported by its file name."""

    leaves: list[x509.Certificate]
    cas: list[x509.Certificate]
    sources: dict[str, str] = field(default_factory=dict)

    @classmethod
    def from_pems(cls, pems: Iterable[str], source: str = "the certificate given") -> Material:
        leaves: dict[str, x509.Certificate] = {}
        cas: dict[str, x509.Certificate] = {}
        sources: dict[str, str] = {}
        for text in pems:
            bundle = pki.load_bundle(text.encode("utf-8"), source)
            for cert in bundle.certificates:
                fp = pki.sha256_hex(cert)
                (cas if _is_ca(cert) else leaves)[fp] = cert
                sources.setdefault(fp, source)
        return cls(list(leaves.values()), list(cas.values()), sources)

    @classmethod
    def from_paths(cls, paths: Sequence[Path | str]) -> Material:
        """Files or folders (not recursive); unreadable files raise :class:`pki.PkiError` naming them."""
        material = cls([], [])
        for bundle in pki.load_paths(paths):
            if bundle.empty:
                # Nothing was changed yet: like a file that cannot be read, the renewal could not run.
                raise pki.PkiFileError(f"{bundle.describe_problems()}: give the certificate files the CA returned")
            material.extend(cls.from_pems([pki.pem(c) for c in bundle.certificates], bundle.source))
        return material

    def extend(self, other: Material) -> None:
        have = {pki.sha256_hex(c) for c in [*self.leaves, *self.cas]}
        self.leaves += [c for c in other.leaves if pki.sha256_hex(c) not in have]
        self.cas += [c for c in other.cas if pki.sha256_hex(c) not in have]
        for fp, source in other.sources.items():
            self.sources.setdefault(fp, source)

    def source_of(self, cert: x509.Certificate) -> str:
        return self.sources.get(pki.sha256_hex(cert), "a certificate given")

    @property
    def empty(self) -> bool:
        return not self.leaves and not self.cas


def match_signed(csrs: dict[str, x509.CertificateSigningRequest], material: Material
                 ) -> dict[str, x509.Certificate]:
    """Pair CSRs (by node) with leaves by public key. A leaf that fits no CSR is paired with none:
    :mod:`ucterm.renewal.unmatched` says which file it was and why it fits no CSR."""
    out: dict[str, x509.Certificate] = {}
    used: set[str] = set()
    for node, csr in csrs.items():
        for leaf in material.leaves:
            fp = pki.sha256_hex(leaf)
            if fp not in used and pki.public_keys_equal(leaf, csr):
                out[node] = leaf
                used.add(fp)
                break
    return out


class FilesSigner:
    """What the user brings (`--signed`, `--chain`, or the TUI's file picker)."""

    label = "the files given"

    def __init__(self, signed: Sequence[Path | str] = (), chain: Sequence[Path | str] = ()) -> None:
        self.material = Material.from_paths([*signed, *chain])

    async def sign(self, csr_pem: str) -> tuple[str, list[str]]:
        csr = pki.load_csr_pem(csr_pem)
        found = match_signed({"csr": csr}, self.material).get("csr")
        if found is None:
            raise SignerPending("none of the certificates given belongs to this CSR")
        return pki.pem(found), [pki.pem(c) for c in self.material.cas]
