"""Parse errors: every bad input is a ParseError naming where and what was expected."""

from __future__ import annotations

import re

import pytest
from builders import simple_invoice
from test_ubl_golden import allowances_charges, attachment, foreign_currency

from gateway.errors import ParseError
from gateway.registry import resolve_mapping


def _xml(lines: int = 3, type_code: str = "380") -> str:
    mapping = resolve_mapping("peppol-bis3")
    content: bytes = mapping.render(simple_invoice(lines=lines, type_code=type_code)).content
    return content.decode()


def _error(data: str | bytes) -> ParseError:
    raw = data.encode() if isinstance(data, str) else data
    with pytest.raises(ParseError) as info:
        resolve_mapping("ubl").parse(raw)
    return info.value


def _nth(text: str, old: str, new: str, n: int) -> str:
    """Replace the n-th (1-based) occurrence of ``old``."""
    parts = text.split(old)
    assert len(parts) > n, f"{old!r} occurs fewer than {n} times"
    return old.join(parts[:n]) + new + old.join(parts[n:])


def test_bad_decimal_names_the_line_element() -> None:
    """A non-numeric quantity in line 3 is reported at that line's InvoicedQuantity."""
    xml = _nth(_xml(), 'unitCode="C62">3<', 'unitCode="C62">three<', 1)
    error = _error(xml)
    assert error.location == "/Invoice/cac:InvoiceLine[3]/cbc:InvoicedQuantity"
    assert "decimal" in str(error) and "'three'" in str(error)


def test_bad_amount_in_totals() -> None:
    """An amount with a comma is reported at its LegalMonetaryTotal element."""
    xml = re.sub(r'(<cbc:PayableAmount currencyID="EUR">)[^<]*', r"\g<1>35,70", _xml())
    error = _error(xml)
    assert error.location == "/Invoice/cac:LegalMonetaryTotal/cbc:PayableAmount"
    assert "'35,70'" in str(error)


def test_bad_date_names_the_element() -> None:
    """A date not in YYYY-MM-DD form is reported at IssueDate with the expected form."""
    xml = _xml().replace("<cbc:IssueDate>2026-11-02<", "<cbc:IssueDate>02.11.2026<")
    error = _error(xml)
    assert error.location == "/Invoice/cbc:IssueDate"
    assert "YYYY-MM-DD" in str(error) and "02.11.2026" in str(error)


def test_impossible_date_is_rejected() -> None:
    """2026-02-30 matches the pattern but is no date: reported at DueDate."""
    error = _error(_xml().replace("<cbc:DueDate>2026-12-02<", "<cbc:DueDate>2026-02-30<"))
    assert error.location == "/Invoice/cbc:DueDate"


def test_missing_invoice_number() -> None:
    """A missing cbc:ID (BT-1) is reported where it should be, naming the business term."""
    error = _error(_xml().replace("<cbc:ID>INV-1</cbc:ID>", ""))
    assert error.location == "/Invoice/cbc:ID"
    assert "BT-1" in str(error)


def test_missing_item_name_in_second_line() -> None:
    """A missing Item/Name in line 2 is reported inside that line's Item."""
    error = _error(_xml().replace("<cbc:Name>Article 2</cbc:Name>", ""))
    assert error.location == "/Invoice/cac:InvoiceLine[2]/cac:Item/cbc:Name"
    assert "BT-153" in str(error)


def test_missing_unit_code() -> None:
    """A quantity without unitCode is reported at the quantity, asking for a Rec 20 code."""
    error = _error(_nth(_xml(), ' unitCode="C62"', "", 2))
    assert error.location == "/Invoice/cac:InvoiceLine[2]/cbc:InvoicedQuantity"
    assert "unitCode" in str(error)


def test_missing_totals_in_credit_note() -> None:
    """A CreditNote without LegalMonetaryTotal is reported under /CreditNote."""
    xml = re.sub(r"<cac:LegalMonetaryTotal>.*</cac:LegalMonetaryTotal>", "", _xml(type_code="381"))
    error = _error(xml)
    assert error.location == "/CreditNote/cac:LegalMonetaryTotal"
    assert "BG-22" in str(error)


