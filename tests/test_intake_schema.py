"""The record format's JSON Schema: dialect, id, BT ids in descriptions, resolvable refs."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from gateway.intake import read_records, record_json_schema
from gateway.model import Invoice

EXAMPLES = Path(__file__).resolve().parent.parent / "examples"


def walk(node: Any) -> list[dict[str, Any]]:
    """Every JSON object inside ``node``."""
    found: list[dict[str, Any]] = []
    if isinstance(node, dict):
        found.append(node)
        for value in node.values():
            found.extend(walk(value))
    elif isinstance(node, list):
        for value in node:
            found.extend(walk(value))
    return found


def test_schema_declares_dialect_id_and_title() -> None:
    """$schema is draft 2020-12, $id an absolute URL, title and description present."""
    schema = record_json_schema()
    assert schema["$schema"] == "https://json-schema.org/draft/2020-12/schema"
    assert schema["$id"].startswith("https://")
    assert "EN 16931" in schema["title"]
    assert schema["type"] == "object" and "number" in schema["required"]
    json.dumps(schema)  # serializable as is


def test_every_ref_resolves_to_a_definition() -> None:
    """All $ref point into $defs, which holds every referenced model."""
    schema = record_json_schema()
    refs = {n["$ref"] for n in walk(schema) if "$ref" in n}
    assert refs
    for ref in refs:
        assert ref.startswith("#/$defs/")
        assert ref.removeprefix("#/$defs/") in schema["$defs"]


def test_descriptions_carry_the_bt_ids() -> None:
    """issue_date says BT-2, seller BG-4; every field with BT metadata has it in its text."""
    schema = record_json_schema()
    props = schema["properties"]
    assert props["issue_date"]["description"].startswith("BT-2 ")
    assert props["seller"]["description"].startswith("BG-4 ")
    for node in walk(schema):
        if isinstance(node.get("bt"), str):
            assert node["description"].startswith(node["bt"]), node


def test_schema_closes_every_object_so_unknown_keys_are_errors() -> None:
    """additionalProperties is false for the invoice and every definition."""
    schema = record_json_schema()
    assert schema["additionalProperties"] is False
    for name, definition in schema["$defs"].items():
        assert definition.get("additionalProperties") is False, name


def test_every_example_validates_against_the_model_the_schema_describes() -> None:
    """Each example record (JSON) validates with Invoice.model_validate_json unchanged."""
    records = json.loads((EXAMPLES / "erp-export.json").read_text(encoding="utf-8"))
    records.append(json.loads((EXAMPLES / "large-1000-lines.json").read_text(encoding="utf-8")))
    for record in records:
        schema_keys = set(record_json_schema()["properties"])
        assert set(record) <= schema_keys
        Invoice.model_validate_json(json.dumps(record))
    assert len(list(read_records(EXAMPLES / "erp-export.json"))) == len(records) - 1


def test_shared_sub_models_name_their_terms_in_each_position() -> None:
    """Seller address says city BT-37, buyer address city BT-52; charges say amount BT-99."""
    schema = record_json_schema()
    defs = schema["$defs"]
    assert "city BT-37" in defs["Seller"]["properties"]["address"]["description"]
    assert "city BT-52" in defs["Buyer"]["properties"]["address"]["description"]
    assert "amount BT-99" in schema["properties"]["charges"]["description"]
