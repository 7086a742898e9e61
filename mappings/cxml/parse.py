"""Reading a cXML InvoiceDetailRequest into the Invoice model.

Lenient defaults for documents written by other systems (documented contract of ``parse``):
the seller is the ``from`` partner (else ``remitTo``), the buyer ``soldTo`` (else ``billTo``);
a line without Extrinsic ``vatCategoryCode`` has VAT category E when its TaxDetail is
``exemptDetail="exempt"``, Z when ``zeroRated`` or rate 0, else S; an item without ShortName is
named by its Description; a missing SubtotalAmount is quantity x unit price; a missing
TotalAmountWithoutTax is SubtotalAmount - TotalAllowances + TotalCharges; without TotalAllowances /
TotalCharges, InvoiceDetailDiscount is BT-107 and SpecialHandlingAmount + ShippingAmount BT-108;
BT-112 is NetAmount (Gross - Discount). What the model
requires and the document lacks (a party's country, BT-40/BT-55) is a ParseError naming the BT.
"""

from __future__ import annotations

import datetime as dt
import re
from decimal import Decimal

from lxml import etree
from pydantic import ValidationError

from gateway.errors import ParseError
from gateway.model import Invoice, bt_of
from gateway.model.base import Address, Contact, Identifier, Period
from gateway.model.invoice import (
    CreditTransfer,
    Note,
    PaymentInstructions,
    PrecedingInvoice,
    Totals,
    VatBreakdown,
)
from gateway.model.lines import InvoiceLine, Item, ItemClassification, Price
from gateway.model.parties import Buyer, Payee, Seller
from gateway.model.provenance import TermSource
from mappings.cxml import codelists as cl
from mappings.cxml import names as n
from mappings.numbers import (
    AMOUNT,
    PERCENT,
    QUANTITY,
    Kind,
    check_line_amounts,
    read_count,
    read_decimal,
    shown,
)
from mappings.xmlsafe import Element, read_xml

_NOTE = re.compile(r"^#([A-Z0-9]{1,3})#(.*)$", re.S)


def where(el: Element) -> str:
    """The element path and line of ``el`` for error messages."""
    return f"{el.getroottree().getpath(el)} (line {el.sourceline})"


def _one(parent: Element, path: str, bt: str = "") -> Element:
    found = parent.find(path)
    if found is None:
        what = f" ({bt})" if bt else ""
        raise ParseError(f"missing element {path}{what}", where(parent))
    return found


def _attr(el: Element, name: str, bt: str = "") -> str:
    value = el.get(name)
    if value is None or not value.strip():
        what = f" ({bt})" if bt else ""
        raise ParseError(f"missing attribute {name}{what}", where(el))
    return value.strip()


def _text(el: Element | None) -> str | None:
    if el is None:
        return None
    text = "".join(str(t) for t in el.itertext()).strip()
    return text or None


def _decimal(text: str | None, el: Element, what: str, kind: Kind = AMOUNT) -> Decimal:
    """A plain decimal in the range of ``kind`` (:mod:`mappings.numbers`); ParseError naming
    ``what``, the element, the value and what is accepted."""
    return read_decimal(text, where(el), kind=kind, what=what)


def _date(text: str, el: Element, what: str) -> dt.date:
    try:
        return dt.date.fromisoformat(text.strip()[:10])
    except ValueError:
        raise ParseError(f"{what} {text!r} is not an ISO 8601 date", where(el)) from None


