"""Peppol (PEPPOL-EN16931-*, PEPPOL-COMMON-*, national) and XRechnung (BR-DE-*) rules."""

from __future__ import annotations

from collections.abc import Callable
from decimal import Decimal

import pytest
from helpers import base, edit, rules_of

from gateway.model import (
    AllowanceCharge,
    Attachment,
    Delivery,
    DirectDebit,
    Identifier,
    Invoice,
    LineAllowanceCharge,
    Note,
    PaymentCard,
    PaymentInstructions,
    Period,
    SupportingDocument,
)
from gateway.model.base import Address
from gateway.rules import check
from gateway.rules.peppol_national import DE_IDS

D = Decimal
PEPPOL: list[tuple[str, Callable[[Invoice], Invoice]]] = [
    ("PEPPOL-EN16931-R002", lambda i: edit(edit(i, "notes", (Note(text="a"), Note(text="b"))),
                                           "buyer.address.country", "FR")),
    ("PEPPOL-EN16931-R003", lambda i: edit(i, "buyer_reference", None)),
    ("PEPPOL-EN16931-R005", lambda i: edit(i, "tax_currency", "EUR")),
    ("PEPPOL-EN16931-R007", lambda i: edit(i, "business_process", "urn:x")),
    ("PEPPOL-EN16931-R010", lambda i: edit(i, "buyer.electronic_address", None)),
    ("PEPPOL-EN16931-R020", lambda i: edit(i, "seller.electronic_address", None)),
    ("PEPPOL-EN16931-R040", lambda i: edit(i, "charges", (AllowanceCharge(
        amount=D(5), base_amount=D(100), percentage=D(10), vat_category="S", vat_rate=D(19),
        reason="x"),))),
    ("PEPPOL-EN16931-R041", lambda i: edit(i, "charges", (AllowanceCharge(
        amount=D(5), percentage=D(10), vat_category="S", vat_rate=D(19), reason="x"),))),
    ("PEPPOL-EN16931-R042", lambda i: edit(i, "charges", (AllowanceCharge(
        amount=D(5), base_amount=D(10), vat_category="S", vat_rate=D(19), reason="x"),))),
    # With a discount: UBL writes a missing one as gross - net, which R046 accepts.
    ("PEPPOL-EN16931-R046", lambda i: edit(edit(i, "lines.0.price.gross", D(50)),
                                           "lines.0.price.discount", D(1))),
    ("PEPPOL-EN16931-R054", lambda i: edit(i, "tax_currency", "USD")),
    ("PEPPOL-EN16931-R055", lambda i: edit(edit(i, "tax_currency", "USD"),
                                           "totals.vat_in_accounting_currency", D(-1))),
    ("PEPPOL-EN16931-R061", lambda i: edit(i, "payment.means_code", "59")),
    ("PEPPOL-EN16931-R110", lambda i: edit(edit(i, "invoice_period", Period(start=i.issue_date)),
                                           "lines.0.period", Period(start=i.issue_date.replace(
                                               day=1)))),
    ("PEPPOL-EN16931-R111", lambda i: edit(edit(i, "invoice_period", Period(end=i.issue_date)),
                                           "lines.0.period", Period(end=i.issue_date.replace(
                                               day=28)))),
    ("PEPPOL-EN16931-R120", lambda i: edit(i, "lines.0.net_amount", D("10.05"))),
    ("PEPPOL-EN16931-R121", lambda i: edit(i, "lines.0.price.base_quantity", D(0))),
    ("PEPPOL-EN16931-R130", lambda i: edit(i, "lines.0.price.base_quantity_unit", "KGM")),
    ("PEPPOL-COMMON-R040", lambda i: edit(i, "seller.electronic_address",
                                          Identifier(value="4000001123453", scheme="0088"))),
    ("PEPPOL-COMMON-R043", lambda i: edit(i, "buyer.identifier",
                                          Identifier(value="0123456780", scheme="0208"))),
    ("PEPPOL-EN16931-CL008", lambda i: edit(i, "buyer.electronic_address",
                                            Identifier(value="a@b.c", scheme="EM"))),
    ("PEPPOL-EN16931-P0100", lambda i: edit(i, "type_code", "71x")),
    ("PEPPOL-EN16931-P0112", lambda i: edit(edit(i, "type_code", "326"),
                                            "buyer.address.country", "FR")),
    ("PEPPOL-EN16931-P0104", lambda i: edit(i, "vat_breakdown.0.exemption_reason_code",
                                            "VATEX-EU-G")),
    ("DE-R-015", lambda i: edit(edit(i, "buyer_reference", None),
                                "purchase_order_reference", "PO-1")),
    ("NL-R-002", lambda i: edit(edit(i, "seller.address.country", "NL"),
                                "seller.address.city", None)),
    ("DK-R-002", lambda i: edit(i, "seller.address.country", "DK")),
    ("NO-R-001", lambda i: edit(i, "seller.vat_id", "NO123456789MVA")),
    ("PEPPOL-EN16931-CL001", lambda i: edit(i, "supporting_documents", (SupportingDocument(
        reference="r", attachment=Attachment(content=b"x", mime_code="text/xml",
                                             filename="a.xml")),))),
    ("PEPPOL-EN16931-CL002", lambda i: edit(i, "lines.0.allowances", (LineAllowanceCharge(
        amount=D(0), reason_code="ZZZ"),))),
    ("PEPPOL-EN16931-CL003", lambda i: edit(i, "lines.0.charges", (LineAllowanceCharge(
        amount=D(0), reason_code="999"),))),
    ("PEPPOL-EN16931-CL006", lambda i: edit(i, "tax_point_date_code", "1")),
    ("PEPPOL-EN16931-CL007", lambda i: edit(i, "currency", "EU")),
    ("PEPPOL-EN16931-P0105", lambda i: edit(i, "vat_breakdown.0.exemption_reason_code",
                                            "VATEX-EU-O")),
    ("PEPPOL-EN16931-P0106", lambda i: edit(i, "vat_breakdown.0.exemption_reason_code",
                                            "VATEX-EU-IC")),
    ("PEPPOL-EN16931-P0107", lambda i: edit(i, "vat_breakdown.0.exemption_reason_code",
                                            "vatex-eu-ae")),
    ("PEPPOL-EN16931-P0108", lambda i: edit(i, "vat_breakdown.0.exemption_reason_code",
                                            "VATEX-EU-D")),
    ("PEPPOL-EN16931-P0109", lambda i: edit(i, "vat_breakdown.0.exemption_reason_code",
                                            "VATEX-EU-F")),
    ("PEPPOL-EN16931-P0110", lambda i: edit(i, "vat_breakdown.0.exemption_reason_code",
                                            "VATEX-EU-I")),
    ("PEPPOL-EN16931-P0111", lambda i: edit(i, "vat_breakdown.0.exemption_reason_code",
                                            "VATEX-EU-J")),
    ("PEPPOL-COMMON-R041", lambda i: _buyer_id(i, "0192", "123456789")),
    ("PEPPOL-COMMON-R042", lambda i: _buyer_id(i, "0184", "DK1234")),
    ("PEPPOL-COMMON-R049", lambda i: _buyer_id(i, "0007", "1234567890")),
    ("PEPPOL-COMMON-R050", lambda i: _buyer_id(i, "0151", "51824753557")),
    ("PEPPOL-COMMON-R052", lambda i: _buyer_id(i, "0096", "12345")),
    ("PEPPOL-COMMON-R053", lambda i: _buyer_id(i, "0198", "1234567890")),
    ("PEPPOL-COMMON-R054", lambda i: _buyer_id(i, "0106", "1234")),
    ("PEPPOL-COMMON-R055", lambda i: _buyer_id(i, "0190", "1234")),
    ("PEPPOL-COMMON-R056-1", lambda i: _buyer_id(i, "9944", "NL12")),
    ("PEPPOL-COMMON-R056-2", lambda i: edit(i, "buyer.vat_id", "NL123")),
    ("PEPPOL-COMMON-R057", lambda i: _buyer_id(i, "0217", "1234")),
]


