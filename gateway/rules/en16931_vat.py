"""EN 16931 VAT category rules: BR-S, BR-Z, BR-E, BR-AE, BR-IC (K), BR-G, BR-O, BR-AF (L,
IGIC), BR-AG (M, IPSI) -01..-10 and BR-IC-11/12, BR-O-11..14, BR-B-01/02 (split payment).

Each family has the same ten assertions; a table row per category says which variant applies
(who must have a VAT id, what rate is allowed, whether the taxable amount is matched per rate
within +-1 or exactly, whether an exemption reason is required or forbidden).
"""

from __future__ import annotations

from collections.abc import Callable
from decimal import Decimal
from typing import NamedTuple

from gateway.display import show
from gateway.model import Invoice
from gateway.rules.base import HUNDRED, ONE, ZERO, Facts, Report, xround2


class Family(NamedTuple):
    """How one VAT category's BR-x-01..10 behave (taken from the CEN schematron)."""

    prefix: str
    name: str
    one_breakdown: bool  # -01: exactly one breakdown (else: at least one, and none when unused)
    parties: str  # -02..04: "any" (any seller tax id or tax rep), "vat", "ae", "k", "none"
    rate: str  # -05..07: "pos" (>0), "zero" (=0), "nonneg" (>=0), "absent"
    per_rate: bool  # -08/-09: taxable per rate within +-1 and tax = rate x taxable (+-1)
    exemption: str  # -10: "required" or "forbidden"


FAMILIES: dict[str, Family] = {
    "S": Family("BR-S", "Standard rated", False, "any", "pos", True, "forbidden"),
    "Z": Family("BR-Z", "Zero rated", True, "any", "zero", False, "forbidden"),
    "E": Family("BR-E", "Exempt from VAT", True, "any", "zero", False, "required"),
    "AE": Family("BR-AE", "Reverse charge", True, "ae", "zero", False, "required"),
    "K": Family("BR-IC", "Intra-community supply", True, "k", "zero", False, "required"),
    "G": Family("BR-G", "Export outside the EU", True, "vat", "zero", False, "required"),
    "O": Family("BR-O", "Not subject to VAT", True, "none", "absent", False, "required"),
    "L": Family("BR-AF", "IGIC (Canary Islands)", False, "any", "nonneg", True, "forbidden"),
    "M": Family("BR-AG", "IPSI (Ceuta and Melilla)", False, "any", "nonneg", True, "forbidden"),
}

_PARTY_TEXT = {
    "any": "the seller VAT id (BT-31), tax registration id (BT-32) or tax representative VAT id",
    "vat": "the seller VAT id (BT-31) or the tax representative VAT id (BT-63)",
    "ae": "the seller (or tax representative) VAT id and the buyer VAT id or legal registration",
    "k": "the seller (or tax representative) VAT id and the buyer VAT id (BT-48)",
    "none": "no seller, tax representative or buyer VAT id",
}


def _parties_ok(kind: str, facts: Facts) -> bool:
    if kind == "any":
        return facts.seller_any_tax_id or facts.trep_vat
    if kind == "vat":
        return facts.seller_vat or facts.trep_vat
    if kind == "ae":
        return (facts.seller_any_tax_id or facts.trep_vat) and (
            facts.buyer_vat or facts.buyer_legal
        )
    if kind == "k":
        return (facts.seller_vat or facts.trep_vat) and facts.buyer_vat
    return not (facts.seller_vat or facts.trep_vat or facts.buyer_vat)


def _party_term(invoice: Invoice, facts: Facts, kind: str) -> tuple[str, str | None]:
    """The party term that made BR-x-02..04 fail, and its value (what the rule tested).

    For "not subject to VAT" (O) it is the VAT id that is there; otherwise the one missing:
    the seller's when the seller side fails, else the buyer's.
    """
    seller, buyer, trep = invoice.seller, invoice.buyer, invoice.tax_representative
    if kind == "none":
        if facts.seller_vat:
            return "seller.vat_id", seller.vat_id
        if facts.trep_vat and trep is not None:
            return "tax_representative.vat_id", trep.vat_id
        return "buyer.vat_id", buyer.vat_id
    seller_ok = facts.trep_vat or (
        facts.seller_any_tax_id if kind in ("any", "ae") else facts.seller_vat
    )
    if seller_ok and kind in ("ae", "k"):
        return "buyer.vat_id", buyer.vat_id
    return "seller.vat_id", seller.vat_id


