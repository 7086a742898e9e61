"""cXML 1.2.037 InvoiceDetailRequest text from a completed Invoice (contract: format.py)."""

from __future__ import annotations

import datetime as dt
from decimal import ROUND_HALF_UP, Decimal
from typing import NamedTuple

from gateway.envelope import Envelope
from gateway.errors import ConfigError
from gateway.model import Invoice
from gateway.model.base import Address, Contact, Identifier
from gateway.model.invoice import VatBreakdown
from gateway.model.lines import InvoiceLine
from gateway.profiles.profile import BuyerProfile
from mappings.cxml import names as n
from mappings.xmltext import esc, num

HEADER_OPTIONS = (
    "from_domain",
    "from_identity",
    "to_domain",
    "to_identity",
    "sender_domain",
    "sender_identity",
    "shared_secret",
    "user_agent",
)
_CENT = Decimal("0.01")


def stamp(value: dt.datetime) -> str:
    """ISO 8601 with offset; a naive time is a ConfigError (cXML requires the offset)."""
    if value.tzinfo is None or value.utcoffset() is None:
        raise ConfigError(f"envelope.prepared_at {value.isoformat()} has no UTC offset")
    return value.isoformat()


def day_tz(value: dt.date) -> str:
    """A calendar date as a cXML datetime.tz (midnight UTC); the parser keeps the date part."""
    return f"{value.isoformat()}T00:00:00+00:00"


def header_options(profile: BuyerProfile) -> dict[str, str]:
    """The Header credentials from ``profile.options``; ConfigError naming every missing one."""
    missing = [key for key in HEADER_OPTIONS if not profile.options.get(key)]
    if missing:
        raise ConfigError(
            f"buyer profile '{profile.name}': cXML needs options {', '.join(missing)} "
            f"(expected: {', '.join(HEADER_OPTIONS)})"
        )
    return {key: profile.options[key] for key in HEADER_OPTIONS}


class _Writer:
    """Collects escaped XML text; ``sign`` is -1 for credit memos (amounts written negative)."""

    def __init__(self, currency: str, sign: int) -> None:
        self.parts: list[str] = []
        self.currency = esc(currency)
        self.sign = sign

    def add(self, text: str) -> None:
        self.parts.append(text)

    def money(self, tag: str, amount: Decimal, signed: bool = True, extra: str = "") -> None:
        value = amount * self.sign if signed and self.sign < 0 and amount else amount
        self.add(f'<{tag}><Money currency="{self.currency}"{extra}>{num(value)}</Money></{tag}>')

    def extrinsic(self, name: str, value: str | None) -> None:
        if value is not None:
            self.add(f'<Extrinsic name="{esc(name)}">{esc(value)}</Extrinsic>')

    def id_reference(self, domain: str, ident: Identifier | str | None) -> None:
        if ident is None:
            return
        if isinstance(ident, str):
            self.add(f'<IdReference identifier="{esc(ident)}" domain="{esc(domain)}"/>')
            return
        self.add(f'<IdReference identifier="{esc(ident.value)}" domain="{esc(domain)}">')
        if ident.scheme is not None:
            self.add(
                f'<Description xml:lang="{n.LANG}" type="scheme">{esc(ident.scheme)}</Description>'
            )
        self.add("</IdReference>")

    def postal_address(self, address: Address) -> None:
        self.add("<PostalAddress>")
        lines = [x for x in (address.line1, address.line2, address.line3) if x is not None]
        for line in lines or [""]:
            self.add(f"<Street>{esc(line)}</Street>")
        self.add(f"<City>{esc(address.city or '')}</City>")
        if address.subdivision is not None:
            self.add(f"<State>{esc(address.subdivision)}</State>")
        if address.post_code is not None:
            self.add(f"<PostalCode>{esc(address.post_code)}</PostalCode>")
        self.add(f'<Country isoCountryCode="{esc(address.country)}"/>')
        self.add("</PostalAddress>")

    def contact_details(self, contact: Contact | None, country: str) -> None:
        """Email and Phone (the whole number in Number: cXML splits it, the model does not)."""
        if contact is None:
            return
        if contact.email is not None:
            self.add(f"<Email>{esc(contact.email)}</Email>")
        if contact.phone is not None:
            self.add(
                f'<Phone><TelephoneNumber><CountryCode isoCountryCode="{esc(country)}"/>'
                f"<AreaOrCityCode/><Number>{esc(contact.phone)}</Number></TelephoneNumber></Phone>"
            )


