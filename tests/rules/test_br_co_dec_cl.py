"""BR-CO-*, BR-DEC-*, UBL-DT-01 and BR-CL-*: a failing case per rule id; the base passes."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from decimal import Decimal

import pytest
from helpers import base, checked, edit, rules_of

from gateway.model import (
    AllowanceCharge,
    Attachment,
    Delivery,
    Identifier,
    Invoice,
    ItemClassification,
    LineAllowanceCharge,
    Note,
    Payee,
    Period,
    SupportingDocument,
    VatBreakdown,
)
from gateway.model.base import Address
from gateway.rules import check
from gateway.totals import complete

D = Decimal


def _recomplete(invoice: Invoice) -> Invoice:
    lines = tuple(line.model_copy(update={"net_amount": None}) for line in invoice.lines)
    return complete(invoice.model_copy(update={"lines": lines, "vat_breakdown": (),
                                               "totals": None}))


def _allow(**kw: object) -> AllowanceCharge:
    data: dict[str, object] = {"amount": D("1.00"), "vat_category": "S", "vat_rate": D(19),
                               "reason": "x"}
    data.update(kw)
    return AllowanceCharge.model_validate(data)


def _line_net(invoice: Invoice) -> Decimal:
    assert invoice.totals is not None and invoice.totals.line_net is not None
    return invoice.totals.line_net


def _taxable(invoice: Invoice) -> Decimal:
    value = invoice.vat_breakdown[0].taxable_amount
    assert value is not None
    return value


CASES: list[tuple[str, Callable[[Invoice], Invoice]]] = [
    ("BR-CO-03", lambda i: edit(edit(i, "tax_point_date", i.issue_date),
                                "tax_point_date_code", "35")),
    ("BR-CO-04", lambda i: edit(i, "lines.0.vat_category", "")),
    ("BR-CO-09", lambda i: edit(i, "seller.vat_id", "123456789")),
    ("BR-CO-10", lambda i: edit(i, "totals.line_net", _line_net(i) + D("0.01"))),
    ("BR-CO-11", lambda i: edit(_recomplete(edit(i, "allowances", (_allow(),))),
                                "totals.allowances", D("2.00"))),
    ("BR-CO-12", lambda i: edit(_recomplete(edit(i, "charges", (_allow(),))),
                                "totals.charges", D("2.00"))),
    ("BR-CO-13", lambda i: edit(i, "totals.without_vat", D("1.00"))),
    ("BR-CO-14", lambda i: edit(i, "totals.vat", D("1.00"))),
    ("BR-CO-15", lambda i: edit(i, "totals.with_vat", D("1.00"))),
    ("BR-CO-16", lambda i: edit(i, "totals.due", D("1.00"))),
    ("BR-CO-17", lambda i: edit(i, "vat_breakdown.0.tax_amount", D("99.00"))),
    ("BR-CO-18", lambda i: edit(i, "vat_breakdown", ())),
    ("BR-CO-19", lambda i: edit(i, "invoice_period", Period())),
    ("BR-CO-20", lambda i: edit(i, "lines.0.period", Period())),
    ("BR-CO-21", lambda i: edit(i, "allowances", (_allow(reason=None),))),
    ("BR-CO-22", lambda i: edit(i, "charges", (_allow(reason=None),))),
    ("BR-CO-23", lambda i: edit(i, "lines.0.allowances", (LineAllowanceCharge(amount=D(1)),))),
    ("BR-CO-24", lambda i: edit(i, "lines.0.charges", (LineAllowanceCharge(amount=D(1)),))),
    ("BR-CO-26", lambda i: edit(i, "seller.vat_id", None)),
    ("BR-DEC-01", lambda i: edit(i, "allowances", (_allow(amount=D("1.001")),))),
    ("BR-DEC-02", lambda i: edit(i, "allowances", (_allow(base_amount=D("1.001")),))),
    ("BR-DEC-05", lambda i: edit(i, "charges", (_allow(amount=D("1.001")),))),
    ("BR-DEC-06", lambda i: edit(i, "charges", (_allow(base_amount=D("1.001")),))),
    ("BR-DEC-09", lambda i: edit(i, "totals.line_net", D("60.000"))),
    ("BR-DEC-10", lambda i: edit(i, "totals.allowances", D("0.000"))),
    ("BR-DEC-11", lambda i: edit(i, "totals.charges", D("0.000"))),
    ("BR-DEC-12", lambda i: edit(i, "totals.without_vat", D("60.000"))),
    ("BR-DEC-14", lambda i: edit(i, "totals.with_vat", D("71.400"))),
    ("BR-DEC-16", lambda i: edit(i, "totals.prepaid", D("0.001"))),
    ("BR-DEC-17", lambda i: edit(i, "totals.rounding", D("0.001"))),
    ("BR-DEC-18", lambda i: edit(i, "totals.due", D("71.400"))),
    ("BR-DEC-19", lambda i: edit(i, "vat_breakdown.0.taxable_amount", D("60.000"))),
    ("BR-DEC-20", lambda i: edit(i, "vat_breakdown.0.tax_amount", D("11.400"))),
    ("BR-DEC-23", lambda i: edit(i, "lines.0.net_amount", D("10.000"))),
    ("BR-DEC-24", lambda i: edit(i, "lines.0.allowances",
                                 (LineAllowanceCharge(amount=D("0.001"), reason="x"),))),
    ("BR-DEC-25", lambda i: edit(i, "lines.0.allowances",
                                 (LineAllowanceCharge(amount=D(0), base_amount=D("0.001"),
                                                      reason="x"),))),
    ("BR-DEC-27", lambda i: edit(i, "lines.0.charges",
                                 (LineAllowanceCharge(amount=D("0.001"), reason="x"),))),
    ("BR-DEC-28", lambda i: edit(i, "lines.0.charges",
                                 (LineAllowanceCharge(amount=D(0), base_amount=D("0.001"),
                                                      reason="x"),))),
    ("UBL-DT-01", lambda i: edit(i, "lines.0.net_amount", D("10.000"))),
    ("BR-CL-01", lambda i: edit(i, "type_code", "999")),
    ("BR-CL-03", lambda i: edit(i, "currency", "EU")),
    ("BR-CL-04", lambda i: edit(i, "currency", "EU")),
    ("BR-CL-05", lambda i: edit(i, "tax_currency", "EU")),
    ("BR-CL-06", lambda i: edit(i, "tax_point_date_code", "1")),
    ("BR-CL-07", lambda i: edit(i, "invoiced_object", Identifier(value="x", scheme="ZZZZ"))),
    ("BR-CL-08", lambda i: edit(i, "notes", (Note(text="t", subject_code="QQQ"),))),
    ("BR-CL-10", lambda i: edit(i, "buyer.identifier", Identifier(value="x", scheme="9"))),
    ("BR-CL-11", lambda i: edit(i, "seller.legal_registration",
                                Identifier(value="x", scheme="9"))),
    ("BR-CL-13", lambda i: edit(i, "lines.0.item.classifications",
                                (ItemClassification(value="x", scheme="QQ"),))),
    ("BR-CL-14", lambda i: edit(i, "buyer.address.country", "XX")),
    ("BR-CL-15", lambda i: edit(i, "lines.0.item.origin_country", "XX")),
    ("BR-CL-16", lambda i: edit(i, "payment.means_code", "999")),
    ("BR-CL-17", lambda i: edit(i, "vat_breakdown.0.category", "X")),
    ("BR-CL-18", lambda i: edit(i, "lines.0.vat_category", "X")),
    ("BR-CL-19", lambda i: edit(i, "allowances", (_allow(reason_code="ZZZ"),))),
    ("BR-CL-20", lambda i: edit(i, "charges", (_allow(reason_code="999"),))),
    ("BR-CL-21", lambda i: edit(i, "lines.0.item.standard_id", Identifier(value="x", scheme="9"))),
    ("BR-CL-22", lambda i: edit(i, "vat_breakdown.0.exemption_reason_code", "VATEX-XX")),
    ("BR-CL-23", lambda i: edit(i, "lines.0.unit", "QQQ9")),
    ("BR-CL-24", lambda i: edit(i, "supporting_documents", (SupportingDocument(
        reference="r", attachment=Attachment(content=b"x", mime_code="text/xml",
                                             filename="a.xml")),))),
    ("BR-CL-25", lambda i: edit(i, "buyer.electronic_address", Identifier(value="x",
                                                                          scheme="ZZZ"))),
    ("BR-CL-26", lambda i: edit(i, "delivery", Delivery(location=Identifier(value="x",
                                                                            scheme="9")))),
]
_ = (Payee, Address, dt)


@pytest.mark.parametrize(("rule", "make"), CASES, ids=[c[0] for c in CASES])
def test_rule_fails_on_its_case_and_passes_on_the_base(
    rule: str, make: Callable[[Invoice], Invoice]
) -> None:
    """The rule is reported for its broken invoice and not for the valid base invoice."""
    valid = base()
    assert rule not in rules_of(valid)
    assert rule in rules_of(make(valid))


def test_br_co_17_tolerates_one_unit() -> None:
    """BR-CO-17 accepts a VAT amount within +-1 of taxable x rate, as the schematron does."""
    valid = base()
    tax = valid.vat_breakdown[0].tax_amount
    assert tax is not None
    nudged = edit(valid, "vat_breakdown.0.tax_amount", tax + D("0.99"))
    assert "BR-CO-17" not in rules_of(nudged)


def _cii_rules(invoice: Invoice) -> set[str]:
    return {p.rule for p in checked(invoice, ("en16931",), syntax="cii")}


CII_CASES: list[tuple[str, Callable[[Invoice], Invoice]]] = [
    ("BR-DEC-13", lambda i: edit(i, "totals.vat", D("11.401"))),
    ("BR-DEC-15", lambda i: edit(edit(i, "tax_currency", "USD"),
                                 "totals.vat_in_accounting_currency", D("1.001"))),
    ("CII-SR-470", lambda i: edit(i, "payment.credit_transfers", ())),
    ("BR-53", lambda i: edit(edit(i, "tax_currency", "EUR"),
                             "totals.vat_in_accounting_currency", None)),
    ("BR-S-08", lambda i: edit(i, "vat_breakdown.0.taxable_amount",
                               _taxable(i) + D("0.50"))),
    ("BR-Z-01", lambda i: edit(i, "vat_breakdown", (*i.vat_breakdown, VatBreakdown(
        category="Z", rate=D(0), taxable_amount=D(0), tax_amount=D(0))))),
]


@pytest.mark.parametrize(("rule", "make"), CII_CASES, ids=[c[0] for c in CII_CASES])
def test_cii_variant_fails_on_its_case_and_passes_on_the_base(
    rule: str, make: Callable[[Invoice], Invoice]
) -> None:
    """With syntax="cii" the rule follows the CII artefact (stricter here than the UBL one)."""
    valid = base()
    assert rule not in _cii_rules(valid)
    assert rule in _cii_rules(make(valid))


def test_ubl_reports_decimals_of_vat_totals_as_ubl_dt_01() -> None:
    """In UBL an over-precise BT-110 is UBL-DT-01 (BR-DEC-13 never fires in the UBL artefact)."""
    found = rules_of(edit(base(), "totals.vat", D("11.400")), ("en16931",))
    assert "UBL-DT-01" in found
    assert "BR-DEC-13" not in found


def test_cii_tolerances_differ_from_ubl() -> None:
    """A taxable amount 0.50 off passes BR-S-08 in UBL (+-1) but not in CII (exact)."""
    valid = base()
    off = edit(valid, "vat_breakdown.0.taxable_amount",
               _taxable(valid) + D("0.50"))
    assert "BR-S-08" not in rules_of(off, ("en16931",))
    assert "BR-S-08" in _cii_rules(off)


def test_syntax_without_own_binding_is_checked_as_ubl() -> None:
    """A syntax with no EN 16931 binding of its own (e.g. cxml) gets the UBL variant."""
    off = edit(base(), "vat_breakdown.0.taxable_amount",
               _taxable(base()) + D("0.50"))
    assert check(off, syntax="cxml") == check(off, syntax="ubl")
    assert check(off, syntax="cxml") != check(off, syntax="cii")


def test_cii_same_tax_currency_gives_two_vat_totals() -> None:
    """In CII a VAT accounting currency equal to the invoice currency breaks BR-CO-15 and R053."""
    valid = base()
    same = edit(edit(valid, "tax_currency", "EUR"), "totals.vat_in_accounting_currency",
                D("99.00"))
    found = {p.rule for p in check(same, ("en16931", "xrechnung"), syntax="cii")}
    assert {"BR-CO-15", "BR-CO-14", "PEPPOL-EN16931-R053"} <= found
    clean = {p.rule for p in check(valid, ("en16931", "xrechnung"), syntax="cii")}
    assert not clean & {"BR-CO-15", "BR-CO-14", "PEPPOL-EN16931-R053"}


def test_cii_generic_breakdown_rules_skip_l_m_o_breakdowns() -> None:
    """In CII, BR-CO-03 is tested only through a breakdown other than L, M or O (shadowing)."""
    both = edit(edit(base(), "tax_point_date", base().issue_date), "tax_point_date_code", "35")
    assert "BR-CO-03" in _cii_rules(both)
    lines = tuple(line.model_copy(update={"vat_category": "M", "vat_rate": D(4),
                                          "net_amount": None}) for line in both.lines)
    only_m = complete(both.model_copy(update={"lines": lines, "vat_breakdown": (),
                                              "totals": None}))
    assert "BR-CO-03" not in _cii_rules(only_m)
    assert "BR-CO-03" in rules_of(only_m, ("en16931",))
