"""EN 16931 BR-CO-* (calculations and conditions) and BR-DEC-* (at most two decimals).

Arithmetic follows the compiled schematron exactly: sums are rounded with XPath ``round``
(halves towards +infinity) and compared for equality; BR-CO-17 allows +-1 around the
rounded product. BR-CO-05..08 assert ``true()`` in the official artefact and are not listed.
"""

from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal

from gateway.display import show
from gateway.model import Invoice, Totals
from gateway.rules import codelists
from gateway.rules.base import (
    CENT,
    HUNDRED,
    ONE,
    ZERO,
    Facts,
    Report,
    generic_breakdown_rule,
    too_precise,
    xround,
    xround2,
)


def _decimals(invoice: Invoice, report: Report, facts: Facts) -> None:
    """BR-DEC-* and UBL-DT-01 in one pass over every amount UBL writes outside the price.

    UBL-DT-01 is the UBL binding's own two-decimal rule (every ``*Amount`` element but the
    price); it also covers BT-110/BT-111, whose UBL assertions BR-DEC-13/15 never fire (their
    predicate reads a relative path), so in UBL those two are reported as UBL-DT-01 only. The
    CII artefact applies BR-DEC-13/15 to the values (see :func:`_cii_vat_totals`).
    """
    found: list[tuple[str, str, Decimal]] = []
    for n, line in enumerate(invoice.lines):
        if too_precise(line.net_amount):
            found.append(("BR-DEC-23", f"lines[{n}].net_amount", line.net_amount))  # type: ignore[arg-type]
        for kind, items, r_amount, r_base in (
            ("allowances", line.allowances, "BR-DEC-24", "BR-DEC-25"),
            ("charges", line.charges, "BR-DEC-27", "BR-DEC-28"),
        ):
            for k, lac in enumerate(items):
                if too_precise(lac.amount):
                    found.append((r_amount, f"lines[{n}].{kind}[{k}].amount", lac.amount))
                if too_precise(lac.base_amount):
                    found.append((r_base, f"lines[{n}].{kind}[{k}].base_amount",
                                  lac.base_amount))  # type: ignore[arg-type]
    for kind, doc_items, r_amount, r_base in (
        ("allowances", invoice.allowances, "BR-DEC-01", "BR-DEC-02"),
        ("charges", invoice.charges, "BR-DEC-05", "BR-DEC-06"),
    ):
        for k, dac in enumerate(doc_items):
            if too_precise(dac.amount):
                found.append((r_amount, f"{kind}[{k}].amount", dac.amount))
            if too_precise(dac.base_amount):
                found.append((r_base, f"{kind}[{k}].base_amount", dac.base_amount))  # type: ignore[arg-type]
    for k, vat in enumerate(invoice.vat_breakdown):
        if not generic_breakdown_rule(facts, vat.category):
            continue
        if too_precise(vat.taxable_amount):
            found.append(("BR-DEC-19", f"vat_breakdown[{k}].taxable_amount",
                          vat.taxable_amount))  # type: ignore[arg-type]
        if too_precise(vat.tax_amount):
            found.append(("BR-DEC-20", f"vat_breakdown[{k}].tax_amount", vat.tax_amount))  # type: ignore[arg-type]
    totals = invoice.totals
    cii = facts.syntax == "cii"
    if totals is not None:
        for field, rule in _TOTAL_DEC:
            value = getattr(totals, field)
            if cii and rule in ("BR-DEC-13", "BR-DEC-15"):
                continue  # value-based in CII, see _cii_vat_totals
            if too_precise(value):
                if field == "vat_in_accounting_currency" and invoice.tax_currency is None:
                    continue  # not written without a VAT accounting currency
                found.append((rule, f"totals.{field}", value))
        if cii:
            _cii_vat_totals(invoice, totals, report)
    for rule, path, value in found:
        accepted = f"{value:.2f} (rounded to cents)"
        if cii or rule not in ("BR-DEC-13", "BR-DEC-15"):
            report.fail(rule, path, value, "more than two decimals", accepted)
        if not cii:
            report.fail("UBL-DT-01", path, value, "more than two decimals", accepted)