def _partners(w: _Writer, invoice: Invoice) -> None:
    seller, buyer = invoice.seller, invoice.buyer
    # remitTo: the payee when there is one (no address in EN 16931), else the seller.
    w.add('<InvoicePartner><Contact role="remitTo">')
    if invoice.payee is not None:
        w.add(f'<Name xml:lang="{n.LANG}">{esc(invoice.payee.name)}</Name>')
        w.id_reference(n.PAYEE_ID, invoice.payee.identifier)
        w.id_reference(n.LEGAL_ID, invoice.payee.legal_registration)
    else:
        w.add(f'<Name xml:lang="{n.LANG}">{esc(seller.name)}</Name>')
        w.postal_address(seller.address)
    w.add("</Contact>")
    if invoice.payment is not None:
        for transfer in invoice.payment.credit_transfers:
            w.id_reference(n.ACCOUNT_ID, transfer.account_id)
            w.id_reference(n.ACCOUNT_NAME, transfer.account_name)
            w.id_reference(n.SWIFT_ID, transfer.provider_id)
    w.add("</InvoicePartner>")
    for role in ("billTo", "soldTo"):
        w.add(f'<InvoicePartner><Contact role="{role}">')
        w.add(f'<Name xml:lang="{n.LANG}">{esc(buyer.name)}</Name>')
        w.postal_address(buyer.address)
        w.contact_details(buyer.contact, buyer.address.country)
        w.id_reference(n.VAT_ID, buyer.vat_id)
        w.id_reference(n.BUYER_ID, buyer.identifier)
        w.id_reference(n.LEGAL_ID, buyer.legal_registration)
        w.id_reference(n.ELECTRONIC_ADDRESS, buyer.electronic_address)
        w.extrinsic(n.CONTACT_PERSON, buyer.contact.name if buyer.contact else None)
        w.extrinsic(n.TRADING_NAME, buyer.trading_name)
        w.add("</Contact></InvoicePartner>")
    w.add('<InvoicePartner><Contact role="from">')
    w.add(f'<Name xml:lang="{n.LANG}">{esc(seller.name)}</Name>')
    w.postal_address(seller.address)
    w.contact_details(seller.contact, seller.address.country)
    w.id_reference(n.VAT_ID, seller.vat_id)
    w.id_reference(n.TAX_ID, seller.tax_registration_id)
    w.id_reference(n.LEGAL_ID, seller.legal_registration)
    w.id_reference(n.ELECTRONIC_ADDRESS, seller.electronic_address)
    for ident in seller.identifiers:
        w.id_reference(n.SELLER_ID, ident)
    w.extrinsic(n.CONTACT_PERSON, seller.contact.name if seller.contact else None)
    w.extrinsic(n.TRADING_NAME, seller.trading_name)
    w.extrinsic(n.LEGAL_INFO, seller.legal_info)
    w.add("</Contact></InvoicePartner>")


