"""Round trips: ``parse(render(x)) == stamped(x)`` for built invoices and every official sample."""

from __future__ import annotations

from pathlib import Path

import pytest
from builders import simple_invoice
from test_cii_cases import CASES

from gateway.model import Invoice
from gateway.totals import complete
from mappings.cii.formats import FacturXEn16931, GenericCii, XRechnungCii
from mappings.en16931 import (
    EN16931_SPECIFICATION as EN16931_GUIDELINE,
)
from mappings.en16931 import (
    PEPPOL_BILLING_PROCESS,
)
from mappings.en16931 import (
    XRECHNUNG_SPECIFICATION as XRECHNUNG_GUIDELINE,
)

MAPPINGS = [GenericCii(), XRechnungCii(), FacturXEn16931()]
Mapping = GenericCii | XRechnungCii | FacturXEn16931


def _round_trip(mapping: Mapping, invoice: Invoice) -> None:
    back = mapping.parse(mapping.render(invoice).content)
    expected = mapping.stamped(invoice)
    if back != expected:  # name the differing top-level fields, not a 5 kB repr
        diff = [k for k in Invoice.model_fields if getattr(back, k) != getattr(expected, k)]
        pytest.fail(f"{mapping.name}: round trip changed {diff}")


@pytest.mark.parametrize("mapping", MAPPINGS, ids=lambda m: m.name)
def test_simple_invoice_round_trips(mapping: Mapping) -> None:
    """builders.simple_invoice (totals computed on render) reads back as its stamped self."""
    _round_trip(mapping, simple_invoice())


@pytest.mark.parametrize("mapping", MAPPINGS, ids=lambda m: m.name)
@pytest.mark.parametrize("case", list(CASES))
def test_mapping_cases_round_trip(mapping: Mapping, case: str) -> None:
    """Every mapping case (credit note, allowances, attachment, foreign currency...) round-trips."""
    _round_trip(mapping, complete(CASES[case]()))


def test_every_official_sample_round_trips(conformance: Path) -> None:
    """Each official CII sample parses, and its invoice survives render -> parse unchanged."""
    samples = sorted((conformance / "samples" / "cii").rglob("*.xml"))
    assert samples
    generic, xrechnung = GenericCii(), XRechnungCii()
    for sample in samples:
        invoice = generic.parse(sample.read_bytes())
        mapping: Mapping = xrechnung if sample.parent.name == "xrechnung" else generic
        assert mapping.stamped(invoice) == invoice, f"{sample.name}: stamping changed BT-23/24"
        _round_trip(mapping, invoice)


def test_stamped_sets_each_formats_guideline() -> None:
    """stamped writes BT-24 per format: XRechnung CIUS, EN 16931 for Factur-X, own id for cii."""
    invoice = simple_invoice(specification_id="urn:example:own-cius")
    assert XRechnungCii().stamped(invoice).specification_id == XRECHNUNG_GUIDELINE
    assert FacturXEn16931().stamped(invoice).specification_id == EN16931_GUIDELINE
    assert GenericCii().stamped(invoice).specification_id == "urn:example:own-cius"
    assert GenericCii().stamped(simple_invoice()).specification_id == EN16931_GUIDELINE


def test_business_process_kept_and_defaulted_for_xrechnung() -> None:
    """BT-23 is the invoice's own; XRechnung (which requires it) falls back to Peppol billing."""
    own = simple_invoice(business_process="urn:example:process")
    assert XRechnungCii().stamped(own).business_process == "urn:example:process"
    assert XRechnungCii().stamped(simple_invoice()).business_process == PEPPOL_BILLING_PROCESS
    assert GenericCii().stamped(simple_invoice()).business_process is None
    assert FacturXEn16931().stamped(own).business_process == "urn:example:process"


def test_stamped_completes_and_does_not_mutate() -> None:
    """stamped returns a completed copy; the input invoice keeps its omitted totals."""
    invoice = simple_invoice()
    stamped = GenericCii().stamped(invoice)
    assert invoice.totals is None
    assert stamped.totals is not None and stamped.totals.due is not None
