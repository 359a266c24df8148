"""`ucterm check`: exit codes, JSON-only stdout, the readable report, errors as one sentence."""

from __future__ import annotations

import argparse
import datetime as dt
import io
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from cryptography.hazmat.primitives import serialization

from ucterm.cli import check
from ucterm.pki import check_files, check_material

REPO = Path(__file__).resolve().parents[2]


def parse(*argv: str) -> argparse.Namespace:
    """`ucterm check ARGS` parsed by the real command line (ucterm.cli declares the options)."""
    from ucterm.cli import build_parser

    return build_parser().parse_args(["check", *argv])


def run_check(*argv: str, now) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    code = check.run(parse(*argv), now=now, stdout=out, stderr=err)
    return code, out.getvalue(), err.getvalue()


@pytest.fixture
def files(std, enc, write):
    """The usual hand-over: leaf PEM, a PKCS#7 chain in DER, the CSR in VOS's legacy armour."""
    return {
        "leaf": write("cucm-pub.pem", enc.pem(std.leaf.cert)),
        "chain": write("chain.p7b", enc.p7([std.root.cert, std.inter.cert], serialization.Encoding.DER)),
        "inter": write("issuing.cer", enc.der(std.inter.cert)),
        "root": write("root.pem", enc.pem(std.root.cert)),
        "csr": write("tomcat.csr", enc.pem(std.csr).decode().replace("CERTIFICATE REQUEST",
                                                                    "CERTIFICATE SIGN REQUEST")),
    }


def test_clean_check_exits_0_with_json_only_on_stdout(files, now):
    code, out, err = run_check("--cert", str(files["leaf"]), "--csr", str(files["csr"]),
                               "--chain", str(files["chain"]), "--unit", "tomcat", "--json", now=now)
    assert code == 0 and err == ""
    assert json.loads(out) == {"ok": True, "findings": []}


def test_chain_option_takes_several_files_either_way(files, now):
    for argv in (["--chain", str(files["root"]), str(files["inter"])],
                 ["--chain", str(files["root"]), "--chain", str(files["inter"])]):
        code, out, _ = run_check("--cert", str(files["leaf"]), *argv, "--json", now=now)
        assert code == 0, out


def test_errors_exit_2_and_json_has_the_contract_keys(pki, std, enc, write, files, now):
    wrong = pki.issue(std.inter, "cucm-pub.example.com", key=pki.key("old-csr-key"), sans_dns=std.sans,
                      eku=["serverAuth"])
    leaf = write("wrong.pem", enc.pem(wrong.cert))
    code, out, _ = run_check("--cert", str(leaf), "--csr", str(files["csr"]), "--chain", str(files["chain"]),
                             "--unit", "tomcat", "--json", now=now)
    doc = json.loads(out)
    assert code == 2 and doc["ok"] is False
    assert [f["code"] for f in doc["findings"]] == ["key-mismatch", "eku-missing"]
    for f in doc["findings"]:
        assert {"code", "severity", "message"} <= set(f) and f["severity"] == "error"


def test_warnings_only_exit_1(pki, std, enc, write, files, now):
    sha1 = pki.resign_legacy(std.leaf.cert, std.inter.key, "sha1")
    leaf = write("sha1.pem", enc.pem(sha1))
    code, out, _ = run_check("--cert", str(leaf), "--chain", str(files["chain"]), "--json", now=now)
    assert code == 1
    assert json.loads(out) == {"ok": True, "findings": [json.loads(out)["findings"][0]]}
    assert json.loads(out)["findings"][0]["code"] == "weak-signature"


def test_missing_file_names_it_and_exits_3(files, tmp_path, now):
    missing = tmp_path / "not-there.pem"
    code, out, err = run_check("--cert", str(files["leaf"]), "--chain", str(missing), "--json", now=now)
    assert code == 3 and out == ""
    assert str(missing) in err and err.count("\n") == 1


