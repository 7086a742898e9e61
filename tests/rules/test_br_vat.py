"""VAT category rules (BR-S/Z/E/AE/IC/G/O/AF/AG, BR-B): failing cases generated per family."""

from __future__ import annotations

from collections.abc import Callable
from decimal import Decimal

import pytest
from helpers import base, edit, rules_of

from gateway.model import AllowanceCharge, Invoice
from gateway.rules.en16931_vat import FAMILIES
from gateway.totals import complete

D = Decimal
RATE = {"pos": D(19), "zero": D(0), "nonneg": D(7), "absent": None}


def _taxable(invoice: Invoice) -> Decimal:
    value = invoice.vat_breakdown[0].taxable_amount
    assert value is not None
    return value


def _all_lines(category: str) -> Invoice:
    """The base invoice with every line in ``category`` at an allowed rate, completed again."""
    fam = FAMILIES[category]
    valid = base()
    lines = tuple(line.model_copy(update={"vat_category": category, "vat_rate": RATE[fam.rate],
                                          "net_amount": None}) for line in valid.lines)
    invoice = valid.model_copy(update={"lines": lines, "vat_breakdown": (), "totals": None})
    if fam.parties == "none":
        invoice = edit(invoice, "seller.vat_id", None)
        invoice = edit(invoice, "seller.identifiers", ())
        invoice = edit(invoice, "seller.legal_registration",
                       __import__("gateway.model").model.Identifier(value="HRB 1"))
    if fam.parties in ("ae", "k"):
        invoice = edit(invoice, "buyer.vat_id", "DE987654321")
    invoice = complete(invoice)
    if fam.exemption == "required":
        invoice = edit(invoice, "vat_breakdown.0.exemption_reason", "exempt")
    if category == "K":
        from gateway.model import Delivery
        from gateway.model.base import Address

        invoice = edit(invoice, "delivery", Delivery(date=invoice.issue_date,
                                                     address=Address(country="FR")))
    return invoice


CASES = []
for cat, fam in FAMILIES.items():
    p = fam.prefix
    CASES += [
        (f"{p}-01", cat, lambda i: edit(i, "vat_breakdown", (*i.vat_breakdown, *i.vat_breakdown))
         if FAMILIES[i.lines[0].vat_category].one_breakdown else edit(i, "vat_breakdown", ())),
        (f"{p}-02", cat, lambda i: edit(edit(edit(i, "seller.vat_id", "DE123456789" if FAMILIES[
            i.lines[0].vat_category].parties == "none" else None), "buyer.vat_id", None),
            "seller.tax_registration_id", None)),
        (f"{p}-05", cat, lambda i: edit(i, "lines.0.vat_rate", D(-5) if FAMILIES[
            i.lines[0].vat_category].rate != "zero" else D(5))),
        (f"{p}-08", cat, lambda i: edit(i, "vat_breakdown.0.taxable_amount",
                                        _taxable(i) + D(5))),
        (f"{p}-09", cat, lambda i: edit(i, "vat_breakdown.0.tax_amount", D("50.00"))),
        (f"{p}-10", cat, lambda i: edit(i, "vat_breakdown.0.exemption_reason",
                                        None if i.vat_breakdown[0].exemption_reason else "x")),
    ]


@pytest.mark.parametrize(("rule", "category", "make"), CASES, ids=[c[0] for c in CASES])
def test_vat_rule_fails_on_its_case_and_passes_on_a_clean_invoice(rule, category, make) -> None:  # type: ignore[no-untyped-def]
    """The family rule is reported for the broken invoice, not for the clean one of its category."""
    clean = _all_lines(category)
    assert rule not in rules_of(clean, ("en16931",))
    assert rule in rules_of(make(clean), ("en16931",))


def _with_allowance_charge(category: str, kind: str) -> Invoice:
    """The clean invoice of ``category`` plus one document allowance or charge of it."""
    fam = FAMILIES[category]
    clean = _all_lines(category)
    extra = AllowanceCharge(amount=D("1.00"), vat_category=category, vat_rate=RATE[fam.rate],
                            reason="x")
    invoice = edit(clean, kind, (extra,))
    reason = invoice.vat_breakdown[0].exemption_reason
    lines = tuple(line.model_copy(update={"net_amount": None}) for line in invoice.lines)
    invoice = complete(invoice.model_copy(update={"lines": lines, "vat_breakdown": (),
                                                  "totals": None}))
    return edit(invoice, "vat_breakdown.0.exemption_reason", reason)


