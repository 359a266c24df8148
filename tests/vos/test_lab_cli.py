"""Every CLI command, both logins, pagers, host keys and faults, against the embedded lab."""

from __future__ import annotations

import asyncio
from dataclasses import replace
from pathlib import Path

import pytest

from tests.vos.lab import Lab
from ucterm import pki
from ucterm.credentials import CredentialStore
from ucterm.events import NodeNotice
from ucterm.vos import ConnectionLimiter, NodeSession, accept_host_key, fetch_host_key
from ucterm.vos.errors import (
    BannerTimeout,
    CommandTimeout,
    HostKeyChanged,
    HostKeyUnknown,
    SessionDropped,
    Unreachable,
    VosCommandError,
    VosImportError,
)
from ucterm.vos.shell import ShellOptions

PUB = "cucm14-pub.lab.example"
SUB2 = "cucm14-sub2.lab.example"
BRANCH = "cucm125-pub.lab.example"
IMP = "imp14-pub.lab.example"
CUC = "cuc15-pub.lab.example"
CUC_SUB = "cuc15-sub.lab.example"


async def test_discovery_on_each_product(lab: Lab) -> None:
    for fqdn, product_type, version in (
        (PUB, "callmanager", "14.0.1.13900-155"),
        (IMP, "cups", "14.0.1.13900-8"),
        (CUC, "connection", "15.0.1.10000-34"),
    ):
        async with lab.session(fqdn) as s:
            info = await s.cli.show_version()
            assert info.active == version
            rows = await s.cli.show_network_cluster()
            assert fqdn in [r.fqdn for r in rows]
            assert {r.product_type for r in rows} >= {product_type}
            assert any(r.role == "publisher" for r in rows)
            assert s.shell.auth_method == "password" and s.shell.pagination_off


async def test_version_is_discovered_when_the_inventory_has_none(lab: Lab) -> None:
    t = lab.target(PUB)
    async with NodeSession(replace(t, version=None), CredentialStore()) as s:
        assert s.rest is None and s.transport_for("read") == "cli"
        version = await s.ensure_version()
        assert version is not None and version.at_least(14)
        assert s.rest is not None and s.transport_for("read") == "rest"


async def test_keyboard_interactive_only_nodes(lab: Lab) -> None:
    async with lab.session(BRANCH) as s:
        assert (await s.cli.show_version()).active.startswith("12.5")
        assert s.shell.auth_method == "keyboard-interactive"


async def test_certificates_are_read_from_pem(lab: Lab) -> None:
    node = lab.estate.node(IMP)
    async with lab.session(IMP) as s:
        own = await s.cli.list_certs("own")
        units = {e.unit_or_store for e in own}
        assert {"tomcat", "cup", "cup-xmpp", "cup-xmpp-s2s", "ipsec"} <= units
        cup = next(e for e in own if e.unit_or_store == "cup")
        assert not cup.self_signed and cup.issuer_cn
        for unit in ("tomcat", "cup-xmpp"):
            assert await s.cli.cert_own(unit) == node.identity(unit).cert
        trust = await s.cli.list_certs("trust")
        assert trust and all(e.unit_or_store.endswith("-trust") for e in trust)
        first = trust[0]
        cert = await s.cli.cert_trust(f"{first.unit_or_store}/{first.file}")
        assert cert in [t.cert for t in node.trust_entries()]
        web = await s.cli.show_web_security()
        assert web.certificate == node.identity("tomcat").cert and web.subject_dn
        with pytest.raises(VosCommandError, match="printed no certificate"):
            await s.cli.cert_own("nosuchunit")


async def test_block_format_cert_list(lab: Lab) -> None:
    lab.estate.node(PUB).cert_list_format = "block"
    async with lab.session(PUB) as s:
        own = await s.cli.list_certs("own")
    tomcat = next(e for e in own if e.unit_or_store == "tomcat")
    assert tomcat.expires_text and not tomcat.self_signed and tomcat.issuer_cn


