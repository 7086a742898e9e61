"""Completing omitted amounts with EN 16931 rounding; given amounts are kept."""

from __future__ import annotations

from decimal import Decimal

from builders import simple_invoice

from gateway.model import AllowanceCharge, LineAllowanceCharge, Price, Totals, VatBreakdown
from gateway.totals import complete, line_net, round2

D = Decimal


def test_round2_rounds_half_away_from_zero() -> None:
    """Commercial rounding: 0.005 -> 0.01 and -0.005 -> -0.01."""
    assert round2(D("0.005")) == D("0.01")
    assert round2(D("-0.005")) == D("-0.01")
    assert round2(D("2.344")) == D("2.34")


def test_line_net_uses_base_quantity_and_line_adjustments() -> None:
    """BT-131 = qty x price / base qty + charges - allowances, rounded to cents."""
    line = (
        simple_invoice(lines=1)
        .lines[0]
        .model_copy(
            update={
                "quantity": D("3"),
                "price": Price(net=D("10.005"), base_quantity=D("2")),
                "allowances": (LineAllowanceCharge(amount=D("1.00")),),
                "charges": (LineAllowanceCharge(amount=D("0.50")),),
            }
        )
    )
    assert line_net(line) == D("14.51")  # 15.0075 - 1.00 + 0.50 = 14.5075


def test_complete_computes_totals_and_breakdown() -> None:
    """Totals and the VAT breakdown are computed per category and rate."""
    invoice = simple_invoice(lines=3)
    invoice = invoice.model_copy(
        update={
            "lines": (*invoice.lines[:2], invoice.lines[2].model_copy(update={"vat_rate": D("7")})),
            "allowances": (AllowanceCharge(amount=D("5"), vat_category="S", vat_rate=D("19")),),
            "charges": (AllowanceCharge(amount=D("2"), vat_category="S", vat_rate=D("7")),),
        }
    )
    done = complete(invoice)
    assert done.totals is not None
    by_rate = {v.rate: v for v in done.vat_breakdown}
    assert by_rate[D("19")].taxable_amount == D("25.00")  # 10 + 20 - 5
    assert by_rate[D("19")].tax_amount == D("4.75")
    assert by_rate[D("7")].taxable_amount == D("32.00")  # 30 + 2
    assert by_rate[D("7")].tax_amount == D("2.24")
    assert done.totals.line_net == D("60.00")
    assert done.totals.without_vat == D("57.00")
    assert done.totals.vat == D("6.99")
    assert done.totals.with_vat == D("63.99")
    assert done.totals.due == D("63.99")


def test_complete_keeps_given_amounts_for_the_rules_to_check() -> None:
    """A given (even wrong) total is not overwritten: the business rules report it."""
    invoice = simple_invoice(
        totals=Totals(with_vat=D("1.00"), prepaid=D("0.40"), rounding=D("0.01"))
    )
    done = complete(invoice)
    assert done.totals is not None
    assert done.totals.with_vat == D("1.00")
    assert done.totals.due == D("0.61")


def test_partial_breakdown_entry_gets_amounts_and_keeps_exemption_reason() -> None:
    """A breakdown entry giving only category and reason gets its amounts computed."""
    invoice = simple_invoice(lines=1)
    line = invoice.lines[0].model_copy(update={"vat_category": "E", "vat_rate": D("0")})
    invoice = invoice.model_copy(
        update={
            "lines": (line,),
            "vat_breakdown": (
                VatBreakdown(category="E", rate=D("0"), exemption_reason="Exempt under §4 UStG"),
            ),
        }
    )
    (entry,) = complete(invoice).vat_breakdown
    assert entry.taxable_amount == D("10.00")
    assert entry.tax_amount == D("0.00")
    assert entry.exemption_reason == "Exempt under §4 UStG"


def test_complete_is_idempotent_and_pure() -> None:
    """Completing twice gives the same value and leaves the input untouched."""
    invoice = simple_invoice(lines=4)
    once = complete(invoice)
    assert complete(once) == once
    assert invoice.totals is None


def test_computed_rates_keep_their_spelling_and_zero_vat_keeps_cents() -> None:
    """A computed breakdown rate stays "20" (not "2E+1"); all-zero VAT totals 0.00, not 0."""
    invoice = simple_invoice(lines=2)
    lines = tuple(line.model_copy(update={"vat_rate": D("20")}) for line in invoice.lines)
    done = complete(invoice.model_copy(update={"lines": lines}))
    assert done.model_dump(mode="json")["vat_breakdown"][0]["rate"] == "20"
    zero = tuple(
        line.model_copy(update={"vat_category": "Z", "vat_rate": D("0")}) for line in lines
    )
    totals = complete(invoice.model_copy(update={"lines": zero})).totals
    assert totals is not None
    assert str(totals.vat) == "0.00"
