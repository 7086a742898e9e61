"""Peppol BIS 3 national rules that bite by the seller's (and buyer's) country.

From PEPPOL-EN16931-UBL.xslt: DE-R-* (German parties, the XRechnung rules under Peppol ids),
NO-R-001, DK-R-*, IT-R-*, SE-R-*, NL-R-*, and GR-R-*, IS-R-* (:mod:`gateway.rules.peppol_gr_is`).
Not covered: the IT identifier-format warnings (PEPPOL-COMMON-R044..047).
"""

from __future__ import annotations

import re

from gateway.model import Invoice
from gateway.rules import checksums, german, peppol_gr_is
from gateway.rules.base import ZERO, Facts, Report, blank

DE_IDS = {
    "BR-DE-1": "DE-R-001", "BR-DE-2": "DE-R-002", "BR-DE-3": "DE-R-003", "BR-DE-4": "DE-R-004",
    "BR-DE-5": "DE-R-005", "BR-DE-6": "DE-R-006", "BR-DE-7": "DE-R-007", "BR-DE-8": "DE-R-008",
    "BR-DE-9": "DE-R-009", "BR-DE-10": "DE-R-010", "BR-DE-11": "DE-R-011",
    "BR-DE-14": "DE-R-014", "BR-DE-15": "DE-R-015", "BR-DE-16": "DE-R-016",
    "BR-DE-17": "DE-R-017", "BR-DE-18": "DE-R-018", "BR-DE-19": "DE-R-019",
    "BR-DE-20": "DE-R-020", "BR-DE-22": "DE-R-022", "BR-DE-23-a": "DE-R-023-1",
    "BR-DE-23-b": "DE-R-023-2", "BR-DE-24-a": "DE-R-024-1", "BR-DE-24-b": "DE-R-024-2",
    "BR-DE-25-a": "DE-R-025-1", "BR-DE-25-b": "DE-R-025-2", "BR-DE-26": "DE-R-026",
    "BR-DE-27": "DE-R-027", "BR-DE-28": "DE-R-028", "BR-DE-30": "DE-R-030",
    "BR-DE-31": "DE-R-031",
}
_NO_VAT = re.compile(r"^[0-9]{9}MVA$")
_DK_MEANS = frozenset({"1", "10", "31", "42", "48", "49", "50", "58", "59", "93", "97"})
_NL_MEANS = frozenset({"30", "48", "49", "57", "58", "59"})
_SE_RATES = frozenset({25, 12, 6})


def rules(invoice: Invoice, facts: Facts, report: Report) -> None:
    """The national rules for the seller's country on ``invoice``."""
    seller_country = facts.seller_country
    if facts.peppol_de_parties:
        german.rules(invoice, facts, report, DE_IDS)
    checker = _COUNTRY.get(seller_country)
    if checker is not None:
        checker(invoice, facts, report)
    if facts.peppol_supplier_country == "IT":
        _it(invoice, facts, report)
    peppol_gr_is.greece(invoice, facts, report)
    peppol_gr_is.iceland(invoice, facts, report)
    vat = invoice.seller.vat_id or ""
    no_ok = _NO_VAT.match(vat[2:]) and checksums.mod11(vat[2:11])
    if facts.peppol_supplier_country == "NO" and vat.startswith("NO") and not no_ok:
        report.fail("NO-R-001", "seller.vat_id", vat, "not a Norwegian VAT number",
                        "NO + 9-digit organisation number + MVA")


