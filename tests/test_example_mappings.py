"""Every example invoice in every format: round trip through the mapping, and a golden file."""

from __future__ import annotations

from functools import cache
from pathlib import Path

import pytest
from golden import assert_golden

from gateway.intake import read_records
from gateway.model import Invoice
from gateway.profiles.profile import BuyerProfile
from gateway.registry import resolve_mapping

ROOT = Path(__file__).resolve().parent.parent
FORMATS = ("peppol-bis3", "xrechnung-ubl", "xrechnung-cii", "facturx-en16931")
PROFILE = BuyerProfile(name="examples")
EXPORT = ROOT / "examples" / "erp-export.json"
LARGE = ROOT / "examples" / "large-1000-lines.json"


@cache
def examples(path: Path) -> dict[str, Invoice]:
    """The accepted invoices of an example file, by invoice number."""
    found: dict[str, Invoice] = {}
    for result in read_records(path):
        assert result.invoice is not None, result.problems
        found[result.invoice.number] = result.invoice
    return found


NUMBERS = sorted(examples(EXPORT))


@pytest.mark.parametrize("fmt", FORMATS)
@pytest.mark.parametrize("number", NUMBERS)
def test_example_round_trips(fmt: str, number: str) -> None:
    """parse(render(x)) equals x (with BT-23/BT-24 as the mapping stamps them)."""
    mapping = resolve_mapping(fmt)
    invoice = examples(EXPORT)[number]
    parsed = mapping.parse(mapping.render(invoice, PROFILE).content)
    assert parsed == mapping.stamped(invoice)


@pytest.mark.parametrize("fmt", FORMATS)
def test_large_invoice_round_trips(fmt: str) -> None:
    """The 1,000-line example survives render and parse unchanged."""
    mapping = resolve_mapping(fmt)
    (invoice,) = examples(LARGE).values()
    assert len(invoice.lines) == 1000
    assert mapping.parse(mapping.render(invoice, PROFILE).content) == mapping.stamped(invoice)


@pytest.mark.parametrize("fmt", FORMATS)
@pytest.mark.parametrize("number", NUMBERS)
def test_example_matches_golden_file(fmt: str, number: str) -> None:
    """The rendered document equals tests/golden/examples/<format>/<number>.xml after C14N."""
    document = resolve_mapping(fmt).render(examples(EXPORT)[number], PROFILE)
    assert_golden(f"examples/{fmt}/{number}.xml", document.content)
