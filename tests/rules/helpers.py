"""A valid base invoice for rule tests and a helper that names the rule ids a check reports."""

from __future__ import annotations

from typing import Any

from builders import simple_invoice

from gateway.model import Contact, Identifier, Invoice
from gateway.rules import check
from gateway.totals import complete

ALL_SETS = ("en16931", "peppol", "xrechnung")


def base(**changes: Any) -> Invoice:
    """simple_invoice made valid for all three rule sets (GLN endpoints, seller contact)."""
    invoice = simple_invoice(3)
    seller = invoice.seller.model_copy(update={
        "electronic_address": Identifier(value="4000001123452", scheme="0088"),
        "contact": Contact(name="Anna Muster", phone="+49 30 1234567", email="anna@example.com"),
    })
    buyer = invoice.buyer.model_copy(update={
        "electronic_address": Identifier(value="4000001987658", scheme="0088")})
    invoice = invoice.model_copy(update={"seller": seller, "buyer": buyer, **changes})
    return complete(invoice)


def rules_of(invoice: Invoice, sets: tuple[str, ...] = ALL_SETS) -> set[str]:
    """The rule ids the in-process check reports for ``invoice``."""
    return {p.rule for p in check(invoice, sets)}


def edit(invoice: Invoice, path: str, value: Any) -> Invoice:
    """A copy of ``invoice`` with the dotted ``path`` (``lines.0.price.net``) set to ``value``."""
    head, _, rest = path.partition(".")
    if not rest:
        return invoice.model_copy(update={head: value})
    if head.isdigit():
        raise ValueError("paths start at a field")
    child = getattr(invoice, head)
    if isinstance(child, tuple):
        index, _, rest = rest.partition(".")
        items = list(child)
        items[int(index)] = edit(items[int(index)], rest, value) if rest else value
        return invoice.model_copy(update={head: tuple(items)})
    return invoice.model_copy(update={head: edit(child, rest, value)})