def _strip_parties(invoice: Invoice) -> Invoice:
    none_family = FAMILIES[invoice.lines[0].vat_category].parties == "none"
    invoice = edit(invoice, "seller.vat_id", "DE123456789" if none_family else None)
    invoice = edit(invoice, "seller.tax_registration_id", None)
    return edit(invoice, "buyer.vat_id", "DE987654321" if none_family else None)


def _wrong_rate(kind: str) -> Callable[[Invoice], Invoice]:
    def make(invoice: Invoice) -> Invoice:
        zero = FAMILIES[invoice.lines[0].vat_category].rate == "zero"
        return edit(invoice, f"{kind}.0.vat_rate", D(5) if zero else D(-5))

    return make


AC_CASES: list[tuple[str, str, str, Callable[[Invoice], Invoice]]] = []
for cat, fam in FAMILIES.items():
    for kind, party_rule, rate_rule in (("allowances", "03", "06"), ("charges", "04", "07")):
        AC_CASES += [
            (f"{fam.prefix}-{party_rule}", cat, kind, _strip_parties),
            (f"{fam.prefix}-{rate_rule}", cat, kind, _wrong_rate(kind)),
        ]


@pytest.mark.parametrize(("rule", "category", "kind", "make"), AC_CASES,
                         ids=[c[0] for c in AC_CASES])
def test_allowance_and_charge_vat_rules(rule, category, kind, make) -> None:  # type: ignore[no-untyped-def]
    """-03/-04 (party VAT ids) and -06/-07 (rate) judge document allowances and charges."""
    clean = _with_allowance_charge(category, kind)
    assert rule not in rules_of(clean, ("en16931",))
    assert rule in rules_of(make(clean), ("en16931",))


@pytest.mark.parametrize(("rule", "kind"), [("BR-O-13", "allowances"), ("BR-O-14", "charges")])
def test_not_subject_to_vat_excludes_other_categories_on_allowances(rule: str, kind: str) -> None:
    """With category O every document allowance (BR-O-13) and charge (BR-O-14) must be O."""
    clean = _with_allowance_charge("O", kind)
    assert rule not in rules_of(clean, ("en16931",))
    mixed = edit(edit(clean, f"{kind}.0.vat_category", "S"), f"{kind}.0.vat_rate", D(19))
    assert rule in rules_of(mixed, ("en16931",))


@pytest.mark.parametrize("rule", ["BR-O-11", "BR-O-12"])
def test_not_subject_to_vat_excludes_other_categories(rule: str) -> None:
    """With category O no other breakdown (BR-O-11) or line category (BR-O-12) is allowed."""
    clean = _all_lines("O")
    assert rule not in rules_of(clean, ("en16931",))
    mixed = edit(clean, "lines.1.vat_category", "S")
    mixed = edit(mixed, "lines.1.vat_rate", D(19))
    assert rule in rules_of(complete(edit(mixed, "vat_breakdown", ())), ("en16931",))


@pytest.mark.parametrize("rule", ["BR-IC-11", "BR-IC-12"])
def test_intra_community_supply_needs_delivery_data(rule: str) -> None:
    """Category K needs a delivery date or period (BR-IC-11) and a deliver-to country (BR-IC-12)."""
    clean = _all_lines("K")
    assert rule not in rules_of(clean, ("en16931",))
    assert rule in rules_of(edit(clean, "delivery", None), ("en16931",))


@pytest.mark.parametrize("rule", ["BR-B-01", "BR-B-02"])
def test_split_payment_only_italian_and_not_with_standard_rate(rule: str) -> None:
    """Split payment B needs IT everywhere (BR-B-01) and cannot be mixed with S (BR-B-02)."""
    clean = base()
    assert rule not in rules_of(clean, ("en16931",))
    mixed = edit(edit(clean, "lines.0.vat_category", "B"), "lines.0.vat_rate", D(22))
    assert rule in rules_of(mixed, ("en16931",))
