"""A valid base invoice for rule tests and a helper that names the rule ids a check reports.

Every check made through :func:`checked` (and so :func:`rules_of`) also proves that each finding
reports the value the rule tested: the value at the finding's path (issue 10 item 6).
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Any

from builders import simple_invoice
from pydantic import BaseModel

from gateway.errors import Problem
from gateway.model import Contact, Identifier, Invoice
from gateway.rules import check
from gateway.totals import complete

ALL_SETS = ("en16931", "peppol", "xrechnung")


def base(**changes: Any) -> Invoice:
    """simple_invoice made valid for all three rule sets (GLN endpoints, seller contact)."""
    invoice = simple_invoice(3)
    seller = invoice.seller.model_copy(
        update={
            "electronic_address": Identifier(value="4000001123452", scheme="0088"),
            "contact": Contact(
                name="Anna Muster", phone="+49 30 1234567", email="anna@example.com"
            ),
        }
    )
    buyer = invoice.buyer.model_copy(
        update={"electronic_address": Identifier(value="4000001987658", scheme="0088")}
    )
    invoice = invoice.model_copy(update={"seller": seller, "buyer": buyer, **changes})
    return complete(invoice)


def rules_of(invoice: Invoice, sets: tuple[str, ...] = ALL_SETS) -> set[str]:
    """The rule ids the in-process check reports for ``invoice``."""
    return {p.rule for p in checked(invoice, sets)}


def checked(invoice: Invoice, sets: Sequence[str] = ALL_SETS, syntax: str = "ubl") -> list[Problem]:
    """:func:`gateway.rules.check`, asserting that no finding misreports its value."""
    problems = check(invoice, sets, syntax=syntax)
    wrong = misreported(invoice, problems)
    assert not wrong, "\n".join(wrong)
    return problems


_PART = re.compile(r"([^.\[\]]+)|\[(\d+)\]")
NOWHERE: Any = object()


def value_at(invoice: Invoice, path: str) -> object:
    """The value at a finding's model path (``lines[2].price.net``); NOWHERE when the path names
    no field of the model."""
    node: object = invoice
    for name, index in _PART.findall(path):
        if node is None:
            return None
        if index:
            if not isinstance(node, tuple) or int(index) >= len(node):
                return NOWHERE
            node = node[int(index)]
        elif isinstance(node, BaseModel) and name in type(node).model_fields:
            node = getattr(node, name)
        else:
            return NOWHERE
    return node


def misreported(invoice: Invoice, problems: Sequence[Problem]) -> list[str]:
    """The findings whose value is not what the rule tested: a path naming no field, a field
    finding whose value differs from the field's, or "(none)" for a group that is there."""
    wrong = []
    for problem in problems:
        actual = value_at(invoice, problem.path)
        if isinstance(actual, (BaseModel, tuple)):
            ok = problem.value is not None or actual == ()
        else:
            ok = actual is not NOWHERE and (
                actual == problem.value and type(actual) is type(problem.value)
            )
        if not ok:
            wrong.append(f"{problem} (the field holds {actual!r})")
    return wrong


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
