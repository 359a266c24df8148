"""Reading certificates and CSRs from whatever a CA, a portal or a VOS transcript hands over.

Users get certificates back by e-mail (PEM with a signature block around it, CRLF line ends,
quoted with `>`), from AD CS as `.p7b` (DER, or base64 under a `CERTIFICATE` header that holds
PKCS#7 rather than X.509), from web portals as DER, with chains in any order. VOS prints CSRs
wrapped and, on old releases, under a `CERTIFICATE SIGN REQUEST` header.

:func:`load_bundle` reads all of it and never raises: what it could not read is listed in
:attr:`Bundle.problems`, so a bad file becomes an `unreadable` finding, not a traceback.
Private keys are recognised by their header and skipped without being decoded: ucterm has no
use for them (the key of a VOS certificate stays on the node) and should not hold them in memory.
"""

from __future__ import annotations

import base64
import binascii
import re
import warnings
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.serialization import pkcs7

from ucterm.errors import UctermError

__all__ = [
    "MAX_FILE_BYTES",
    "Bundle",
    "PkiError",
    "PkiFileError",
    "load_bundle",
    "load_csr_pem",
    "load_file",
    "load_paths",
    "pem",
]

#: A certificate bundle is a few kilobytes; anything this large is the wrong file.
MAX_FILE_BYTES = 8 * 1024 * 1024


class PkiError(UctermError):
    """Certificate material that cannot be used: one sentence naming the file or text and what to do."""


class PkiFileError(PkiError):
    """A certificate file cannot be read at all (missing, a device or FIFO, too large): could not run."""

    exit_code = 3


@dataclass
class Bundle:
    """What one input held: certificates and CSRs in file order, and what could not be read.

    `problems` are short phrases meant to follow the source name ("tomcat.pem: empty file").
    `damaged` says a block that claimed to be a certificate or CSR could not be decoded (the
    file was mangled on the way), as opposed to blocks ucterm skips on purpose, such as a
    private key (`private_key`) or a CRL.
    """

    source: str = "<input>"
    certificates: list[x509.Certificate] = field(default_factory=list)
    csrs: list[x509.CertificateSigningRequest] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)
    private_key: bool = False
    damaged: bool = False

    @property
    def empty(self) -> bool:
        """True when nothing usable was found: the file is unreadable for ucterm's purposes."""
        return not self.certificates and not self.csrs

    def describe_problems(self) -> str:
        """The problems as one phrase after the source name, for messages."""
        return f"{self.source}: {'; '.join(self.problems) or 'no problem'}"

    def _problem(self, text: str) -> None:
        if text not in self.problems:
            self.problems.append(text)

    def _add_certificate(self, cert: x509.Certificate, where: str) -> None:
        error = _unusable_certificate(cert)
        if error:
            self.damaged = True
            self._problem(f"{where} cannot be read ({error})")
            return
        der = cert.public_bytes(serialization.Encoding.DER)
        if all(c.public_bytes(serialization.Encoding.DER) != der for c in self.certificates):
            self.certificates.append(cert)

    def _add_csr(self, csr: x509.CertificateSigningRequest, where: str) -> None:
        error = _unusable_csr(csr)
        if error:
            self.damaged = True
            self._problem(f"{where} cannot be read ({error})")
            return
        der = csr.public_bytes(serialization.Encoding.DER)
        if all(c.public_bytes(serialization.Encoding.DER) != der for c in self.csrs):
            self.csrs.append(csr)


# --------------------------------------------------------------------------------------------
# Validation of what cryptography parsed
#
# cryptography parses lazily: a certificate whose extensions are malformed loads fine and
# raises later, when someone asks for its SANs. Touching every part here, once, means that
# whatever a Bundle holds can be summarised and linted without a try around every access.


def _unusable_certificate(cert: x509.Certificate) -> str | None:
    try:
        cert.subject.rfc4514_string()
        cert.issuer.rfc4514_string()
        _ = cert.serial_number, cert.not_valid_before_utc, cert.not_valid_after_utc
        _ = cert.signature_algorithm_oid, cert.signature, cert.tbs_certificate_bytes
        for ext in cert.extensions:
            _ = ext.value
        cert.public_key()
    except Exception as exc:  # any parse failure of untrusted input means "unusable"
        return _reason(exc)
    return None


