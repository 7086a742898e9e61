"""validate_cxml: the shipped InvoiceDetail.dtd, findings as Problems with rule DTD and line."""

from __future__ import annotations

from builders import simple_invoice
from test_cxml_golden import ENVELOPE, MAPPING, PROFILE

from gateway.validation.cxml import validate_cxml


def rendered() -> bytes:
    """A rendered invoice (pretty-printed so findings have distinct lines)."""
    content = MAPPING.render(simple_invoice(), PROFILE, ENVELOPE).content
    return content.replace(b"><", b">\n<")


def test_valid_document_passes() -> None:
    """A rendered invoice has no findings; the record is its invoiceID."""
    report = validate_cxml(rendered(), "INV-1.cxml.xml")
    assert report.passed and report.findings == []
    assert (report.record, report.syntax, report.name) == ("INV-1", "cxml", "INV-1.cxml.xml")


def test_missing_required_element_is_a_dtd_finding_with_its_line() -> None:
    """Removing InvoiceDetailLineIndicator is a fatal DTD finding at the header's line."""
    data = rendered()
    line = data[: data.index(b"<InvoiceDetailRequestHeader")].count(b"\n") + 1
    report = validate_cxml(data.replace(b'<InvoiceDetailLineIndicator isTaxInLine="yes"/>\n', b""))
    assert not report.passed
    finding = report.fatal[0]
    assert (finding.rule, finding.path, finding.record) == ("DTD", f"line {line}", "INV-1")
    assert "InvoiceDetailRequestHeader" in finding.message


def test_undeclared_element_and_attribute_are_findings() -> None:
    """An element and an attribute the DTD does not declare are both reported."""
    data = rendered().replace(b"<GrossAmount>", b"<Bonus/>\n<GrossAmount>", 1)
    data = data.replace(b'operation="new"', b'operation="new" colour="red"', 1)
    messages = " ".join(p.message for p in validate_cxml(data).fatal)
    assert "Bonus" in messages and "colour" in messages


def test_malformed_xml_and_internal_subset_are_fatal() -> None:
    """Broken XML is XML-PARSE; an internal DTD subset is DOCTYPE (never loaded)."""
    assert validate_cxml(rendered()[:-30]).fatal[0].rule == "XML-PARSE"
    data = rendered().replace(b'InvoiceDetail.dtd">', b'InvoiceDetail.dtd" [<!ENTITY e "x">]>')
    assert [p.rule for p in validate_cxml(data).fatal] == ["DOCTYPE"]


def test_other_doctype_is_a_warning_only() -> None:
    """A DOCTYPE naming another DTD version warns; the document is judged by 1.2.037."""
    data = rendered().replace(b"1.2.037/InvoiceDetail.dtd", b"1.2.050/InvoiceDetail.dtd")
    report = validate_cxml(data)
    assert report.passed
    assert [(p.rule, p.flag) for p in report.findings] == [("DOCTYPE", "warning")]