def _cii_vat_totals(invoice: Invoice, totals: Totals, report: Report) -> None:
    """BR-DEC-13/15 as the CII artefact states them: the VAT totals' values are whole cents,
    and with a VAT accounting currency its total (BT-111) must be there."""
    vat = totals.vat
    # BR-DEC-13 accepts any TaxTotalAmount in another currency, so BT-111 in a different VAT
    # accounting currency satisfies it whatever BT-110 holds.
    other = invoice.tax_currency not in (None, invoice.currency) and (
        totals.vat_in_accounting_currency is not None
    )
    if vat is not None and not other and vat != vat.quantize(CENT, rounding=ROUND_HALF_UP):
        report.fail("BR-DEC-13", "totals.vat", vat, "more than two decimals",
                    f"{vat:.2f} (rounded to cents)")
    if invoice.tax_currency is not None:
        # Any TaxTotalAmount in the accounting currency will do; when it is the invoice
        # currency, BT-110 is one.
        acc = totals.vat if invoice.tax_currency == invoice.currency else (
            totals.vat_in_accounting_currency)
        if acc is None or acc != acc.quantize(CENT, rounding=ROUND_HALF_UP):
            report.fail("BR-DEC-15", "totals.vat_in_accounting_currency", acc,
                        "missing or more than two decimals",
                        "the VAT total in the accounting currency, in cents")


_TOTAL_DEC = (
    ("line_net", "BR-DEC-09"), ("allowances", "BR-DEC-10"), ("charges", "BR-DEC-11"),
    ("without_vat", "BR-DEC-12"), ("vat", "BR-DEC-13"), ("vat_in_accounting_currency", "BR-DEC-15"),
    ("with_vat", "BR-DEC-14"), ("prepaid", "BR-DEC-16"), ("rounding", "BR-DEC-17"),
    ("due", "BR-DEC-18"),
)


def _cii_line_sum(nets: list[Decimal]) -> Decimal:
    """BR-CO-10 in CII: ``sum()`` of untyped amounts is a double, cast exactly to decimal."""
    total = 0.0
    for value in nets:
        total += float(value)
    return xround2(Decimal(total))


def _sum(values: list[Decimal]) -> Decimal:
    total = ZERO
    for value in values:
        total += value
    return total


