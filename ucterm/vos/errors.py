"""Errors raised while talking to a VOS node.

Each is one sentence that names the node (and, where it matters, the command, port or file)
and says what the user can do, because the CLI prints it as is and the TUI shows it in a toast.
The attributes carry the same facts for code that reacts to them (the TUI's "accept host key"
action reads :attr:`HostKeyUnknown.key`, the renewal runner reads :attr:`VosImportError.code`).
"""

from __future__ import annotations

from typing import Any

from ucterm.errors import UctermError
from ucterm.text import clip

#: The longest sentence a node's error may be. Errors quote what the node said, and a node has
#: been seen answering with a 3 MB one-line error: the sentence is shown, journaled and put in
#: the scan's JSON, so it is cut here, once, for every kind of node error.
MAX_ERROR_CHARS = 2000


class VosError(UctermError):
    """Something went wrong with one node; :attr:`node` names it (its FQDN)."""

    def __init__(self, message: str, *, node: str = "") -> None:
        super().__init__(clip(message, MAX_ERROR_CHARS))
        self.node = node


class Unreachable(VosError):
    """No TCP/SSH/TLS connection could be made: the node is down, filtered or the address is wrong."""

    def __init__(self, node: str, address: str, port: int, reason: str) -> None:
        super().__init__(
            f"{node}: cannot connect to {address} port {port} ({reason}); check that the node "
            "is up and that the address and port in the inventory are right.",
            node=node,
        )
        self.address = address
        self.port = port
        self.reason = reason


class LoginRefused(VosError):
    """The node refused the credentials (SSH password/keyboard-interactive, or HTTP 401/403)."""

    def __init__(self, node: str, user: str, what: str = "SSH") -> None:
        super().__init__(
            f"{node}: the {what} login as {user!r} was refused; check the user and password "
            "set for this cluster in the inventory.",
            node=node,
        )
        self.user = user
        self.what = what


class HostKeyUnknown(VosError):
    """The node's SSH host key is not in ucterm's known_hosts; the user must accept it once."""

    def __init__(
        self,
        fingerprint_sha256: str,
        host: str,
        port: int,
        key: Any,
        *,
        address: str | None = None,
        known_hosts: str | None = None,
    ) -> None:
        where = f" ({known_hosts})" if known_hosts else ""
        super().__init__(
            f"{host}: the SSH host key {fingerprint_sha256} on port {port} is not known to ucterm{where}; "
            "check the fingerprint with the node's administrator, then accept it in the TUI or set "
            "trust_on_first_use = true in the inventory.",
            node=host,
        )
        self.fingerprint_sha256 = fingerprint_sha256
        self.host = host
        self.port = port
        self.key = key
        self.address = address
        self.known_hosts = known_hosts


class HostKeyChanged(VosError):
    """The node presented a different host key than the one recorded: always refused."""

    def __init__(
        self, host: str, port: int, fingerprint_sha256: str, known_fingerprints: list[str], known_hosts: str
    ) -> None:
        super().__init__(
            f"{host}: the SSH host key on port {port} changed (now {fingerprint_sha256}, recorded "
            f"{', '.join(known_fingerprints)}); ucterm refuses to connect: if the node was really rebuilt, "
            f"remove its line from {known_hosts} and accept the new key.",
            node=host,
        )
        self.host = host
        self.port = port
        self.fingerprint_sha256 = fingerprint_sha256
        self.known_fingerprints = known_fingerprints
        self.known_hosts = known_hosts


class CommandTimeout(VosError):
    """A command (or the login banner, or an HTTPS call) did not finish in time."""

    def __init__(self, node: str, command: str, timeout: float, hint: str = "") -> None:
        hint = hint or "check the node (a service may be hung) and run it again, or raise command_timeout"
        super().__init__(f"{node}: `{command}` did not finish within {timeout:g} s; {hint}.", node=node)
        self.command = command
        self.timeout = timeout


class BannerTimeout(CommandTimeout):
    """The CLI never showed its `admin:` prompt after login."""

    def __init__(self, node: str, timeout: float) -> None:
        super().__init__(
            node,
            "login",
            timeout,
            "the CLI did not show its admin: prompt; the node may still be starting up: "
            "try again later or raise banner_timeout in the inventory",
        )


class SessionDropped(VosError):
    """The SSH session ended in the middle of a command whose outcome is therefore unknown."""

    def __init__(self, node: str, command: str | None, reason: str) -> None:
        if command:
            msg = (
                f"{node}: the SSH session dropped during `{command}` ({reason}); its outcome is unknown: "
                "check the node's state before running it again."
            )
        else:
            msg = f"{node}: the SSH session dropped ({reason}); ucterm reconnects on the next command."
        super().__init__(msg, node=node)
        self.command = command
        self.reason = reason


