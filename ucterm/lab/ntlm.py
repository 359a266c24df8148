"""The server side of NTLM over HTTP for the lab's AD CS web enrollment, with Extended Protection.

IIS authenticates a *connection*: NEGOTIATE → CHALLENGE (401) → AUTHENTICATE, then every request
on that keep-alive connection runs as the user. With Extended Protection "Required", the
AUTHENTICATE message must carry the `MsvAvChannelBindings` AV pair (MS-NLMP §2.2.2.1), the MD5
of the `tls-server-end-point` channel binding (RFC 5929 §4) of the certificate this server
presented; a client that omits it, or sends the all-zero "unbound" value, gets 401 whatever its
password. pyspnego (imported on first use) checks the NTLMv2 response and the binding's value;
the lab itself refuses a missing or zero binding first, because pyspnego's acceptor treats zeros
as "no binding offered" and lets them through, as Extended Protection "Allowed" would.

pyspnego's NTLM acceptor reads the accounts it accepts from the file named by `NTLM_USER_FILE`
(`DOMAIN:USER:PASSWORD` lines); :func:`account_file` writes it and sets the variable.
"""

from __future__ import annotations

import atexit
import hashlib
import os
import shutil
import struct
import tempfile
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes

#: MS-NLMP §2.2.2.1 AV_PAIR ids.
_AV_EOL = 0x0000
_AV_CHANNEL_BINDINGS = 0x000A


class NtlmRefused(Exception):
    """The AUTHENTICATE message is not accepted; the message says why (for the lab's log and tests)."""


def channel_binding_data(cert: x509.Certificate) -> bytes:
    """RFC 5929 §4: `tls-server-end-point:` + the certificate's hash (SHA-256 for MD5/SHA-1 signatures)."""
    algorithm = cert.signature_hash_algorithm
    if algorithm is None or isinstance(algorithm, hashes.MD5 | hashes.SHA1):
        algorithm = hashes.SHA256()
    from cryptography.hazmat.primitives.serialization import Encoding

    digest = hashes.Hash(algorithm)
    digest.update(cert.public_bytes(Encoding.DER))
    return b"tls-server-end-point:" + digest.finalize()


def message_type(token: bytes) -> int:
    """1 NEGOTIATE, 2 CHALLENGE, 3 AUTHENTICATE; 0 when `token` is not an NTLM message."""
    if len(token) < 12 or token[:8] != b"NTLMSSP\x00":
        return 0
    return int(struct.unpack_from("<I", token, 8)[0])


def client_binding(token: bytes) -> bytes | None:
    """The `MsvAvChannelBindings` value in an NTLMv2 AUTHENTICATE message, or None if it has none."""
    if message_type(token) != 3 or len(token) < 28:
        return None
    length, _, offset = struct.unpack_from("<HHI", token, 20)  # NtChallengeResponseFields
    nt = token[offset:offset + length]
    if len(nt) <= 24:
        return None  # NTLMv1: no AV pairs at all
    pairs, pos = nt[16 + 28:], 0  # NTProofStr, then the NTLMv2_CLIENT_CHALLENGE header
    while pos + 4 <= len(pairs):
        av_id, av_len = struct.unpack_from("<HH", pairs, pos)
        if av_id == _AV_EOL:
            return None
        if av_id == _AV_CHANNEL_BINDINGS:
            return pairs[pos + 4:pos + 4 + av_len]
        pos += 4 + av_len
    return None


_ACCOUNT_FILES: dict[tuple[tuple[str, str], ...], Path] = {}


def account_file(accounts: dict[str, str]) -> Path:
    """pyspnego's NTLM_USER_FILE for `DOMAIN\\user → password` (0600), and the variable pointing at it.

    One file per set of accounts for the life of the process (removed at exit): estates started
    and stopped in any order, even side by side, keep working, since they share the lab's fixed accounts.
    """
    key = tuple(sorted(accounts.items()))
    path = _ACCOUNT_FILES.get(key)
    if path is None or not path.exists():
        folder = Path(tempfile.mkdtemp(prefix="ucterm-lab-ntlm-"))
        atexit.register(shutil.rmtree, folder, True)
        path = folder / "ntlm-users"
        lines = []
        for principal, password in accounts.items():
            domain, _, user = principal.rpartition("\\")
            lines.append(f"{domain}:{user}:{password}")
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            handle.write("\n".join(lines) + "\n")
        _ACCOUNT_FILES[key] = path
    os.environ["NTLM_USER_FILE"] = str(path)
    return path


class NtlmAcceptor:
    """One connection's NTLM handshake (see the module docstring)."""

    def __init__(self, binding: bytes, *, require_binding: bool = True) -> None:
        import spnego  # lazy: only the lab's AD CS endpoint speaks NTLM

        self._binding = binding
        self._require = require_binding
        bindings = spnego.channel_bindings.GssChannelBindings(application_data=binding) if require_binding else None
        self._context = spnego.server(protocol="ntlm", channel_bindings=bindings)
        self.user: str | None = None

    def step(self, token: bytes) -> bytes | None:
        """The CHALLENGE for a NEGOTIATE; None once an AUTHENTICATE is accepted (:attr:`user` is set)."""
        import spnego.exceptions

        if message_type(token) == 3 and self._require:
            given = client_binding(token)
            if given is None or given == b"\x00" * 16:
                raise NtlmRefused("the AUTHENTICATE message carries no channel binding (Extended Protection)")
            expected = hashlib.md5(_gss_bindings(self._binding), usedforsecurity=False).digest()
            if given != expected:
                raise NtlmRefused("the channel binding is not this server's certificate (Extended Protection)")
        try:
            out = self._context.step(token)
        except spnego.exceptions.SpnegoError as exc:
            raise NtlmRefused(f"NTLM refused: {type(exc).__name__}") from None
        if self._context.complete:
            self.user = str(self._context.client_principal or "")
        return out


def _gss_bindings(application_data: bytes) -> bytes:
    """gss_channel_bindings_struct with only application data (RFC 2744 §3.11, as MS-NLMP hashes it)."""
    return struct.pack("<IIIII", 0, 0, 0, 0, len(application_data)) + application_data
