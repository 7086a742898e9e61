"""Rendering the examples to PDF once per session, and the Debian tools that read them back.

The tools (qpdf, pdffonts, pdftotext, pdftoppm, zbarimg; .ci/debian-packages) are required:
a missing one skips the test, which fails it under CI=true (tests/conftest.py).
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from functools import cache
from pathlib import Path

import pytest
from shared_dir import ROOT

from gateway.intake import read_records
from gateway.model import Invoice
from gateway.profiles.profile import BuyerProfile
from mappings.pdf import PdfInvoice

EXAMPLES = ROOT / "examples"
MAPPING = PdfInvoice()
# Page-1 PNGs for people to look at (var/ is git-ignored, like var/differential.json).
ARTEFACTS = Path(os.environ.get("IGW_TEST_ARTEFACTS", ROOT / "var" / "test-artefacts")) / "pdf"

SHORT, CREDIT_NOTE, LARGE = "NB-2026-10001", "NB-2026-90001", "NB-2026-11000"
GERMAN, ENGLISH, FRENCH = "NB-2026-10002", "RW-2026-5504", "AL-2026-00931"
NON_EUR = ("RW-2026-5505", "NB-2026-10017")  # GBP (means 30), USD (means 58)


def tool(name: str) -> str:
    """The path of a Debian tool; skips (fails under CI) when it is not installed."""
    path = shutil.which(name)
    if path is None:
        pytest.skip(f"{name} not installed (apt-get install: see .ci/debian-packages)")
    return path


def run(*args: str | Path) -> subprocess.CompletedProcess[bytes]:
    """Run a tool, capturing its output; never raises on its exit code."""
    return subprocess.run([str(a) for a in args], capture_output=True, timeout=120, check=False)


@cache
def invoices() -> dict[str, Invoice]:
    """Every example invoice by number (the JSON export and the 1,000-line one)."""
    found: dict[str, Invoice] = {}
    for name in ("erp-export.json", "large-1000-lines.json"):
        for result in read_records(EXAMPLES / name):
            assert result.invoice is not None, result.problems
            found[result.invoice.number] = result.invoice
    return found


def language_of(invoice: Invoice) -> str:
    """The language the tests render an example in: the buyer's, where the labels have it."""
    country = invoice.buyer.address.country
    return "de" if country in {"DE", "AT", "CH"} else "fr" if country == "FR" else "en"


def profile(language: str, **options: str) -> BuyerProfile:
    """A profile for the pdf format with these options."""
    return BuyerProfile(name="pdf-test", format="pdf", options={"language": language, **options})


@cache
def rendered(number: str, language: str | None = None) -> bytes:
    """The PDF bytes of one example (cached for the session)."""
    invoice = invoices()[number]
    return MAPPING.render(invoice, profile(language or language_of(invoice))).content


def pdf_file(tmp_path: Path, number: str, language: str | None = None) -> Path:
    """The example's PDF written to ``tmp_path``."""
    path = tmp_path / f"{number}.pdf"
    path.write_bytes(rendered(number, language))
    return path


def text(path: Path, first: int | None = None, last: int | None = None) -> str:
    """pdftotext of the file (or pages first..last), white space (incl. no-break) collapsed."""
    pages = [*(("-f", str(first)) if first else ()), *(("-l", str(last)) if last else ())]
    result = run(tool("pdftotext"), "-layout", *pages, path, "-")
    assert result.returncode == 0, result.stderr
    return normalise(result.stdout.decode("utf-8"))


def normalise(value: str) -> str:
    """Collapse every kind of space (U+00A0, U+202F from Babel) to one blank."""
    return re.sub(r"[\s\u00a0\u202f]+", " ", value)


def page_png(path: Path, out: Path, resolution: int = 200) -> Path:
    """Page 1 as PNG at ``resolution`` dpi (pdftoppm)."""
    result = run(tool("pdftoppm"), "-r", str(resolution), "-png", "-f", "1", "-l", "1",
                 "-singlefile", path, out.with_suffix(""))  # fmt: skip
    assert result.returncode == 0, result.stderr
    return out.with_suffix(".png")
