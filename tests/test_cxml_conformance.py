"""Every example rendered to cXML passes the independent checker and our own DTD validation."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from test_cxml_golden import ENVELOPE, MAPPING, PROFILE, example_invoices

from gateway.validation.cxml import validate_cxml


def test_examples_pass_the_conformance_checker(conformance: Path, tmp_path: Path) -> None:
    """validate.py --format cxml reports zero fatal findings for every rendered example."""
    for invoice in example_invoices():
        document = MAPPING.render(invoice, PROFILE, ENVELOPE)
        (tmp_path / document.filename).write_bytes(document.content)
    written = sorted(tmp_path.glob("*.xml"))
    assert len(written) == len(example_invoices())
    run = subprocess.run(
        [
            sys.executable,
            str(conformance / "validate.py"),
            str(tmp_path),
            "--format",
            "cxml",
            "--json",
        ],
        capture_output=True,
        check=False,
        timeout=300,
    )
    report = json.loads(run.stdout)
    assert len(report["files"]) == len(written)
    fatal = [
        (Path(f["file"]).name, x["id"], x["text"])
        for f in report["files"]
        for x in f["findings"]
        if x["flag"] == "fatal"
    ]
    assert fatal == []
    assert all("dtd" in " ".join(f["rules"]).lower() for f in report["files"])
    assert run.returncode == 0


def test_checker_rejects_a_broken_cxml(conformance: Path, tmp_path: Path) -> None:
    """The same checker call fails a rendered document without InvoiceDetailSummary."""
    content = MAPPING.render(example_invoices()[0], PROFILE, ENVELOPE).content
    start, end = content.index(b"<InvoiceDetailSummary>"), content.index(b"</InvoiceDetailSummary>")
    (tmp_path / "broken.xml").write_bytes(content[:start] + content[end + 23 :])
    run = subprocess.run(
        [
            sys.executable,
            str(conformance / "validate.py"),
            str(tmp_path),
            "--format",
            "cxml",
            "--json",
        ],
        capture_output=True,
        check=False,
        timeout=300,
    )
    report = json.loads(run.stdout)
    assert not report["files"][0]["passed"]
    assert run.returncode == 1


def test_examples_pass_our_own_dtd_validation() -> None:
    """validate_cxml finds nothing in any rendered example."""
    for invoice in example_invoices():
        report = validate_cxml(MAPPING.render(invoice, PROFILE, ENVELOPE).content, invoice.number)
        assert report.findings == [], invoice.number
        assert report.record == invoice.number
