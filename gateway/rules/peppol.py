"""Peppol BIS Billing 3.0 rules (PEPPOL-EN16931-* and PEPPOL-COMMON-*) judged on the model.

Written from PEPPOL-EN16931-UBL.xslt (2026.5). Rules about the XML itself (R001/R004/R007
profile and customization ids, R008 empty elements, R043/R044 charge indicators, R051 currency
attributes, R053 TaxTotal count, R080/R100/R101 document reference counts, F001 date lexical
form) are the mapping's job and are left to the official validation of the rendered document.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from decimal import Decimal
from functools import lru_cache

from gateway.display import show
from gateway.model import Identifier, Invoice
from gateway.rules import checksums
from gateway.rules import codelists as cl
from gateway.rules.base import HUNDRED, ONE, ZERO, Facts, Report, xround2

SLACK = Decimal("0.02")
# BT-23 values the Peppol artefact maps to profile '01'/'02'; anything else is 'Unknown' (R007).
PROFILES = {
    "urn:fdc:peppol.eu:2017:poacc:billing:01:1.0": "01",
    "urn:peppol:france:billing:regulated": "01",
    "urn:peppol:france:billing:non-regulated": "01",
    "urn:peppol:bis:billing_with_response": "02",
}
DEFAULT_PROFILE = "01"  # the Peppol mapping writes billing:01:1.0 when BT-23 is not given
_TYPES_326_384 = frozenset({"326", "384"})
_VATEX_CATEGORY = {
    "VATEX-EU-G": ("PEPPOL-EN16931-P0104", "G"),
    "VATEX-EU-O": ("PEPPOL-EN16931-P0105", "O"),
    "VATEX-EU-IC": ("PEPPOL-EN16931-P0106", "K"),
    "VATEX-EU-AE": ("PEPPOL-EN16931-P0107", "AE"),
    "VATEX-EU-D": ("PEPPOL-EN16931-P0108", "E"),
    "VATEX-EU-F": ("PEPPOL-EN16931-P0109", "E"),
    "VATEX-EU-I": ("PEPPOL-EN16931-P0110", "E"),
    "VATEX-EU-J": ("PEPPOL-EN16931-P0111", "E"),
}


def _re(pattern: str) -> Callable[[str], bool]:
    compiled = re.compile(pattern)
    return lambda v: compiled.match(v) is not None


# scheme -> (rule, flag, test) for EndpointID, PartyIdentification and PartyLegalEntity ids.
SCHEME_CHECKS: dict[str, tuple[str, str, Callable[[str], bool]]] = {
    "0088": ("PEPPOL-COMMON-R040", "fatal", checksums.gln),
    "0192": ("PEPPOL-COMMON-R041", "fatal",
             lambda v: len(v) == 9 and v.isdigit() and checksums.mod11(v)),
    "0184": ("PEPPOL-COMMON-R042", "fatal", lambda v: (
        len(v) == 10 and v[:2] == "DK" and v[2:].isdigit()) or (len(v) == 8 and v.isdigit())),
    "0096": ("PEPPOL-COMMON-R052", "fatal", lambda v: len(v) == 10 and v.isdigit()),
    "0198": ("PEPPOL-COMMON-R053", "fatal",
             lambda v: len(v) == 10 and v[:2] == "DK" and v[2:].isdigit()),
    "0208": ("PEPPOL-COMMON-R043", "fatal",
             lambda v: len(v) == 10 and v.isdigit() and checksums.mod97_0208(v)),
    "0007": ("PEPPOL-COMMON-R049", "fatal",
             lambda v: len(v) == 10 and v.isdigit() and checksums.se_orgnr(v)),
    "0151": ("PEPPOL-COMMON-R050", "fatal", checksums.abn),
    "0106": ("PEPPOL-COMMON-R054", "warning", _re(r"^[0-9]{8}$")),
    "0190": ("PEPPOL-COMMON-R055", "warning", _re(r"^[0-9]{20}$")),
    "9944": ("PEPPOL-COMMON-R056-1", "warning", _re(r"^NL[0-9]{9}B[0-9]{2}$")),
    "0217": ("PEPPOL-COMMON-R057", "warning", _re(r"^[0-9]{12}$")),
}
@lru_cache(maxsize=4096)
def _identifier_ok(scheme: str, value: str) -> bool:
    """The scheme's check (cached: the same parties recur on every invoice of a supplier)."""
    return SCHEME_CHECKS[scheme][2](value)


_NL_VAT = re.compile(r"^NL[0-9]{9}B[0-9]{2}$")


