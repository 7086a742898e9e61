"""Parse: how the EN 16931 UBL binding's conventions are read back into the model."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

from builders import simple_invoice

from gateway.model import DirectDebit, Invoice, Note, PaymentInstructions
from gateway.registry import resolve_mapping


def _rendered(invoice: Invoice) -> str:
    content: bytes = resolve_mapping("ubl").render(invoice).content
    return content.decode()


def _parse(xml: str) -> Invoice:
    invoice: Invoice = resolve_mapping("ubl").parse(xml.encode())
    return invoice


def test_note_subject_code_prefix() -> None:
    """'#AAI#text' is subject code AAI + text; other '#' texts stay literal notes."""
    xml = _rendered(simple_invoice(notes=(Note(text="x"),))).replace(
        "<cbc:Note>x</cbc:Note>",
        "<cbc:Note>#AAI#Delivered in parts</cbc:Note><cbc:Note>#1# not a code</cbc:Note>",
    )
    assert _parse(xml).notes == (
        Note(text="Delivered in parts", subject_code="AAI"),
        Note(text="#1# not a code"),
    )


def test_order_id_na_means_no_purchase_order() -> None:
    """Order ID 'NA' beside a SalesOrderID is Peppol's placeholder, not a BT-13 value."""
    invoice = _parse(_rendered(simple_invoice(sales_order_reference="SO-1")))
    assert "<cbc:ID>NA</cbc:ID>" in _rendered(simple_invoice(sales_order_reference="SO-1"))
    assert (invoice.purchase_order_reference, invoice.sales_order_reference) == (None, "SO-1")


def test_sepa_identifier_is_creditor_id_with_payment_means() -> None:
    """A seller id with schemeID SEPA becomes BT-90 when there are payment instructions."""
    payment = PaymentInstructions(
        means_code="59", direct_debit=DirectDebit(mandate_reference="M-1", creditor_id="DE98ZZZ1")
    )
    xml = _rendered(simple_invoice(payment=payment))
    assert '<cbc:ID schemeID="SEPA">DE98ZZZ1</cbc:ID>' in xml
    invoice = _parse(xml)
    assert invoice.payment is not None and invoice.payment.direct_debit is not None
    assert invoice.payment.direct_debit.creditor_id == "DE98ZZZ1"
    assert invoice.seller.identifiers == ()


def test_sepa_identifier_without_payment_means_stays_identifier() -> None:
    """Without PaymentMeans there is no BG-19 to hold BT-90: the id is kept as BT-29."""
    payment = PaymentInstructions(
        means_code="59", direct_debit=DirectDebit(mandate_reference="M-1", creditor_id="DE98ZZZ1")
    )
    xml = _rendered(simple_invoice(payment=payment))
    start, end = xml.index("<cac:PaymentMeans>"), xml.index("</cac:PaymentMeans>")
    invoice = _parse(xml[:start] + xml[end + len("</cac:PaymentMeans>") :])
    assert invoice.payment is None
    assert [(i.value, i.scheme) for i in invoice.seller.identifiers] == [("DE98ZZZ1", "SEPA")]


def test_tax_total_in_accounting_currency_found_by_currency() -> None:
    """BT-111 is the TaxTotal in the VAT accounting currency, whichever comes first."""
    xml = _rendered(simple_invoice(tax_currency="SEK"))
    xml = xml.replace(
        "<cac:TaxTotal>",
        '<cac:TaxTotal><cbc:TaxAmount currencyID="SEK">61.00</cbc:TaxAmount></cac:TaxTotal>'
        "<cac:TaxTotal>",
        1,
    )
    invoice = _parse(xml)
    assert invoice.totals is not None
    assert invoice.totals.vat_in_accounting_currency == Decimal("61.00")
    assert invoice.totals.vat == Decimal("5.70")


def test_credit_note_due_date_and_project() -> None:
    """In a CreditNote, PaymentDueDate is BT-9 and DocumentTypeCode 50 is the project (BT-11)."""
    invoice = _parse(_rendered(simple_invoice(type_code="381", project_reference="P-9")))
    assert invoice.due_date == dt.date(2026, 12, 2)
    assert invoice.project_reference == "P-9"
    assert invoice.supporting_documents == ()


def test_prefixes_do_not_matter() -> None:
    """Other namespace prefixes (here: default namespace for cbc) parse the same."""
    xml = _rendered(simple_invoice())
    cbc = "urn:oasis:names:specification:ubl:schema:xsd:CommonBasicComponents-2"
    other = xml.replace(f'xmlns:cbc="{cbc}"', f'xmlns:b="{cbc}"').replace("cbc:", "b:")
    assert _parse(other) == _parse(xml)


def test_payment_means_text_is_written_once_with_several_accounts() -> None:
    """BT-82 goes on the first PaymentMeans only (UBL-SR-46) and still round-trips."""
    from builders import simple_invoice

    from gateway.model import CreditTransfer, PaymentInstructions
    from gateway.profiles.profile import BuyerProfile
    from mappings.ubl.formats import GenericUbl

    payment = PaymentInstructions(
        means_code="58",
        means_text="SEPA credit transfer",
        credit_transfers=(
            CreditTransfer(account_id="DE75512108001245126199"),
            CreditTransfer(account_id="DE02120300000000202051"),
        ),
    )
    mapping = GenericUbl()
    invoice = simple_invoice(payment=payment)
    xml = mapping.render(invoice, BuyerProfile()).content.decode()
    assert xml.count("<cac:PaymentMeans>") == 2
    assert xml.count('name="SEPA credit transfer"') == 1
    assert mapping.parse(xml.encode()) == mapping.stamped(invoice)
