"""The estate scan against the hostile `admin:` shell: truthful rows, trust on first use said
aloud, and no scan of nothing reported as a clean one."""

from __future__ import annotations

import asyncio
import os
import sys
from collections.abc import AsyncIterator
from pathlib import Path

import asyncssh
import pytest

from tests.hostile import sshd
from tests.hostile.certs import make_cert, pem
from tests.hostile.conftest import hostile_inventory

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
