"""Reading untrusted XML: one hardened lxml parser for every inbound syntax."""

from __future__ import annotations

import re
from typing import Any

from lxml import etree

from gateway.errors import ParseError

Element = etree._Element

# No network, no DTD loading, no entity expansion, no huge-tree override. A fresh parser per
# call: lxml parsers are not safe to share between threads.
_OPTIONS: dict[str, Any] = {
    "resolve_entities": False,
    "no_network": True,
    "load_dtd": False,
    "dtd_validation": False,
    "huge_tree": False,
    "remove_comments": True,
    "remove_pis": True,
}


def read_xml(data: bytes, syntax: str, *, allow_doctype: bool = False) -> Element:
    """The root element of ``data``; malformed XML is a ParseError with line and column.

    A DOCTYPE is refused unless ``allow_doctype`` (cXML declares its DTD); even then its internal
    subset is refused, since entity declarations are the way in for XXE and expansion attacks.
    """
    if not isinstance(data, bytes | bytearray):
        raise ParseError(f"expected bytes, got {type(data).__name__}", "")
    try:
        root = etree.fromstring(bytes(data), etree.XMLParser(**_OPTIONS))
    except etree.XMLSyntaxError as exc:
        line, column = exc.position if exc.position else (exc.lineno, 0)
        raise ParseError(f"malformed XML: {exc.msg}", f"line {line}, column {column}") from None
    if root is None:
        raise ParseError("empty document", "line 1")
    docinfo: Any = root.getroottree().docinfo
    # lxml reports a DTD object for any DOCTYPE (even SYSTEM-only); an internal subset shows as
    # declarations in it or as a '[' in the DOCTYPE before the root element.
    internal: Any = docinfo.internalDTD
    subset = internal is not None and (
        any(True for _ in internal.iterentities()) or any(True for _ in internal.elements())
    )
    head = bytes(data).split(b"<" + root.tag.encode("utf-8", "replace"), 1)[0]
    subset = subset or re.search(rb"<!DOCTYPE[^>\[]*\[", head) is not None
    if subset:
        raise ParseError(
            f"a DOCTYPE with an internal subset ([...] entity or element declarations) is not "
            f"allowed in a {syntax} document; expected "
            + ("at most an external DTD reference" if allow_doctype else "no DOCTYPE"),
            "line 1",
        )
    if docinfo.doctype and not allow_doctype:
        raise ParseError(
            f"a DOCTYPE is not allowed in a {syntax} document; expected none", "line 1"
        )
    return root
