"""One counting rule for days left, and every output that says it agrees (scan rows, lint, check, TUI).

The bug this guards: a certificate that expired 3 days and 12 hours ago showed "expired 4d ago"
in the detail pane beside its own lint finding "(3 days ago)".
"""

from __future__ import annotations

import datetime as dt
import io
import re

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from ucterm.expiry import ago_words, days_left, is_expired, left_short, left_words
from ucterm.pki import lint
from ucterm.scan.model import status_at
from ucterm.scan.rows import RecordMaker

NOW = dt.datetime(2026, 11, 27, 8, 0, tzinfo=dt.UTC)
H = dt.timedelta(hours=1)
D = dt.timedelta(days=1)


@pytest.mark.parametrize(("offset", "days", "expired"), [
    (12 * D + 20 * H, 12, False),
    (12 * D, 12, False),
    (20 * H, 0, False),
    (dt.timedelta(0), 0, False),
    (-H, 0, True),
    (-(3 * D + 12 * H), -3, True),  # floor said -4: "expired 4d ago" for an expiry 3 days back
    (-3 * D, -3, True),
])
def test_whole_days_toward_zero(offset: dt.timedelta, days: int, expired: bool) -> None:
    assert days_left(NOW + offset, NOW) == days
    assert is_expired(NOW + offset, NOW) is expired


def test_words() -> None:
    assert left_short(12, False) == "12d left" and left_short(-3, True) == "expired 3d ago"
    assert left_short(0, True) == "expired today" and left_short(0, False) == "expires today"
    assert left_words(1, False) == "1 day left" and left_words(-1, True) == "expired 1 day ago"
    assert ago_words(-3) == "3 days ago" and ago_words(0) == "today"


def test_status_on_the_expiry_day_follows_the_moment_not_the_sign() -> None:
    assert status_at(NOW - H, NOW, warn_days=60, crit_days=14) == ("expired", 0)
    assert status_at(NOW + H, NOW, warn_days=60, crit_days=14) == ("critical", 0)


def _cert(not_after: dt.datetime) -> x509.Certificate:
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "cucm-pub.example.com")])
    return (x509.CertificateBuilder().subject_name(name).issuer_name(name).public_key(key.public_key())
            .serial_number(1).not_valid_before(not_after - 730 * D).not_valid_after(not_after)
            .sign(key, hashes.SHA256()))


def test_scan_row_lint_and_check_say_the_same_number(tmp_path) -> None:  # type: ignore[no-untyped-def]
    cert = _cert(NOW - (3 * D + 12 * H))
    row = RecordMaker("hq", "cucm-pub", 60, 14, NOW).record(cert, unit="tomcat", store="own", source="cli")
    assert row.days_left == -3 and row.status == "expired"
    assert row.to_json()["days_left"] == -3
    messages = [f.message for f in lint(cert, unit="tomcat", multi_server=False, now=NOW) if f.code == "expired"]
    assert messages and "(3 days ago)" in messages[0]

    from cryptography.hazmat.primitives.serialization import Encoding

    from ucterm.cli import build_parser, check

    path = tmp_path / "leaf.pem"
    path.write_bytes(cert.public_bytes(Encoding.PEM))
    out, err = io.StringIO(), io.StringIO()
    check.run(build_parser().parse_args(["check", "--cert", str(path), "--unit", "tomcat"]), now=NOW,
              stdout=out, stderr=err)
    text = out.getvalue()
    assert "expired 3 days ago" in text and "(3 days ago)" in text
    assert not re.search(r"\b4 days? ago", text)
