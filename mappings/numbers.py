"""Numbers in inbound documents: the written form and the range every parser accepts.

EN 16931 bounds no number: amounts have at most two decimals (the BR-DEC-* rules, which the
rule sets check and report with their ids), unit prices, quantities and percentages any number
of decimals, and none has a maximum. Its syntaxes write them as ``xs:decimal`` (UBL, CII: an
optional sign, digits, an optional decimal point and digits; no exponent, no NaN or INF) or
as ISO 9735 numeric data elements (EDIFACT: the same with the interchange's decimal mark;
EANCOM's MOA 5004 is n..18, QTY 6060 and PRI 5118 n..15). cXML carries them as text.

The gateway reads every number in that plain form and within a range its arithmetic is exact
in (Python's default 28-digit decimal context):

* amounts, unit prices and quantities: at most :data:`MAX_INTEGER_DIGITS` (19) integer digits,
  |x| < 10^19 — above any real invoice, above EANCOM's n..18, and with 19 integer and 2 decimal
  digits a sum of a million amounts and its rounding to the cent still fit 28 digits;
* percentages (VAT rates BT-96/BT-119/BT-152, allowance/charge percentages): at most
  :data:`MAX_PERCENT_DIGITS` (6) integer digits, so an amount times a rate stays in range;
* at most :data:`MAX_FRACTION_DIGITS` (19) decimals (BR-DEC then judges an amount's);
* a line's quantity x net price / base quantity (what BT-131 is checked against) also within
  the amount range (:func:`check_line_amounts`).

Anything else is a :class:`~gateway.errors.ParseError` naming the location, the value (cut to
a readable length) and what is accepted, never a ``decimal.InvalidOperation`` later.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from decimal import Decimal, localcontext

from gateway.errors import ParseError
from gateway.model import InvoiceLine

MAX_INTEGER_DIGITS = 19
MAX_PERCENT_DIGITS = 6
MAX_FRACTION_DIGITS = 19
MAX_SHOWN = 40
"""Characters of a refused value quoted in the error (the length is named for longer ones)."""

_PLAIN = re.compile(r"[+-]?(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+)")
_LIMIT_AMOUNT = Decimal(10) ** MAX_INTEGER_DIGITS


@dataclass(frozen=True)
class Kind:
    """What a number stands for, with its integer-digit limit."""

    name: str
    integer_digits: int

    @property
    def accepted(self) -> str:
        """The accepted form and range, for error messages."""
        return (
            f"a decimal number such as 1234.56 (digits, an optional sign and decimal point; "
            f"no exponent, NaN or Infinity) with at most {self.integer_digits} integer "
            f"digits and {MAX_FRACTION_DIGITS} decimals"
        )


AMOUNT = Kind("amount", MAX_INTEGER_DIGITS)
QUANTITY = Kind("quantity", MAX_INTEGER_DIGITS)
PERCENT = Kind("percentage", MAX_PERCENT_DIGITS)


def shown(raw: str) -> str:
    """``raw`` quoted for a message, cut to :data:`MAX_SHOWN` characters with its length."""
    if len(raw) <= MAX_SHOWN:
        return repr(raw)
    return f"{raw[:MAX_SHOWN]!r}... ({len(raw)} characters)"


def read_decimal(
    raw: str | None, location: str, *, kind: Kind = AMOUNT, what: str = "", mark: str = "."
) -> Decimal:
    """The number written in ``raw`` (surrounding blanks ignored; ``mark`` the decimal mark);
    ParseError at ``location`` naming ``what`` (e.g. ``"line net amount (BT-131)"``), the value
    and the accepted form and range when it is not a plain decimal in range."""
    text = (raw or "").strip()
    if mark != ".":
        text = text.replace(mark, ".")
    subject = f"{what} " if what else ""
    if not _PLAIN.fullmatch(text):
        raise ParseError(
            f"{subject}{shown(raw or '')} is not a decimal number: expected {kind.accepted}",
            location,
        )
    whole, _, fraction = text.lstrip("+-").partition(".")
    digits = len(whole.lstrip("0"))
    if digits > kind.integer_digits:
        raise ParseError(
            f"{subject}{shown(text)} has {digits} integer digits, more than a {kind.name} may "
            f"have; accepted: {kind.accepted}",
            location,
        )
    if len(fraction) > MAX_FRACTION_DIGITS:
        raise ParseError(
            f"{subject}{shown(text)} has {len(fraction)} decimals; accepted: {kind.accepted}",
            location,
        )
    return Decimal(text)


def out_of_range(value: Decimal, kind: Kind = AMOUNT) -> str | None:
    """Why the parsed ``value`` lies outside the range above (``"not a finite number"``,
    ``"has 401 integer digits, more than an amount may have"``, ``"has 400 decimals"``); None
    when the gateway computes with it exactly. Looks only at the digits and exponent, so a
    ``1E+9999999`` costs no arithmetic."""
    if not value.is_finite():
        return "not a finite number"
    _, digits, exponent = value.as_tuple()
    assert isinstance(exponent, int)
    significant = len(digits) - next((i for i, d in enumerate(digits) if d), len(digits))
    integer = max(0, significant + exponent)
    if integer > kind.integer_digits:
        article = "an" if kind.name[:1] in "aeio" else "a"
        return f"has {integer:,} integer digits, more than {article} {kind.name} may have"
    if -exponent > MAX_FRACTION_DIGITS:
        return f"has {-exponent:,} decimals"
    return None


def read_count(raw: str | None, location: str, *, what: str, maximum: int) -> int:
    """A whole number of ASCII digits 0..``maximum`` (e.g. a number of days); ParseError
    naming ``what``, the value and the range otherwise."""
    text = (raw or "").strip()
    if not (text.isascii() and text.isdigit()) or len(text) > len(str(maximum)) + 2:
        raise ParseError(
            f"{what} {shown(raw or '')} is not a whole number; accepted: 0 to {maximum}", location
        )
    value = int(text)
    if value > maximum:
        raise ParseError(f"{what} {value} is out of range; accepted: 0 to {maximum}", location)
    return value


def check_line_amounts(lines: Iterable[InvoiceLine]) -> None:
    """ParseError when a line's quantity (BT-129) x net price (BT-146) / base quantity
    (BT-149) leaves the amount range: the line net amount (BT-131) is checked against it."""
    with localcontext() as ctx:
        ctx.prec = 3 * (MAX_INTEGER_DIGITS + MAX_FRACTION_DIGITS)
        for index, line in enumerate(lines):
            base = line.price.base_quantity
            divisor = base if base else Decimal(1)
            implied = abs(line.quantity * line.price.net / divisor)
            if implied >= _LIMIT_AMOUNT:
                raise ParseError(
                    f"quantity (BT-129) {line.quantity} x net price (BT-146) {line.price.net}"
                    f" / base quantity (BT-149) {divisor} is {implied:.3E}, beyond the amount "
                    f"range; accepted: a line amount below 10^{MAX_INTEGER_DIGITS}",
                    f"lines[{index}] (line {line.id})",
                )
