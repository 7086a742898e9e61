"""The canonical model: immutability, BT metadata, JSON round trip."""

from __future__ import annotations

from decimal import Decimal

import pytest
from builders import simple_invoice
from pydantic import ValidationError

from gateway.model import Attachment, Invoice, SupportingDocument, bt_of


def test_invoice_is_immutable() -> None:
    """Assigning to a field of an Invoice raises; stages must return new values."""
    invoice = simple_invoice()
    with pytest.raises(ValidationError):
        invoice.number = "X"  # type: ignore[misc]


def test_json_round_trip_keeps_decimals_exact() -> None:
    """Amounts survive JSON as strings: 0.1 + 0.2 style float drift cannot happen."""
    invoice = simple_invoice(lines=1)
    line = invoice.lines[0].model_copy(update={"quantity": Decimal("0.30000000000000004")})
    invoice = invoice.model_copy(update={"lines": (line,)})
    text = invoice.model_dump_json()
    assert '"0.30000000000000004"' in text
    assert Invoice.model_validate_json(text) == invoice


def test_attachment_bytes_are_base64_in_json() -> None:
    """BT-125 binary content is carried as base64 in JSON and as bytes in the model."""
    doc = SupportingDocument(
        reference="att-1",
        attachment=Attachment(content=b"%PDF-1.4\n", mime_code="application/pdf", filename="a.pdf"),
    )
    invoice = simple_invoice(supporting_documents=(doc,))
    text = invoice.model_dump_json()
    assert "JVBERi0xLjQK" in text
    assert Invoice.model_validate_json(text).supporting_documents[0].attachment == doc.attachment


def test_unknown_field_is_rejected() -> None:
    """A misspelt key is an error, not silently dropped data."""
    data = simple_invoice().model_dump(mode="json")
    data["buyer_refernce"] = "x"
    with pytest.raises(ValidationError, match="buyer_refernce"):
        Invoice.model_validate(data)


@pytest.mark.parametrize(
    ("path", "term"),
    [
        ("number", "BT-1"),
        ("seller.address.city", "BT-37"),
        ("buyer.address.city", "BT-52"),
        ("tax_representative.address.country", "BT-69"),
        ("delivery.address.post_code", "BT-78"),
        ("allowances[0].amount", "BT-92"),
        ("charges.1.reason_code", "BT-105"),
        ("lines[3].allowances[0].percentage", "BT-138"),
        ("lines[3].charges[0].amount", "BT-141"),
        ("buyer.electronic_address.scheme", "BT-49-1"),
        ("lines.item.classifications.version", "BT-158-2"),
        ("totals.due", "BT-115"),
        ("payment.card.pan_last_digits", "BT-87"),
        (("lines", 0, "price", "net"), "BT-146"),
        ("seller", "BG-4"),
    ],
)
def test_bt_of_names_the_business_term(path: str, term: str) -> None:
    """Field paths map to the EN 16931 term of that position (shared sub-models included)."""
    assert bt_of(path) == term


def test_every_leaf_field_has_a_business_term() -> None:
    """No field of the model is without a BT/BG id: errors can always name one.

    ``provenance`` is the one exception: it is written by the gateway, never by a record.
    """
    from gateway.model.paths import _model_of

    missing: list[str] = []

    def walk(model: type, prefix: str) -> None:
        for name, info in model.model_fields.items():  # type: ignore[attr-defined]
            path = f"{prefix}{name}"
            sub = _model_of(info.annotation)
            if bt_of(path) is None:
                missing.append(path)
            if sub is not None and path.count(".") < 6:
                walk(sub, path + ".")

    walk(Invoice, "")
    assert [m for m in missing if m.split(".")[0] != "provenance"] == []
    assert "provenance" in missing  # the exception is real: a BT id there would be invented