async def test_less_pager_on_a_short_terminal_gives_the_same_output(lab: Lab) -> None:
    async with lab.session(PUB) as s:
        wide = await s.cli.list_certs("trust")
    short = ShellOptions(banner_timeout=10, command_timeout=10, term_size=(200, 8))
    async with lab.session(PUB, options=short) as s:
        paged = await s.cli.list_certs("trust")
    assert len(wide) > 8 and paged == wide
    assert any("(pager)" in e.text for e in lab.transcript())


async def test_csr_generate_and_import_own_and_trust(lab: Lab) -> None:
    node = lab.estate.node(PUB)
    async with lab.session(PUB) as s:
        await s.cli.generate_csr("tomcat", include_ou=False)
        assert any(e.unit == "tomcat" for e in await s.cli.csr_list())
        csr = await s.cli.csr_own("tomcat")
        assert csr is not None and csr.public_key() == node.csr("tomcat").csr.public_key()  # type: ignore[union-attr]
        leaf_pem, chain = lab.estate.ca.sign(pki.pem(csr))
        for ca_pem in reversed(chain):
            await s.cli.import_trust("tomcat-trust", ca_pem)
        await s.cli.import_own("tomcat", leaf_pem)
        assert await s.cli.cert_own("tomcat") == pki.load_bundle(leaf_pem.encode()).certificates[0]
        assert await s.cli.csr_own("tomcat") is None  # a successful import consumes the CSR (§5.3)
        with pytest.raises(VosImportError) as info:
            await s.cli.import_own("tomcat", leaf_pem)
    assert info.value.code == "no-csr" and info.value.unit == "tomcat"
    sent = [e.text for e in lab.transcript() if e.direction == "sent"]
    assert "no" in sent  # the Include OU question was answered explicitly
    assert any(t.startswith("<certificate CN=") for t in sent)  # the paste, shortened


async def test_csr_on_12_5_asks_no_ou_question(lab: Lab) -> None:
    async with lab.session(BRANCH) as s:
        await s.cli.generate_csr("tomcat")
        assert await s.cli.csr_own("tomcat") is not None


async def test_import_errors_are_typed(lab: Lab) -> None:
    async with lab.session(PUB) as s:
        await s.cli.generate_csr("CallManager")
        old = await s.cli.csr_own("CallManager")
        assert old is not None
        await s.cli.generate_csr("CallManager")  # replaces the CSR and its key (§1.3)
        leaf_pem, chain = lab.estate.ca.sign(pki.pem(old))
        with pytest.raises(VosImportError) as info:
            await s.cli.import_own("CallManager", leaf_pem)
        # hq has the lab CA in tomcat-trust only, so the chain check or the key check fails first.
        assert info.value.code in ("key-mismatch", "ca-not-in-trust")
        for ca_pem in reversed(chain):
            await s.cli.import_trust("CallManager", ca_pem)
        with pytest.raises(VosImportError) as info:
            await s.cli.import_own("CallManager", leaf_pem)
        assert info.value.code == "key-mismatch"
    async with lab.session(BRANCH) as s:
        await s.cli.generate_csr("tomcat")
        csr = await s.cli.csr_own("tomcat")
        leaf_pem, _ = lab.estate.ca.sign(pki.pem(csr))  # type: ignore[arg-type]
        with pytest.raises(VosImportError) as info:
            await s.cli.import_own("tomcat", leaf_pem)  # branch has no lab CA in tomcat-trust
        assert info.value.code == "ca-not-in-trust"


async def test_regen_needs_confirmation(lab: Lab) -> None:
    node = lab.estate.node(PUB)
    before = node.identity("ipsec").cert
    async with lab.session(PUB) as s:
        with pytest.raises(VosCommandError, match="confirm=True"):
            await s.cli.regen("ipsec", confirm=False)
        await s.cli.regen("ipsec", confirm=True)
        after = await s.cli.cert_own("ipsec")
    assert after != before and after == node.identity("ipsec").cert


async def test_web_security(lab: Lab) -> None:
    async with lab.session(BRANCH) as s:
        with pytest.raises(VosCommandError, match="confirm=True"):
            await s.cli.set_web_security("IT", "Example Corp", "San Jose", "California")
        await s.cli.set_web_security("IT Dept", "Example Corp", "San Jose", "California", confirm=True)
        web = await s.cli.show_web_security()
    assert web.certificate is not None
    assert "Example Corp" in web.certificate.subject.rfc4514_string()