def _dk(invoice: Invoice, facts: Facts, report: Report) -> None:
    legal = invoice.seller.legal_registration
    if legal is None or blank(legal.value):
        report.fail("DK-R-002", "seller.legal_registration", legal,
                    "a Danish seller needs its legal registration id", "the CVR number (BT-30)")
    elif legal.scheme != "0184":
        report.fail("DK-R-014", "seller.legal_registration.scheme", legal.scheme,
                    "a Danish legal registration id must use scheme 0184", "0184")
    totals = invoice.totals
    if (invoice.is_credit_note and facts.buyer_country == "DK" and totals is not None
            and totals.due is not None and totals.due < ZERO):
        report.fail("DK-R-016", "totals.due", totals.due,
                    "a Danish credit note must not have a negative amount due", "an amount >= 0")
    if facts.buyer_country != "DK":
        return
    for kind, items in (("allowances", invoice.allowances), ("charges", invoice.charges)):
        for k, ac in enumerate(items):
            reason = (ac.reason or "").strip()
            coded = len(reason) == 4 and reason.isdigit()
            hashed = "#" in reason and not reason.startswith("#") and not reason.endswith("#")
            if ac.reason_code == "ZZZ" and not (coded or hashed):
                report.fail("DK-R-004", f"{kind}[{k}].reason", ac.reason,
                            "reason code ZZZ needs a 4-digit or '#'-structured reason text",
                            "e.g. 0001 or CODE#text")
    payment = invoice.payment
    if payment is not None and not invoice.is_credit_note and payment.means_code not in _DK_MEANS:
        report.fail("DK-R-005", "payment.means_code", payment.means_code,
                    "payment means not used in Denmark", ", ".join(sorted(_DK_MEANS, key=int)))
    if payment is not None and not invoice.is_credit_note:
        transfers = payment.credit_transfers
        if payment.means_code in ("31", "42") and not any(
            not blank(t.account_id) and not blank(t.provider_id) for t in transfers
        ):
            report.fail("DK-R-006", "payment.credit_transfers", transfers,
                        f"payment means {payment.means_code} needs the account and bank id",
                        "account id (BT-84) and bank identifier (BT-86)")
        debit = payment.direct_debit
        if payment.means_code == "49" and (
            debit is None or blank(debit.mandate_reference) or blank(debit.debited_account)
        ):
            report.fail("DK-R-007", "payment.direct_debit", debit,
                        "direct debit (49) needs the mandate reference and the debited account",
                        "mandate reference (BT-89) and debited account (BT-91)")
    buyer_legal = invoice.buyer.legal_registration
    if buyer_legal is not None and buyer_legal.scheme != "0184":
        report.fail("DK-R-017", "buyer.legal_registration.scheme", buyer_legal.scheme,
                    "a Danish legal registration id must use scheme 0184", "0184")
    for path, ident in [(f"seller.identifiers[{k}]", i)
                        for k, i in enumerate(invoice.seller.identifiers)] + (
            [("buyer.identifier", invoice.buyer.identifier)] if invoice.buyer.identifier else []):
        if blank(ident.scheme):
            report.fail("DK-R-013", f"{path}.scheme", ident.scheme,
                        "Danish party identifiers need a scheme", "an ICD scheme")


def _it(invoice: Invoice, facts: Facts, report: Report) -> None:
    address = invoice.seller.address
    for rule, field, what in (("IT-R-002", "line1", "street"), ("IT-R-003", "city", "city"),
                              ("IT-R-004", "post_code", "post code")):
        if getattr(address, field) is None:
            report.fail(rule, f"seller.address.{field}", None,
                        f"an Italian seller address needs the {what}", f"the {what}")
    tax_reg = invoice.seller.tax_registration_id
    if tax_reg is not None and not re.match(r"^[A-Z0-9]{11,16}$", tax_reg.strip()):
        report.fail("IT-R-001", "seller.tax_registration_id", tax_reg,
                    "not an Italian codice fiscale / partita IVA", "11 to 16 letters or digits")


