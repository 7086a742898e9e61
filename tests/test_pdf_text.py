"""What a reader sees: pdftotext of the examples in de, en and fr shows the number, the totals
formatted for the language, the IBAN in groups of four, and the terms the invoice carries."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

import pytest
from pdf_harness import (
    ARTEFACTS,
    CREDIT_NOTE,
    ENGLISH,
    FRENCH,
    GERMAN,
    LARGE,
    SHORT,
    invoices,
    language_of,
    normalise,
    page_png,
    pdf_file,
    text,
)

from gateway.totals import complete
from mappings.pdf.localise import money

CASES = [
    (SHORT, "de"),
    (CREDIT_NOTE, "de"),
    (GERMAN, "de"),
    (ENGLISH, "en"),
    (FRENCH, "fr"),
    (LARGE, "de"),
]


@pytest.mark.parametrize(("number", "language"), CASES)
def test_text_has_number_totals_and_iban(tmp_path: Path, number: str, language: str) -> None:
    """The number, amount due, total with and without VAT (as Babel writes them in the
    language) and each IBAN in groups of four are in the PDF's text."""
    invoice = complete(invoices()[number])
    shown = text(pdf_file(tmp_path, number, language))
    assert number in shown
    totals = invoice.totals
    assert totals is not None and totals.due is not None and totals.with_vat is not None
    for amount in (totals.due, totals.with_vat, totals.without_vat):
        assert amount is not None
        assert normalise(money(amount, invoice.currency, language)) in shown
    assert invoice.payment is not None
    for transfer in invoice.payment.credit_transfers:
        iban = transfer.account_id
        assert " ".join(iban[i : i + 4] for i in range(0, len(iban), 4)) in shown


def test_german_invoice_reads_in_german_with_german_number_forms(tmp_path: Path) -> None:
    """NB-2026-10001 in German: title, labels, 01.10.2026, 976,71 €, units and the VAT rate."""
    shown = text(pdf_file(tmp_path, SHORT, "de"))
    expected = (
        *("Rechnung NB-2026-10001", "Zahlbetrag 976,71 €", "01.10.2026", "Fällig am 31.10.2026"),
        *("40 Pck.", "19 %", "USt-IdNr. DE123456789", "IBAN DE75 1203 0000 1020 3040 50"),
        *("BIC BYLADEM1001", "Bestellung BE-2026-4471", "Vertrag RV-2025-017", "Seite 1 von 1"),
    )
    for phrase in expected:
        assert phrase in shown, phrase


def test_english_and_french_labels_and_forms(tmp_path: Path) -> None:
    """The English invoice says "Amount due" with €-prefixed amounts and "1 Oct"-style dates;
    the French one "Net à payer" with "1 234,56 €"-style amounts."""
    english = text(pdf_file(tmp_path, ENGLISH, "en"))
    assert "Invoice RW-2026-5504" in english and "Amount due" in english
    assert "Page 1 of 1" in english and "€" in english
    french = text(pdf_file(tmp_path, FRENCH, "fr"))
    assert "Facture AL-2026-00931" in french and "Net à payer" in french
    assert "Page 1 sur 1" in french and "5,5 %" in french


def test_credit_note_is_titled_as_one_and_names_the_corrected_invoice(tmp_path: Path) -> None:
    """A 381 is a "Gutschrift", numbered as one, citing the preceding invoice, with an amount
    to be refunded instead of an amount due."""
    shown = text(pdf_file(tmp_path, CREDIT_NOTE, "de"))
    assert "Gutschrift NB-2026-90001" in shown and "Gutschriftsnummer" in shown
    assert "Bezieht sich auf Rechnung NB-2026-10001" in shown
    assert "Erstattungsbetrag" in shown and "Zahlbetrag" not in shown


def test_allowances_charges_prepaid_rounding_and_exemption_reasons(tmp_path: Path) -> None:
    """Document and line allowances/charges with reasons, prepaid and rounding amounts, and a
    VAT exemption reason with its code are printed."""
    doc_level = text(pdf_file(tmp_path, "NB-2026-10002", "de"))
    assert "Nachlässe" in doc_level and "Zuschläge" in doc_level
    line_level = text(pdf_file(tmp_path, "NB-2026-10003", "de"))
    assert "Nachlass Mengenrabatt (95) (5 % von 1.240,00 €): −62,00 €" in line_level
    assert "Zuschlag Montage und Lieferung (SAA): 120,00 €" in line_level
    assert "brutto 40,00 €, Rabatt 2,00 €, je 100 Stk." in line_level
    prepaid = text(pdf_file(tmp_path, "NB-2026-10008", "de"))
    assert "Bereits gezahlt −1.000,00 €" in prepaid and "Rundung 0,02 €" in prepaid
    exempt = text(pdf_file(tmp_path, "APW-2026-0311", "de"))
    assert "Befreiungsgrund: Steuerfrei nach § 4 Nr. 21 UStG" in exempt
    assert "(VATEX-EU-132-1I)" in exempt


def test_address_window_holds_return_line_and_buyer_address(tmp_path: Path) -> None:
    """Within the DIN 5008 form B window (20 mm from left, 45 mm from top, 85 x 45 mm) the
    return-address line and the buyer's address are printed, nothing else."""
    path = pdf_file(tmp_path, SHORT, "de")
    # pdftotext -x/-y/-W/-H crop in points (1 mm = 72/25.4 pt)
    pt = 72 / 25.4
    from pdf_harness import run, tool

    result = run(tool("pdftotext"), "-x", str(int(20 * pt)), "-y", str(int(45 * pt)),
                 "-W", str(int(85 * pt)), "-H", str(int(45 * pt)), path, "-")  # fmt: skip
    window = normalise(result.stdout.decode())
    assert "Nordlicht Bürotechnik GmbH · Friedrichstraße 120 · 10117 Berlin" in window
    assert "Rathausplatz 1" in window and "12345 Musterhausen" in window
    assert "Rechnungsnummer" not in window and "Pos." not in window


def test_page_one_pngs_are_kept_as_test_artefacts(tmp_path: Path) -> None:
    """Page 1 of the short invoice, the credit note and the 1,000-line invoice is written as
    PNG to var/test-artefacts/pdf/ (IGW_TEST_ARTEFACTS) for review."""
    ARTEFACTS.mkdir(parents=True, exist_ok=True)
    for number in (SHORT, CREDIT_NOTE, LARGE):
        png = page_png(pdf_file(tmp_path, number), ARTEFACTS / f"{number}.page1.png", 100)
        assert png.read_bytes().startswith(b"\x89PNG") and png.stat().st_size > 10_000
    assert language_of(invoices()[SHORT]) == "de"


def test_amounts_never_pass_through_float() -> None:
    """A four-decimal unit price keeps its digits (0,0085 €), no float rounding."""
    assert money(Decimal("0.0085"), "EUR", "de") == "0,0085\u00a0€"
