"""EN 16931 BR-02 .. BR-65: presence and simple consistency of business terms.

Semantics follow the CEN compiled schematron (EN16931-UBL-validation.xslt 1.3.16). BR-01
(specification identifier BT-24) is not judged here: the mapping writes it on render.
"""

from __future__ import annotations

from gateway.model import Address, Invoice
from gateway.rules.base import ZERO, Facts, Report, blank, generic_breakdown_rule

_CREDIT_TRANSFER_MEANS = frozenset({"30", "58"})


def _address(
    report: Report, address: Address | None, path: str, rule_missing: str, rule_country: str
) -> None:
    if address is None:
        if rule_missing:
            report.fail(rule_missing, path, None, "the postal address is missing",
                        "an address with at least a country code")
        return
    if blank(address.country):
        report.fail(rule_country, f"{path}.country", address.country,
                    "the country code is missing", "an ISO 3166-1 alpha-2 code")


def rules(invoice: Invoice, facts: Facts, report: Report) -> None:
    """BR-02..BR-65 on ``invoice`` (see the module docstring)."""
    fail = report.fail
    if blank(invoice.number):
        fail("BR-02", "number", invoice.number, "the invoice number is missing", "a non-empty id")
    if invoice.issue_date is None:
        fail("BR-03", "issue_date", None, "the issue date is missing", "a date")
    if blank(invoice.type_code):
        fail("BR-04", "type_code", invoice.type_code, "the type code is missing", "e.g. 380")
    if blank(invoice.currency):
        fail("BR-05", "currency", invoice.currency, "the currency is missing", "e.g. EUR")
    seller, buyer = invoice.seller, invoice.buyer
    if blank(seller.name):
        fail("BR-06", "seller.name", seller.name, "the seller name is missing", "a name")
    if blank(buyer.name):
        fail("BR-07", "buyer.name", buyer.name, "the buyer name is missing", "a name")
    _address(report, seller.address, "seller.address", "BR-08", "BR-09")
    _address(report, buyer.address, "buyer.address", "BR-10", "BR-11")
    totals = invoice.totals
    for rule, field, name in (
        ("BR-12", "line_net", "sum of line net amounts"),
        ("BR-13", "without_vat", "total without VAT"),
        ("BR-14", "with_vat", "total with VAT"),
        ("BR-15", "due", "amount due for payment"),
    ):
        if totals is None or getattr(totals, field) is None:
            fail(rule, f"totals.{field}", None, f"the {name} is missing",
                 "run gateway.totals.complete or give the amount")
    if not invoice.lines:
        fail("BR-16", "lines", (), "the invoice has no lines", "at least one line")

    if invoice.payee is not None:
        _payee(invoice, facts, report)
    trep = invoice.tax_representative
    if trep is not None:
        if blank(trep.name):
            fail("BR-18", "tax_representative.name", trep.name,
                 "the tax representative name is missing", "a name")
        _address(report, trep.address, "tax_representative.address", "BR-19", "BR-20")
        if blank(trep.vat_id):
            fail("BR-56", "tax_representative.vat_id", trep.vat_id,
                 "the tax representative VAT identifier is missing", "a VAT id")

    for n, line in enumerate(invoice.lines):
        p = f"lines[{n}]"
        if blank(line.id):
            fail("BR-21", f"{p}.id", line.id, "the line id is missing", "a non-empty id")
        if line.quantity is None:
            fail("BR-22", f"{p}.quantity", None, "the invoiced quantity is missing", "a number")
        if blank(line.unit):
            fail("BR-23", f"{p}.unit", line.unit, "the unit of measure is missing", "e.g. C62")
        if line.net_amount is None:
            fail("BR-24", f"{p}.net_amount", None, "the line net amount is missing",
                 "run gateway.totals.complete or give the amount")
        item = line.item
        if item is None or blank(item.name):
            fail("BR-25", f"{p}.item.name", None if item is None else item.name,
                 "the item name is missing", "a name")
        price = line.price
        if price is None or price.net is None:
            fail("BR-26", f"{p}.price.net", None, "the item net price is missing", "a price")
        elif price.net < ZERO:
            fail("BR-27", f"{p}.price.net", price.net, "the item net price is negative",
                 "a price >= 0 (use a credit note or a negative quantity)")
        if price is not None and price.gross is not None and price.gross < ZERO:
            fail("BR-28", f"{p}.price.gross", price.gross, "the item gross price is negative",
                 "a gross price >= 0")
        if blank(line.vat_category):
            fail("BR-CO-04", f"{p}.vat_category", line.vat_category,
                 "the line has no VAT category", "a UNTDID 5305 code, e.g. S")
        period = line.period
        if period is not None:
            if period.start is not None and period.end is not None and period.end < period.start:
                fail("BR-30", f"{p}.period.end", period.end,
                     "the line period ends before it starts", f"an end date >= {period.start}")
            if period.start is None and period.end is None:
                fail("BR-CO-20", f"{p}.period", period, "the line period has no date",
                     "a start date, an end date or both")
        for k, allowance in enumerate(line.allowances):
            q = f"{p}.allowances[{k}]"
            if allowance.amount is None:
                fail("BR-41", f"{q}.amount", None, "the line allowance amount is missing",
                     "an amount")
            if blank(allowance.reason) and blank(allowance.reason_code):
                for rule in ("BR-42", "BR-CO-23"):
                    fail(rule, f"{q}.reason", allowance.reason, "the line allowance has no reason",
                         "a reason text or a UNTDID 5189 reason code")
        for k, charge in enumerate(line.charges):
            q = f"{p}.charges[{k}]"
            if charge.amount is None:
                fail("BR-43", f"{q}.amount", None, "the line charge amount is missing",
                     "an amount")
            if blank(charge.reason) and blank(charge.reason_code):
                for rule in ("BR-44", "BR-CO-24"):
                    fail(rule, f"{q}.reason", charge.reason, "the line charge has no reason",
                         "a reason text or a UNTDID 7161 reason code")
        for k, attribute in enumerate(item.attributes if item is not None else ()):
            if blank(attribute.name) or attribute.value is None:
                fail("BR-54", f"{p}.item.attributes[{k}]", attribute.name,
                     "an item attribute needs a name and a value", "name and value")
        if item is not None:
            if item.standard_id is not None and blank(item.standard_id.scheme):
                fail("BR-64", f"{p}.item.standard_id.scheme", item.standard_id.scheme,
                     "the item standard identifier has no scheme", "an ICD scheme, e.g. 0160")
                if facts.syntax == "cii":  # the GlobalID without schemeID, as CII states it
                    fail("CII-SR-046", f"{p}.item.standard_id.scheme",
                         item.standard_id.scheme,
                         "the item standard identifier has no scheme", "an ICD scheme, e.g. 0160")
            for k, cls in enumerate(item.classifications):
                if blank(cls.scheme):
                    fail("BR-65", f"{p}.item.classifications[{k}].scheme", cls.scheme,
                         "the item classification has no scheme", "a UNTDID 7143 code")

    period = invoice.invoice_period
    if period is not None:
        if period.start is not None and period.end is not None and period.end < period.start:
            fail("BR-29", "invoice_period.end", period.end,
                 "the invoicing period ends before it starts", f"an end date >= {period.start}")
        if period.start is None and period.end is None and invoice.tax_point_date_code is None:
            fail("BR-CO-19", "invoice_period", period, "the invoicing period has no date",
                 "a start date, an end date or both")

    for kind, items, r_amount, r_cat, r_reason, r_co in (
        ("allowance", invoice.allowances, "BR-31", "BR-32", "BR-33", "BR-CO-21"),
        ("charge", invoice.charges, "BR-36", "BR-37", "BR-38", "BR-CO-22"),
    ):
        for k, ac in enumerate(items):
            p = f"{kind}s[{k}]"
            if ac.amount is None:
                fail(r_amount, f"{p}.amount", None, f"the document {kind} amount is missing",
                     "an amount")
            if blank(ac.vat_category):
                fail(r_cat, f"{p}.vat_category", ac.vat_category,
                     f"the document {kind} has no VAT category", "a UNTDID 5305 code")
            if blank(ac.reason) and blank(ac.reason_code):
                for rule in (r_reason, r_co):
                    fail(rule, f"{p}.reason", ac.reason, f"the document {kind} has no reason",
                         "a reason text or a reason code")

    for k, vat in enumerate(invoice.vat_breakdown):
        p = f"vat_breakdown[{k}]"
        if not generic_breakdown_rule(facts, vat.category):
            continue
        if vat.taxable_amount is None:
            fail("BR-45", f"{p}.taxable_amount", None, "the VAT taxable amount is missing",
                 "an amount (gateway.totals.complete computes it)")
        if vat.tax_amount is None:
            fail("BR-46", f"{p}.tax_amount", None, "the VAT amount is missing",
                 "an amount (gateway.totals.complete computes it)")
        if blank(vat.category):
            fail("BR-47", f"{p}.category", vat.category, "the VAT category is missing",
                 "a UNTDID 5305 code")
        if vat.rate is None and vat.category != "O":
            fail("BR-48", f"{p}.rate", None, "the VAT rate is missing",
                 "a rate (0 for Z, E, AE, K, G)")

    payment = invoice.payment
    if payment is not None:
        if blank(payment.means_code):
            fail("BR-49", "payment.means_code", payment.means_code,
                 "the payment means code is missing", "a UNTDID 4461 code")
        if payment.means_code in _CREDIT_TRANSFER_MEANS:
            for k, transfer in enumerate(payment.credit_transfers):
                if blank(transfer.account_id):
                    fail("BR-50", f"payment.credit_transfers[{k}].account_id",
                         transfer.account_id, "the payment account id is missing",
                         "an IBAN or account number")
            if not payment.credit_transfers:
                # The CII artefact states this check as CII-SR-470 (its BR-61 needs an account).
                rule = "CII-SR-470" if facts.syntax == "cii" else "BR-61"
                fail(rule, "payment.credit_transfers", (),
                     f"payment means {payment.means_code} (credit transfer) needs an account",
                     "a credit transfer with the payee's account id")
        card = payment.card
        if card is not None and len(card.pan_last_digits.strip()) > 10:
            fail("BR-51", "payment.card.pan_last_digits", card.pan_last_digits,
                 "more of the card number than allowed", "at most the last 10 digits",
                 flag="warning")

    for k, doc in enumerate(invoice.supporting_documents):
        if blank(doc.reference):
            fail("BR-52", f"supporting_documents[{k}].reference", doc.reference,
                 "the supporting document reference is missing", "a reference")
    # BR-53 looks for any TaxAmount in the VAT accounting currency: when it equals the invoice
    # currency, BT-110 is one.
    # In CII, BR-53 also forbids a VAT accounting currency equal to the invoice currency.
    same = invoice.tax_currency == invoice.currency
    acc = totals.vat_in_accounting_currency if totals is not None else None
    if invoice.tax_currency is not None and same and facts.syntax == "cii":
        fail("BR-53", "tax_currency", invoice.tax_currency,
             "the VAT accounting currency is the invoice currency (BT-5)",
             "no VAT accounting currency, or another one with its VAT total (BT-111)")
    elif invoice.tax_currency is not None and not same and acc is None:
        fail("BR-53", "totals.vat_in_accounting_currency", acc,
             f"VAT accounting currency {invoice.tax_currency} given without the VAT total in it",
             "the invoice total VAT amount in the accounting currency (BT-111)")
    for k, preceding in enumerate(invoice.preceding_invoices):
        if blank(preceding.number):
            fail("BR-55", f"preceding_invoices[{k}].number", preceding.number,
                 "the preceding invoice reference is missing", "an invoice number")
    delivery = invoice.delivery
    if delivery is not None and delivery.address is not None and blank(delivery.address.country):
        fail("BR-57", "delivery.address.country", delivery.address.country,
             "the deliver-to country code is missing", "an ISO 3166-1 alpha-2 code")
    if seller.electronic_address is not None and blank(seller.electronic_address.scheme):
        fail("BR-62", "seller.electronic_address.scheme", seller.electronic_address.scheme,
             "the seller electronic address has no scheme", "an EAS code, e.g. 0088 or EM")
    if buyer.electronic_address is not None and blank(buyer.electronic_address.scheme):
        fail("BR-63", "buyer.electronic_address.scheme", buyer.electronic_address.scheme,
             "the buyer electronic address has no scheme", "an EAS code, e.g. 0088 or EM")


