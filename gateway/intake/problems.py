"""Turning pydantic ValidationErrors into :class:`Problem` s a person can act on.

Each pydantic error becomes one Problem naming the record, the field path in the record format,
the BT id (:func:`gateway.model.bt_of`), the value given and what would have been accepted,
e.g. ``issue_date (BT-2) = '13.11.2017': not a date; accepted: YYYY-MM-DD``.
"""

from __future__ import annotations

import difflib
import functools
import types
import typing
from collections.abc import Callable, Sequence
from decimal import Decimal
from typing import Any

from pydantic import BaseModel, ValidationError

from gateway.errors import Problem
from gateway.model import Invoice, bt_of

INPUT_RULE = "INPUT"

Loc = tuple[int | str, ...]
# Turns a pydantic location into (path in the record format, message prefix such as "row 14: ").
Describe = Callable[[Loc], tuple[str, str]]

DECIMAL_ACCEPTED = "a decimal number with '.' as decimal separator, e.g. 1234.56"
DATE_ACCEPTED = "YYYY-MM-DD"


def json_path(loc: Loc) -> str:
    """``("lines", 2, "price", "net")`` -> ``"lines[2].price.net"`` (0-based indexes)."""
    text = ""
    for part in loc:
        if isinstance(part, int):
            text += f"[{part}]"
        else:
            text += f".{part}" if text else part
    return text


def describe_json(loc: Loc) -> tuple[str, str]:
    """Location of an error in a JSON record: the JSON path, no prefix."""
    return json_path(loc), ""


def _model_in(annotation: Any) -> type[BaseModel] | None:
    """The model class inside ``X``, ``X | None`` or ``tuple[X, ...]``, if any."""
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return annotation
    if typing.get_origin(annotation) in (typing.Union, types.UnionType, tuple):
        for arg in typing.get_args(annotation):
            found = _model_in(arg)
            if found is not None:
                return found
    return None


def model_at(loc: Sequence[int | str]) -> type[BaseModel] | None:
    """The model class that holds the fields at ``loc`` (indexes ignored); None off the model."""
    model: type[BaseModel] | None = Invoice
    for part in loc:
        if isinstance(part, int) or (isinstance(part, str) and part.isdigit()):
            continue
        if model is None or part not in model.model_fields:
            return None
        model = _model_in(model.model_fields[part].annotation)
    return model


def field_annotation(loc: Sequence[int | str]) -> Any:
    """The annotation of the field at ``loc`` (indexes ignored), or None off the model."""
    names = [p for p in loc if isinstance(p, str) and not p.isdigit()]
    if not names:
        return None
    parent = model_at(names[:-1])
    if parent is None or names[-1] not in parent.model_fields:
        return None
    return parent.model_fields[names[-1]].annotation


def _holds_decimal(annotation: Any) -> bool:
    """``Decimal``, ``Amount`` (an Annotated Decimal) or either ``| None``."""
    if annotation is Decimal:
        return True
    origin = typing.get_origin(annotation)
    if origin is typing.Annotated:
        return _holds_decimal(typing.get_args(annotation)[0])
    if origin in (typing.Union, types.UnionType):
        return any(_holds_decimal(arg) for arg in typing.get_args(annotation))
    return False


@functools.lru_cache(maxsize=1024)
def _decimal_at(names: tuple[str, ...]) -> bool:
    return _holds_decimal(field_annotation(names))


def is_decimal_field(loc: Sequence[int | str]) -> bool:
    """True when the field at ``loc`` holds a Decimal (an amount, rate, quantity...)."""
    return _decimal_at(tuple(str(p) for p in loc if isinstance(p, str) and not p.isdigit()))


def did_you_mean(loc: Sequence[int | str]) -> tuple[str, list[str]]:
    """For an unknown key at ``loc``: a " did you mean ...?" hint and the keys allowed there."""
    parent = model_at(loc[:-1])
    if parent is None:
        return "", []
    known = list(parent.model_fields)
    close = difflib.get_close_matches(str(loc[-1]), known, n=1, cutoff=0.6)
    return (f"; did you mean {close[0]!r}?" if close else ""), known


def _shown(value: Any) -> object:
    """The value as reported: scalars as given, containers left out (they would be noise)."""
    if isinstance(value, (dict, list, tuple)):
        return None
    return value


def _explain(error: Any, loc: Loc) -> tuple[str, str, object]:
    """(message, accepted, value) for one pydantic error dict."""
    kind: str = error["type"]
    ctx: dict[str, Any] = error.get("ctx") or {}
    value = _shown(error.get("input"))
    if kind == "missing":
        return "missing", "a value (this field is mandatory)", None
    if kind == "extra_forbidden":
        hint, known = did_you_mean(loc)
        return f"unknown field {str(loc[-1])!r}{hint}", "one of: " + ", ".join(known), value
    if kind.startswith("date") or kind.startswith("datetime"):
        return "not a date", DATE_ACCEPTED, value
    if kind in {"decimal_parsing", "decimal_type", "float_parsing", "float_type"}:
        return "not a decimal number", DECIMAL_ACCEPTED, value
    if kind == "finite_number":
        return "not a finite number", DECIMAL_ACCEPTED, value
    if kind.startswith("decimal_max") or kind.startswith("decimal_whole"):
        return "too many digits", DECIMAL_ACCEPTED, value
    if kind == "string_type":
        return "not text", "a JSON string", value
    if kind == "string_too_short":
        return "empty", f"at least {ctx.get('min_length', 1)} character(s)", value
    if kind == "string_too_long":
        return "too long", f"at most {ctx.get('max_length')} character(s)", value
    if kind == "string_pattern_mismatch":
        return "wrong form", f"text matching {ctx.get('pattern')}", value
    if kind == "too_short":
        return "empty list", f"at least {ctx.get('min_length', 1)} entry", None
    if kind in {"model_type", "model_attributes_type", "dict_type"}:
        model = model_at(loc)
        fields = ", ".join(model.model_fields) if model else "its fields"
        return "not an object", f"an object with fields {fields}", value
    if kind in {"tuple_type", "list_type"}:
        return "not a list", "a JSON array", value
    if kind.startswith("bytes"):
        return "not valid attached content", "base64-encoded bytes", value
    return str(error.get("msg", kind)), "", value


def _is_echo(error: Any, errors: list[Any]) -> bool:
    """A ``too_short`` on a list whose entries failed is an echo of those failures: drop it."""
    if error["type"] != "too_short":
        return False
    loc = tuple(error["loc"])
    return any(tuple(e["loc"])[: len(loc)] == loc and len(e["loc"]) > len(loc) for e in errors)


def problems_from(
    exc: ValidationError, record: str, describe: Describe = describe_json
) -> list[Problem]:
    """One :class:`Problem` per pydantic error, in the order pydantic found them."""
    errors = exc.errors(include_url=False)
    found: list[Problem] = []
    for error in errors:
        if _is_echo(error, errors):
            continue
        loc: Loc = tuple(error["loc"])
        path, prefix = describe(loc)
        message, accepted, value = _explain(error, loc)
        found.append(
            Problem(
                record=record,
                path=path,
                bt=bt_of(loc),
                value=value,
                rule=INPUT_RULE,
                message=prefix + message,
                accepted=accepted,
            )
        )
    return found


def input_problem(
    record: str, message: str, *, path: str = "", value: object = None, accepted: str = ""
) -> Problem:
    """A format problem that did not come from pydantic (malformed line, grouping, file)."""
    return Problem(
        record=record,
        path=path,
        bt=bt_of(path) if path else None,
        value=value,
        rule=INPUT_RULE,
        message=message,
        accepted=accepted,
    )