def rules(invoice: Invoice, facts: Facts, report: Report) -> None:
    """BR-CO-03, 09..18, 26 and BR-DEC-01..28 on a completed ``invoice``."""
    fail = report.fail
    both_dates = invoice.tax_point_date is not None and invoice.tax_point_date_code is not None
    if both_dates and any(generic_breakdown_rule(facts, v.category) for v in invoice.vat_breakdown):
        fail("BR-CO-03", "tax_point_date_code", invoice.tax_point_date_code,
             "the VAT point date and the VAT point date code are both given", "only one of them")
    for path, vat_id in (
        ("seller.vat_id", invoice.seller.vat_id),
        ("buyer.vat_id", invoice.buyer.vat_id),
        ("tax_representative.vat_id",
         invoice.tax_representative.vat_id if invoice.tax_representative else None),
    ):
        if vat_id is not None and vat_id[:2] not in codelists.VAT_PREFIXES:
            fail("BR-CO-09", path, vat_id, "the VAT identifier has no country prefix",
                 "an ISO 3166-1 alpha-2 prefix (EL for Greece, XI for Northern Ireland)")
    seller = invoice.seller
    if not (
        facts.seller_vat
        or any(i.scheme != "SEPA" for i in seller.identifiers)
        or seller.legal_registration is not None
    ):
        fail("BR-CO-26", "seller.vat_id", seller.vat_id, "the seller cannot be identified",
             "a seller VAT id (BT-31), identifier (BT-29) or legal registration id (BT-30)")

    nets = [line.net_amount for line in invoice.lines if line.net_amount is not None]
    _decimals(invoice, report, facts)
    breakdown = invoice.vat_breakdown
    cii = facts.syntax == "cii"
    for k, vat in enumerate(breakdown):
        if not generic_breakdown_rule(facts, vat.category):
            continue
        _co17(report, f"vat_breakdown[{k}]", vat.tax_amount, vat.taxable_amount, vat.rate,
              inclusive=cii)
    if not breakdown:
        fail("BR-CO-18", "vat_breakdown", (), "the invoice has no VAT breakdown",
             "at least one VAT breakdown (gateway.totals.complete computes it)")

    totals = invoice.totals
    if totals is None:
        return

    if totals.line_net is not None:
        expected = _cii_line_sum(nets) if cii else xround2(_sum(nets))
        if totals.line_net != expected:
            fail("BR-CO-10", "totals.line_net", totals.line_net,
                 "not the sum of the line net amounts",
                 f"sum of line net amounts = {show(expected)}")
    for rule, field, items, word in (
        ("BR-CO-11", "allowances", invoice.allowances, "allowance"),
        ("BR-CO-12", "charges", invoice.charges, "charge"),
    ):
        given = getattr(totals, field)
        amounts = [i.amount for i in items if i.amount is not None]
        if given is None:
            if items:
                fail(rule, f"totals.{field}", None, f"document {word}s given without their sum",
                     f"sum of document {word}s = {show(xround2(_sum(amounts)))}")
        elif given != xround2(_sum(amounts)):
            fail(rule, f"totals.{field}", given, f"not the sum of the document {word}s",
                 f"sum of document {word}s = {show(xround2(_sum(amounts)))}")
    if totals.without_vat is not None and totals.line_net is not None:
        if totals.charges is None and totals.allowances is None and not cii:
            # CII always carries both sums (the mapping writes 0), so it always rounds.
            expected = totals.line_net
        else:
            expected = xround2(
                totals.line_net + (totals.charges or ZERO) - (totals.allowances or ZERO)
            )
        if totals.without_vat != expected:
            fail("BR-CO-13", "totals.without_vat", totals.without_vat,
                 "not line total - allowances + charges", f"total without VAT = {show(expected)}")
    two_in_currency = cii and invoice.tax_currency == invoice.currency and (
        totals.vat_in_accounting_currency is not None
    )
    if two_in_currency and totals.with_vat != totals.without_vat:
        # CII writes BT-110 and BT-111 as two TaxTotalAmount in the same currency, which
        # BR-CO-15 counts as "not exactly one".
        fail("BR-CO-15", "totals.vat_in_accounting_currency", totals.vat_in_accounting_currency,
             "two VAT totals in the invoice currency", "no VAT accounting currency, or another one")
    # BR-CO-14 judges every TaxTotalAmount in the invoice currency, BT-111 too.
    if two_in_currency and totals.vat_in_accounting_currency != xround2(
        _sum([v.tax_amount for v in breakdown if v.tax_amount is not None])
    ):
        fail("BR-CO-14", "totals.vat_in_accounting_currency", totals.vat_in_accounting_currency,
             "a VAT total in the invoice currency that is not the breakdown sum",
             "no VAT accounting currency, or another one")
    if totals.vat is not None and breakdown:
        expected = xround2(_sum([v.tax_amount for v in breakdown if v.tax_amount is not None]))
        if totals.vat != expected:
            fail("BR-CO-14", "totals.vat", totals.vat,
                 "not the sum of the VAT breakdown amounts", f"total VAT = {show(expected)}")
    if totals.with_vat is not None:
        if totals.vat is None:
            fail("BR-CO-15", "totals.vat", None, "the total VAT amount is missing",
                 "the invoice total VAT amount (BT-110)")
        elif totals.without_vat is None:
            fail("BR-CO-15", "totals.without_vat", None, "the total without VAT is missing",
                 "the invoice total amount without VAT (BT-109)")
        else:
            expected = xround2(totals.without_vat + totals.vat)
            # The CII artefact also accepts a grand total equal to the taxable total.
            if totals.with_vat != expected and not (cii and totals.with_vat == totals.without_vat):
                fail("BR-CO-15", "totals.with_vat", totals.with_vat,
                     "not total without VAT + total VAT", f"total with VAT = {show(expected)}")
    if totals.due is not None and totals.with_vat is not None:
        if cii:  # the CII artefact compares without rounding
            target = totals.with_vat - (totals.prepaid or ZERO)
            due = totals.due - (totals.rounding or ZERO)
        else:
            target = totals.with_vat if totals.prepaid is None else xround2(
                totals.with_vat - totals.prepaid
            )
            due = totals.due if totals.rounding is None else xround2(totals.due - totals.rounding)
        if due != target:
            fail("BR-CO-16", "totals.due", totals.due,
                 "not total with VAT - paid amount + rounding amount",
                 f"amount due = {show(target + (totals.rounding or ZERO))}")


def _co17(
    report: Report,
    path: str,
    tax: Decimal | None,
    taxable: Decimal | None,
    rate: Decimal | None,
    *,
    inclusive: bool = False,
) -> None:
    """BR-CO-17; the CII artefact accepts the bounds themselves (``<=``), UBL does not."""
    if tax is None:
        return
    if rate is None or xround(rate) == ZERO:
        if xround(tax) == ZERO:
            return
        expected = "0.00"
    else:
        if taxable is None:
            return
        product = xround2(abs(taxable) * (rate / HUNDRED))
        low, high = abs(tax) - ONE, abs(tax) + ONE
        if (low <= product <= high) if inclusive else (low < product < high):
            return
        expected = f"{show(product)} (+-1)"
    report.fail("BR-CO-17", f"{path}.tax_amount", tax,
                "the VAT amount does not match taxable amount x rate",
                f"VAT category tax amount = {expected}")
