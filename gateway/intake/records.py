"""Validating one raw record (a JSON-shaped dict) into a completed Invoice or its problems."""

from __future__ import annotations

import json
from decimal import Decimal
from typing import Any

from pydantic import ValidationError

from gateway.errors import Problem
from gateway.intake.clean import clean_record
from gateway.intake.numbers import check_numbers
from gateway.intake.problems import Describe, describe_json, input_problem, problems_from
from gateway.intake.results import RecordResult
from gateway.model import Invoice
from gateway.totals import complete_record

MAX_RECORD_NAME = 80


def record_name(data: object, position: str) -> str:
    """The invoice number (BT-1) when the record has a usable one, else its position."""
    if isinstance(data, dict):
        number = data.get("number")
        text = str(number).strip() if isinstance(number, (str, int)) else ""
        if text and len(text) <= MAX_RECORD_NAME:  # a 5,000-digit "number" names no record
            return text
    return position


def _as_text(value: object) -> str:
    # Decimals travel as JSON strings: exact, and the model reads them as Decimal again.
    if isinstance(value, Decimal):
        return str(value)
    raise TypeError(f"not JSON-serializable: {type(value).__name__}")


def validate_record(
    data: Any,
    position: str,
    describe: Describe = describe_json,
    extra: tuple[Problem, ...] = (),
) -> RecordResult:
    """Read ``data`` (the record format: the model's JSON shape) into a completed Invoice.

    ``position`` names where the record is (``"record 3"``, ``"rows 12-15"``); ``describe`` maps
    a pydantic location to the path shown to the user. The record is validated in JSON mode so
    attachments are base64 and amounts exact. ``extra`` problems found before validation (by a
    reader) make the record rejected even when the model accepts it.
    """
    record = record_name(data, position)
    if not isinstance(data, dict):
        problem = input_problem(
            record,
            f"a record must be a JSON object, not {type(data).__name__}",
            value=None,
            accepted="an object in the record format (igw schema)",
        )
        return RecordResult(record, position, None, (*extra, problem))
    if "provenance" in data:
        problem = input_problem(
            record,
            "provenance is written by the gateway (derived and master-data terms), not by a record",
            path="provenance",
            value=None,
            accepted="the record without a 'provenance' key (igw parse writes one when it "
            "translated or derived terms: drop it, e.g. jq 'del(.provenance)', to submit the "
            "parsed invoice as a record)",
        )
        return RecordResult(record, position, None, (*extra, problem))
    # Blank texts and empty groups are absent; characters XML cannot carry are refused here,
    # naming field and position, before they could reach a renderer.
    data, refused = clean_record(data, record, describe)
    # Every amount, price, quantity and rate within the range arithmetic is exact in, or a
    # problem naming it: a 1e400 never reaches the totals.
    data, out_of_range = check_numbers(data, record, describe)
    extra = (*extra, *refused, *out_of_range)
    try:
        invoice = Invoice.model_validate_json(json.dumps(data, default=_as_text))
    except ValidationError as exc:
        return RecordResult(record, position, None, (*extra, *problems_from(exc, record, describe)))
    if extra:
        return RecordResult(record, position, None, extra)
    completed, problems = complete_record(invoice, record)
    return RecordResult(record, position, completed, tuple(problems))
