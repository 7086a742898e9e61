"""EN 16931 BR-CL-*: coded values must come from their official code lists.

The lists are the ones in the CEN schematron (loaded from ``schemas/codelists``). Codes are
compared exactly as the schematron does: case-sensitive after trimming, except BR-CL-22
(the artefact upper-cases VATEX codes). Where the CII and UBL bindings differ, the check follows
the syntax: BR-CL-01 (one list in CII), BR-CL-06 (UNTDID 2475 in CII), BR-CL-10 (no SEPA
scheme in CII); UBL-SR-29 (one SEPA creditor id) is UBL's.
"""

from __future__ import annotations

from collections.abc import Iterator

from gateway.model import Identifier, Invoice
from gateway.rules import codelists as cl
from gateway.rules.base import Facts, Report

_CREDIT_NOTE = frozenset({"81", "83", "381", "396", "532"})
# BT-8 in CII (UNTDID 2475), and how the CII mapping writes the model's UNTDID 2005 codes.
_UNTDID_2475 = frozenset({"5", "29", "72"})
TAX_POINT_CODE_TO_CII = {"3": "5", "35": "29", "432": "72"}


def _code(  # noqa: PLR0917 - one call per coded field, read like a table row
    report: Report, rule: str, path: str, value: str | None, allowed: frozenset[str], what: str
) -> None:
    if value is not None and (value not in allowed or " " in value):
        report.fail(rule, path, value, f"not a {what} code", f"a code from {what}")


def _party_ids(invoice: Invoice) -> Iterator[tuple[str, Identifier, bool]]:
    """(path, identifier, SEPA allowed) for every UBL PartyIdentification."""
    for k, ident in enumerate(invoice.seller.identifiers):
        yield f"seller.identifiers[{k}]", ident, True
    if invoice.buyer.identifier is not None:
        yield "buyer.identifier", invoice.buyer.identifier, False
    if invoice.payee is not None and invoice.payee.identifier is not None:
        yield "payee.identifier", invoice.payee.identifier, True


def _sepa_count(invoice: Invoice, report: Report) -> None:
    """UBL-SR-29: at most one SEPA creditor id among all PartyIdentification (any case).

    The UBL mapping writes BT-90 as a SEPA PartyIdentification of the payee, or of the seller
    when there is no payee, next to the identifiers the parties have.
    """
    schemes = [i.scheme for _, i, _ in _party_ids(invoice)]
    payment = invoice.payment
    debit = payment.direct_debit if payment is not None else None
    if debit is not None and debit.creditor_id:
        schemes.append("SEPA")
    if sum(1 for s in schemes if s is not None and s.upper() == "SEPA") > 1:
        report.fail("UBL-SR-29", "seller.identifiers", schemes,
                    "more than one SEPA creditor identifier (BT-90)",
                    "one bank assigned creditor identifier, as seller or payee identifier")


