"""Fast XML text building: escaping and number formatting shared by the XML renderers.

Renderers build documents as escaped strings (about ten times faster than building an lxml
tree); everything that reaches the output goes through :func:`esc` or :func:`num`.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

# A carriage return is written as a character reference: XML parsers normalise a literal CR away.
_ESCAPES = str.maketrans(
    {"&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "\r": "&#13;"}
)


def esc(text: str) -> str:
    """Escape text for element content and double-quoted attribute values."""
    return text.translate(_ESCAPES)


def num(value: Decimal) -> str:
    """Plain decimal notation, never exponent form (``Decimal('1E+1')`` -> ``10``)."""
    text = format(value, "f")
    return text


def day(value: dt.date) -> str:
    """ISO date ``YYYY-MM-DD`` (UBL)."""
    return value.isoformat()


def day102(value: dt.date) -> str:
    """UNTDID 2379 format 102 ``CCYYMMDD`` (CII, EDIFACT)."""
    return value.strftime("%Y%m%d")
