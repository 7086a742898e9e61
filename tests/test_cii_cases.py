"""The CII mapping cases (shared by the CII tests) and checks that each case means what it says."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from decimal import Decimal

from builders import simple_invoice

from gateway.model import (
    Address,
    AllowanceCharge,
    Attachment,
    Contact,
    CreditTransfer,
    Delivery,
    DirectDebit,
    Identifier,
    Invoice,
    InvoiceLine,
    Item,
    ItemAttribute,
    ItemClassification,
    LineAllowanceCharge,
    Note,
    Payee,
    PaymentCard,
    PaymentInstructions,
    Period,
    PrecedingInvoice,
    Price,
    SupportingDocument,
    TaxRepresentative,
    Totals,
    VatBreakdown,
)
from gateway.totals import complete

D = Decimal


def german_simple() -> Invoice:
    """builders.simple_invoice plus the seller contact XRechnung asks for (BR-DE-2, -5, -6, -7)."""
    base = simple_invoice(lines=2)
    return base.model_copy(
        update={
            "seller": base.seller.model_copy(
                update={
                    "contact": Contact(
                        name="Erika Muster", phone="+49 30 1234567", email="erika@example.com"
                    )
                }
            ),
            "invoice_period": Period(start=dt.date(2026, 10, 1), end=dt.date(2026, 10, 31)),
        }
    )


def credit_note() -> Invoice:
    """A credit note (381) citing the invoice it corrects (BG-3); VAT due on delivery (BT-8)."""
    return german_simple().model_copy(
        update={
            "number": "CN-7",
            "type_code": "381",
            "tax_point_date_code": "35",
            "preceding_invoices": (
                PrecedingInvoice(number="INV-1", issue_date=dt.date(2026, 11, 2)),
            ),
            "notes": (Note(text="Gutschrift für Retoure", subject_code="AAI"),),
        }
    )


def allowances_charges() -> Invoice:
    """Allowances and charges on document, line and price level (BG-20/21/27/28, BT-147/148)."""
    base = german_simple()
    line1 = base.lines[0].model_copy(
        update={
            "quantity": D("4"),
            "price": Price(
                net=D("9.00"),
                gross=D("10.00"),
                discount=D("1.00"),
                base_quantity=D("1"),
                base_quantity_unit="C62",
            ),
            "allowances": (
                LineAllowanceCharge(
                    amount=D("3.60"),
                    base_amount=D("36.00"),
                    percentage=D("10"),
                    reason="Mengenrabatt",
                    reason_code="95",
                ),
            ),
            "charges": (
                LineAllowanceCharge(amount=D("2.00"), reason="Verpackung", reason_code="ABL"),
            ),
        }
    )
    return base.model_copy(
        update={
            "lines": (line1, base.lines[1]),
            "allowances": (
                AllowanceCharge(
                    amount=D("5.00"),
                    base_amount=D("50.00"),
                    percentage=D("10"),
                    vat_category="S",
                    vat_rate=D("19"),
                    reason="Treuerabatt",
                    reason_code="95",
                ),
            ),
            "charges": (
                AllowanceCharge(
                    amount=D("4.50"),
                    vat_category="S",
                    vat_rate=D("19"),
                    reason="Fracht",
                    reason_code="FC",
                ),
            ),
        }
    )


def attachment() -> Invoice:
    """Supporting documents (BG-24) with an embedded PDF and an external link, plus references."""
    return german_simple().model_copy(
        update={
            "supporting_documents": (
                SupportingDocument(
                    reference="TS-2026-10",
                    description="Timesheet October",
                    attachment=Attachment(
                        content=b"%PDF-1.4\n% test\n",
                        mime_code="application/pdf",
                        filename="timesheet.pdf",
                    ),
                ),
                SupportingDocument(
                    reference="SPEC-1", external_uri="https://example.com/spec-1.html"
                ),
            ),
            "tender_reference": "LOT-3",
            "invoiced_object": Identifier(value="METER-778", scheme="AVV"),
            "project_reference": "PRJ-42",
            "contract_reference": "CT-2026-01",
            "purchase_order_reference": "PO-4711",
            "sales_order_reference": "SO-99",
            "despatch_advice_reference": "DA-1",
            "receiving_advice_reference": "RA-1",
            "buyer_accounting_reference": "4711-ACC",
        }
    )


def foreign_currency() -> Invoice:
    """A USD invoice whose VAT is also stated in EUR (BT-6, BT-111: TaxTotalAmount twice)."""
    base = german_simple()
    return base.model_copy(
        update={
            "number": "INV-USD-1",
            "currency": "USD",
            "tax_currency": "EUR",
            "totals": Totals(vat_in_accounting_currency=D("5.12")),
            "payment": PaymentInstructions(
                means_code="30",
                means_text="Wire transfer",
                remittance_info="INV-USD-1",
                credit_transfers=(
                    CreditTransfer(
                        account_id="123456789",
                        account_name="Lieferant GmbH USD",
                        provider_id="DEUTDEFFXXX",
                    ),
                ),
            ),
            "buyer": base.buyer.model_copy(
                update={
                    "address": Address(
                        line1="1 Main Street", city="Boston", post_code="02108", country="US"
                    ),
                }
            ),
        }
    )


def everything() -> Invoice:
    """Most optional terms at once: parties, delivery, periods, item details, direct debit, E."""
    base = german_simple()
    lines = (
        InvoiceLine(
            id="10",
            note="Wartung Oktober",
            object_id=Identifier(value="SN-1234", scheme="ZZZ"),
            quantity=D("2.5"),
            unit="HUR",
            order_line_reference="PO-L-7",
            accounting_reference="8400",
            period=Period(start=dt.date(2026, 10, 1), end=dt.date(2026, 10, 31)),
            price=Price(net=D("80.00")),
            vat_category="S",
            vat_rate=D("19"),
            item=Item(
                name="Wartung",
                description="Wartung der Anlage & Prüfung <jährlich>",
                seller_id="SRV-1",
                buyer_id="B-SRV",
                standard_id=Identifier(value="4012345000009", scheme="0160"),
                classifications=(
                    ItemClassification(value="72000000", scheme="STI", version="2008"),
                ),
                origin_country="DE",
                attributes=(ItemAttribute(name="Farbe", value="blau"),),
            ),
        ),
        InvoiceLine(
            id="20",
            quantity=D("1"),
            unit="C62",
            price=Price(net=D("100.00")),
            vat_category="E",
            vat_rate=D("0"),
            item=Item(name="Schulung"),
        ),
    )
    return base.model_copy(
        update={
            "number": "INV-FULL-1",
            "tax_point_date": dt.date(2026, 10, 31),
            "payment_terms": "Zahlbar innerhalb 30 Tagen",
            "notes": (Note(text="Danke für Ihren Auftrag"), Note(text="Lieferung frei Haus")),
            "business_process": "urn:fdc:peppol.eu:2017:poacc:billing:01:1.0",
            "seller": base.seller.model_copy(
                update={
                    "trading_name": "Lieferant",
                    "identifiers": (
                        Identifier(value="LIEF-1"),
                        Identifier(value="4000001000005", scheme="0088"),
                    ),
                    "legal_registration": Identifier(value="HRB 12345", scheme="0002"),
                    "tax_registration_id": "12/345/67890",
                    "legal_info": "Geschäftsführer: E. Muster",
                    "address": base.seller.address.model_copy(
                        update={"line2": "Hinterhaus", "line3": "3. OG", "subdivision": "BE"}
                    ),
                }
            ),
            "buyer": base.buyer.model_copy(
                update={
                    "trading_name": "Kunde",
                    "identifier": Identifier(value="4000001000012", scheme="0088"),
                    "legal_registration": Identifier(value="HRB 999"),
                    "vat_id": "DE987654321",
                    "contact": Contact(name="Max Käufer", email="max@example.com"),
                }
            ),
            "payee": Payee(
                name="Factoring AG",
                identifier=Identifier(value="PAYEE-1"),
                legal_registration=Identifier(value="HRB 777"),
            ),
            "tax_representative": TaxRepresentative(
                name="Steuer Vertreter GmbH",
                vat_id="DE111111125",
                address=Address(city="München", post_code="80331", country="DE"),
            ),
            "delivery": Delivery(
                party_name="Lager Nord",
                location=Identifier(value="4000001000029", scheme="0088"),
                date=dt.date(2026, 10, 15),
                address=Address(
                    line1="Hafenstraße 9", city="Kiel", post_code="24103", country="DE"
                ),
            ),
            "payment": PaymentInstructions(
                means_code="59",
                means_text="SEPA direct debit",
                remittance_info="INV-FULL-1",
                direct_debit=DirectDebit(
                    mandate_reference="MANDATE-1",
                    creditor_id="DE98ZZZ09999999999",
                    debited_account="DE02120300000000202051",
                ),
            ),
            "vat_breakdown": (
                VatBreakdown(category="E", rate=D("0"), exemption_reason="Steuerfrei nach §4 UStG"),
            ),
            "lines": lines,
        }
    )


def card_payment() -> Invoice:
    """Paid by card (BG-18) with a prepaid amount and a rounding amount (BT-113, BT-114)."""
    return german_simple().model_copy(
        update={
            "number": "INV-CARD-1",
            "payment": PaymentInstructions(
                means_code="54",
                card=PaymentCard(pan_last_digits="1234", holder_name="Erika Muster"),
            ),
            "totals": Totals(prepaid=D("10.00"), rounding=D("0.30")),
        }
    )


CASES: dict[str, Callable[[], Invoice]] = {
    "simple": german_simple,
    "credit_note": credit_note,
    "allowances_charges": allowances_charges,
    "attachment": attachment,
    "foreign_currency": foreign_currency,
    "everything": everything,
    "card_payment": card_payment,
}


def test_cases_are_completable() -> None:
    """Every case completes to an invoice with totals (the input the renderer expects)."""
    for build in CASES.values():
        invoice = complete(build())
        assert invoice.totals is not None and invoice.totals.due is not None


def test_allowances_case_reaches_both_levels() -> None:
    """The allowances case really carries allowances and charges on document and line level."""
    invoice = allowances_charges()
    assert invoice.allowances and invoice.charges
    assert invoice.lines[0].allowances and invoice.lines[0].charges
    assert invoice.lines[0].price.discount is not None


def test_foreign_currency_case_differs_in_tax_currency() -> None:
    """The non-EUR case has a VAT accounting currency different from the invoice currency."""
    invoice = foreign_currency()
    assert invoice.tax_currency is not None and invoice.tax_currency != invoice.currency
