"""Fast XML text building: escaping and number formatting shared by the XML renderers.

Renderers build documents as escaped strings (about ten times faster than building an lxml
tree); everything that reaches the output goes through :func:`esc` or :func:`num`.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import TypeGuard

# A carriage return is written as a character reference: XML parsers normalise a literal CR away.
_ESCAPES = str.maketrans(
    {"&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "\r": "&#13;"}
)


def esc(text: str) -> str:
    """Escape text for element content and double-quoted attribute values."""
    return text.translate(_ESCAPES)


def given(text: str | None) -> TypeGuard[str]:
    """Whether an optional text is there to write: not None, not empty, not only whitespace.

    An empty or whitespace-only element fails PEPPOL-EN16931-R008 (and e.g. BR-52); intake
    already drops such values, an Invoice built in code may still hold them.
    """
    return text is not None and text != "" and not text.isspace()


def num(value: Decimal) -> str:
    """Plain decimal notation, never exponent form (``Decimal('1E+1')`` -> ``10``).

    Negative zero is written without its sign: ``-0.00`` is zero (the model compares it so), and
    a sign on it would be read as negative by rules such as BR-27 and BR-CO-14.
    """
    if value.is_zero() and value.is_signed():
        value = -value
    return format(value, "f")


def day(value: dt.date) -> str:
    """ISO date ``YYYY-MM-DD`` (UBL); years before 1000 with four digits (``0999-01-01``)."""
    return value.isoformat()


def day102(value: dt.date) -> str:
    """UNTDID 2379 format 102 ``CCYYMMDD`` (CII, EDIFACT), always eight digits.

    ``strftime("%Y")`` does not pad years before 1000 (``10101`` for 0001-01-01, CII-DT-097).
    """
    return f"{value.year:04d}{value.month:02d}{value.day:02d}"
