"""ANSI/CR cleaning, PEM re-wrapping, and XML safety."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ucterm.vos import text as vtext
from ucterm.vos import xmlsafe
from ucterm.vos.errors import UnsafeXml


def test_clean_removes_ansi_and_applies_overwrites() -> None:
    raw = "\x1b[1mPress <enter> for 1 line, <space> for one page, or <q> to quit\x1b[0m\r\x1b[Kline two\r\n"
    assert vtext.clean(raw) == "line two\n"
    less = "\x1b[1m\r\noptions: q=quit, n=next, p=prev, b=begin, e=end (lines 1 - 20 of 90) : \x1b[0m\r\nnext"
    assert vtext.clean(less).split("\n")[1].startswith("options: q=quit")
    assert vtext.clean("abcdef\rxy\x1b[K") == "xy"
    assert vtext.clean("a\x1b[Kadmin: \r\n") == "aadmin:\n"
    assert vtext.strip_ansi("ab\x08c") == "ac"
    assert vtext.lines("\r\n x \r\n\r\n") == [" x"]


def test_pem_blocks_rewrap_and_filter() -> None:
    body = "QUJD" * 40
    text = f"junk\r\n-----BEGIN CERTIFICATE-----\r\n{body[:100]}\r\n\x1b[K{body[100:]}\r\n-----END CERTIFICATE-----\r\n"
    [(label, pem)] = vtext.pem_blocks(text)
    assert label == "CERTIFICATE"
    assert all(len(line) <= 64 for line in pem.splitlines())
    assert "".join(pem.splitlines()[1:-1]) == body
    assert vtext.pem_blocks(text, ("CERTIFICATE REQUEST",)) == []


def test_xml_refuses_doctype_and_entities() -> None:
    bomb = b'<?xml version="1.0"?><!DOCTYPE lolz [<!ENTITY lol "lol">]><a>&lol;</a>'
    with pytest.raises(UnsafeXml, match="DOCTYPE or ENTITY"):
        xmlsafe.parse(bomb, node="n1")
    with pytest.raises(UnsafeXml, match="not well-formed"):
        xmlsafe.parse(b"<a><b></a>", node="n1")
    with pytest.raises(UnsafeXml):
        xmlsafe.parse("<a/>".encode("utf-16"), node="n1")
    root = xmlsafe.parse(b'<e:Envelope xmlns:e="x"><e:Body><item><Name>a</Name></item></e:Body></e:Envelope>')
    [item] = list(xmlsafe.iter_local(root, "item"))
    assert xmlsafe.child_text(item, "Name") == "a"
    assert xmlsafe.escape("<a&'b'>") == "&lt;a&amp;&apos;b&apos;&gt;"


@settings(max_examples=200, deadline=None)
@given(st.lists(st.sampled_from(["admin:", "abc", "\r\n", "\n", "\r", "\x1b[K", "\x1b[1m", "  ", "x\x08y",
                                 "-----BEGIN", "Paste"]), max_size=30),
       st.lists(st.integers(min_value=0, max_value=200), max_size=8))
def test_cleaning_read_by_read_equals_cleaning_at_once(pieces: list[str], cuts: list[int]) -> None:
    """The shell cleans a growing buffer after each read, re-cleaning only the unfinished line: the
    result must equal cleaning the whole text at once, wherever the reads split it (even inside
    an escape sequence or between \\r and \\n)."""
    from ucterm.vos.output import CommandOutput

    text = "".join(pieces)
    out = CommandOutput(limit=1 << 20)
    start = 0
    for cut in [*sorted(c for c in cuts if c <= len(text)), len(text)]:
        out.feed(text[start:max(start, cut)])
        start = max(start, cut)
        assert out.text() == vtext.clean(text[:start])
