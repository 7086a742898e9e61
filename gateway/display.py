"""Values for people: how a problem or report shows the value it is about.

A finding prints ``seller.vat_id (BT-31) = DE123456789``, not ``= 'DE123456789'``; an amount
prints ``0.00``, not ``Decimal('0.00')``; an absent value prints ``(none)``; dates are ISO
(``2026-10-01``). :func:`show` is for text; :func:`json_value` keeps JSON's own types for
machine output (``null``, strings for amounts exactly as written, lists as lists).

>>> show(Decimal("0.00")), show(None), show(dt.date(2026, 10, 1)), show(["S", "E"])
('0.00', '(none)', '2026-10-01', 'S, E')
>>> show({"note": "INV-1"})
'{"note": "INV-1"}'
"""

from __future__ import annotations

import datetime as dt
import enum
import json
from collections.abc import Mapping
from decimal import Decimal
from typing import Any

from pydantic import BaseModel

NONE = "(none)"
EMPTY = "(empty)"

# Strings that would vanish or mislead when printed bare: quoted, with escapes visible.
_INVISIBLE = frozenset(chr(c) for c in (*range(32), 127))


#: a value longer than this is cut in text (a 4,000-digit amount is one line, not a screen)
LONGEST = 120


def show(value: object) -> str:
    """``value`` as a person reads it (see the module docstring); never a Python repr. Longer
    than :data:`LONGEST` characters, it is cut and says how long it was."""
    text = _show(value)
    if len(text) > LONGEST:
        return f"{text[: LONGEST - 20]}... ({len(text):,} characters)"
    return text


def _show(value: object) -> str:
    if value is None:
        return NONE
    if isinstance(value, str):
        return _text(value)
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, Decimal):
        return _decimal(value)
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        return _decimal(Decimal(repr(value)))
    if isinstance(value, (dt.date, dt.datetime, dt.time)):
        return value.isoformat()
    if isinstance(value, enum.Enum):
        return show(value.value)
    if isinstance(value, (bytes, bytearray, memoryview)):
        return f"{len(value)} bytes"
    if isinstance(value, BaseModel):
        return _model(value)
    if isinstance(value, Mapping):  # a JSON object of the input: shown as JSON
        return json.dumps(json_value(value), ensure_ascii=False)
    if isinstance(value, (list, tuple, set, frozenset)):
        items = sorted(value, key=str) if isinstance(value, (set, frozenset)) else value
        return ", ".join(show(item) for item in items) if items else NONE
    return str(value)


def json_value(value: object) -> Any:
    """``value`` with JSON types: ``null``, amounts as decimal strings (as the record format
    writes them), dates ISO, booleans as booleans, lists as lists, models as their JSON."""
    if value is None or isinstance(value, (bool, str)):
        return value
    if isinstance(value, Decimal):
        return _decimal(value)
    if isinstance(value, (int, float)):
        return show(value)  # numbers as decimal strings, as the amounts are
    if isinstance(value, (dt.date, dt.datetime, dt.time)):
        return value.isoformat()
    if isinstance(value, enum.Enum):
        return json_value(value.value)
    if isinstance(value, BaseModel):
        return value.model_dump(mode="json", exclude_none=True)
    if isinstance(value, Mapping):
        return {str(key): json_value(item) for key, item in value.items()}
    if isinstance(value, (list, tuple, set, frozenset)):
        items = sorted(value, key=str) if isinstance(value, (set, frozenset)) else value
        return [json_value(item) for item in items]
    return show(value)


def _decimal(value: Decimal) -> str:
    """Plain notation, the digits as given: ``1E+2`` is ``100``, ``0.00`` stays ``0.00``."""
    if not value.is_finite():
        return str(value)
    return format(value, "f")


def _text(text: str) -> str:
    if not text:
        return EMPTY
    if text != text.strip() or any(ch in _INVISIBLE for ch in text):
        return json.dumps(text, ensure_ascii=False)  # "  " or "a\tb": the blanks must show
    return text


def _model(value: BaseModel) -> str:
    """An identifier as ``4012345000016 (scheme 0088)``, another value as its fields."""
    fields = {
        name: getattr(value, name)
        for name in type(value).model_fields
        if getattr(value, name) not in (None, (), "")
    }
    main = fields.pop("value", None)
    rest = ", ".join(f"{name} {show(item)}" for name, item in fields.items())
    if main is None:
        return rest or EMPTY
    return f"{show(main)} ({rest})" if rest else show(main)


__all__ = ["EMPTY", "NONE", "json_value", "show"]
