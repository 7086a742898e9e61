"""Render a completed :class:`Invoice` as a UBL 2.1 Invoice or CreditNote (EN 16931 binding).

Built as escaped text (a list of strings joined once) rather than an lxml tree: several times
faster, and the element order below follows the UBL 2.1 XSD sequences by construction.
Absent values produce no element at all (Peppol R008 forbids empty elements).
"""

from __future__ import annotations

import base64
from collections.abc import Callable
from decimal import Decimal

from gateway.model import (
    Address,
    AllowanceCharge,
    Buyer,
    Contact,
    Identifier,
    Invoice,
    InvoiceLine,
    LineAllowanceCharge,
    Payee,
    PaymentInstructions,
    Period,
    Seller,
    TaxRepresentative,
    Totals,
)
from mappings.ubl.names import (
    CAC_NS,
    CBC_NS,
    CREDIT_NOTE_NS,
    INVOICE_NS,
    INVOICED_OBJECT_CODE,
    LOCAL_TAX_SCHEME,
    NO_CARD_NETWORK,
    NO_ORDER_ID,
    PROJECT_CODE,
    SEPA_SCHEME,
)
from mappings.xmlchars import xml_bytes
from mappings.xmltext import esc as _escape
from mappings.xmltext import given, num

Add = Callable[[str], None]


def esc(text: str) -> str:
    """:func:`mappings.xmltext.esc` with a fast path (most values need no escaping; four
    substring tests are cheaper than ``str.translate``); a carriage return is written as a
    character reference, since XML parsers turn a literal one into a line feed."""
    if "&" in text or "<" in text or ">" in text or '"' in text or "\r" in text:
        return _escape(text).replace("\r", "&#13;")
    return text


def attr(text: str) -> str:
    """``esc`` for attribute values: tabs and line feeds as character references too, since
    attribute-value normalisation would turn them into spaces."""
    text = esc(text)
    if "\n" in text or "\t" in text:
        return text.replace("\n", "&#10;").replace("\t", "&#9;")
    return text


def _id(add: Add, tag: str, ident: Identifier) -> None:
    if ident.scheme:
        add(f'<{tag} schemeID="{attr(ident.scheme)}">{esc(ident.value)}</{tag}>')
    else:
        add(f"<{tag}>{esc(ident.value)}</{tag}>")


def _opt(add: Add, tag: str, value: str | None) -> None:
    if value is not None and given(value):
        add(f"<{tag}>{esc(value)}</{tag}>")


def _address(add: Add, tag: str, address: Address) -> None:
    add(f"<cac:{tag}>")
    _opt(add, "cbc:StreetName", address.line1)
    _opt(add, "cbc:AdditionalStreetName", address.line2)
    _opt(add, "cbc:CityName", address.city)
    _opt(add, "cbc:PostalZone", address.post_code)
    _opt(add, "cbc:CountrySubentity", address.subdivision)
    if address.line3:
        add(f"<cac:AddressLine><cbc:Line>{esc(address.line3)}</cbc:Line></cac:AddressLine>")
    add(
        f"<cac:Country><cbc:IdentificationCode>{esc(address.country)}</cbc:IdentificationCode>"
        f"</cac:Country></cac:{tag}>"
    )


def _contact(add: Add, contact: Contact | None) -> None:
    if contact is None or not (contact.name or contact.phone or contact.email):
        return
    add("<cac:Contact>")
    _opt(add, "cbc:Name", contact.name)
    _opt(add, "cbc:Telephone", contact.phone)
    _opt(add, "cbc:ElectronicMail", contact.email)
    add("</cac:Contact>")


def _party_id(add: Add, ident: Identifier) -> None:
    add("<cac:PartyIdentification>")
    _id(add, "cbc:ID", ident)
    add("</cac:PartyIdentification>")


def _tax_scheme(add: Add, company_id: str, scheme: str) -> None:
    add(
        f"<cac:PartyTaxScheme><cbc:CompanyID>{esc(company_id)}</cbc:CompanyID>"
        f"<cac:TaxScheme><cbc:ID>{scheme}</cbc:ID></cac:TaxScheme></cac:PartyTaxScheme>"
    )


