"""BR-02..BR-65: one failing case per rule id; the valid base invoice is the passing case."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from decimal import Decimal

import pytest
from helpers import base, edit, rules_of

from gateway.model import (
    AllowanceCharge,
    Attachment,
    DirectDebit,
    Identifier,
    Invoice,
    ItemAttribute,
    ItemClassification,
    LineAllowanceCharge,
    Payee,
    PaymentCard,
    Period,
    PrecedingInvoice,
    SupportingDocument,
    TaxRepresentative,
)
from gateway.model.base import Address
from gateway.rules import en16931_core
from gateway.rules.base import Facts, Report

TREP = TaxRepresentative(name="Rep", vat_id="DE111111111", address=Address(country="DE"))
D = Decimal
CASES: list[tuple[str, Callable[[Invoice], Invoice]]] = [
    ("BR-02", lambda i: edit(i, "number", " ")),
    ("BR-03", lambda i: edit(i, "issue_date", None)),
    ("BR-04", lambda i: edit(i, "type_code", "")),
    ("BR-05", lambda i: edit(i, "currency", "")),
    ("BR-06", lambda i: edit(i, "seller.name", "")),
    ("BR-07", lambda i: edit(i, "buyer.name", "")),
    ("BR-08", lambda i: edit(i, "seller.address", None)),
    ("BR-09", lambda i: edit(i, "seller.address.country", "")),
    ("BR-10", lambda i: edit(i, "buyer.address", None)),
    ("BR-11", lambda i: edit(i, "buyer.address.country", "")),
    ("BR-12", lambda i: edit(i, "totals.line_net", None)),
    ("BR-13", lambda i: edit(i, "totals.without_vat", None)),
    ("BR-14", lambda i: edit(i, "totals.with_vat", None)),
    ("BR-15", lambda i: edit(i, "totals.due", None)),
    ("BR-16", lambda i: edit(i, "lines", ())),
    ("BR-17", lambda i: edit(edit(i, "seller.trading_name", "Same"), "payee", Payee(name="Same"))),
    ("BR-18", lambda i: edit(i, "tax_representative", TREP.model_copy(update={"name": ""}))),
    ("BR-19", lambda i: edit(i, "tax_representative", TREP.model_copy(update={"address": None}))),
    ("BR-20", lambda i: edit(i, "tax_representative",
                             TREP.model_copy(update={"address": Address(country="")}))),
    ("BR-21", lambda i: edit(i, "lines.0.id", "")),
    ("BR-22", lambda i: edit(i, "lines.0.quantity", None)),
    ("BR-23", lambda i: edit(i, "lines.0.unit", "")),
    ("BR-24", lambda i: edit(i, "lines.0.net_amount", None)),
    ("BR-25", lambda i: edit(i, "lines.0.item.name", "")),
    ("BR-26", lambda i: edit(i, "lines.0.price.net", None)),
    ("BR-27", lambda i: edit(i, "lines.0.price.net", D("-1"))),
    ("BR-28", lambda i: edit(i, "lines.0.price.gross", D("-1"))),
    ("BR-29", lambda i: edit(i, "invoice_period", Period(start=dt.date(2026, 2, 2),
                                                          end=dt.date(2026, 2, 1)))),
    ("BR-30", lambda i: edit(i, "lines.0.period", Period(start=dt.date(2026, 2, 2),
                                                          end=dt.date(2026, 2, 1)))),
    ("BR-31", lambda i: edit(i, "allowances", (AllowanceCharge.model_construct(
        amount=None,  # type: ignore[arg-type]
        vat_category="S", vat_rate=D(19), reason="x"),))),
    ("BR-32", lambda i: edit(i, "allowances", (AllowanceCharge(
        amount=D(1), vat_category="", reason="x"),))),
    ("BR-33", lambda i: edit(i, "allowances", (AllowanceCharge(
        amount=D(1), vat_category="S", vat_rate=D(19)),))),
    ("BR-36", lambda i: edit(i, "charges", (AllowanceCharge.model_construct(
        amount=None,  # type: ignore[arg-type]
        vat_category="S", vat_rate=D(19), reason="x"),))),
    ("BR-37", lambda i: edit(i, "charges", (AllowanceCharge(
        amount=D(1), vat_category="", reason="x"),))),
    ("BR-38", lambda i: edit(i, "charges", (AllowanceCharge(
        amount=D(1), vat_category="S", vat_rate=D(19)),))),
    ("BR-41", lambda i: edit(i, "lines.0.allowances", (LineAllowanceCharge.model_construct(
        amount=None,  # type: ignore[arg-type]
        reason="x"),))),
    ("BR-42", lambda i: edit(i, "lines.0.allowances", (LineAllowanceCharge(amount=D(1)),))),
    ("BR-43", lambda i: edit(i, "lines.0.charges", (LineAllowanceCharge.model_construct(
        amount=None,  # type: ignore[arg-type]
        reason="x"),))),
    ("BR-44", lambda i: edit(i, "lines.0.charges", (LineAllowanceCharge(amount=D(1)),))),
    ("BR-45", lambda i: edit(i, "vat_breakdown.0.taxable_amount", None)),
    ("BR-46", lambda i: edit(i, "vat_breakdown.0.tax_amount", None)),
    ("BR-47", lambda i: edit(i, "vat_breakdown.0.category", "")),
    ("BR-48", lambda i: edit(i, "vat_breakdown.0.rate", None)),
    ("BR-49", lambda i: edit(i, "payment.means_code", "")),
    ("BR-50", lambda i: edit(i, "payment.credit_transfers.0.account_id", " ")),
    ("BR-51", lambda i: edit(i, "payment.card",
                             PaymentCard.model_construct(pan_last_digits="12345678901"))),
    ("BR-52", lambda i: edit(i, "supporting_documents",
                             (SupportingDocument.model_construct(reference=""),))),
    ("BR-53", lambda i: edit(i, "tax_currency", "USD")),
    ("BR-54", lambda i: edit(i, "lines.0.item.attributes",
                             (ItemAttribute.model_construct(name="", value="v"),))),
    ("BR-55", lambda i: edit(i, "preceding_invoices",
                             (PrecedingInvoice.model_construct(number=""),))),
    ("BR-56", lambda i: edit(i, "tax_representative", TREP.model_copy(update={"vat_id": ""}))),
    ("BR-57", lambda i: edit(i, "delivery.address", Address(country=""))
     if i.delivery else edit(i, "delivery", __import__("gateway.model").model.Delivery(
         address=Address(country="")))),
    ("BR-61", lambda i: edit(i, "payment.credit_transfers", ())),
    ("BR-62", lambda i: edit(i, "seller.electronic_address", Identifier(value="x"))),
    ("BR-63", lambda i: edit(i, "buyer.electronic_address", Identifier(value="x"))),
    ("BR-64", lambda i: edit(i, "lines.0.item.standard_id", Identifier(value="x"))),
    ("BR-65", lambda i: edit(i, "lines.0.item.classifications",
                             (ItemClassification(value="x", scheme=""),))),
]
_ = (Attachment, DirectDebit)
# Cases the model itself forbids (required values set to None through model_construct): only
# the presence rules are meant to see such input, so only that module is run on them.
MODEL_FORBIDS = frozenset({"BR-03", "BR-08", "BR-10", "BR-19", "BR-22", "BR-26", "BR-31", "BR-36",
                           "BR-41", "BR-43"})


def _core_rules(invoice: Invoice) -> set[str]:
    report = Report(invoice.number)
    en16931_core.rules(invoice, Facts(invoice), report)
    return {p.rule for p in report.problems}


@pytest.mark.parametrize(("rule", "make"), CASES, ids=[c[0] for c in CASES])
def test_rule_fails_on_its_case_and_passes_on_the_base(
    rule: str, make: Callable[[Invoice], Invoice]
) -> None:
    """The rule is reported for its broken invoice and not for the valid base invoice."""
    valid = base()
    judge = _core_rules if rule in MODEL_FORBIDS else rules_of
    assert rule not in judge(valid)
    assert rule in judge(make(valid))


def test_problem_names_record_path_bt_value_and_accepted() -> None:
    """A problem carries the record label, model path, BT id, value and what is accepted."""
    from gateway.rules import check

    problems = check(edit(base(), "lines.0.price.net", D("-1")), record="row 7")
    problem = next(p for p in problems if p.rule == "BR-27")
    assert (problem.record, problem.path, problem.bt, problem.value) == (
        "row 7", "lines[0].price.net", "BT-146", D("-1"))
    assert problem.accepted and problem.flag == "fatal"