def test_unknown_unit_exits_3(files, now):
    code, out, err = run_check("--cert", str(files["leaf"]), "--unit", "tomcatt", now=now)
    assert code == 3 and out == "" and "unknown unit 'tomcatt'" in err and "tomcat-ECDSA" in err


def test_no_cert_option_exits_3(now):
    code, _, err = run_check(now=now)
    assert code == 3 and "--cert" in err


@pytest.mark.parametrize(("content", "phrase"), [
    (b"\x00\x01 garbage", "no certificate or CSR found"),
    (b"", "empty file"),
    ("csr", "holds a CSR, not a certificate"),
])
def test_a_cert_file_without_a_certificate_could_not_be_checked(content, phrase, std, enc, write, now):
    """Nothing to judge: a bad file, so "could not run" (3, design.md §3), not "errors found" (2)."""
    bad = write("bad.bin", enc.pem(std.csr) if content == "csr" else content)
    code, out, err = run_check("--cert", str(bad), "--json", now=now)
    assert code == 3 and out == ""
    assert phrase in err and "bad.bin" in err and err.startswith("ucterm: ") and err.count("\n") == 1


def test_unreadable_csr_content_is_a_finding(std, enc, write, files, now):
    bad = write("bad.bin", enc.pem(std.leaf.cert))
    code, out, _ = run_check("--cert", str(files["leaf"]), "--csr", str(bad), "--json", now=now)
    doc = json.loads(out)
    assert code == 2
    [f] = [f for f in doc["findings"] if f["code"] == "unreadable"]
    assert "holds a certificate, not a CSR" in f["message"] and "bad.bin" in f["message"]


def test_private_key_next_to_the_certificate_is_a_note(std, enc, write, files, now):
    key = std.leaf.key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                     serialization.NoEncryption())
    both = write("both.pem", key + enc.pem(std.leaf.cert))
    report = check_files(both, chains=[files["chain"]], now=now)
    assert report.findings == []
    assert any("private key" in n for n in report.notes)


def test_damaged_chain_file_is_unreadable(std, enc, write, files, now):
    text = enc.pem(std.inter.cert, std.root.cert).decode()
    damaged = write("damaged.pem", text[:200] + "%%%" + text[203:])
    report = check_files(files["leaf"], chains=[damaged], now=now)
    assert "unreadable" in report.codes()


def test_a_p7b_holding_the_whole_chain_as_cert(std, enc, write, now):
    bag = [std.root.cert, std.leaf.cert, std.inter.cert]
    p7b = write("certnew.p7b", enc.p7(bag, serialization.Encoding.PEM))
    report = check_files(p7b, unit="tomcat", now=now)
    assert report.findings == [] and report.leaf == std.leaf.cert


def test_readable_report(pki, std, enc, write, files, now):
    wrong = pki.issue(std.inter, "cucm-pub.example.com", key=pki.key("old-csr-key"), sans_dns=std.sans)
    leaf = write("wrong.pem", enc.pem(wrong.cert))
    code, out, err = run_check("--cert", str(leaf), "--csr", str(files["csr"]),
                               "--chain", str(files["chain"]), "--unit", "tomcat", now=now)
    assert code == 2 and err == ""
    saved = f"{dt.datetime.fromtimestamp(files['csr'].stat().st_mtime, dt.UTC):%Y-%m-%d}"
    expected_tree = (
        "  Example Root CA  [root, until 2040-01-01]\n"
        "  └─ Example Issuing CA  [intermediate, until 2035-01-01]\n"
        "     └─ cucm-pub.example.com  [leaf, until 2027-11-20]\n"
    )
    assert expected_tree in out or expected_tree.replace("└─", "`-") in out
    assert (f"fix: the CA issued this from a different CSR: submit the CSR in tomcat.csr (saved on {saved}) "
            "again") in out
    assert "ERROR    key-mismatch:" in out
    upload = out.split("Upload order\n", 1)[1]
    assert upload.index("root 'Example Root CA'") < upload.index("intermediate 'Example Issuing CA'") \
        < upload.index("leaf 'cucm-pub.example.com'")
    assert "tomcat-trust" in upload
    assert "Result: 1 error, 0 warnings: do not upload" in out
    assert "(357 days left)" in out


