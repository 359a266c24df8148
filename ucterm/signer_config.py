"""The inventory's `[[signer]]` tables: certificate authorities that sign CSRs unattended (design.md §3).

This module only reads and checks the tables; the signers themselves (talking to AD CS, Vault
or OpenBao, an ACME CA or a site's script) live in the renewal engine. Like the rest of the
inventory, every mistake is one sentence naming the file, the line, the signer and the field.
Secrets (`password`, `token`, `key_secret`, `hmac_key`) are references (`env:NAME`,
`keyring:SERVICE`, `prompt`) resolved only when a renewal needs them; a literal is accepted
only from an owner-only file, with a warning, as for node passwords.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal, Protocol

from ucterm.errors import InventoryError

__all__ = [
    "SIGNER_KINDS",
    "AcmeSpec",
    "AdcsSpec",
    "CommandSpec",
    "DnsCommand",
    "DnsRfc2136",
    "SignerConfig",
    "VaultSpec",
    "parse_signer",
]

SignerKind = Literal["adcs", "vault", "acme", "command"]
SIGNER_KINDS: tuple[SignerKind, ...] = ("adcs", "vault", "acme", "command")
ADCS_AUTH = ("ntlm", "kerberos", "basic")
#: TSIG algorithms dnspython and BIND both know (RFC 8945 §6); hmac-sha256 is what BIND's tsig-keygen makes.
TSIG_ALGORITHMS = ("hmac-sha256", "hmac-sha384", "hmac-sha512", "hmac-sha224", "hmac-sha1", "hmac-md5")
#: How long one request to the CA may take by default, per kind (seconds). An ACME order waits for
#: DNS propagation and validation; a site's script may do anything; web enrollment and Vault answer at once.
DEFAULT_TIMEOUTS: dict[str, float] = {"adcs": 60.0, "vault": 60.0, "acme": 600.0, "command": 300.0}

_COMMON_KEYS = ("name", "kind", "roots", "ca_bundle", "timeout")
_KIND_KEYS: dict[str, tuple[str, ...]] = {
    "adcs": ("url", "template", "auth", "user", "password"),
    "vault": ("url", "mount", "role", "verbatim", "token", "namespace"),
    "acme": ("directory", "email", "challenge", "dns", "eab"),
    "command": ("command",),
}
_DNS_KEYS: dict[str, tuple[str, ...]] = {
    "rfc2136": ("kind", "server", "port", "key_name", "key_secret", "key_algorithm", "zone"),
    "command": ("kind", "set", "clear", "check"),
}


@dataclass(frozen=True)
class AdcsSpec:
    """AD CS web enrollment (`/certsrv`): `certfnsh.asp` with a template, `certnew.cer`, `certnew.p7b`."""

    url: str
    template: str
    auth: Literal["ntlm", "kerberos", "basic"] = "ntlm"
    user: str | None = None
    password: str | None = field(default=None, repr=False)


@dataclass(frozen=True)
class VaultSpec:
    """HashiCorp Vault or OpenBao PKI: `sign-verbatim/<role>` (verbatim) or `sign/<role>`."""

    url: str
    role: str
    token: str = field(repr=False)
    mount: str = "pki"
    verbatim: bool = False
    namespace: str | None = None


@dataclass(frozen=True)
class DnsRfc2136:
    """DNS-01 records set by RFC 2136 dynamic update, signed with TSIG."""

    server: str
    key_name: str
    key_secret: str = field(repr=False)
    port: int = 53
    key_algorithm: str = "hmac-sha256"
    zone: str | None = None


@dataclass(frozen=True)
class DnsCommand:
    """DNS-01 records set by the site's own programs; `{name}` and `{value}` are filled in."""

    set: tuple[str, ...]
    clear: tuple[str, ...] | None = None
    #: Optional: exits 0 once the record is visible to the CA's resolvers.
    check: tuple[str, ...] | None = None