def _identifiers(invoice: Invoice) -> Iterator[tuple[str, Identifier]]:
    seller, buyer, payee = invoice.seller, invoice.buyer, invoice.payee
    if seller.electronic_address is not None:
        yield "seller.electronic_address", seller.electronic_address
    if buyer.electronic_address is not None:
        yield "buyer.electronic_address", buyer.electronic_address
    for k, ident in enumerate(seller.identifiers):
        yield f"seller.identifiers[{k}]", ident
    if seller.legal_registration is not None:
        yield "seller.legal_registration", seller.legal_registration
    if buyer.identifier is not None:
        yield "buyer.identifier", buyer.identifier
    if buyer.legal_registration is not None:
        yield "buyer.legal_registration", buyer.legal_registration
    if payee is not None:
        if payee.identifier is not None:
            yield "payee.identifier", payee.identifier
        if payee.legal_registration is not None:
            yield "payee.legal_registration", payee.legal_registration


def rules(invoice: Invoice, facts: Facts, report: Report) -> None:
    """The PEPPOL-EN16931-R/P/CL and PEPPOL-COMMON rules on ``invoice``."""
    fail = report.fail
    both_de = facts.peppol_de_parties
    process = invoice.business_process
    profile = DEFAULT_PROFILE if not process else PROFILES.get(" ".join(process.split()))
    if profile is None:
        fail("PEPPOL-EN16931-R007", "business_process", process,
             "not a Peppol BIS Billing process identifier",
             "urn:fdc:peppol.eu:2017:poacc:billing:01:1.0 (or leave it out)")
    if len(invoice.notes) > 1 and not both_de:
        fail("PEPPOL-EN16931-R002", "notes", len(invoice.notes), "more than one invoice note",
             "at most one note (several only between German parties)")
    # A sales order reference alone is written with OrderReference/ID "NA", which R003 accepts.
    if not (invoice.buyer_reference or invoice.purchase_order_reference
            or invoice.sales_order_reference):
        fail("PEPPOL-EN16931-R003", "buyer_reference", invoice.buyer_reference,
             "neither buyer reference nor purchase order reference is given",
             "a buyer reference (BT-10) or a purchase order reference (BT-13)")
    if invoice.tax_currency is not None:
        if invoice.tax_currency == invoice.currency:
            fail("PEPPOL-EN16931-R005", "tax_currency", invoice.tax_currency,
                 "the VAT accounting currency equals the invoice currency",
                 "leave it out, or a different currency")
        totals = invoice.totals
        acc = totals.vat_in_accounting_currency if totals else None
        vat = totals.vat if totals else None
        if invoice.tax_currency == invoice.currency:
            # The mappings write the second TaxTotal (BT-111) only for a different currency, so
            # R054 fails; both sign tests of R055 then read BT-110 and pass.
            fail("PEPPOL-EN16931-R054", "tax_currency", invoice.tax_currency,
                 "the VAT accounting currency equals the invoice currency",
                 "leave it out, or a different currency with its VAT total (BT-111)")
        elif acc is None:
            fail("PEPPOL-EN16931-R054", "totals.vat_in_accounting_currency", None,
                 "the VAT total in the accounting currency is missing", "the amount (BT-111)")
            # R055 compares that (absent) amount's sign, so it fails as well.
            fail("PEPPOL-EN16931-R055", "totals.vat_in_accounting_currency", None,
                 "the VAT total in the accounting currency is missing",
                 "an amount with the sign of the invoice total VAT amount")
        elif vat is not None and _signs_differ(acc, vat, facts.syntax):
            fail("PEPPOL-EN16931-R055", "totals.vat_in_accounting_currency", acc,
                 "the two VAT totals have different signs",
                 f"an amount with the sign of {show(vat)}")
    if invoice.buyer.electronic_address is None:
        fail("PEPPOL-EN16931-R010", "buyer.electronic_address", None,
             "the buyer electronic address is missing", "an endpoint id with an EAS scheme")
    if invoice.seller.electronic_address is None:
        fail("PEPPOL-EN16931-R020", "seller.electronic_address", None,
             "the seller electronic address is missing", "an endpoint id with an EAS scheme")

    # R040..R042 judge document and line allowances/charges of invoices and credit notes alike.
    groups: list[tuple[str, tuple[object, ...], bool]] = [
        ("allowances", invoice.allowances, True), ("charges", invoice.charges, True)]
    for n, line in enumerate(invoice.lines):
        groups.append((f"lines[{n}].allowances", line.allowances, True))
        groups.append((f"lines[{n}].charges", line.charges, True))
    for prefix, items, base_rules in groups:
        for k, ac in enumerate(items):
            amount: Decimal = ac.amount  # type: ignore[attr-defined]
            base: Decimal | None = ac.base_amount  # type: ignore[attr-defined]
            pct: Decimal | None = ac.percentage  # type: ignore[attr-defined]
            p = f"{prefix}[{k}]"
            if pct is not None and base is not None:
                expected = base * pct / HUNDRED
                if not (amount + SLACK >= expected and amount - SLACK <= expected):
                    fail("PEPPOL-EN16931-R040", f"{p}.amount", amount,
                         "not base amount x percentage",
                         f"amount = {show(xround2(expected))} (+-0.02)")
            elif base_rules and pct is not None:
                fail("PEPPOL-EN16931-R041", f"{p}.base_amount", base,
                     "a percentage is given without the base amount", "the base amount too")
            elif base_rules and base is not None:
                fail("PEPPOL-EN16931-R042", f"{p}.percentage", pct,
                     "a base amount is given without the percentage", "the percentage too")

    payment = invoice.payment
    if payment is not None and payment.means_code in ("49", "59") and (
        payment.direct_debit is None or not payment.direct_debit.mandate_reference
    ):
        fail("PEPPOL-EN16931-R061", "payment.direct_debit.mandate_reference",
             payment.direct_debit.mandate_reference if payment.direct_debit else None,
             "direct debit without a mandate reference", "the mandate reference (BT-89)")

    period = invoice.invoice_period
    for n, line in enumerate(invoice.lines):
        p = f"lines[{n}]"
        if period is not None and line.period is not None:
            if period.start and line.period.start and line.period.start < period.start:
                fail("PEPPOL-EN16931-R110", f"{p}.period.start", line.period.start,
                     "the line period starts before the invoicing period",
                     f"a start date >= {period.start}")
            if period.end and line.period.end and line.period.end > period.end:
                fail("PEPPOL-EN16931-R111", f"{p}.period.end", line.period.end,
                     "the line period ends after the invoicing period",
                     f"an end date <= {period.end}")
        price = line.price
        base_q = price.base_quantity
        if base_q is not None and base_q <= ZERO:
            fail("PEPPOL-EN16931-R121", f"{p}.price.base_quantity", base_q,
                 "the price base quantity is not positive", "a base quantity > 0")
        divisor = base_q if base_q is not None and base_q != ZERO else ONE
        charges = xround2(sum((c.amount for c in line.charges), ZERO)) if line.charges else ZERO
        allowances = (xround2(sum((a.amount for a in line.allowances), ZERO))
                      if line.allowances else ZERO)
        net = line.net_amount if line.net_amount is not None else ZERO
        expected = line.quantity * (price.net / divisor) + charges - allowances
        if not (net + SLACK >= expected and net - SLACK <= expected):
            fail("PEPPOL-EN16931-R120", f"{p}.net_amount", line.net_amount,
                 "not quantity x price / base quantity + charges - allowances",
                 f"line net amount = {show(xround2(expected))} (+-0.02)")
        # The UBL mapping writes a missing discount as gross - net, which satisfies R046; CII
        # writes only the discount given.
        if price.gross is not None and (price.discount is not None or facts.syntax == "cii") and (
            price.net != price.gross - (price.discount or ZERO)
        ):
            fail("PEPPOL-EN16931-R046", f"{p}.price.net", price.net,
                 "the net price is not gross price - price discount",
                 f"net price = {show(price.gross - (price.discount or ZERO))}")
        if price.base_quantity_unit is not None and price.base_quantity_unit != line.unit:
            fail("PEPPOL-EN16931-R130", f"{p}.price.base_quantity_unit",
                 price.base_quantity_unit, "the base quantity unit differs from the line unit",
                 f"unit {line.unit}")

    for path, ident in _identifiers(invoice):
        if ident.scheme is None:
            continue
        checker = SCHEME_CHECKS.get(ident.scheme)
        if checker is not None and not _identifier_ok(ident.scheme, ident.value.strip()):
            rule, flag, _ = checker
            fail(rule, f"{path}.value", ident.value,
                 f"not a valid identifier for scheme {ident.scheme}",
                 f"a well-formed {ident.scheme} identifier with a correct check digit", flag)
    for path, vat_id in (("seller.vat_id", invoice.seller.vat_id),
                         ("buyer.vat_id", invoice.buyer.vat_id)):
        if vat_id and vat_id.startswith("NL") and not _NL_VAT.match(vat_id):
            fail("PEPPOL-COMMON-R056-2", path, vat_id, "not a Dutch VAT number",
                 "NL + 9 digits + B + 2 digits", "warning")

    _codes(invoice, report, both_de, profile is not None)


