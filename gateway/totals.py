"""Computing what an ERP may leave out: line net amounts, VAT breakdown and document totals.

EN 16931 rounding: every amount has at most two decimals (BR-DEC-*); a computed amount is
rounded half away from zero (commercial rounding), once, at the level where the standard defines
it (line net BT-131, VAT category tax BT-117); sums of rounded amounts are exact.
"""

from __future__ import annotations

from collections.abc import Iterable
from decimal import ROUND_HALF_UP, Decimal

from gateway.model import Invoice, InvoiceLine, Totals, VatBreakdown

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


def complete(invoice: Invoice) -> Invoice:
    """Fill every omitted computable amount; keep every given amount as it is (rules check it).

    Returns a new Invoice; the input is not changed. Completing twice gives the same value.
    """
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
