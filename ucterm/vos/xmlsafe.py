"""Parsing XML from appliances without the classic XML attacks, using only the standard library.

SOAP and AXL answers never need a DOCTYPE. Refusing any `<!DOCTYPE` or `<!ENTITY` before
`xml.etree` sees the text rules out entity expansion ("billion laughs") and external entities,
which is what defusedxml would do for us, without a new dependency.
"""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from collections.abc import Iterator

from ucterm.vos.errors import UnsafeXml

MAX_XML_BYTES = 16 * 1024 * 1024
_FORBIDDEN_RE = re.compile(rb"<!\s*(?:DOCTYPE|ENTITY)", re.IGNORECASE)


def parse(data: bytes | str, *, node: str = "", what: str = "the XML answer") -> ET.Element:
    """The root element of `data`; :class:`UnsafeXml` for DOCTYPE/ENTITY, oversize or malformed XML."""
    raw = data.encode("utf-8") if isinstance(data, str) else data
    if len(raw) > MAX_XML_BYTES:
        raise UnsafeXml(f"{node}: {what} is {len(raw)} bytes, more than ucterm accepts; it was not parsed.", node=node)
    # UTF-16 documents would hide the declaration from a byte search; SOAP/AXL answer in UTF-8.
    if raw[:2] in (b"\xff\xfe", b"\xfe\xff") or b"\x00" in raw[:64]:
        raise UnsafeXml(f"{node}: {what} is not UTF-8 XML; it was not parsed.", node=node)
    if _FORBIDDEN_RE.search(raw):
        raise UnsafeXml(
            f"{node}: {what} contains a DOCTYPE or ENTITY declaration, which ucterm refuses to "
            "parse; check what answers on that port.",
            node=node,
        )
    try:
        return ET.fromstring(raw)
    except ET.ParseError as exc:
        raise UnsafeXml(
            f"{node}: {what} is not well-formed XML ({exc}); check what answers on that port.", node=node
        ) from None


def local(tag: str) -> str:
    """`{namespace}name` → `name`."""
    return tag.rsplit("}", 1)[-1]


def iter_local(root: ET.Element, name: str) -> Iterator[ET.Element]:
    """Every descendant (or the root) whose local name is `name`, namespaces ignored."""
    for el in root.iter():
        if local(el.tag) == name:
            yield el


def child_text(el: ET.Element, name: str) -> str | None:
    """Text of the first direct child with local name `name` (None when absent)."""
    for child in el:
        if local(child.tag) == name:
            return (child.text or "").strip()
    return None


def escape(text: str) -> str:
    """Text for an XML element body."""
    return (
        text.replace("&", "&amp;")
        .replace("<", "&lt;")
        .replace(">", "&gt;")
        .replace('"', "&quot;")
        .replace("'", "&apos;")
    )
