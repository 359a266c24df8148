"""Property: whatever bytes arrive, the loader answers with a clean result, never an exception.

Random bytes, mangled PEM (cut, spliced, re-wrapped, junk inserted) and bit-flipped DER are fed
to `load_bundle`; whatever it returns must be usable by everything downstream (summarise,
sans_of, check_material), because a certificate that loads but crashes the linter is the same
failure one step later.
"""

from __future__ import annotations

import contextlib
import datetime as dt

import pytest
from cryptography.hazmat.primitives import serialization
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ucterm.pki import PkiError, check_material, load_bundle, load_csr_pem, sans_of, summarise

NOW = dt.datetime(2026, 11, 27, 8, 0, tzinfo=dt.UTC)
SETTINGS = settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow],
                    derandomize=True)
PEM_ALPHABET = st.sampled_from(list("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
                                    "0123456789+/=-\r\n >:#"))


@pytest.fixture(scope="module")
def samples(std, enc):
    """Valid inputs to mangle: PEM chains, PKCS#7, CSRs, DER."""
    chain = [std.leaf.cert, std.inter.cert, std.root.cert]
    texts = [
        enc.pem(*chain).decode(),
        enc.pem(std.csr).decode().replace("CERTIFICATE REQUEST", "CERTIFICATE SIGN REQUEST"),
        enc.p7(chain, serialization.Encoding.PEM).decode(),
        "Hi,\r\n" + enc.pem(std.leaf.cert).decode().replace("\n", "\r\n") + "-- \r\nBob\r\n",
    ]
    ders = [enc.der(std.leaf.cert), enc.der(std.csr), enc.p7(chain, serialization.Encoding.DER)]
    return texts, ders


def assert_clean(data: bytes) -> None:
    bundle = load_bundle(data, "fuzz")
    assert isinstance(bundle.problems, list)
    if bundle.empty:
        assert bundle.problems, "an unreadable input must say why"
    for cert in bundle.certificates:
        summarise(cert, NOW)
        sans_of(cert)
    for csr in bundle.csrs:
        sans_of(csr)
    if bundle.certificates:
        report = check_material(bundle.certificates, bundle.csrs[0] if bundle.csrs else None,
                                unit="tomcat", now=NOW)
        assert report.exit_code in (0, 1, 2)
    with contextlib.suppress(PkiError):  # the one exception load_csr_pem may raise
        load_csr_pem(data.decode("latin-1"))


@SETTINGS
@given(st.binary(max_size=3000))
def test_random_bytes(data):
    assert_clean(data)


@st.composite
def mangled_text(draw, texts):
    text = draw(st.sampled_from(texts))
    for _ in range(draw(st.integers(1, 4))):
        at = draw(st.integers(0, len(text)))
        op = draw(st.sampled_from(["cut", "insert", "truncate", "duplicate", "rewrap"]))
        if op == "cut":
            text = text[:at] + text[at + draw(st.integers(1, 80)):]
        elif op == "insert":
            text = text[:at] + draw(st.text(PEM_ALPHABET, min_size=1, max_size=30)) + text[at:]
        elif op == "truncate":
            text = text[:at]
        elif op == "duplicate":
            text = text[:at] + text[max(0, at - 200):at] + text[at:]
        else:
            width = draw(st.integers(1, 100))
            flat = text.replace("\r", "").replace("\n", "")
            text = "\n".join(flat[i:i + width] for i in range(0, len(flat), width))
    return text


@SETTINGS
@given(data=st.data())
def test_mangled_pem(samples, data):
    texts, _ = samples
    text = data.draw(mangled_text(texts))
    encoding = data.draw(st.sampled_from(["latin-1", "utf-8", "utf-16"]))
    assert_clean(text.encode(encoding, errors="replace"))


@SETTINGS
@given(data=st.data())
def test_bit_flipped_der(samples, data):
    _, ders = samples
    der = bytearray(data.draw(st.sampled_from(ders)))
    for _ in range(data.draw(st.integers(1, 6))):
        at = data.draw(st.integers(0, len(der) - 1))
        der[at] = data.draw(st.integers(0, 255))
    cut = data.draw(st.integers(0, len(der)))
    assert_clean(bytes(der[:cut] if data.draw(st.booleans()) else der))
