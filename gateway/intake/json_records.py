"""JSON intake: one invoice object, an array of invoices, or JSON Lines (one object per line).

Numbers stay the text they were written as (:mod:`gateway.intake.numbers`: ``parse_float`` and,
for integers too long to be one, ``parse_int`` hooks) so no amount ever passes through a float
and a ``1e400`` or a 5,000-digit integer is a problem of its record, not a crash; attachments
(BT-125) are base64 text, as the model serializes them. Amounts may be JSON numbers
or strings; the decimal separator is always '.', a comma is refused (JSON has no locale).
A key given twice in one object is a problem (json would silently keep the last value).
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

from gateway.errors import ParseError, Problem
from gateway.intake.encoding import decode_text
from gateway.intake.numbers import NumberText, json_float, json_int
from gateway.intake.problems import Loc, input_problem, json_path
from gateway.intake.records import record_name, validate_record
from gateway.intake.results import RecordResult


def _constant(name: str) -> NumberText:
    # NaN/Infinity are not JSON; keep them as text so the record reports "not a finite number".
    return NumberText(name)


class _Object(dict[str, Any]):
    """A JSON object that remembers keys it saw more than once (json keeps the last silently)."""

    duplicates: tuple[str, ...] = ()


def _object(pairs: list[tuple[str, Any]]) -> _Object:
    result = _Object(pairs)
    if len(result) != len(pairs):
        keys = [k for k, _ in pairs]
        result.duplicates = tuple(sorted({k for k in keys if keys.count(k) > 1}))
    return result


def _loads(text: str) -> object:
    return json.loads(
        text,
        parse_float=json_float,
        parse_int=json_int,
        parse_constant=_constant,
        object_pairs_hook=_object,
    )


def duplicate_keys(node: object, record: str, loc: Loc = ()) -> tuple[Problem, ...]:
    """A problem for every key given twice in one object: only one value could be kept."""
    found: list[Problem] = []
    if isinstance(node, _Object):
        for key in node.duplicates:
            path = json_path((*loc, key))
            found.append(
                input_problem(
                    record,
                    f"key {key!r} appears more than once in the same object",
                    path=path,
                    accepted="each key once per object",
                )
            )
    if isinstance(node, dict):
        for key, value in node.items():
            found.extend(duplicate_keys(value, record, (*loc, key)))
    elif isinstance(node, list):
        for index, value in enumerate(node):
            found.extend(duplicate_keys(value, record, (*loc, index)))
    return tuple(found)


def _validate(entry: object, position: str) -> RecordResult:
    return validate_record(
        entry, position, extra=duplicate_keys(entry, record_name(entry, position))
    )


def decode(data: bytes, source: str, encoding: str | None = None) -> str:
    """Text in ``encoding`` (default UTF-8, a byte-order mark dropped); ParseError naming the
    line and byte offset otherwise (:func:`gateway.intake.encoding.decode_text`)."""
    return decode_text(data, source, encoding)


def read_json(
    data: bytes, source: str = "<input>", *, encoding: str | None = None
) -> Iterator[RecordResult]:
    """Yield one :class:`RecordResult` per record of a JSON or JSON Lines document.

    A whole-document syntax error raises :class:`ParseError` with line and column (nothing can
    be read); in JSON Lines a malformed line is a rejected record and the others still come out.
    """
    text = decode(data, source, encoding)
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
            yield _validate(entry, f"record {index}")
    elif isinstance(document, dict):
        yield _validate(document, "record 1")
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
        yield _validate(entry, position)
