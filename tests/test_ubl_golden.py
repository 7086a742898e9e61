"""Golden files for the UBL mappings: one per mapping case, compared after C14N."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from decimal import Decimal

import pytest
from builders import simple_invoice
from golden import assert_golden
from lxml import etree

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
)
from gateway.registry import resolve_mapping

D = Decimal


def valid_simple() -> Invoice:
    """builders.simple_invoice with the data Peppol and XRechnung also ask for (contact, EAS)."""
    base = simple_invoice(lines=2)
    return base.model_copy(
        update={
            "seller": base.seller.model_copy(
                update={
                    "electronic_address": Identifier(value="DE123456789", scheme="9930"),
                    "contact": Contact(
                        name="Erika Muster", phone="+49 30 1234567", email="erika@example.com"
                    ),
                }
            ),
            "buyer": base.buyer.model_copy(
                update={"electronic_address": Identifier(value="04011000-12345-34", scheme="0204")}
            ),
        }
    )


def credit_note() -> Invoice:
    """A credit note (381) citing the invoice it corrects, with due date and project reference."""
    return valid_simple().model_copy(
        update={
            "number": "CN-7",
            "type_code": "381",
            "project_reference": "PRJ-42",
            "preceding_invoices": (
                PrecedingInvoice(number="INV-1", issue_date=dt.date(2026, 11, 2)),
            ),
            "notes": (Note(text="Credit for returned goods", subject_code="AAI"),),
        }
    )


def allowances_charges() -> Invoice:
    """Allowances and charges on document, line and price level (BG-20/21/27/28, BT-147/148)."""
    base = valid_simple()
    line = InvoiceLine(
        id="1",
        quantity=D("10"),
        unit="H87",
        price=Price(
            net=D("9.00"),
            discount=D("1.00"),
            gross=D("10.00"),
            base_quantity=D("1"),
            base_quantity_unit="H87",
        ),
        allowances=(
            LineAllowanceCharge(
                amount=D("5.00"),
                base_amount=D("90.00"),
                percentage=D("5.5556"),
                reason="Bulk discount",
                reason_code="95",
            ),
        ),
        charges=(LineAllowanceCharge(amount=D("2.50"), reason="Packing", reason_code="ABL"),),
        vat_category="S",
        vat_rate=D("19"),
        item=Item(name="Widget"),
    )
    return base.model_copy(
        update={
            "lines": (line, base.lines[1]),
            "allowances": (
                AllowanceCharge(
                    amount=D("8.75"),
                    base_amount=D("87.50"),
                    percentage=D("10"),
                    vat_category="S",
                    vat_rate=D("19"),
                    reason="Loyal customer",
                    reason_code="100",
                ),
            ),
            "charges": (
                AllowanceCharge(
                    amount=D("4.00"),
                    vat_category="S",
                    vat_rate=D("19"),
                    reason="Freight",
                    reason_code="FC",
                ),
            ),
        }
    )


def attachment() -> Invoice:
    """Supporting documents (embedded + external), invoiced object, every document reference."""
    return valid_simple().model_copy(
        update={
            "notes": (Note(text="Thank you & <welcome>"), Note(text="Terms", subject_code="AAB")),
            "purchase_order_reference": "PO-5",
            "sales_order_reference": "SO-9",
            "despatch_advice_reference": "DESP-1",
            "receiving_advice_reference": "RECV-2",
            "tender_reference": "LOT-3",
            "contract_reference": "CON-4",
            "project_reference": "PRJ-5",
            "buyer_accounting_reference": "4711-ACC",
            "invoiced_object": Identifier(value="METER-77", scheme="AUN"),
            "invoice_period": Period(start=dt.date(2026, 10, 1), end=dt.date(2026, 10, 31)),
            "tax_point_date_code": "35",
            "supporting_documents": (
                SupportingDocument(
                    reference="TS-1",
                    description="Timesheet",
                    attachment=Attachment(
                        content=b"%PDF-1.4 fake\n", mime_code="application/pdf", filename="ts.pdf"
                    ),
                ),
                SupportingDocument(
                    reference="SPEC-2",
                    description="Specification",
                    external_uri="https://example.com/spec-2.pdf",
                ),
            ),
        }
    )


def foreign_currency() -> Invoice:
    """USD invoice with VAT accounting in EUR (BT-6/BT-111), tax representative, delivery, card."""
    base = valid_simple()
    return base.model_copy(
        update={
            "currency": "USD",
            "tax_currency": "EUR",
            "tax_point_date": dt.date(2026, 10, 30),
            "totals": Totals(vat_in_accounting_currency=D("5.23")),
            "tax_representative": TaxRepresentative(
                name="Steuervertreter GmbH",
                vat_id="DE987654321",
                address=Address(
                    line1="Vertreterstr. 5",
                    line2="Haus B",
                    line3="3. OG",
                    city="Köln",
                    post_code="50667",
                    subdivision="NRW",
                    country="DE",
                ),
            ),
            "delivery": Delivery(
                party_name="Lager Nord",
                location=Identifier(value="4000001000005", scheme="0088"),
                date=dt.date(2026, 10, 28),
                address=Address(line1="Hafenstr. 9", city="Kiel", post_code="24103", country="DE"),
            ),
            "payment": PaymentInstructions(
                means_code="48",
                means_text="Bank card",
                remittance_info="INV-1",
                card=PaymentCard(pan_last_digits="1234", holder_name="Kunde AG"),
            ),
            "payment_terms": "Paid by card",
        }
    )


def full_parties() -> Invoice:
    """Every party field: identifiers, registrations, FC tax id, payee, SEPA direct debit, items."""
    base = valid_simple()
    line = base.lines[0].model_copy(
        update={
            "note": "Line note",
            "object_id": Identifier(value="OBJ-1", scheme="AAA"),
            "order_line_reference": "3",
            "accounting_reference": "CC-100",
            "period": Period(start=dt.date(2026, 10, 1), end=dt.date(2026, 10, 31)),
            "item": Item(
                name="Service A",
                description="Monthly service",
                seller_id="SA-1",
                buyer_id="B-77",
                standard_id=Identifier(value="4000001000005", scheme="0160"),
                classifications=(
                    ItemClassification(value="72000000", scheme="STI", version="2008"),
                    ItemClassification(value="1234", scheme="ZZZ"),
                ),
                origin_country="DE",
                attributes=(ItemAttribute(name="Colour", value="Blue"),),
            ),
        }
    )
    return base.model_copy(
        update={
            "seller": base.seller.model_copy(
                update={
                    "trading_name": "Lieferant",
                    "identifiers": (Identifier(value="4000001000005", scheme="0088"),),
                    "legal_registration": Identifier(value="HRB 12345", scheme="0204"),
                    "tax_registration_id": "30/123/45678",
                    "legal_info": "GmbH, Sitz Berlin, Amtsgericht Charlottenburg",
                    "address": base.seller.address.model_copy(
                        update={"line2": "Hinterhaus", "line3": "2. OG", "subdivision": "BE"}
                    ),
                }
            ),
            "buyer": base.buyer.model_copy(
                update={
                    "trading_name": "Kunde",
                    "identifier": Identifier(value="4000001000012", scheme="0088"),
                    "legal_registration": Identifier(value="HRB 999", scheme="0204"),
                    "vat_id": "DE111222333",
                    "contact": Contact(name="Hans AP", phone="+49 40 555", email="ap@kunde.de"),
                }
            ),
            "payee": Payee(
                name="Factoring AG",
                identifier=Identifier(value="4000001000029", scheme="0088"),
                legal_registration=Identifier(value="HRB 555", scheme="0204"),
            ),
            "payment": PaymentInstructions(
                means_code="59",
                remittance_info="INV-1 / 4711",
                direct_debit=DirectDebit(
                    mandate_reference="MANDATE-1",
                    creditor_id="DE98ZZZ09999999999",
                    debited_account="DE02120300000000202051",
                ),
            ),
            "lines": (line, base.lines[1]),
        }
    )


def two_accounts() -> Invoice:
    """Two credit-transfer accounts (BG-17 repeated) with names and BICs, BT-7 tax point date."""
    return valid_simple().model_copy(
        update={
            "tax_point_date": dt.date(2026, 10, 31),
            "payment": PaymentInstructions(
                means_code="58",
                remittance_info="RF18539007547034",
                credit_transfers=(
                    CreditTransfer(
                        account_id="DE75512108001245126199",
                        account_name="Lieferant GmbH",
                        provider_id="SOGEDEFFXXX",
                    ),
                    CreditTransfer(account_id="DE02120300000000202051"),
                ),
            ),
            "totals": Totals(prepaid=D("10.00"), rounding=D("0.30")),
        }
    )


def credit_note_full() -> Invoice:
    """A CreditNote carrying references, attachments and allowances/charges on every level."""
    rich = attachment()
    charged = allowances_charges()
    return rich.model_copy(
        update={
            "number": "CN-8",
            "type_code": "381",
            "preceding_invoices": (PrecedingInvoice(number="INV-1"),),
            "lines": charged.lines,
            "allowances": charged.allowances,
            "charges": charged.charges,
            "payment": full_parties().payment,
            "payee": full_parties().payee,
        }
    )


# (case name, mapping alias, builder): every case is rendered, compared with its golden file,
# round-tripped, and validated with the rules of its mapping (test_ubl_conformance).
CASES: list[tuple[str, str, Callable[[], Invoice]]] = [
    ("simple-peppol", "peppol-bis3", valid_simple),
    ("simple-xrechnung", "xrechnung-ubl", valid_simple),
    ("simple-ubl", "ubl", valid_simple),
    ("credit-note-peppol", "peppol-bis3", credit_note),
    ("credit-note-xrechnung", "xrechnung-ubl", credit_note),
    ("credit-note-full-peppol", "peppol-bis3", credit_note_full),
    ("allowances-charges-peppol", "peppol-bis3", allowances_charges),
    ("attachment-peppol", "peppol-bis3", attachment),
    ("foreign-currency-peppol", "peppol-bis3", foreign_currency),
    ("full-parties-xrechnung", "xrechnung-ubl", full_parties),
    ("two-accounts-peppol", "peppol-bis3", two_accounts),
]


@pytest.mark.parametrize(("name", "alias", "build"), CASES, ids=[c[0] for c in CASES])
def test_render_matches_golden_file(name: str, alias: str, build: Callable[[], Invoice]) -> None:
    """Each mapping case renders exactly the reviewed golden document (after C14N)."""
    document = resolve_mapping(alias).render(build())
    # Stored indented for reviewable diffs; the comparison is on canonical XML either way.
    readable = etree.tostring(
        etree.fromstring(document.content),
        pretty_print=True,
        xml_declaration=True,
        encoding="UTF-8",
    )
    assert_golden(f"ubl/{name}.xml", readable)
