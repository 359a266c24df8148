"""`ucterm lab` in the foreground: prints where it listens, writes the inventory, stops cleanly on a signal."""

from __future__ import annotations

import asyncio
import re
import signal
import sys
from pathlib import Path

import pytest

from tests.lab.vosclient import VosClient
from ucterm.cli.lab import listing
from ucterm.inventory import load_inventory

ROOT = Path(__file__).resolve().parents[2]


async def _start(*argv: str) -> asyncio.subprocess.Process:
    return await asyncio.create_subprocess_exec(sys.executable, "-m", "ucterm", "lab", *argv, cwd=ROOT,
                                                stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE)


async def _read_listing(proc: asyncio.subprocess.Process) -> list[str]:
    assert proc.stdout is not None
    lines: list[str] = []
    while not lines or lines[-1] != "Press Ctrl+C to stop.":
        line = await asyncio.wait_for(proc.stdout.readline(), 20)
        assert line, "the lab exited before it listed its nodes"
        lines.append(line.decode().rstrip("\n"))
    return lines


@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGTERM])
async def test_lab_runs_until_a_signal(tmp_path: Path, sig: signal.Signals) -> None:
    inventory_path = tmp_path / "inventory.toml"
    proc = await _start("--profile", "fast", "--write-inventory", str(inventory_path))
    try:
        lines = await _read_listing(proc)
        assert lines[0] == "ucterm lab: 9 nodes on 127.0.0.1 (profile fast)"
        rows = [line for line in lines if line.startswith("  ")]
        assert len(rows) == 9
        assert all(re.search(r"ssh 127\.0\.0\.1:\d+ +https 127\.0\.0\.1:\d+", row) for row in rows)
        assert f"inventory: {inventory_path} (known_hosts and lab-ca.pem beside it)" in lines
        inventory = load_inventory(inventory_path)
        _, node = next(iter(inventory.nodes()))
        assert f"ssh 127.0.0.1:{node.ports['ssh']}" in next(r for r in rows if node.fqdn in r)

        class Target:  # just enough of a LabNode for the client helper
            ports = node.ports

        client = await VosClient.open(Target())  # type: ignore[arg-type]
        assert "Active Master Version" in await client.run("show version active")
        await client.close()
        proc.send_signal(sig)
        assert await asyncio.wait_for(proc.wait(), 10) == 0
        assert proc.stderr is not None
        assert b"ucterm lab: stopped." in await proc.stderr.read()
    finally:
        if proc.returncode is None:
            proc.kill()
            await proc.wait()


async def test_unwritable_inventory_is_one_sentence(tmp_path: Path) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("")
    proc = await _start("--profile", "fast", "--write-inventory", str(blocker / "inventory.toml"))
    _, err = await asyncio.wait_for(proc.communicate(), 20)
    assert proc.returncode == 2
    text = err.decode()
    assert text.startswith("ucterm lab: ") and "Traceback" not in text and len(text.strip().splitlines()) == 1


def test_main_rejects_unknown_profiles(capsys: pytest.CaptureFixture[str]) -> None:
    from ucterm.cli import main

    with pytest.raises(SystemExit) as info:
        main(["lab", "--profile", "slow"])
    assert info.value.code == 2
    assert "invalid choice: 'slow'" in capsys.readouterr().err


def test_the_command_line_offers_every_profile() -> None:
    """The parser names the profiles itself (importing the lab to parse arguments would be slow)."""
    from ucterm.cli import build_parser
    from ucterm.lab import PROFILES

    for name in PROFILES:
        assert build_parser().parse_args(["lab", "--profile", name]).profile == name


def test_listing_names_every_port() -> None:
    from tests.lab.vosclient import NOW
    from ucterm.lab import LabEstate

    lab = LabEstate.demo(profile="fast", now=NOW)
    for node in lab.nodes:
        node.ports = {name: 40000 + i for i, name in enumerate(node.port_names)}
        node.ports["rest"] = node.ports["https"]
    text = listing(lab, None)
    assert "imp14-pub.lab.example" in text and "xmpp_s2s 127.0.0.1:40005" in text
    assert "rest 127.0.0.1" not in text  # rest is the https port
