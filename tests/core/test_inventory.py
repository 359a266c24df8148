"""Inventory loading: the format of design.md §3 and one clear sentence per mistake."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from ucterm.errors import InventoryError
from ucterm.inventory import Inventory, load_inventory, parse_inventory

GOOD = """
[defaults]
os_user = "admin"
os_password = "env:UCTERM_OS_PASSWORD"
app_user = "axladmin"
app_password = "prompt"
warn_days = 60
crit_days = 14
trust_on_first_use = false
transport = "auto"

[[cluster]]
name = "hq"
product = "cucm"
version = "14.0.1.13900-155"
crit_days = 7

[[cluster.node]]
fqdn = "cucm-pub.hq.example.com"
address = "127.0.0.1"
role = "publisher"
ports = { ssh = 2222, https = 8443 }

[[cluster.node]]
fqdn = "cucm-sub1.hq.example.com"
role = "subscriber"

[[cluster]]
name = "presence"
product = "imp"
presence_domains = ["example.com"]
cucm_cluster = "hq"

[[cluster.node]]
fqdn = "imp-pub.hq.example.com"
role = "publisher"
"""


def write(tmp_path: Path, text: str, mode: int = 0o600) -> Path:
    p = tmp_path / "inventory.toml"
    p.write_text(text)
    os.chmod(p, mode)
    return p


def test_loads_the_documented_format(tmp_path: Path) -> None:
    inv = load_inventory(write(tmp_path, GOOD))
    hq = inv.cluster("hq")
    assert hq.product == "cucm"
    assert hq.publisher.fqdn == "cucm-pub.hq.example.com"
    assert hq.publisher.port("ssh") == 2222
    assert hq.publisher.port("xmpp_c2s") == 5222
    assert hq.subscribers[0].address == "cucm-sub1.hq.example.com"
    assert hq.settings.crit_days == 7 and hq.settings.warn_days == 60
    assert hq.node_version(hq.publisher).su == 3
    assert inv.cluster("presence").presence_domains == ("example.com",)
    assert inv.warnings == ()


@pytest.mark.parametrize(
    ("change", "expected"),
    [
        (('product = "cucm"', 'product = "cumc"'),
         r'line 14: cluster "hq" has product "cumc"; use one of cucm, imp, cuc'),
        (('fqdn = "imp-pub.hq.example.com"', 'fqdn = "cucm-sub1.hq.example.com"'), r"appears twice"),
        (('role = "publisher"\nports', 'role = "subscriber"\nports'), r'cluster "hq" has no publisher'),
        (("ssh = 2222", "ssh = 70000"), r"bad port ssh = 70000; use a number from 1 to 65535"),
        (("ssh = 2222", "telnet = 23"), r'unknown port "telnet"'),
        (('name = "hq"', 'name = "hq"\ncolour = "red"'), r'cluster "hq" has an unknown field "colour"'),
        (("crit_days = 14", "crit_days = 90"), r"crit_days \(90\) is larger than warn_days"),
        (('transport = "auto"', 'transport = "telnet"'), r"transport"),
    ],
)
def test_each_mistake_is_one_sentence_naming_file_and_field(tmp_path: Path, change: tuple[str, str],
                                                             expected: str) -> None:
    path = write(tmp_path, GOOD.replace(*change, 1))
    with pytest.raises(InventoryError, match=expected) as info:
        load_inventory(path)
    message = str(info.value)
    assert message.startswith(str(path))
    assert "\n" not in message


def test_invalid_toml_names_the_line(tmp_path: Path) -> None:
    path = write(tmp_path, GOOD.replace('name = "hq"', 'name = "hq'))
    with pytest.raises(InventoryError, match=r"line 13: invalid TOML"):
        load_inventory(path)


def test_missing_file(tmp_path: Path) -> None:
    with pytest.raises(InventoryError, match=r"no such inventory file"):
        load_inventory(tmp_path / "nope.toml")


def test_literal_password_refused_unless_owner_only(tmp_path: Path) -> None:
    text = GOOD.replace('os_password = "env:UCTERM_OS_PASSWORD"', 'os_password = "hunter2"')
    with pytest.raises(InventoryError, match=r"literal password .*chmod 600") as info:
        load_inventory(write(tmp_path, text, mode=0o644))
    assert "hunter2" not in str(info.value)
    inv = load_inventory(write(tmp_path, text, mode=0o600))
    assert any("literal password" in w for w in inv.warnings)
    assert all("hunter2" not in w for w in inv.warnings)
    # Crash reports print locals with their repr: the inventory, a cluster and the credential store
    # that resolved the literal must not show it.
    from ucterm.credentials import CredentialStore

    store = CredentialStore()
    assert store.resolve(inv.defaults.os_password, what="os_password").reveal() == "hunter2"
    for obj in (inv, inv.clusters[0], inv.defaults, store):
        assert "hunter2" not in repr(obj), type(obj).__name__


def test_relative_paths_resolve_beside_the_file(tmp_path: Path) -> None:
    text = GOOD.replace("[defaults]", '[defaults]\nknown_hosts = "kh"\nca_bundle = "ca.pem"')
    inv: Inventory = load_inventory(write(tmp_path, text))
    assert inv.defaults.known_hosts == (tmp_path / "kh").resolve()
    assert inv.cluster("hq").settings.ca_bundle == (tmp_path / "ca.pem").resolve()


def test_parse_without_file() -> None:
    inv = parse_inventory(GOOD)
    assert inv.path is None and len(inv.clusters) == 2


# -- per-node credentials and timeouts (design.md §3) -------------------------------------------

PER_NODE = GOOD.replace('''fqdn = "cucm-sub1.hq.example.com"
role = "subscriber"''', '''fqdn = "cucm-sub1.hq.example.com"
role = "subscriber"
os_user = "ccmadmin"
os_password = "env:SUB1_PASSWORD"
command_timeout = 30''')


def test_a_node_may_have_its_own_platform_administrator(tmp_path: Path) -> None:
    inv = load_inventory(write(tmp_path, PER_NODE))
    hq = inv.cluster("hq")
    sub, pub = hq.node("cucm-sub1.hq.example.com"), hq.publisher
    assert hq.settings_for(sub).os_user == "ccmadmin"
    assert hq.settings_for(sub).os_password == "env:SUB1_PASSWORD"
    assert hq.settings_for(sub).command_timeout == 30.0
    assert hq.settings_for(sub).crit_days == 7  # the rest is the cluster's
    assert hq.settings_for(pub) == hq.settings
    # Its own password is asked and remembered apart from the cluster's; the app password is shared.
    assert hq.password_what("os_password", sub) == 'os_password for node "cucm-sub1.hq.example.com" (cluster "hq")'
    assert hq.password_what("os_password", pub) == 'os_password for cluster "hq"'
    assert hq.password_what("app_password", sub) == 'app_password for cluster "hq"'


def test_the_node_target_carries_the_node_s_own_settings(tmp_path: Path) -> None:
    from ucterm.vos.target import NodeTarget

    hq = load_inventory(write(tmp_path, PER_NODE)).cluster("hq")
    target = NodeTarget.from_inventory(hq, hq.node("cucm-sub1"))
    assert target.settings.os_user == "ccmadmin" and target.settings.command_timeout == 30.0
    assert target.os_password_what == 'os_password for node "cucm-sub1.hq.example.com" (cluster "hq")'


@pytest.mark.parametrize(("line", "expected"), [
    ('os_usr = "x"', r'node "cucm-sub1.hq.example.com" has an unknown field "os_usr" \(did you mean os_user\?\)'),
    ('os_password = "hunter2"', r'node "cucm-sub1.hq.example.com" field os_password holds a literal password'),
    ("command_timeout = -1", r"command_timeout is -1.0; it must be a positive number"),
    ("banner_timeout = nan", r"banner_timeout is nan; it must be a positive number"),
])
def test_node_settings_are_checked_like_the_cluster_s(tmp_path: Path, line: str, expected: str) -> None:
    text = GOOD.replace('fqdn = "cucm-sub1.hq.example.com"', f'fqdn = "cucm-sub1.hq.example.com"\n{line}')
    with pytest.raises(InventoryError, match=expected) as info:
        load_inventory(write(tmp_path, text, mode=0o644))
    assert "\n" not in str(info.value) and "hunter2" not in str(info.value)


# -- what must be refused, in one sentence ----------------------------------------------------

@pytest.mark.parametrize(("change", "expected"), [
    (("[defaults]\n", '[defaults]\nos_usr = "admin"\n'),
     r'\[defaults\] has an unknown field "os_usr" \(did you mean os_user\?\)'),
    (("[defaults]\n", "[defaults]\nwarn_dayz = 30\n"), r'unknown field "warn_dayz" \(did you mean warn_days\?\)'),
    (("[defaults]\n", "[defaults]\ncommand_timeout = nan\n"), r"command_timeout is nan; it must be a positive"),
    (("[defaults]\n", "[defaults]\ncommand_timeout = inf\n"), r"command_timeout is inf; it must be a positive"),
    (("[defaults]\n", "[defaults]\nbanner_timeout = -inf\n"), r"banner_timeout is -inf"),
    (('os_password = "env:UCTERM_OS_PASSWORD"', 'os_password = "env:"'), r'os_password is "env:" with no name'),
    (('app_password = "prompt"', 'app_password = "keyring:"'), r'app_password is "keyring:" with no name'),
    (('name = "hq"', 'name = "hq"\nmaintenance_windw = "Sat 01:00-05:00 UTC"'),
     r'unknown field "maintenance_windw" \(did you mean maintenance_window\?\)'),
    (("[defaults]\n", "[signers]\n[defaults]\n"), r'unknown top-level field "signers" \(did you mean signer\?\)'),
])
def test_more_mistakes_are_one_sentence(tmp_path: Path, change: tuple[str, str], expected: str) -> None:
    path = write(tmp_path, GOOD.replace(*change, 1))
    with pytest.raises(InventoryError, match=expected) as info:
        load_inventory(path)
    assert str(info.value).startswith(str(path)) and "\n" not in str(info.value)


def test_deep_nesting_is_a_sentence_not_a_recursion_error(tmp_path: Path) -> None:
    path = write(tmp_path, "a = " + "[" * 5000 + "]" * 5000 + "\n")
    with pytest.raises(InventoryError, match=r"nests arrays or tables too deeply"):
        load_inventory(path)


def test_special_files_are_refused_without_blocking(tmp_path: Path) -> None:
    fifo = tmp_path / "inventory.fifo"
    os.mkfifo(fifo)
    with pytest.raises(InventoryError, match=r"is a FIFO \(named pipe\), not a regular file"):
        load_inventory(fifo)  # would block for ever waiting for a writer
    with pytest.raises(InventoryError, match=r"is a character device, not a regular file"):
        load_inventory("/dev/zero")
    with pytest.raises(InventoryError, match=r"is a folder, not a regular file"):
        load_inventory(tmp_path)


# -- maintenance windows (design.md §3) -------------------------------------------------------

def test_maintenance_window_per_cluster(tmp_path: Path) -> None:
    text = GOOD.replace('crit_days = 7', 'crit_days = 7\nmaintenance_window = "Sat 01:00-05:00 Europe/Berlin"')
    inv = load_inventory(write(tmp_path, text))
    window = inv.cluster("hq").settings.maintenance_window
    assert window is not None and window.describe() == "Sat 01:00–05:00 Europe/Berlin"
    assert inv.cluster("presence").settings.maintenance_window is None


@pytest.mark.parametrize(("value", "expected"), [
    ("Sat", r'"Sat" is not "<days> HH:MM-HH:MM \[time zone\]"'),
    ("Sot 01:00-05:00", r'"Sot" names no weekday'),
    ("Sat 01:00-05:00 Mars/Olympus", r'"Mars/Olympus" is not a time zone'),
    ("Sat 25:00-26:00 UTC", r"\"25:00-26:00\" has a time that does not exist"),
])
def test_a_bad_maintenance_window_names_the_part(tmp_path: Path, value: str, expected: str) -> None:
    text = GOOD.replace('crit_days = 7', f'crit_days = 7\nmaintenance_window = "{value}"')
    with pytest.raises(InventoryError, match=r'line \d+: cluster "hq" field maintenance_window: ' + expected):
        load_inventory(write(tmp_path, text))


# -- [[signer]] tables (design.md §3) ---------------------------------------------------------

SIGNERS = '''
[[signer]]
name = "corp-adcs"
kind = "adcs"
url = "https://ca1.corp.example.com/certsrv"
template = "CiscoUCServerClient"
auth = "ntlm"
user = 'CORP\\svc-ucterm'
password = "keyring:ucterm-adcs"
ca_bundle = "corp-root.pem"

[[signer]]
name = "bao"
kind = "vault"
url = "https://vault.corp.example.com:8200"
mount = "pki"
role = "cisco-uc"
verbatim = true
token = "env:VAULT_TOKEN"

[[signer]]
name = "public"
kind = "acme"
directory = "https://acme.example.net/directory"
email = "uc-admins@example.com"
challenge = "dns-01"
dns = { kind = "rfc2136", server = "192.0.2.53", key_name = "ucterm", key_secret = "env:TSIG_KEY" }
roots = "acme-roots.pem"

[[signer]]
name = "public-hook"
kind = "acme"
directory = "https://acme.example.net/directory"
eab = { kid = "kid-1", hmac_key = "env:EAB_KEY" }

[signer.dns]
kind = "command"
set = ["/usr/local/bin/dns-set", "{name}", "{value}"]
clear = ["/usr/local/bin/dns-clear", "{name}"]

[[signer]]
name = "script"
kind = "command"
command = ["/usr/local/bin/sign-csr", "{csr}", "{out}"]
'''


def test_signers_as_the_design_writes_them(tmp_path: Path) -> None:
    from ucterm.signer_config import AcmeSpec, AdcsSpec, CommandSpec, DnsCommand, DnsRfc2136, VaultSpec

    text = GOOD.replace("[defaults]\n", '[defaults]\nsigner = "corp-adcs"\n').replace(
        'crit_days = 7', 'crit_days = 7\nsigner = "bao"') + SIGNERS
    inv = load_inventory(write(tmp_path, text))
    assert [s.name for s in inv.signers] == ["corp-adcs", "bao", "public", "public-hook", "script"]
    assert inv.defaults.signer == "corp-adcs" and inv.cluster("hq").settings.signer == "bao"
    assert inv.cluster("presence").settings.signer == "corp-adcs"
    adcs = inv.signer("corp-adcs")
    assert isinstance(adcs.spec, AdcsSpec) and adcs.spec.user == "CORP\\svc-ucterm"
    assert adcs.ca_bundle == (tmp_path / "corp-root.pem").resolve() and adcs.timeout == 60.0
    assert adcs.secret_references == {"password": "keyring:ucterm-adcs"}
    bao = inv.signer("bao")
    assert isinstance(bao.spec, VaultSpec) and bao.spec.verbatim and bao.spec.mount == "pki"
    public = inv.signer("public")
    assert isinstance(public.spec, AcmeSpec) and isinstance(public.spec.dns, DnsRfc2136)
    assert public.roots == (tmp_path / "acme-roots.pem").resolve() and public.timeout == 600.0
    hook = inv.signer("public-hook")
    assert isinstance(hook.spec, AcmeSpec) and isinstance(hook.spec.dns, DnsCommand)
    assert hook.spec.eab_kid == "kid-1" and hook.secret_references == {"hmac_key": "env:EAB_KEY"}
    assert isinstance(inv.signer("script").spec, CommandSpec)
    with pytest.raises(InventoryError, match=r'no \[\[signer\]\] named "nope"; the signers are: corp-adcs, bao'):
        inv.signer("nope")


@pytest.mark.parametrize(("change", "expected"), [
    (('kind = "adcs"', 'kind = "msca"'), r'signer "corp-adcs" has kind \'msca\'; use one of adcs, vault, acme'),
    (('template = "CiscoUCServerClient"\n', ''), r'signer "corp-adcs" needs template'),
    (('url = "https://ca1.corp.example.com/certsrv"', 'url = "http://ca1.corp.example.com/certsrv"'),
     r'field url is "http://ca1.corp.example.com/certsrv"; it must be an https:// URL'),
    (('verbatim = true', 'verbatim = true\nrol = "x"'),
     r'signer "bao" has an unknown field "rol" for kind vault \(did you mean role\?\)'),
    (('token = "env:VAULT_TOKEN"', 'token = "s.hunter2"'), r'signer "bao" field token holds a literal secret'),
    (('token = "env:VAULT_TOKEN"', 'token = "env:"'), r'field token is "env:" with no variable name'),
    (('command = ["/usr/local/bin/sign-csr", "{csr}", "{out}"]', 'command = ["/usr/local/bin/sign-csr", "{csr}"]'),
     r'signer "script" field command never mentions \{out\}'),
    (('challenge = "dns-01"', 'challenge = "http-01"'), r'field challenge is "http-01"; use "dns-01"'),
    (('key_name = "ucterm", ', ''), r'field dns needs key_name'),
    (('name = "script"', 'name = "bao"'), r'signer "bao" appears twice'),
])
def test_signer_mistakes_are_one_sentence(tmp_path: Path, change: tuple[str, str], expected: str) -> None:
    path = write(tmp_path, GOOD + SIGNERS.replace(*change, 1), mode=0o644)
    with pytest.raises(InventoryError, match=expected) as info:
        load_inventory(path)
    assert str(info.value).startswith(f"{path} line ") and "\n" not in str(info.value)
    assert "hunter2" not in str(info.value)


def test_a_cluster_must_name_a_signer_that_exists(tmp_path: Path) -> None:
    text = GOOD.replace('crit_days = 7', 'crit_days = 7\nsigner = "baoo"') + SIGNERS
    with pytest.raises(InventoryError, match=r'cluster "hq" field signer names "baoo", which is no \[\[signer\]\] '
                                             r'of this file \(did you mean bao\?\)'):
        load_inventory(write(tmp_path, text))
