"""cXML codes read into the EN 16931 code lists: units (Rec 20, ANSI X12), taxes, categories."""

from __future__ import annotations

import pytest
from builders import simple_invoice
from test_cxml_golden import ENVELOPE, MAPPING, PROFILE

from gateway import rules
from gateway.errors import ParseError
from gateway.rules import codelists as en
from gateway.totals import complete
from mappings.cxml import codelists as cl


def _rendered() -> bytes:
    return MAPPING.render(simple_invoice(lines=1), PROFILE, ENVELOPE).content


def test_every_unit_row_is_a_non_rec20_code_mapped_to_rec20() -> None:
    """Each UNITS row maps a code Rec 20 does not have (so no Rec 20 code changes meaning) to
    a Rec 20 code, with its source."""
    for row in cl.UNITS:
        assert row.cxml not in en.REC_20 and row.en16931 in en.REC_20 and row.source, row


@pytest.mark.parametrize(("code", "expected"), [("EA", "EA"), ("C62", "C62"), ("HR", "HUR"),
                                                ("CS", "XCS"), ("PCE", "H87")])  # fmt: skip
def test_units_read_as_rec20(code: str, expected: str) -> None:
    """EA (Rec 20 each) passes; ANSI X12 HR/CS and EANCOM PCE read as their Rec 20 code, the
    translation marked in provenance; the parsed invoice passes BR-CL-23."""
    data = _rendered().replace(
        b"<UnitOfMeasure>C62</UnitOfMeasure>", f"<UnitOfMeasure>{code}</UnitOfMeasure>".encode()
    )
    invoice = MAPPING.parse(data)
    assert invoice.lines[0].unit == expected
    marks = [t for t in invoice.provenance if t.path == "lines[0].unit"]
    assert [(t.bt, t.source) for t in marks] == (
        [] if code == expected else [("BT-130", "code-list")]
    )
    problems = rules.check(complete(invoice), ("en16931",), syntax="cii")
    assert not [p for p in problems if p.rule == "BR-CL-23"]


def test_unknown_unit_names_the_element() -> None:
    """A unit in neither Rec 20 nor the table is a ParseError at its UnitOfMeasure."""
    data = _rendered().replace(
        b"<UnitOfMeasure>C62</UnitOfMeasure>", b"<UnitOfMeasure>BOXES</UnitOfMeasure>", 1
    )
    with pytest.raises(ParseError) as info:
        MAPPING.parse(data)
    assert "UnitOfMeasure" in info.value.location and "'BOXES' (BT-130)" in str(info.value)


def test_sales_tax_is_not_vat() -> None:
    """TaxDetail category sales: ParseError naming the TaxDetail (EN 16931 carries VAT only)."""
    data = _rendered().replace(b'category="vat"', b'category="sales"', 1)
    with pytest.raises(ParseError) as info:
        MAPPING.parse(data)
    assert "TaxDetail" in info.value.location and "'sales'" in str(info.value)


def test_gst_reads_as_vat() -> None:
    """TaxDetail category gst is a VAT: it parses."""
    data = _rendered().replace(b'category="vat"', b'category="gst"')
    assert MAPPING.parse(data).lines[0].vat_category == "S"


def test_vat_category_outside_en16931_names_the_code() -> None:
    """A vatCategoryCode Extrinsic outside EN 16931's 5305 subset is a ParseError."""
    data = _rendered().replace(
        b'<Extrinsic name="vatCategoryCode">S</Extrinsic>',
        b'<Extrinsic name="vatCategoryCode">H</Extrinsic>',
        1,
    )
    assert data != _rendered()
    with pytest.raises(ParseError, match="vatCategoryCode 'H'"):
        MAPPING.parse(data)