def rules(invoice: Invoice, facts: Facts, report: Report) -> None:
    """BR-CL-01, 03..08, 10, 11, 13..26 on ``invoice``."""
    fail = report.fail
    if facts.syntax == "cii":
        # CII has one TypeCode element and one list for invoices and credit notes (BR-CL-01).
        types = cl.UNTDID_1001_INVOICE | cl.UNTDID_1001_CREDIT
    elif invoice.type_code in _CREDIT_NOTE:
        types = cl.UNTDID_1001_CREDIT
    else:
        types = cl.UNTDID_1001_INVOICE
    _code(report, "BR-CL-01", "type_code", invoice.type_code, types, "UNTDID 1001 document type")
    if invoice.currency not in cl.ISO_4217:
        fail("BR-CL-03", "currency", invoice.currency, "amounts carry an unknown currency",
             "an ISO 4217 alpha-3 code, e.g. EUR")
        fail("BR-CL-04", "currency", invoice.currency, "not an ISO 4217 currency code",
             "an ISO 4217 alpha-3 code, e.g. EUR")
    if invoice.tax_currency is not None and invoice.tax_currency not in cl.ISO_4217:
        fail("BR-CL-05", "tax_currency", invoice.tax_currency, "not an ISO 4217 currency code",
             "an ISO 4217 alpha-3 code, e.g. EUR")
        if invoice.totals is not None and invoice.totals.vat_in_accounting_currency is not None:
            fail("BR-CL-03", "tax_currency", invoice.tax_currency,
                 "the VAT total in accounting currency carries an unknown currency",
                 "an ISO 4217 alpha-3 code")
    if facts.syntax == "cii":
        # The CII binding writes UNTDID 2475 (5, 29, 72): the model's 2005 codes are mapped
        # (3 -> 5, 35 -> 29, 432 -> 72), other codes are written as given.
        code = invoice.tax_point_date_code
        _code(report, "BR-CL-06", "tax_point_date_code",
              None if code is None else TAX_POINT_CODE_TO_CII.get(code, code),
              _UNTDID_2475, "UNTDID 2005 (3, 35, 432) or UNTDID 2475 (5, 29, 72)")
    else:
        _code(report, "BR-CL-06", "tax_point_date_code", invoice.tax_point_date_code,
              cl.UNTDID_2005, "UNTDID 2005 (3, 35, 432)")
    if invoice.invoiced_object is not None and invoice.invoiced_object.scheme is not None:
        _code(report, "BR-CL-07", "invoiced_object.scheme", invoice.invoiced_object.scheme,
              cl.UNTDID_1153, "UNTDID 1153")
    for k, note in enumerate(invoice.notes):
        # UBL writes a subject code as "#AAI#text"; the schematron reads the three characters
        # between the first two '#' of the note, whatever put them there.
        text = f"#{note.subject_code}#{note.text}" if note.subject_code else note.text
        if "#" in text:
            code = text.partition("#")[2]
            if "#" in code:
                code = code.partition("#")[0]
                if len(code) == 3 and code not in cl.UNTDID_4451:
                    path = f"notes[{k}].subject_code" if note.subject_code else f"notes[{k}].text"
                    fail("BR-CL-08", path, code, "not a UNTDID 4451 note subject code",
                         "a code from UNTDID 4451, e.g. AAI")
    # UBL lets a seller or payee PartyIdentification carry scheme SEPA; CII writes every
    # scheme-bearing party id as GlobalID, where only ISO 6523 ICD codes pass BR-CL-10.
    sepa_ok = facts.syntax != "cii"
    for path, ident, sepa in _party_ids(invoice):
        if ident.scheme is not None and not (sepa_ok and sepa and ident.scheme == "SEPA"):
            _code(report, "BR-CL-10", f"{path}.scheme", ident.scheme, cl.ICD, "ISO 6523 ICD")
    if facts.syntax == "ubl":
        _sepa_count(invoice, report)
    for path, legal in (
        ("seller.legal_registration", invoice.seller.legal_registration),
        ("buyer.legal_registration", invoice.buyer.legal_registration),
        ("payee.legal_registration", invoice.payee.legal_registration if invoice.payee else None),
    ):
        if legal is not None and legal.scheme is not None:
            _code(report, "BR-CL-11", f"{path}.scheme", legal.scheme, cl.ICD, "ISO 6523 ICD")
    for path, address in _addresses(invoice):
        _code(report, "BR-CL-14", f"{path}.country", address, cl.ISO_3166, "ISO 3166-1 country")
    if invoice.payment is not None:
        _code(report, "BR-CL-16", "payment.means_code", invoice.payment.means_code,
              cl.UNTDID_4461, "UNTDID 4461 payment means")
    for kind, items, reasons, rule, name in (
        ("allowances", invoice.allowances, cl.UNTDID_5189, "BR-CL-19", "UNTDID 5189"),
        ("charges", invoice.charges, cl.UNTDID_7161, "BR-CL-20", "UNTDID 7161"),
    ):
        for k, ac in enumerate(items):
            _code(report, "BR-CL-17", f"{kind}[{k}].vat_category", ac.vat_category,
                  cl.UNTDID_5305, "UNTDID 5305 VAT category")
            _code(report, rule, f"{kind}[{k}].reason_code", ac.reason_code, reasons, name)
    # CII states the breakdown category (ApplicableTradeTax) under BR-CL-18, UBL under BR-CL-17.
    breakdown_rule = "BR-CL-18" if facts.syntax == "cii" else "BR-CL-17"
    for k, vat in enumerate(invoice.vat_breakdown):
        _code(report, breakdown_rule, f"vat_breakdown[{k}].category", vat.category,
              cl.UNTDID_5305, "UNTDID 5305 VAT category")
        # The artefact compares upper-case(.): 'vatex-eu-ic' passes.
        reason = vat.exemption_reason_code
        if reason is not None and (reason.upper() not in cl.VATEX or " " in reason):
            report.fail("BR-CL-22", f"vat_breakdown[{k}].exemption_reason_code", reason,
                        "not a VATEX code (in any case)", "a code from VATEX")
    for n, line in enumerate(invoice.lines):
        p = f"lines[{n}]"
        _code(report, "BR-CL-18", f"{p}.vat_category", line.vat_category, cl.UNTDID_5305,
              "UNTDID 5305 VAT category")
        _code(report, "BR-CL-23", f"{p}.unit", line.unit, cl.REC_20, "UN/ECE Rec 20 unit")
        _code(report, "BR-CL-23", f"{p}.price.base_quantity_unit",
              line.price.base_quantity_unit, cl.REC_20, "UN/ECE Rec 20 unit")
        if line.object_id is not None and line.object_id.scheme is not None:
            _code(report, "BR-CL-07", f"{p}.object_id.scheme", line.object_id.scheme,
                  cl.UNTDID_1153, "UNTDID 1153")
        for k, a in enumerate(line.allowances):
            _code(report, "BR-CL-19", f"{p}.allowances[{k}].reason_code", a.reason_code,
                  cl.UNTDID_5189, "UNTDID 5189")
        for k, c in enumerate(line.charges):
            _code(report, "BR-CL-20", f"{p}.charges[{k}].reason_code", c.reason_code,
                  cl.UNTDID_7161, "UNTDID 7161")
        item = line.item
        for k, cls in enumerate(item.classifications):
            _code(report, "BR-CL-13", f"{p}.item.classifications[{k}].scheme", cls.scheme,
                  cl.UNTDID_7143, "UNTDID 7143")
        _code(report, "BR-CL-15", f"{p}.item.origin_country", item.origin_country, cl.ISO_3166,
              "ISO 3166-1 country")
        if item.standard_id is not None and item.standard_id.scheme is not None:
            _code(report, "BR-CL-21", f"{p}.item.standard_id.scheme", item.standard_id.scheme,
                  cl.ICD, "ISO 6523 ICD")
    for k, doc in enumerate(invoice.supporting_documents):
        if doc.attachment is not None and doc.attachment.mime_code not in cl.MIME:
            fail("BR-CL-24", f"supporting_documents[{k}].attachment.mime_code",
                 doc.attachment.mime_code, "attachment type not allowed",
                 "one of " + ", ".join(sorted(cl.MIME)))
    for path, ea in (("seller.electronic_address", invoice.seller.electronic_address),
                     ("buyer.electronic_address", invoice.buyer.electronic_address)):
        if ea is not None and ea.scheme is not None:
            _code(report, "BR-CL-25", f"{path}.scheme", ea.scheme, cl.EAS, "CEF EAS")
    delivery = invoice.delivery
    if delivery is not None and delivery.location is not None and delivery.location.scheme:
        _code(report, "BR-CL-26", "delivery.location.scheme", delivery.location.scheme, cl.ICD,
              "ISO 6523 ICD")


def _addresses(invoice: Invoice) -> Iterator[tuple[str, str | None]]:
    yield "seller.address", invoice.seller.address.country
    yield "buyer.address", invoice.buyer.address.country
    if invoice.tax_representative is not None:
        yield "tax_representative.address", invoice.tax_representative.address.country
    if invoice.delivery is not None and invoice.delivery.address is not None:
        yield "delivery.address", invoice.delivery.address.country
