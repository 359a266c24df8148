"""TLS trust for the HTTPS clients: the cluster's CA bundle and per-node pinned certificates.

Verification is always on. A node is trusted through the cluster's `ca_bundle`, or through its
own tomcat certificate once the user accepted (pinned) it; a pinned leaf works as a trust anchor
thanks to `VERIFY_X509_PARTIAL_CHAIN`. With neither, the system's default CAs apply, and a
failure becomes :class:`~ucterm.vos.errors.TlsVerifyError` naming both ways out. There is no
silent `verify=False` anywhere in ucterm.
"""

from __future__ import annotations

import re
import ssl
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import serialization

from ucterm import paths
from ucterm.files import FileProblem, atomic_write, read_regular
from ucterm.vos.errors import VosError


class TlsSetupError(VosError):
    """The ca_bundle (or a pinned certificate) cannot be used: the file and the setting are named."""

    exit_code = 3


#: What each trust source is, in the words of the setting that names it.
_SOURCES = {
    "ca_bundle": ("the ca_bundle file (inventory setting ca_bundle)",
                  "set ca_bundle in the inventory to a PEM file of the CA certificates that signed the nodes' "
                  "tomcat certificates"),
    "pin": ("the certificate pinned for this node",
            "remove the file and accept (pin) the node's certificate again in the TUI"),
}


class PinStore:
    """Certificates the user accepted for nodes, one PEM file per node under the user data dir."""

    def __init__(self, directory: Path | None = None) -> None:
        self.directory = directory or (paths.data_dir() / "pins")

    def path_for(self, fqdn: str) -> Path:
        safe = re.sub(r"[^A-Za-z0-9.-]", "_", fqdn.lower())
        return self.directory / f"{safe}.pem"

    def get(self, fqdn: str) -> Path | None:
        path = self.path_for(fqdn)
        return path if path.is_file() else None

    def pin(self, fqdn: str, certificate: x509.Certificate) -> Path:
        """Trust `certificate` for `fqdn` from now on (replaces an earlier pin)."""
        path = self.path_for(fqdn)
        atomic_write(path, certificate.public_bytes(serialization.Encoding.PEM), mode=0o600)
        return path

    def unpin(self, fqdn: str) -> None:
        self.path_for(fqdn).unlink(missing_ok=True)


def verifying_context(ca_bundle: Path | None = None, pin: Path | None = None) -> ssl.SSLContext:
    """An SSLContext that verifies the chain and the host name against the bundle and/or the pin.

    With neither, the platform's default CAs are used.
    """
    if ca_bundle or pin:
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)  # CERT_REQUIRED and check_hostname by default
        for source, kind in ((ca_bundle, "ca_bundle"), (pin, "pin")):
            if source is not None:
                _load(ctx, source, kind)
    else:
        ctx = ssl.create_default_context(ssl.Purpose.SERVER_AUTH)
    ctx.verify_flags |= ssl.VERIFY_X509_PARTIAL_CHAIN
    return ctx


def _load(ctx: ssl.SSLContext, path: Path, kind: str) -> None:
    """Add the CA certificates of `path` (PEM or DER) to `ctx`; :class:`TlsSetupError` naming the file and
    the setting when it cannot be read or holds none. Read like every file a user names: regular files
    only, size-capped (OpenSSL given a FIFO would wait for ever)."""
    what, fix = _SOURCES[kind]
    try:
        data = read_regular(path, what)
    except FileProblem as exc:
        raise TlsSetupError(f"{exc} ({fix})") from None
    try:
        if b"-----BEGIN" in data:
            ctx.load_verify_locations(cadata=data.decode("ascii", "replace"))
        else:
            ctx.load_verify_locations(cadata=data)
    except (ssl.SSLError, ValueError) as exc:
        reason = "it is empty" if not data.strip() else f"no CA certificate could be read: {exc.args[-1]}"
        raise TlsSetupError(f"{path}: {what} cannot be used to verify TLS ({reason}); {fix}.") from None


def reading_context() -> ssl.SSLContext:
    """An SSLContext that accepts any certificate: only for *reading* what a node serves (probe)."""
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE
    # VOS 11/12 nodes still negotiate TLS 1.2 with older suites; reading must not fail on them.
    ctx.minimum_version = ssl.TLSVersion.TLSv1_2
    ctx.set_ciphers("DEFAULT:@SECLEVEL=1")
    return ctx
