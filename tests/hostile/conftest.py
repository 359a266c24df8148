"""Fixtures for the hostile-input tests: the lab estate, a one-cluster inventory written from it
(with ports pointing at a hostile server where a test wants one), and the hostile servers."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from tests.vos.fakehttps import Pki, make_pki
from ucterm.files import write_toml
from ucterm.lab import LabEstate

NOW = datetime(2026, 11, 27, 8, 0, tzinfo=UTC)
#: A CUCM 14 node of the demo estate: certmgr REST exists there (§4.1).
REST_NODE = "cucm14-pub.lab.example"


@pytest.fixture
async def estate() -> AsyncIterator[LabEstate]:
    async with LabEstate.demo(profile="fast", now=NOW) as lab:
        yield lab


@pytest.fixture
def pki(tmp_path: Path) -> Pki:
    """A CA and a leaf for the lab node that REST tests point at a hostile server."""
    return make_pki(tmp_path / "hostile-pki", REST_NODE)


def write_inventory(estate: LabEstate, folder: Path, *, cluster: str = "hq", nodes: tuple[str, ...] = (),
                    ports: dict[str, dict[str, int]] | None = None, extra_ca: Path | None = None,
                    defaults: dict[str, Any] | None = None) -> Path:
    """The lab's inventory cut to one cluster (and `nodes`, when given), with port overrides per node.

    `extra_ca` is added to the lab's CA bundle, so a hostile server's certificate verifies as the
    node's: the tests then exercise what ucterm does with what a *trusted* node sends.
    """
    path = estate.write_inventory(folder / "inventory.toml")
    document = estate.inventory_document()
    document["cluster"] = [c for c in document["cluster"] if c["name"] == cluster]
    for entry in document["cluster"]:
        if nodes:
            entry["node"] = [n for n in entry["node"] if n["fqdn"] in nodes]
        for n in entry["node"]:
            n["ports"].update((ports or {}).get(n["fqdn"], {}))
    if extra_ca is not None:
        bundle = folder / "lab-ca.pem"
        bundle.write_text(bundle.read_text() + extra_ca.read_text())
    document["defaults"].update(defaults or {})
    write_toml(path, document)
    return path


def hostile_inventory(folder: Path, port: int, *, tofu: bool = False, fqdn: str = "hostile1.lab.example",
                      cluster: str = "hq") -> Path:
    """An inventory with one CUCM 12.5 publisher served by the hostile shell (CLI only, no REST)."""
    path = folder / "inventory.toml"
    write_toml(path, {
        "defaults": {"os_user": "admin", "os_password": "env:HOSTILE_OS_PASSWORD", "known_hosts": "known_hosts",
                     "trust_on_first_use": tofu, "command_timeout": 10, "banner_timeout": 10},
        "cluster": [{"name": cluster, "product": "cucm", "version": "12.5.1.16900-48",
                     "node": [{"fqdn": fqdn, "address": "127.0.0.1", "role": "publisher",
                               "ports": {"ssh": port}}]}],
    })
    return path


@pytest.fixture(autouse=True)
def _hostile_password(monkeypatch: pytest.MonkeyPatch) -> None:
    from tests.hostile import sshd

    monkeypatch.setenv("HOSTILE_OS_PASSWORD", sshd.PASSWORD)