def _endpoint(add: Add, ident: Identifier | None) -> None:
    if ident is not None:
        _id(add, "cbc:EndpointID", ident)


def _legal_entity(
    add: Add, name: str, registration: Identifier | None, legal_form: str | None = None
) -> None:
    add(f"<cac:PartyLegalEntity><cbc:RegistrationName>{esc(name)}</cbc:RegistrationName>")
    if registration is not None:
        _id(add, "cbc:CompanyID", registration)
    _opt(add, "cbc:CompanyLegalForm", legal_form)
    add("</cac:PartyLegalEntity>")


def _seller(add: Add, seller: Seller, creditor_id: str | None) -> None:
    add("<cac:AccountingSupplierParty><cac:Party>")
    _endpoint(add, seller.electronic_address)
    for ident in seller.identifiers:
        _party_id(add, ident)
    if creditor_id:
        _party_id(add, Identifier(value=creditor_id, scheme=SEPA_SCHEME))
    if seller.trading_name is not None and given(seller.trading_name):
        add(f"<cac:PartyName><cbc:Name>{esc(seller.trading_name)}</cbc:Name></cac:PartyName>")
    _address(add, "PostalAddress", seller.address)
    if seller.vat_id:
        _tax_scheme(add, seller.vat_id, "VAT")
    if seller.tax_registration_id:
        _tax_scheme(add, seller.tax_registration_id, LOCAL_TAX_SCHEME)
    _legal_entity(add, seller.name, seller.legal_registration, seller.legal_info)
    _contact(add, seller.contact)
    add("</cac:Party></cac:AccountingSupplierParty>")


def _buyer(add: Add, buyer: Buyer) -> None:
    add("<cac:AccountingCustomerParty><cac:Party>")
    _endpoint(add, buyer.electronic_address)
    if buyer.identifier is not None:
        _party_id(add, buyer.identifier)
    if buyer.trading_name is not None and given(buyer.trading_name):
        add(f"<cac:PartyName><cbc:Name>{esc(buyer.trading_name)}</cbc:Name></cac:PartyName>")
    _address(add, "PostalAddress", buyer.address)
    if buyer.vat_id:
        _tax_scheme(add, buyer.vat_id, "VAT")
    _legal_entity(add, buyer.name, buyer.legal_registration)
    _contact(add, buyer.contact)
    add("</cac:Party></cac:AccountingCustomerParty>")


def _payee(add: Add, payee: Payee, creditor_id: str | None) -> None:
    add("<cac:PayeeParty>")
    if payee.identifier is not None:
        _party_id(add, payee.identifier)
    if creditor_id:
        _party_id(add, Identifier(value=creditor_id, scheme=SEPA_SCHEME))
    add(f"<cac:PartyName><cbc:Name>{esc(payee.name)}</cbc:Name></cac:PartyName>")
    if payee.legal_registration is not None:
        add("<cac:PartyLegalEntity>")
        _id(add, "cbc:CompanyID", payee.legal_registration)
        add("</cac:PartyLegalEntity>")
    add("</cac:PayeeParty>")


def _tax_representative(add: Add, rep: TaxRepresentative) -> None:
    add(f"<cac:TaxRepresentativeParty><cac:PartyName><cbc:Name>{esc(rep.name)}</cbc:Name>")
    add("</cac:PartyName>")
    _address(add, "PostalAddress", rep.address)
    _tax_scheme(add, rep.vat_id, "VAT")
    add("</cac:TaxRepresentativeParty>")


def _period(add: Add, period: Period | None, code: str | None = None) -> None:
    if (period is None or (period.start is None and period.end is None)) and not code:
        return
    add("<cac:InvoicePeriod>")
    if period is not None:
        if period.start is not None:
            add(f"<cbc:StartDate>{period.start.isoformat()}</cbc:StartDate>")
        if period.end is not None:
            add(f"<cbc:EndDate>{period.end.isoformat()}</cbc:EndDate>")
    _opt(add, "cbc:DescriptionCode", code)
    add("</cac:InvoicePeriod>")


