"""Files a user hands over: regular files only, size-capped, one sentence and exit 3 otherwise.

Run through the real command line in a child process with a timeout, so that a read without end
or a wait on a FIFO fails the test instead of hanging it.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

INVENTORY = """
[defaults]
os_user = "admin"
os_password = "env:HOSTILE_TEST_PASSWORD"

[[cluster]]
name = "hq"
product = "cucm"
version = "14.0.1.13900-155"

[[cluster.node]]
fqdn = "pub.hq.example.com"
address = "127.0.0.1"
role = "publisher"
"""


def ucterm(*args: str, timeout: float = 30) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "ucterm", *args], capture_output=True, text=True,
                          timeout=timeout, stdin=subprocess.DEVNULL, env={**os.environ, "NO_COLOR": "1"})


def one_sentence(result: subprocess.CompletedProcess[str]) -> str:
    assert "Traceback" not in result.stderr, result.stderr
    lines = [ln for ln in result.stderr.splitlines() if ln.strip()]
    assert len(lines) == 1, result.stderr
    return lines[0]


@pytest.fixture
def fifo(tmp_path: Path) -> Path:
    path = tmp_path / "signed.pem"
    os.mkfifo(path)
    return path


@pytest.fixture
def inventory(tmp_path: Path) -> Path:
    path = tmp_path / "inventory.toml"
    path.write_text(INVENTORY)
    path.chmod(0o600)
    return path


@pytest.mark.parametrize("option", ["--cert", "--csr", "--chain"])
def test_check_refuses_dev_zero(option: str, tmp_path: Path) -> None:
    cert = tmp_path / "cert.pem"
    cert.write_text("not a certificate")
    args = ["check", "--cert", "/dev/zero"] if option == "--cert" else ["check", "--cert", str(cert), option,
                                                                      "/dev/zero"]
    result = ucterm(*args)
    assert result.returncode == 3
    assert "/dev/zero: the certificate file is a character device" in one_sentence(result)


def test_check_refuses_a_fifo(fifo: Path) -> None:
    result = ucterm("check", "--cert", str(fifo))
    assert result.returncode == 3
    assert "FIFO" in one_sentence(result)


def test_check_refuses_a_file_far_too_large(tmp_path: Path) -> None:
    big = tmp_path / "disk.img"
    with big.open("wb") as fh:
        fh.truncate(9 * 1024 * 1024)
    result = ucterm("check", "--cert", str(big))
    assert result.returncode == 3
    assert "more than the 8,388,608 ucterm reads" in one_sentence(result)


@pytest.mark.parametrize("what", ["dev-zero", "fifo"])
def test_renew_refuses_special_files_as_signed(what: str, fifo: Path, inventory: Path) -> None:
    signed = "/dev/zero" if what == "dev-zero" else str(fifo)
    result = ucterm("renew", "--inventory", str(inventory), "--cluster", "hq", "--unit", "tomcat", "--yes",
                    "--signed", signed)
    assert result.returncode == 3
    sentence = one_sentence(result)
    assert signed in sentence and "not a regular file" in sentence


def test_a_fifo_in_a_signed_folder_is_skipped(tmp_path: Path, inventory: Path) -> None:
    folder = tmp_path / "from-the-ca"
    folder.mkdir()
    os.mkfifo(folder / "pipe.pem")
    (folder / "junk.pem").write_text("not a certificate")
    result = ucterm("renew", "--inventory", str(inventory), "--cluster", "hq", "--unit", "tomcat", "--yes",
                    "--signed", str(folder))
    assert "junk.pem" in one_sentence(result)  # the regular file is read (and refused); the FIFO is not
    assert result.returncode == 3
