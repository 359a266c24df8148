"""NodeTarget from the inventory, transport choice, the estate limiter, and small command guards."""

from __future__ import annotations

import asyncio
from dataclasses import replace

import pytest

from tests.vos.certs import make_cert, pem, private_key_pem
from ucterm import catalog
from ucterm.credentials import CredentialStore
from ucterm.inventory import parse_inventory
from ucterm.vos import ConnectionLimiter, NodeSession, NodeTarget
from ucterm.vos import dialog as dlg
from ucterm.vos.commands import VosCli
from ucterm.vos.errors import UnsupportedOperation, VosImportError

INVENTORY = """
[defaults]
os_user = "admin"
os_password = "env:UCTERM_TEST_PW"
transport = "auto"

[[cluster]]
name = "hq"
product = "cucm"
version = "14.0.1.13900-155"
[[cluster.node]]
fqdn = "cucm-pub.hq.example.com"
address = "127.0.0.5"
role = "publisher"
ports = { ssh = 2222 }

[[cluster]]
name = "old"
product = "cucm"
version = "12.5.1.16900-48"
transport = "cli"
[[cluster.node]]
fqdn = "old-pub.example.com"
role = "publisher"
"""


def _targets() -> tuple[NodeTarget, NodeTarget]:
    inv = parse_inventory(INVENTORY)
    (c1, n1), (c2, n2) = list(inv.nodes())
    return NodeTarget.from_inventory(c1, n1), NodeTarget.from_inventory(c2, n2)


def test_target_from_inventory() -> None:
    hq, old = _targets()
    assert (hq.cluster, hq.product, hq.fqdn, hq.address, hq.role) == (
        "hq",
        "cucm",
        "cucm-pub.hq.example.com",
        "127.0.0.5",
        "publisher",
    )
    assert hq.port("ssh") == 2222 and hq.port("https") == 8443 and hq.port("rest") == 443
    assert hq.version is not None and hq.version.at_least(14, 0, 3)
    assert old.address == "old-pub.example.com" and old.settings.transport == "cli"
    assert len({hq, old}) == 2


def _session(t: NodeTarget, version: str | None = None, transport: str | None = None) -> NodeSession:
    if version is not None:
        t = replace(t, version=catalog.parse_version(version))
    if transport is not None:
        t = replace(t, settings=replace(t.settings, transport=transport))
    return NodeSession(t, CredentialStore())


def test_transport_choice() -> None:
    hq, old = _targets()
    s = _session(hq)
    assert s.transport_for("restart") == "cli"
    assert s.transport_for("discover") == "cli"
    assert s.transport_for("read") == "rest" and s.transport_for("csr") == "rest"
    assert s.transport_for("csr-multi") == "rest"
    assert s.transport_for("import-own-multi") == "rest"  # 14SU3: CLI refuses multi-SAN (§1.7)
    assert _session(hq, transport="cli").transport_for("import-own") == "cli"
    with pytest.raises(UnsupportedOperation, match='transport = "cli"'):
        _session(hq, transport="cli").transport_for("import-own-multi")
    assert _session(hq, version="14.0.1.10000-1", transport="cli").transport_for("import-own-multi") == "cli"
    o = _session(old)
    assert o.transport_for("read") == "cli" and o.rest is None
    with pytest.raises(UnsupportedOperation, match="release 14"):
        o.transport_for("csr-multi")
    with pytest.raises(UnsupportedOperation, match='transport = "rest"'):
        _session(old, transport="rest").transport_for("read")
    assert _session(old, transport="auto").transport_for("import-own-multi") == "cli"  # 12.5 accepts it
    unknown = NodeSession(replace(hq, version=None), CredentialStore())
    assert unknown.transport_for("read") == "cli"  # unknown release: the CLI always works


def test_credentials_resolve_lazily(monkeypatch: pytest.MonkeyPatch) -> None:
    hq, _ = _targets()
    s = NodeSession(hq, CredentialStore())  # no env var yet: building the session must not fail
    monkeypatch.setenv("UCTERM_TEST_PW", "pw-from-env")
    assert s._os_password().reveal() == "pw-from-env"


async def test_limiter_bounds_concurrency() -> None:
    limiter = ConnectionLimiter(3)

    async def work() -> None:
        async with limiter.slot():
            assert limiter.in_use <= 3
            await asyncio.sleep(0.01)

    await asyncio.gather(*(work() for _ in range(20)))
    assert limiter.peak == 3 and limiter.in_use == 0
    with pytest.raises(ValueError):
        ConnectionLimiter(0)


class _RecordingShell:
    node = "n1.example.com"

    def __init__(self, output: str) -> None:
        self.output = output
        self.commands: list[tuple[str, dlg.Dialog]] = []

    async def run(
        self, command: str, *, dialog: dlg.Dialog = dlg.NO_DIALOG, timeout: float | None = None, idempotent: bool = True
    ) -> str:
        self.commands.append((command, dialog))
        return self.output


async def test_import_refuses_private_keys_and_odd_names() -> None:
    shell = _RecordingShell("Successfully imported certificate for tomcat.")
    cli = VosCli(shell)
    with pytest.raises(ValueError, match="private key"):
        await cli.import_own("tomcat", pem(make_cert()) + private_key_pem())
    with pytest.raises(ValueError, match="unit"):
        await cli.cert_own("tomcat; rm")
    assert shell.commands == []
    await cli.import_trust("tomcat-trust", pem(make_cert()))
    assert shell.commands[0][0] == "set cert import trust tomcat"  # the unit, not the store (§1.7)
    await cli.import_own("tomcat", pem(make_cert()), ca_cert="tomcat-trust/ca.pem")
    assert shell.commands[1][0] == "set cert import own tomcat tomcat-trust/ca.pem"


async def test_import_without_confirmation_is_an_error() -> None:
    cli = VosCli(_RecordingShell("Executed command unsuccessfully"))
    with pytest.raises(VosImportError) as info:
        await cli.import_own("tomcat", pem(make_cert()))
    assert info.value.code == "unknown" and "Executed command unsuccessfully" in str(info.value)


async def test_restart_name_with_spaces_is_sent_unquoted() -> None:
    shell = _RecordingShell("Cisco XCP Router[STARTING]\nCisco XCP Router[STARTED]\n")
    result = await VosCli(shell).restart_service("Cisco XCP Router")
    assert shell.commands[0][0] == "utils service restart Cisco XCP Router" and result.saw_started
