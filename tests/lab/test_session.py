"""Login, banner, prompt, echo and the exec refusal, over real SSH (§1.1)."""

from __future__ import annotations

import asyncio
import re

import asyncssh
import pytest

from tests.lab.vosclient import PROMPT, VosClient, clean
from ucterm.lab import LabEstate


async def _connect(estate: LabEstate, fqdn: str, **kwargs: object) -> asyncssh.SSHClientConnection:
    options = {"username": "admin", "password": "ucterm-lab-os", "known_hosts": None, "client_keys": None,
               "agent_path": None, "config": None}
    options.update(kwargs)
    return await asyncssh.connect("127.0.0.1", estate.node(fqdn).ports["ssh"], **options)  # type: ignore[arg-type]


async def test_keyboard_interactive_login_on_every_node(estate: LabEstate) -> None:
    for node in estate.nodes:
        client = await VosClient.open(node, auth="keyboard-interactive")
        assert client.transcript.endswith("\x1b[Kadmin:")
        await client.close()


async def test_password_login_where_allowed(estate: LabEstate) -> None:
    client = await VosClient.open(estate.node("cucm14-pub"), auth="password")
    assert "admin:" in client.transcript
    await client.close()


async def test_cucm125_refuses_plain_password_but_takes_keyboard_interactive(estate: LabEstate) -> None:
    with pytest.raises(asyncssh.PermissionDenied):
        await _connect(estate, "cucm125-pub", preferred_auth="password")
    conn = await _connect(estate, "cucm125-pub", preferred_auth="keyboard-interactive")
    conn.close()


async def test_keyboard_interactive_challenge_is_password_prompt(estate: LabEstate) -> None:
    prompts: list[str] = []

    class Client(asyncssh.SSHClient):
        def kbdint_auth_requested(self) -> str:
            return ""

        def kbdint_challenge_received(self, name: str, instructions: str, lang: str,
                                      challenge: list[tuple[str, bool]]) -> list[str]:
            prompts.extend(p for p, _ in challenge)
            return ["ucterm-lab-os" for _ in challenge]

    conn = await _connect(estate, "cucm125-sub1", preferred_auth="keyboard-interactive", password=None,
                          client_factory=Client)
    conn.close()
    assert prompts == ["Password: "]


async def test_wrong_password_is_refused(estate: LabEstate) -> None:
    for auth in ("keyboard-interactive", "password"):
        with pytest.raises(asyncssh.PermissionDenied):
            await _connect(estate, "cucm14-sub1", password="wrong", preferred_auth=auth)
    with pytest.raises(asyncssh.PermissionDenied):
        await _connect(estate, "cucm14-sub1", username="root")


async def test_exec_channel_is_refused(estate: LabEstate) -> None:
    conn = await _connect(estate, "cucm14-pub")
    with pytest.raises(asyncssh.ChannelOpenError):
        await conn.run("show version active")
    with pytest.raises(asyncssh.ChannelOpenError):
        await conn.start_sftp_client()
    conn.close()


async def test_banner_then_prompt(estate: LabEstate) -> None:
    client = await VosClient.open(estate.node("cuc15-pub"))
    text = clean(client.transcript)
    starting = text.index("Command Line Interface is starting up, please wait ...")
    welcome = text.index("Welcome to the Platform Command Line Interface")
    assert starting < welcome < text.rindex("admin:")
    assert re.search(r"(?:[\r\n]|\x1b\[K)admin:\s*$", client.transcript)
    await client.close()


async def test_typed_input_is_echoed_and_crlf_is_one_enter(estate: LabEstate) -> None:
    client = await VosClient.open(estate.node("cucm14-pub"))
    client.send("show version active\r\n")
    out = await client.read_until(PROMPT)
    assert out.startswith("show version active\r\n")
    assert out.count("admin:") == 1  # \r\n did not produce a second, empty command
    client.send("shwo\x7f\x7fow version active\n")
    out = await client.read_until(PROMPT)
    assert "Active Master Version: 14.0.1.13900-155" in out
    await client.close()


async def test_exit_closes_the_session(estate: LabEstate) -> None:
    client = await VosClient.open(estate.node("cucm14-sub1"))
    client.send("exit\r")
    await asyncio.wait_for(client.proc.wait_closed(), 5)
    await client.close()


async def test_input_typed_during_the_banner_is_kept(fresh_estate: LabEstate) -> None:
    node = fresh_estate.node("cucm14-pub")
    node.faults.slow_banner(0.4)
    client = await VosClient.open(node, wait_prompt=False)
    client.send("show version active\r")
    await client.read_until(r"Active Master Version: \S+", 5)
    text = client.transcript
    # Typed before the prompt, echoed and run only once the CLI is ready (as a terminal buffers it).
    assert text.index("Welcome to the Platform") < text.index("admin:show version active") \
        < text.index("Active Master Version")
    await client.close()
