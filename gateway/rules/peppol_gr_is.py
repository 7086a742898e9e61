"""Peppol BIS 3 national rules of Greece (GR-R-*) and Iceland (IS-R-*), as in the UBL artefact.

Greece applies when Peppol's ``$supplierCountry`` (seller VAT prefix, else the tax
representative's, else the seller's country) is GR or EL: the invoice number is six ``|``
separated segments (issuer TIN, issue date DD/MM/YYYY, branch, document type, series, number),
TINs carry the Greek check digit, and the parties are named. Iceland applies when the seller's
address country is IS.
"""

from __future__ import annotations

import datetime as dt
import re
from decimal import Decimal, InvalidOperation

from gateway.model import Invoice
from gateway.rules.base import Facts, Report, blank

_GREEK_DOCUMENT_TYPES = frozenset({"1.1", "1.6", "2.1", "2.4", "5.1", "5.2"})
# Peppol's $dateRegExp, matched at the start like XPath matches() with '^'.
_GREEK_DATE = re.compile(
    r"^(0?[1-9]|[12][0-9]|3[01])[-\\/ ]?(0?[1-9]|1[0-2])[-\\/ ]?(19|20)[0-9]{2}"
)
_MARK = "##M.AR.K##"
_INVOICE_URL = "##INVOICE|URL##"
_EINDAGI = "EINDAGI"
_DIGITS = "0123456789"


def tin_ok(value: str) -> bool:
    """Peppol's u:TinVerification: the ninth digit is the Greek TIN check digit of the first 8."""
    if len(value) < 9 or any(c not in _DIGITS for c in value[:9]):
        return False
    checksum = sum(int(value[i]) << (8 - i) for i in range(8))
    return bool((checksum % 11) % 10 == int(value[8]))


def _country_of(vat_id: str | None, country: str) -> str:
    if vat_id and vat_id[:2]:
        return " ".join(vat_id[:2].split()).upper()
    return " ".join(country.split()).upper() or "XX"


def _segment(segments: list[str], n: int) -> str:
    return segments[n] if n < len(segments) else ""


def greece(invoice: Invoice, facts: Facts, report: Report) -> None:
    """GR-R-001..010 when the supplier is Greek."""
    fail = report.fail
    seller, buyer = invoice.seller, invoice.buyer
    # GR-R-009 reads $accountingSupplierCountry: seller VAT prefix, else address (no tax
    # representative), so it can apply where $supplierCountry is not Greek.
    endpoint = seller.electronic_address
    if _country_of(seller.vat_id, seller.address.country) in ("GR", "EL") and endpoint and not (
        endpoint.scheme == "9933" and tin_ok(endpoint.value)
    ):
        fail("GR-R-009", "seller.electronic_address", endpoint.value,
             "a Greek seller's endpoint is its TIN", "scheme 9933 with the 9-digit TIN")
    if facts.peppol_supplier_country not in ("GR", "EL"):
        return
    segments = invoice.number.split("|")
    number = invoice.number
    accepted = "TIN|DD/MM/YYYY|branch|type|series|number (Greek invoice number)"
    if len(segments) != 6:
        fail("GR-R-001-1", "number", number, "not six '|' separated segments", accepted)
    tin = _segment(segments, 0)
    own = {v[2:11] for v in (seller.vat_id,
                             invoice.tax_representative.vat_id if invoice.tax_representative
                             else None) if v}
    if not (len(" ".join(tin.split())) == 9 and tin_ok(tin) and tin in own):
        fail("GR-R-001-2", "number", number, "the first segment is not the seller's Greek TIN",
             "the 9-digit TIN of the seller VAT id (BT-31)")
    day = _segment(segments, 1)
    iso = invoice.issue_date.isoformat().split("-")
    parts = day.split("/")
    if not (day.strip() and _GREEK_DATE.match(day) and len(parts) >= 3
            and parts[:3] == [iso[2], iso[1], iso[0]]):
        fail("GR-R-001-3", "number", number, "the second segment is not the issue date",
             f"{iso[2]}/{iso[1]}/{iso[0]}")
    branch = _segment(segments, 2).strip()
    try:
        branch_ok = bool(branch) and Decimal(branch) >= 0 and Decimal(branch) % 1 == 0
    except InvalidOperation:
        branch_ok = False
    if not branch_ok:
        fail("GR-R-001-4", "number", number, "the third segment is not a branch number",
             "an integer >= 0")
    if _segment(segments, 3) not in _GREEK_DOCUMENT_TYPES:
        fail("GR-R-001-5", "number", number, "the fourth segment is not a Greek document type",
             ", ".join(sorted(_GREEK_DOCUMENT_TYPES)))
    if not _segment(segments, 4):
        fail("GR-R-001-6", "number", number, "the series (fifth segment) is empty", "a series")
    if not _segment(segments, 5):
        fail("GR-R-001-7", "number", number, "the number (sixth segment) is empty", "a number")
    if blank(seller.trading_name):
        fail("GR-R-002", "seller.trading_name", seller.trading_name,
             "a Greek seller needs a trading name",
             "the seller trading name (BT-28)")
    vat = seller.vat_id
    if vat and not (vat[:2] == "EL" and tin_ok(vat[2:])):
        fail("GR-R-003", "seller.vat_id", vat, "not a Greek VAT id", "EL + 9-digit TIN")
    greek_address = seller.address.country == "GR"
    descriptions = [d.description for d in invoice.supporting_documents]
    if greek_address and descriptions.count(_MARK) != 1:
        fail("GR-R-004-1", "supporting_documents", descriptions.count(_MARK),
             "not exactly one M.AR.K reference", f"one supporting document described {_MARK}")
    if greek_address and descriptions.count(_INVOICE_URL) > 1:
        fail("GR-R-008-2", "supporting_documents", descriptions.count(_INVOICE_URL),
             "more than one invoice URL", f"at most one document described {_INVOICE_URL}")
    for k, doc in enumerate(invoice.supporting_documents):
        if greek_address and doc.description == _MARK and doc.reference[:1] not in "123456789":
            fail("GR-R-004-2", f"supporting_documents[{k}].reference", doc.reference,
                 "not a M.AR.K number", "digits, not starting with 0")
        if doc.description == _INVOICE_URL and blank(doc.external_uri):
            fail("GR-R-008-3", f"supporting_documents[{k}].external_uri", doc.external_uri,
                 "the invoice URL is missing", "the external document location (BT-124)")
    if blank(buyer.trading_name):
        fail("GR-R-005", "buyer.trading_name", buyer.trading_name,
             "a Greek invoice names the buyer's trade",
             "the buyer trading name (BT-45)")
    if _country_of(buyer.vat_id, buyer.address.country) not in ("GR", "EL"):
        return
    bvat = buyer.vat_id
    if not (bvat and bvat[:2] == "EL" and tin_ok(bvat[2:])):
        fail("GR-R-006", "buyer.vat_id", bvat, "a Greek buyer needs its Greek VAT id",
             "EL + 9-digit TIN")
    bend = buyer.electronic_address
    if bend is not None and not (bend.scheme == "9933" and tin_ok(bend.value)):
        fail("GR-R-010", "buyer.electronic_address", bend.value,
             "a Greek buyer's endpoint is its TIN", "scheme 9933 with the 9-digit TIN")


