"""Small programmatic invoices for unit tests (the realistic set lives in examples/)."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any

from gateway.model import (
    Address,
    Buyer,
    CreditTransfer,
    Identifier,
    Invoice,
    InvoiceLine,
    Item,
    PaymentInstructions,
    Price,
    Seller,
)


def simple_invoice(lines: int = 2, **changes: Any) -> Invoice:
    """A minimal valid domestic invoice, 19 % VAT, ``lines`` lines, totals left to be computed."""
    invoice = Invoice(
        number="INV-1",
        issue_date=dt.date(2026, 11, 2),
        due_date=dt.date(2026, 12, 2),
        currency="EUR",
        buyer_reference="04011000-12345-34",
        seller=Seller(
            name="Lieferant GmbH",
            vat_id="DE123456789",
            electronic_address=Identifier(value="seller@example.com", scheme="EM"),
            address=Address(line1="Lieferstraße 1", city="Berlin", post_code="10115", country="DE"),
        ),
        buyer=Buyer(
            name="Kunde AG",
            electronic_address=Identifier(value="buyer@example.com", scheme="EM"),
            address=Address(line1="Kundenweg 2", city="Hamburg", post_code="20095", country="DE"),
        ),
        payment=PaymentInstructions(
            means_code="58",
            credit_transfers=(CreditTransfer(account_id="DE75512108001245126199"),),
        ),
        lines=tuple(
            InvoiceLine(
                id=str(n),
                quantity=Decimal(n),
                unit="C62",
                price=Price(net=Decimal("10.00")),
                vat_category="S",
                vat_rate=Decimal("19"),
                item=Item(name=f"Article {n}"),
            )
            for n in range(1, lines + 1)
        ),
    )
    return invoice.model_copy(update=changes) if changes else invoice