def test_report_of_an_incomplete_chain_in_ascii(std, now):
    report = check_material([std.leaf.cert], std.csr, unit="tomcat", now=now)
    text = check.render_report(report, now=now, unicode=False)
    assert "Chain (incomplete)" in text
    assert "[missing from the files] O=Example Corp,CN=Example Issuing CA" in text
    assert "`- cucm-pub.example.com  [leaf" in text
    assert "pass it with --chain" in text
    assert all(ord(ch) < 128 for ch in text)


def test_clean_report_says_ready(files, now):
    code, out, _ = run_check("--cert", str(files["leaf"]), "--chain", str(files["chain"]), now=now)
    assert code == 0 and "Findings\n  none" in out and "Result: clean, ready to upload." in out
    assert "<unit>-trust" in out


# -- through the real command line ------------------------------------------------------------

def ucterm(*args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "NO_COLOR": "1"}
    return subprocess.run([sys.executable, "-m", "ucterm", *args], capture_output=True, text=True, timeout=60,
                          cwd=REPO, env=env)


def test_cli_missing_file(tmp_path):
    missing = tmp_path / "nowhere.pem"
    result = ucterm("check", "--cert", str(missing), "--json")
    assert result.returncode == 3 and result.stdout == ""
    assert str(missing) in result.stderr and "Traceback" not in result.stderr


def test_cli_json_is_the_only_stdout(pki, std, enc, write):
    # Real clock here: the leaf is valid from 2021 to 2034 so the verdict does not depend on the day.
    leaf = pki.issue(std.inter, "cucm-pub.example.com", key=std.leaf.key, sans_dns=std.sans,
                     not_before="2021-06-01", not_after="2034-06-01")
    cert = write("leaf.pem", enc.pem(leaf.cert))
    chain = write("chain.pem", enc.pem(std.root.cert, std.inter.cert))
    csr = write("tomcat.csr", enc.pem(std.csr))
    result = ucterm("check", "--cert", str(cert), "--csr", str(csr), "--chain", str(chain),
                    "--unit", "tomcat", "--json")
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout) == {"ok": True, "findings": []}


def test_report_wraps_for_an_80_column_terminal(pki, std, now):
    wrong = pki.issue(std.inter, "cucm-pub.example.com", key=pki.key("old-csr-key"), sans_dns=std.sans)
    report = check_material([wrong.cert, std.inter.cert, std.root.cert], std.csr, unit="tomcat", now=now)
    text = check.render_report(report, now=now, width=80)
    findings = text.split("Findings\n", 1)[1].split("\n\n", 1)[0]
    assert all(len(line) <= 80 for line in findings.splitlines())
    assert "fix: the CA issued this from a different CSR" in findings


def test_cli_a_text_file_as_the_certificate_could_not_run(tmp_path):
    text = tmp_path / "hostname"
    text.write_text("cucm-pub\n")
    for target in ("/etc/hostname", str(text)) if Path("/etc/hostname").is_file() else (str(text),):
        result = ucterm("check", "--cert", target, "--json")
        assert result.returncode == 3 and result.stdout == "", result.stderr
        assert target in result.stderr and "no certificate" in result.stderr and "Traceback" not in result.stderr


def test_cli_a_self_signed_certificate_is_an_error(pki, std, enc, write):
    leaf = pki.issue(None, "cucm-pub.example.com", key=std.leaf.key, sans_dns=std.sans,
                     not_before="2025-01-01", not_after="2035-01-01")
    result = ucterm("check", "--cert", str(write("self.pem", enc.pem(leaf.cert))), "--unit", "tomcat")
    assert result.returncode == 2, result.stdout
    assert "self-signed" in result.stdout and "clean, ready to upload" not in result.stdout