def _header(w: _Writer, invoice: Invoice, purpose: str) -> None:
    w.add(
        f'<InvoiceDetailRequestHeader invoiceID="{esc(invoice.number)}" purpose="{purpose}" '
        f'operation="new" invoiceDate="{day_tz(invoice.issue_date)}">'
    )
    w.add("<InvoiceDetailHeaderIndicator/>")
    w.add('<InvoiceDetailLineIndicator isTaxInLine="yes"/>')
    _partners(w, invoice)
    if invoice.preceding_invoices:
        first = invoice.preceding_invoices[0]
        date = f' invoiceDate="{day_tz(first.issue_date)}"' if first.issue_date else ""
        w.add(f'<InvoiceIDInfo invoiceID="{esc(first.number)}"{date}/>')
    days = payment_days(invoice)
    if days is not None:
        w.add(f'<PaymentTerm payInNumberOfDays="{days}"/>')
    period = invoice.invoice_period
    if period is not None and period.start is not None and period.end is not None:
        w.add(f'<Period startDate="{day_tz(period.start)}" endDate="{day_tz(period.end)}"/>')
    if invoice.notes:
        text = "\n".join(note.text for note in invoice.notes)
        w.add(f'<Comments xml:lang="{n.LANG}">{esc(text)}</Comments>')
    if invoice.type_code not in {"380", "381"}:
        w.extrinsic(n.TYPE_CODE, invoice.type_code)
    for field, name in n.HEADER_TEXT:
        w.extrinsic(name, getattr(invoice, field))
    for note in invoice.notes:
        prefix = f"#{note.subject_code}#" if note.subject_code else ""
        w.extrinsic(n.NOTE, prefix + note.text)
    if invoice.payment is not None:
        w.extrinsic(n.MEANS_CODE, invoice.payment.means_code)
        w.extrinsic(n.MEANS_TEXT, invoice.payment.means_text)
        w.extrinsic(n.REMITTANCE, invoice.payment.remittance_info)
    w.add("</InvoiceDetailRequestHeader>")


def payment_days(invoice: Invoice) -> int | None:
    """BT-9 as PaymentTerm/@payInNumberOfDays (days after BT-2); None when absent or before BT-2."""
    if invoice.due_date is None:
        return None
    days = (invoice.due_date - invoice.issue_date).days
    return days if days >= 0 else None


def _rate_text(rate: Decimal | None) -> str:
    return "" if rate is None else f' percentageRate="{num(rate)}"'


class _LineVat(NamedTuple):
    """A line's VAT in the shape of a BG-23 entry (a plain tuple: built once per line)."""

    taxable_amount: Decimal | None
    tax_amount: Decimal | None
    category: str
    rate: Decimal | None
    exemption_reason: str | None = None
    exemption_reason_code: str | None = None


def _tax_detail(w: _Writer, entry: VatBreakdown | _LineVat, location: str) -> None:
    """One TaxDetail (a line's VAT, or one BG-23 entry); EN 16931 category as an Extrinsic."""
    category, rate = entry.category, entry.rate
    exempt = {"Z": ' exemptDetail="zeroRated"', "E": ' exemptDetail="exempt"'}.get(category, "")
    w.add(f'<TaxDetail purpose="tax" category="vat"{_rate_text(rate)}{exempt}>')
    w.money("TaxableAmount", _given(entry.taxable_amount))
    w.money("TaxAmount", _given(entry.tax_amount))
    w.add(f'<TaxLocation xml:lang="{n.LANG}">{esc(location)}</TaxLocation>')
    if entry.exemption_reason is not None:
        w.add(f'<Description xml:lang="{n.LANG}">{esc(entry.exemption_reason)}</Description>')
    if entry.exemption_reason_code is not None:
        w.add(f'<TaxExemption exemptCode="{esc(entry.exemption_reason_code)}"/>')
    w.extrinsic(n.VAT_CATEGORY, category)
    w.add("</TaxDetail>")


def _vat_label(category: str, rate: Decimal | None) -> str:
    return f"VAT {category} {num(rate)}%" if rate is not None else f"VAT {category}"


def line_number(line: InvoiceLine, position: int) -> str:
    """invoiceLineNumber: BT-126 when it is an unsigned integer, else the 1-based position."""
    return line.id if line.id.isdigit() else str(position)