def _tax_category(add: Add, tag: str, category: str, rate: Decimal | None) -> None:
    add(f"<cac:{tag}><cbc:ID>{esc(category)}</cbc:ID>")
    if rate is not None:
        add(f"<cbc:Percent>{num(rate)}</cbc:Percent>")
    add(f"<cac:TaxScheme><cbc:ID>VAT</cbc:ID></cac:TaxScheme></cac:{tag}>")


def _allowance_charge(
    add: Add,
    entry: AllowanceCharge | LineAllowanceCharge,
    charge: bool,
    cur: str,
) -> None:
    add(f"<cac:AllowanceCharge><cbc:ChargeIndicator>{'true' if charge else 'false'}")
    add("</cbc:ChargeIndicator>")
    _opt(add, "cbc:AllowanceChargeReasonCode", entry.reason_code)
    _opt(add, "cbc:AllowanceChargeReason", entry.reason)
    if entry.percentage is not None:
        add(f"<cbc:MultiplierFactorNumeric>{num(entry.percentage)}</cbc:MultiplierFactorNumeric>")
    add(f'<cbc:Amount currencyID="{cur}">{num(entry.amount)}</cbc:Amount>')
    if entry.base_amount is not None:
        add(f'<cbc:BaseAmount currencyID="{cur}">{num(entry.base_amount)}</cbc:BaseAmount>')
    if isinstance(entry, AllowanceCharge):
        _tax_category(add, "TaxCategory", entry.vat_category, entry.vat_rate)
    add("</cac:AllowanceCharge>")


def _references(add: Add, invoice: Invoice, credit_note: bool) -> None:
    if invoice.purchase_order_reference or invoice.sales_order_reference:
        add(
            f"<cac:OrderReference><cbc:ID>"
            f"{esc(invoice.purchase_order_reference or NO_ORDER_ID)}</cbc:ID>"
        )
        _opt(add, "cbc:SalesOrderID", invoice.sales_order_reference)
        add("</cac:OrderReference>")
    for preceding in invoice.preceding_invoices:
        add(f"<cac:BillingReference><cac:InvoiceDocumentReference><cbc:ID>{esc(preceding.number)}")
        add("</cbc:ID>")
        if preceding.issue_date is not None:
            add(f"<cbc:IssueDate>{preceding.issue_date.isoformat()}</cbc:IssueDate>")
        add("</cac:InvoiceDocumentReference></cac:BillingReference>")
    if invoice.despatch_advice_reference:
        add("<cac:DespatchDocumentReference>")
        _opt(add, "cbc:ID", invoice.despatch_advice_reference)
        add("</cac:DespatchDocumentReference>")
    if invoice.receiving_advice_reference:
        add("<cac:ReceiptDocumentReference>")
        _opt(add, "cbc:ID", invoice.receiving_advice_reference)
        add("</cac:ReceiptDocumentReference>")
    if not credit_note:
        _originator(add, invoice)
    if given(invoice.contract_reference):
        add("<cac:ContractDocumentReference>")
        _opt(add, "cbc:ID", invoice.contract_reference)
        add("</cac:ContractDocumentReference>")
    _additional_documents(add, invoice, credit_note)
    if credit_note:
        _originator(add, invoice)
    elif given(invoice.project_reference):
        add("<cac:ProjectReference>")
        _opt(add, "cbc:ID", invoice.project_reference)
        add("</cac:ProjectReference>")


def _originator(add: Add, invoice: Invoice) -> None:
    if given(invoice.tender_reference):
        add("<cac:OriginatorDocumentReference>")
        _opt(add, "cbc:ID", invoice.tender_reference)
        add("</cac:OriginatorDocumentReference>")