class _Reader:
    """Money values read with the memo sign (-1 for credit memos) and the document currency."""

    def __init__(self, sign: int) -> None:
        self.sign = sign
        self.currency: str | None = None
        self.provenance: list[TermSource] = []
        self.unmapped: list[tuple[str, str]] = []

    def unit(self, el: Element | None, path: str, bt: str) -> str:
        """A UnitOfMeasure as UN/ECE Rec 20 (codelists.UNITS); unmappable ones are noted."""
        code = _text(el) or ""
        found = cl.read_unit(code)
        if found is None:
            self.unmapped.append(
                (
                    where(el) if el is not None else "",
                    f"UnitOfMeasure {code!r} ({bt}) is neither a UN/ECE Rec 20 code nor an ANSI "
                    "X12 unit with one (accepted: Rec 20, e.g. EA, C62, HUR, KGM, or HR, LB, CS)",
                )
            )
            return code
        if found.detail is not None:
            self.provenance.append(
                TermSource(path=path, bt=bt, source="code-list", detail=found.detail)
            )
        return found.code

    def vat_category(self, detail: Element | None, rate: Decimal | None) -> str:
        """The EN 16931 VAT category of a TaxDetail; a non-VAT tax or a category outside
        EN 16931's UNTDID 5305 subset is noted as unmappable."""
        if detail is not None:
            kind = detail.get("category", "vat")
            if kind.lower() not in cl.VAT_TAX_CATEGORIES:
                self.unmapped.append(
                    (
                        where(detail),
                        f"TaxDetail category {kind!r} is not a value added tax; EN 16931 "
                        "carries VAT only (accepted: vat, gst)",
                    )
                )
        category = _vat_category(detail, rate)
        if not cl.is_vat_category(category):
            self.unmapped.append(
                (
                    where(detail) if detail is not None else "",
                    f"vatCategoryCode {category!r} is not an EN 16931 VAT category (accepted: "
                    "S, Z, E, AE, K, G, O, L, M)",
                )
            )
        return category

    def money(self, parent: Element | None, path: str, signed: bool = True) -> Decimal | None:
        if parent is None:
            return None
        found = parent.find(path)
        if found is None:
            return None
        money = found if found.tag == "Money" else _one(found, "Money")
        if self.currency is None:
            self.currency = _attr(money, "currency", "BT-5")
        value = _decimal(money.text, money, f"{etree.QName(found).localname} amount")
        return -value if signed and self.sign < 0 and value else value


def _extrinsics(parent: Element) -> dict[str, list[str]]:
    result: dict[str, list[str]] = {}
    for el in parent.findall("Extrinsic"):
        result.setdefault(el.get("name", ""), []).append("".join(str(t) for t in el.itertext()))
    return result


def _first(values: dict[str, list[str]], name: str) -> str | None:
    found = values.get(name)
    return found[0] if found else None


def _ids(parent: Element) -> list[tuple[str, Identifier]]:
    out = []
    for ref in parent.findall("IdReference"):
        scheme = None
        for desc in ref.findall("Description"):
            if desc.get("type") == "scheme":
                scheme = _text(desc)
        out.append(
            (ref.get("domain", ""), Identifier(value=_attr(ref, "identifier"), scheme=scheme))
        )
    return out


def _id(ids: list[tuple[str, Identifier]], domain: str) -> Identifier | None:
    return next((ident for d, ident in ids if d == domain), None)


def _address(contact: Element, bt: str) -> Address:
    postal = contact.find("PostalAddress")
    if postal is None:
        raise ParseError(f"missing PostalAddress: the country ({bt}) is required", where(contact))
    streets = [(s.text or "").strip() or None for s in postal.findall("Street")]
    streets = [s for s in streets if s] + [None, None, None]
    country = _one(postal, "Country", bt)
    return Address(
        line1=streets[0],
        line2=streets[1],
        line3=streets[2],
        city=_text(postal.find("City")),
        post_code=_text(postal.find("PostalCode")),
        subdivision=_text(postal.find("State")),
        country=_attr(country, "isoCountryCode", bt),
    )


def _contact(contact: Element, person: str | None) -> Contact | None:
    email = _text(contact.find("Email"))
    phone = _text(contact.find("Phone/TelephoneNumber/Number"))
    if email is None and phone is None and person is None:
        return None
    return Contact(name=person, phone=phone, email=email)


def _partners(header: Element) -> dict[str, Element]:
    found: dict[str, Element] = {}
    for partner in header.findall("InvoicePartner"):
        contact = _one(partner, "Contact")
        found.setdefault(contact.get("role", ""), partner)
    return found


def _name(contact: Element, bt: str) -> str:
    name = _text(contact.find("Name"))
    if name is None:
        raise ParseError(f"missing Name ({bt})", where(contact))
    return name


def _seller(partners: dict[str, Element], header: Element) -> Seller:
    partner = partners.get("from", partners.get("remitTo"))
    if partner is None:
        raise ParseError("no InvoicePartner with role from or remitTo (BG-4 Seller)", where(header))
    contact = _one(partner, "Contact")
    ids, ext = _ids(contact), _extrinsics(contact)
    vat, tax = _id(ids, n.VAT_ID), _id(ids, n.TAX_ID)
    return Seller(
        name=_name(contact, "BT-27"),
        trading_name=_first(ext, n.TRADING_NAME),
        identifiers=tuple(i for d, i in ids if d == n.SELLER_ID),
        legal_registration=_id(ids, n.LEGAL_ID),
        vat_id=vat.value if vat else None,
        tax_registration_id=tax.value if tax else None,
        legal_info=_first(ext, n.LEGAL_INFO),
        electronic_address=_id(ids, n.ELECTRONIC_ADDRESS),
        address=_address(contact, "BT-40"),
        contact=_contact(contact, _first(ext, n.CONTACT_PERSON)),
    )


