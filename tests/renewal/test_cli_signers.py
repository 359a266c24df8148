"""`ucterm renew --signer` / `resume` as separate processes against the lab and a real ACME CA.

One test kills `ucterm renew` with SIGKILL in the middle of an ACME order (while its DNS check
hook runs) and finishes with `ucterm resume`: the same order, the killed node's TXT record set
once (another node's, whose order runs beside it, at most once more with the same value, if the
kill came between its hook and the journal), one finalisation. Another compares the whole renewal
with the lab's AD CS signer against the same renewal with `--lab-ca` (the times are printed;
pytest -s shows them).
"""

from __future__ import annotations

import asyncio
import json
import os
import signal
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

from tests.signers import servers
from ucterm.renewal import Journal, list_jobs

if TYPE_CHECKING:
    from .conftest import LabRig


async def ucterm(lab: LabRig, *args: str, timeout: float = 90) -> tuple[int, str, str, float]:
    started = time.monotonic()
    proc = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "ucterm", "--inventory", str(lab.inventory_path), *args,
        stdin=asyncio.subprocess.DEVNULL, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
        env={**os.environ, "NO_COLOR": "1"})
    try:
        out, err = await asyncio.wait_for(proc.communicate(), timeout)
    except TimeoutError:
        proc.kill()
        out, err = await proc.communicate()
        raise AssertionError(f"ucterm {' '.join(args)} did not finish in {timeout:g} s:\n{err.decode()[-3000:]}") \
            from None
    return proc.returncode or 0, out.decode(), err.decode(), time.monotonic() - started


@pytest.fixture(scope="module")
def acme(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[servers.Pebble, servers.Challtestsrv]]:
    folder = tmp_path_factory.mktemp("pebble-cli")
    with servers.challtestsrv(folder) as dns, servers.pebble(folder, dns.dns_port) as ca:
        yield ca, dns


SET_HOOK = """
import json, sys, urllib.request
url, name, value, log = sys.argv[1:5]
with open(log, "a") as fh:
    fh.write(f"set {name} {value}\\n")
body = json.dumps({"host": name + ".", "value": value}).encode()
opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
opener.open(urllib.request.Request(url + "/set-txt", data=body, method="POST"), timeout=10).read()
"""

CHECK_HOOK = """
import pathlib, sys, time
name, folder = sys.argv[1], pathlib.Path(sys.argv[2])
(folder / f"checking-{name}").write_text("")
deadline = time.monotonic() + 60
while not (folder / "release").exists() and time.monotonic() < deadline:
    time.sleep(0.05)
"""


def _toml_list(items: list[str]) -> str:
    return "[" + ", ".join(json.dumps(i) for i in items) + "]"


