"""cXML round trips: parse(render(x)) == stamped(x), and what stamped drops."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from decimal import Decimal

import pytest
from builders import simple_invoice
from test_cxml_golden import ENVELOPE, MAPPING, PROFILE, example_invoices
from test_ubl_golden import CASES

from gateway.model import Invoice, Period
from gateway.model.invoice import PrecedingInvoice
from gateway.totals import complete
from mappings.cxml.format import DROPPED_INVOICE_FIELDS


def round_trip(invoice: Invoice) -> Invoice:
    """The invoice read back from its rendered cXML."""
    return MAPPING.parse(MAPPING.render(invoice, PROFILE, ENVELOPE).content)


def test_every_example_round_trips() -> None:
    """Every invoice in examples/ (27 + the 1000-line one) comes back as stamped(x)."""
    invoices = example_invoices()
    assert len(invoices) >= 28
    for invoice in invoices:
        assert round_trip(invoice) == MAPPING.stamped(invoice), invoice.number


@pytest.mark.parametrize(("name", "alias", "build"), CASES, ids=[c[0] for c in CASES])
def test_mapping_cases_round_trip(name: str, alias: str, build: Callable[[], Invoice]) -> None:
    """The UBL mapping cases (allowances, attachments, parties, currencies...) round-trip."""
    invoice = build()
    assert round_trip(invoice) == MAPPING.stamped(invoice)


def test_stamped_drops_exactly_the_listed_fields() -> None:
    """Fields cXML cannot carry are dropped by name; all others are kept."""
    invoice = complete(example_invoices()[0])
    stamped = MAPPING.stamped(invoice)
    for name in type(invoice).model_fields:
        if name in DROPPED_INVOICE_FIELDS:
            assert getattr(stamped, name) in (None, ()), name
        elif name not in {
            "preceding_invoices",
            "due_date",
            "invoice_period",
            "totals",
            "payment",
            "lines",
        }:
            assert getattr(stamped, name) == getattr(invoice, name), name


def test_non_numeric_line_ids_and_order_line_refs_round_trip() -> None:
    """Line ids and order line references that are not numbers travel as Extrinsics."""
    base = simple_invoice(lines=2, purchase_order_reference="PO-9")
    lines = (
        base.lines[0].model_copy(update={"id": "A-1", "order_line_reference": "10/a"}),
        base.lines[1].model_copy(update={"id": "7", "order_line_reference": "20"}),
    )
    invoice = base.model_copy(update={"lines": lines})
    back = round_trip(invoice)
    assert [(x.id, x.order_line_reference) for x in back.lines] == [("A-1", "10/a"), ("7", "20")]
    assert back == MAPPING.stamped(invoice)


def test_conditional_drops_round_trip() -> None:
    """A due date before BT-2, a half-open period and a second preceding invoice are dropped."""
    invoice = simple_invoice(
        due_date=dt.date(2026, 10, 1),
        invoice_period=Period(start=dt.date(2026, 10, 1)),
        preceding_invoices=(PrecedingInvoice(number="A"), PrecedingInvoice(number="B")),
    )
    stamped = MAPPING.stamped(invoice)
    assert stamped.due_date is None and stamped.invoice_period is None
    assert [p.number for p in stamped.preceding_invoices] == ["A"]
    assert round_trip(invoice) == stamped


def test_credit_memo_amounts_come_back_positive() -> None:
    """A 381 is written negative and read back with the signs of the model."""
    invoice = simple_invoice(type_code="381")
    back = round_trip(invoice)
    assert back.type_code == "381"
    assert back.totals is not None and back.totals.due == Decimal("35.70")
    assert [line.quantity for line in back.lines] == [Decimal(1), Decimal(2)]