def _additional_documents(add: Add, invoice: Invoice, credit_note: bool) -> None:
    if invoice.invoiced_object is not None:
        add("<cac:AdditionalDocumentReference>")
        _id(add, "cbc:ID", invoice.invoiced_object)
        add(f"<cbc:DocumentTypeCode>{INVOICED_OBJECT_CODE}</cbc:DocumentTypeCode>")
        add("</cac:AdditionalDocumentReference>")
    if credit_note and given(invoice.project_reference):
        add(f"<cac:AdditionalDocumentReference><cbc:ID>{esc(invoice.project_reference)}</cbc:ID>")
        add(f"<cbc:DocumentTypeCode>{PROJECT_CODE}</cbc:DocumentTypeCode>")
        add("</cac:AdditionalDocumentReference>")
    for doc in invoice.supporting_documents:
        add(f"<cac:AdditionalDocumentReference><cbc:ID>{esc(doc.reference)}</cbc:ID>")
        _opt(add, "cbc:DocumentDescription", doc.description)
        if doc.attachment is not None or doc.external_uri:
            add("<cac:Attachment>")
            att = doc.attachment
            if att is not None:
                add(
                    f'<cbc:EmbeddedDocumentBinaryObject mimeCode="{attr(att.mime_code)}" '
                    f'filename="{attr(att.filename)}">'
                    f"{base64.b64encode(att.content).decode('ascii')}"
                    "</cbc:EmbeddedDocumentBinaryObject>"
                )
            if doc.external_uri:
                add(f"<cac:ExternalReference><cbc:URI>{esc(doc.external_uri)}</cbc:URI>")
                add("</cac:ExternalReference>")
            add("</cac:Attachment>")
        add("</cac:AdditionalDocumentReference>")


def _delivery(add: Add, invoice: Invoice) -> None:
    delivery = invoice.delivery
    if delivery is None:
        return
    if not (delivery.date or delivery.location or delivery.address or delivery.party_name):
        return
    add("<cac:Delivery>")
    if delivery.date is not None:
        add(f"<cbc:ActualDeliveryDate>{delivery.date.isoformat()}</cbc:ActualDeliveryDate>")
    if delivery.location is not None or delivery.address is not None:
        add("<cac:DeliveryLocation>")
        if delivery.location is not None:
            _id(add, "cbc:ID", delivery.location)
        if delivery.address is not None:
            _address(add, "Address", delivery.address)
        add("</cac:DeliveryLocation>")
    if delivery.party_name:
        add(f"<cac:DeliveryParty><cac:PartyName><cbc:Name>{esc(delivery.party_name)}</cbc:Name>")
        add("</cac:PartyName></cac:DeliveryParty>")
    add("</cac:Delivery>")


def _payment_means(add: Add, invoice: Invoice, payment: PaymentInstructions) -> None:
    # One PaymentMeans per credit transfer account (BG-17 repeats); card and mandate go to
    # the first. A CreditNote has no DueDate: BT-9 travels as PaymentMeans/PaymentDueDate.
    transfers = payment.credit_transfers or (None,)
    # BT-82 (the code's @name) is written once, on the first PaymentMeans (UBL-SR-46).
    code = esc(payment.means_code)
    plain_code = f"<cbc:PaymentMeansCode>{code}</cbc:PaymentMeansCode>"
    first_code = plain_code
    if payment.means_text:
        name = attr(payment.means_text)
        first_code = f'<cbc:PaymentMeansCode name="{name}">{code}</cbc:PaymentMeansCode>'
    due = invoice.due_date if invoice.is_credit_note else None
    for index, transfer in enumerate(transfers):
        add(f"<cac:PaymentMeans>{first_code if index == 0 else plain_code}")
        if due is not None:
            add(f"<cbc:PaymentDueDate>{due.isoformat()}</cbc:PaymentDueDate>")
        _opt(add, "cbc:PaymentID", payment.remittance_info)
        card = payment.card if index == 0 else None
        if card is not None:
            add(
                f"<cac:CardAccount><cbc:PrimaryAccountNumberID>{esc(card.pan_last_digits)}"
                f"</cbc:PrimaryAccountNumberID><cbc:NetworkID>{NO_CARD_NETWORK}</cbc:NetworkID>"
            )
            _opt(add, "cbc:HolderName", card.holder_name)
            add("</cac:CardAccount>")
        if transfer is not None:
            add(f"<cac:PayeeFinancialAccount><cbc:ID>{esc(transfer.account_id)}</cbc:ID>")
            _opt(add, "cbc:Name", transfer.account_name)
            if transfer.provider_id:
                add(
                    f"<cac:FinancialInstitutionBranch><cbc:ID>{esc(transfer.provider_id)}"
                    "</cbc:ID></cac:FinancialInstitutionBranch>"
                )
            add("</cac:PayeeFinancialAccount>")
        debit = payment.direct_debit if index == 0 else None
        if debit is not None and (debit.mandate_reference or debit.debited_account):
            add("<cac:PaymentMandate>")
            _opt(add, "cbc:ID", debit.mandate_reference)
            if debit.debited_account:
                add(
                    f"<cac:PayerFinancialAccount><cbc:ID>{esc(debit.debited_account)}</cbc:ID>"
                    "</cac:PayerFinancialAccount>"
                )
            add("</cac:PaymentMandate>")
        add("</cac:PaymentMeans>")