async def test_kill_mid_order_then_resume_finishes_the_same_order(lab: LabRig, tmp_path: Path,
                                                                  acme: tuple[servers.Pebble, servers.Challtestsrv]
                                                                  ) -> None:
    ca, dns = acme
    (tmp_path / "set.py").write_text(SET_HOOK)
    (tmp_path / "check.py").write_text(CHECK_HOOK)
    (tmp_path / "roots.pem").write_text(ca.root_pem())
    log = tmp_path / "hook.log"
    set_argv = [sys.executable, str(tmp_path / "set.py"), dns.management, "{name}", "{value}", str(log)]
    check_argv = [sys.executable, str(tmp_path / "check.py"), "{name}", str(tmp_path)]
    with lab.inventory_path.open("a") as fh:
        fh.write(f'''
[[signer]]
name = "pebble"
kind = "acme"
directory = "{ca.directory}"
email = "uc-admins@lab.example"
dns = {{ kind = "command", set = {_toml_list(set_argv)}, check = {_toml_list(check_argv)} }}
roots = "{tmp_path / 'roots.pem'}"
ca_bundle = "{ca.ca_bundle}"
timeout = 60
''')
    proc = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "ucterm", "--inventory", str(lab.inventory_path), "renew", "--cluster", "voicemail",
        "--unit", "tomcat", "--signer", "pebble", "--yes", stdin=asyncio.subprocess.DEVNULL,
        stdout=asyncio.subprocess.DEVNULL, stderr=asyncio.subprocess.PIPE, env={**os.environ, "NO_COLOR": "1"})
    first = "_acme-challenge.cuc15-pub.lab.example"
    deadline = time.monotonic() + 60
    while not (tmp_path / f"checking-{first}").exists():
        assert proc.returncode is None and time.monotonic() < deadline, "the check hook never ran"
        await asyncio.sleep(0.05)
    proc.send_signal(signal.SIGKILL)  # mid-order: created, TXT set, not yet answered
    await proc.wait()
    (tmp_path / "release").write_text("")
    [summary] = list_jobs()
    killed = Journal.open(summary.job)
    order = killed.steps["obtain_signed:cuc15-pub.lab.example"].intents["sign"]["order"]
    assert order and killed.steps["obtain_signed:cuc15-pub.lab.example"].state == "running"

    code, out, err, _ = await ucterm(lab, "resume", summary.job, "--yes", "--json")
    assert code == 0, err
    assert json.loads(out)["state"] == "done"
    job = Journal.open(summary.job)
    orders = [r["data"].get("order") for r in job.records()
              if r.get("type") == "intent" and r.get("step") == "obtain_signed:cuc15-pub.lab.example"]
    assert {o for o in orders if o} == {order}  # never a second order
    assert job.steps["obtain_signed:cuc15-pub.lab.example"].done["sign"]["order"] == order
    for node in ("cuc15-pub", "cuc15-sub"):  # never a second order for either node
        node_orders = {r["data"].get("order") for r in job.records() if r.get("type") == "intent"
                       and r.get("step") == f"obtain_signed:{node}.lab.example"} - {None}
        assert len(node_orders) == 1, node_orders
    sets = [line.split() for line in log.read_text().splitlines()]
    assert sum(1 for s in sets if s[1] == first) == 1  # the killed node's record, never set again
    # The other node's order ran beside it: its record may have been set once more, never with another value.
    assert {s[1] for s in sets} == {first, "_acme-challenge.cuc15-sub.lab.example"}
    assert all(len({s[2] for s in sets if s[1] == name}) == 1 for name in {s[1] for s in sets})
    finalised = [r for r in job.records() if r.get("type") == "event" and "finalizing order" in
                 json.dumps(r.get("event")) and "cuc15-pub" in json.dumps(r.get("event"))]
    assert len(finalised) == 1
    assert "Traceback" not in err


async def test_whole_renewal_with_the_lab_adcs_signer_against_lab_ca(lab: LabRig) -> None:
    code, out, err, with_signer = await ucterm(lab, "renew", "--cluster", "voicemail", "--unit", "tomcat",
                                               "--signer", "corp-adcs", "--yes", "--json")
    assert code == 0, err
    assert json.loads(out)["state"] == "done" and "ucterm-lab-adcs" not in out + err
    assert 'signer "corp-adcs" (AD CS 127.0.0.1): request' in err
    code, out, err, with_lab = await ucterm(lab, "renew", "--cluster", "voicemail", "--unit", "tomcat", "--lab-ca",
                                            "--yes", "--json")
    assert code == 0, err
    print(f"\nwhole renewal (voicemail tomcat, 2 nodes): --signer corp-adcs {with_signer:.2f} s, "
          f"--lab-ca {with_lab:.2f} s", file=sys.stderr)


async def test_signer_flag_refusals_are_one_sentence(lab: LabRig) -> None:
    code, _, err, _ = await ucterm(lab, "renew", "--cluster", "voicemail", "--unit", "tomcat", "--signer", "nope",
                                   "--yes")
    assert code == 3 and 'no [[signer]] named "nope"' in err and "corp-adcs" in err and "Traceback" not in err
    code, _, err, _ = await ucterm(lab, "renew", "--cluster", "voicemail", "--unit", "tomcat", "--signer",
                                   "corp-adcs", "--lab-ca", "--yes")
    assert code == 2 and "not both" in err
