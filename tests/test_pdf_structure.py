"""The invoice PDF as a file: qpdf finds no damage, every font is embedded, pages break with
the table header repeated, and the same invoice renders to the same bytes."""

from __future__ import annotations

import re
from pathlib import Path

import pikepdf
import pytest
from pdf_harness import (
    CREDIT_NOTE,
    ENGLISH,
    FRENCH,
    GERMAN,
    LARGE,
    MAPPING,
    SHORT,
    invoices,
    pdf_file,
    profile,
    rendered,
    run,
    text,
    tool,
)

EXAMPLES = (SHORT, CREDIT_NOTE, GERMAN, ENGLISH, FRENCH, LARGE)


@pytest.mark.parametrize("number", EXAMPLES)
def test_qpdf_check_finds_no_errors_or_warnings(tmp_path: Path, number: str) -> None:
    """``qpdf --check`` exits 0 with no warning on each example's PDF."""
    result = run(tool("qpdf"), "--check", pdf_file(tmp_path, number))
    output = result.stdout.decode() + result.stderr.decode()
    assert result.returncode == 0, output
    assert "No syntax or stream encoding errors found" in output
    assert "WARNING" not in output.upper(), output


@pytest.mark.parametrize("number", EXAMPLES)
def test_every_font_is_embedded_and_is_the_shipped_one(tmp_path: Path, number: str) -> None:
    """``pdffonts`` lists only fonts with emb=yes, all the shipped DejaVu Sans (no system
    font reached the PDF)."""
    result = run(tool("pdffonts"), pdf_file(tmp_path, number))
    assert result.returncode == 0, result.stderr
    rows = result.stdout.decode().splitlines()[2:]
    assert rows, "no fonts listed"
    for row in rows:
        name, emb = row.split()[0], row.split()[-5]
        assert emb == "yes", row
        assert re.fullmatch(r"[A-Z]{6}\+IGW-DejaVu-Sans(-Bold)?", name), row


@pytest.mark.parametrize("number", [n for n in invoices() if n != LARGE])
def test_every_typical_example_fits_on_one_page(number: str) -> None:
    """Each of the 27 examples of the JSON export is a one-page PDF (read with pikepdf)."""
    with pikepdf.open(__import__("io").BytesIO(rendered(number))) as pdf:
        assert len(pdf.pages) == 1


def test_the_1000_line_invoice_breaks_across_pages_with_the_header_repeated(
    tmp_path: Path,
) -> None:
    """The 1,000-line invoice has many pages; page 2 and the last page start with the running
    header (number, "Seite 2 von N") and the repeated table header, and every line id 1..1000
    appears once."""
    path = pdf_file(tmp_path, LARGE, "de")
    with pikepdf.open(path) as pdf:
        pages = len(pdf.pages)
    assert pages > 1
    for page in (2, pages):
        shown = text(path, page, page)
        assert f"Rechnung {LARGE} · Seite {page} von {pages}" in shown
        assert re.search(r"Pos\. Bezeichnung Menge Einzelpreis USt\. Betrag", shown), shown[:300]
    whole = text(path)
    assert "Zahlbetrag" in whole and whole.count("Pos. Bezeichnung") == pages


def test_the_same_invoice_renders_to_the_same_bytes() -> None:
    """Two renders of one invoice are byte-identical (content-derived /ID, fixed font
    timestamps): a re-send carries the same document hash."""
    invoice = invoices()[SHORT]
    first = MAPPING.render(invoice, profile("de")).content
    second = MAPPING.render(invoice, profile("de")).content
    assert first == second
    assert MAPPING.render(invoice, profile("en")).content != first


def test_the_document_is_named_and_typed_as_a_pdf() -> None:
    """The Document has media type application/pdf, file suffix .pdf, syntax pdf."""
    document = MAPPING.render(invoices()[SHORT], profile("en"))
    assert document.media_type == "application/pdf"
    assert document.filename.endswith(".pdf") and document.extension == "pdf"
    assert document.content.startswith(b"%PDF-")
