"""Numbers in ERP records: every amount, price, quantity and rate checked before the model reads it.

A record may carry a number as a JSON number, a JSON string or a CSV cell. The JSON reader keeps
every JSON number as its text (:class:`NumberText`), so a ``1e400``, a 30-digit price or a
5,000-digit integer is never turned into a float, an int beyond Python's limit or a Decimal
that only fails later in arithmetic. Here each value in a decimal field is read as a Decimal
and held to the range :mod:`mappings.numbers` defines (at most 19 integer digits, 6 for
percentages, and 19 decimals; finite). A value outside it is a problem of that record, naming
the field, its BT id, the value as given (cut when long) and the accepted range; the batch goes
on. Exponent forms in range (``1.5e2``) are accepted and passed on in plain form (``150``),
because every invoice syntax writes numbers without an exponent.
"""

from __future__ import annotations

from decimal import Decimal, InvalidOperation
from typing import Any

from gateway.errors import Problem
from gateway.intake.problems import INPUT_RULE, Describe, Loc, is_decimal_field, model_at
from gateway.model import bt_of
from mappings.numbers import (
    MAX_FRACTION_DIGITS,
    MAX_INTEGER_DIGITS,
    MAX_PERCENT_DIGITS,
    MAX_SHOWN,
    Kind,
    out_of_range,
)

#: JSON integers longer than this stay text (Python refuses int() beyond 4,300 digits)
MAX_INT_TEXT = MAX_SHOWN

AMOUNT = Kind("amount", MAX_INTEGER_DIGITS)
PRICE = Kind("unit price", MAX_INTEGER_DIGITS)
QUANTITY = Kind("quantity", MAX_INTEGER_DIGITS)
PERCENT = Kind("percentage", MAX_PERCENT_DIGITS)

_PERCENT_FIELDS = frozenset({"vat_rate", "rate", "percentage"})
_QUANTITY_FIELDS = frozenset({"quantity", "base_quantity"})
_PLACEHOLDER = "0"  # stands in for a refused value so the model reports the record's other faults


class NumberText(str):
    """A JSON number kept as the text it was written as (``parse_float``/``parse_int`` hook)."""

    __slots__ = ()


def json_float(text: str) -> NumberText:
    """``json.loads`` ``parse_float`` hook: the number stays text until it is checked."""
    return NumberText(text)


def json_int(text: str) -> int | NumberText:
    """``json.loads`` ``parse_int`` hook: an int, or text when it is too long to be one."""
    return int(text) if len(text) <= MAX_INT_TEXT else NumberText(text)


def kind_of(loc: Loc) -> Kind:
    """What the decimal field at ``loc`` stands for (its integer-digit limit)."""
    name = loc[-1] if loc else ""
    if name in _PERCENT_FIELDS:
        return PERCENT
    if name in _QUANTITY_FIELDS:
        return QUANTITY
    if len(loc) >= 2 and loc[-2] == "price":
        return PRICE
    return AMOUNT


def accepted(kind: Kind) -> str:
    """The accepted form and range of a ``kind`` field, for the problem's ``accepted``."""
    rounding = "; amounts are kept to 2 decimals (BR-DEC-*)" if kind is AMOUNT else ""
    return (
        f"a finite decimal number such as 1234.56 with at most {kind.integer_digits} integer "
        f"digits and {MAX_FRACTION_DIGITS} decimals{rounding}"
    )


def _text(value: object) -> str | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, (str, int, Decimal)):
        return str(value).strip() if not isinstance(value, Decimal) else str(value)
    return None


def _as_decimal(text: str) -> Decimal | None:
    try:
        return Decimal(text)
    except (InvalidOperation, ValueError):
        # a digit string too long for an exponent, or no number at all: the model words the
        # latter ("not a decimal number"); the former is a number out of range
        return None


class _Checker:
    def __init__(self, record: str, describe: Describe) -> None:
        self.record = record
        self.describe = describe
        self.problems: list[Problem] = []

    def refuse(self, loc: Loc, raw: str, message: str, accept: str) -> str:
        path, prefix = self.describe(loc)
        self.problems.append(
            Problem(
                record=self.record,
                path=path,
                bt=bt_of(loc),
                value=_cut(raw),
                rule=INPUT_RULE,
                message=prefix + message,
                accepted=accept,
            )
        )
        return _PLACEHOLDER

    def number(self, value: object, loc: Loc) -> object:
        text = _text(value)
        if text is None:
            return value
        kind = kind_of(loc)
        number = _as_decimal(text)
        if number is None:
            if _looks_numeric(text):
                return self.refuse(loc, text, "has an exponent beyond any range", accepted(kind))
            return value
        trouble = out_of_range(number, kind)
        if trouble is not None:
            return self.refuse(loc, text, trouble, accepted(kind))
        if isinstance(value, int) and not isinstance(value, bool):
            return value
        return format(number, "f") if _has_exponent(text) else value

    def node(self, value: object, loc: Loc) -> object:
        if isinstance(value, dict):
            return {k: self.node(v, (*loc, k)) for k, v in value.items()}
        if isinstance(value, list):
            return [self.node(v, (*loc, n)) for n, v in enumerate(value)]
        if loc and is_decimal_field(loc):
            return self.number(value, loc)
        if isinstance(value, NumberText) and len(value) > MAX_INT_TEXT:
            if not _is_known_field(loc):
                return _cut(value)  # an unknown key: the model names it, shown short
            return self.refuse(
                loc,
                value,
                f"a JSON number of {len(value):,} characters where text is expected",
                "a JSON string",
            )
        return value


def _is_known_field(loc: Loc) -> bool:
    """True when ``loc`` is a field of the model (an unknown key is named by the model)."""
    parent = model_at(loc[:-1]) if loc else None
    return parent is not None and isinstance(loc[-1], str) and loc[-1] in parent.model_fields


def _has_exponent(text: str) -> bool:
    return "e" in text or "E" in text


def _looks_numeric(text: str) -> bool:
    body = text.lstrip("+-")
    return bool(body) and all(c.isdigit() or c in ".eE+-" for c in body) and body[0].isdigit()


def _cut(raw: str) -> str:
    """The value as given, cut to a readable length (its length said) when long."""
    if len(raw) <= MAX_SHOWN:
        return raw
    return f"{raw[:MAX_SHOWN]}... ({len(raw):,} characters)"


def check_numbers(
    data: dict[str, Any], record: str, describe: Describe
) -> tuple[dict[str, Any], tuple[Problem, ...]]:
    """``data`` with every decimal field's value checked, and the problems found.

    A refused value is replaced by ``0`` in the returned data (the record is rejected anyway;
    the model then reports the record's other faults, not a second one for this field). The
    input is not changed.
    """
    checker = _Checker(record, describe)
    checked = checker.node(data, ())
    assert isinstance(checked, dict)
    return checked, tuple(checker.problems)


__all__ = [
    "AMOUNT",
    "PERCENT",
    "PRICE",
    "QUANTITY",
    "NumberText",
    "accepted",
    "check_numbers",
    "json_float",
    "json_int",
    "kind_of",
]
