"""A v14 cluster on the realistic lab (CLI banners of 4 s) is scanned in well under one banner.

Its nodes are read from the certmgr snapshot and its members come from AXL on the publisher, so
no node opens its CLI; the figure that matters for a hundred nodes is in bench/scan.py.
"""

from __future__ import annotations

import time
from pathlib import Path

from tests.scan.conftest import NOW, complete, write_inventory
from ucterm.credentials import CredentialStore
from ucterm.lab import LabEstate, layouts
from ucterm.scan import scan_estate


async def test_a_v14_cluster_takes_well_under_one_cli_banner(tmp_path: Path, scan_password: None) -> None:
    spec = layouts.EstateSpec((layouts.ClusterSpec(
        "hq", "cucm", "14.0.1.13900-155",
        tuple(layouts.NodeSpec(h, "publisher" if h == "pub" else "subscriber") for h in ("pub", "sub1", "sub2")),
        certs={"tomcat": layouts.CertPlan("ca", days_left=300, lifetime=730, multi_server=True)},
        ca_trust=("tomcat-trust",)),), domain="v14.example")
    async with LabEstate(spec, profile="realistic", now=NOW) as estate:
        inventory = write_inventory(estate, tmp_path, complete)
        started = time.monotonic()
        result = await scan_estate(inventory, CredentialStore(), now=NOW)
        took = time.monotonic() - started
    assert [n.state for n in result.nodes] == ["ok"] * 3, [(n.node, n.error, n.notes) for n in result.nodes]
    assert {c.source for c in result.certificates} == {"rest"}
    assert all(n.received.ssh_sessions == 0 for n in estate.nodes)
    assert not [note for n in result.nodes for note in n.notes if "not listed" in note or "failed" in note]
    assert took < estate.profile.banner_delay / 2, f"{took:.2f} s; one CLI banner is {estate.profile.banner_delay} s"
