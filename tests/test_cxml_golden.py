"""cXML golden files (invoice, credit memo, multi-rate tax, non-EUR) and the shared test setup."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from functools import cache
from pathlib import Path

import pytest
from golden import assert_golden

from gateway.envelope import Envelope
from gateway.intake import read_records
from gateway.model import Invoice
from gateway.profiles.profile import BuyerProfile
from mappings.cxml.format import CxmlInvoice

ROOT = Path(__file__).resolve().parent.parent
EXAMPLE_FILES = ("erp-export.json", "large-1000-lines.json")
OPTIONS = {
    "from_domain": "NetworkID",
    "from_identity": "AN01000000001",
    "to_domain": "NetworkID",
    "to_identity": "AN01000000002",
    "sender_domain": "NetworkID",
    "sender_identity": "AN01000000001",
    "shared_secret": "welcome1",
    "user_agent": "invoice-gateway 0.1",
}
PROFILE = BuyerProfile(name="ariba-buyer", format="cxml", options=OPTIONS)
ENVELOPE = Envelope(
    interchange_ref="IC-000042",
    prepared_at=dt.datetime(2026, 11, 24, 12, 30, tzinfo=dt.timezone(dt.timedelta(hours=1))),
    payload_id="20261124123000.42@gateway.example",
)
MAPPING = CxmlInvoice()


@cache
def example_invoices() -> tuple[Invoice, ...]:
    """Every invoice in examples/ (read with gateway.intake.read_records)."""
    found: list[Invoice] = []
    for name in EXAMPLE_FILES:
        for result in read_records(ROOT / "examples" / name):
            assert result.invoice is not None, result.problems
            found.append(result.invoice)
    return tuple(found)


def example(number: str) -> Invoice:
    """The example invoice with BT-1 ``number``."""
    return next(i for i in example_invoices() if i.number == number)


def iter_examples() -> Iterator[Invoice]:
    """The examples, for parametrising."""
    yield from example_invoices()


GOLDEN_CASES = (
    ("invoice", "NB-2026-10002"),
    ("credit-memo", "NB-2026-90001"),
    ("multi-rate", "APW-2026-0312"),
    ("non-eur", "RW-2026-5505"),
)


@pytest.mark.parametrize(("case", "number"), GOLDEN_CASES, ids=[c[0] for c in GOLDEN_CASES])
def test_render_matches_golden_file(case: str, number: str) -> None:
    """The rendered cXML equals tests/golden/cxml/<case>.xml after C14N."""
    assert_golden(f"cxml/{case}.xml", MAPPING.render(example(number), PROFILE, ENVELOPE).content)


def test_golden_cases_cover_what_they_claim() -> None:
    """The golden examples are a 380, a 381, several VAT rates and a non-EUR currency."""
    assert example("NB-2026-10002").type_code == "380"
    assert example("NB-2026-90001").type_code == "381"
    assert len({(v.category, v.rate) for v in example("APW-2026-0312").vat_breakdown}) >= 3
    assert example("RW-2026-5505").currency != "EUR"
