"""Typed wrappers for the VOS CLI commands ucterm uses.

Each method sends one command through the node's :class:`~ucterm.vos.shell.VosShell` with the
dialog that command needs, parses the output with :mod:`ucterm.vos.parsers`, and turns anything
but the documented success into an error naming the node and the command. Command syntax is
from `cisco-uc-certs.md` §1 (cited per method).
"""

from __future__ import annotations

import re
from typing import Literal, Protocol

from cryptography import x509

from ucterm import catalog
from ucterm.vos import dialog as dlg
from ucterm.vos import parsers
from ucterm.vos.errors import VosCommandError, VosImportError

#: §1.9 [VERIFIED: C-netSSL] a Tomcat restart can take minutes; 600 s is what netSSL allows (CUC is slow).
RESTART_TIMEOUT = catalog.RESTART_TIMEOUT_S


class Shell(Protocol):
    @property
    def node(self) -> str: ...

    async def run(
        self, command: str, *, dialog: dlg.Dialog = ..., timeout: float | None = None, idempotent: bool = True
    ) -> str: ...


_SAFE_ARG_RE = re.compile(r"^[A-Za-z0-9._/@+-]+$")


def _arg(value: str, what: str) -> str:
    """A single CLI word: refuse spaces and shell-significant characters in unit and file names."""
    if not _SAFE_ARG_RE.match(value):
        raise ValueError(f"{what} {value!r} is not a VOS unit or file name")
    return value


def _quoted(value: str) -> str:
    """§1.2 [INFERRED]: multi-word values of `set web-security` must be quoted."""
    if '"' in value or "\n" in value:
        raise ValueError(f"{value!r} cannot be passed to the VOS CLI (quotes or newlines)")
    return f'"{value}"' if (" " in value or not value) else value