def _first_of(invoice: Invoice, kind: str, cat: str) -> str:
    """``line 2`` / ``allowances[0]``: the first line, allowance or charge of ``cat``, or ''."""
    if kind == "line":
        return next((f"line {line.id}" for line in invoice.lines if line.vat_category == cat), "")
    items = invoice.allowances if kind == "allowance" else invoice.charges
    return next((f"{kind}s[{k}]" for k, ac in enumerate(items) if ac.vat_category == cat), "")


_RATE_OK: dict[str, Callable[[Decimal | None], bool]] = {
    "pos": lambda r: r is not None and r > ZERO,
    "zero": lambda r: r is not None and r == ZERO,
    "nonneg": lambda r: r is not None and r >= ZERO,
    "absent": lambda r: r is None,
}
RATE_TEXT = {"pos": "a rate > 0", "zero": "rate 0", "nonneg": "a rate >= 0", "absent": "no rate"}


def rules(invoice: Invoice, facts: Facts, report: Report) -> None:
    """The per-category rules for every category used anywhere on ``invoice``."""
    used = facts.doc_cats | set(facts.breakdown_cats)
    for category in used:
        family = FAMILIES.get(category)
        if family is not None:
            _family(invoice, facts, report, category, family)
    if "O" in facts.breakdown_cats:
        _only_o(invoice, facts, report)
    if "K" in facts.breakdown_cats:
        _k_delivery(invoice, report, cii=facts.syntax == "cii")
    if "B" in used:
        _split_payment(invoice, facts, report)


def _family(invoice: Invoice, facts: Facts, report: Report, cat: str, fam: Family) -> None:
    fail = report.fail
    p = fam.prefix
    in_doc = cat in facts.doc_cats
    count = facts.breakdown_cats.count(cat)
    if facts.syntax == "cii":
        _cii_01(invoice, facts, report, cat, fam, count)
    elif fam.one_breakdown:
        # //cac:TaxCategory also sees the breakdown's own category.
        if count != 1:
            fail(f"{p}-01", "vat_breakdown", count,
                 f"{fam.name} ({cat}) is used, so exactly one VAT breakdown with it is needed",
                 f"one VAT breakdown with category {cat}")
    elif in_doc != (count > 0):
        fail(f"{p}-01", "vat_breakdown", count,
             f"{fam.name} ({cat}) lines/allowances/charges and VAT breakdowns must go together",
             f"a VAT breakdown with category {cat} exactly when it is used")
    if not _parties_ok(fam.parties, facts):
        path, value = _party_term(invoice, facts, fam.parties)
        for rule, where in (("02", "line"), ("03", "allowance"), ("04", "charge")):
            first = _first_of(invoice, where, cat)
            if first:
                fail(f"{p}-{rule}", path, value,
                     f"{first} has {fam.name} ({cat}), which needs {_PARTY_TEXT[fam.parties]}",
                     _PARTY_TEXT[fam.parties])
    # The CII artefact wants IGIC (L) rates > 0 where the UBL one accepts >= 0.
    rate_kind = "pos" if cat == "L" and facts.syntax == "cii" else fam.rate
    rate_ok = _RATE_OK[rate_kind]
    for n, line in enumerate(invoice.lines):
        if line.vat_category == cat and not rate_ok(line.vat_rate):
            fail(f"{p}-05", f"lines[{n}].vat_rate", line.vat_rate,
                 f"wrong VAT rate for {fam.name} ({cat})", RATE_TEXT[rate_kind])
    for rule, kind, items in (("06", "allowances", invoice.allowances),
                              ("07", "charges", invoice.charges)):
        for k, ac in enumerate(items):
            if ac.vat_category == cat and not rate_ok(ac.vat_rate):
                fail(f"{p}-{rule}", f"{kind}[{k}].vat_rate", ac.vat_rate,
                     f"wrong VAT rate for {fam.name} ({cat})", RATE_TEXT[rate_kind])
    for k, vat in enumerate(invoice.vat_breakdown):
        if vat.category == cat:
            _breakdown(invoice, report, cat, fam, k, cii=facts.syntax == "cii")


