"""CII parsing: values land in their terms; bad input fails with a location, not a traceback."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from pathlib import Path

import pytest
from test_cii_cases import german_simple

from gateway.errors import ParseError
from mappings.cii.formats import GenericCii

CII = GenericCii()
TRANSACTION = "/rsm:CrossIndustryInvoice/rsm:SupplyChainTradeTransaction"


def _rendered() -> str:
    return CII.render(german_simple()).content.decode()


def _parse_error(text: str) -> ParseError:
    with pytest.raises(ParseError) as info:
        CII.parse(text.encode())
    return info.value


def test_credit_note_reads_with_type_code_and_preceding_invoice() -> None:
    """A 381 credit note in the invoice structure keeps its type code and BG-3 reference."""
    text = _rendered().replace(
        "<ram:TypeCode>380</ram:TypeCode>", "<ram:TypeCode>381</ram:TypeCode>"
    )
    text = text.replace(
        "</ram:SpecifiedTradeSettlementHeaderMonetarySummation>",
        "</ram:SpecifiedTradeSettlementHeaderMonetarySummation><ram:InvoiceReferencedDocument>"
        "<ram:IssuerAssignedID>INV-0</ram:IssuerAssignedID><ram:FormattedIssueDateTime>"
        '<qdt:DateTimeString format="102">20261001</qdt:DateTimeString>'
        "</ram:FormattedIssueDateTime></ram:InvoiceReferencedDocument>",
    )
    invoice = CII.parse(text.encode())
    assert invoice.type_code == "381" and invoice.is_credit_note
    assert invoice.preceding_invoices[0].number == "INV-0"
    assert invoice.preceding_invoices[0].issue_date == dt.date(2026, 10, 1)


def test_sample_terms_land_in_their_fields(conformance: Path) -> None:
    """Official example 5 (maximum content): spot checks across parties, payment and totals."""
    data = (conformance / "samples" / "cii" / "en16931" / "CII_example5.xml").read_bytes()
    invoice = CII.parse(data)
    assert (invoice.currency, invoice.tax_currency) == ("DKK", "EUR")
    assert invoice.totals is not None
    assert invoice.totals.vat == Decimal("675.00")
    assert invoice.totals.vat_in_accounting_currency == Decimal("628.62")
    assert invoice.totals.prepaid == Decimal("2337.5")
    assert invoice.payment is not None and invoice.payment.means_text == "Half prepaid"
    assert invoice.payment.direct_debit is not None
    assert invoice.payment.direct_debit.creditor_id == "DK5678"
    assert invoice.payment.direct_debit.mandate_reference == "123456"
    assert invoice.seller.tax_registration_id == "NL16356706"
    assert invoice.seller.identifiers[0].scheme == "0088"
    assert invoice.tax_representative is not None
    assert invoice.tax_representative.vat_id == "DK16356609"
    assert invoice.payee is not None and invoice.payee.name == "Dagobert Duck"
    assert invoice.delivery is not None and invoice.delivery.date == dt.date(2013, 4, 15)
    assert invoice.project_reference == "Project345"
    assert invoice.lines[0].object_id is not None
    assert invoice.lines[0].object_id.value == "Object2"
    attached = [d for d in invoice.supporting_documents if d.attachment is not None]
    assert attached and attached[0].attachment is not None
    assert attached[0].attachment.filename == "EHF.pdf"


def test_malformed_xml_names_the_line() -> None:
    """Broken XML is reported with its line number."""
    error = _parse_error('<?xml version="1.0"?>\n<a>\n<b></a>')
    assert "malformed XML" in str(error)
    assert error.location == "line 3, column 8"


def test_not_cii_names_the_root() -> None:
    """A UBL (or any other) document is refused naming the root element found and expected."""
    error = _parse_error(
        '<Invoice xmlns="urn:oasis:names:specification:ubl:schema:xsd:Invoice-2"/>'
    )
    assert "not a CII invoice" in str(error)
    assert "CrossIndustryInvoice" in str(error)
    assert error.location.startswith("/Invoice")


def test_bad_decimal_names_element_and_value() -> None:
    """A non-numeric amount fails naming its element path, its line and the text found."""
    text = _rendered().replace(
        "<ram:ChargeAmount>10.00</ram:ChargeAmount>",
        "<ram:ChargeAmount>10,00</ram:ChargeAmount>",
        1,
    )
    error = _parse_error(text)
    assert "expected a decimal number" in str(error) and "'10,00'" in str(error)
    assert error.location.startswith(
        f"{TRANSACTION}/ram:IncludedSupplyChainTradeLineItem[1]/ram:SpecifiedLineTradeAgreement"
        "/ram:NetPriceProductTradePrice/ram:ChargeAmount"
    )
    assert "(line " in error.location


def test_bad_date_format_names_the_format() -> None:
    """An ISO date where format 102 is declared fails naming the element and the expected form."""
    text = _rendered().replace(
        '<udt:DateTimeString format="102">20261102</udt:DateTimeString>',
        '<udt:DateTimeString format="102">2026-11-02</udt:DateTimeString>',
        1,
    )
    error = _parse_error(text)
    assert "format 102 (CCYYMMDD)" in str(error) and "2026-11-02" in str(error)
    assert error.location.startswith(
        "/rsm:CrossIndustryInvoice/rsm:ExchangedDocument/ram:IssueDateTime/udt:DateTimeString"
    )


def test_other_date_format_code_is_refused() -> None:
    """A date format other than 102 fails naming the format code found."""
    text = _rendered().replace('format="102">20261102<', 'format="610">202611<', 1)
    error = _parse_error(text)
    assert "format='610'" in str(error)


def test_impossible_date_is_refused() -> None:
    """A well-formed but impossible date (30 February) fails with its location."""
    text = _rendered().replace('format="102">20261102<', 'format="102">20260230<', 1)
    error = _parse_error(text)
    assert "not a calendar date" in str(error)
    assert "ram:IssueDateTime" in error.location


def test_missing_mandatory_element_names_term_and_path() -> None:
    """A missing seller name (BT-27) fails naming the term and where it was expected."""
    text = _rendered().replace("<ram:Name>Lieferant GmbH</ram:Name>", "", 1)
    error = _parse_error(text)
    assert "BT-27" in str(error)
    assert error.location.startswith(
        f"{TRANSACTION}/ram:ApplicableHeaderTradeAgreement/ram:SellerTradeParty/ram:Name"
    )


def test_missing_country_names_its_term() -> None:
    """A seller address without a country fails naming BT-40 and the address path."""
    text = _rendered().replace("<ram:CountryID>DE</ram:CountryID>", "", 1)
    error = _parse_error(text)
    assert "BT-40" in str(error)
    assert "ram:SellerTradeParty/ram:PostalTradeAddress/ram:CountryID" in error.location


def test_missing_line_section_is_named() -> None:
    """An invoice line without its delivery section fails naming the line and BT-129."""
    start = _rendered()
    cut_from = start.index("<ram:SpecifiedLineTradeDelivery>")
    cut_to = start.index("</ram:SpecifiedLineTradeDelivery>") + len(
        "</ram:SpecifiedLineTradeDelivery>"
    )
    error = _parse_error(start[:cut_from] + start[cut_to:])
    assert "BT-129" in str(error)
    assert "ram:IncludedSupplyChainTradeLineItem[1]/ram:SpecifiedLineTradeDelivery" in (
        error.location
    )


def test_missing_unit_code_is_named() -> None:
    """An invoiced quantity without unitCode (BT-130) fails naming the attribute."""
    text = _rendered().replace('<ram:BilledQuantity unitCode="C62">', "<ram:BilledQuantity>", 1)
    error = _parse_error(text)
    assert "unitCode (BT-130)" in str(error)
    assert error.location.endswith(")") and "ram:BilledQuantity" in error.location


def test_bad_charge_indicator_is_named() -> None:
    """An allowance/charge indicator other than true/false fails with its path."""
    text = _rendered().replace(
        "</ram:BillingSpecifiedPeriod><ram:SpecifiedTradePaymentTerms>",
        "</ram:BillingSpecifiedPeriod><ram:SpecifiedTradeAllowanceCharge><ram:ChargeIndicator>"
        "<udt:Indicator>maybe</udt:Indicator></ram:ChargeIndicator><ram:ActualAmount>1</ram:ActualAmount>"
        "<ram:CategoryTradeTax><ram:TypeCode>VAT</ram:TypeCode><ram:CategoryCode>S</ram:CategoryCode>"
        "</ram:CategoryTradeTax></ram:SpecifiedTradeAllowanceCharge><ram:SpecifiedTradePaymentTerms>",
    )
    error = _parse_error(text)
    assert "'maybe'" in str(error)
    assert "ram:SpecifiedTradeAllowanceCharge/ram:ChargeIndicator/udt:Indicator" in error.location


def test_invalid_base64_attachment_is_named() -> None:
    """An attachment that is not base64 fails naming BT-125 and the element."""
    text = _rendered().replace(
        "</ram:BuyerTradeParty>",
        "</ram:BuyerTradeParty><ram:AdditionalReferencedDocument><ram:IssuerAssignedID>A"
        "</ram:IssuerAssignedID><ram:TypeCode>916</ram:TypeCode><ram:AttachmentBinaryObject "
        'mimeCode="application/pdf" filename="a.pdf">not*base64</ram:AttachmentBinaryObject>'
        "</ram:AdditionalReferencedDocument>",
    )
    error = _parse_error(text)
    assert "BT-125" in str(error)
    assert "ram:AttachmentBinaryObject" in error.location


def test_model_refusal_becomes_parse_error() -> None:
    """A value the model refuses (card number not 4-6 digits) is a ParseError naming BT-87."""
    text = _rendered().replace(
        "<ram:TypeCode>58</ram:TypeCode>",
        "<ram:TypeCode>48</ram:TypeCode><ram:ApplicableTradeSettlementFinancialCard>"
        "<ram:ID>4111111111111111</ram:ID></ram:ApplicableTradeSettlementFinancialCard>",
    )
    error = _parse_error(text)
    assert "BT-87" in str(error) and "4111111111111111" in str(error)
    assert error.location.startswith(f"{TRANSACTION}/ram:ApplicableHeaderTradeSettlement")


def test_doctype_and_entities_are_refused() -> None:
    """A DOCTYPE (entity declarations, billion laughs) is refused before anything is read."""
    text = (
        _rendered()
        .replace(
            '<?xml version="1.0" encoding="UTF-8"?>',
            '<?xml version="1.0" encoding="UTF-8"?><!DOCTYPE r [<!ENTITY x "EXPANDED">]>',
        )
        .replace("<ram:Name>Kunde AG</ram:Name>", "<ram:Name>Kunde &x;</ram:Name>")
    )
    error = _parse_error(text)
    assert "DOCTYPE" in str(error)


def test_external_entity_is_never_fetched(tmp_path: Path) -> None:
    """An external entity pointing at a local file is refused, never read into the invoice."""
    secret = tmp_path / "secret.txt"
    secret.write_text("TOP-SECRET")
    text = (
        _rendered()
        .replace(
            '<?xml version="1.0" encoding="UTF-8"?>',
            '<?xml version="1.0" encoding="UTF-8"?>'
            f'<!DOCTYPE r [<!ENTITY x SYSTEM "{secret.as_uri()}">]>',
        )
        .replace("<ram:Name>Kunde AG</ram:Name>", "<ram:Name>&x;</ram:Name>")
    )
    error = _parse_error(text)
    assert "TOP-SECRET" not in str(error)


def test_base_quantity_read_from_gross_price_when_net_has_none() -> None:
    """BT-149/150 given only on the gross price are still read as the price base quantity."""
    text = _rendered().replace(
        "<ram:NetPriceProductTradePrice>",
        "<ram:GrossPriceProductTradePrice><ram:ChargeAmount>12.00</ram:ChargeAmount>"
        '<ram:BasisQuantity unitCode="KGM">2</ram:BasisQuantity></ram:GrossPriceProductTradePrice>'
        "<ram:NetPriceProductTradePrice>",
        1,
    )
    price = CII.parse(text.encode()).lines[0].price
    assert (price.gross, price.base_quantity, price.base_quantity_unit) == (
        Decimal("12.00"),
        Decimal("2"),
        "KGM",
    )