class VosCli:
    """The commands of one node's CLI. Every method is a coroutine and runs one command."""

    def __init__(self, shell: Shell, *, version: catalog.Version | None = None) -> None:
        self.shell = shell
        self.version = version

    @property
    def node(self) -> str:
        return self.shell.node

    async def _run(
        self, command: str, *, dialog: dlg.Dialog = dlg.NO_DIALOG, timeout: float | None = None, idempotent: bool = True
    ) -> str:
        return await self.shell.run(command, dialog=dialog, timeout=timeout, idempotent=idempotent)

    # -- discovery

    async def show_version(self) -> parsers.VersionInfo:
        """`show version active` (§1.10 [VERIFIED: C-unicon mock])."""
        cmd = "show version active"
        out = await self._run(cmd)
        info = parsers.parse_version(out)
        if info is None:
            raise VosCommandError(
                self.node,
                cmd,
                "printed no `Active Master Version:` line; check the output in the transcript.",
                out,
            )
        self.version = info.version or self.version
        return info

    async def show_network_cluster(self) -> list[parsers.ClusterNode]:
        """`show network cluster` (§1.10 [VERIFIED: Cisco doc/TAC sample])."""
        cmd = "show network cluster"
        out = await self._run(cmd)
        rows = parsers.parse_network_cluster(out)
        if not rows:
            raise VosCommandError(self.node, cmd, "listed no cluster nodes; check the output in the transcript.", out)
        return rows

    # -- web security

    async def show_web_security(self) -> parsers.WebSecurity:
        """`show web-security` (§1.2 [VERIFIED: S-CLI125-SHOW]; output assumed like `show cert own`, INFERRED)."""
        return parsers.parse_web_security(await self._run("show web-security"))

    async def set_web_security(
        self,
        orgunit: str,
        orgname: str,
        locality: str,
        state: str,
        country: str | None = None,
        alternatehostname: str | None = None,
        *,
        confirm: bool = False,
    ) -> str:
        """`set web-security orgunit orgname locality state [country] [alternatehostname]` (§1.2 [VERIFIED]).

        It regenerates a *self-signed* tomcat certificate, replacing a CA-signed one (§1.2
        [INFERRED] danger), so it runs only with `confirm=True`.
        """
        if not confirm:
            raise VosCommandError(
                self.node,
                "set web-security",
                "replaces the tomcat certificate with a self-signed one; pass confirm=True to run it.",
            )
        words = [orgunit, orgname, locality, state]
        if country is not None:
            words.append(country)
        if alternatehostname is not None:
            if country is None:
                raise ValueError("alternatehostname needs the country argument before it")
            words.append(alternatehostname)
        cmd = "set web-security " + " ".join(_quoted(w) for w in words)
        out = await self._run(cmd, idempotent=False, timeout=RESTART_TIMEOUT)
        _raise_on_error_words(self.node, cmd, out)
        return out

    # -- certificates

    async def list_certs(self, which: Literal["own", "trust"]) -> list[parsers.CertListEntry]:
        """`show cert list own|trust` (§1.5 [VERIFIED]; both output formats)."""
        if which not in ("own", "trust"):
            raise ValueError("which must be 'own' or 'trust'")
        return parsers.parse_cert_list(await self._run(f"show cert list {which}"))

    async def cert_own(self, unit: str) -> x509.Certificate:
        """`show cert own <unit>` (§1.6 [VERIFIED: C-getexp]); the certificate from its PEM block."""
        cmd = f"show cert own {_arg(unit, 'unit')}"
        out = await self._run(cmd)
        cert = parsers.parse_certificate(out)
        if cert is None:
            raise VosCommandError(
                self.node,
                cmd,
                f"printed no certificate; check that the unit {unit} exists on this node.",
                out,
            )
        return cert

    async def cert_trust(self, path: str) -> x509.Certificate:
        """`show cert trust <store>/<file>` (§1.6 [VERIFIED: S-CLI125-SHOW])."""
        cmd = f"show cert trust {_arg(path, 'trust certificate')}"
        out = await self._run(cmd)
        cert = parsers.parse_certificate(out)
        if cert is None:
            raise VosCommandError(
                self.node, cmd, "printed no certificate; check the name with `show cert list trust`.", out
            )
        return cert

    # -- CSRs

    async def generate_csr(self, unit: str, include_ou: bool = False) -> None:
        """`set csr gen <unit>`, answering `Include OU in CSR (yes|no)?` (§1.3 [VERIFIED: S-CLI125-SET, C-certgen]).

        A new CSR replaces the unit's outstanding CSR and key (§1.3 [VERIFIED: S-217138]).
        """
        cmd = f"set csr gen {_arg(unit, 'unit')}"
        out = await self._run(cmd, dialog=dlg.csr_gen_dialog(include_ou), idempotent=False)
        if not parsers.csr_generated(out):
            raise VosCommandError(
                self.node,
                cmd,
                f"did not report `Successfully Generated CSR for {unit}`; read its output in the transcript.",
                out,
            )

    async def csr_list(self) -> list[parsers.CsrListEntry]:
        """`show csr list own` (§1.4 [VERIFIED: S-CLI125-SHOW])."""
        return parsers.parse_csr_list(await self._run("show csr list own"))

    async def csr_own(self, unit: str) -> x509.CertificateSigningRequest | None:
        """`show csr own <unit>` (§1.4 [VERIFIED: C-certgen]); None when the node holds no CSR for it."""
        return parsers.parse_csr(await self._run(f"show csr own {_arg(unit, 'unit')}"))

    # -- imports

    async def import_own(self, unit: str, pem: str, ca_cert: str | None = None) -> str:
        """`set cert import own <unit> [caCert]` + paste (§1.7 [VERIFIED: S-CLI125-SET, C-certgen]).

        `ca_cert` names the CA file already in the trust store (e.g. `tomcat-trust/ca.pem`).
        Errors (§5.3) become :class:`VosImportError` with a code.
        """
        _no_private_key(pem)
        cmd = f"set cert import own {_arg(unit, 'unit')}"
        if ca_cert:
            cmd += f" {_arg(ca_cert, 'caCert')}"
        out = await self._run(cmd, dialog=dlg.paste_dialog(pem), idempotent=False)
        self._check_import(unit, out)
        return out

    async def import_trust(self, unit: str, pem: str) -> str:
        """`set cert import trust <unit>` + paste; `unit` is the service name, not `-trust` (§1.7 [VERIFIED])."""
        _no_private_key(pem)
        unit = catalog.trust_store_unit(unit)
        cmd = f"set cert import trust {_arg(unit, 'unit')}"
        out = await self._run(cmd, dialog=dlg.paste_dialog(pem), idempotent=False)
        self._check_import(unit, out)
        return out

    def _check_import(self, unit: str, out: str) -> None:
        code = parsers.import_error_code(out)
        if code is not None:
            raise VosImportError(code, _message_lines(out), node=self.node, unit=unit)
        if not parsers.import_succeeded(out):
            raise VosImportError("unknown", _message_lines(out) or "no confirmation printed", node=self.node, unit=unit)

    async def regen(self, unit: str, *, confirm: bool) -> None:
        """`set cert regen <unit>`, answering `Proceed with regeneration (yes|no)?` (§1.8 [VERIFIED: S-HCMF]).

        This replaces a CA-signed certificate with a self-signed one, so it needs `confirm=True`.
        """
        cmd = f"set cert regen {_arg(unit, 'unit')}"
        if not confirm:
            raise VosCommandError(
                self.node,
                cmd,
                "overwrites the CA-signed certificate with a self-signed one; pass confirm=True to run it.",
            )
        out = await self._run(cmd, dialog=dlg.regen_dialog(), idempotent=False, timeout=RESTART_TIMEOUT)
        if not parsers.regen_succeeded(out):
            raise VosCommandError(
                self.node,
                cmd,
                "did not report `Successfully regenerated certificate`; read its output in the transcript.",
                out,
            )

    # -- services

    async def service_list(self) -> list[parsers.ServiceState]:
        """`utils service list` (§1.9 [VERIFIED line formats])."""
        cmd = "utils service list"
        out = await self._run(cmd)
        services = parsers.parse_service_list(out)
        if not services:
            raise VosCommandError(self.node, cmd, "listed no services; check the output in the transcript.", out)
        return services

    async def restart_service(self, name: str, timeout: float = RESTART_TIMEOUT) -> parsers.RestartResult:
        """`utils service restart <name>` (§1.9 [VERIFIED: S-CLI125-UTILS]; name unquoted, with spaces).

        Success per §1.9 [VERIFIED: C-netSSL]: `[STARTED]`/`[RUNNING]`, or the prompt after `[STARTING]`.
        """
        if not re.match(r"^[A-Za-z0-9 ._()-]+$", name):
            raise ValueError(f"{name!r} is not a VOS service name")
        cmd = f"utils service restart {name}"
        out = await self._run(cmd, timeout=timeout, idempotent=False)
        result = parsers.parse_restart(name, out)
        if not result.ok:
            state = result.final_state or "no state"
            raise VosCommandError(
                self.node,
                cmd,
                f"ended with {state} instead of STARTED; check the service "
                "with `utils service list` and run the restart again.",
                out,
            )
        return result

    async def ha_status(self) -> list[parsers.HaStatus]:
        """`utils ha status` on IM and Presence (§1.10 [VERIFIED])."""
        cmd = "utils ha status"
        out = await self._run(cmd)
        status = parsers.parse_ha_status(out)
        if not status:
            raise VosCommandError(
                self.node, cmd, "printed no `Subcluster Name:`; is this an IM and Presence node?", out
            )
        return status


