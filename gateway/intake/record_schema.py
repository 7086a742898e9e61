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
    return {
        "$schema": SCHEMA_DIALECT,
        "$id": SCHEMA_ID,
        "title": "invoice-gateway ERP record (EN 16931 invoice or credit note)",
        "description": (
            "One invoice or credit note in EN 16931 terms. A file holds one record, a JSON "
            "array of records, or JSON Lines. Totals (BG-22), the VAT breakdown amounts "
            "(BG-23) and line net amounts (BT-131) may be left out: the gateway computes them. "
            + (body.pop("description", "") or "")
        ).strip(),
        **{k: v for k, v in body.items() if k != "title"},
    }
