"""The record format as JSON Schema: the canonical model's JSON, with BT ids in descriptions."""

from __future__ import annotations

from typing import Any

from gateway.model import Invoice

SCHEMA_DIALECT = "https://json-schema.org/draft/2020-12/schema"
SCHEMA_ID = "https://invoice-gateway.example/schemas/record/v1.json"


def record_json_schema() -> dict[str, Any]:
    """JSON Schema (draft 2020-12) of one ERP record as intake reads it (``igw schema``).

    It is ``Invoice.model_json_schema()`` in validation mode: amounts are JSON numbers or
    strings (read exactly as Decimal), dates ``YYYY-MM-DD``, attachments base64; every field's
    description starts with its EN 16931 id (``BT-2 Invoice issue date``).
    """
    body = Invoice.model_json_schema(mode="validation")
    body.pop("description", None)  # the class docstring speaks Python (":func:"), not JSON
    body.pop("title", None)
    body.get("properties", {}).pop("provenance", None)  # written by the gateway, never by a record
    defs = body.get("$defs", {})
    defs.pop("TermSource", None)
    _name_children(body)
    return {
        "$schema": SCHEMA_DIALECT,
        "$id": SCHEMA_ID,
        "title": "invoice-gateway ERP record (EN 16931 invoice or credit note)",
        "description": (
            "One invoice or credit note in EN 16931 terms (BT-3 type code says which). A file "
            "holds one record, a JSON array of records, or JSON Lines. Amounts are JSON numbers "
            "or strings with '.' as decimal separator, dates YYYY-MM-DD, attachments base64. "
            "Totals (BG-22), VAT breakdown amounts (BG-23) and line net amounts (BT-131) may be "
            "left out: the gateway computes them with EN 16931 rounding; amounts given are "
            "checked, not replaced. Each field's description starts with its BT/BG id."
        ),
        **body,
    }


def _name_children(node: Any) -> None:
    """Append the BT ids of a shared sub-model's fields in this position to the description.

    An address or allowance is one definition, but its fields stand for different terms under
    the seller and the buyer (``city`` is BT-37 there, BT-52 here); the field says which.
    """
    if isinstance(node, dict):
        children = node.get("bt_children")
        if isinstance(children, dict) and children:
            terms = ", ".join(f"{field} {term}" for field, term in children.items())
            node["description"] = f"{node.get('description', '')} ({terms})".strip()
        for value in node.values():
            _name_children(value)
    elif isinstance(node, list):
        for value in node:
            _name_children(value)