def _account_ok(invoice: Invoice, code: str) -> bool:
    payment = invoice.payment
    if payment is None or payment.means_code != code:
        return True
    transfers = payment.credit_transfers
    return bool(transfers) and len(" ".join(transfers[0].account_id.split())) == 12


def _is_date(text: str) -> bool:
    try:
        dt.date.fromisoformat(text)
    except ValueError:
        return False
    return True


def iceland(invoice: Invoice, facts: Facts, report: Report) -> None:
    """IS-R-001..010 when the seller's address country is IS."""
    if invoice.seller.address.country != "IS":
        return
    fail = report.fail
    seller, buyer = invoice.seller, invoice.buyer
    if invoice.type_code not in ("380", "381"):
        fail("IS-R-001", "type_code", invoice.type_code, "an Icelandic invoice is 380 or 381",
             "380 or 381", "warning")
    legal = seller.legal_registration
    if legal is None or legal.scheme != "0196":
        fail("IS-R-002", "seller.legal_registration", legal.value if legal else None,
             "an Icelandic seller needs its kennitala", "a legal registration id, scheme 0196")
    if blank(seller.address.line1) or blank(seller.address.post_code):
        field = "line1" if blank(seller.address.line1) else "post_code"
        fail("IS-R-003", f"seller.address.{field}", getattr(seller.address, field),
             "street and post code are missing", "the seller street (BT-35) and post code (BT-38)")
    for code, rule in (("9", "IS-R-006"), ("42", "IS-R-007")):
        if not _account_ok(invoice, code):
            transfers = invoice.payment.credit_transfers if invoice.payment else ()
            path, value = ("payment.credit_transfers[0].account_id", transfers[0].account_id) if (
                transfers) else ("payment.credit_transfers", transfers)
            fail(rule, path, value,
                 f"payment means {code} needs a 12-character account", "a 12-character account")
    eindagi = [k for k, d in enumerate(invoice.supporting_documents) if d.description == _EINDAGI]
    if eindagi:
        reference = invoice.supporting_documents[eindagi[0]].reference
        if len(reference) != 10 or not _is_date(reference):
            fail("IS-R-008", f"supporting_documents[{eindagi[0]}].reference", reference,
                 "EINDAGI is not a date", "YYYY-MM-DD")
        # A CreditNote carries BT-9 in PaymentMeans, not as cbc:DueDate.
        due = None if invoice.is_credit_note else invoice.due_date
        if due is None:
            # Without cbc:DueDate both tests fail: IS-R-010 compares with an empty sequence.
            why = ("EINDAGI needs the payment due date" if invoice.due_date is None else
                   "EINDAGI needs the due date of an invoice; a credit note carries it in its "
                   "payment means")
            fail("IS-R-009", "due_date", invoice.due_date, why, "the payment due date (BT-9)")
            fail("IS-R-010", "due_date", invoice.due_date, why,
                 f"a due date on or before {reference}")
        elif not due.isoformat() <= reference:
            fail("IS-R-010", "due_date", due, "the due date is after EINDAGI",
                 f"a due date on or before {reference}")
    if buyer.address.country != "IS":
        return
    blegal = buyer.legal_registration
    if blegal is None or blegal.scheme != "0196":
        fail("IS-R-004", "buyer.legal_registration", blegal.value if blegal else None,
             "an Icelandic buyer needs its kennitala", "a legal registration id, scheme 0196")
    if blank(buyer.address.line1) or blank(buyer.address.post_code):
        field = "line1" if blank(buyer.address.line1) else "post_code"
        fail("IS-R-005", f"buyer.address.{field}", getattr(buyer.address, field),
             "street and post code are missing", "the buyer street (BT-50) and post code (BT-53)")
