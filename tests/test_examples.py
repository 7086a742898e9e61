"""examples/: the ERP export loads, covers what it promises, and renders valid in four formats."""

from __future__ import annotations

import json
import subprocess
import sys
from decimal import Decimal
from pathlib import Path

import pytest

from gateway.intake import read_records
from gateway.model import Invoice
from gateway.profiles.profile import BuyerProfile
from gateway.registry import resolve_mapping
from gateway.rules import check

EXAMPLES = Path(__file__).resolve().parent.parent / "examples"
FILES = ("erp-export.json", "large-1000-lines.json", "erp-export.csv")
ALL_RULES = ("en16931", "peppol", "xrechnung")
# mapping alias -> (validate.py --format, --rules)
FORMATS = {
    "peppol-bis3": ("ubl", "en16931,peppol"),
    "xrechnung-ubl": ("ubl", "en16931,xrechnung"),
    "xrechnung-cii": ("cii", "en16931,xrechnung"),
    "facturx-en16931": ("cii", "en16931,facturx"),
}


def load(name: str) -> list[Invoice]:
    """The accepted invoices of one example file (fails on any rejected record)."""
    invoices = []
    for result in read_records(EXAMPLES / name):
        assert result.accepted, [str(p) for p in result.problems]
        assert result.invoice is not None
        invoices.append(result.invoice)
    return invoices


def export() -> list[Invoice]:
    """The JSON export and the large invoice (the CSV repeats five of the JSON invoices)."""
    return load("erp-export.json") + load("large-1000-lines.json")


def test_every_example_loads_completes_and_passes_the_business_rules() -> None:
    """No example has a fatal or warning finding under EN 16931 + Peppol + XRechnung rules."""
    for name in FILES:
        for invoice in load(name):
            assert invoice.totals is not None and invoice.totals.due is not None
            assert check(invoice, ALL_RULES) == [], invoice.number


def test_export_has_at_least_25_invoices_with_unique_numbers() -> None:
    """The JSON export holds at least 25 records, each with its own number."""
    numbers = [i.number for i in load("erp-export.json")]
    assert len(numbers) >= 25 and len(set(numbers)) == len(numbers)


def test_examples_cover_every_vat_category() -> None:
    """S, Z, E, AE, K, G, O, L and M all occur in line VAT categories."""
    categories = {line.vat_category for i in export() for line in i.lines}
    assert categories >= {"S", "Z", "E", "AE", "K", "G", "O", "L", "M"}


def test_examples_cover_allowances_and_charges_with_reason_codes() -> None:
    """Document and line level allowances and charges occur, each with a reason code."""
    invoices = export()
    assert any(a.reason_code for i in invoices for a in i.allowances)
    assert any(c.reason_code for i in invoices for c in i.charges)
    assert any(a.reason_code for i in invoices for line in i.lines for a in line.allowances)
    assert any(c.reason_code for i in invoices for line in i.lines for c in line.charges)


def test_examples_cover_credit_notes_and_foreign_currency() -> None:
    """A 381 cites its invoice (BG-3); a non-EUR invoice states VAT in EUR (BT-6, BT-111)."""
    invoices = export()
    numbers = {i.number for i in invoices}
    credit_notes = [i for i in invoices if i.type_code == "381"]
    assert credit_notes and all(
        i.preceding_invoices and i.preceding_invoices[0].number in numbers for i in credit_notes
    )
    foreign = [i for i in invoices if i.currency != "EUR"]
    assert {i.currency for i in foreign} >= {"USD", "GBP"}
    for invoice in foreign:
        assert invoice.tax_currency == "EUR"
        assert invoice.totals is not None and invoice.totals.vat_in_accounting_currency is not None


def test_examples_cover_the_payment_means() -> None:
    """58 with an IBAN, 59 with mandate + creditor id + debited IBAN, cards 48/54 last digits."""
    payments = [i.payment for i in export() if i.payment is not None]
    codes = {p.means_code for p in payments}
    assert codes >= {"58", "59", "48", "54"}
    debit = next(p.direct_debit for p in payments if p.means_code == "59")
    assert debit is not None and debit.mandate_reference and debit.creditor_id
    assert debit.debited_account
    for card in (p.card for p in payments if p.means_code in {"48", "54", "55"}):
        assert card is not None and 4 <= len(card.pan_last_digits) <= 6


def test_examples_cover_prepaid_rounding_attachment_and_a_large_invoice() -> None:
    """BT-113, BT-114, an embedded PDF (BG-24) and a 1,000-line invoice are present."""
    invoices = export()
    totals = [i.totals for i in invoices if i.totals is not None]
    assert any(t.prepaid and t.prepaid > 0 for t in totals)
    assert any(t.rounding and t.rounding != Decimal(0) for t in totals)
    pdfs = [
        d.attachment
        for i in invoices
        for d in i.supporting_documents
        if d.attachment is not None and d.attachment.mime_code == "application/pdf"
    ]
    assert pdfs and all(a.content.startswith(b"%PDF-") for a in pdfs)
    assert pdfs[0].content.rstrip().endswith(b"%%EOF")
    assert max(len(i.lines) for i in invoices) == 1000


def test_make_large_reproduces_the_committed_output(tmp_path: Path) -> None:
    """examples/make_large.py writes exactly examples/large-1000-lines.json."""
    target = tmp_path / "large.json"
    subprocess.run(
        [sys.executable, str(EXAMPLES / "make_large.py"), str(target)], check=True, timeout=60
    )
    assert target.read_bytes() == (EXAMPLES / "large-1000-lines.json").read_bytes()


def test_every_example_renders_valid_in_all_four_formats(conformance: Path, tmp_path: Path) -> None:
    """Peppol UBL, XRechnung UBL, XRechnung CII, Factur-X CII: zero fatal findings."""
    pytest.importorskip("mappings.ubl.formats")
    pytest.importorskip("mappings.cii.formats")
    invoices = export()
    failures: list[str] = []
    for alias, (syntax, rules) in FORMATS.items():
        mapping = resolve_mapping(alias)
        folder = tmp_path / alias
        folder.mkdir()
        for invoice in invoices:
            document = mapping.render(invoice, BuyerProfile(format=alias))
            (folder / f"{invoice.number}.xml").write_bytes(document.content)
        run = subprocess.run(
            [
                sys.executable,
                str(conformance / "validate.py"),
                str(folder),
                "--format",
                syntax,
                "--rules",
                rules,
                "--json",
            ],
            capture_output=True,
            check=False,
            text=True,
            timeout=600,
        )
        report = json.loads(run.stdout)
        assert len(report["files"]) == len(invoices), alias
        for file in report["files"]:
            fatal = [f["id"] for f in file["findings"] if f["flag"] == "fatal"]
            if fatal:
                failures.append(f"{alias} {Path(file['file']).name}: {sorted(set(fatal))}")
    assert failures == []
