"""Reading UBL XML safely and with locations: a hardened lxml parser and small typed accessors.

Every accessor takes an element and a relative path with the ``cac``/``cbc`` prefixes; every
failure is a :class:`ParseError` whose location is the element path in the document.
"""

from __future__ import annotations

import datetime as dt
import functools
import re
from decimal import Decimal
from typing import Any, TypeVar

from lxml import etree
from pydantic import BaseModel, ValidationError

from gateway.errors import ParseError
from gateway.model import Identifier
from mappings.numbers import AMOUNT, Kind, read_decimal
from mappings.ubl.names import CAC_NS, CBC_NS, PREFIXES
from mappings.xmlsafe import read_xml as safe_read_xml

Element = etree._Element
M = TypeVar("M", bound=BaseModel)

NS = {"cac": CAC_NS, "cbc": CBC_NS}
_DATE = re.compile(r"^\s*(\d{4}-\d{2}-\d{2})(?:Z|[+-]\d{2}:\d{2})?\s*$")


@functools.lru_cache(maxsize=1024)
def clark(rel: str) -> str:
    """``cac:A/cbc:B`` -> ``{urn..}A/{urn..}B``: lxml caches a path given without a prefix map
    (a fifth cheaper than passing :data:`NS`, on the ~70 lookups of a two-line invoice)."""
    steps = []
    for step in rel.split("/"):
        prefix, _, local = step.rpartition(":")
        steps.append(f"{{{NS[prefix]}}}{local}" if prefix in NS else step)
    return "/".join(steps)


def path_of(el: Element) -> str:
    """The element path of ``el``: ``/Invoice/cac:InvoiceLine[3]/cbc:InvoicedQuantity``.

    A position ``[n]`` (1-based) is shown where the parent has several children of that name.
    """
    steps: list[str] = []
    node: Element | None = el
    while node is not None:
        qname = etree.QName(node)
        prefix = PREFIXES.get(qname.namespace or "")
        name = f"{prefix}:{qname.localname}" if prefix else qname.localname
        parent = node.getparent()
        if parent is not None:
            same = [c for c in parent if c.tag == node.tag]
            if len(same) > 1:
                name = f"{name}[{same.index(node) + 1}]"
        steps.append(name)
        node = parent
    return "/" + "/".join(reversed(steps))


def where(el: Element, rel: str) -> str:
    """Path of the (missing) element ``rel`` below ``el``."""
    return f"{path_of(el)}/{rel}"


def has_text(el: Element) -> bool:
    """True when ``el`` has non-blank text."""
    return el.text is not None and bool(el.text.strip())


def text(el: Element, rel: str) -> str | None:
    """Text of the element at ``rel`` below ``el``; None when absent or blank."""
    found = el.find(clark(rel))
    if found is None or found.text is None or not found.text.strip():
        return None
    return found.text


def need(el: Element, rel: str, what: str) -> str:
    """Text at ``rel``; ParseError naming ``what`` was expected when absent or blank."""
    value = text(el, rel)
    if value is None:
        raise ParseError(f"missing mandatory element: expected {what}", where(el, rel))
    return value


def decimal_of(found: Element, kind: Kind = AMOUNT) -> Decimal:
    """The xs:decimal in ``found`` within the range of ``kind`` (see :mod:`mappings.numbers`);
    ParseError at ``found`` naming the value and what is accepted otherwise.

    The element's path is worked out only for the error: :func:`path_of` walks every ancestor
    and its siblings, which cost a quarter of a UBL parse when done for every amount."""
    try:
        return read_decimal(found.text, "", kind=kind)
    except ParseError as exc:
        raise ParseError(str(exc), path_of(found)) from None


def decimal(el: Element, rel: str, kind: Kind = AMOUNT) -> Decimal | None:
    """Decimal at ``rel``; None when absent or blank; ParseError when not a number in range."""
    found = el.find(clark(rel))
    if found is None or found.text is None or not found.text.strip():
        return None
    return decimal_of(found, kind)


def need_decimal(el: Element, rel: str, what: str, kind: Kind = AMOUNT) -> Decimal:
    """Decimal at ``rel``; ParseError when absent, blank or not a number in range."""
    found = el.find(clark(rel))
    if found is None or found.text is None or not found.text.strip():
        raise ParseError(f"missing mandatory element: expected {what}", where(el, rel))
    return decimal_of(found, kind)


def date_of(found: Element) -> dt.date:
    """The ``YYYY-MM-DD`` date in ``found`` (an xs:date time zone is ignored)."""
    raw = found.text or ""
    match = _DATE.match(raw)
    try:
        if match is None:
            raise ValueError(raw)
        return dt.date.fromisoformat(match.group(1))
    except ValueError:
        raise ParseError(
            f"expected a date YYYY-MM-DD, got {raw.strip()!r}", path_of(found)
        ) from None


def date(el: Element, rel: str) -> dt.date | None:
    """Date at ``rel``; None when absent or blank; ParseError when not a date."""
    found = el.find(clark(rel))
    if found is None or found.text is None or not found.text.strip():
        return None
    return date_of(found)


def need_date(el: Element, rel: str, what: str) -> dt.date:
    """Date at ``rel``; ParseError when absent, blank or not a date."""
    found = el.find(clark(rel))
    if found is None or found.text is None or not found.text.strip():
        raise ParseError(f"missing mandatory element: expected {what}", where(el, rel))
    return date_of(found)


def ident(el: Element, rel: str) -> Identifier | None:
    """Identifier (text and ``schemeID``) at ``rel``; None when absent or blank."""
    found = el.find(clark(rel))
    if found is None or found.text is None or not found.text.strip():
        return None
    return Identifier(value=found.text, scheme=found.get("schemeID") or None)


def build(cls: type[M], where: Element, **values: Any) -> M:
    """``cls(**values)``; a model constraint failure becomes a ParseError at element ``where``.

    The path is computed only on failure: it costs a walk over ancestors and siblings.
    """
    try:
        return cls(**values)
    except ValidationError as exc:
        first = exc.errors()[0]
        field = ".".join(str(p) for p in first["loc"])
        raise ParseError(
            f"{cls.__name__}.{field}: {first['msg']} (value {first.get('input')!r})",
            path_of(where),
        ) from None


def read_xml(data: bytes) -> Element:
    """The root element of ``data`` read with the hardened parser; no DOCTYPE allowed."""
    return safe_read_xml(data, "UBL")