def _buyer(partners: dict[str, Element], header: Element) -> Buyer:
    partner = partners.get("soldTo", partners.get("billTo"))
    if partner is None:
        raise ParseError("no InvoicePartner with role soldTo or billTo (BG-7 Buyer)", where(header))
    contact = _one(partner, "Contact")
    ids, ext = _ids(contact), _extrinsics(contact)
    vat = _id(ids, n.VAT_ID)
    return Buyer(
        name=_name(contact, "BT-44"),
        trading_name=_first(ext, n.TRADING_NAME),
        identifier=_id(ids, n.BUYER_ID),
        legal_registration=_id(ids, n.LEGAL_ID),
        vat_id=vat.value if vat else None,
        electronic_address=_id(ids, n.ELECTRONIC_ADDRESS),
        address=_address(contact, "BT-55"),
        contact=_contact(contact, _first(ext, n.CONTACT_PERSON)),
    )


def _payee(partners: dict[str, Element]) -> Payee | None:
    # Our convention: a remitTo without PostalAddress is a payee distinct from the seller.
    partner = partners.get("remitTo")
    if partner is None or "from" not in partners:
        return None
    contact = _one(partner, "Contact")
    if contact.find("PostalAddress") is not None:
        return None
    ids = _ids(contact)
    return Payee(
        name=_name(contact, "BT-59"),
        identifier=_id(ids, n.PAYEE_ID),
        legal_registration=_id(ids, n.LEGAL_ID),
    )


def _transfers(partners: dict[str, Element]) -> tuple[CreditTransfer, ...]:
    partner = partners.get("remitTo")
    if partner is None:
        return ()
    groups: list[dict[str, str]] = []
    for domain, ident in _ids(partner):
        if domain == n.ACCOUNT_ID:
            groups.append({"account_id": ident.value})
        elif domain in {n.ACCOUNT_NAME, n.SWIFT_ID} and groups:
            key = "account_name" if domain == n.ACCOUNT_NAME else "provider_id"
            groups[-1][key] = ident.value
    return tuple(CreditTransfer(**group) for group in groups)


def _vat_category(detail: Element | None, rate: Decimal | None) -> str:
    if detail is None:
        return "S" if rate else "Z"
    given = _first(_extrinsics(detail), n.VAT_CATEGORY)
    if given is not None:
        return given
    exempt = cl.EXEMPT_DETAIL.get(detail.get("exemptDetail", ""))
    if exempt is not None:
        return exempt
    return "Z" if not rate else "S"


def _rate(detail: Element | None) -> Decimal | None:
    if detail is None or detail.get("percentageRate") is None:
        return None
    return _decimal(detail.get("percentageRate"), detail, "percentageRate (BT-152/BT-119)", PERCENT)


def _line(index: int, item: Element, reader: _Reader) -> InvoiceLine:
    ext = _extrinsics(item)
    number = _attr(item, "invoiceLineNumber", "BT-126")
    quantity = _decimal(_attr(item, "quantity", "BT-129"), item, "quantity (BT-129)", QUANTITY)
    if reader.sign < 0 and quantity:
        quantity = -quantity
    price = reader.money(item, "UnitPrice", signed=False)
    if price is None:
        raise ParseError("missing UnitPrice (BT-146)", where(item))
    base = item.find("PriceBasisQuantity")
    reference = _one(item, "InvoiceDetailItemReference")
    description = reference.find("Description")
    short = _text(description.find("ShortName")) if description is not None else None
    text = (description.text or "").strip() or None if description is not None else None
    name = short or text
    if name is None:
        raise ParseError("item without ShortName or Description (BT-153)", where(reference))
    country = reference.find("Country")
    net = reader.money(item, "SubtotalAmount")
    detail = item.find("Tax/TaxDetail")
    rate = _rate(detail)
    start, end = _first(ext, n.LINE_PERIOD_START), _first(ext, n.LINE_PERIOD_END)
    return InvoiceLine(
        id=_first(ext, n.LINE_ID) or number,
        note=_text(item.find("Comments")),
        quantity=quantity,
        unit=reader.unit(_one(item, "UnitOfMeasure", "BT-130"), f"lines[{index}].unit", "BT-130"),
        net_amount=net if net is not None else quantity * price,
        order_line_reference=_first(ext, n.ORDER_LINE),
        accounting_reference=_first(ext, n.LINE_ACCOUNTING),
        period=(
            Period(
                start=_date(start, item, "period start (BT-134)") if start else None,
                end=_date(end, item, "period end (BT-135)") if end else None,
            )
            if start or end
            else None
        ),
        price=Price(
            net=price,
            base_quantity=(
                _decimal(base.get("quantity"), base, "PriceBasisQuantity (BT-149)", QUANTITY)
                if base is not None
                else None
            ),
        ),
        vat_category=reader.vat_category(detail, rate),
        vat_rate=rate,
        item=Item(
            name=name,
            description=text if short else None,
            seller_id=_text(reference.find("ItemID/SupplierPartID")),
            buyer_id=_text(reference.find("ItemID/BuyerPartID")),
            classifications=tuple(
                ItemClassification(value=_text(c) or "", scheme=_attr(c, "domain", "BT-158-1"))
                for c in reference.findall("Classification")
            ),
            origin_country=(
                _attr(country, "isoCountryCode", "BT-159") if country is not None else None
            ),
        ),
    )


