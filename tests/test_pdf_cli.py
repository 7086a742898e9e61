"""``igw translate --to pdf``, ``igw formats`` and ``igw validate`` with the pdf format."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from pdf_harness import ROOT, SHORT, rendered

from gateway.validation import validate


def igw(*args: str | Path, cwd: Path = ROOT) -> subprocess.CompletedProcess[str]:
    """Run the CLI in a subprocess."""
    return subprocess.run(
        [sys.executable, "-m", "gateway.cli", *map(str, args)],
        capture_output=True, text=True, cwd=cwd, timeout=300, check=False,
    )  # fmt: skip


def test_translate_to_pdf_writes_one_pdf_per_invoice_that_validates(tmp_path: Path) -> None:
    """translate --to pdf,xrechnung-cii writes a PDF per invoice next to the XML, validation
    passes both, and no WeasyPrint/fontTools log chatter reaches the output."""
    out = tmp_path / "out"
    result = igw("translate", ROOT / "examples" / "erp-export.csv", "--to", "pdf,xrechnung-cii",
                 "--option", "language=de", "--out", out)  # fmt: skip
    assert result.returncode == 0, result.stderr
    pdfs = sorted((out / "pdf").glob("*.pdf"))
    assert len(pdfs) == 5 and all(p.read_bytes().startswith(b"%PDF-") for p in pdfs)
    assert "fontTools" not in result.stderr and "weasyprint" not in result.stderr
    checked = igw("validate", *pdfs)
    assert checked.returncode == 0, checked.stdout + checked.stderr
    assert "5 passed, 0 failed" in checked.stdout


def test_formats_lists_pdf() -> None:
    """`igw formats` lists the pdf alias as built in, with syntax pdf and no rule sets."""
    result = igw("formats")
    assert result.returncode == 0, result.stderr
    (line,) = [x for x in result.stdout.splitlines() if x.startswith("pdf ")]
    assert "pdf" in line.split()[1] and "built-in" in line


def test_unknown_pdf_option_is_refused_with_a_hint(tmp_path: Path) -> None:
    """--option langauge=de (typo) is refused naming the keys pdf reads."""
    result = igw("translate", ROOT / "examples" / "erp-export.csv", "--to", "pdf",
                 "--option", "langauge=de", "--out", tmp_path / "o")  # fmt: skip
    assert result.returncode == 2, result.stdout + result.stderr
    assert "language" in result.stderr


def test_validation_checks_a_pdf_structurally() -> None:
    """A whole PDF passes with a note on how it was checked; a truncated one is one fatal
    PDF-STRUCTURE finding, not an XML parse error."""
    whole = validate(rendered(SHORT), name="x.pdf")
    assert whole.findings == [] and whole.syntax == "pdf" and "structure" in whole.notes[0]
    cut = validate(rendered(SHORT)[:2000], name="x.pdf")
    assert [p.rule for p in cut.findings] == ["PDF-STRUCTURE"]