def _cii_01(  # noqa: PLR0917
    invoice: Invoice, facts: Facts, report: Report, cat: str, fam: Family, count: int
) -> None:
    """BR-x-01 as the CII artefact states it (it counts line taxes and breakdowns together)."""
    if cat == "O":  # BR-O-01 (CII) only looks at invoices that have an O breakdown
        ok = count == 0 or (count == 1 and cat in facts.doc_cats)
    elif fam.one_breakdown:
        ok = (count == 0 and cat not in facts.doc_cats) or (count == 1 and cat in facts.doc_cats)
    else:
        lines = sum(1 for line in invoice.lines if line.vat_category == cat)
        ac = sum(1 for a in invoice.allowances if a.vat_category == cat) + sum(
            1 for c in invoice.charges if c.vat_category == cat)
        ok = (lines + count >= 2 or lines == 0) and (ac + count >= 2 or ac == 0)
    if not ok:
        report.fail(f"{fam.prefix}-01", "vat_breakdown", count,
                    f"{fam.name} ({cat}) lines/allowances/charges and VAT breakdowns must go "
                    "together", f"a VAT breakdown with category {cat} exactly when it is used")


def _rounded_taxable(invoice: Invoice, cat: str, rate: Decimal | None, by_rate: bool) -> Decimal:
    """CII -08: the line, charge and allowance sums are each rounded to cents, then combined."""
    lines = charges = allowances = ZERO
    for line in invoice.lines:
        if line.vat_category == cat and (not by_rate or line.vat_rate == rate):
            lines += line.net_amount if line.net_amount is not None else ZERO
    for charge in invoice.charges:
        if charge.vat_category == cat and (not by_rate or charge.vat_rate == rate):
            charges += charge.amount
    for allowance in invoice.allowances:
        if allowance.vat_category == cat and (not by_rate or allowance.vat_rate == rate):
            allowances += allowance.amount
    return xround2(lines) + xround2(charges) - xround2(allowances)


def _cii_08(invoice: Invoice, report: Report, cat: str, fam: Family, k: int) -> None:
    """BR-x-08 as the CII artefact states it: exact for S, L, M and O, +-1 for the others."""
    vat = invoice.vat_breakdown[k]
    taxable = vat.taxable_amount
    if fam.per_rate and (vat.rate is None or cat != "S"):
        # "every $rate in ()"; for L and M the artefact reads the rate one level too high,
        # so BR-AF-08/BR-AG-08 never fire in CII.
        return
    expected = _rounded_taxable(invoice, cat, vat.rate, fam.per_rate)
    exact = fam.per_rate or cat == "O"
    ok = taxable is not None and (
        taxable == expected if exact else _within_one_double(taxable, expected)
    )
    if not ok:
        report.fail(f"{fam.prefix}-08", f"vat_breakdown[{k}].taxable_amount", taxable,
                    f"does not match the {cat} lines, allowances and charges",
                    f"taxable amount = {show(expected)}" + ("" if exact else " (+-1)"))


def _taxable(
    invoice: Invoice, cat: str, rate: Decimal | None, by_rate: bool
) -> tuple[Decimal, bool]:
    """Sum of line nets + charges - allowances of ``cat`` (and ``rate``); and whether any exist."""
    total = ZERO
    found = False
    for line in invoice.lines:
        if line.vat_category == cat and (not by_rate or line.vat_rate == rate):
            total += line.net_amount if line.net_amount is not None else ZERO
            found = True
    for charge in invoice.charges:
        if charge.vat_category == cat and (not by_rate or charge.vat_rate == rate):
            total += charge.amount
            found = True
    for allowance in invoice.allowances:
        if allowance.vat_category == cat and (not by_rate or allowance.vat_rate == rate):
            total -= allowance.amount
            found = True
    return total, found