def _buyer_id(invoice: Invoice, scheme: str, value: str) -> Invoice:
    return edit(invoice, "buyer.identifier", Identifier(value=value, scheme=scheme))
XRECHNUNG: list[tuple[str, Callable[[Invoice], Invoice]]] = [
    ("BR-DE-1", lambda i: edit(i, "payment", None)),
    ("BR-DE-2", lambda i: edit(i, "seller.contact", None)),
    ("BR-DE-3", lambda i: edit(i, "seller.address.city", None)),
    ("BR-DE-4", lambda i: edit(i, "seller.address.post_code", None)),
    ("BR-DE-5", lambda i: edit(i, "seller.contact.name", None)),
    ("BR-DE-6", lambda i: edit(i, "seller.contact.phone", None)),
    ("BR-DE-7", lambda i: edit(i, "seller.contact.email", None)),
    ("BR-DE-8", lambda i: edit(i, "buyer.address.city", None)),
    ("BR-DE-9", lambda i: edit(i, "buyer.address.post_code", None)),
    ("BR-DE-14", lambda i: edit(i, "vat_breakdown.0.rate", None)),
    ("BR-DE-15", lambda i: edit(i, "buyer_reference", None)),
    ("BR-DE-16", lambda i: edit(i, "seller.vat_id", None)),
    ("BR-DE-17", lambda i: edit(i, "type_code", "71")),
    ("BR-DE-18", lambda i: edit(i, "payment_terms", "#SKONTO#TAGE=x#\n")),
    ("BR-DE-19", lambda i: edit(i, "payment.credit_transfers.0.account_id", "DE00123")),
    ("BR-DE-23-a", lambda i: edit(i, "payment.credit_transfers", ())),
    ("BR-DE-26", lambda i: edit(i, "type_code", "384")),
    ("BR-DE-10", lambda i: edit(i, "delivery", Delivery(address=Address(country="DE",
                                                                        post_code="1")))),
    ("BR-DE-11", lambda i: edit(i, "delivery", Delivery(address=Address(country="DE",
                                                                        city="Bonn")))),
    ("BR-DE-20", lambda i: edit(i, "payment", PaymentInstructions(
        means_code="59", direct_debit=DirectDebit(mandate_reference="M", creditor_id="C",
                                                  debited_account="DE00")))),
    ("BR-DE-22", lambda i: edit(i, "supporting_documents", (_attachment("a.pdf"),
                                                            _attachment("a.pdf")))),
    ("BR-DE-23-b", lambda i: edit(i, "payment.card", PaymentCard(pan_last_digits="1234"))),
    ("BR-DE-24-a", lambda i: edit(i, "payment.means_code", "48")),
    ("BR-DE-24-b", lambda i: edit(edit(i, "payment.means_code", "48"), "payment.card",
                                  PaymentCard(pan_last_digits="1234"))),
    ("BR-DE-25-a", lambda i: edit(i, "payment.means_code", "59")),
    ("BR-DE-25-b", lambda i: edit(edit(i, "payment.means_code", "59"), "payment.direct_debit",
                                  DirectDebit(mandate_reference="M", creditor_id="C",
                                              debited_account="DE75512108001245126199"))),
    ("BR-DE-27", lambda i: edit(i, "seller.contact.phone", "n/a")),
    ("BR-DE-28", lambda i: edit(i, "seller.contact.email", "anna-at-example")),
    ("BR-DE-30", lambda i: edit(i, "payment.direct_debit", DirectDebit(
        mandate_reference="M", debited_account="DE75512108001245126199"))),
    ("BR-DE-31", lambda i: edit(i, "payment.direct_debit", DirectDebit(
        mandate_reference="M", creditor_id="C"))),
]


