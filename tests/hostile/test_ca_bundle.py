"""A ca_bundle that is missing, garbage or a FIFO is named, with its setting, in one sentence."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from tests.hostile.conftest import REST_NODE, write_inventory
from ucterm.credentials import CredentialStore, Secret
from ucterm.inventory import load_inventory
from ucterm.lab import LabEstate
from ucterm.scan import scan_estate
from ucterm.vos.certmgr import CertMgrClient
from ucterm.vos.http import HttpsEndpoint, NodeHttpClient
from ucterm.vos.tls import TlsSetupError


def bundle(tmp_path: Path, case: str) -> Path:
    path = tmp_path / "corp-root.pem"
    if case == "garbage":
        path.write_text("this is not a certificate\n")
    elif case == "empty":
        path.write_text("")
    elif case == "damaged pem":
        path.write_text("-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n")
    elif case == "fifo":
        os.mkfifo(path)
    return path  # "missing": not created


@pytest.mark.parametrize("case", ["missing", "garbage", "empty", "damaged pem", "fifo"])
async def test_a_bad_ca_bundle_names_the_file_and_the_setting(tmp_path: Path, case: str) -> None:
    path = bundle(tmp_path, case)
    http = NodeHttpClient(HttpsEndpoint(REST_NODE, "127.0.0.1", 9, ca_bundle=path), user="admin",
                          password=lambda: Secret("pw"), timeout=2)
    with pytest.raises(TlsSetupError) as caught:
        await CertMgrClient(http).snapshot()
    text = str(caught.value)
    assert str(path) in text and "ca_bundle" in text, text
    assert caught.value.exit_code == 3


async def test_the_scan_says_so_and_reads_over_the_cli(estate: LabEstate, tmp_path: Path) -> None:
    path = write_inventory(estate, tmp_path, nodes=(REST_NODE,))
    (tmp_path / "lab-ca.pem").write_text("garbage\n")
    result = await scan_estate(load_inventory(path), CredentialStore(), probe=False)
    node = next(n for n in result.nodes if n.node == REST_NODE)
    assert node.state == "ok", node.error
    note = next(n for n in node.notes if "certmgr REST API failed" in n)
    assert str(tmp_path / "lab-ca.pem") in note and "inventory setting ca_bundle" in note
