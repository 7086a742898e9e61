"""Computing what an ERP may leave out: line net amounts, VAT breakdown and document totals.

EN 16931 rounding: every amount has at most two decimals (BR-DEC-*); a computed amount is
rounded half away from zero (commercial rounding), once, at the level where the standard defines
it (line net BT-131, VAT category tax BT-117); sums of rounded amounts are exact.

Nothing here lets a ``decimal`` error out: :func:`complete_record` returns the completed
Invoice or the problems of the record (a line amount or total beyond the range the gateway
computes with, a price base quantity of zero, a value that is not a finite number), each naming
the field, its BT id and the values it came from; :func:`complete` raises them as one
:class:`TotalsError` (a :class:`~gateway.errors.ParseError`).
"""

from __future__ import annotations

from collections.abc import Iterable
from decimal import ROUND_HALF_UP, Decimal, DecimalException, localcontext

from pydantic import BaseModel

from gateway.errors import ParseError, Problem
from gateway.model import Invoice, InvoiceLine, Totals, VatBreakdown
from mappings.numbers import MAX_INTEGER_DIGITS, MAX_SHOWN

CENT = Decimal("0.01")
ZERO = Decimal("0")
HUNDRED = Decimal("100")

# Categories whose VAT amount is zero by definition (BR-Z-*, BR-E-*, BR-AE-*, BR-K-*, BR-G-*,
# BR-O-*): only S, L and M are charged at their rate.
ZERO_TAX_CATEGORIES = frozenset({"Z", "E", "AE", "K", "G", "O"})


def round2(value: Decimal) -> Decimal:
    """Round to cents, half away from zero."""
    return value.quantize(CENT, rounding=ROUND_HALF_UP)


def line_net(line: InvoiceLine) -> Decimal:
    """BT-131 = quantity x net price / base quantity + line charges - line allowances, rounded."""
    base = line.price.base_quantity or Decimal(1)
    gross = line.quantity * line.price.net / base
    adjust = sum((c.amount for c in line.charges), ZERO) - sum(
        (a.amount for a in line.allowances), ZERO
    )
    return round2(gross + adjust)


def _key(category: str, rate: Decimal | None) -> tuple[str, Decimal | None]:
    # Decimal("19") == Decimal("19.00") and they hash alike, so rates group numerically while
    # the dict keeps the first spelling seen (no normalising: that would give "2E+1").
    if category == "O":  # lines carry no rate (BR-O-05) but the breakdown may show 0 (BR-DE-14)
        return (category, None)
    return (category, rate)


def tax_of(taxable: Decimal, category: str, rate: Decimal | None) -> Decimal:
    """BT-117 for one category and rate."""
    if category in ZERO_TAX_CATEGORIES or rate is None:
        return round2(ZERO)
    return round2(taxable * rate / HUNDRED)


def _taxable_by_group(
    invoice: Invoice, nets: Iterable[Decimal]
) -> dict[tuple[str, Decimal | None], Decimal]:
    groups: dict[tuple[str, Decimal | None], Decimal] = {}
    for line, net in zip(invoice.lines, nets, strict=True):
        key = _key(line.vat_category, line.vat_rate)
        groups[key] = groups.get(key, ZERO) + net
    for charge in invoice.charges:
        key = _key(charge.vat_category, charge.vat_rate)
        groups[key] = groups.get(key, ZERO) + charge.amount
    for allowance in invoice.allowances:
        key = _key(allowance.vat_category, allowance.vat_rate)
        groups[key] = groups.get(key, ZERO) - allowance.amount
    return groups


def _breakdown(invoice: Invoice, nets: list[Decimal]) -> tuple[VatBreakdown, ...]:
    groups = _taxable_by_group(invoice, nets)
    given = {_key(v.category, v.rate): v for v in invoice.vat_breakdown}
    result: list[VatBreakdown] = []
    for entry in invoice.vat_breakdown:  # given entries first, in their order
        key = _key(entry.category, entry.rate)
        taxable = entry.taxable_amount
        if taxable is None:
            taxable = round2(groups.get(key, ZERO))
        tax = entry.tax_amount
        if tax is None:
            tax = tax_of(taxable, entry.category, entry.rate)
        result.append(entry.model_copy(update={"taxable_amount": taxable, "tax_amount": tax}))
    for key, amount in groups.items():
        if key in given:
            continue
        category, rate = key
        taxable = round2(amount)
        result.append(
            VatBreakdown(
                category=category,
                rate=rate,
                taxable_amount=taxable,
                tax_amount=tax_of(taxable, category, rate),
            )
        )
    return tuple(result)