class VosCommandError(VosError):
    """A CLI command answered with something other than its success text."""

    def __init__(self, node: str, command: str, message: str, output: str = "") -> None:
        super().__init__(f"{node}: `{command}` {message}", node=node)
        self.command = command
        self.output = output


#: What the user should do for each import error code (§5.3).
_IMPORT_ADVICE: dict[str, str] = {
    "key-mismatch": "the certificate was issued for another CSR: have the CA sign the CSR the node holds now",
    "ca-not-in-trust": "upload the root and intermediate CA certificates to the unit's trust store first",
    "san-mismatch": "the certificate's SANs differ from the CSR's: have the CA keep the CSR's SANs exactly",
    "no-csr": "the node has no outstanding CSR for this unit (already used or replaced): generate a new CSR",
    "multi-san-refused": "this release refuses multi-SAN certificates on the CLI: upload it over the REST API "
    "or the OS Admin GUI",
    "upload-failed": "the node could not store the file: check the certificate's format and try again",
    "unknown": "read the node's message above and correct the certificate",
}


class VosImportError(VosCommandError):
    """A certificate import was refused; :attr:`code` says why (§5.3 texts mapped to short codes)."""

    def __init__(self, code: str, text: str, *, node: str = "", unit: str = "", transport: str = "cli") -> None:
        advice = _IMPORT_ADVICE.get(code, _IMPORT_ADVICE["unknown"])
        first = next((ln.strip() for ln in text.splitlines() if ln.strip()), "no message")
        what = f"import into {unit}" if unit else "certificate import"
        VosError.__init__(self, f"{node}: the {what} was refused ({code}: {first}); {advice}.", node=node)
        self.command = what
        self.output = text
        self.code = code
        self.text = text
        self.unit = unit
        self.transport = transport


class RestError(VosError):
    """An HTTPS API (certmgr, Control Center, AXL) answered with an error."""

    def __init__(self, node: str, method: str, path: str, status: int | None, message: str) -> None:
        code = f"HTTP {status}" if status else "an error"
        super().__init__(
            f"{node}: {method} {path} returned {code} ({message}); check the request and the node's state.",
            node=node,
        )
        self.method = method
        self.path = path
        self.status = status
        self.message = message


class ResponseTooLarge(RestError):
    """An HTTPS answer was larger than ucterm reads from a node (see `vos.http.MAX_BODY_BYTES`)."""

    def __init__(self, node: str, method: str, path: str, status: int | None, limit: int,
                 declared: int | None = None) -> None:
        size = f"{declared:,} bytes" if declared is not None else f"more than {limit:,} bytes"
        super().__init__(node, method, path, status,
                         f"the answer is {size}, more than the {limit:,} ucterm reads from a node; a broken web "
                         "service or a proxy in the path sends answers like that")
        self.limit = limit


class OutputTooLarge(VosError):
    """A CLI command printed more than ucterm reads for one command; the session was closed."""

    def __init__(self, node: str, command: str, limit: int) -> None:
        super().__init__(
            f"{node}: `{command}` printed more than {limit:,} characters, far more than any VOS command does; "
            "ucterm stopped reading and closed the session: check the node's CLI by hand.",
            node=node,
        )
        self.command = command
        self.limit = limit


class TlsVerifyError(VosError):
    """The node's TLS certificate does not verify against the configured bundle or pin."""

    def __init__(
        self,
        node: str,
        port: int,
        reason: str,
        *,
        certificate: Any = None,
        fingerprint_sha256: str | None = None,
    ) -> None:
        fp = f" (served certificate SHA-256 {fingerprint_sha256})" if fingerprint_sha256 else ""
        super().__init__(
            f"{node}: the TLS certificate on port {port} does not verify ({reason}){fp}; set "
            "ca_bundle for this cluster in the inventory or accept (pin) the node's certificate "
            "in the TUI.",
            node=node,
        )
        self.port = port
        self.reason = reason
        self.certificate = certificate
        self.fingerprint_sha256 = fingerprint_sha256


class UnsupportedOperation(VosError):
    """Neither transport can do this operation on this node (release, settings or catalog facts)."""


class NotDeployable(VosError):
    """Control Center SOAP refuses to restart a non-deployable service (Tomcat, DRF…)."""

    def __init__(self, node: str, service: str) -> None:
        super().__init__(
            f"{node}: {service} is not deployable, so the Control Center API cannot restart it; "
            f"restart it over SSH with `utils service restart {service}`.",
            node=node,
        )
        self.service = service


class UnsafeXml(VosError):
    """An XML answer carried a DOCTYPE or entity declaration, which ucterm refuses to parse."""