def _amount(add: Add, tag: str, value: Decimal | None, cur: str) -> None:
    if value is not None:
        add(f'<cbc:{tag} currencyID="{cur}">{num(value)}</cbc:{tag}>')


def _tax_totals(add: Add, invoice: Invoice, totals: Totals, cur: str) -> None:
    vat = totals.vat if totals.vat is not None else Decimal("0.00")
    add(f'<cac:TaxTotal><cbc:TaxAmount currencyID="{cur}">{num(vat)}</cbc:TaxAmount>')
    for entry in invoice.vat_breakdown:
        add("<cac:TaxSubtotal>")
        _amount(add, "TaxableAmount", entry.taxable_amount, cur)
        _amount(add, "TaxAmount", entry.tax_amount, cur)
        add(f"<cac:TaxCategory><cbc:ID>{esc(entry.category)}</cbc:ID>")
        if entry.rate is not None:
            add(f"<cbc:Percent>{num(entry.rate)}</cbc:Percent>")
        _opt(add, "cbc:TaxExemptionReasonCode", entry.exemption_reason_code)
        _opt(add, "cbc:TaxExemptionReason", entry.exemption_reason)
        add(
            "<cac:TaxScheme><cbc:ID>VAT</cbc:ID></cac:TaxScheme></cac:TaxCategory></cac:TaxSubtotal>"
        )
    add("</cac:TaxTotal>")
    tax_cur = invoice.tax_currency
    if tax_cur and tax_cur != invoice.currency and totals.vat_in_accounting_currency is not None:
        tax_cur = esc(tax_cur)
        add(
            f'<cac:TaxTotal><cbc:TaxAmount currencyID="{tax_cur}">'
            f"{num(totals.vat_in_accounting_currency)}</cbc:TaxAmount></cac:TaxTotal>"
        )


def _monetary_total(add: Add, totals: Totals, cur: str) -> None:
    add("<cac:LegalMonetaryTotal>")
    _amount(add, "LineExtensionAmount", totals.line_net, cur)
    _amount(add, "TaxExclusiveAmount", totals.without_vat, cur)
    _amount(add, "TaxInclusiveAmount", totals.with_vat, cur)
    _amount(add, "AllowanceTotalAmount", totals.allowances, cur)
    _amount(add, "ChargeTotalAmount", totals.charges, cur)
    _amount(add, "PrepaidAmount", totals.prepaid, cur)
    _amount(add, "PayableRoundingAmount", totals.rounding, cur)
    _amount(add, "PayableAmount", totals.due, cur)
    add("</cac:LegalMonetaryTotal>")