def _codes(invoice: Invoice, report: Report, both_de: bool, known_profile: bool) -> None:
    fail = report.fail
    for k, doc in enumerate(invoice.supporting_documents):
        if doc.attachment is not None and doc.attachment.mime_code not in cl.PEPPOL_MIME:
            fail("PEPPOL-EN16931-CL001", f"supporting_documents[{k}].attachment.mime_code",
                 doc.attachment.mime_code, "attachment type not allowed in Peppol",
                 ", ".join(sorted(cl.PEPPOL_MIME)))
    reasons: list[tuple[str, str | None, frozenset[str], str]] = []
    reasons += [(f"allowances[{k}]", a.reason_code, cl.PEPPOL_UNTDID_5189,
                 "PEPPOL-EN16931-CL002") for k, a in enumerate(invoice.allowances)]
    reasons += [(f"charges[{k}]", c.reason_code, cl.PEPPOL_UNTDID_7161,
                 "PEPPOL-EN16931-CL003") for k, c in enumerate(invoice.charges)]
    for n, line in enumerate(invoice.lines):
        reasons += [(f"lines[{n}].allowances[{k}]", a.reason_code, cl.PEPPOL_UNTDID_5189,
                     "PEPPOL-EN16931-CL002") for k, a in enumerate(line.allowances)]
        reasons += [(f"lines[{n}].charges[{k}]", c.reason_code, cl.PEPPOL_UNTDID_7161,
                     "PEPPOL-EN16931-CL003") for k, c in enumerate(line.charges)]
    for path, code, allowed, rule in reasons:
        if code is not None and code not in allowed:
            fail(rule, f"{path}.reason_code", code, "not an allowed reason code",
                 "a code from " + ("UNTDID 5189" if rule.endswith("2") else "UNTDID 7161"))
    code = invoice.tax_point_date_code
    if code is not None and code not in cl.PEPPOL_UNTDID_2005:
        fail("PEPPOL-EN16931-CL006", "tax_point_date_code", code, "not a UNTDID 2005 code",
             "3, 35 or 432")
    if invoice.currency not in cl.PEPPOL_ISO_4217:
        fail("PEPPOL-EN16931-CL007", "currency", invoice.currency,
             "amounts carry an unknown currency", "an ISO 4217 alpha-3 code")
    tax_cur = invoice.tax_currency
    acc = invoice.totals.vat_in_accounting_currency if invoice.totals else None
    # BT-111 is written with currencyID = BT-6 when the currencies differ.
    if (tax_cur is not None and tax_cur != invoice.currency and acc is not None
            and tax_cur not in cl.PEPPOL_ISO_4217):
        fail("PEPPOL-EN16931-CL007", "tax_currency", tax_cur,
             "the VAT total in accounting currency carries an unknown currency",
             "an ISO 4217 alpha-3 code")
    for path, ea in (("seller.electronic_address", invoice.seller.electronic_address),
                     ("buyer.electronic_address", invoice.buyer.electronic_address)):
        if ea is not None and ea.scheme is not None and ea.scheme not in cl.PEPPOL_EAS:
            fail("PEPPOL-EN16931-CL008", f"{path}.scheme", ea.scheme,
                 "not a Peppol electronic address scheme", "a code from the Peppol EAS list")
    type_code = invoice.type_code
    # P0101 (credit note types) cannot fail on the model: a type code is written as a UBL
    # CreditNote exactly when it is in CREDIT_NOTE_TYPE_CODES, which is Peppol's list.
    if known_profile and not invoice.is_credit_note and type_code not in cl.PEPPOL_INVOICE_TYPES:
        fail("PEPPOL-EN16931-P0100", "type_code", type_code, "not a Peppol invoice type",
             ", ".join(sorted(cl.PEPPOL_INVOICE_TYPES, key=int)))
    if not invoice.is_credit_note and type_code in _TYPES_326_384 and not both_de:
        fail("PEPPOL-EN16931-P0112", "type_code", type_code,
             "types 326 and 384 are only allowed between German parties", "e.g. 380")
    for k, vat in enumerate(invoice.vat_breakdown):
        if vat.exemption_reason_code is None:
            continue
        expected = _VATEX_CATEGORY.get(vat.exemption_reason_code.upper())
        if expected is not None and vat.category != expected[1]:
            fail(expected[0], f"vat_breakdown[{k}].category", vat.category,
                 f"exemption reason {vat.exemption_reason_code} belongs to another category",
                 f"category {expected[1]}")


def _signs_differ(acc: Decimal, vat: Decimal, syntax: str) -> bool:
    """PEPPOL-EN16931-R055 as each artefact states it.

    UBL: both <= 0 or both >= 0 (zero goes with either sign). XRechnung CII: both < 0 or both
    >= 0 (zero is non-negative: BT-111 negative with BT-110 zero fails).
    """
    if syntax == "cii":
        return (acc < ZERO) != (vat < ZERO)
    return acc < ZERO < vat or vat < ZERO < acc