def _no_private_key(pem: str) -> None:
    """ucterm never sends a private key anywhere: a bundle that holds one is refused before typing it."""
    if "PRIVATE KEY" in pem:
        raise ValueError(
            "the text to paste contains a private key; paste only the certificate (ucterm never "
            "sends private keys to a node)"
        )


def _message_lines(out: str) -> str:
    """The node's own words, without the pasted PEM it echoed back."""
    kept: list[str] = []
    in_pem = False
    for line in out.split("\n"):
        if "-----BEGIN" in line:
            in_pem = True
        if not in_pem and line.strip() and not dlg.PASTE_RE.search(line):
            kept.append(line.strip())
        if "-----END" in line:
            in_pem = False
    return "\n".join(kept)


#: [INFERRED] words VOS uses in command failures (`Executed command unsuccessfully`, `Invalid ...`,
#: `Error ...`); used only for commands whose success text the reference does not give (§8 gaps).
_ERROR_WORDS_RE = re.compile(r"\b(?:error|invalid|unsuccessful(?:ly)?|failed|not allowed|cannot)\b", re.IGNORECASE)


def _raise_on_error_words(node: str, command: str, out: str) -> None:
    m = _ERROR_WORDS_RE.search(out)
    if m:
        line = next(ln for ln in out.split("\n") if m.group(0) in ln)
        raise VosCommandError(node, command, f"failed ({line.strip()}); read its output in the transcript.", out)