def _sum(values: Iterable[Decimal]) -> Decimal:
    return sum(values, ZERO)


def is_complete(invoice: Invoice) -> bool:
    """True when every amount a document needs is present (line nets, VAT breakdown, totals)."""
    totals = invoice.totals
    if totals is None or not invoice.vat_breakdown:
        return False
    if None in (totals.line_net, totals.without_vat, totals.with_vat, totals.due):
        return False
    if any(line.net_amount is None for line in invoice.lines):
        return False
    return all(
        v.taxable_amount is not None and v.tax_amount is not None for v in invoice.vat_breakdown
    )


RULE = "AMOUNTS"
LIMIT = Decimal(10) ** MAX_INTEGER_DIGITS
RANGE = (
    f"amounts below 10^{MAX_INTEGER_DIGITS} in absolute value (at most {MAX_INTEGER_DIGITS} "
    "integer digits)"
)
_WIDE_PRECISION = 120  # exact for any product of two in-range values (19+19 digits each)


class TotalsError(ParseError):
    """The amounts of an invoice cannot be completed; ``problems`` says which and why."""

    def __init__(self, problems: list[Problem]) -> None:
        self.problems = problems
        super().__init__("; ".join(str(p) for p in problems))


def _short(value: object) -> str:
    text = str(value)
    return text if len(text) <= MAX_SHOWN else f"{text[:MAX_SHOWN]}... ({len(text):,} characters)"


def _problem(
    record: str, path: str, bt: str | None, value: object, *, message: str, accepted: str = RANGE
) -> Problem:
    return Problem(
        record, path, bt, None if value is None else _short(value), RULE, message, accepted
    )


def _amount_fields(invoice: Invoice) -> Iterable[tuple[str, str | None, Decimal]]:
    """(path, BT id, value) of every amount, price, quantity and rate the invoice carries."""
    from gateway.model import bt_of

    def walk(node: object, path: str) -> Iterable[tuple[str, str | None, Decimal]]:
        if isinstance(node, Decimal):
            yield path, bt_of(path), node
        elif isinstance(node, (tuple, list)):
            for index, item in enumerate(node):
                yield from walk(item, f"{path}.{index}")
        elif isinstance(node, BaseModel):
            for name in type(node).model_fields:
                yield from walk(getattr(node, name), f"{path}.{name}" if path else name)

    yield from walk(invoice, "")


def _json_path(path: str) -> str:
    """``lines.0.price.net`` -> ``lines[0].price.net``, as the record format names it."""
    parts = path.split(".")
    text = ""
    for part in parts:
        text += f"[{part}]" if part.isdigit() else (f".{part}" if text else part)
    return text


def _inputs(invoice: Invoice, record: str) -> list[Problem]:
    """Values no arithmetic can use: not finite, or beyond every range."""
    found: list[Problem] = []
    for path, bt, value in _amount_fields(invoice):
        if not value.is_finite():
            found.append(
                _problem(
                    record,
                    _json_path(path),
                    bt,
                    value,
                    message="not a finite number",
                    accepted="a finite decimal number",
                )
            )
        elif value.adjusted() >= 2 * MAX_INTEGER_DIGITS:
            found.append(
                _problem(
                    record,
                    _json_path(path),
                    bt,
                    value,
                    message=f"has {value.adjusted() + 1:,} integer digits",
                )
            )
    return found


def _lines(invoice: Invoice, record: str) -> list[Problem]:
    """A line whose net amount (BT-131) is computed: base quantity not zero, result in range."""
    found: list[Problem] = []
    with localcontext() as ctx:
        ctx.prec = _WIDE_PRECISION
        for index, line in enumerate(invoice.lines):
            if line.net_amount is not None:
                continue
            where = f"lines[{index}]"
            base = line.price.base_quantity
            if base is not None and base.is_zero():
                found.append(
                    _problem(
                        record,
                        f"{where}.price.base_quantity",
                        "BT-149",
                        base,
                        message=f"line {line.id}: the net price is per a base quantity of 0, so "
                        "the line net amount (BT-131) cannot be computed",
                        accepted="a base quantity above 0 (or none: 1)",
                    )
                )
                continue
            implied = abs(line.quantity * line.price.net / (base or Decimal(1)))
            if implied >= LIMIT:
                found.append(
                    _problem(
                        record,
                        f"{where}.net_amount",
                        "BT-131",
                        f"{implied:.3E}",
                        message=f"line {line.id}: quantity (BT-129) {_short(line.quantity)} x "
                        f"net price (BT-146) {_short(line.price.net)} / base quantity (BT-149) "
                        f"{_short(base or 1)} is beyond the amount range",
                    )
                )
    return found


