"""XRechnung 3.0.2 (KoSIT rules 2.5.0): the BR-DE-* assertions judged on the model.

Rules about the XML (BR-DE-21 customization id, PEPPOL-EN16931-R008/R053 etc. repeated in the
XRechnung artefact, extension/CVD rules BR-DEX-*, BR-DE-CVD-*) are left to the official
validation of the rendered document. The Peppol rules the XRechnung artefact repeats
(R005, R010, R020, R040..R046, R054/R055, R061, R110/R111, R120 as warning, R121, R130) run
with the ``peppol`` rule set.
"""

from __future__ import annotations

from dataclasses import replace

from gateway.model import Invoice
from gateway.rules import german, peppol
from gateway.rules.base import Facts, Report

# Peppol assertions the XRechnung artefact repeats under the same ids (R120 as a warning).
PEPPOL_REPEATED = frozenset({
    "PEPPOL-EN16931-R005", "PEPPOL-EN16931-R010", "PEPPOL-EN16931-R020",
    "PEPPOL-EN16931-R040", "PEPPOL-EN16931-R041", "PEPPOL-EN16931-R042",
    "PEPPOL-EN16931-R046", "PEPPOL-EN16931-R054", "PEPPOL-EN16931-R055",
    "PEPPOL-EN16931-R061", "PEPPOL-EN16931-R110", "PEPPOL-EN16931-R111",
    "PEPPOL-EN16931-R120", "PEPPOL-EN16931-R121", "PEPPOL-EN16931-R130",
})
WARNING_HERE = frozenset({"PEPPOL-EN16931-R120"})

IDS = {
    rule: rule
    for rule in (
        "BR-DE-1", "BR-DE-2", "BR-DE-3", "BR-DE-4", "BR-DE-5", "BR-DE-6", "BR-DE-7", "BR-DE-8",
        "BR-DE-9", "BR-DE-10", "BR-DE-11", "BR-DE-14", "BR-DE-15", "BR-DE-16", "BR-DE-17",
        "BR-DE-18", "BR-DE-19", "BR-DE-20", "BR-DE-22", "BR-DE-23-a", "BR-DE-23-b",
        "BR-DE-24-a", "BR-DE-24-b", "BR-DE-25-a", "BR-DE-25-b", "BR-DE-26", "BR-DE-27",
        "BR-DE-28", "BR-DE-30", "BR-DE-31",
    )
}


def rules(invoice: Invoice, facts: Facts, report: Report) -> None:
    """The BR-DE-* rules and the Peppol rules XRechnung repeats, on ``invoice``."""
    german.rules(invoice, facts, report, IDS)
    repeated = Report(report.record)
    peppol.rules(invoice, facts, repeated)
    for problem in repeated.problems:
        if problem.rule in PEPPOL_REPEATED:
            flag = "warning" if problem.rule in WARNING_HERE else problem.flag
            report.problems.append(replace(problem, flag=flag))
    totals = invoice.totals
    if (
        facts.syntax == "cii"
        and invoice.tax_currency == invoice.currency
        and totals is not None
        and totals.vat_in_accounting_currency is not None
    ):
        # In CII BT-110 and BT-111 are then two TaxTotalAmount in the invoice currency.
        report.fail("PEPPOL-EN16931-R053", "tax_currency", invoice.tax_currency,
                    "two VAT totals in the invoice currency",
                    "no VAT accounting currency, or a different one")
