"""Findings that follow from another: say "first fix" instead of suggesting the wrong fix.

An exempt line with rate 19 (BR-E-05) makes the VAT breakdown of category E carry rate 19, so
BR-CO-17 (VAT amount = taxable amount x rate) then asks for 19 % VAT on an exempt amount, while
BR-E-09 asks for 0.00: two findings telling the ERP opposite things. The cause is the rate. The
follow-on finding keeps its rule id (the official artefacts report it too), but its message names
the cause and its ``accepted`` says to fix the cause first; it is listed after the cause.

The same wrong rate also splits a category that takes one VAT breakdown (E, Z, AE, K, G, O) into
one breakdown per rate: BR-x-01 (exactly one breakdown) and BR-x-08 (each breakdown's taxable
amount is the whole category's) then follow from it as well.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import replace

from gateway.display import show
from gateway.errors import Problem
from gateway.model import Invoice
from gateway.rules.base import ZERO, xround
from gateway.rules.en16931_vat import FAMILIES, RATE_TEXT

_BREAKDOWN = re.compile(r"^vat_breakdown\[(\d+)\]\.tax_amount$")


_BY_PREFIX = {family.prefix: (category, family) for category, family in FAMILIES.items()}


def relate(invoice: Invoice, problems: list[Problem]) -> list[Problem]:
    """``problems`` with each follow-on finding rewritten to name its cause, after it."""
    if not problems:
        return problems  # the usual case: nothing to relate, nothing allocated
    causes: list[Problem] = []
    follow_ons: list[Problem] = []
    for problem in problems:
        related = _rate_follow_on(invoice, problem, problems) or _split_follow_on(
            invoice, problem, problems
        )
        if related is None:
            causes.append(problem)
        else:
            follow_ons.append(related)
    return causes + follow_ons if follow_ons else problems


def _rate_cause(prefix: str, problems: Sequence[Problem]) -> Problem | None:
    """The first wrong-rate finding (BR-x-05/06/07) of the family ``prefix``."""
    rules = {f"{prefix}-05", f"{prefix}-06", f"{prefix}-07"}
    return next((p for p in problems if p.rule in rules), None)


def _rate_follow_on(
    invoice: Invoice, problem: Problem, problems: Sequence[Problem]
) -> Problem | None:
    """BR-CO-17 on a breakdown whose category takes no VAT rate but carries one: a follow-on of
    the wrong rate (BR-x-05/06/07 on its lines, allowances or charges, or BT-119 itself)."""
    match = _BREAKDOWN.match(problem.path) if problem.rule == "BR-CO-17" else None
    if match is None:
        return None
    vat = invoice.vat_breakdown[int(match.group(1))]
    family = FAMILIES.get(vat.category)
    if family is None or family.rate not in ("zero", "absent"):
        return None
    if vat.rate is None or xround(vat.rate) == ZERO:
        return None  # BR-CO-17 then asks for 0.00 itself, as BR-x-09 does
    wanted = RATE_TEXT[family.rate]
    cause = _rate_cause(family.prefix, problems)
    category = f"{family.name} ({vat.category})"
    if cause is not None:
        message = (
            f"follows from {cause.rule} ({cause.path} = {show(cause.value)}): the breakdown took "
            f"that rate, but {category} carries no VAT"
        )
        accepted = f"first fix {cause.rule} ({wanted}); the VAT amount 0.00 is then right"
    else:
        message = (
            f"follows from the VAT category rate (BT-119) = {show(vat.rate)}: "
            f"{category} carries no VAT"
        )
        accepted = f"first fix the VAT category rate ({wanted}); the VAT amount 0.00 is then right"
    return replace(problem, message=message, accepted=accepted)


def _split_follow_on(
    invoice: Invoice, problem: Problem, problems: Sequence[Problem]
) -> Problem | None:
    """BR-x-01 / BR-x-08 of a one-breakdown category split by rate, with a wrong-rate cause."""
    prefix, _, number = problem.rule.rpartition("-")
    found = _BY_PREFIX.get(prefix) if number in ("01", "08") else None
    if found is None or not found[1].one_breakdown:
        return None
    category, family = found
    rates = {v.rate for v in invoice.vat_breakdown if v.category == category}
    cause = _rate_cause(prefix, problems) if len(rates) > 1 else None
    if cause is None:
        return None
    message = (
        f"follows from {cause.rule} ({cause.path} = {show(cause.value)}): the amounts at that "
        f"rate got a VAT breakdown of their own, so {family.name} ({category}) is split in "
        f"{len(rates)}"
    )
    accepted = (
        f"first fix {cause.rule} ({RATE_TEXT[family.rate]}); then one VAT breakdown of "
        f"{category} remains"
    )
    return replace(problem, message=message, accepted=accepted)