def _unusable_csr(csr: x509.CertificateSigningRequest) -> str | None:
    try:
        csr.subject.rfc4514_string()
        for ext in csr.extensions:
            _ = ext.value
        csr.public_key()
    except Exception as exc:  # see _unusable_certificate
        return _reason(exc)
    return None


def _reason(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
    return text[:160]


# --------------------------------------------------------------------------------------------
# PEM

#: A block's body may not contain another BEGIN line: a block cut short must not swallow the next one.
_PEM_BLOCK = re.compile(
    r"-----BEGIN ([A-Z0-9 #]{1,64}?)-----((?:(?!-----BEGIN ).)*?)-----END ([A-Z0-9 #]{1,64}?)-----", re.S
)
_BEGIN = re.compile(r"-----BEGIN ([A-Z0-9 #]{1,64}?)-----")
_ANSI = re.compile(r"\x1b\[[0-?]*[ -/]*[@-~]|\x1b[@-Z\\-_]")
_BASE64_TEXT = re.compile(r"[A-Za-z0-9+/=\s]+")

_CERT_LABELS = frozenset({"CERTIFICATE", "X509 CERTIFICATE", "TRUSTED CERTIFICATE"})
_PKCS7_LABELS = frozenset({"PKCS7", "PKCS #7 SIGNED DATA", "CMS"})
#: `NEW CERTIFICATE REQUEST` is what Windows tools write; `CERTIFICATE SIGN REQUEST` is VOS's legacy one.
_CSR_LABELS = frozenset({"CERTIFICATE REQUEST", "NEW CERTIFICATE REQUEST", "CERTIFICATE SIGN REQUEST"})
_PRIVATE_KEY_PROBLEM = "contains a private key, which ucterm never reads"


def _decode_text(data: bytes) -> str | None:
    """The input as text when it carries PEM armour, else None (DER, or base64 without armour).

    Windows tools sometimes save UTF-16; everything else is read as Latin-1, which cannot fail
    and keeps the ASCII of PEM intact whatever the junk (an e-mail signature) around it is.
    """
    if data.startswith((b"\xff\xfe", b"\xfe\xff")):
        try:
            return data.decode("utf-16")
        except UnicodeDecodeError:
            return None
    if data.startswith(b"\xef\xbb\xbf"):
        data = data[3:]
    if b"-----BEGIN" in data:
        return data.decode("latin-1")
    if b"-\x00-\x00-\x00-\x00-\x00B\x00E\x00G\x00I\x00N\x00" in data:
        try:
            return data.decode("utf-16-le", errors="replace")
        except UnicodeDecodeError:  # pragma: no cover - errors="replace" does not raise
            return None
    return None


def _pem_body(body: str) -> bytes | None:
    """Decode a PEM body that went through e-mail or a terminal; None when it is not base64.

    Drops RFC 1421 header lines (`Proc-Type: ...`), `>` quoting and all whitespace, and
    tolerates missing padding. Anything else that is not base64 means the block was damaged.
    """
    lines = []
    for raw in body.splitlines():
        line = raw.strip().lstrip(">").strip()
        if not line or ":" in line:
            continue
        lines.append(line)
    text = "".join("".join(lines).split())
    if not text:
        return None
    text = text.rstrip("=")
    text += "=" * (-len(text) % 4)
    try:
        return base64.b64decode(text, validate=True)
    except (binascii.Error, ValueError):
        return None


def _load_pem_text(text: str, bundle: Bundle) -> None:
    text = _ANSI.sub("", text)
    blocks = list(_PEM_BLOCK.finditer(text))
    if not blocks:
        begins = _BEGIN.findall(text)
        if begins:
            bundle.damaged = True
            bundle._problem(f"the {begins[0]} block has no matching END line (the file is cut short)")
        else:
            bundle._problem("no certificate or CSR found")
        return
    counts: dict[str, int] = {}
    for match in blocks:
        label, body, end_label = match.group(1).strip(), match.group(2), match.group(3).strip()
        counts[label] = counts.get(label, 0) + 1
        where = f"{label} block {counts[label]}" if counts[label] > 1 else f"the {label} block"
        if "PRIVATE KEY" in label or "PRIVATE KEY" in end_label:
            bundle.private_key = True
            bundle._problem(_PRIVATE_KEY_PROBLEM)
            continue
        known = label in _CERT_LABELS or label in _PKCS7_LABELS or label in _CSR_LABELS
        if not known:
            bundle._problem(f"contains a {label} block, which is neither a certificate nor a CSR (skipped)")
            continue
        if end_label != label:
            bundle.damaged = True
            bundle._problem(f"{where} ends with '-----END {end_label}-----' (the file was edited or cut)")
            continue
        der = _pem_body(body)
        if der is None:
            bundle.damaged = True
            bundle._problem(f"{where} is damaged (its body is not base64)")
            continue
        # Try the label's own type first, then the others: AD CS writes PKCS#7 under a
        # CERTIFICATE header, and some portals mislabel CSRs.
        order = (
            ("cert", "pkcs7", "csr") if label in _CERT_LABELS
            else ("pkcs7", "cert", "csr") if label in _PKCS7_LABELS
            else ("csr", "cert", "pkcs7")
        )
        if not _load_der_object(der, bundle, where, order):
            bundle.damaged = True
            bundle._problem(f"{where} is damaged (its content is not a {_kind_name(order[0])})")
    tail_begins = len(_BEGIN.findall(text)) - len(blocks)
    if tail_begins > 0:
        bundle.damaged = True
        bundle._problem("a block has no matching END line (the file is cut short)")


def _kind_name(kind: str) -> str:
    return {"cert": "certificate", "pkcs7": "PKCS#7 bundle", "csr": "CSR"}[kind]


# --------------------------------------------------------------------------------------------
# DER


def _der_length(data: bytes, i: int) -> tuple[int, int] | None:
    """(content length, offset of the content) of the TLV whose tag is at `i`; None if invalid.

    A length of -1 means BER indefinite length, which Windows-made PKCS#7 files may use: the
    object then runs to the end of the data and OpenSSL sorts it out.
    """
    if i + 2 > len(data) or data[i] & 0x1F == 0x1F:
        return None
    first = data[i + 1]
    if first < 0x80:
        return first, i + 2
    if first == 0x80:
        return -1, i + 2
    n = first & 0x7F
    if n > 4 or i + 2 + n > len(data):
        return None
    return int.from_bytes(data[i + 2 : i + 2 + n], "big"), i + 2 + n


def _der_elements(data: bytes) -> tuple[list[bytes], int]:
    """Split concatenated DER objects; returns the objects and the count of trailing bytes left."""
    out: list[bytes] = []
    i = 0
    while i < len(data) and len(out) < 64:
        parsed = _der_length(data, i)
        if parsed is None or data[i] != 0x30:
            break
        length, start = parsed
        end = len(data) if length < 0 else start + length
        if end > len(data):
            break
        out.append(data[i:end])
        i = end
    return out, len(data) - i


def _load_der_object(der: bytes, bundle: Bundle, where: str, order: Iterable[str]) -> bool:
    """Load one DER object as the first of `order` that parses; True when something was added."""
    for kind in order:
        try:
            if kind == "cert":
                bundle._add_certificate(x509.load_der_x509_certificate(der), where)
            elif kind == "csr":
                bundle._add_csr(x509.load_der_x509_csr(der), where)
            else:
                certs = pkcs7.load_der_pkcs7_certificates(der)
                if not certs:
                    bundle._problem(f"{where} is a PKCS#7 bundle that holds no certificate")
                for n, cert in enumerate(certs, 1):
                    bundle._add_certificate(cert, f"certificate {n} of {where}")
        except Exception:  # untrusted input: a parse failure means "try the next kind"
            continue
        return True
    return False


def _looks_like_pkcs12(der: bytes) -> bool:
    """PFX = SEQUENCE { INTEGER 3, SEQUENCE { OID data ... } }: a file that carries a private key."""
    parsed = _der_length(der, 0)
    if parsed is None:
        return False
    _, start = parsed
    return der[start : start + 4] == b"\x02\x01\x03\x30"


def _load_der(data: bytes, bundle: Bundle, what: str) -> None:
    elements, trailing = _der_elements(data)
    loaded = False
    for n, element in enumerate(elements, 1):
        where = f"{what} object {n}" if len(elements) > 1 else f"the {what} data"
        if _load_der_object(element, bundle, where, ("cert", "pkcs7", "csr")):
            loaded = True
        elif _looks_like_pkcs12(element):
            bundle.private_key = True
            bundle._problem("is a PKCS#12 (.pfx/.p12) file, which carries a private key that ucterm "
                            "never reads; export the certificate alone as PEM or DER")
        elif n == 1:
            break
        else:
            bundle.damaged = True
            bundle._problem(f"{where} is damaged")
    if not loaded and not bundle.private_key:
        bundle._problem("no certificate or CSR found (not PEM, DER or PKCS#7)")
    elif loaded and trailing:
        bundle._problem(f"ignored {trailing} bytes after the {what} data")


# --------------------------------------------------------------------------------------------
# Entry points


def load_bundle(data: bytes, source: str = "<input>") -> Bundle:
    """Everything readable in `data`: certificates and CSRs in file order, problems for the rest.

    Never raises, whatever the bytes: a file that yields nothing has `empty` set and says why
    in `problems` ("empty file", "no certificate or CSR found", "contains a private key, …").
    """
    bundle = Bundle(source=source)
    # cryptography warns about what it will refuse one day (a BER .p7b from Windows, a serial
    # number that is not positive). Warnings would land in the user's terminal, or across the
    # TUI; they are recorded instead and the one that matters becomes a problem.
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        _load_into(data, bundle)
    if any("serial number" in str(w.message) for w in caught):
        bundle._problem("holds a certificate whose serial number is not positive, which RFC 5280 "
                        "forbids; future versions of cryptography will refuse it")
    return bundle


def _load_into(data: bytes, bundle: Bundle) -> None:
    try:
        if not data.strip():
            bundle._problem("empty file")
            return
        text = _decode_text(data)
        if text is not None:
            _load_pem_text(text, bundle)
            return
        stripped = data.strip()
        if stripped[:1] != b"\x30" and _BASE64_TEXT.fullmatch(stripped.decode("latin-1")):
            # Base64 without PEM armour, as some portals offer "copy the certificate" text.
            der = _pem_body(stripped.decode("latin-1"))
            if der is not None:
                _load_der(der, bundle, "base64")
                return
        _load_der(data, bundle, "DER")
    except Exception as exc:  # last resort: the loader's contract is "never raises"
        bundle.damaged = True
        bundle._problem(f"cannot be read ({_reason(exc)})")


def load_file(path: str | Path) -> Bundle:
    """Read one file into a :class:`Bundle`; :class:`PkiFileError` naming the file when it cannot be read.

    The content is never a reason to raise (see :func:`load_bundle`); only the file system is.
    Regular files only, up to :data:`MAX_FILE_BYTES`: `/dev/zero` or a FIFO given by mistake is one
    sentence, not a read without end or a wait for a writer that never comes.
    """
    from ucterm.files import FileProblem, read_regular

    p = Path(path)
    try:
        data = read_regular(p, "the certificate file", limit=MAX_FILE_BYTES)
    except FileProblem as exc:
        raise PkiFileError(str(exc)) from None
    return load_bundle(data, str(p))


def load_paths(paths: Iterable[str | Path]) -> Iterator[Bundle]:
    """Bundles for files and the files inside folders (not recursive, hidden files skipped).

    `--signed` takes folders so that a user can hand over everything the CA returned at once.
    """
    for path in paths:
        p = Path(path)
        if p.is_dir():
            for child in sorted(p.iterdir()):
                if child.is_file() and not child.name.startswith("."):
                    yield load_file(child)
        else:
            yield load_file(p)


def load_csr_pem(text: str, source: str = "the CSR text") -> x509.CertificateSigningRequest:
    """The CSR in text a VOS node printed (or a REST body carried), whatever its header.

    Accepts `CERTIFICATE REQUEST`, `NEW CERTIFICATE REQUEST` and `CERTIFICATE SIGN REQUEST`,
    CRLF, ANSI escapes and wrapped base64. Raises :class:`PkiError` when there is no CSR.
    """
    bundle = load_bundle(text.encode("utf-8", errors="replace"), source)
    if bundle.csrs:
        return bundle.csrs[0]
    why = "; ".join(bundle.problems) or "it holds certificates, not a CSR"
    raise PkiError(f"{source} holds no readable CSR ({why}): copy the whole "
                   "-----BEGIN CERTIFICATE REQUEST----- block again")


def pem(obj: x509.Certificate | x509.CertificateSigningRequest) -> str:
    """PEM text of a certificate or CSR, as VOS expects it pasted or uploaded."""
    return obj.public_bytes(serialization.Encoding.PEM).decode("ascii")