_TOTALS = (
    ("line_net", "BT-106"),
    ("allowances", "BT-107"),
    ("charges", "BT-108"),
    ("without_vat", "BT-109"),
    ("vat", "BT-110"),
    ("with_vat", "BT-112"),
    ("due", "BT-115"),
)


def _results(invoice: Invoice, record: str) -> list[Problem]:
    """Computed amounts (line nets, VAT breakdown, totals) that left the amount range."""
    found: list[Problem] = []
    for index, line in enumerate(invoice.lines):
        if line.net_amount is not None and abs(line.net_amount) >= LIMIT:
            found.append(
                _problem(
                    record,
                    f"lines[{index}].net_amount",
                    "BT-131",
                    line.net_amount,
                    message=f"line {line.id}: beyond the amount range",
                )
            )
    for index, entry in enumerate(invoice.vat_breakdown):
        for name, bt in (("taxable_amount", "BT-116"), ("tax_amount", "BT-117")):
            value = getattr(entry, name)
            if value is not None and abs(value) >= LIMIT:
                found.append(
                    _problem(
                        record,
                        f"vat_breakdown[{index}].{name}",
                        bt,
                        value,
                        message=f"VAT category {entry.category}: beyond the amount range",
                    )
                )
    totals = invoice.totals or Totals()
    for name, bt in _TOTALS:
        value = getattr(totals, name)
        if value is not None and abs(value) >= LIMIT:
            found.append(
                _problem(
                    record,
                    f"totals.{name}",
                    bt,
                    value,
                    message="the sum is beyond the amount range",
                )
            )
    return found


def complete_record(invoice: Invoice, record: str = "") -> tuple[Invoice | None, list[Problem]]:
    """The completed invoice (see :func:`complete`), or None and the problems of ``record``
    (default: the invoice number) that keep it from being completed. Never raises."""
    record = record or invoice.number
    problems = _inputs(invoice, record) or _lines(invoice, record)
    if problems:
        return None, problems
    try:
        with localcontext() as ctx:
            ctx.prec = _WIDE_PRECISION
            completed = _complete(invoice)
            problems = _results(completed, record)
    except DecimalException as exc:  # a guard above missed a case: still the record's problem
        name = type(exc).__name__
        return None, [
            _problem(
                record, "totals", "BG-22", None, message=f"the amounts cannot be computed ({name})"
            )
        ]
    return (None, problems) if problems else (completed, [])


def complete(invoice: Invoice) -> Invoice:
    """Fill every omitted computable amount; keep every given amount as it is (rules check it).

    Returns a new Invoice; the input is not changed. Completing twice gives the same value.
    Raises :class:`TotalsError` (never a ``decimal`` error) when the amounts cannot be
    completed in range.
    """
    completed, problems = complete_record(invoice)
    if completed is None:
        raise TotalsError(problems)
    return completed


def _complete(invoice: Invoice) -> Invoice:
    """:func:`complete` without the checks: may raise a ``decimal`` error."""
    lines = invoice.lines
    nets = [line.net_amount if line.net_amount is not None else line_net(line) for line in lines]
    if any(line.net_amount is None for line in lines):
        lines = tuple(
            line if line.net_amount is not None else line.model_copy(update={"net_amount": net})
            for line, net in zip(invoice.lines, nets, strict=True)
        )
    breakdown = _breakdown(invoice, nets)
    given = invoice.totals or Totals()
    line_total = given.line_net if given.line_net is not None else _sum(nets)
    allowances = given.allowances
    if allowances is None and invoice.allowances:
        allowances = _sum(a.amount for a in invoice.allowances)
    charges = given.charges
    if charges is None and invoice.charges:
        charges = _sum(c.amount for c in invoice.charges)
    without_vat = given.without_vat
    if without_vat is None:
        without_vat = line_total - (allowances or ZERO) + (charges or ZERO)
    vat = given.vat
    if vat is None:
        vat = _sum(v.tax_amount for v in breakdown if v.tax_amount is not None)
    with_vat = given.with_vat if given.with_vat is not None else without_vat + vat
    due = given.due
    if due is None:
        due = with_vat - (given.prepaid or ZERO) + (given.rounding or ZERO)
    totals = given.model_copy(
        update={
            "line_net": line_total,
            "allowances": allowances,
            "charges": charges,
            "without_vat": without_vat,
            "vat": vat,
            "with_vat": with_vat,
            "due": due,
        }
    )
    return invoice.model_copy(update={"lines": lines, "vat_breakdown": breakdown, "totals": totals})
