"""Every input format the issue lists loads; bad input is a problem, never an exception."""

from __future__ import annotations

import base64

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.serialization import pkcs12

from ucterm.errors import UctermError
from ucterm.pki import PkiError, load_bundle, load_csr_pem, load_file, load_paths, pem, sha256_hex, summarise


def fps(certs):
    return [sha256_hex(c) for c in certs]


def test_pem_single(std, enc):
    bundle = load_bundle(enc.pem(std.leaf.cert), "leaf.pem")
    assert fps(bundle.certificates) == fps([std.leaf.cert])
    assert bundle.problems == [] and not bundle.empty


def test_pem_crlf_and_email_junk_around_several_blocks(std, enc):
    body = enc.pem(std.leaf.cert, std.inter.cert, std.root.cert).decode().replace("\n", "\r\n")
    mail = ("Hello,\r\n\r\nplease find your certificate below.\r\n\r\n" + body
            + "\r\n-- \r\nJane Doe | PKI team | +1 555 0100\r\nThis e-mail is confidential.\r\n")
    bundle = load_bundle(mail.encode(), "mail.txt")
    assert fps(bundle.certificates) == fps([std.leaf.cert, std.inter.cert, std.root.cert])
    assert bundle.problems == []


def test_pem_quoted_in_a_reply_and_indented(std, enc):
    quoted = "".join(f">  {line}\n" for line in enc.pem(std.leaf.cert).decode().splitlines())
    # The BEGIN/END lines keep their `>` prefix: the armour is found anywhere on the line.
    bundle = load_bundle(quoted.encode())
    assert fps(bundle.certificates) == fps([std.leaf.cert])


def test_utf16_with_bom(std, enc):
    data = enc.pem(std.leaf.cert).decode().encode("utf-16")
    assert fps(load_bundle(data).certificates) == fps([std.leaf.cert])


def test_der(std, enc):
    bundle = load_bundle(enc.der(std.leaf.cert), "leaf.cer")
    assert fps(bundle.certificates) == fps([std.leaf.cert]) and bundle.problems == []


def test_concatenated_der(std, enc):
    bundle = load_bundle(enc.der(std.leaf.cert) + enc.der(std.inter.cert))
    assert fps(bundle.certificates) == fps([std.leaf.cert, std.inter.cert])


def test_bare_base64_without_armour(std, enc):
    text = base64.encodebytes(enc.der(std.leaf.cert))
    assert fps(load_bundle(text).certificates) == fps([std.leaf.cert])


@pytest.mark.parametrize("encoding", [serialization.Encoding.PEM, serialization.Encoding.DER])
def test_pkcs7(std, enc, encoding):
    data = enc.p7([std.root.cert, std.leaf.cert, std.inter.cert], encoding)
    bundle = load_bundle(data, "chain.p7b")
    assert set(fps(bundle.certificates)) == set(fps([std.root.cert, std.leaf.cert, std.inter.cert]))
    assert bundle.problems == []


def test_adcs_base64_p7b_under_a_certificate_header(std, enc):
    """AD CS web enrollment writes base64 PKCS#7 between CERTIFICATE armour lines."""
    b64 = base64.b64encode(enc.p7([std.leaf.cert, std.inter.cert], serialization.Encoding.DER)).decode()
    lines = [b64[i:i + 64] for i in range(0, len(b64), 64)]
    text = "-----BEGIN CERTIFICATE-----\r\n" + "\r\n".join(lines) + "\r\n-----END CERTIFICATE-----\r\n"
    bundle = load_bundle(text.encode())
    assert set(fps(bundle.certificates)) == set(fps([std.leaf.cert, std.inter.cert]))


@pytest.mark.parametrize("label",
                         ["CERTIFICATE REQUEST", "NEW CERTIFICATE REQUEST", "CERTIFICATE SIGN REQUEST"])
def test_csr_headers(std, enc, label):
    body = enc.pem(std.csr).decode().replace("CERTIFICATE REQUEST", label)
    bundle = load_bundle(body.encode())
    assert [c.public_bytes(serialization.Encoding.DER) for c in bundle.csrs] == [enc.der(std.csr)]
    assert load_csr_pem(body).public_bytes(serialization.Encoding.DER) == enc.der(std.csr)


def test_csr_as_vos_prints_it(std, enc):
    """Wrapped at 76 columns, CRLF, indented, ANSI codes around, legacy header."""
    b64 = base64.b64encode(enc.der(std.csr)).decode()
    lines = [b64[i:i + 76] for i in range(0, len(b64), 76)]
    text = ("admin:show csr own tomcat\r\n\x1b[K\r\n  -----BEGIN CERTIFICATE SIGN REQUEST-----\r\n"
            + "".join(f"  {line}  \r\n" for line in lines)
            + "  -----END CERTIFICATE SIGN REQUEST-----\r\n\x1b[1madmin:\x1b[0m")
    assert load_csr_pem(text).public_bytes(serialization.Encoding.DER) == enc.der(std.csr)


def test_der_csr(std, enc):
    assert len(load_bundle(enc.der(std.csr)).csrs) == 1


