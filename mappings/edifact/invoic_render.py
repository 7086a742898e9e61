"""Invoice -> INVOIC D.96A EAN008 message body (UNH..UNT) as pydifact segments.

Segment order follows the D.96A INVOIC branching diagram: header (BGM, DTM, PAI, FTX, SG1 RFF,
SG2 NAD, SG7 CUX, SG8 PAT, SG15 ALC), detail (SG25 LIN...), summary (UNS, CNT, SG48 MOA,
SG50 TAX). Values longer than a data element allows are split over its repeated components
(names over C080 3036 x 5, texts over C108 4440 x 5) where the directory offers them; anything
else that does not fit is reported as a Problem naming the field.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterator
from decimal import Decimal

from pydifact.segments import Segment

from gateway.errors import InvoiceRejected, Problem
from gateway.model import Invoice
from gateway.model.base import Address, Contact, Identifier
from gateway.model.invoice import AllowanceCharge
from gateway.model.lines import InvoiceLine, LineAllowanceCharge
from mappings.edifact import codelists as cl
from mappings.edifact import codes as c
from mappings.edifact.charset import DEFAULT_CHARSET, Charset
from mappings.edifact.syntax import segment
from mappings.xmltext import day102, num


class _Fit:
    """Collects values that do not fit their data element or the interchange's character
    repertoire, to reject the invoice once; writes codes as EANCOM spells them."""

    def __init__(self, invoice: Invoice, charset: Charset) -> None:
        self.record = invoice.number
        self.problems: list[Problem] = []
        self.charset = charset
        self.read_as = {t.path: t.detail for t in invoice.provenance if t.source == "code-list"}

    def code(self, value: str, path: str, write: Callable[[str], str] = str) -> str:
        """An EN 16931 code as EANCOM writes it: the code the invoice was read with (its
        provenance) when it was translated from one, else ``write(value)``."""
        detail = self.read_as.get(path)
        if detail is not None:
            original = cl.original(detail, value)
            if original is not None:
                return original
        return write(value)

    def chars(self, value: str, path: str, bt: str | None) -> str:
        """``value`` in the interchange's repertoire (transliterated as the profile allows),
        or a Problem naming the character, and ""."""
        converted, bad = self.charset.convert(value)
        if bad is None:
            return converted
        position, ch = bad
        modes = {
            "none": 'transliterate = "punctuation" or "all", or syntax = "UNOW:4"',
            "punctuation": 'transliterate = "all", or syntax = "UNOW:4"',
            "all": 'syntax = "UNOW:4" if the partner reads UTF-8',
        }[self.charset.transliterate]
        self.problems.append(
            Problem(
                self.record,
                path,
                bt,
                value,
                "EDI-CHARSET",
                f"character {ch!r} (U+{ord(ch):04X}) at position {position} cannot be written "
                f"in {self.charset.level}:{self.charset.version}",
                f"characters of {self.charset.repertoire}; buyer profile option {modes}",
            )
        )
        return ""

    def text(self, value: str | None, size: int, path: str, bt: str | None) -> str:
        """``value`` if it has at most ``size`` characters (else a Problem, and "")."""
        if value is None:
            return ""
        value = self.chars(value, path, bt)
        if len(value) > size:
            self.problems.append(
                Problem(
                    self.record,
                    path,
                    bt,
                    value,
                    "EDI-LENGTH",
                    f"too long for EDIFACT INVOIC D.96A ({len(value)} characters)",
                    f"at most {size} characters",
                )
            )
            return ""
        return value

    def chunks(self, value: str, size: int, count: int, path: str, bt: str | None) -> list[str]:
        """``value`` split into at most ``count`` parts of ``size`` characters."""
        value = self.chars(value, path, bt)
        parts = [value[i : i + size] for i in range(0, len(value), size)] or [""]
        if len(parts) > count:
            self.text(value, size * count, path, bt)
            return [""]
        return parts

    def check(self) -> None:
        if self.problems:
            # NAD+IV repeats the buyer: one problem per field and rule is enough
            unique = {(p.path, p.rule): p for p in self.problems}
            raise InvoiceRejected(self.record, list(unique.values()))


def _date(qualifier: str, value: dt.date) -> Segment:
    return segment("DTM", [qualifier, day102(value), "102"])


def _amount(qualifier: str, value: Decimal, currency: str = "") -> Segment:
    return segment("MOA", [qualifier, num(value), currency])


def _party_id(fit: _Fit, ident: Identifier | None, path: str) -> list[str] | None:
    """C082: a GLN as ``id::9``, DUNS as ``id::16``; other schemes cannot be named in D.96A
    (value only)."""
    if ident is None:
        return None
    agency = fit.code(ident.scheme or "", f"{path}.scheme", cl.write_party_agency)
    return [fit.text(ident.value, 35, path, None), "", agency]


def _nad(  # noqa: PLR0917 - one argument per NAD composite
    fit: _Fit,
    qualifier: str,
    path: str,
    ident: Identifier | None,
    name: str | None,
    address: Address | None,
    id_path: str = "",
) -> Segment:
    names = fit.chunks(name, 35, 5, f"{path}.name", None) if name else None
    street = None
    city = subdivision = post_code = country = ""
    if address is not None:
        lines = [address.line1, address.line2, address.line3]
        while lines and lines[-1] is None:
            lines.pop()
        street_parts = [
            fit.text(line or "", 35, f"{path}.address.line{i}", None)
            for i, line in enumerate(lines, 1)
        ]
        city = fit.text(address.city, 35, f"{path}.address.city", None)
        if address.subdivision and len(address.subdivision) > 9:
            # 3229 is a code of at most 9 characters; a longer subdivision name goes to the
            # fourth street component, which this mapping leaves free for it.
            street_parts += [""] * (3 - len(street_parts))
            street_parts.append(
                fit.text(address.subdivision, 35, f"{path}.address.subdivision", None)
            )
        else:
            subdivision = fit.text(address.subdivision, 9, f"{path}.address.subdivision", None)
        street = street_parts or None
        post_code = fit.text(address.post_code, 9, f"{path}.address.post_code", None)
        country = fit.text(address.country, 3, f"{path}.address.country", None)
    return segment(
        "NAD",
        qualifier,
        _party_id(fit, ident, id_path or f"{path}.identifier"),
        None,
        names,
        street,
        city,
        subdivision,
        post_code,
        country,
    )


def _rff(qualifier: str, value: str, fit: _Fit, path: str, bt: str | None) -> Segment:
    return segment("RFF", [qualifier, fit.text(value, 35, path, bt)])


def _contact(contact: Contact | None, fit: _Fit, path: str) -> Iterator[Segment]:
    if contact is None:
        return
    yield segment("CTA", c.CTA_CONTACT, ["", fit.text(contact.name, 35, f"{path}.name", None)])
    if contact.phone:
        yield segment("COM", [fit.text(contact.phone, 512, f"{path}.phone", None), c.COM_PHONE])
    if contact.email:
        yield segment("COM", [fit.text(contact.email, 512, f"{path}.email", None), c.COM_EMAIL])


def _ftx(qualifier: str, text: str, fit: _Fit, path: str, bt: str | None) -> Segment:
    return segment("FTX", qualifier, None, None, fit.chunks(text, 70, 5, path, bt))


def _header(invoice: Invoice, fit: _Fit) -> Iterator[Segment]:
    yield segment("BGM", invoice.type_code, fit.text(invoice.number, 35, "number", "BT-1"), "9")
    yield _date(c.DTM_ISSUE, invoice.issue_date)
    if invoice.tax_point_date:
        yield _date(c.DTM_TAX_POINT, invoice.tax_point_date)
    if invoice.delivery and invoice.delivery.date:
        yield _date(c.DTM_DELIVERY, invoice.delivery.date)
    if invoice.invoice_period:
        if invoice.invoice_period.start:
            yield _date(c.DTM_PERIOD_START, invoice.invoice_period.start)
        if invoice.invoice_period.end:
            yield _date(c.DTM_PERIOD_END, invoice.invoice_period.end)
    if invoice.payment:
        yield segment(
            "PAI", ["", "", fit.text(invoice.payment.means_code, 3, "payment.means_code", "BT-81")]
        )
    for index, note in enumerate(invoice.notes):
        subject = note.subject_code or c.FTX_NOTE_NO_SUBJECT
        yield _ftx(subject, note.text, fit, f"notes[{index}].text", "BT-22")
    if invoice.payment_terms:
        yield _ftx(c.FTX_PAYMENT_TERMS, invoice.payment_terms, fit, "payment_terms", "BT-20")
    if invoice.seller.legal_info:
        yield _ftx(c.FTX_LEGAL_INFO, invoice.seller.legal_info, fit, "seller.legal_info", "BT-33")
    if invoice.payment and invoice.payment.means_text:
        yield _ftx(c.FTX_MEANS_TEXT, invoice.payment.means_text, fit, "payment.means_text", "BT-82")
    if invoice.payment and invoice.payment.remittance_info:
        yield _ftx(
            c.FTX_REMITTANCE,
            invoice.payment.remittance_info,
            fit,
            "payment.remittance_info",
            "BT-83",
        )
    for vat in invoice.vat_breakdown:
        if vat.exemption_reason or vat.exemption_reason_code:
            parts = [vat.exemption_reason_code or ""]
            parts += fit.chunks(
                vat.exemption_reason or "", 70, 4, "vat_breakdown.exemption_reason", "BT-120"
            )
            yield segment("FTX", c.FTX_EXEMPTION, None, [vat.category], parts)
    for field, qualifier in c.RFF_HEADER.items():
        value = getattr(invoice, field)
        if value:
            yield _rff(qualifier, value, fit, field, None)
    for index, preceding in enumerate(invoice.preceding_invoices):
        yield _rff(c.RFF_PRECEDING, preceding.number, fit, f"preceding_invoices[{index}]", "BT-25")
        if preceding.issue_date:
            yield _date(c.DTM_REFERENCE, preceding.issue_date)


def _parties(invoice: Invoice, fit: _Fit) -> Iterator[Segment]:
    seller, buyer = invoice.seller, invoice.buyer
    yield _nad(
        fit,
        c.NAD_SELLER,
        "seller",
        seller.identifiers[0] if seller.identifiers else None,
        seller.name,
        seller.address,
        "seller.identifiers[0]",
    )
    if invoice.payment and not invoice.payee:
        yield from _accounts(invoice, fit)
    if seller.vat_id:
        yield _rff(c.RFF_VAT, seller.vat_id, fit, "seller.vat_id", "BT-31")
    if seller.tax_registration_id:
        yield _rff(
            c.RFF_TAX_REGISTRATION,
            seller.tax_registration_id,
            fit,
            "seller.tax_registration_id",
            "BT-32",
        )
    if seller.legal_registration:
        yield _rff(
            c.RFF_LEGAL, seller.legal_registration.value, fit, "seller.legal_registration", "BT-30"
        )
    yield from _contact(seller.contact, fit, "seller.contact")
    yield _nad(fit, c.NAD_BUYER, "buyer", buyer.identifier, buyer.name, buyer.address)
    if buyer.vat_id:
        yield _rff(c.RFF_VAT, buyer.vat_id, fit, "buyer.vat_id", "BT-48")
    if buyer.legal_registration:
        yield _rff(
            c.RFF_LEGAL, buyer.legal_registration.value, fit, "buyer.legal_registration", "BT-47"
        )
    yield from _contact(buyer.contact, fit, "buyer.contact")
    # EANCOM expects the invoicee; EN 16931 has none apart from the buyer, so NAD+IV repeats
    # the buyer's id, name, address and VAT id (parse reads BY, and IV only when BY is absent).
    yield _nad(fit, c.NAD_INVOICEE, "buyer", buyer.identifier, buyer.name, buyer.address)
    if buyer.vat_id:
        yield _rff(c.RFF_VAT, buyer.vat_id, fit, "buyer.vat_id", "BT-48")
    if invoice.payee:
        payee = invoice.payee
        yield _nad(fit, c.NAD_PAYEE, "payee", payee.identifier, payee.name, None)
        if invoice.payment:
            yield from _accounts(invoice, fit)
        if payee.legal_registration:
            yield _rff(
                c.RFF_LEGAL,
                payee.legal_registration.value,
                fit,
                "payee.legal_registration",
                "BT-61",
            )
    if invoice.tax_representative:
        rep = invoice.tax_representative
        yield _nad(fit, c.NAD_TAX_REPRESENTATIVE, "tax_representative", None, rep.name, rep.address)
        yield _rff(c.RFF_VAT, rep.vat_id, fit, "tax_representative.vat_id", "BT-63")
    if invoice.delivery and (
        invoice.delivery.party_name or invoice.delivery.location or invoice.delivery.address
    ):
        d = invoice.delivery
        yield _nad(
            fit,
            c.NAD_DELIVERY,
            "delivery",
            d.location,
            d.party_name,
            d.address,
            "delivery.location",
        )


def _accounts(invoice: Invoice, fit: _Fit) -> Iterator[Segment]:
    assert invoice.payment is not None
    for index, account in enumerate(invoice.payment.credit_transfers):
        path = f"payment.credit_transfers[{index}]"
        yield segment(
            "FII",
            c.FII_ACCOUNT,
            [
                fit.text(account.account_id, 35, f"{path}.account_id", "BT-84"),
                *(
                    fit.chunks(account.account_name, 35, 2, f"{path}.account_name", "BT-85")
                    if account.account_name
                    else []
                ),
            ],
            [fit.text(account.provider_id, 11, f"{path}.provider_id", "BT-86")]
            if account.provider_id
            else None,
        )


def _tax(fit: _Fit, category: str, rate: Decimal | None, path: str) -> Segment:
    return segment(
        "TAX",
        "7",
        "VAT",
        None,
        None,
        ["", "", "", "" if rate is None else num(rate)],
        fit.code(category, path),
    )


def _alc(
    qualifier: str, item: AllowanceCharge | LineAllowanceCharge, fit: _Fit, path: str
) -> Iterator[Segment]:
    reason = fit.chunks(item.reason, 35, 2, f"{path}.reason", None) if item.reason else []
    write = cl.write_allowance_reason if qualifier == "A" else str
    code = item.reason_code and fit.code(item.reason_code, f"{path}.reason_code", write)
    code = fit.text(code, 3, f"{path}.reason_code", None)
    special = [code, "", "", *reason] if (code or reason) else None
    yield segment("ALC", qualifier, None, None, None, special)
    if item.percentage is not None:
        yield segment("PCD", [c.PCD_ALC, num(item.percentage)])
    yield _amount(c.MOA_ALC_AMOUNT, item.amount)
    if item.base_amount is not None:
        yield _amount(c.MOA_ALC_BASE, item.base_amount)
    if isinstance(item, AllowanceCharge):
        yield _tax(fit, item.vat_category, item.vat_rate, f"{path}.vat_category")


def _line(line: InvoiceLine, fit: _Fit, index: int) -> Iterator[Segment]:
    path = f"lines[{index}]"
    item = line.item
    numeric = line.id.isdigit() and len(line.id) <= 6
    standard = None
    if item.standard_id:
        standard = [
            fit.text(item.standard_id.value, 35, f"{path}.item.standard_id", "BT-157"),
            c.GTIN_TYPE if item.standard_id.scheme == c.GTIN_SCHEME else "",
        ]
    yield segment("LIN", line.id if numeric else str(index + 1), None, standard)
    ids: list[list[str]] = []
    if item.seller_id:
        ids.append(
            [fit.text(item.seller_id, 35, f"{path}.item.seller_id", "BT-155"), c.SELLER_ITEM]
        )
    if item.buyer_id:
        ids.append([fit.text(item.buyer_id, 35, f"{path}.item.buyer_id", "BT-156"), c.BUYER_ITEM])
    for k, cls in enumerate(item.classifications):
        ids.append(
            [
                fit.text(cls.value, 35, f"{path}.item.classifications[{k}]", "BT-158"),
                fit.text(cls.scheme, 3, f"{path}.item.classifications[{k}].scheme", "BT-158-1"),
            ]
        )
    for start in range(0, len(ids), 5):
        yield segment("PIA", "1", *ids[start : start + 5])
    for chunk in _pairs(fit.chunks(item.name, 35, 18, f"{path}.item.name", "BT-153")):
        yield segment("IMD", "F", None, ["", "", "", *chunk])
    if item.description:
        for chunk in _pairs(
            fit.chunks(item.description, 35, 8, f"{path}.item.description", "BT-154")
        ):
            yield segment("IMD", "F", c.IMD_DESCRIPTION, ["", "", "", *chunk])
    for k, attr in enumerate(item.attributes):
        apath = f"{path}.item.attributes[{k}]"
        yield segment(
            "IMD",
            "F",
            c.IMD_ATTRIBUTE,
            [
                "",
                "",
                "",
                fit.text(attr.name, 35, f"{apath}.name", "BT-160"),
                fit.text(attr.value, 35, f"{apath}.value", "BT-161"),
            ],
        )
    unit = fit.code(line.unit, f"{path}.unit", cl.write_unit)
    yield segment(
        "QTY", [c.QTY_INVOICED, num(line.quantity), fit.text(unit, 3, f"{path}.unit", "BT-130")]
    )
    if item.origin_country:
        yield segment("ALI", item.origin_country)
    if line.period and line.period.start:
        yield _date(c.DTM_PERIOD_START, line.period.start)
    if line.period and line.period.end:
        yield _date(c.DTM_PERIOD_END, line.period.end)
    if line.note:
        yield _ftx(c.FTX_LINE_NOTE, line.note, fit, f"{path}.note", "BT-127")
    assert line.net_amount is not None
    yield _amount(c.MOA_LINE_NET, line.net_amount)
    price = line.price
    base_unit = price.base_quantity_unit
    base = [
        num(price.base_quantity) if price.base_quantity is not None else "",
        fit.code(base_unit, f"{path}.price.base_quantity_unit", cl.write_unit) if base_unit else "",
    ]
    yield segment("PRI", [c.PRI_NET, num(price.net), "", "", *base])
    if price.gross is not None:
        yield segment("PRI", [c.PRI_GROSS, num(price.gross), "", "", *base])
    if line.order_line_reference:
        yield _rff(
            c.RFF_ORDER_LINE,
            line.order_line_reference,
            fit,
            f"{path}.order_line_reference",
            "BT-132",
        )
    if not numeric:
        yield _rff(c.RFF_LINE_ID, line.id, fit, f"{path}.id", "BT-126")
    yield _tax(fit, line.vat_category, line.vat_rate, f"{path}.vat_category")
    for k, allowance in enumerate(line.allowances):
        yield from _alc("A", allowance, fit, f"{path}.allowances[{k}]")
    for k, charge in enumerate(line.charges):
        yield from _alc("C", charge, fit, f"{path}.charges[{k}]")


def _pairs(chunks: list[str]) -> Iterator[list[str]]:
    for start in range(0, len(chunks), 2):
        yield chunks[start : start + 2]


def _summary(invoice: Invoice, fit: _Fit) -> Iterator[Segment]:
    yield segment("UNS", "S")
    yield segment("CNT", [c.CNT_LINES, str(len(invoice.lines))])
    totals = invoice.totals
    assert totals is not None
    for field, qualifier in c.MOA_TOTALS.items():
        value = getattr(totals, field)
        if value is not None:
            yield _amount(qualifier, value)
        if (
            field == "vat"
            and totals.vat_in_accounting_currency is not None
            and invoice.tax_currency
        ):
            yield _amount(
                c.MOA_VAT_ACCOUNTING, totals.vat_in_accounting_currency, invoice.tax_currency
            )
    for k, vat in enumerate(invoice.vat_breakdown):
        yield _tax(fit, vat.category, vat.rate, f"vat_breakdown[{k}].category")
        assert vat.taxable_amount is not None and vat.tax_amount is not None
        yield _amount(c.MOA_TAXABLE, vat.taxable_amount)
        yield _amount(c.MOA_TAX, vat.tax_amount)


def render_message(
    invoice: Invoice, reference: str, charset: Charset = DEFAULT_CHARSET
) -> list[Segment]:
    """The UNH..UNT segments of one completed ``invoice`` with message reference ``reference``.

    Codes are written as EANCOM spells them (:mod:`mappings.edifact.codelists`), texts in the
    ``charset`` repertoire (default UNOC:3, punctuation transliterated). Raises InvoiceRejected
    listing every value that does not fit INVOIC D.96A or the repertoire.
    """
    fit = _Fit(invoice, charset)
    body: list[Segment] = [segment("UNH", reference, list(c.MESSAGE_TYPE))]
    body.extend(_header(invoice, fit))
    body.extend(_parties(invoice, fit))
    currency = [["2", invoice.currency, c.CUX_INVOICING]]
    if invoice.tax_currency:
        currency.append(["3", invoice.tax_currency, c.CUX_TAX])
    body.append(segment("CUX", *currency))
    if invoice.due_date:
        body.append(segment("PAT", "1"))
        body.append(_date(c.DTM_DUE, invoice.due_date))
    for k, allowance in enumerate(invoice.allowances):
        body.extend(_alc("A", allowance, fit, f"allowances[{k}]"))
    for k, charge in enumerate(invoice.charges):
        body.extend(_alc("C", charge, fit, f"charges[{k}]"))
    for index, line in enumerate(invoice.lines):
        body.extend(_line(line, fit, index))
    body.extend(_summary(invoice, fit))
    fit.check()
    body.append(segment("UNT", str(len(body) + 1), reference))
    return body
