"""The estate scan against the hostile `admin:` shell: truthful rows, trust on first use said
aloud, and no scan of nothing reported as a clean one."""

from __future__ import annotations

import asyncio
import json
import os
import sys
from collections.abc import AsyncIterator
from pathlib import Path

import asyncssh
import pytest

from tests.hostile import sshd
from tests.hostile.certs import make_cert, pem
from tests.hostile.conftest import hostile_inventory
from ucterm.credentials import CredentialStore
from ucterm.inventory import load_inventory
from ucterm.scan import scan_estate
from ucterm.vos import hostkeys

HOST_KEY = asyncssh.generate_private_key("ssh-ed25519")
NODE = "hostile1.lab.example"
TOMCAT = make_cert("tomcat.hostile.example", 99, serial=99)
CALLMANAGER = make_cert("callmanager.hostile.example", 4, serial=4)


def vos_script(*, fake_prompt_in_tomcat: bool = False) -> sshd.Script:
    tomcat = sshd.certificate_output(pem(TOMCAT))
    if fake_prompt_in_tomcat:
        tomcat = sshd.interrupted(sshd.lines("  Description: renewed by the admin"), tomcat, pause=1.0)
    return sshd.Script(commands={
        "show version active": sshd.lines("Active Master Version: 12.5.1.16900-48",
                                          "Active Version Installed Software Options:",
                                          "No Installed Software Options Found."),
        "show cert list own": sshd.lines("tomcat/tomcat.pem: Certificate Signed by Hostile Test CA",
                                         "CallManager/CallManager.pem: Certificate Signed by Hostile Test CA"),
        "show cert list trust": sshd.lines(""),
        "show cert own tomcat": tomcat,
        "show cert own CallManager": sshd.certificate_output(pem(CALLMANAGER)),
    })


async def ucterm(*args: str) -> tuple[int, str, str]:
    """The real command line in a child process, without blocking the loop the hostile shell runs on."""
    proc = await asyncio.create_subprocess_exec(sys.executable, "-m", "ucterm", *args, stdin=asyncio.subprocess.DEVNULL,
                                                stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
                                                env={**os.environ, "NO_COLOR": "1"})
    out, err = await asyncio.wait_for(proc.communicate(), 120)
    assert proc.returncode is not None
    return proc.returncode, out.decode(), err.decode()


@pytest.fixture
async def server() -> AsyncIterator[tuple[sshd.Script, int]]:
    script = vos_script(fake_prompt_in_tomcat=True)
    acceptor = await sshd.start(script, HOST_KEY)
    try:
        yield script, sshd.port_of(acceptor)
    finally:
        acceptor.close()


async def test_a_fake_prompt_does_not_give_callmanager_tomcat_s_certificate(
        server: tuple[sshd.Script, int], tmp_path: Path) -> None:
    """The issue's scan: CallManager (4 days left) was reported with tomcat's 99 days."""
    _, port = server
    path = hostile_inventory(tmp_path, port)
    hostkeys.accept_host_key(tmp_path / "known_hosts", NODE, port, HOST_KEY, address="127.0.0.1")
    result = await scan_estate(load_inventory(path), CredentialStore(), probe=False)
    [node] = result.nodes
    assert node.state == "ok", node.error
    days = {c.unit: c.days_left for c in result.certificates if c.store == "own"}
    assert days == {"tomcat": 99, "CallManager": 4}


async def test_trust_on_first_use_is_said_and_recorded(server: tuple[sshd.Script, int], tmp_path: Path) -> None:
    _, port = server
    path = hostile_inventory(tmp_path, port, tofu=True)
    fingerprint = hostkeys.fingerprint(HOST_KEY)
    code, out, err = await ucterm("scan", "--inventory", str(path), "--json", "--no-probe")
    assert code == 2, err  # CallManager has 4 days left: critical
    [node] = json.loads(out)["nodes"]
    assert node["host_key_fingerprint"] == fingerprint and node["host_key_accepted"] is True
    assert f"{NODE}: accepted the unknown SSH host key {fingerprint} on first use" in err
    assert str(tmp_path / "known_hosts") in err
    # The second scan finds the key recorded: no acceptance to report, the fingerprint still shown.
    code, out, err = await ucterm("scan", "--inventory", str(path), "--json", "--no-probe")
    [node] = json.loads(out)["nodes"]
    assert node["host_key_fingerprint"] == fingerprint and node["host_key_accepted"] is False
    assert "accepted the unknown SSH host key" not in err


async def test_a_key_accepted_before_a_refused_login_is_still_reported(tmp_path: Path) -> None:
    script = vos_script()
    acceptor = await sshd.start(script, HOST_KEY)
    try:
        port = sshd.port_of(acceptor)
        path = hostile_inventory(tmp_path, port, tofu=True)
        os.environ["HOSTILE_OS_PASSWORD"] = "wrong"
        result = await scan_estate(load_inventory(path), CredentialStore(), probe=False)
    finally:
        acceptor.close()
    [node] = result.nodes
    assert node.state == "login-refused"
    assert node.host_key_accepted and node.host_key_fingerprint == hostkeys.fingerprint(HOST_KEY)


EMPTY = {
    "empty file": "",
    "only defaults": '[defaults]\nos_user = "admin"\n',
    "a cluster without nodes": '[[cluster]]\nname = "hq"\nproduct = "cucm"\n',
}


@pytest.mark.parametrize("case", sorted(EMPTY))
async def test_nothing_to_scan_is_exit_3_not_a_clean_scan(case: str, tmp_path: Path) -> None:
    path = tmp_path / "inventory.toml"
    path.write_text(EMPTY[case])
    path.chmod(0o600)
    for extra in ((), ("--json",)):
        code, out, err = await ucterm("scan", "--inventory", str(path), *extra)
        assert code == 3 and out == ""
        # The inventory itself refuses a cluster without nodes; the scan refuses no clusters at all.
        assert ("nothing to scan" in err or "no nodes" in err) and len(err.strip().splitlines()) == 1, err


@pytest.mark.parametrize("value", ["0", "-2"])
async def test_concurrency_below_one_is_refused(value: str, tmp_path: Path) -> None:
    path = hostile_inventory(tmp_path, 22)
    code, _, err = await ucterm("scan", "--inventory", str(path), "--concurrency", value)
    assert code == 3
    assert f"--concurrency is {value}" in err