def _line(add: Add, line: InvoiceLine, cur: str, line_tag: str, qty_tag: str) -> None:
    add(f"<cac:{line_tag}><cbc:ID>{esc(line.id)}</cbc:ID>")
    _opt(add, "cbc:Note", line.note)
    add(f'<cbc:{qty_tag} unitCode="{attr(line.unit)}">{num(line.quantity)}</cbc:{qty_tag}>')
    net = line.net_amount if line.net_amount is not None else Decimal("0.00")
    add(f'<cbc:LineExtensionAmount currencyID="{cur}">{num(net)}</cbc:LineExtensionAmount>')
    _opt(add, "cbc:AccountingCost", line.accounting_reference)
    _period(add, line.period)
    if line.order_line_reference:
        add(f"<cac:OrderLineReference><cbc:LineID>{esc(line.order_line_reference)}</cbc:LineID>")
        add("</cac:OrderLineReference>")
    if line.object_id is not None:
        add("<cac:DocumentReference>")
        _id(add, "cbc:ID", line.object_id)
        add(f"<cbc:DocumentTypeCode>{INVOICED_OBJECT_CODE}</cbc:DocumentTypeCode>")
        add("</cac:DocumentReference>")
    for allowance in line.allowances:
        _allowance_charge(add, allowance, False, cur)
    for charge in line.charges:
        _allowance_charge(add, charge, True, cur)
    item = line.item
    add("<cac:Item>")
    _opt(add, "cbc:Description", item.description)
    add(f"<cbc:Name>{esc(item.name)}</cbc:Name>")
    if item.buyer_id:
        add(f"<cac:BuyersItemIdentification><cbc:ID>{esc(item.buyer_id)}</cbc:ID>")
        add("</cac:BuyersItemIdentification>")
    if item.seller_id:
        add(f"<cac:SellersItemIdentification><cbc:ID>{esc(item.seller_id)}</cbc:ID>")
        add("</cac:SellersItemIdentification>")
    if item.standard_id is not None:
        add("<cac:StandardItemIdentification>")
        _id(add, "cbc:ID", item.standard_id)
        add("</cac:StandardItemIdentification>")
    if item.origin_country:
        add(f"<cac:OriginCountry><cbc:IdentificationCode>{esc(item.origin_country)}")
        add("</cbc:IdentificationCode></cac:OriginCountry>")
    for cls in item.classifications:
        version = f' listVersionID="{attr(cls.version)}"' if cls.version else ""
        add(
            f'<cac:CommodityClassification><cbc:ItemClassificationCode listID="{attr(cls.scheme)}"'
            f"{version}>{esc(cls.value)}</cbc:ItemClassificationCode></cac:CommodityClassification>"
        )
    _tax_category(add, "ClassifiedTaxCategory", line.vat_category, line.vat_rate)
    for prop in item.attributes:
        add(f"<cac:AdditionalItemProperty><cbc:Name>{esc(prop.name)}</cbc:Name>")
        add(f"<cbc:Value>{esc(prop.value)}</cbc:Value></cac:AdditionalItemProperty>")
    add("</cac:Item>")
    price = line.price
    add(f'<cac:Price><cbc:PriceAmount currencyID="{cur}">{num(price.net)}</cbc:PriceAmount>')
    if price.base_quantity is not None:
        unit = price.base_quantity_unit
        unit_attr = f' unitCode="{attr(unit)}"' if unit else ""
        add(f"<cbc:BaseQuantity{unit_attr}>{num(price.base_quantity)}</cbc:BaseQuantity>")
    if price.discount is not None or price.gross is not None:
        # UBL requires Amount; with only the gross price given, the discount is gross - net.
        discount = price.discount
        if discount is None and price.gross is not None:
            discount = price.gross - price.net
        add("<cac:AllowanceCharge><cbc:ChargeIndicator>false</cbc:ChargeIndicator>")
        _amount(add, "Amount", discount, cur)
        _amount(add, "BaseAmount", price.gross, cur)
        add("</cac:AllowanceCharge>")
    add(f"</cac:Price></cac:{line_tag}>")