@dataclass(frozen=True)
class AcmeSpec:
    """An RFC 8555 CA (Let's Encrypt, an internal ACME CA); DNS-01, since VOS serves no HTTP-01 tokens."""

    directory: str
    dns: DnsRfc2136 | DnsCommand
    email: str | None = None
    challenge: Literal["dns-01"] = "dns-01"
    eab_kid: str | None = None
    eab_hmac_key: str | None = field(default=None, repr=False)


@dataclass(frozen=True)
class CommandSpec:
    """Any CA the site scripts itself: `{csr}` is the CSR file, `{out}` where the certificate goes."""

    command: tuple[str, ...]


SignerSpec = AdcsSpec | VaultSpec | AcmeSpec | CommandSpec


@dataclass(frozen=True)
class SignerConfig:
    """One `[[signer]]` table, checked."""

    name: str
    kind: SignerKind
    spec: SignerSpec
    #: CA certificates that complete the chain the CA returns (ACME never returns its root).
    roots: Path | None = None
    #: Verifies the CA's own HTTPS endpoint; None uses the system's trust store.
    ca_bundle: Path | None = None
    timeout: float = 60.0

    @property
    def secret_references(self) -> dict[str, str]:
        """field → reference of every secret this signer needs (for prompts, keyring look-ups, redaction)."""
        spec = self.spec
        found: dict[str, str | None] = {}
        if isinstance(spec, AdcsSpec):
            found["password"] = spec.password
        elif isinstance(spec, VaultSpec):
            found["token"] = spec.token
        elif isinstance(spec, AcmeSpec):
            if isinstance(spec.dns, DnsRfc2136):
                found["key_secret"] = spec.dns.key_secret
            found["hmac_key"] = spec.eab_hmac_key
        return {k: v for k, v in found.items() if v is not None}

    def what(self, field_name: str) -> str:
        """How a secret of this signer is named in prompts and errors (`token for signer "bao"`)."""
        return f'{field_name} for signer "{self.name}"'


class _Errors(Protocol):
    path: Path | None
    #: Fields holding a literal secret: the inventory says them in one sentence (none for a lab's own file).
    literals: list[str]

    def error(self, message: str, *needles: str, after: int = 0) -> InventoryError: ...

    def line_of(self, *needles: str, after: int = 0) -> int | None: ...


Nearest = Callable[[str, tuple[str, ...]], str]


