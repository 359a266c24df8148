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