def _standard_quirk(invoice: Invoice, rate: Decimal, taxable: Decimal | None) -> bool:
    """UBL BR-S-08's second branch, meant for credit notes, as it reads on any document.

    It is ``exists(S line or S document allowance/charge at the rate) and taxable = sum of the
    *other* document type's lines + charges - allowances (+-1)``: with a standard-rated
    document allowance or charge at the rate, a taxable amount equal to charges - allowances
    alone passes, whatever the lines say.
    """
    if taxable is None:
        return False
    charges = [c.amount for c in invoice.charges if c.vat_category == "S" and c.vat_rate == rate]
    allowances = [a.amount for a in invoice.allowances
                  if a.vat_category == "S" and a.vat_rate == rate]
    if not charges and not allowances:
        return False
    return _within_one(taxable, sum(charges, ZERO) - sum(allowances, ZERO))


def _breakdown(
    invoice: Invoice, report: Report, cat: str, fam: Family, k: int, *, cii: bool = False
) -> None:
    fail = report.fail
    if cii:
        _cii_08(invoice, report, cat, fam, k)
    p = fam.prefix
    vat = invoice.vat_breakdown[k]
    path = f"vat_breakdown[{k}]"
    taxable = vat.taxable_amount
    if fam.per_rate and cii and cat != "S":
        pass  # BR-AF-09/BR-AG-09 assert true() in the CII artefact
    elif fam.per_rate:
        if vat.rate is None:
            # "every $rate in ()" makes -08 pass; -09 multiplies by the missing rate and fails.
            fail(f"{p}-09", f"{path}.rate", None, f"{fam.name} ({cat}) needs a VAT rate",
                 "the VAT category rate (BT-119)")
        else:
            expected, found = _taxable(invoice, cat, vat.rate, True)
            ok = taxable is not None and _within_one(taxable, expected)
            if fam.prefix == "BR-S":
                ok = (ok and found) or _standard_quirk(invoice, vat.rate, taxable)
            if not ok and not cii:
                fail(f"{p}-08", f"{path}.taxable_amount", taxable,
                     f"does not match the {cat} {show(vat.rate)} % lines, allowances and charges",
                     f"taxable amount = {show(expected)} (+-1)")
            if vat.tax_amount is not None and taxable is not None:
                product = xround2(abs(taxable) * (vat.rate / HUNDRED))
                if not (abs(vat.tax_amount) - ONE < product < abs(vat.tax_amount) + ONE):
                    fail(f"{p}-09", f"{path}.tax_amount", vat.tax_amount,
                         f"not taxable amount x {show(vat.rate)} %",
                         f"tax amount = {show(product)} (+-1)")
    else:
        expected, _ = _taxable(invoice, cat, None, False)
        if taxable != expected and not cii:
            fail(f"{p}-08", f"{path}.taxable_amount", taxable,
                 f"not the sum of the {cat} lines + charges - allowances",
                 f"taxable amount = {show(expected)}")
        if vat.tax_amount is None or vat.tax_amount != ZERO:
            fail(f"{p}-09", f"{path}.tax_amount", vat.tax_amount,
                 f"{fam.name} ({cat}) carries no VAT", "0.00")
    has_reason = vat.exemption_reason is not None or vat.exemption_reason_code is not None
    if fam.exemption == "required" and not has_reason:
        fail(f"{p}-10", f"{path}.exemption_reason", None,
             f"{fam.name} ({cat}) needs an exemption reason", "a VATEX code or a reason text")
    elif fam.exemption == "forbidden" and has_reason:
        field = "exemption_reason_code" if vat.exemption_reason_code is not None else (
            "exemption_reason")
        fail(f"{p}-10", f"{path}.{field}", getattr(vat, field),
             f"{fam.name} ({cat}) takes no exemption reason", "no exemption reason")