def _item(w: _Writer, line: InvoiceLine, position: int, location: str) -> None:
    number = line_number(line, position)
    quantity = -line.quantity if w.sign < 0 and line.quantity else line.quantity
    w.add(f'<InvoiceDetailItem invoiceLineNumber="{number}" quantity="{num(quantity)}">')
    w.add(f"<UnitOfMeasure>{esc(line.unit)}</UnitOfMeasure>")
    w.money("UnitPrice", line.price.net, signed=False)
    if line.price.base_quantity is not None:
        unit = line.price.base_quantity_unit or line.unit
        w.add(
            f'<PriceBasisQuantity quantity="{num(line.price.base_quantity)}" conversionFactor="1">'
            f"<UnitOfMeasure>{esc(unit)}</UnitOfMeasure></PriceBasisQuantity>"
        )
    item = line.item
    reference = line.order_line_reference
    ordered = reference if reference is not None and reference.isdigit() else number
    w.add(f'<InvoiceDetailItemReference lineNumber="{ordered}">')
    if item.seller_id is not None or item.buyer_id is not None:
        w.add(f"<ItemID><SupplierPartID>{esc(item.seller_id or '')}</SupplierPartID>")
        if item.buyer_id is not None:
            w.add(f"<BuyerPartID>{esc(item.buyer_id)}</BuyerPartID>")
        w.add("</ItemID>")
    w.add(f'<Description xml:lang="{n.LANG}">{esc(item.description or "")}')
    w.add(f"<ShortName>{esc(item.name)}</ShortName></Description>")
    for cls in item.classifications:
        w.add(f'<Classification domain="{esc(cls.scheme)}">{esc(cls.value)}</Classification>')
    if item.origin_country is not None:
        w.add(f'<Country isoCountryCode="{esc(item.origin_country)}"/>')
    w.add("</InvoiceDetailItemReference>")
    net = line.net_amount if line.net_amount is not None else Decimal(0)
    w.money("SubtotalAmount", net)
    rate = line.vat_rate if line.vat_rate is not None else Decimal(0)
    tax = (net * rate / 100).quantize(_CENT, ROUND_HALF_UP)
    w.add("<Tax>")
    w.add(f'<Money currency="{w.currency}">{num(_signed(w, tax))}</Money>')
    label = esc(_vat_label(line.vat_category, line.vat_rate))
    w.add(f'<Description xml:lang="{n.LANG}">{label}</Description>')
    _tax_detail(w, _LineVat(net, tax, line.vat_category, line.vat_rate), location)
    w.add("</Tax>")
    if line.note is not None:
        w.add(f'<Comments xml:lang="{n.LANG}">{esc(line.note)}</Comments>')
    if line.id != number:
        w.extrinsic(n.LINE_ID, line.id)
    w.extrinsic(n.ORDER_LINE, line.order_line_reference)
    w.extrinsic(n.LINE_ACCOUNTING, line.accounting_reference)
    if line.period is not None:
        w.extrinsic(
            n.LINE_PERIOD_START, line.period.start.isoformat() if line.period.start else None
        )
        w.extrinsic(n.LINE_PERIOD_END, line.period.end.isoformat() if line.period.end else None)
    w.add("</InvoiceDetailItem>")


def _given(amount: Decimal | None) -> Decimal:
    """An amount of a completed invoice (never None there; 0.00 keeps its scale)."""
    return amount if amount is not None else Decimal("0.00")


def _signed(w: _Writer, amount: Decimal) -> Decimal:
    return amount * w.sign if w.sign < 0 and amount else amount


