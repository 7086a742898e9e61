"""Property tests: any text and any amount the model holds survives CII render -> parse."""

from __future__ import annotations

from decimal import Decimal

import pytest
from builders import simple_invoice
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from gateway.errors import InvoiceRejected
from gateway.model import Attachment, Identifier, Invoice, Note, SupportingDocument
from mappings.cii.formats import GenericCii

CII = GenericCii()

# Everything XML 1.0 can carry (tab, LF and CR included), any script.
_XML_CHAR = st.characters(
    exclude_categories=["Cs"],
    exclude_characters="".join(chr(c) for c in range(32) if chr(c) not in "\t\n\r")
    + "\ufffe\uffff",
)
TEXT = st.text(_XML_CHAR, min_size=1, max_size=40).filter(lambda t: t.strip() != "")
AMOUNT = st.decimals(
    min_value=Decimal("-99999"), max_value=Decimal("99999"), places=2, allow_nan=False
)
QUANTITY = st.decimals(
    min_value=Decimal("0.0001"), max_value=Decimal("9999"), places=4, allow_nan=False
)


@st.composite
def invoices(draw: st.DrawFn) -> Invoice:
    """simple_invoice with arbitrary texts, schemes, file names, prices and quantities."""
    base = simple_invoice(lines=2)
    lines = tuple(
        line.model_copy(
            update={
                "quantity": draw(QUANTITY),
                "price": line.price.model_copy(update={"net": abs(draw(AMOUNT))}),
                "note": draw(TEXT),
                "item": line.item.model_copy(
                    update={"name": draw(TEXT), "description": draw(TEXT)}
                ),
            }
        )
        for line in base.lines
    )
    changed = base.model_copy(
        update={
            "number": draw(TEXT),
            "payment_terms": draw(TEXT),
            "notes": (Note(text=draw(TEXT), subject_code=draw(TEXT)),),
            "seller": base.seller.model_copy(
                update={
                    "name": draw(TEXT),
                    "identifiers": (Identifier(value=draw(TEXT), scheme=draw(TEXT)),),
                }
            ),
            "buyer": base.buyer.model_copy(update={"name": draw(TEXT)}),
            "supporting_documents": (
                SupportingDocument(
                    reference=draw(TEXT),
                    description=draw(TEXT),
                    attachment=Attachment(
                        content=draw(st.binary(max_size=64)),
                        mime_code="application/pdf",
                        filename=draw(TEXT),
                    ),
                ),
            ),
            "lines": lines,
        }
    )
    # model_copy does not validate; a real intake would strip surrounding whitespace
    return Invoice.model_validate(changed.model_dump())


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(invoices())
def test_any_text_and_amount_round_trips(invoice: Invoice) -> None:
    """parse(render(x)) == stamped(x) for arbitrary XML-safe text (incl. CR, tab) and amounts."""
    assert CII.parse(CII.render(invoice).content) == CII.stamped(invoice)


@pytest.mark.parametrize("bad", ["\x00", "\x07", "\x1b", "\ufffe", "\ud800"])
def test_characters_xml_cannot_carry_are_refused_by_field(bad: str) -> None:
    """A control character or lone surrogate is refused naming the field and BT id."""
    invoice = simple_invoice(payment_terms=f"net 30{bad}days")
    with pytest.raises(InvoiceRejected) as info:
        CII.render(invoice)
    [problem] = info.value.problems
    assert (problem.path, problem.bt, problem.record) == ("payment_terms", "BT-20", "INV-1")
