"""Benchmark invoices: realistic N-line domestic invoices, valid for EN 16931, Peppol, XRechnung."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

from gateway.model import (
    Address,
    AllowanceCharge,
    Buyer,
    Contact,
    CreditTransfer,
    Identifier,
    Invoice,
    InvoiceLine,
    Item,
    Note,
    PaymentInstructions,
    Price,
    Seller,
)
from gateway.totals import complete


def invoice(lines: int, number: str = "BENCH-1") -> Invoice:
    """A completed invoice with ``lines`` lines at 19 % and 7 %, a document allowance, notes."""
    items = tuple(
        InvoiceLine(
            id=str(n),
            quantity=Decimal(n % 7 + 1),
            unit="H87" if n % 2 else "C62",
            price=Price(net=Decimal(f"{(n * 37) % 500 + 1}.{n % 100:02d}")),
            vat_category="S",
            vat_rate=Decimal("19") if n % 3 else Decimal("7"),
            order_line_reference=str(n),
            item=Item(name=f'Article {n} <special & "quoted">', seller_id=f"SKU-{n:05d}"),
        )
        for n in range(1, lines + 1)
    )
    return complete(
        Invoice(
            number=number,
            issue_date=dt.date(2026, 11, 2),
            due_date=dt.date(2026, 12, 2),
            currency="EUR",
            buyer_reference="04011000-12345-34",
            purchase_order_reference="PO-4711",
            notes=(Note(text="Thank you for your order."),),
            payment_terms="30 days net",
            seller=Seller(
                name="Lieferant GmbH",
                vat_id="DE123456789",
                electronic_address=Identifier(value="invoices@lieferant.example", scheme="EM"),
                address=Address(
                    line1="Lieferstraße 1", city="Berlin", post_code="10115", country="DE"
                ),
                contact=Contact(
                    name="Anna Muster", phone="+49 30 1234567", email="ar@lieferant.example"
                ),
            ),
            buyer=Buyer(
                name="Kunde AG",
                vat_id="DE987654321",
                electronic_address=Identifier(value="ap@kunde.example", scheme="EM"),
                address=Address(
                    line1="Kundenweg 2", city="Hamburg", post_code="20095", country="DE"
                ),
            ),
            payment=PaymentInstructions(
                means_code="58",
                remittance_info=number,
                credit_transfers=(CreditTransfer(account_id="DE75512108001245126199"),),
            ),
            allowances=(
                AllowanceCharge(
                    amount=Decimal("10.00"),
                    vat_category="S",
                    vat_rate=Decimal("19"),
                    reason="Loyalty discount",
                    reason_code="95",
                ),
            ),
            lines=items,
        )
    )