async def test_services_and_restarts(lab: Lab) -> None:
    async with lab.session(PUB) as s:
        services = {x.name: x for x in await s.cli.service_list()}
        assert services["Cisco Tomcat"].state == "STARTED"
        result = await s.cli.restart_service("Cisco Tomcat", timeout=30)
        assert result.saw_started and result.final_state == "STARTED"
        with pytest.raises(VosCommandError):
            await s.cli.restart_service("Cisco No Such Service", timeout=30)
    async with lab.session(SUB2) as s:  # quirk: Tomcat never prints [STARTED] (§1.9 C-netSSL)
        result = await s.cli.restart_service("Cisco Tomcat", timeout=30)
        assert not result.saw_started and result.final_state == "STARTING" and result.ok


async def test_ha_status(lab: Lab) -> None:
    async with lab.session(IMP) as s:
        [status] = await s.cli.ha_status()
        assert status.normal and status.ha_enabled and len(status.nodes) == 2
        lab.estate.set_ha(status.subcluster, False)
        [status] = await s.cli.ha_status()
        assert not status.ha_enabled
    async with lab.session(PUB) as s:
        with pytest.raises(VosCommandError, match="IM and Presence"):
            await s.cli.ha_status()


# ------------------------------------------------------------------------------------------------
# Host keys


async def test_unknown_host_key_then_accept(lab: Lab, tmp_path: Path) -> None:
    fresh = tmp_path / "fresh_known_hosts"
    async with lab.session(PUB, known_hosts=fresh) as s:
        with pytest.raises(HostKeyUnknown) as info:
            await s.cli.show_version()
        err = info.value
        assert err.fingerprint_sha256.startswith("SHA256:") and err.host == PUB
        accept_host_key(fresh, err.host, err.port, err.key, address=err.address)
        await s.cli.show_version()


async def test_fetch_host_key_reads_the_key_the_node_presents(lab: Lab, tmp_path: Path) -> None:
    """What the TUI shows and records on "accept": the key read without logging in, then trusted."""
    node = lab.estate.node(PUB)
    key = await fetch_host_key("127.0.0.1", node.ports["ssh"], timeout=5, node=PUB)
    # The lab's own known_hosts line for PUB carries the same public key.
    line = next(x for x in lab.estate.known_hosts_lines() if x.startswith(f"[{PUB}]"))
    assert key.export_public_key("openssh").decode().split()[1] == line.split()[2]
    fresh = tmp_path / "accepted"
    accept_host_key(fresh, PUB, node.ports["ssh"], key, address="127.0.0.1")
    async with lab.session(PUB, known_hosts=fresh) as s:
        assert (await s.cli.show_version()).active


async def test_fetch_host_key_from_a_node_that_is_down_names_it(lab: Lab) -> None:
    node = lab.estate.node(SUB2)
    port = node.ports["ssh"]
    await lab.estate.take_down(SUB2)
    with pytest.raises(Unreachable, match=SUB2):
        await fetch_host_key("127.0.0.1", port, timeout=5, node=SUB2)


async def test_trust_on_first_use_and_changed_key(lab: Lab, tmp_path: Path) -> None:
    fresh = tmp_path / "tofu_known_hosts"
    async with lab.session(PUB, known_hosts=fresh, trust_on_first_use=True) as s:
        await s.cli.show_version()
    assert PUB in fresh.read_text()
    # The same file now claims PUB's key for SUB2's port: SUB2 presents another key → changed.
    sub2_port = lab.estate.node(SUB2).ports["ssh"]
    pub_line = fresh.read_text().split()
    (tmp_path / "changed").write_text(f"[{SUB2}]:{sub2_port} {pub_line[1]} {pub_line[2]}\n")
    async with lab.session(SUB2, known_hosts=tmp_path / "changed", trust_on_first_use=True) as s:
        with pytest.raises(HostKeyChanged, match="changed"):
            await s.cli.show_version()


# ------------------------------------------------------------------------------------------------
# Faults


