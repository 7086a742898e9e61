"""igw schema describes every field by its EN 16931 term in the place it stands, and carries an
example record that validates and translates cleanly (issue 10 item 6)."""

from __future__ import annotations

import datetime as dt
import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import jsonschema
from pydantic import BaseModel

from gateway.envelope import default_envelope
from gateway.intake import read_records, record_json_schema
from gateway.model import Invoice, bt_of
from gateway.model.example import EXAMPLE_RECORD
from gateway.model.paths import _model_of
from gateway.profiles.profile import BuyerProfile
from gateway.registry import resolve_mapping
from gateway.translation.pipeline import translate

ROOT = Path(__file__).resolve().parent.parent
PREPARED = dt.datetime(2026, 10, 5, 9, 0, tzinfo=dt.UTC)
# Every built-in format (the buyer formats of config/formats are judged by their own tests).
BUILT_IN = (
    "ubl",
    "cii",
    "cxml",
    "eancom-d96a",
    "facturx-en16931",
    "peppol-bis3",
    "xrechnung-cii",
    "xrechnung-ubl",
)


def _properties(
    schema: dict[str, Any], *, leaves_only: bool = True
) -> list[tuple[tuple[str, ...], dict[str, Any]]]:
    """(model path, property schema) of every leaf property (or every property), following
    $refs from the root along the model's own fields (so a shared class is seen in every place
    it is used)."""
    defs = schema["$defs"]
    found: list[tuple[tuple[str, ...], dict[str, Any]]] = []

    def refs(node: Any) -> list[str]:
        if isinstance(node, dict):
            own = [node["$ref"].removeprefix("#/$defs/")] if "$ref" in node else []
            return own + [r for value in node.values() for r in refs(value)]
        if isinstance(node, list):
            return [r for value in node for r in refs(value)]
        return []

    def walk(model: type[BaseModel], node: dict[str, Any], path: tuple[str, ...]) -> None:
        for name, prop in node["properties"].items():
            child = _model_of(model.model_fields[name].annotation)
            if child is None or not leaves_only:
                found.append(((*path, name), prop))
            if child is None:
                continue
            (target,) = set(refs(prop))
            walk(child, defs[target], (*path, name))

    walk(Invoice, schema, ())
    return found


def test_every_leaf_property_has_a_description_naming_its_term() -> None:
    """Every leaf has a description; each one that is an EN 16931 term starts with the id that
    term has in that place (seller city BT-37, buyer city BT-52, BT-29-1 ...)."""
    leaves = _properties(record_json_schema())
    assert len(leaves) >= 180
    missing = [".".join(path) for path, prop in leaves if not prop.get("description")]
    assert missing == []
    wrong = []
    for path, prop in leaves:
        term = bt_of(path)
        if term is not None and not prop["description"].startswith(f"{term} "):
            wrong.append(f"{'.'.join(path)}: {term} expected, got {prop['description']!r}")
    assert wrong == []


def test_shared_classes_get_one_definition_per_use() -> None:
    """Address, contact, period, identifier and allowance fields say which term they are where:
    SellerAddress.city is BT-37 Seller city, BuyerAddress.city BT-52 Buyer city ..."""
    defs = record_json_schema()["$defs"]
    expected = {
        ("SellerAddress", "city"): "BT-37 Seller city",
        ("BuyerAddress", "city"): "BT-52 Buyer city",
        ("TaxRepresentativeAddress", "country"): "BT-69 Tax representative country code",
        ("DeliveryAddress", "line3"): "BT-165 Deliver to address line 3",
        ("SellerContact", "email"): "BT-43 Seller contact email address",
        ("BuyerContact", "name"): "BT-56 Buyer contact point",
        ("InvoicePeriod", "start"): "BT-73 Invoicing period start date",
        ("InvoiceLinePeriod", "end"): "BT-135 Invoice line period end date",
        ("Allowance", "amount"): "BT-92 Document level allowance amount",
        ("Charge", "reason_code"): "BT-105 Document level charge reason code",
        ("InvoiceLineAllowance", "percentage"): "BT-138 Invoice line allowance percentage",
        ("InvoiceLineCharge", "base_amount"): "BT-142 Invoice line charge base amount",
        ("SellerIdentifier", "value"): "BT-29 Seller identifier",
        ("SellerElectronicAddress", "scheme"): "BT-34-1 ",
        ("BuyerLegalRegistration", "scheme"): "BT-47-1 ",
        ("ItemClassification", "version"): "BT-158-2 ",
    }
    for (name, field), text in expected.items():
        prop = defs[name]["properties"][field]
        assert prop["description"].startswith(text), (name, field, prop["description"])
        assert prop["bt"] == text.split(" ")[0], (name, field)
    assert not {"Address", "Contact", "Period", "Identifier", "AllowanceCharge"} & set(defs)


def test_schema_example_validates_against_the_schema_and_intake() -> None:
    """The schema's example record is valid JSON Schema data and intake accepts it unchanged."""
    schema = record_json_schema()
    (example,) = schema["examples"]
    assert example == EXAMPLE_RECORD
    jsonschema.Draft202012Validator.check_schema(schema)
    errors = list(jsonschema.Draft202012Validator(schema).iter_errors(example))
    assert errors == []
    (result,) = read_records(json.dumps(example).encode("utf-8"), "json")
    assert result.problems == () and result.invoice is not None


def test_schema_example_translates_into_every_built_in_format_without_a_finding() -> None:
    """Checked, rendered and validated (XSD + official schematron) in every built-in format:
    a document each and no finding at all, fatal or warning."""
    (result,) = read_records(json.dumps(EXAMPLE_RECORD).encode("utf-8"), "json")
    sequence = iter(range(1, 100))
    profile = BuyerProfile(options={"shared_secret": "example"})  # cXML needs one
    outcomes = list(
        translate(
            [(result.record, result.invoice, result.problems)],
            [resolve_mapping(name) for name in BUILT_IN],
            profile,
            envelopes=lambda: default_envelope(next(sequence), PREPARED),
        )
    )
    assert [o.format for o in outcomes] == list(BUILT_IN)
    findings = {o.format: [str(p) for p in o.problems] for o in outcomes if o.problems}
    assert findings == {}
    assert all(o.ok for o in outcomes)


def test_igw_schema_prints_the_schema_with_descriptions_and_example() -> None:
    """igw schema prints JSON whose example and descriptions are those tested above."""
    result = subprocess.run(
        [sys.executable, "-m", "gateway.cli.main", "schema"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    printed = json.loads(result.stdout)
    assert printed["examples"] == [EXAMPLE_RECORD]
    assert printed["$defs"]["SellerAddress"]["properties"]["city"]["bt"] == "BT-37"


def test_every_property_of_a_group_names_its_bg_or_bt_too() -> None:
    """Groups (seller BG-4, seller address BG-5, lines BG-25, payment BG-16 ...) are described
    by their id as well, in every place."""
    every = _properties(record_json_schema(), leaves_only=False)
    assert len(every) > len(_properties(record_json_schema()))
    wrong = [
        ".".join(path)
        for path, prop in every
        if not prop.get("description")
        or ((term := bt_of(path)) is not None and not prop["description"].startswith(f"{term} "))
    ]
    assert wrong == []
