"""The German CIUS rules, shared by XRechnung (BR-DE-n) and Peppol (DE-R-0nn, German parties).

Both official artefacts (XRechnung-UBL-validation.xslt 2.5.0 and PEPPOL-EN16931-UBL.xslt)
state the same assertions under two id schemes; ``ids`` maps the XRechnung id to the one
to report.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from functools import lru_cache

from gateway.model import Invoice
from gateway.rules.base import Facts, Report, blank

SKONTO = re.compile(
    r"(^|\r?\n)#(SKONTO)#TAGE=([0-9]+#PROZENT=[0-9]+\.[0-9]{2})(#BASISBETRAG=-?[0-9]+\.[0-9]{2})?#\Z"
)
_SKONTO_SPLIT = re.compile(r"#.+#")
_SKONTO_TAIL = re.compile(r"^\s*\n")
EMAIL = re.compile(r"^[^@\s]+@([^@.\s]+\.)+[^@.\s]+\Z")
TELEPHONE = re.compile(r".*([0-9].*){3,}.*")
IBAN = re.compile(r"^[A-Z]{2}[0-9]{2}[a-zA-Z0-9]{0,30}\Z")
SUPPORTED_TYPES = frozenset({"326", "380", "384", "389", "381", "875", "876", "877"})
SUPPORTED_VAT = frozenset({"S", "Z", "E", "AE", "K", "G", "L", "M"})


@lru_cache(maxsize=1024)
def iban_ok(value: str) -> bool:
    """The XRechnung IBAN test (BR-DE-19/20): shape and ISO 7064 mod 97 = 1."""
    text = re.sub(r"\s", "", value)
    if not IBAN.match(text):
        return False
    moved = text[4:] + text[:2].upper() + text[2:4]
    digits = "".join(str(ord(c) - 55) if ord(c) > 64 else str(ord(c) - 48) for c in moved)
    return int(digits) % 97 == 1


def _skonto_ok(terms: str) -> bool:
    lines = [line for line in re.split(r"\r?\n", terms) if line.strip().startswith("#")]
    if not lines:
        return True
    tail = _SKONTO_SPLIT.split(terms)[-1]
    return all(SKONTO.search(" ".join(line.split())) for line in lines) and bool(
        _SKONTO_TAIL.match(tail)
    )


def rules(invoice: Invoice, facts: Facts, report: Report, ids: Mapping[str, str]) -> None:
    """The German rules; ``ids`` maps ``BR-DE-n`` to the reported rule id (absent: skip)."""

    def fail(  # noqa: PLR0917 - same signature as Report.fail
        rule: str, path: str, value: object, message: str, accepted: str,
             flag: str = "fatal") -> None:
        reported = ids.get(rule)
        if reported is not None:
            report.fail(reported, path, value, message, accepted, flag)

    payment = invoice.payment
    if payment is None:
        fail("BR-DE-1", "payment", None, "payment instructions are missing",
             "payment instructions (BG-16) with a payment means code")
    if blank(invoice.buyer_reference):
        fail("BR-DE-15", "buyer_reference", invoice.buyer_reference,
             "the buyer reference (Leitweg-ID) is missing", "the buyer reference (BT-10)")
    # The CII artefact compares the allowance's whole CategoryTradeTax text with 'VAT', so only
    # line categories count there.
    used = facts.line_cats if facts.syntax == "cii" else facts.doc_cats
    if (used & SUPPORTED_VAT) and not (
        invoice.tax_representative is not None or facts.seller_any_tax_id
    ):
        fail("BR-DE-16", "seller.vat_id", invoice.seller.vat_id,
             "VAT is charged or declared, but the seller has no tax identifier",
             "seller VAT id (BT-31), tax registration id (BT-32) or a tax representative")
    if invoice.type_code not in SUPPORTED_TYPES:
        fail("BR-DE-17", "type_code", invoice.type_code, "type code not used in Germany",
             ", ".join(sorted(SUPPORTED_TYPES)), "warning")
    if invoice.payment_terms and not _skonto_ok(invoice.payment_terms):
        fail("BR-DE-18", "payment_terms", invoice.payment_terms,
             "malformed Skonto line in the payment terms",
             "#SKONTO#TAGE=n#PROZENT=n.nn#[BASISBETRAG=n.nn#] on its own line, ending in a newline")
    names = [d.attachment.filename for d in invoice.supporting_documents if d.attachment]
    if len(names) != len(set(names)):
        fail("BR-DE-22", "supporting_documents", names, "attachment file names repeat",
             "a different file name for every attachment")
    if invoice.type_code == "384" and not invoice.preceding_invoices:
        fail("BR-DE-26", "preceding_invoices", (), "a corrected invoice names no preceding invoice",
             "the preceding invoice reference (BG-3)", "warning")
    debit = payment.direct_debit if payment is not None else None
    mandate = _mandate_written(invoice, facts)
    if mandate:
        creditor = debit.creditor_id if debit is not None else None
        debited = debit.debited_account if debit is not None else None
        if not _creditor_written(invoice, facts):
            fail("BR-DE-30", "payment.direct_debit.creditor_id", creditor,
                 "direct debit without the creditor identifier" if blank(creditor) else
                 "the creditor identifier is written only with the mandate reference (BT-89) "
                 "or the debited account (BT-91)",
                 "the bank assigned creditor identifier (BT-90)")
        if not _debited_written(invoice, facts):
            fail("BR-DE-31", "payment.direct_debit.debited_account", debited,
                 "direct debit without the debited account" if blank(debited) else
                 "the debited account is written only with the mandate reference (BT-89) "
                 "or the creditor identifier (BT-90)",
                 "the debited account IBAN (BT-91)")

    seller = invoice.seller
    if seller.contact is None:
        fail("BR-DE-2", "seller.contact", None, "the seller contact is missing",
             "a seller contact with name, telephone and e-mail")
    else:
        contact = seller.contact
        for rule, field, what in (("BR-DE-5", "name", "name"), ("BR-DE-6", "phone", "telephone"),
                                  ("BR-DE-7", "email", "e-mail")):
            if blank(getattr(contact, field)):
                fail(rule, f"seller.contact.{field}", getattr(contact, field),
                     f"the seller contact {what} is missing", f"a {what}")
        if not TELEPHONE.match(" ".join((contact.phone or "").split())):
            fail("BR-DE-27", "seller.contact.phone", contact.phone,
                 "the telephone number has fewer than three digits", "a telephone number",
                 "warning")
        if not EMAIL.match(" ".join((contact.email or "").split())):
            fail("BR-DE-28", "seller.contact.email", contact.email, "not an e-mail address",
                 "name@domain.tld", "warning")
    for prefix, address, city_rule, zip_rule in (
        ("seller.address", seller.address, "BR-DE-3", "BR-DE-4"),
        ("buyer.address", invoice.buyer.address, "BR-DE-8", "BR-DE-9"),
        ("delivery.address", invoice.delivery.address if invoice.delivery else None,
         "BR-DE-10", "BR-DE-11"),
    ):
        if address is None:
            continue
        if blank(address.city):
            fail(city_rule, f"{prefix}.city", address.city, "the city is missing", "a city")
        if blank(address.post_code):
            fail(zip_rule, f"{prefix}.post_code", address.post_code, "the post code is missing",
                 "a post code")
    if payment is not None:
        code = payment.means_code
        transfers, card = payment.credit_transfers, payment.card
        if code in ("30", "58"):
            if not transfers:
                fail("BR-DE-23-a", "payment.credit_transfers", (),
                     "credit transfer without an account", "a credit transfer (BG-17)")
            if card is not None or mandate:
                fail("BR-DE-23-b", "payment", code,
                     "credit transfer with card or direct debit data", "only BG-17")
            if code == "58":
                for k, t in enumerate(transfers):
                    if not iban_ok(t.account_id):
                        fail("BR-DE-19", f"payment.credit_transfers[{k}].account_id",
                             t.account_id, "not a valid IBAN", "an IBAN", "warning")
        elif code in ("48", "54", "55"):
            if card is None:
                fail("BR-DE-24-a", "payment.card", None, "card payment without card data",
                     "payment card information (BG-18)")
            if transfers or mandate:
                fail("BR-DE-24-b", "payment", code,
                     "card payment with credit transfer or direct debit data", "only BG-18")
        elif code == "59":
            if not mandate:
                fail("BR-DE-25-a", "payment.direct_debit", debit,
                     "direct debit without mandate data", "direct debit (BG-19)")
            if transfers or card is not None:
                fail("BR-DE-25-b", "payment", code,
                     "direct debit with credit transfer or card data", "only BG-19")
            if debit is not None and not iban_ok(debit.debited_account or ""):
                fail("BR-DE-20", "payment.direct_debit.debited_account", debit.debited_account,
                     "not a valid IBAN", "an IBAN", "warning")
    for k, vat in enumerate(invoice.vat_breakdown):
        if vat.rate is None:
            fail("BR-DE-14", f"vat_breakdown[{k}].rate", None, "the VAT rate is missing",
                 "a rate, 0 for categories without VAT")


def _mandate_written(invoice: Invoice, facts: Facts) -> bool:
    """Whether the document carries the direct debit group the BR-DE-25-a/30/31 tests look for.

    UBL: a PaymentMandate, which the mapping writes for a mandate reference (BT-89) or a
    debited account (BT-91). CII: any of BT-89, BT-90 (CreditorReferenceID), BT-91.
    """
    payment = invoice.payment
    debit = payment.direct_debit if payment is not None else None
    if debit is None:
        return False
    if facts.syntax == "cii":
        return not (blank(debit.mandate_reference) and blank(debit.creditor_id)
                    and blank(debit.debited_account))
    return not (blank(debit.mandate_reference) and blank(debit.debited_account))


def _creditor_written(invoice: Invoice, facts: Facts) -> bool:
    """BR-DE-30's creditor id: UBL a SEPA PartyIdentification of seller or payee (the mapping
    writes BT-90 there); CII the CreditorReferenceID together with BT-89 or BT-91."""
    payment = invoice.payment
    debit = payment.direct_debit if payment is not None else None
    creditor = debit is not None and not blank(debit.creditor_id)
    if facts.syntax == "cii":
        assert debit is not None
        return creditor and not (blank(debit.mandate_reference) and blank(debit.debited_account))
    payee = invoice.payee
    return creditor or any(i.scheme == "SEPA" for i in invoice.seller.identifiers) or (
        payee is not None and payee.identifier is not None and payee.identifier.scheme == "SEPA")


def _debited_written(invoice: Invoice, facts: Facts) -> bool:
    """BR-DE-31's debited account (BT-91); in CII together with BT-89 or BT-90."""
    payment = invoice.payment
    debit = payment.direct_debit if payment is not None else None
    if debit is None or blank(debit.debited_account):
        return False
    if facts.syntax == "cii":
        return not (blank(debit.mandate_reference) and blank(debit.creditor_id))
    return True
