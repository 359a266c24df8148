"""Redaction: no password or private key ever reaches a transcript event."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from tests.vos.certs import make_cert, make_csr, pem, private_key_pem
from ucterm.events import Event, TranscriptLine
from ucterm.vos.transcript import LineRedactor, Transcript, redact

KEY = private_key_pem()


def test_redact_password_and_private_key() -> None:
    text = f"password is s3cret!\n{KEY}after"
    out = redact(text, ["s3cret!"])
    assert "s3cret!" not in out
    assert "PRIVATE KEY" not in out.replace("<private key redacted>", "")
    assert "<private key redacted>" in out and out.endswith("after")


def test_redact_truncated_private_key() -> None:
    truncated = KEY[: len(KEY) // 2]
    out = redact("before\n" + truncated)
    body_line = KEY.splitlines()[1]
    assert body_line not in out and out.startswith("before")


def test_certificates_are_shortened_to_subject_and_serial() -> None:
    cert = make_cert("cucm-sub.example.com", serial=0xBEEF)
    out = redact("paste:\n" + pem(cert) + "done")
    assert out == "paste:\n<certificate CN=cucm-sub.example.com serial=beef>\ndone"
    legacy = pem(make_csr("imp1.example.com")).replace("CERTIFICATE REQUEST", "CERTIFICATE SIGN REQUEST")
    assert redact(legacy).strip() == "<certificate request CN=imp1.example.com>"


def test_line_redactor_holds_blocks_until_they_end() -> None:
    r = LineRedactor(lambda: ["pw"])
    shown: list[str] = []
    for line in ["say pw", *KEY.splitlines(), *pem(make_cert()).splitlines(), "tail"]:
        shown += r.feed(line)
    shown += r.flush()
    assert shown[0] == "say ***"
    assert shown[1] == "<private key redacted>"
    assert shown[2].startswith("<certificate CN=")
    assert shown[3] == "tail"
    r2 = LineRedactor()
    assert r2.feed(KEY.splitlines()[0]) == []
    assert r2.feed(KEY.splitlines()[1]) == []
    assert r2.flush() == ["<private key redacted> (incomplete)"]


async def test_transcript_chunks_split_anywhere() -> None:
    events: list[Event] = []
    t = Transcript("n1", events.append, secrets=lambda: ["hunter2"])
    data = "line one hunter2\r\n" + KEY.replace("\n", "\r\n") + "\x1b[Kadmin:"
    for i in range(0, len(data), 7):
        await t.received(data[i : i + 7])
    await t.flush()
    await t.sent("set cert import own tomcat\n" + pem(make_cert()))
    lines = [e for e in events if isinstance(e, TranscriptLine)]
    texts = [e.text for e in lines]
    assert texts[0] == "line one ***"
    assert texts[1] == "<private key redacted>"
    assert texts[2] == "admin:"
    assert texts[3] == "set cert import own tomcat" and texts[4].startswith("<certificate CN=")
    joined = "\n".join(texts)
    assert "hunter2" not in joined and "PRIVATE KEY-----" not in joined


@settings(max_examples=200, deadline=None)
@given(
    prefix=st.text(max_size=40),
    suffix=st.text(max_size=40),
    secret=st.text(alphabet=st.characters(min_codepoint=33, max_codepoint=126), min_size=6, max_size=20),
)
def test_redact_never_leaks_a_secret(prefix: str, suffix: str, secret: str) -> None:
    out = redact(prefix + secret + suffix + "\n" + KEY, [secret])
    assert secret not in out
    assert KEY.splitlines()[2] not in out
