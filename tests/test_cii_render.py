"""CII rendering: what is written, what is left out, Document metadata, errors and throughput."""

from __future__ import annotations

from decimal import Decimal

import pytest
from builders import simple_invoice
from lxml import etree
from test_cii_cases import CASES, foreign_currency

from gateway.errors import InvoiceRejected
from gateway.model import Attachment, SupportingDocument
from gateway.registry import resolve_mapping
from mappings.base import Mapping
from mappings.cii.codes import NAMESPACES
from mappings.cii.formats import FacturXEn16931, GenericCii, XRechnungCii
from mappings.cii.render import render_cii


def _tree(content: bytes) -> etree._Element:
    return etree.fromstring(content)


def _xpath(content: bytes, path: str) -> list[etree._Element]:
    result = _tree(content).xpath(path, namespaces=NAMESPACES)
    assert isinstance(result, list)
    return [e for e in result if isinstance(e, etree._Element)]


@pytest.mark.parametrize("case", list(CASES))
def test_absent_values_are_omitted(case: str) -> None:
    """No empty element is written; only the mandatory header delivery section may be empty."""
    content = GenericCii().render(CASES[case]()).content
    empty = [
        etree.QName(e).localname
        for e in _tree(content).iter()
        if len(e) == 0 and not (e.text or "").strip()
    ]
    assert set(empty) <= {"ApplicableHeaderTradeDelivery"}


def test_tax_total_twice_only_with_tax_currency() -> None:
    """BT-111 adds a second TaxTotalAmount in the VAT accounting currency; else there is one."""
    path = "//ram:SpecifiedTradeSettlementHeaderMonetarySummation/ram:TaxTotalAmount"
    with_tax_currency = _xpath(GenericCii().render(foreign_currency()).content, path)
    assert [e.get("currencyID") for e in with_tax_currency] == ["USD", "EUR"]
    domestic = _xpath(GenericCii().render(simple_invoice()).content, path)
    assert [e.get("currencyID") for e in domestic] == ["EUR"]


def test_text_and_attributes_are_escaped() -> None:
    """Markup characters in text and attribute values come out escaped and read back intact."""
    invoice = simple_invoice(
        supporting_documents=(
            SupportingDocument(
                reference='R&D "1" <a>',
                attachment=Attachment(content=b"x", mime_code="text/csv", filename='a"b&c.csv'),
            ),
        )
    )
    mapping = GenericCii()
    back = mapping.parse(mapping.render(invoice).content)
    document = back.supporting_documents[0]
    assert document.reference == 'R&D "1" <a>'
    assert document.attachment is not None and document.attachment.filename == 'a"b&c.csv'


def test_numbers_never_use_exponent_form() -> None:
    """A Decimal held in exponent form (1E+1) is written as plain digits."""
    invoice = simple_invoice(lines=1)
    line = invoice.lines[0].model_copy(update={"quantity": Decimal("1E+1")})
    content = GenericCii().render(invoice.model_copy(update={"lines": (line,)})).content
    quantity = _xpath(content, "//ram:BilledQuantity")[0]
    assert quantity.text == "10"
    assert b"E+" not in content


@pytest.mark.parametrize("mapping", [GenericCii(), XRechnungCii(), FacturXEn16931()])
def test_document_metadata(mapping: GenericCii | XRechnungCii | FacturXEn16931) -> None:
    """The Document names syntax, format, invoice number, media type, extension and rules."""
    document = mapping.render(simple_invoice())
    assert (document.syntax, document.format, document.invoice_number) == (
        "cii",
        mapping.name,
        "INV-1",
    )
    assert (document.media_type, document.extension) == ("application/xml", "xml")
    assert document.rules == mapping.rules and document.rules[0] == "en16931"


def test_registry_names_resolve_to_the_cii_classes() -> None:
    """The registry aliases load the CII mapping classes, which satisfy the Mapping protocol."""
    assert isinstance(resolve_mapping("cii"), Mapping)
    assert isinstance(resolve_mapping("xrechnung-cii"), XRechnungCii)
    assert isinstance(resolve_mapping("facturx-en16931"), FacturXEn16931)
    assert isinstance(resolve_mapping("cii"), GenericCii)


def test_render_is_deterministic() -> None:
    """The same invoice renders to the same bytes (a re-send is byte-identical)."""
    invoice = CASES["everything"]()
    assert GenericCii().render(invoice).content == GenericCii().render(invoice).content


def test_guideline_and_process_written_in_context() -> None:
    """BT-24 and BT-23 are written in ExchangedDocumentContext as the mapping stamps them."""
    content = XRechnungCii().render(simple_invoice()).content
    stamped = XRechnungCii().stamped(simple_invoice())
    guideline = _xpath(content, "//ram:GuidelineSpecifiedDocumentContextParameter/ram:ID")
    process = _xpath(content, "//ram:BusinessProcessSpecifiedDocumentContextParameter/ram:ID")
    assert guideline[0].text == stamped.specification_id
    assert process[0].text == stamped.business_process


def test_incomplete_invoice_is_refused_by_the_bare_renderer() -> None:
    """render_cii names the missing amount (with its BT id) instead of writing an invalid file."""
    with pytest.raises(InvoiceRejected) as info:
        render_cii(simple_invoice(), "urn:cen.eu:en16931:2017")
    problem = info.value.problems[0]
    assert problem.record == "INV-1"
    assert problem.path == "lines[0].net_amount" and problem.bt == "BT-131"


def test_base_quantity_qualifies_gross_and_net_price() -> None:
    """BT-149/150 are written on the gross price too, so both prices state their unit basis."""
    content = GenericCii().render(CASES["allowances_charges"]()).content
    line = "//ram:IncludedSupplyChainTradeLineItem[1]/ram:SpecifiedLineTradeAgreement"
    gross = _xpath(content, f"{line}/ram:GrossPriceProductTradePrice/ram:BasisQuantity")
    net = _xpath(content, f"{line}/ram:NetPriceProductTradePrice/ram:BasisQuantity")
    assert [(e.text, e.get("unitCode")) for e in gross] == [("1", "C62")]
    assert [(e.text, e.get("unitCode")) for e in net] == [("1", "C62")]


def test_tax_point_date_code_written_as_untdid_2475() -> None:
    """BT-8 from the model (UNTDID 2005: 35 delivery date) is written as CII's 2475 code 29."""
    invoice = CASES["credit_note"]()
    assert invoice.tax_point_date_code == "35"
    content = GenericCii().render(invoice).content
    codes = _xpath(content, "//ram:ApplicableTradeTax/ram:DueDateTypeCode")
    assert [c.text for c in codes] == ["29"]
    assert GenericCii().parse(content).tax_point_date_code == "35"
