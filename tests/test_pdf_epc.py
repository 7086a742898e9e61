"""The EPC QR code (GiroCode) and the RF creditor reference: the code zbarimg reads off the
rendered page matches the invoice; RF references validate; no code outside EUR SEPA transfers."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

import pytest
from pdf_harness import (
    CREDIT_NOTE,
    FRENCH,
    MAPPING,
    NON_EUR,
    SHORT,
    invoices,
    page_png,
    pdf_file,
    profile,
    run,
    text,
    tool,
)
from stdnum import iso11649

from gateway.totals import complete
from mappings.pdf import epc_qr


def scan(path: Path, tmp_path: Path) -> list[str]:
    """The QR payloads zbarimg finds on page 1 rendered at 200 dpi (bytes read as UTF-8)."""
    png = page_png(path, tmp_path / "page1.png", 200)
    result = run(tool("zbarimg"), "--quiet", "--raw", "-Sbinary", "-Sqrcode.enable", png)
    if result.returncode == 4:  # zbarimg: no symbol found
        return []
    assert result.returncode == 0, result.stderr
    return [result.stdout.decode("utf-8").rstrip("\n")]


@pytest.mark.parametrize("number", [SHORT, FRENCH, "NB-2026-10002"])
def test_qr_decodes_to_payload_matching_the_invoice(tmp_path: Path, number: str) -> None:
    """The scanned payload is BCD/002/1/SCT with the invoice's BIC, account holder, IBAN,
    amount due as EURnn.nn and the RF reference printed on the page, which validates."""
    invoice = complete(invoices()[number])
    path = pdf_file(tmp_path, number)
    (payload,) = scan(path, tmp_path)
    lines = payload.split("\n")
    assert invoice.payment is not None and invoice.totals is not None
    transfer = invoice.payment.credit_transfers[0]
    assert lines[:4] == ["BCD", "002", "1", "SCT"]
    assert lines[4] == transfer.provider_id
    assert lines[5] == (transfer.account_name or invoice.seller.name)
    assert lines[6] == transfer.account_id
    assert invoice.totals.due is not None
    assert lines[7] == f"EUR{invoice.totals.due:.2f}"
    assert lines[8] == ""
    reference = lines[9]
    assert iso11649.is_valid(reference)
    assert iso11649.format(reference) in text(path)
    assert len(lines) == 10


def test_short_invoice_qr_carries_the_exact_known_values(tmp_path: Path) -> None:
    """NB-2026-10001: EUR976.71 to DE75120300001020304050 with reference RF69NB202610001."""
    (payload,) = scan(pdf_file(tmp_path, SHORT), tmp_path)
    assert "\nDE75120300001020304050\nEUR976.71\n\nRF69NB202610001" in payload


@pytest.mark.parametrize("number", [*NON_EUR, CREDIT_NOTE])
def test_no_qr_for_other_currencies_or_credit_notes(tmp_path: Path, number: str) -> None:
    """A GBP or USD invoice (EPC QR carries EUR only) and a credit note (the buyer pays
    nothing) have no QR code on the page; the IBAN is still printed."""
    path = pdf_file(tmp_path, number)
    assert scan(path, tmp_path) == []
    view = MAPPING.view(invoices()[number], profile("en"))
    assert view.payment is not None and view.payment.epc_qr_svg is None


def test_an_rf_remittance_is_used_as_given() -> None:
    """Remittance information that is already an RF reference (RF18 5390 0754 7034) is the
    structured reference, compact."""
    assert epc_qr.rf_reference("INV-1", "RF18 5390 0754 7034") == "RF18539007547034"


@pytest.mark.parametrize(
    "number", ["NB-2026-10001", "AL-2026-00931", "x/2026/ä-17", "A" * 40, "2026-000000000000000042"]
)
def test_derived_rf_references_validate_and_are_stable(number: str) -> None:
    """An RF reference derived from any invoice number passes python-stdnum's ISO 11649
    check, is at most 25 characters, and is the same every time."""
    reference = epc_qr.rf_reference(number, "not an RF reference")
    assert iso11649.is_valid(reference) and len(reference) <= 25
    assert reference == epc_qr.rf_reference(number)


def test_number_without_letters_or_digits_is_refused() -> None:
    """An invoice number of only punctuation cannot give an RF reference: ValueError."""
    with pytest.raises(ValueError, match="no letter or digit"):
        epc_qr.rf_reference("--/--")


def test_amount_format_and_range() -> None:
    """Amounts are EUR with two decimals; zero, negative and beyond 999,999,999.99 get no QR."""
    assert epc_qr.epc_amount(Decimal("12.3")) == "EUR12.30"
    assert epc_qr.qualifies("EUR", Decimal("0.01"), "58", "DE75120300001020304050")
    assert not epc_qr.qualifies("EUR", Decimal("0"), "58", "DE75120300001020304050")
    assert not epc_qr.qualifies("EUR", Decimal("1000000000"), "58", "DE75120300001020304050")
    assert not epc_qr.qualifies("CHF", Decimal("10"), "58", "CH9300762011623852957")
    assert not epc_qr.qualifies("EUR", Decimal("10"), "59", "DE75120300001020304050")


def test_pay_link_slot_renders_only_with_a_pay_url(tmp_path: Path) -> None:
    """With the pay_url option the page shows the link and a second QR code that scans to it;
    without it neither is there."""
    invoice = invoices()[SHORT]
    url = "https://pay.example.test/i/NB-2026-10001"
    html = MAPPING.html(invoice, profile("en", pay_url=url))
    assert url in html and "pay-link" in html
    assert "pay-link" not in MAPPING.html(invoice, profile("en"))
    path = tmp_path / "pay.pdf"
    path.write_bytes(MAPPING.render(invoice, profile("en", pay_url=url)).content)
    png = page_png(path, tmp_path / "pay.png", 200)
    result = run(tool("zbarimg"), "--quiet", "--raw", "-Sbinary", png)
    assert url in result.stdout.decode("utf-8")


@pytest.mark.parametrize("url", ["javascript:alert(1)", "https://x.test/a b", "ftp://x.test/"])
def test_a_pay_url_that_is_not_an_http_link_is_refused(url: str) -> None:
    """pay_url must be an http(s) URL without blanks: anything else is a ConfigError."""
    from gateway.errors import ConfigError

    with pytest.raises(ConfigError, match="not a pay link"):
        MAPPING.view(invoices()[SHORT], profile("en", pay_url=url))