def test_load_csr_pem_without_csr_raises_pki_error(std, enc):
    with pytest.raises(PkiError) as info:
        load_csr_pem(enc.pem(std.leaf.cert).decode())
    assert isinstance(info.value, UctermError)
    assert "no readable CSR" in str(info.value)


def test_private_key_is_reported_not_read(std, enc):
    key_pem = std.leaf.key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                         serialization.NoEncryption())
    bundle = load_bundle(key_pem + enc.pem(std.leaf.cert))
    assert bundle.private_key
    assert "contains a private key, which ucterm never reads" in bundle.problems
    assert fps(bundle.certificates) == fps([std.leaf.cert])
    only_key = load_bundle(key_pem)
    assert only_key.empty and only_key.private_key


def test_pkcs12_is_recognised_as_carrying_a_private_key(std):
    pfx = pkcs12.serialize_key_and_certificates(b"tomcat", std.leaf.key, std.leaf.cert, None,
                                                serialization.NoEncryption())
    bundle = load_bundle(pfx)
    assert bundle.empty and bundle.private_key
    assert any("PKCS#12" in p for p in bundle.problems)


@pytest.mark.parametrize(("data", "phrase"), [
    (b"", "empty file"),
    (b"  \r\n\t\n", "empty file"),
    (b"hello, this is not a certificate", "no certificate or CSR found"),
    (b"\x00\x01\x02\x03garbage\xff", "no certificate or CSR found"),
    (b"-----BEGIN CERTIFICATE-----\nMIIB\n", "no matching END line"),
    (b"-----BEGIN CERTIFICATE-----\n!!!notbase64!!!\n-----END CERTIFICATE-----\n", "not base64"),
    (b"-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n", "damaged"),
    (b"-----BEGIN X509 CRL-----\nAAAA\n-----END X509 CRL-----\n", "neither a certificate nor a CSR"),
])
def test_unreadable_inputs_are_problems(data, phrase):
    bundle = load_bundle(data, "x")
    assert bundle.empty
    assert any(phrase in p for p in bundle.problems), bundle.problems


def test_damaged_block_next_to_good_ones(std, enc):
    good = enc.pem(std.leaf.cert).decode()
    broken = enc.pem(std.inter.cert).decode()
    broken = broken[:80] + "#" + broken[81:]
    bundle = load_bundle((good + broken).encode())
    assert fps(bundle.certificates) == fps([std.leaf.cert])
    assert bundle.damaged and bundle.problems


def test_cut_short_block_does_not_swallow_the_next(std, enc):
    first = enc.pem(std.inter.cert).decode().split("-----END")[0]
    bundle = load_bundle((first + enc.pem(std.leaf.cert).decode()).encode())
    assert fps(bundle.certificates) == fps([std.leaf.cert])
    assert bundle.damaged


def test_duplicates_are_dropped(std, enc):
    bundle = load_bundle(enc.pem(std.leaf.cert, std.leaf.cert))
    assert len(bundle.certificates) == 1


def test_load_file_missing_names_the_file(tmp_path):
    missing = tmp_path / "nope.pem"
    with pytest.raises(PkiError, match=r"nope\.pem: no such file"):
        load_file(missing)


def test_load_file_folder_and_load_paths(std, enc, write, tmp_path):
    write("leaf.pem", enc.pem(std.leaf.cert))
    write("chain.p7b", enc.p7([std.inter.cert], serialization.Encoding.DER))
    write(".hidden", b"junk")
    with pytest.raises(PkiError, match="is a folder"):
        load_file(tmp_path)
    bundles = list(load_paths([tmp_path]))
    assert [b.source.rsplit("/", 1)[-1] for b in bundles] == ["chain.p7b", "leaf.pem"]


def test_pem_round_trip(std):
    text = pem(std.leaf.cert)
    assert text.startswith("-----BEGIN CERTIFICATE-----\n")
    assert fps(load_bundle(text.encode()).certificates) == fps([std.leaf.cert])
    assert pem(std.csr).startswith("-----BEGIN CERTIFICATE REQUEST-----")


def test_windows_ber_p7b_with_indefinite_length(std, enc, recwarn):
    """Windows tools write BER (indefinite lengths); it loads, and no warning reaches the user."""
    der = enc.p7([std.leaf.cert, std.inter.cert], serialization.Encoding.DER)
    assert der[:2] == b"\x30\x82"
    ber = b"\x30\x80" + der[4:] + b"\x00\x00"
    bundle = load_bundle(ber, "certnew.p7b")
    assert set(fps(bundle.certificates)) == set(fps([std.leaf.cert, std.inter.cert]))
    assert bundle.problems == [] and len(recwarn) == 0


def test_a_negative_serial_is_a_problem_not_a_warning(std, enc, recwarn):
    der = enc.der(std.leaf.cert)
    serial = std.leaf.cert.serial_number
    raw = serial.to_bytes((serial.bit_length() + 8) // 8, "big")
    assert der.count(raw) == 1
    negative = der.replace(raw, b"\x80" + raw[1:])  # 0x80 first: negative and still minimal DER
    bundle = load_bundle(negative)
    assert len(bundle.certificates) == 1
    assert any("serial number is not positive" in p for p in bundle.problems)
    summarise(bundle.certificates[0])
    assert len(recwarn) == 0
