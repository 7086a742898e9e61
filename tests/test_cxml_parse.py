"""cXML parse: errors with element path and line, the conformance sample, lenient defaults."""

from __future__ import annotations

from decimal import Decimal

import pytest
from builders import simple_invoice
from shared_dir import shared_path
from test_cxml_golden import ENVELOPE, MAPPING, PROFILE

from gateway.errors import ParseError

ADDRESS = (
    b"<PostalAddress><Street>Main St 1</Street><City>Berlin</City>"
    b'<Country isoCountryCode="DE"/></PostalAddress>'
)


def rendered() -> bytes:
    """A rendered two-line invoice to corrupt."""
    return MAPPING.render(simple_invoice(), PROFILE, ENVELOPE).content


def sample() -> bytes:
    """The conformance harness's minimal InvoiceDetailRequest."""
    return shared_path("conformance", "samples", "cxml", "invoice-detail-minimal.xml").read_bytes()


def test_malformed_xml_names_line_and_column() -> None:
    """Broken XML is a ParseError with line and column."""
    with pytest.raises(ParseError) as caught:
        MAPPING.parse(rendered()[:-40])
    assert "line" in caught.value.location and "column" in caught.value.location


def test_missing_summary_names_the_element_path() -> None:
    """A missing InvoiceDetailSummary is reported at the InvoiceDetailRequest path."""
    data = rendered()
    start = data.index(b"<InvoiceDetailSummary>")
    end = data.index(b"</InvoiceDetailSummary>") + len(b"</InvoiceDetailSummary>")
    with pytest.raises(ParseError, match="InvoiceDetailSummary") as caught:
        MAPPING.parse(data[:start] + data[end:])
    assert caught.value.location.startswith("/cXML/Request/InvoiceDetailRequest")
    assert "line" in caught.value.location


def test_bad_amount_names_the_money_element() -> None:
    """A non-numeric Money is reported with the path of that Money element."""
    data = rendered().replace(
        b">10.00</Money></SubtotalAmount>", b">ten</Money></SubtotalAmount>", 1
    )
    with pytest.raises(ParseError, match=r"'ten' is not a decimal") as caught:
        MAPPING.parse(data)
    assert "InvoiceDetailItem[1]/SubtotalAmount/Money" in caught.value.location


def test_missing_invoice_id_names_bt_1() -> None:
    """InvoiceDetailRequestHeader without invoiceID is a ParseError naming BT-1."""
    data = rendered().replace(b'invoiceID="INV-1" ', b"", 1)
    with pytest.raises(ParseError, match=r"invoiceID.*BT-1"):
        MAPPING.parse(data)


def test_unknown_purpose_lists_the_accepted_ones() -> None:
    """An unknown purpose is refused with the accepted values."""
    data = rendered().replace(b'purpose="standard"', b'purpose="proforma"', 1)
    with pytest.raises(ParseError, match="lineLevelCreditMemo"):
        MAPPING.parse(data)


def test_internal_dtd_subset_is_refused() -> None:
    """A DOCTYPE with an internal subset (entity declarations) is never loaded."""
    data = rendered().replace(
        b'InvoiceDetail.dtd">', b'InvoiceDetail.dtd" [<!ENTITY x SYSTEM "file:///etc/passwd">]>'
    )
    with pytest.raises(ParseError, match="DOCTYPE"):
        MAPPING.parse(data)


def test_other_root_is_refused() -> None:
    """A document whose root is not cXML is a ParseError naming the root."""
    with pytest.raises(ParseError, match="expected cXML"):
        MAPPING.parse(b"<Invoice/>")


def test_conformance_sample_without_addresses_names_bt_40() -> None:
    """The minimal sample has no seller address: a ParseError naming BT-40 and the Contact."""
    with pytest.raises(ParseError, match="BT-40") as caught:
        MAPPING.parse(sample())
    assert "InvoicePartner[1]/Contact" in caught.value.location


def test_conformance_sample_with_addresses_parses_with_lenient_defaults() -> None:
    """With addresses added, the sample parses: names, category S from the rate, totals."""
    data = sample().replace(b"Supplier Ltd</Name>", b"Supplier Ltd</Name>" + ADDRESS)
    data = data.replace(b"Buyer Corp</Name>", b"Buyer Corp</Name>" + ADDRESS)
    invoice = MAPPING.parse(data)
    assert (invoice.number, invoice.currency, invoice.type_code) == ("INV-2024-0001", "EUR", "380")
    assert invoice.seller.name == "Supplier Ltd" and invoice.buyer.name == "Buyer Corp"
    assert invoice.purchase_order_reference == "PO-4711"
    line = invoice.lines[0]
    assert (line.item.name, line.item.seller_id, line.vat_category) == ("Widget", "SKU-1", "S")
    assert line.vat_rate == Decimal("19") and line.net_amount == Decimal("100.00")
    assert invoice.totals is not None
    assert (invoice.totals.without_vat, invoice.totals.vat, invoice.totals.due) == (
        Decimal("100.00"),
        Decimal("19.00"),
        Decimal("119.00"),
    )
    assert invoice.payee is None and invoice.vat_breakdown == ()