def parse_signer(raw: Any, ctx: _Errors, base_dir: Path, *, owner_only: bool, warnings: list[str],
                 is_reference: Callable[[str], bool], nearest: Nearest) -> SignerConfig:
    """Check one `[[signer]]` table; :class:`InventoryError` with one sentence for the first mistake."""
    if not isinstance(raw, dict):
        raise ctx.error("each [[signer]] must be a table.", "[[signer]]")
    name = raw.get("name")
    if not isinstance(name, str) or not name.strip():
        raise ctx.error('a [[signer]] has no name; add name = "..." (clusters refer to it with signer = NAME).',
                        "[[signer]]")
    start = max(0, (ctx.line_of(f'"{name}"') or 1) - 1)
    label = f'signer "{name}"'

    def fail(message: str, key: str) -> InventoryError:
        return ctx.error(f"{label} {message}", key, after=start)

    kind = raw.get("kind")
    if kind not in SIGNER_KINDS:
        raise fail(f'has kind {kind!r}; use one of {", ".join(SIGNER_KINDS)} (the lab CA is `--lab-ca`).', "kind")
    allowed = (*_COMMON_KEYS, *_KIND_KEYS[kind])
    for key in raw:
        if key not in allowed:
            raise fail(f'has an unknown field "{key}" for kind {kind}{nearest(key, allowed)}.', key)

    def text(key: str, *, required: bool = False, default: str | None = None) -> str | None:
        value = raw.get(key, default)
        if value is None:
            if required:
                raise fail(f"needs {key}; add {key} = \"...\".", "kind")
            return None
        if not isinstance(value, str) or not value.strip():
            raise fail(f"field {key} must be a non-empty string.", key)
        return value

    def url(key: str) -> str:
        value = text(key, required=True)
        assert value is not None
        if not value.lower().startswith("https://"):
            raise fail(f'field {key} is "{value}"; it must be an https:// URL (ucterm sends credentials '
                       "and CSRs only over verified TLS).", key)
        return value.rstrip("/")

    def secret(key: str, table: Mapping[str, Any] = raw, *, required: bool = True) -> str | None:
        value = table.get(key)
        if value is None:
            if required:
                raise fail(f"needs {key}; add {key} = \"env:NAME\" (or keyring:SERVICE, or prompt).", "kind")
            return None
        if not isinstance(value, str) or not value:
            raise fail(f"field {key} must be a string: env:NAME, keyring:SERVICE or prompt.", key)
        if value.startswith("env:") and not value[4:].strip():
            raise fail(f'field {key} is "env:" with no variable name; write env:NAME.', key)
        if value.startswith("keyring:") and not value[8:].strip():
            raise fail(f'field {key} is "keyring:" with no service name; write keyring:SERVICE.', key)
        if not is_reference(value):
            if not owner_only:
                raise fail(f"field {key} holds a literal secret but the file is readable by others; use "
                           f"env:NAME, keyring:SERVICE or prompt, or run `chmod 600 {ctx.path}`.", key)
            ctx.literals.append(f"{label} field {key}")
        return value

    def path(key: str) -> Path | None:
        value = text(key)
        if value is None:
            return None
        p = Path(value).expanduser()
        return p if p.is_absolute() else (base_dir / p).resolve()

    def argv(key: str, table: Mapping[str, Any], *, required: bool,
             needs: tuple[str, ...] = ()) -> tuple[str, ...] | None:
        value = table.get(key)
        if value is None:
            if required:
                raise fail(f'needs {key}, a list such as ["/usr/local/bin/program", "{{csr}}"].', "kind")
            return None
        if not isinstance(value, list) or not value or not all(isinstance(v, str) and v for v in value):
            raise fail(f'field {key} must be a non-empty list of strings, e.g. ["/usr/local/bin/program", '
                       f'"{{csr}}"].', key)
        joined = " ".join(value)
        for placeholder in needs:
            if placeholder not in joined:
                raise fail(f"field {key} never mentions {placeholder}; ucterm fills it in (see the README).", key)
        return tuple(value)

    timeout = raw.get("timeout", DEFAULT_TIMEOUTS[kind])
    if isinstance(timeout, bool) or not isinstance(timeout, int | float) or not math.isfinite(timeout) \
            or timeout <= 0:
        raise fail("field timeout must be a positive number of seconds.", "timeout")

    spec: SignerSpec
    if kind == "adcs":
        auth = text("auth", default="ntlm")
        if auth not in ADCS_AUTH:
            raise fail(f'field auth is "{auth}"; use one of {", ".join(ADCS_AUTH)}.', "auth")
        user = text("user", required=auth != "kerberos")
        spec = AdcsSpec(url=url("url"), template=text("template", required=True) or "", auth=auth,  # type: ignore[arg-type]
                        user=user, password=secret("password", required=auth != "kerberos"))
    elif kind == "vault":
        verbatim = raw.get("verbatim", False)
        if not isinstance(verbatim, bool):
            raise fail("field verbatim must be true or false.", "verbatim")
        spec = VaultSpec(url=url("url"), role=text("role", required=True) or "", token=secret("token") or "",
                         mount=(text("mount", default="pki") or "pki").strip("/"), verbatim=verbatim,
                         namespace=text("namespace"))
    elif kind == "acme":
        challenge = text("challenge", default="dns-01")
        if challenge != "dns-01":
            raise fail(f'field challenge is "{challenge}"; use "dns-01" (VOS nodes cannot serve HTTP-01 '
                       "tokens).", "challenge")
        eab = raw.get("eab")
        kid = _eab_kid(eab, fail)
        spec = AcmeSpec(directory=url("directory"), dns=_dns(raw.get("dns"), fail, secret, argv),
                        email=text("email"), eab_kid=kid,
                        eab_hmac_key=secret("hmac_key", eab or {}) if kid is not None else None)
    else:
        spec = CommandSpec(command=argv("command", raw, required=True, needs=("{csr}", "{out}")) or ())
    return SignerConfig(name=name, kind=kind, spec=spec, roots=path("roots"), ca_bundle=path("ca_bundle"),
                        timeout=float(timeout))