def _within_one(taxable: Decimal, expected: Decimal) -> bool:
    """The -08 tolerance as the schematron computes it.

    ``cbc:TaxableAmount - 1`` subtracts from an untyped value, which XPath turns into an
    xs:double; the bounds are therefore the binary doubles, converted exactly to decimal.
    """
    value = float(taxable)
    return Decimal(value - 1.0) < expected < Decimal(value + 1.0)


def _within_one_double(taxable: Decimal, expected: Decimal) -> bool:
    """The CII -08 tolerance: ``ram:BasisAmount - 1`` is a double and the decimal sum it is
    compared with is promoted to double as well."""
    value, target = float(taxable), float(expected)
    return value - 1.0 < target < value + 1.0


def _only_o(invoice: Invoice, facts: Facts, report: Report) -> None:
    cii = facts.syntax == "cii"
    others = [c for c in facts.breakdown_cats if c != "O"]
    if cii:  # CII: no ApplicableTradeTax other than O anywhere, line taxes included
        others += [line.vat_category for line in invoice.lines if line.vat_category != "O"]
    if others:
        # CII states BR-O-12 with the same test as BR-O-11.
        for rule in ("BR-O-11", "BR-O-12") if cii else ("BR-O-11",):
            report.fail(rule, "vat_breakdown", others,
                        "with 'Not subject to VAT' (O) no other VAT category is allowed", "only O")
    for n, line in enumerate(invoice.lines):
        if line.vat_category != "O" and not cii:
            report.fail("BR-O-12", f"lines[{n}].vat_category", line.vat_category,
                        "with 'Not subject to VAT' (O) every line must be O", "O")
    for rule, kind, items in (("BR-O-13", "allowances", invoice.allowances),
                              ("BR-O-14", "charges", invoice.charges)):
        for k, ac in enumerate(items):
            if ac.vat_category != "O":
                # CII states BR-O-13 and BR-O-14 alike, over allowances and charges together.
                for reported in ("BR-O-13", "BR-O-14") if cii else (rule,):
                    report.fail(reported, f"{kind}[{k}].vat_category", ac.vat_category,
                                f"with 'Not subject to VAT' (O) every {kind[:-1]} must be O",
                                "O")


def _k_delivery(invoice: Invoice, report: Report, *, cii: bool = False) -> None:
    delivery = invoice.delivery
    period = invoice.invoice_period
    # UBL: any InvoicePeriod child counts, the BT-8 DescriptionCode too; CII: only the dates.
    has_period = (invoice.tax_point_date_code is not None and not cii) or (
        period is not None and (period.start is not None or period.end is not None)
    )
    if not ((delivery is not None and delivery.date is not None) or has_period):
        report.fail("BR-IC-11", "delivery.date", None,
                    "an intra-community supply needs the delivery date or invoicing period",
                    "an actual delivery date (BT-72) or an invoicing period (BG-14)")
    country = delivery.address.country if delivery and delivery.address else None
    if country is None or len(country) <= 1:
        report.fail("BR-IC-12", "delivery.address.country", country,
                    "an intra-community supply needs the deliver-to country",
                    "the deliver-to country code (BT-80)")


def _split_payment(invoice: Invoice, facts: Facts, report: Report) -> None:
    countries = [facts.seller_country, facts.buyer_country]
    for party in (invoice.tax_representative, invoice.delivery):
        if party is not None and party.address is not None:
            countries.append(party.address.country)
    countries += [line.item.origin_country for line in invoice.lines if line.item.origin_country]
    if any(c != "IT" for c in countries):
        report.fail("BR-B-01", "seller.address.country", facts.seller_country,
                    "split payment (B) is only for Italian domestic invoices",
                    "every country code IT")
    if "S" in facts.doc_cats or "S" in facts.breakdown_cats:
        report.fail("BR-B-02", "vat_breakdown", "S",
                    "split payment (B) and standard rated (S) cannot be mixed",
                    "either B or S")
