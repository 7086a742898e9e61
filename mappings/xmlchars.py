"""Refusing what XML 1.0 cannot carry, for the string-building renderers (UBL, CII).

Intake refuses such characters already (:mod:`gateway.intake.clean`); an invoice built in code
or parsed from another syntax reaches a renderer without that check, so the renderers check
their output once more: one C-speed pass over the bytes, the slow path only on failure.
"""

from __future__ import annotations

from collections.abc import Iterator

from gateway.errors import InvoiceRejected, Problem
from gateway.intake.clean import NOT_XML, NOT_XML_ACCEPTED, not_xml_message
from gateway.model import Invoice, bt_of

# C0 controls but tab, line feed and carriage return.
_C0_BYTES = bytes(c for c in range(32) if c not in (9, 10, 13))


def _strings(value: object, path: str) -> Iterator[tuple[str, str]]:
    if isinstance(value, str):
        yield path, value
    elif isinstance(value, dict):
        for key, item in value.items():
            yield from _strings(item, f"{path}.{key}" if path else str(key))
    elif isinstance(value, list | tuple):
        for n, item in enumerate(value):
            yield from _strings(item, f"{path}[{n}]")


def not_xml(invoice: Invoice) -> InvoiceRejected:
    """Name every field holding a character XML cannot carry, with character and position."""
    problems = [
        Problem(
            invoice.number,
            path,
            bt_of(path),
            value,
            "INPUT",
            not_xml_message(value),
            NOT_XML_ACCEPTED,
        )
        for path, value in _strings(invoice.model_dump(), "")
        if NOT_XML.search(value) is not None
    ]
    return InvoiceRejected(invoice.number, problems)


def xml_bytes(text: str, invoice: Invoice) -> bytes:
    """``text`` as UTF-8; :class:`InvoiceRejected` naming the fields when it cannot be XML 1.0."""
    try:
        data = text.encode("utf-8")  # fails on lone surrogates
    except UnicodeEncodeError:
        raise not_xml(invoice) from None
    if len(data.translate(None, _C0_BYTES)) != len(data) or "\ufffe" in text or "\uffff" in text:
        raise not_xml(invoice)
    return data
