"""JSON intake: one invoice object, an array of invoices, or JSON Lines (one object per line).

Numbers are read as Decimal (``parse_float=Decimal``) so no amount ever passes through a float;
attachments (BT-125) are base64 text, as the model serializes them.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from decimal import Decimal

from gateway.errors import ParseError
from gateway.intake.problems import input_problem
from gateway.intake.records import validate_record
from gateway.intake.results import RecordResult


def _constant(name: str) -> str:
    # NaN/Infinity are not JSON; keep them as text so the record reports "not a finite number".
    return name


def _loads(text: str) -> object:
    return json.loads(text, parse_float=Decimal, parse_constant=_constant)


def decode(data: bytes, source: str) -> str:
    """UTF-8 text (a byte-order mark is dropped); ParseError naming the byte offset otherwise."""
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise ParseError(
            f"not UTF-8 text ({exc.reason}); accepted: UTF-8", f"{source}: byte {exc.start}"
        ) from exc


def read_json(data: bytes, source: str = "<input>") -> Iterator[RecordResult]:
    """Yield one :class:`RecordResult` per record of a JSON or JSON Lines document.

    A whole-document syntax error raises :class:`ParseError` with line and column (nothing can
    be read); in JSON Lines a malformed line is a rejected record and the others still come out.
    """
    text = decode(data, source)
    stripped = text.lstrip()
    if not stripped:
        return
    try:
        document = _loads(text)
    except json.JSONDecodeError as exc:
        if stripped.startswith("{") and exc.msg == "Extra data":
            yield from _read_lines(text)
            return
        raise ParseError(
            f"malformed JSON: {exc.msg}", f"{source}: line {exc.lineno} column {exc.colno}"
        ) from exc
    if isinstance(document, list):
        for index, entry in enumerate(document, start=1):
            yield validate_record(entry, f"record {index}")
    elif isinstance(document, dict):
        yield validate_record(document, "record 1")
    else:
        raise ParseError(
            "expected a JSON object (one invoice) or an array of them", f"{source}: line 1"
        )


def _read_lines(text: str) -> Iterator[RecordResult]:
    """JSON Lines: every non-blank line is one record."""
    count = 0
    for number, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        count += 1
        position = f"record {count} (line {number})"
        try:
            entry = _loads(line)
        except json.JSONDecodeError as exc:
            problem = input_problem(
                position,
                f"malformed JSON at line {number} column {exc.colno}: {exc.msg}",
                accepted="one complete JSON object per line",
            )
            yield RecordResult(position, position, None, (problem,))
            continue
        yield validate_record(entry, position)
