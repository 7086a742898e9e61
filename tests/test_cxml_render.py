"""cXML render: envelope, Header credentials, purposes, signs and configuration errors."""

from __future__ import annotations

import dataclasses
import datetime as dt
from decimal import Decimal
from typing import Any

import pytest
from builders import simple_invoice
from lxml import etree
from test_cxml_golden import ENVELOPE, MAPPING, OPTIONS, PROFILE, example_invoices

from gateway.errors import ConfigError
from gateway.profiles.profile import BuyerProfile
from mappings.base import Mapping
from mappings.cxml.format import CxmlInvoice
from mappings.cxml.names import DOCTYPE


def one(parent: etree._Element, path: str) -> etree._Element:
    """The element at ``path`` below ``parent``, which must exist."""
    found = parent.find(path)
    assert found is not None, path
    return found


def rendered(**changes: Any) -> etree._Element:
    """The root of simple_invoice(**changes) rendered with the test profile and envelope."""
    content = MAPPING.render(simple_invoice(**changes), PROFILE, ENVELOPE).content
    return etree.fromstring(content)


def test_mapping_class_attributes() -> None:
    """CxmlInvoice is a Mapping named cxml with syntax cxml, no rule sets, text/xml .xml."""
    assert isinstance(MAPPING, Mapping)
    assert (CxmlInvoice.name, CxmlInvoice.syntax, CxmlInvoice.rules) == ("cxml", "cxml", ())
    document = MAPPING.render(simple_invoice(), PROFILE, ENVELOPE)
    assert (document.media_type, document.extension, document.format) == ("text/xml", "xml", "cxml")
    assert document.invoice_number == "INV-1"


def test_doctype_and_envelope_attributes() -> None:
    """DOCTYPE names the 1.2.037 InvoiceDetail.dtd; payloadID/timestamp come from the envelope."""
    content = MAPPING.render(simple_invoice(), PROFILE, ENVELOPE).content
    assert DOCTYPE.encode() in content.split(b"<cXML", 1)[0]
    root = etree.fromstring(content)
    assert root.get("payloadID") == "20261124123000.42@gateway.example"
    assert root.get("timestamp") == "2026-11-24T12:30:00+01:00"
    assert root.get("version") == "1.2.037"
    assert one(root, "Request").get("deploymentMode") == "production"


def test_payload_id_defaults_to_interchange_ref_and_test_mode() -> None:
    """Without payload_id the interchange reference is the payloadID; test=True is test mode."""
    envelope = dataclasses.replace(ENVELOPE, payload_id=None, test=True)
    root = etree.fromstring(MAPPING.render(simple_invoice(), PROFILE, envelope).content)
    assert root.get("payloadID") == "IC-000042"
    assert one(root, "Request").get("deploymentMode") == "test"


def test_render_is_repeatable() -> None:
    """Rendering twice gives the same bytes (no clock)."""
    first = MAPPING.render(simple_invoice(), PROFILE, ENVELOPE).content
    assert MAPPING.render(simple_invoice(), PROFILE, ENVELOPE).content == first


def test_header_credentials_from_profile_options() -> None:
    """From/To/Sender credentials, the shared secret and the user agent come from the profile."""
    header = one(rendered(), "Header")
    assert header.findtext("From/Credential/Identity") == OPTIONS["from_identity"]
    assert one(header, "To/Credential").get("domain") == OPTIONS["to_domain"]
    assert header.findtext("Sender/Credential/SharedSecret") == "welcome1"
    assert header.findtext("Sender/UserAgent") == OPTIONS["user_agent"]


@pytest.mark.parametrize("missing", ["shared_secret", "to_identity", "user_agent"])
def test_missing_option_is_a_config_error_naming_it(missing: str) -> None:
    """A profile without one Header option fails with ConfigError naming the option."""
    options = {k: v for k, v in OPTIONS.items() if k != missing}
    profile = BuyerProfile(name="coupa-x", format="cxml", options=options)
    with pytest.raises(ConfigError, match=rf"coupa-x.*{missing}"):
        MAPPING.render(simple_invoice(), profile, ENVELOPE)