def _eab_kid(raw: Any, fail: Callable[[str, str], InventoryError]) -> str | None:
    """External account binding (RFC 8555 §7.3.4), for CAs that need one: the key id, checked."""
    if raw is None:
        return None
    if not isinstance(raw, dict):
        raise fail('field eab must be a table: eab = { kid = "...", hmac_key = "env:NAME" }.', "eab")
    for key in raw:
        if key not in ("kid", "hmac_key"):
            raise fail(f'field eab has an unknown key "{key}"; it takes kid and hmac_key.', "eab")
    kid = raw.get("kid")
    if not isinstance(kid, str) or not kid:
        raise fail('field eab needs kid, the key identifier the CA gave you.', "eab")
    if "hmac_key" not in raw:
        raise fail('field eab needs hmac_key = "env:NAME" (the MAC key the CA gave you).', "eab")
    return kid


def _dns(raw: Any, fail: Callable[[str, str], InventoryError], secret: Callable[..., str | None],
         argv: Callable[..., tuple[str, ...] | None]) -> DnsRfc2136 | DnsCommand:
    if raw is None:
        raise fail('needs dns, how the DNS-01 records are set: dns = { kind = "rfc2136", ... } or '
                   'dns = { kind = "command", set = [...] }.', "kind")
    if not isinstance(raw, dict):
        raise fail('field dns must be a table such as { kind = "rfc2136", server = "...", key_name = "...", '
                   'key_secret = "env:NAME" }.', "dns")
    kind = raw.get("kind")
    if kind not in _DNS_KEYS:
        raise fail(f'field dns has kind {kind!r}; use "rfc2136" or "command".', "dns")
    for key in raw:
        if key not in _DNS_KEYS[kind]:
            raise fail(f'field dns has an unknown key "{key}" for kind {kind}; it takes '
                       f'{", ".join(_DNS_KEYS[kind])}.', "dns")
    if kind == "command":
        return DnsCommand(set=argv("set", raw, required=True, needs=("{name}", "{value}")) or (),
                          clear=argv("clear", raw, required=False, needs=("{name}",)),
                          check=argv("check", raw, required=False, needs=("{name}",)))
    server = raw.get("server")
    key_name = raw.get("key_name")
    if not isinstance(server, str) or not server:
        raise fail("field dns needs server, the DNS server that takes the updates.", "dns")
    if not isinstance(key_name, str) or not key_name:
        raise fail("field dns needs key_name, the TSIG key's name.", "dns")
    port = raw.get("port", 53)
    if isinstance(port, bool) or not isinstance(port, int) or not 1 <= port <= 65535:
        raise fail("field dns has a bad port; use a number from 1 to 65535.", "dns")
    algorithm = raw.get("key_algorithm", "hmac-sha256")
    if algorithm not in TSIG_ALGORITHMS:
        raise fail(f'field dns has key_algorithm {algorithm!r}; use one of {", ".join(TSIG_ALGORITHMS)}.', "dns")
    zone = raw.get("zone")
    if zone is not None and (not isinstance(zone, str) or not zone):
        raise fail("field dns has a bad zone; give the zone's name, e.g. \"example.com\".", "dns")
    return DnsRfc2136(server=server, key_name=key_name, key_secret=secret("key_secret", raw) or "", port=port,
                      key_algorithm=algorithm, zone=zone)