def _se(invoice: Invoice, facts: Facts, report: Report) -> None:
    vat = invoice.seller.vat_id or ""
    if vat[:2] == "SE":
        if len(vat.strip()) != 14:
            report.fail("SE-R-001", "seller.vat_id", vat,
                        "a Swedish VAT number has 14 characters", "SE + 10 digits + 01")
        if not vat[2:14].isdigit():
            report.fail("SE-R-002", "seller.vat_id", vat,
                        "a Swedish VAT number is numeric after SE", "SE + 12 digits")
        for n, line in enumerate(invoice.lines):
            rate = line.vat_rate
            if line.vat_category == "S" and (rate is None or rate not in _SE_RATES):
                report.fail("SE-R-006", f"lines[{n}].vat_rate", line.vat_rate,
                            "not a Swedish standard VAT rate", "25, 12 or 6")
    legal = invoice.seller.legal_registration
    tax_reg = invoice.seller.tax_registration_id
    if legal is not None and tax_reg is not None and (
        " ".join(tax_reg.split()).upper() != "GODKÄND FÖR F-SKATT"
    ):
        report.fail("SE-R-005", "seller.tax_registration_id", tax_reg,
                    "a Swedish seller's tax registration states F-tax approval",
                    "Godkänd för F-skatt")
    if legal is not None:
        value = legal.value.strip()
        if not value.isdigit():
            report.fail("SE-R-003", "seller.legal_registration.value", value,
                        "a Swedish organisation number is numeric", "10 digits")
        if len(value) != 10:
            report.fail("SE-R-004", "seller.legal_registration.value", value,
                        "a Swedish organisation number has 10 digits", "10 digits")
        if not checksums.se_orgnr(value):
            report.fail("SE-R-013", "seller.legal_registration.value", value,
                        "the Swedish organisation number check digit is wrong",
                        "a valid organisation number")


def _nl(invoice: Invoice, facts: Facts, report: Report) -> None:
    both = facts.buyer_country == "NL"
    if invoice.is_credit_note and not invoice.preceding_invoices:
        report.fail("NL-R-001", "preceding_invoices", (),
                    "a Dutch credit note must name the invoice it corrects",
                    "the preceding invoice reference (BG-3)")
    for rule, prefix, address, applies in (
        ("NL-R-002", "seller.address", invoice.seller.address, True),
        ("NL-R-004", "buyer.address", invoice.buyer.address, both),
    ):
        missing = [f for f in ("line1", "city", "post_code") if blank(getattr(address, f))]
        if applies and missing:
            report.fail(rule, f"{prefix}.{missing[0]}", getattr(address, missing[0]),
                        "a Dutch address needs street, city and post code",
                        "street (line1), city and post code")
    for rule, path, legal, applies in (
        ("NL-R-003", "seller.legal_registration", invoice.seller.legal_registration, True),
        ("NL-R-005", "buyer.legal_registration", invoice.buyer.legal_registration, both),
    ):
        if applies and legal is not None and legal.scheme not in ("0106", "0190"):
            report.fail(rule, f"{path}.scheme", legal.scheme,
                        "a Dutch registration id must be KvK (0106) or OIN (0190)", "0106 or 0190")
    totals = invoice.totals
    due = totals.due if totals is not None else None
    if invoice.payment is None and due is not None and (
        (not invoice.is_credit_note and due > ZERO) or (invoice.is_credit_note and due < ZERO)
    ):
        report.fail("NL-R-007", "payment", None, "a Dutch invoice with an amount due needs "
                    "payment instructions", "payment means (BG-16)")
    if both and invoice.payment is not None and invoice.payment.means_code not in _NL_MEANS:
        report.fail("NL-R-008", "payment.means_code", invoice.payment.means_code,
                    "payment means not used in the Netherlands", "30, 48, 49, 57, 58 or 59")
    # A sales order reference alone is written with OrderReference/ID "NA" (see R003).
    if not (invoice.purchase_order_reference or invoice.sales_order_reference):
        for n, line in enumerate(invoice.lines):
            if line.order_line_reference is not None:
                report.fail("NL-R-009", f"lines[{n}].order_line_reference",
                            line.order_line_reference,
                            "an order line reference needs the purchase order reference",
                            "the purchase order reference (BT-13)")


# Keyed by the seller's address country (Peppol's DK/SE/NL variables); IT and NO use
# Peppol's $supplierCountry (VAT prefix first), see rules().
_COUNTRY = {"DK": _dk, "SE": _se, "NL": _nl}
