"""The one transport rule (ucterm.vos.transport.choose): pure, asked by the scan and by the plan."""

from __future__ import annotations

import pytest

from ucterm import catalog
from ucterm.vos.errors import UnsupportedOperation
from ucterm.vos.transport import choose

V14SU3 = catalog.parse_version("14.0.1.13900-155")
V14 = catalog.parse_version("14.0.1.10000-1")
V125 = catalog.parse_version("12.5.1.14900-63")


@pytest.mark.parametrize(("operation", "version", "setting", "channel"), [
    ("restart", V14SU3, "rest", "cli"),             # §4.2: restarts over SSH, whatever the setting
    ("discover", V14SU3, "auto", "cli"),
    ("read", V14SU3, "auto", "rest"),               # §4.1: certmgr from 14
    ("read", V125, "auto", "cli"),
    ("read", None, "auto", "cli"),                  # unknown release: the CLI every release has
    ("read", None, "rest", "cli"),                  # … a read learns the release first
    ("csr", None, "rest", "rest"),                  # the user asked; the preflight checks the release
    ("csr", None, "auto", "cli"),
    ("csr", V14, "cli", "cli"),
    ("csr-multi", None, "auto", "rest"),            # §1.3: `set csr gen` makes no multi-server CSR
    ("import-own-multi", V14SU3, "auto", "rest"),   # §1.7: 14SU2+ refuses multi-SAN over the CLI
    ("import-own-multi", V14, "cli", "cli"),        # 14SU1 still takes it
    ("import-own-multi", V125, "auto", "cli"),
    ("import-own-multi", None, "auto", "rest"),     # unknown: may be 14SU2+, and its CSR came over REST
    ("import-own", V14SU3, "cli", "cli"),
])
def test_choice(operation: str, version: catalog.Version | None, setting: str, channel: str) -> None:
    assert choose(operation, version, setting) == channel  # type: ignore[arg-type]


@pytest.mark.parametrize(("operation", "version", "setting", "words"), [
    ("csr-multi", V125, "auto", "release 14"),
    ("import-own-multi", V14SU3, "cli", 'transport = "cli" for cluster "hq"'),
    ("read", V125, "rest", 'transport = "rest"'),
    ("csr", V125, "rest", 'set transport = "auto" or "cli"'),
])
def test_refusals_name_the_node_and_the_fix(operation: str, version: catalog.Version | None, setting: str,
                                            words: str) -> None:
    with pytest.raises(UnsupportedOperation, match=words) as caught:
        choose(operation, version, setting, node="cucm-pub.hq.example.com", cluster="hq")  # type: ignore[arg-type]
    assert str(caught.value).startswith("cucm-pub.hq.example.com: ")


def test_importing_it_loads_no_transport_library() -> None:
    """The plan and the TUI's form use it at start-up: asyncssh and httpx stay unloaded."""
    import subprocess
    import sys

    code = ("import sys, ucterm.vos.transport, ucterm.renewal.plan; "
            "print(sorted(m for m in ('asyncssh', 'httpx') if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]"