def _breakdown(tax: Element, reader: _Reader) -> tuple[VatBreakdown, ...]:
    entries = []
    for detail in tax.findall("TaxDetail"):
        rate = _rate(detail)
        exemption = detail.find("TaxExemption")
        entries.append(
            VatBreakdown(
                taxable_amount=reader.money(detail, "TaxableAmount"),
                tax_amount=reader.money(detail, "TaxAmount"),
                category=reader.vat_category(detail, rate),
                rate=rate,
                exemption_reason=_text(detail.find("Description")),
                exemption_reason_code=exemption.get("exemptCode")
                if exemption is not None
                else None,
            )
        )
    return tuple(entries)


def _totals(summary: Element, reader: _Reader) -> tuple[Totals, str | None]:
    tax_money = _one(_one(summary, "Tax", "BT-110"), "Money", "BT-110")
    line_net = reader.money(summary, "SubtotalAmount")
    allowances = reader.money(summary, "TotalAllowances")
    if allowances is None:
        allowances = reader.money(summary, "InvoiceDetailDiscount")
    charges = reader.money(summary, "TotalCharges")
    if charges is None:
        handling = reader.money(summary, "SpecialHandlingAmount")
        shipping = reader.money(summary, "ShippingAmount")
        if handling is not None or shipping is not None:
            charges = (handling or Decimal(0)) + (shipping or Decimal(0))
    without = reader.money(summary, "TotalAmountWithoutTax")
    if without is None and line_net is not None:
        without = line_net - (allowances or 0) + (charges or 0)
    alternate = tax_money.get("alternateAmount")
    accounting = None
    if alternate is not None:
        accounting = _decimal(alternate, tax_money, "alternateAmount (BT-111)") * reader.sign
    gross = reader.money(summary, "GrossAmount")
    net = reader.money(summary, "NetAmount")
    return (
        Totals(
            line_net=line_net,
            allowances=allowances,
            charges=charges,
            without_vat=without,
            vat=reader.money(summary, "Tax"),
            vat_in_accounting_currency=accounting,
            with_vat=net if net is not None else gross,
            prepaid=reader.money(summary, "DepositAmount"),
            due=reader.money(summary, "DueAmount"),
        ),
        tax_money.get("alternateCurrency"),
    )


def _notes(header: Element, ext: dict[str, list[str]]) -> tuple[Note, ...]:
    texts = ext.get(n.NOTE)
    if texts is None:
        comment = _text(header.find("Comments"))
        return (Note(text=comment),) if comment else ()
    notes = []
    for text in texts:
        match = _NOTE.match(text)
        if match:
            notes.append(Note(text=match.group(2), subject_code=match.group(1)))
        else:
            notes.append(Note(text=text))
    return tuple(notes)


MAX_PAYMENT_DAYS = 36_600
"""payInNumberOfDays beyond a century is refused (the due date BT-9 would leave the calendar)."""


def parse_cxml(data: bytes) -> Invoice:
    """The Invoice in a cXML InvoiceDetailRequest; ParseError with the element path and line.

    A value the model refuses (a blank name, a code of the wrong shape) is a ParseError naming
    the model field and its BT, the value and the request element."""
    root = read_xml(data, "cXML", allow_doctype=True)
    try:
        return _parse(root)
    except ValidationError as exc:
        first = exc.errors()[0]
        field = ".".join(str(p) for p in first["loc"])
        term = bt_of(field) if exc.title == "Invoice" else None
        named = f"{exc.title}.{field}" + (f" ({term})" if term else "")
        raise ParseError(
            f"{named}: {first['msg']} (value {shown(str(first.get('input')))})",
            where(_request_or_root(root)),
        ) from None