def test_missing_lines() -> None:
    """A document without any line is rejected at the place lines are expected."""
    xml = re.sub(r"<cac:InvoiceLine>.*</cac:InvoiceLine>", "", _xml())
    error = _error(xml)
    assert error.location == "/Invoice/cac:InvoiceLine"


def test_bad_charge_indicator() -> None:
    """A ChargeIndicator other than true/false is reported at that element."""
    mapping = resolve_mapping("peppol-bis3")
    xml = mapping.render(allowances_charges()).content.decode()
    xml = _nth(xml, "<cbc:ChargeIndicator>true<", "<cbc:ChargeIndicator>yes<", 1)
    error = _error(xml)
    assert error.location == "/Invoice/cac:AllowanceCharge[2]/cbc:ChargeIndicator"


def test_model_constraint_reported_at_element() -> None:
    """A full card number (model allows last 4-6 digits only) is reported at CardAccount."""
    mapping = resolve_mapping("peppol-bis3")
    xml = mapping.render(foreign_currency()).content.decode()
    xml = xml.replace(
        ">1234</cbc:PrimaryAccountNumberID>", ">4111111111111234</cbc:PrimaryAccountNumberID>"
    )
    error = _error(xml)
    assert error.location == "/Invoice/cac:PaymentMeans/cac:CardAccount"
    assert "pan_last_digits" in str(error)


def test_bad_base64_attachment() -> None:
    """An attachment that is not base64 is reported at its binary object."""
    mapping = resolve_mapping("peppol-bis3")
    xml = mapping.render(attachment()).content.decode()
    xml = re.sub(r'(filename="ts.pdf">)[^<]*', r"\g<1>not*base64!", xml)
    error = _error(xml)
    assert error.location == (
        "/Invoice/cac:AdditionalDocumentReference[2]/cac:Attachment/cbc:EmbeddedDocumentBinaryObject"
    )


def test_malformed_xml_reports_line_and_column() -> None:
    """Malformed XML is reported with its line and column, not a traceback."""
    error = _error(b'<?xml version="1.0"?>\n<Invoice>\n  <cbc:ID>1</cbc:ID>\n</Invoice>')
    assert error.location.startswith("line 3, column ")
    assert "malformed XML" in str(error)


def test_not_ubl_at_all() -> None:
    """A well-formed document of another kind names its root and what was expected."""
    error = _error(
        b'<rsm:CrossIndustryInvoice xmlns:rsm="urn:un:unece:uncefact:data:standard:'
        b'CrossIndustryInvoice:100"/>'
    )
    assert error.location == "/CrossIndustryInvoice"
    assert "not a UBL 2.1 Invoice or CreditNote" in str(error)


def test_wrong_namespace_invoice() -> None:
    """An <Invoice> outside the UBL namespace is not taken for UBL."""
    error = _error(b"<Invoice><ID>1</ID></Invoice>")
    assert error.location == "/Invoice"
    assert "urn:oasis:names:specification:ubl:schema:xsd:Invoice-2" in str(error)


def test_entities_are_not_expanded() -> None:
    """A DOCTYPE (XXE, entity bombs) is refused; no file is read, nothing is expanded."""
    xml = (
        _xml()
        .replace(
            '<?xml version="1.0" encoding="UTF-8"?>\n',
            '<?xml version="1.0" encoding="UTF-8"?>\n'
            '<!DOCTYPE Invoice [<!ENTITY x SYSTEM "file:///etc/passwd">]>\n',
        )
        .replace("<cbc:ID>INV-1</cbc:ID>", "<cbc:ID>&x;</cbc:ID>")
    )
    error = _error(xml)
    assert "DOCTYPE" in str(error)


def test_empty_input() -> None:
    """Empty bytes are malformed XML with a location, not an lxml exception."""
    error = _error(b"")
    assert "malformed XML" in str(error)
