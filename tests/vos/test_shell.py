"""Shell driver mechanics against the scripted fake (tests/vos/fakevos.py) over real loopback SSH."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path

import asyncssh
import pytest

from tests.vos import fakevos
from ucterm.credentials import Secret
from ucterm.events import Event, NodeNotice, TranscriptLine
from ucterm.vos import dialog as dlg
from ucterm.vos import hostkeys
from ucterm.vos.errors import (
    BannerTimeout,
    CommandTimeout,
    HostKeyChanged,
    HostKeyUnknown,
    LoginRefused,
    SessionDropped,
    VosCommandError,
)
from ucterm.vos.shell import ShellOptions, SshEndpoint, VosShell

HOST_KEY = asyncssh.generate_private_key("ssh-ed25519")
OTHER_KEY = asyncssh.generate_private_key("ssh-ed25519")
NODE = "fake1.lab.example"


async def _pager_more(p: asyncssh.SSHServerProcess) -> None:
    p.stdout.write(
        "\r\nline 1\r\nline 2\r\n" + "\x1b[1mPress <enter> for 1 line, <space> for one page, or <q> to quit\x1b[0m"
    )
    key = await fakevos.read_key(p)
    p.stdout.write(f"\r\x1b[Kline 3 after {key!r}\r\n")


async def _pager_less(p: asyncssh.SSHServerProcess) -> None:
    p.stdout.write("a\r\nb\r\n\x1b[1m\r\noptions: q=quit, n=next, p=prev, b=begin, e=end (lines 1 - 2 of 3) : \x1b[0m")
    key = await fakevos.read_key(p)
    p.stdout.write(f"\r\nc {key}\r\n")


async def _question(p: asyncssh.SSHServerProcess) -> None:
    p.stdout.write("Do something dangerous (yes|no)? ")
    try:
        await p.stdin.readline()
        p.stdout.write("done it\r\n")
    except asyncssh.BreakReceived:
        p.stdout.write("^C\r\n")


async def _ou(p: asyncssh.SSHServerProcess) -> None:
    p.stdout.write("Include OU in CSR (yes|no)? ")
    answer = (await p.stdin.readline()).strip()
    p.stdout.write(f"answer={answer}\r\nSuccessfully Generated CSR for tomcat.\r\n")


async def _hang(p: asyncssh.SSHServerProcess) -> None:
    await asyncio.sleep(30)


async def _drop(p: asyncssh.SSHServerProcess) -> None:
    p.stdout.write("partial output\r\n")
    await asyncio.sleep(0.05)
    p.channel.get_connection().abort()


async def _ok(p: asyncssh.SSHServerProcess) -> None:
    p.stdout.write("Active Master Version: 14.0.1.13900-155\r\n")


class Harness:
    def __init__(self, cfg: fakevos.FakeConfig, server: asyncssh.SSHAcceptor, tmp: Path) -> None:
        self.cfg = cfg
        self.server = server
        self.port = fakevos.port_of(server)
        self.known_hosts = tmp / "known_hosts"
        self.events: list[Event] = []

    def shell(self, *, tofu: bool = False, password: str | None = None, **opts: float) -> VosShell:
        ep = SshEndpoint(
            node=NODE,
            address="127.0.0.1",
            port=self.port,
            username="admin",
            known_hosts=self.known_hosts,
            trust_on_first_use=tofu,
        )
        secret = Secret(password or self.cfg.password)
        options = ShellOptions(**{"banner_timeout": 10.0, "command_timeout": 5.0, "nudge_after": 0.3, **opts})
        return VosShell(ep, lambda: secret, options=options, sink=self.events.append)

    def trust(self) -> None:
        hostkeys.accept_host_key(self.known_hosts, NODE, self.port, HOST_KEY, address="127.0.0.1")

    def transcript(self) -> list[str]:
        return [e.text for e in self.events if isinstance(e, TranscriptLine)]


@pytest.fixture
async def fake(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[Harness]:
    marker = request.node.get_closest_marker("fake")
    kwargs = dict(marker.kwargs) if marker else {}
    cfg = fakevos.FakeConfig(**kwargs)
    cfg.commands.update(
        {
            "show pager": _pager_more,
            "show less": _pager_less,
            "ask": _question,
            "set csr gen tomcat": _ou,
            "hang": _hang,
            "drop": _drop,
            "show version active": _ok,
        }
    )
    server = await fakevos.start(cfg, HOST_KEY)
    try:
        yield Harness(cfg, server, tmp_path)
    finally:
        server.close()
        await server.wait_closed()


async def test_unknown_host_key_is_refused_with_fingerprint(fake: Harness) -> None:
    shell = fake.shell()
    with pytest.raises(HostKeyUnknown) as info:
        await shell.run("show version active")
    assert info.value.fingerprint_sha256 == HOST_KEY.get_fingerprint("sha256")
    assert "trust_on_first_use" in str(info.value) and info.value.port == fake.port
    # Accepting it (what the TUI action does) makes the next login work.
    hostkeys.accept_host_key(
        fake.known_hosts, info.value.host, info.value.port, info.value.key, address=info.value.address
    )
    assert "14.0.1" in await shell.run("show version active")
    await shell.close()


async def test_trust_on_first_use_records_the_key(fake: Harness) -> None:
    shell = fake.shell(tofu=True)
    await shell.run("show version active")
    await shell.close()
    assert hostkeys.check(fake.known_hosts, NODE, fake.port, HOST_KEY).verdict == "trusted"
    assert any(isinstance(e, NodeNotice) and "trust_on_first_use" in e.message for e in fake.events)


async def test_changed_host_key_is_always_refused(fake: Harness) -> None:
    hostkeys.accept_host_key(fake.known_hosts, NODE, fake.port, OTHER_KEY)
    with pytest.raises(HostKeyChanged, match="changed"):
        await fake.shell(tofu=True).run("show version active")
    with pytest.raises(HostKeyChanged):
        hostkeys.accept_host_key(fake.known_hosts, NODE, fake.port, HOST_KEY)


@pytest.mark.fake(auth="kbdint")
async def test_keyboard_interactive_only_login(fake: Harness) -> None:
    fake.trust()
    shell = fake.shell()
    assert "Active Master Version" in await shell.run("show version active")
    assert shell.auth_method == "keyboard-interactive"
    await shell.close()
    assert all(fake.cfg.password not in line for line in fake.transcript())


async def test_password_login_and_wrong_password(fake: Harness) -> None:
    fake.trust()
    shell = fake.shell()
    await shell.run("show version active")
    assert shell.auth_method == "password" and shell.pagination_off
    await shell.close()
    with pytest.raises(LoginRefused):
        await fake.shell(password="wrong").run("show version active")


async def test_pagers_are_answered_and_removed(fake: Harness) -> None:
    fake.trust()
    shell = fake.shell()
    out = await shell.run("show pager")
    assert out.split("\n") == ["line 1", "line 2", "line 3 after ' '"]
    out = await shell.run("show less")
    assert out.split("\n") == ["a", "b", "c n"]  # `n`ext: not yet the last page (unicon's paginate)
    await shell.close()


async def test_dialog_answers_only_its_question(fake: Harness) -> None:
    fake.trust()
    shell = fake.shell()
    out = await shell.run("set csr gen tomcat", dialog=dlg.csr_gen_dialog(include_ou=False))
    assert "answer=no" in out and "Successfully Generated CSR" in out
    with pytest.raises(VosCommandError, match=r"Do something dangerous \(yes\|no\)\?"):
        await shell.run("ask")
    # The session is still usable after the Ctrl+C.
    assert "Active Master" in await shell.run("show version active")
    await shell.close()
    assert "<Ctrl+C>" in fake.transcript()


@pytest.mark.fake(prompt_needs_nudge=True, banner_delay=0.1)
async def test_banner_without_prompt_gets_a_nudge(fake: Harness) -> None:
    fake.trust()
    shell = fake.shell()
    assert "Active Master" in await shell.run("show version active")
    assert any("nudging" in line for line in fake.transcript())
    await shell.close()


@pytest.mark.fake(banner_delay=3.0)
async def test_banner_timeout(fake: Harness) -> None:
    fake.trust()
    with pytest.raises(BannerTimeout, match="banner_timeout"):
        await fake.shell(banner_timeout=0.5, nudge_after=10).run("show version active")


async def test_hung_command_hits_its_timeout_and_next_command_reconnects(fake: Harness) -> None:
    fake.trust()
    shell = fake.shell()
    with pytest.raises(CommandTimeout, match="hang"):
        await shell.run("hang", timeout=0.5)
    assert "Active Master" in await shell.run("show version active")
    assert shell.connect_count == 2
    await shell.close()


async def test_drop_during_a_read_only_command_reconnects_and_retries(fake: Harness) -> None:
    fake.trust()
    shell = fake.shell()
    await shell.run("show version active")
    with pytest.raises(SessionDropped, match="outcome is unknown"):
        await shell.run("drop", idempotent=False)
    fake.cfg.commands["drop"] = _ok  # the node is back and the command now works
    fake.events.clear()
    assert "Active Master" in await shell.run("drop")
    assert any(isinstance(e, NodeNotice) and "reconnect" in e.message for e in fake.events)
    await shell.close()


async def test_legacy_algorithms_are_offered_after_modern_ones() -> None:
    from ucterm.vos import shell as sh

    assert sh.KEX_ALGS.index("diffie-hellman-group1-sha1") > sh.KEX_ALGS.index("curve25519-sha256")
    assert "aes128-cbc" in sh.ENCRYPTION_ALGS[-4:] and "hmac-sha1-96" in sh.MAC_ALGS


@pytest.mark.filterwarnings("ignore:Diffie-Hellman over finite fields")
async def test_legacy_only_server(tmp_path: Path) -> None:
    """An old VOS that speaks only group14-sha1 / aes128-cbc / hmac-sha1 is still reached."""
    cfg = fakevos.FakeConfig()
    cfg.commands["show version active"] = _ok
    server = await asyncssh.create_server(
        lambda: fakevos._Server(cfg),
        "127.0.0.1",
        0,
        server_host_keys=[HOST_KEY],
        process_factory=lambda p: fakevos._session(cfg, p),
        kex_algs=["diffie-hellman-group14-sha1"],
        encryption_algs=["aes128-cbc"],
        mac_algs=["hmac-sha1"],
    )
    try:
        h = Harness(cfg, server, tmp_path)
        h.trust()
        shell = h.shell()
        assert "Active Master" in await shell.run("show version active")
        await shell.close()
    finally:
        server.close()


async def test_commands_on_one_session_run_one_at_a_time(fake: Harness) -> None:
    fake.trust()
    shell = fake.shell()
    outs = await asyncio.gather(shell.run("show version active"), shell.run("show pager"), shell.run("show less"))
    assert "Active Master" in outs[0] and outs[1].endswith("line 3 after ' '") and outs[2].endswith("c n")
    assert shell.connect_count == 1
    # Empty lines are the end-of-output checks that follow each command.
    assert [c for c in fake.cfg.received if c][-3:] == ["show version active", "show pager", "show less"]
    await shell.close()


def test_broken_known_hosts_is_a_clear_error(tmp_path: Path) -> None:
    from ucterm.vos.errors import VosError

    bad = tmp_path / "known_hosts"
    bad.write_text("garbage\n")
    with pytest.raises(VosError, match="known_hosts has a line"):
        hostkeys.known_keys(bad, "host", 22)
