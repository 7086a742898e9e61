"""Invoice.provenance: the terms the gateway filled, kept apart from what the source gave."""

from __future__ import annotations

import json
from pathlib import Path

from builders import simple_invoice

from gateway.intake.record_schema import record_json_schema
from gateway.intake.records import validate_record
from gateway.model import TermSource
from gateway.store.core import canonical_json

EXAMPLES = Path(__file__).resolve().parent.parent / "examples"


def test_canonical_json_leaves_out_empty_provenance() -> None:
    """An invoice without filled terms has the canonical JSON it had before provenance existed."""
    assert "provenance" not in json.loads(canonical_json(simple_invoice()))


def test_canonical_json_keeps_filled_terms() -> None:
    """A filled term is part of the canonical JSON, with its path, BT id, source and detail."""
    term = TermSource(
        path="seller.electronic_address", bt="BT-34", source="master-data", detail="sellers/a.toml"
    )
    invoice = simple_invoice().model_copy(update={"provenance": (term,)})
    stored = json.loads(canonical_json(invoice))["provenance"]
    assert stored == [
        {"path": "seller.electronic_address", "bt": "BT-34", "source": "master-data",
         "detail": "sellers/a.toml"}
    ]


def test_record_may_not_claim_provenance() -> None:
    """An ERP record that carries 'provenance' is refused by name; the gateway alone writes it."""
    record = json.loads((EXAMPLES / "erp-export.json").read_text())[0]
    record["provenance"] = [{"path": "x", "source": "derived", "detail": "y"}]
    result = validate_record(record, "record 1")
    assert result.invoice is None
    assert [p.path for p in result.problems] == ["provenance"]


def test_record_schema_does_not_offer_provenance() -> None:
    """igw schema does not list provenance among the record's fields."""
    schema = record_json_schema()
    assert "provenance" not in schema["properties"]
    assert "TermSource" not in schema.get("$defs", {})
