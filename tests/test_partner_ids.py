"""Interchange addressing taken from the invoice's parties when the profile is silent."""

from __future__ import annotations

from builders import simple_invoice

from gateway.model import Identifier
from gateway.partner_ids import derived_options


def test_edifact_uses_glns_with_qualifier_14() -> None:
    """Seller and buyer GLNs (ICD 0088) become UNB sender/recipient with qualifier 14."""
    invoice = simple_invoice()
    invoice = invoice.model_copy(
        update={
            "seller": invoice.seller.model_copy(
                update={"identifiers": (Identifier(value="4012345000016", scheme="0088"),)}
            ),
            "buyer": invoice.buyer.model_copy(
                update={"electronic_address": Identifier(value="4098765000012", scheme="0088")}
            ),
        }
    )
    assert derived_options(invoice, "edifact") == {
        "sender_id": "4012345000016",
        "sender_qualifier": "14",
        "recipient_id": "4098765000012",
        "recipient_qualifier": "14",
    }


def test_without_gln_the_vat_id_or_address_is_mutually_defined() -> None:
    """No GLN: the VAT id (seller) or electronic address (buyer) with qualifier ZZZ; DUNS is 1."""
    invoice = simple_invoice()
    options = derived_options(invoice, "edifact")
    assert (options["sender_id"], options["sender_qualifier"]) == ("DE123456789", "ZZZ")
    assert (options["recipient_id"], options["recipient_qualifier"]) == ("buyer@example.com", "ZZZ")
    duns = invoice.buyer.model_copy(
        update={"electronic_address": Identifier(value="081466849", scheme="0060")}
    )
    options = derived_options(invoice.model_copy(update={"buyer": duns}), "edifact")
    assert options["recipient_qualifier"] == "1"


def test_cxml_credentials_never_include_a_secret() -> None:
    """cXML From/To/Sender come from the parties; the SharedSecret is never derived."""
    options = derived_options(simple_invoice(), "cxml")
    assert options["from_identity"] == "DE123456789"
    assert options["from_domain"] == "VATID"
    assert "shared_secret" not in options
    assert derived_options(simple_invoice(), "ubl") == {}