def render_ubl(invoice: Invoice, customization_id: str, profile_id: str | None) -> bytes:
    """UTF-8 UBL 2.1 bytes for a completed ``invoice`` (see :func:`gateway.totals.complete`).

    A credit-note type code (``invoice.is_credit_note``) gives a ``CreditNote`` document.
    ``customization_id`` is written as BT-24 and ``profile_id`` (when given) as BT-23; the
    ``specification_id``/``business_process`` of the invoice are not read here.
    """
    credit_note = invoice.is_credit_note
    out: list[str] = []
    add = out.append
    cur = esc(invoice.currency)
    root = "CreditNote" if credit_note else "Invoice"
    add(
        f'<?xml version="1.0" encoding="UTF-8"?>\n<{root} '
        f'xmlns="{CREDIT_NOTE_NS if credit_note else INVOICE_NS}" '
        f'xmlns:cac="{CAC_NS}" xmlns:cbc="{CBC_NS}">'
    )
    add(f"<cbc:CustomizationID>{esc(customization_id)}</cbc:CustomizationID>")
    _opt(add, "cbc:ProfileID", profile_id)
    add(f"<cbc:ID>{esc(invoice.number)}</cbc:ID>")
    add(f"<cbc:IssueDate>{invoice.issue_date.isoformat()}</cbc:IssueDate>")
    tax_point = invoice.tax_point_date
    if credit_note:
        if tax_point is not None:
            add(f"<cbc:TaxPointDate>{tax_point.isoformat()}</cbc:TaxPointDate>")
        add(f"<cbc:CreditNoteTypeCode>{esc(invoice.type_code)}</cbc:CreditNoteTypeCode>")
    else:
        if invoice.due_date is not None:
            add(f"<cbc:DueDate>{invoice.due_date.isoformat()}</cbc:DueDate>")
        add(f"<cbc:InvoiceTypeCode>{esc(invoice.type_code)}</cbc:InvoiceTypeCode>")
    for note in invoice.notes:
        # EN 16931-3-2: the subject code (BT-21) prefixes the text as "#CODE#".
        text = f"#{note.subject_code}#{note.text}" if note.subject_code else note.text
        add(f"<cbc:Note>{esc(text)}</cbc:Note>")
    if not credit_note and tax_point is not None:
        add(f"<cbc:TaxPointDate>{tax_point.isoformat()}</cbc:TaxPointDate>")
    add(f"<cbc:DocumentCurrencyCode>{cur}</cbc:DocumentCurrencyCode>")
    _opt(add, "cbc:TaxCurrencyCode", invoice.tax_currency)
    _opt(add, "cbc:AccountingCost", invoice.buyer_accounting_reference)
    _opt(add, "cbc:BuyerReference", invoice.buyer_reference)
    _period(add, invoice.invoice_period, invoice.tax_point_date_code)
    _references(add, invoice, credit_note)
    payment = invoice.payment
    debit = payment.direct_debit if payment is not None else None
    creditor_id = debit.creditor_id if debit is not None else None
    _seller(add, invoice.seller, None if invoice.payee is not None else creditor_id)
    _buyer(add, invoice.buyer)
    if invoice.payee is not None:
        _payee(add, invoice.payee, creditor_id)
    if invoice.tax_representative is not None:
        _tax_representative(add, invoice.tax_representative)
    _delivery(add, invoice)
    if payment is not None:
        _payment_means(add, invoice, payment)
    if given(invoice.payment_terms):
        add(
            f"<cac:PaymentTerms><cbc:Note>{esc(invoice.payment_terms)}</cbc:Note></cac:PaymentTerms>"
        )
    for allowance in invoice.allowances:
        _allowance_charge(add, allowance, False, cur)
    for charge in invoice.charges:
        _allowance_charge(add, charge, True, cur)
    totals = invoice.totals or Totals()
    _tax_totals(add, invoice, totals, cur)
    _monetary_total(add, totals, cur)
    if credit_note:
        line_tag, qty_tag = "CreditNoteLine", "CreditedQuantity"
    else:
        line_tag, qty_tag = "InvoiceLine", "InvoicedQuantity"
    for line in invoice.lines:
        _line(add, line, cur, line_tag, qty_tag)
    add(f"</{root}>")
    return xml_bytes("".join(out), invoice)
