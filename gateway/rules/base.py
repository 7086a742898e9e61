"""What every rule module shares: the problem collector and XPath-faithful arithmetic.

Rules are plain functions ``rules(invoice, facts, report) -> None`` that read the model and
call :meth:`Report.fail` for each failed assertion. Nothing is allocated while an invoice
passes; :class:`Facts` holds the few values several rules need, computed once per check.
"""

from __future__ import annotations

from collections.abc import Callable
from decimal import ROUND_FLOOR, Decimal

from gateway.errors import Problem
from gateway.model import Invoice, bt_of

ZERO = Decimal(0)
ONE = Decimal(1)
HALF = Decimal("0.5")
HUNDRED = Decimal(100)
CENT = Decimal("0.01")


class Report:
    """Collects the problems of one invoice under one record label."""

    __slots__ = ("problems", "record")

    def __init__(self, record: str) -> None:
        self.record = record
        self.problems: list[Problem] = []

    def fail(  # noqa: PLR0917 - the fields of Problem, in its order
        self,
        rule: str,
        path: str,
        value: object,
        message: str,
        accepted: str = "",
        flag: str = "fatal",
    ) -> None:
        """Record that ``rule`` failed at model field ``path`` (e.g. ``lines[2].price.net``)."""
        self.problems.append(
            Problem(self.record, path, bt_of(path), value, rule, message, accepted, flag)
        )


def xround2(value: Decimal) -> Decimal:
    """XPath ``round(x * 10 * 10) div 100``: to cents, halves towards positive infinity."""
    return ((value * HUNDRED + HALF).to_integral_value(rounding=ROUND_FLOOR) / HUNDRED).quantize(
        CENT
    )


def xround(value: Decimal) -> Decimal:
    """XPath ``round(x)``: to an integer, halves towards positive infinity."""
    return (value + HALF).to_integral_value(rounding=ROUND_FLOOR)


def too_precise(value: Decimal | None) -> bool:
    """True when the rendered amount has more than two decimals (BR-DEC-*).

    Mappings write amounts with :func:`mappings.xmltext.num` (``format(value, "f")``), which keeps
    the exponent of the Decimal, so the number of decimals is ``-exponent``.
    """
    if value is None or value.same_quantum(CENT) or value.same_quantum(ONE):
        return False  # the usual cases, without allocating a tuple
    exponent = value.as_tuple().exponent
    return isinstance(exponent, int) and exponent < -2


def blank(text: str | None) -> bool:
    """XPath ``normalize-space(x) = ''``."""
    return text is None or not text.strip()


RuleFunction = Callable[[Invoice, "Facts", Report], None]

# In the CII artefact the family rules on ApplicableTradeTax[CategoryCode='L'|'M'|'O'] come
# before the generic rule on ApplicableTradeTax in the same pattern and shadow it (one rule per
# node): BR-45..48, BR-CO-03, BR-CO-17 and BR-DEC-19/20 are never tested on such breakdowns.
CII_SHADOWED = frozenset({"L", "M", "O"})


def generic_breakdown_rule(facts: Facts, category: str) -> bool:
    """Whether the generic VAT breakdown rules judge a breakdown of ``category``."""
    return facts.syntax != "cii" or category not in CII_SHADOWED


class Facts:
    """Values several rules need, computed once per checked invoice."""

    __slots__ = (
        "allowance_cats",
        "breakdown_cats",
        "buyer_country",
        "buyer_legal",
        "buyer_vat",
        "charge_cats",
        "doc_cats",
        "line_cats",
        "peppol_de_parties",
        "peppol_supplier_country",
        "seller_any_tax_id",
        "seller_country",
        "seller_vat",
        "syntax",
        "trep_vat",
    )

    def __init__(self, invoice: Invoice, syntax: str = "ubl") -> None:
        self.syntax = syntax
        seller = invoice.seller
        buyer = invoice.buyer
        trep = invoice.tax_representative
        self.line_cats = {line.vat_category for line in invoice.lines}
        self.allowance_cats = {a.vat_category for a in invoice.allowances}
        self.charge_cats = {c.vat_category for c in invoice.charges}
        self.breakdown_cats = [v.category for v in invoice.vat_breakdown]
        self.doc_cats = self.line_cats | self.allowance_cats | self.charge_cats
        self.seller_vat = not blank(seller.vat_id)
        # UBL PartyTaxScheme/CompanyID without the VAT filter: BT-31 or BT-32.
        self.seller_any_tax_id = self.seller_vat or not blank(seller.tax_registration_id)
        self.trep_vat = trep is not None and not blank(trep.vat_id)
        self.buyer_vat = not blank(buyer.vat_id)
        self.buyer_legal = buyer.legal_registration is not None
        self.seller_country = seller.address.country if seller.address is not None else ""
        self.buyer_country = buyer.address.country if buyer.address is not None else ""
        self.seller_country = self.seller_country or ""
        self.buyer_country = self.buyer_country or ""
        # Peppol's $supplierCountryIsDE and $customerCountryIsDE read the address countries
        # upper-cased ('de' is Germany there, though BR-CL-14 rejects it).
        self.peppol_de_parties = (
            self.seller_country.strip().upper() == "DE"
            and self.buyer_country.strip().upper() == "DE"
        )
        # Peppol's $supplierCountry: seller VAT prefix, else tax representative's, else address.
        if seller.vat_id and seller.vat_id[:2].strip():
            self.peppol_supplier_country = seller.vat_id[:2].upper()
        elif trep is not None and trep.vat_id and trep.vat_id[:2].strip():
            self.peppol_supplier_country = trep.vat_id[:2].upper()
        else:
            self.peppol_supplier_country = self.seller_country.upper()