def _attachment(name: str) -> SupportingDocument:
    return SupportingDocument(reference=name, attachment=Attachment(
        content=b"%PDF", mime_code="application/pdf", filename=name))


@pytest.mark.parametrize(("rule", "make"), PEPPOL, ids=[c[0] for c in PEPPOL])
def test_peppol_rule_fails_on_its_case_and_passes_on_the_base(
    rule: str, make: Callable[[Invoice], Invoice]
) -> None:
    """The Peppol rule is reported for its broken invoice and not for the valid base."""
    valid = base()
    assert rule not in rules_of(valid, ("en16931", "peppol"))
    assert rule in rules_of(make(valid), ("en16931", "peppol"))


@pytest.mark.parametrize(("rule", "make"), XRECHNUNG, ids=[c[0] for c in XRECHNUNG])
def test_xrechnung_rule_fails_on_its_case_and_passes_on_the_base(
    rule: str, make: Callable[[Invoice], Invoice]
) -> None:
    """The XRechnung rule is reported for its broken invoice and not for the valid base."""
    valid = base()
    assert rule not in rules_of(valid, ("en16931", "xrechnung"))
    assert rule in rules_of(make(valid), ("en16931", "xrechnung"))


@pytest.mark.parametrize(("rule", "make"), XRECHNUNG, ids=[DE_IDS[c[0]] for c in XRECHNUNG])
def test_peppol_german_rule_mirrors_xrechnung_between_german_parties(
    rule: str, make: Callable[[Invoice], Invoice]
) -> None:
    """Between German parties Peppol reports the same case under its DE-R id."""
    valid = base()
    peppol_id = DE_IDS[rule]
    assert peppol_id not in rules_of(valid, ("en16931", "peppol"))
    assert peppol_id in rules_of(make(valid), ("en16931", "peppol"))
    foreign_buyer = edit(make(valid), "buyer.address.country", "AT")
    assert peppol_id not in rules_of(foreign_buyer, ("en16931", "peppol"))


def test_unknown_rule_set_is_named() -> None:
    """An unknown rule set name raises ValueError listing the known ones."""
    with pytest.raises(ValueError, match="en16931"):
        check(base(), ("pepol",))


def test_ten_line_invoice_passes_en16931_and_peppol() -> None:
    """A valid 10-line invoice passes the in-process EN 16931 + Peppol rules (speed: bench)."""
    from builders import simple_invoice

    from gateway.totals import complete

    valid = base()
    invoice = complete(simple_invoice(10).model_copy(
        update={"seller": valid.seller, "buyer": valid.buyer}))
    assert not check(invoice, ("en16931", "peppol"))