def _payee(invoice: Invoice, facts: Facts, report: Report) -> None:
    """BR-17 and UBL-SR-19/20/21: a payee (BG-10) is named and is not the seller.

    The artefacts compare different elements per syntax. UBL: BR-17 compares the payee name
    with the seller's PartyName (trading name, BT-28) and the payee PartyIdentification (with
    the SEPA creditor id the mapping adds there) with the seller's; UBL-SR-19/20/21 compare the
    payee name with the seller's RegistrationName (BT-27). CII: BR-17 compares the payee name
    with the seller name (BT-27), ids without scheme (ram:ID) and the legal registration ids.
    """
    payee, seller = invoice.payee, invoice.seller
    assert payee is not None
    fail = report.fail
    message = "the payee must have a name and differ from the seller"
    accepted = "a payee other than the seller (name, identifiers), or no payee"
    if facts.syntax == "cii":
        plain = {i.value for i in seller.identifiers if i.scheme is None}
        same_id = (payee.identifier is not None and payee.identifier.scheme is None
                   and payee.identifier.value in plain)
        legal = seller.legal_registration
        same_legal = (payee.legal_registration is not None and legal is not None
                      and payee.legal_registration.value == legal.value)
        if blank(payee.name) or payee.name == seller.name or same_id or same_legal:
            fail("BR-17", "payee.name", payee.name, message, accepted)
        return
    same_name = not blank(seller.trading_name) and payee.name == seller.trading_name
    payee_ids = {payee.identifier.value} if payee.identifier is not None else set()
    payment = invoice.payment
    debit = payment.direct_debit if payment is not None else None
    if debit is not None and debit.creditor_id:
        payee_ids.add(debit.creditor_id)
    same_id = any(i.value in payee_ids for i in seller.identifiers)
    if blank(payee.name) or same_name or same_id:
        fail("BR-17", "payee.name", payee.name, message, accepted)
    if payee.name == seller.name:
        for rule in ("UBL-SR-19", "UBL-SR-20", "UBL-SR-21"):
            fail(rule, "payee.name", payee.name, "the payee has the seller's name (BT-27)",
                 "a payee other than the seller, or no payee")
