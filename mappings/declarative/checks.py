"""Checking a rendered document against the buyer's schema, one Problem per violation.

JSON: the document against a JSON Schema (draft 2020-12), location = JSON pointer.
CSV: read back with the declared columns; each row (a dict column -> value) against a JSON
Schema for one row; a cell whose column the schema types ``number``/``integer`` is read as a
number (with the declared decimal separator), an empty cell is left out of the row (so
``required`` reports it); location = ``row N, column NAME``.
XML: the document against an XSD (xmlschema), location = the element path.
"""

from __future__ import annotations

import csv
import io
import json
import re
from decimal import Decimal, InvalidOperation
from typing import Any

import jsonschema
import jsonschema.validators
from jsonschema.exceptions import ValidationError

from gateway.errors import Problem
from mappings.declarative.definition import CsvLayout

RULE = "BUYER-SCHEMA"


def _is_number(checker: object, instance: object) -> bool:
    return isinstance(instance, int | float | Decimal) and not isinstance(instance, bool)


def _is_integer(checker: object, instance: object) -> bool:
    if isinstance(instance, Decimal):
        return instance.is_finite() and instance == instance.to_integral_value()
    return isinstance(instance, int) and not isinstance(instance, bool)


# Amounts are read back as Decimal (never float), so the validator must know Decimal as a number.
_TYPES = jsonschema.Draft202012Validator.TYPE_CHECKER.redefine_many(
    {"number": _is_number, "integer": _is_integer}
)
DecimalValidator: Any = jsonschema.validators.extend(  # type: ignore[no-untyped-call]
    jsonschema.Draft202012Validator, type_checker=_TYPES
)


def make_validator(schema: dict[str, Any]) -> jsonschema.protocols.Validator:
    """A draft 2020-12 validator (formats checked) that takes Decimal for number/integer."""
    validator: jsonschema.protocols.Validator = DecimalValidator(
        schema, format_checker=jsonschema.Draft202012Validator.FORMAT_CHECKER
    )
    return validator


_REQUIRED = re.compile(r"^'(?P<name>.+)' is a required property")


def _known(value: Any) -> Any:
    """A ValidationError attribute that jsonschema types as ``X | Unset``: set on every error."""
    return value


def accepted_text(error: ValidationError) -> str:
    """What the schema keyword that failed accepts, in words."""
    keyword, want = error.validator, _known(error.validator_value)
    if keyword == "type":
        return f"type {' or '.join(want) if isinstance(want, list) else want}"
    if keyword == "pattern":
        return f"a string matching {want}"
    if keyword == "enum":
        return "one of " + ", ".join(json.dumps(v, ensure_ascii=False, default=str) for v in want)
    if keyword == "const":
        return json.dumps(want, ensure_ascii=False, default=str)
    if keyword == "required":
        match = _REQUIRED.match(error.message)
        return f"a value for {match.group('name')} (required)" if match else "the required fields"
    if keyword == "additionalProperties":
        schema = _known(error.schema)
        props = sorted(schema.get("properties", {})) if isinstance(schema, dict) else []
        return "only the properties " + ", ".join(props)
    if keyword in ("oneOf", "anyOf") and isinstance(want, list):
        return "one of: " + " | ".join(_branch(b) for b in want)
    if keyword == "format":
        return f"a {want} value"
    return f"{keyword}: {json.dumps(want, ensure_ascii=False, default=str)}"


def _branch(schema: Any) -> str:
    """A short name for one branch of oneOf/anyOf: ``rate`` for a ``$ref``, else its type."""
    if isinstance(schema, dict):
        if isinstance(schema.get("$ref"), str):
            return str(schema["$ref"]).rsplit("/", 1)[-1]
        if "type" in schema:
            return str(schema["type"])
    return json.dumps(schema, default=str)


def _pointer(parts: Any) -> str:
    return "".join("/" + str(p).replace("~", "~0").replace("/", "~1") for p in parts)