def _summary(w: _Writer, invoice: Invoice, location: str) -> None:
    totals = invoice.totals
    assert totals is not None  # completed by the caller
    w.add("<InvoiceDetailSummary>")
    w.money("SubtotalAmount", _given(totals.line_net))
    alternate = ""
    if invoice.tax_currency is not None:
        if totals.vat_in_accounting_currency is not None:
            alternate += f' alternateAmount="{num(_signed(w, totals.vat_in_accounting_currency))}"'
        alternate += f' alternateCurrency="{esc(invoice.tax_currency)}"'
    w.add("<Tax>")
    vat = num(_signed(w, _given(totals.vat)))
    w.add(f'<Money currency="{w.currency}"{alternate}>{vat}</Money>')
    w.add(f'<Description xml:lang="{n.LANG}">VAT</Description>')
    for entry in invoice.vat_breakdown:
        _tax_detail(w, entry, location)
    w.add("</Tax>")
    # cXML arithmetic: Gross = Subtotal + Tax + SpecialHandling; Net = Gross - Discount. Document
    # charges (BT-108) are the special handling, allowances (BT-107) the discount, so NetAmount
    # is BT-112.
    if totals.charges is not None:
        w.add("<SpecialHandlingAmount>")
        w.add(f'<Money currency="{w.currency}">{num(_signed(w, totals.charges))}</Money>')
        reasons = "; ".join(c.reason for c in invoice.charges if c.reason)
        if reasons:
            w.add(f'<Description xml:lang="{n.LANG}">{esc(reasons)}</Description>')
        w.add("</SpecialHandlingAmount>")
    gross = _given(totals.line_net) + _given(totals.vat) + (totals.charges or Decimal(0))
    w.money("GrossAmount", gross)
    if totals.allowances is not None:
        w.money("InvoiceDetailDiscount", totals.allowances)
    if totals.charges is not None:
        w.money("TotalCharges", totals.charges)
    if totals.allowances is not None:
        w.money("TotalAllowances", totals.allowances)
    w.money("TotalAmountWithoutTax", _given(totals.without_vat))
    w.money("NetAmount", _given(totals.with_vat))
    if totals.prepaid is not None:
        w.money("DepositAmount", totals.prepaid)
    w.money("DueAmount", _given(totals.due))
    w.add("</InvoiceDetailSummary>")


def render_cxml(invoice: Invoice, options: dict[str, str], envelope: Envelope) -> bytes:
    """The InvoiceDetailRequest for a completed ``invoice`` with the Header from ``options``."""
    credit = invoice.type_code in {"381", "81", "83", "396", "532"}
    purpose = n.CREDIT_MEMO_PURPOSE if credit else "standard"
    if invoice.type_code == "383":
        purpose = n.DEBIT_MEMO_PURPOSE
    w = _Writer(invoice.currency, -1 if credit else 1)
    payload = envelope.payload_id or envelope.interchange_ref
    mode = "test" if envelope.test else "production"
    w.add('<?xml version="1.0" encoding="UTF-8"?>\n' + n.DOCTYPE + "\n")
    w.add(
        f'<cXML payloadID="{esc(payload)}" timestamp="{stamp(envelope.prepared_at)}" '
        f'version="{n.CXML_VERSION}" xml:lang="{n.LANG}">'
    )
    w.add("<Header>")
    for tag, prefix in (("From", "from"), ("To", "to")):
        w.add(
            f'<{tag}><Credential domain="{esc(options[prefix + "_domain"])}">'
            f"<Identity>{esc(options[prefix + '_identity'])}</Identity></Credential></{tag}>"
        )
    w.add(
        f'<Sender><Credential domain="{esc(options["sender_domain"])}">'
        f"<Identity>{esc(options['sender_identity'])}</Identity>"
        f"<SharedSecret>{esc(options['shared_secret'])}</SharedSecret></Credential>"
        f"<UserAgent>{esc(options['user_agent'])}</UserAgent></Sender>"
    )
    w.add(f'</Header><Request deploymentMode="{mode}"><InvoiceDetailRequest>')
    _header(w, invoice, purpose)
    location = invoice.seller.address.country
    w.add("<InvoiceDetailOrder><InvoiceDetailOrderInfo>")
    order = invoice.purchase_order_reference
    if order is not None:
        w.add(
            f'<OrderReference orderID="{esc(order)}">'
            f'<DocumentReference payloadID="{esc(order)}"/></OrderReference>'
        )
    else:
        # No purchase order: the seller's own order (BT-14), else the invoice number.
        own = invoice.sales_order_reference or invoice.number
        w.add(f'<SupplierOrderInfo orderID="{esc(own)}"/>')
    w.add("</InvoiceDetailOrderInfo>")
    for position, line in enumerate(invoice.lines, start=1):
        _item(w, line, position, location)
    w.add("</InvoiceDetailOrder>")
    _summary(w, invoice, location)
    w.add("</InvoiceDetailRequest></Request></cXML>\n")
    return "".join(w.parts).encode("utf-8")
