"""Which channel of a node, the SSH CLI or the certmgr REST API, does an operation: one pure rule.

The scan (through :meth:`ucterm.vos.session.NodeSession.transport_for`) and the renewal plan
(:func:`ucterm.renewal.plan.build_plan`) both ask :func:`choose`, so a node is never read one way
by the scan and planned another way by the renewal. The facts come from the catalog, each with its
source there: restarts go over SSH (§4.2: Tomcat and DRF are non-deployable in Control Center),
certmgr REST exists from release 14 (§4.1), `set csr gen` cannot make a multi-server CSR (§1.3),
and 14SU2+ refuses a multi-SAN identity upload over the CLI (§1.7).

Pure and cheap to import (no asyncssh, no httpx): the plan and the TUI's form load it at start-up.
"""

from __future__ import annotations

from typing import Literal

from ucterm import catalog
from ucterm.vos.errors import UnsupportedOperation

__all__ = ["Channel", "Operation", "Setting", "choose"]

#: A node's two ways of doing certificate work.
Channel = Literal["cli", "rest"]
#: The inventory's `transport` setting: `auto` = REST where the release has it, else the CLI.
Setting = Literal["auto", "cli", "rest"]
#: What is to be done, for choosing its channel.
Operation = Literal["read", "csr", "csr-multi", "import-own", "import-own-multi", "import-trust", "restart", "discover"]


def _needs_rest(operation: Operation, version: catalog.Version | None) -> bool:
    """Whether only REST can do it. An unknown release counts as 14SU2+ for a multi-SAN upload: the
    CLI may refuse it there, and the multi-server CSR it belongs to was made over REST anyway."""
    if operation == "csr-multi":
        return not catalog.cli_generates_multi_server_csr()
    if operation == "import-own-multi":
        return version is None or catalog.identity_upload_needs_rest(version, multi_server=True)
    return False


def choose(operation: Operation, version: catalog.Version | None, setting: str, *,
           node: str = "the node", cluster: str = "") -> Channel:
    """`cli` or `rest` for `operation` on a node running `version` (None: not known yet) under the
    cluster's `transport` setting; :class:`UnsupportedOperation` (one sentence naming `node` and the
    fix) when neither fits.

    - a restart always goes over SSH;
    - what only REST can do goes over REST unless the release is known to lack it (before 14) or
      the setting says `cli`;
    - `cli` is the CLI; `rest` is REST, refused on a release known to lack it; on an unknown release
      a read goes over the CLI (every release has it; the read learns the release), the rest over
      REST as the user asked (a renewal's preflight checks the release before anything changes);
    - `auto` is REST on a release known to have it (v14+), except discovery; else the CLI.
    """
    rest_ok = catalog.rest_api_available(version)
    known_without_rest = version is not None and not rest_ok
    release = version.label if version is not None else "unknown release"
    if operation == "restart":
        return "cli"
    if _needs_rest(operation, version):
        if known_without_rest:
            raise UnsupportedOperation(
                f"{node}: {operation} needs the certificate REST API, which exists from release 14 only "
                f"(this node: {release}); use the OS Admin GUI.", node=node)
        if setting == "cli":
            where = f' for cluster "{cluster}"' if cluster else ""
            raise UnsupportedOperation(
                f'{node}: {operation} cannot be done over the CLI on this release, but transport = "cli"'
                f'{where}; set transport = "auto" or "rest".', node=node)
        return "rest"
    if setting == "cli":
        return "cli"
    if setting == "rest":
        if known_without_rest:
            raise UnsupportedOperation(
                f'{node}: transport = "rest" but the REST API exists from release 14 only (this node: '
                f'{release}); set transport = "auto" or "cli".', node=node)
        return "cli" if version is None and operation == "read" else "rest"
    return "rest" if rest_ok and operation != "discover" else "cli"