def json_errors(
    instance: Any, validator: jsonschema.protocols.Validator
) -> list[tuple[str, object, ValidationError]]:
    """Each violation as (JSON pointer of the offending field, its value, the error)."""
    found = []
    for error in sorted(validator.iter_errors(instance), key=lambda e: list(map(str, e.path))):
        pointer = _pointer(error.absolute_path)
        value: object = error.instance
        match = _REQUIRED.match(error.message)
        if error.validator == "required" and match:
            pointer += "/" + match.group("name")
            value = None
        elif error.validator == "additionalProperties":
            schema = _known(error.schema)
            known = schema.get("properties", {}) if isinstance(schema, dict) else {}
            given: dict[str, Any] = _known(error.instance)
            extra = sorted(set(given) - set(known))
            pointer += "/" + ",".join(extra)
            value = {k: given[k] for k in extra}
        found.append((pointer, value, error))
    return found


def check_json(
    record: str, text: str, validator: jsonschema.protocols.Validator
) -> list[tuple[str, object, ValidationError | None, Problem | None]]:
    """Violations as (pointer, value, error); a syntax error as a ready Problem."""
    try:
        instance = json.loads(text, parse_float=Decimal)
    except json.JSONDecodeError as exc:
        problem = Problem(
            record,
            f"output line {exc.lineno}, column {exc.colno}",
            None,
            exc.doc[exc.pos :][:20],
            RULE,
            f"the template produced invalid JSON: {exc.msg}",
            "well-formed JSON",
        )
        return [("", None, None, problem)]
    return [(p, v, e, None) for p, v, e in json_errors(instance, validator)]


def _cell(text: str, kinds: object, decimal: str) -> object:
    types = kinds if isinstance(kinds, list) else [kinds]
    if "number" in types or "integer" in types:
        plain = text.replace(decimal, ".") if decimal != "." else text
        if (decimal != "." and "." in text) or (decimal == "." and "," in text):
            return text  # the other separator: not a number in this layout
        try:
            value = Decimal(plain)
        except InvalidOperation:
            return text
        if value.is_finite():
            return value
    return text


def _declared_type(schema: dict[str, Any], prop: Any, depth: int = 0) -> object:
    """The ``type`` of a column's schema, following local ``$ref`` s (``#/$defs/money``)."""
    if not isinstance(prop, dict) or depth > 8:
        return None
    ref = prop.get("$ref")
    if "type" not in prop and isinstance(ref, str) and ref.startswith("#/"):
        target: Any = schema
        for part in ref[2:].split("/"):
            target = target.get(part, {}) if isinstance(target, dict) else {}
        return _declared_type(schema, target, depth + 1)
    return prop.get("type")


def read_csv_rows(
    text: str, layout: CsvLayout, row_schema: dict[str, Any]
) -> tuple[list[tuple[int, dict[str, object]]], list[tuple[str, object, str, str]]]:
    """Rows as (row number, dict) plus layout faults as (location, value, message, accepted)."""
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=layout.delimiter)
    rows = list(reader)
    faults: list[tuple[str, object, str, str]] = []
    props = row_schema.get("properties", {})
    start = 0
    if layout.header:
        if not rows or tuple(rows[0]) != layout.columns:
            got = rows[0] if rows else None
            faults.append(
                (
                    "row 1",
                    got,
                    "header row differs from the declared columns",
                    layout.delimiter.join(layout.columns),
                )
            )
        start = 1
    result = []
    for index, cells in enumerate(rows[start:], start=start + 1):
        if len(cells) != len(layout.columns):
            faults.append(
                (
                    f"row {index}",
                    layout.delimiter.join(cells),
                    f"{len(cells)} cells",
                    f"{len(layout.columns)} cells",
                )
            )
            continue
        row = {
            name: _cell(cell, _declared_type(row_schema, props.get(name, {})), layout.decimal)
            for name, cell in zip(layout.columns, cells, strict=True)
            if cell != ""
        }
        result.append((index, row))
    return result, faults