def _request_or_root(root: Element) -> Element:
    found = root.find("Request")
    return found if found is not None else root


def _parse(root: Element) -> Invoice:
    if root.tag != "cXML":
        raise ParseError(f"root element is {root.tag!r}; expected cXML", where(root))
    request = _one(root, "Request/InvoiceDetailRequest")
    header = _one(request, "InvoiceDetailRequestHeader")
    purpose = header.get("purpose", "standard")
    if purpose not in n.PURPOSE_TYPE_CODE:
        raise ParseError(
            f"purpose {purpose!r} is not one of {', '.join(n.PURPOSE_TYPE_CODE)}", where(header)
        )
    reader = _Reader(-1 if purpose in n.CREDIT_PURPOSES else 1)
    ext = _extrinsics(header)
    issue = _date(_attr(header, "invoiceDate", "BT-2"), header, "invoiceDate (BT-2)")
    orders = request.findall("InvoiceDetailOrder")
    if not orders:
        raise ParseError("no InvoiceDetailOrder (BG-25 invoice lines)", where(request))
    items = [item for order in orders for item in order.findall("InvoiceDetailItem")]
    if not items:
        raise ParseError("no InvoiceDetailItem (BG-25 invoice lines)", where(orders[0]))
    lines = tuple(_line(k, item, reader) for k, item in enumerate(items))
    check_line_amounts(lines)
    order_ref = orders[0].find("InvoiceDetailOrderInfo/OrderReference")
    totals, tax_currency = _totals(_one(request, "InvoiceDetailSummary"), reader)
    summary_tax = _one(request, "InvoiceDetailSummary/Tax")
    partners = _partners(header)
    term = header.find("PaymentTerm")
    raw_days = term.get("payInNumberOfDays") if term is not None else None
    due_date = None
    if term is not None and raw_days is not None:
        days = read_count(
            raw_days, where(term), what="payInNumberOfDays (BT-9)", maximum=MAX_PAYMENT_DAYS
        )
        try:
            due_date = issue + dt.timedelta(days=days)
        except OverflowError:
            raise ParseError(
                f"invoiceDate {issue} + payInNumberOfDays {days} is after 9999-12-31; accepted: "
                "a due date (BT-9) in the calendar",
                where(term),
            ) from None
    period = header.find("Period")
    preceding = header.find("InvoiceIDInfo")
    means = _first(ext, n.MEANS_CODE)
    if reader.currency is None:
        raise ParseError("no Money with a currency (BT-5)", where(request))
    fields: dict[str, object] = {name: _first(ext, xname) for name, xname in n.HEADER_TEXT}
    breakdown = _breakdown(summary_tax, reader)
    if reader.unmapped:
        location, text = reader.unmapped[0]
        more = "".join(f"; {loc}: {msg}" for loc, msg in reader.unmapped[1:])
        raise ParseError(text + more, location)
    return Invoice(
        number=_attr(header, "invoiceID", "BT-1"),
        issue_date=issue,
        type_code=_first(ext, n.TYPE_CODE) or n.PURPOSE_TYPE_CODE[purpose],
        currency=reader.currency,
        tax_currency=tax_currency,
        due_date=due_date,
        purchase_order_reference=order_ref.get("orderID") if order_ref is not None else None,
        notes=_notes(header, ext),
        preceding_invoices=(
            (
                PrecedingInvoice(
                    number=_attr(preceding, "invoiceID", "BT-25"),
                    issue_date=(
                        _date(preceding.get("invoiceDate", ""), preceding, "BT-26")
                        if preceding.get("invoiceDate")
                        else None
                    ),
                ),
            )
            if preceding is not None
            else ()
        ),
        seller=_seller(partners, header),
        buyer=_buyer(partners, header),
        payee=_payee(partners),
        invoice_period=(
            Period(
                start=_date(_attr(period, "startDate"), period, "BT-73"),
                end=_date(_attr(period, "endDate"), period, "BT-74"),
            )
            if period is not None
            else None
        ),
        payment=(
            PaymentInstructions(
                means_code=means,
                means_text=_first(ext, n.MEANS_TEXT),
                remittance_info=_first(ext, n.REMITTANCE),
                credit_transfers=_transfers(partners),
            )
            if means is not None
            else None
        ),
        totals=totals,
        vat_breakdown=breakdown,
        lines=lines,
        provenance=tuple(reader.provenance),
        **fields,
    )
