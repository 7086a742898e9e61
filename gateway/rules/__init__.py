"""In-process business rules: a fast check of the canonical Invoice before rendering.

``check(invoice, ("en16931", "peppol"))`` returns every :class:`~gateway.errors.Problem`
found, naming the record, the model field path (``lines[2].price.net``), its BT id, the
value, the official rule id and what would be accepted. It is meant to run on a *completed*
invoice (:func:`gateway.totals.complete`): totals, VAT breakdown and line nets left out on
intake are then filled, and every amount the ERP gave is checked as given.

The rules are plain Python over the model, written from the official compiled schematron
(CEN EN 16931 1.3.16, Peppol BIS Billing 3.0, XRechnung 3.0.2); the official XSLTs run on
the rendered document (:mod:`gateway.validation`) stay the authority.
``tests/test_differential.py`` compares the two verdicts.

Not judged here (they concern the XML the mapping writes, and the official run reports them):
BR-01 (BT-24 is set on render), UBL-CR/UBL-SR/CII-SR/CII-DT syntax rules (except UBL-DT-01,
two decimals, and UBL-SR-19/20/21/29, which judge what the model says about payee and SEPA
ids), PEPPOL-EN16931-R001/R004/R007 profile ids only as BT-23, R008 (intake leaves no blank
text, the mappings write no empty element), R043, R044, R051, R053 (UBL), R080, R100, R101,
F001, P0101 (cannot fail on the model), the IT identifier warnings PEPPOL-COMMON-R044..R047,
XRechnung BR-DE-21, BR-DEX-*, BR-DE-CVD-*.
BR-CO-05..08 assert ``true()`` in the CEN artefact.
"""

from __future__ import annotations

from collections.abc import Sequence

from gateway.errors import Problem
from gateway.model import Invoice
from gateway.rules import (
    en16931_codes,
    en16931_core,
    en16931_totals,
    en16931_vat,
    peppol,
    peppol_national,
    xrechnung,
)
from gateway.rules.base import Facts, Report, RuleFunction
from gateway.rules.causes import relate

RULE_SETS: dict[str, tuple[RuleFunction, ...]] = {
    "en16931": (en16931_core.rules, en16931_totals.rules, en16931_vat.rules, en16931_codes.rules),
    "peppol": (peppol.rules, peppol_national.rules),
    "xrechnung": (xrechnung.rules,),
}


SYNTAXES = frozenset({"ubl", "cii"})


def check(
    invoice: Invoice,
    rule_sets: Sequence[str] = ("en16931",),
    *,
    record: str | None = None,
    syntax: str = "ubl",
) -> list[Problem]:
    """All problems the given rule sets find on a completed ``invoice`` (empty: it passes).

    ``record`` labels the problems (default: the invoice number). Unknown rule set names raise
    ``ValueError`` naming the known ones. Fatal and warning problems are both returned; their
    ``flag`` matches the official assertion's flag.

    ``syntax`` is the syntax the invoice will be rendered in (``Mapping.syntax``): the CEN
    artefacts state a few EN 16931 assertions differently for UBL and CII (tolerances of the
    VAT breakdown rules BR-x-01/08/09, BR-CO-10..17, BR-DEC-13/15 ...), and the check follows
    the one that will judge the document. Syntaxes without an official EN 16931 binding of
    their own (cXML, EDIFACT, JSON) are checked with the UBL variant.

    A finding that follows from another (BR-CO-17 after an exempt line's wrong rate, BR-E-05)
    names its cause and says to fix that first (:mod:`gateway.rules.causes`); it comes after it.
    """
    report = Report(record if record is not None else invoice.number)
    facts = Facts(invoice, syntax if syntax in SYNTAXES else "ubl")
    for name in rule_sets:
        functions = RULE_SETS.get(name)
        if functions is None:
            raise ValueError(f"unknown rule set {name!r}; known: {', '.join(sorted(RULE_SETS))}")
        for function in functions:
            function(invoice, facts, report)
    return relate(invoice, report.problems)


__all__ = ["RULE_SETS", "SYNTAXES", "check"]