async def test_reconnect_after_a_drop(lab: Lab) -> None:
    lab.estate.node(PUB).faults.drop_connection("show cert list own", after_lines=1)
    async with lab.session(PUB) as s:
        await s.cli.show_version()
        own = await s.cli.list_certs("own")
        assert own and s.shell.connect_count == 2
    notices = [e.message for e in lab.events if isinstance(e, NodeNotice)]
    assert any("dropped during `show cert list own`" in m for m in notices)
    assert "reconnected" in notices


async def test_drop_during_a_change_is_not_retried(lab: Lab) -> None:
    lab.estate.node(PUB).faults.drop_connection("set csr gen", after_lines=0)
    async with lab.session(PUB) as s:
        with pytest.raises(SessionDropped, match="outcome is unknown"):
            await s.cli.generate_csr("tomcat")
        await s.cli.show_version()  # the next command reconnects


async def test_hung_command_hits_its_timeout(lab: Lab) -> None:
    lab.estate.node(PUB).faults.hang("utils service list", after_lines=2)
    opts = ShellOptions(banner_timeout=10, command_timeout=0.5)
    async with lab.session(PUB, options=opts) as s:
        with pytest.raises(CommandTimeout, match="utils service list"):
            await s.cli.service_list()
        assert (await s.cli.show_version()).active  # a fresh session works


async def test_slow_banner_and_down_node(lab: Lab) -> None:
    lab.estate.node(PUB).faults.slow_banner(3.0)
    opts = ShellOptions(banner_timeout=0.5, command_timeout=5, nudge_after=0.2)
    async with lab.session(PUB, options=opts) as s:
        with pytest.raises(BannerTimeout):
            await s.cli.show_version()
    lab.estate.node(PUB).faults.slow_banner(0.3)
    async with lab.session(PUB, options=ShellOptions(banner_timeout=5, nudge_after=0.1)) as s:
        await s.cli.show_version()
    await lab.estate.take_down(SUB2)
    async with lab.session(SUB2) as s:
        with pytest.raises(Unreachable, match="cannot connect"):
            await s.cli.show_version()


async def test_web_security_refusal_is_an_error(lab: Lab) -> None:
    async with lab.session(BRANCH) as s:
        with pytest.raises(VosCommandError, match="set web-security"):
            await s.cli.set_web_security("IT", "Example", "Paris", "IDF", "FR", confirm=True)


async def test_a_banner_wait_holds_a_socket_but_no_handshake_slot(lab: Lab) -> None:
    """Waiting for the CLI costs the jumpbox one idle socket: the handshake bound is free meanwhile."""
    limiter = ConnectionLimiter(1)
    fqdns = ("cucm14-sub1", "cucm14-sub2", "cuc15-sub")
    for fqdn in fqdns:
        lab.estate.node(fqdn).faults.slow_banner(1.0)
    sessions = [NodeSession(lab.target(fqdn), CredentialStore(), limiter=limiter,
                            shell_options=ShellOptions(banner_timeout=10.0, nudge_after=5.0)) for fqdn in fqdns]
    tasks = [asyncio.create_task(s.cli.show_version()) for s in sessions]
    try:
        async with asyncio.timeout(5):
            while not all(lab.estate.node(f).received.ssh_sessions for f in fqdns):
                await asyncio.sleep(0.01)
        # Every session is logged in and waiting for its banner; none holds the one handshake slot.
        assert limiter.in_use == 0 and limiter.sockets_open == len(fqdns)
        await asyncio.gather(*tasks)
    finally:
        for s in sessions:
            await s.close()
    assert limiter.peak == 1 and limiter.sockets_peak == len(fqdns) and limiter.sockets_open == 0


async def test_a_session_counts_once_for_its_ssh_and_https_connections(lab: Lab) -> None:
    limiter = ConnectionLimiter(4, sockets=1)
    async with NodeSession(lab.target("cucm14-sub1"), CredentialStore(), limiter=limiter) as s:
        await s.cli.show_version()
        assert s.rest is not None
        await s.rest.identity("tomcat")  # waits for no second socket: the session has its one
        assert limiter.sockets_open == 1
    assert limiter.sockets_open == 0