def test_envelope_is_required_and_must_have_an_offset() -> None:
    """No envelope, or a prepared_at without UTC offset, is a ConfigError."""
    with pytest.raises(ConfigError, match="envelope"):
        MAPPING.render(simple_invoice(), PROFILE, None)
    naive = dataclasses.replace(ENVELOPE, prepared_at=dt.datetime(2026, 11, 24, 12, 0))
    with pytest.raises(ConfigError, match="offset"):
        MAPPING.render(simple_invoice(), PROFILE, naive)


def test_invoice_header_fields() -> None:
    """invoiceID is BT-1, purpose standard, operation new, VAT ids as IdReference vatID."""
    root = rendered(purchase_order_reference="PO-4711")
    header = one(root, "Request/InvoiceDetailRequest/InvoiceDetailRequestHeader")
    assert (header.get("invoiceID"), header.get("purpose"), header.get("operation")) == (
        "INV-1",
        "standard",
        "new",
    )
    assert header.get("invoiceDate") == "2026-11-02T00:00:00+00:00"
    assert one(header, "PaymentTerm").get("payInNumberOfDays") == "30"
    seller = one(header, "InvoicePartner/Contact[@role='from']")
    assert one(seller, "IdReference[@domain='vatID']").get("identifier") == "DE123456789"
    order = one(root, ".//InvoiceDetailOrderInfo/OrderReference")
    assert order.get("orderID") == "PO-4711"


def test_credit_memo_is_line_level_with_negative_amounts() -> None:
    """A 381 is lineLevelCreditMemo: quantities and amounts negative, unit price positive."""
    root = rendered(type_code="381")
    header = one(root, ".//InvoiceDetailRequestHeader")
    assert header.get("purpose") == "lineLevelCreditMemo"
    item = one(root, ".//InvoiceDetailItem")
    assert item.get("quantity") == "-1"
    assert item.findtext("UnitPrice/Money") == "10.00"
    assert item.findtext("SubtotalAmount/Money") == "-10.00"
    summary = one(root, ".//InvoiceDetailSummary")
    assert summary.findtext("DueAmount/Money") == "-35.70"
    assert summary.findtext("Tax/Money") == "-5.70"


def test_line_tax_detail_per_rate_and_currency_on_money() -> None:
    """Each item has Tax/TaxDetail with category, rate, taxable and tax amount, in BT-5."""
    root = rendered(currency="CHF")
    detail = one(root, ".//InvoiceDetailItem/Tax/TaxDetail")
    assert (detail.get("category"), detail.get("percentageRate")) == ("vat", "19")
    assert detail.findtext("TaxableAmount/Money") == "10.00"
    assert detail.findtext("TaxAmount/Money") == "1.90"
    assert detail.findtext("TaxLocation") == "DE"
    assert {m.get("currency") for m in root.iter("Money")} == {"CHF"}


def test_summary_follows_cxml_arithmetic_for_every_example() -> None:
    """Subtotal + Tax + SpecialHandling = Gross; Gross - Discount = Net = BT-112 (every example)."""
    for invoice in example_invoices():
        root = etree.fromstring(MAPPING.render(invoice, PROFILE, ENVELOPE).content)
        summary = one(root, ".//InvoiceDetailSummary")

        def amount(path: str, summary: etree._Element = summary) -> Decimal:
            return Decimal(summary.findtext(f"{path}/Money") or "0")

        gross = amount("SubtotalAmount") + amount("Tax") + amount("SpecialHandlingAmount")
        assert amount("GrossAmount") == gross, invoice.number
        net = gross - amount("InvoiceDetailDiscount")
        assert amount("NetAmount") == net, invoice.number
        totals = MAPPING.stamped(invoice).totals
        assert totals is not None and totals.with_vat is not None
        sign = -1 if invoice.type_code == "381" else 1
        assert net == sign * totals.with_vat, invoice.number
