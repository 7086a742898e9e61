"""Reading CII safely: a hardened parser and small typed accessors that fail with a location.

Every accessor raises :class:`ParseError` whose location is the element path in CII prefixes
(``/rsm:CrossIndustryInvoice/.../ram:IncludedSupplyChainTradeLineItem[2]/ram:BilledQuantity``)
with the source line where the document has one, and whose message says what was expected.
"""

from __future__ import annotations

import datetime as dt
import functools
from decimal import Decimal

from lxml import etree

from gateway.errors import ParseError
from mappings.cii.codes import DATE_FORMAT, NAMESPACES
from mappings.numbers import AMOUNT, Kind, read_decimal
from mappings.xmlsafe import read_xml

Element = etree._Element

_PREFIX = {uri: prefix for prefix, uri in NAMESPACES.items()}


def parse_xml(data: bytes) -> Element:
    """The root element of ``data`` read with the hardened parser; no DOCTYPE allowed."""
    return read_xml(data, "CII")


def _step(element: Element) -> str:
    qname = etree.QName(element)
    prefix = _PREFIX.get(qname.namespace or "", "")
    name = f"{prefix}:{qname.localname}" if prefix else qname.localname
    parent = element.getparent()
    if parent is None:
        return name
    same = [e for e in parent if e.tag == element.tag]
    if len(same) > 1:
        return f"{name}[{same.index(element) + 1}]"
    return name


def path_of(element: Element) -> str:
    """The element's path in CII prefixes, 1-based indexes where a name repeats."""
    steps: list[str] = []
    node: Element | None = element
    while node is not None:
        steps.append(_step(node))
        node = node.getparent()
    return "/" + "/".join(reversed(steps))


def location(element: Element, child: str = "") -> str:
    """``path_of(element)`` (plus ``/child`` when naming a missing child) and the source line."""
    path = path_of(element) + (f"/{child}" if child else "")
    line = element.sourceline
    return f"{path} (line {line})" if line else path


@functools.lru_cache(maxsize=512)
def _clark(path: str) -> str:
    """``ram:A/ram:B`` -> ``{urn...}A/{urn...}B``: lxml caches paths given without a prefix map."""
    steps = []
    for step in path.split("/"):
        prefix, _, local = step.rpartition(":")
        steps.append(f"{{{NAMESPACES[prefix]}}}{local}" if prefix else step)
    return "/".join(steps)


def find(element: Element, path: str) -> Element | None:
    """The first element at ``path`` (``ram:A/ram:B``) below ``element``, or None."""
    return element.find(_clark(path))


def find_all(element: Element, path: str) -> list[Element]:
    """Every element at ``path`` below ``element``, in document order."""
    return element.findall(_clark(path))


def text(element: Element | None, path: str) -> str | None:
    """Stripped text at ``path``; None when the element is absent or empty."""
    if element is None:
        return None
    found = element.find(_clark(path))
    if found is None or found.text is None:
        return None
    value = found.text.strip()
    return value or None


def required(element: Element, path: str, term: str) -> str:
    """Text at ``path``; ParseError naming the business term when absent or empty."""
    value = text(element, path)
    if value is None:
        raise ParseError(
            f"missing mandatory element ({term}): expected a non-empty {path}",
            location(element, path),
        )
    return value


def _decimal_of(node: Element, kind: Kind = AMOUNT) -> Decimal:
    try:  # the location only for the error: it walks every ancestor and its siblings
        return read_decimal(node.text, "", kind=kind)
    except ParseError as exc:
        raise ParseError(str(exc), location(node)) from None


def decimal(element: Element | None, path: str, kind: Kind = AMOUNT) -> Decimal | None:
    """The decimal at ``path`` or None when absent; ParseError for anything but a number in
    the range of ``kind`` (see :mod:`mappings.numbers`)."""
    if element is None:
        return None
    found = element.find(_clark(path))
    if found is None:
        return None
    return _decimal_of(found, kind)


def required_decimal(element: Element, path: str, term: str, kind: Kind = AMOUNT) -> Decimal:
    """The decimal at ``path``; ParseError when absent or not a number in range."""
    found = element.find(_clark(path))
    if found is None:
        raise ParseError(
            f"missing mandatory element ({term}): expected a decimal {path}",
            location(element, path),
        )
    return _decimal_of(found, kind)


def decimal_of(node: Element, kind: Kind = AMOUNT) -> Decimal:
    """The decimal content of ``node`` itself."""
    return _decimal_of(node, kind)


def date(element: Element | None, path: str) -> dt.date | None:
    """A date at ``path`` given as ``udt:DateTimeString``/``udt:DateString``/``qdt:DateTimeString``
    with ``format="102"`` (CCYYMMDD); None when absent; ParseError for any other form."""
    if element is None:
        return None
    holder = element.find(_clark(path))
    if holder is None:
        return None
    node = None
    for child in holder:
        if isinstance(child.tag, str) and etree.QName(child).localname in (
            "DateTimeString",
            "DateString",
        ):
            node = child
            break
    if node is None:
        raise ParseError('expected a udt:DateTimeString child with format="102"', location(holder))
    raw = (node.text or "").strip()
    fmt = node.get("format")
    if fmt != DATE_FORMAT:
        raise ParseError(
            f"expected date format 102 (CCYYMMDD), got format={fmt!r} with {raw!r}", location(node)
        )
    if len(raw) != 8 or not raw.isdigit():
        raise ParseError(f"expected a date in format 102 (CCYYMMDD), got {raw!r}", location(node))
    try:
        return dt.date(int(raw[:4]), int(raw[4:6]), int(raw[6:]))
    except ValueError as exc:
        raise ParseError(f"not a calendar date: {raw!r} ({exc})", location(node)) from exc
