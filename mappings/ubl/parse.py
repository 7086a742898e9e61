"""Parse any EN 16931-conformant UBL 2.1 Invoice or CreditNote into the canonical :class:`Invoice`.

Amounts and totals are taken as given (never recomputed). Every failure is a
:class:`ParseError` whose location is the element path in the document, e.g.
``/Invoice/cac:InvoiceLine[3]/cbc:InvoicedQuantity``, or ``line N, column M`` for malformed XML.
"""

from __future__ import annotations

import base64
import binascii
import re
from typing import Any

from lxml import etree

from gateway.errors import ParseError
from gateway.model import (
    Address,
    AllowanceCharge,
    Attachment,
    Buyer,
    Contact,
    CreditTransfer,
    Delivery,
    DirectDebit,
    Identifier,
    Invoice,
    InvoiceLine,
    Item,
    ItemAttribute,
    ItemClassification,
    LineAllowanceCharge,
    Note,
    Payee,
    PaymentCard,
    PaymentInstructions,
    Period,
    PrecedingInvoice,
    Price,
    Seller,
    SupportingDocument,
    TaxRepresentative,
    Totals,
    VatBreakdown,
)
from mappings.numbers import PERCENT, QUANTITY, check_line_amounts
from mappings.ubl.names import (
    CREDIT_NOTE_NS,
    INVOICE_NS,
    INVOICED_OBJECT_CODE,
    NO_ORDER_ID,
    PROJECT_CODE,
    SEPA_SCHEME,
)
from mappings.ubl.xmlread import (
    NS,
    Element,
    build,
    date,
    decimal,
    decimal_of,
    has_text,
    ident,
    need,
    need_date,
    need_decimal,
    path_of,
    read_xml,
    text,
    where,
)

_ROOTS = {f"{{{INVOICE_NS}}}Invoice": False, f"{{{CREDIT_NOTE_NS}}}CreditNote": True}
_NOTE_SUBJECT = re.compile(r"^#([A-Z]{3})#(.+)$", re.DOTALL)  # UNTDID 4451 code
_TRUE = {"true", "1"}


def _address(el: Element | None, what: str) -> Address | None:
    if el is None:
        return None
    return build(
        Address,
        el,
        line1=text(el, "cbc:StreetName"),
        line2=text(el, "cbc:AdditionalStreetName"),
        line3=text(el, "cac:AddressLine/cbc:Line"),
        city=text(el, "cbc:CityName"),
        post_code=text(el, "cbc:PostalZone"),
        subdivision=text(el, "cbc:CountrySubentity"),
        country=need(el, "cac:Country/cbc:IdentificationCode", f"{what} country code"),
    )


def _need_address(party: Element, rel: str, what: str) -> Address:
    found = party.find(rel, NS)
    if found is None:
        raise ParseError(f"missing mandatory element: expected {what}", where(party, rel))
    address = _address(found, what)
    assert address is not None
    return address


def _contact(party: Element) -> Contact | None:
    el = party.find("cac:Contact", NS)
    if el is None:
        return None
    name, phone, email = (
        text(el, "cbc:Name"),
        text(el, "cbc:Telephone"),
        text(el, "cbc:ElectronicMail"),
    )
    if not (name or phone or email):
        return None
    return Contact(name=name, phone=phone, email=email)


def _tax_ids(party: Element) -> tuple[str | None, str | None]:
    """(VAT identifier, other tax registration identifier) from PartyTaxScheme."""
    vat = other = None
    for scheme in party.iterfind("cac:PartyTaxScheme", NS):
        company_id = text(scheme, "cbc:CompanyID")
        if company_id is None:
            continue
        if (text(scheme, "cac:TaxScheme/cbc:ID") or "").strip().upper() == "VAT":
            vat = vat or company_id
        else:
            other = other or company_id
    return vat, other


def _party_ids(party: Element) -> tuple[list[Identifier], str | None]:
    """(PartyIdentification ids other than SEPA, SEPA creditor id)."""
    ids: list[Identifier] = []
    sepa = None
    for el in party.iterfind("cac:PartyIdentification/cbc:ID", NS):
        if el.text is None or not el.text.strip():
            continue
        scheme = el.get("schemeID") or None
        if scheme is not None and scheme.strip().upper() == SEPA_SCHEME:
            sepa = sepa or el.text
        else:
            ids.append(Identifier(value=el.text, scheme=scheme))
    return ids, sepa


def _seller(root: Element, has_payment: bool) -> tuple[Seller, str | None]:
    party = root.find("cac:AccountingSupplierParty/cac:Party", NS)
    if party is None:
        raise ParseError(
            "missing mandatory element: expected the seller (BG-4)",
            where(root, "cac:AccountingSupplierParty/cac:Party"),
        )
    ids, sepa = _party_ids(party)
    if sepa is not None and not has_payment:
        # BT-90 lives in BG-19, which needs payment instructions; keep it as an identifier.
        ids.append(Identifier(value=sepa, scheme=SEPA_SCHEME))
        sepa = None
    vat, other = _tax_ids(party)
    seller = build(
        Seller,
        party,
        name=need(party, "cac:PartyLegalEntity/cbc:RegistrationName", "seller name (BT-27)"),
        trading_name=text(party, "cac:PartyName/cbc:Name"),
        identifiers=tuple(ids),
        legal_registration=ident(party, "cac:PartyLegalEntity/cbc:CompanyID"),
        vat_id=vat,
        tax_registration_id=other,
        legal_info=text(party, "cac:PartyLegalEntity/cbc:CompanyLegalForm"),
        electronic_address=ident(party, "cbc:EndpointID"),
        address=_need_address(party, "cac:PostalAddress", "seller postal address (BG-5)"),
        contact=_contact(party),
    )
    return seller, sepa


def _buyer(root: Element) -> Buyer:
    party = root.find("cac:AccountingCustomerParty/cac:Party", NS)
    if party is None:
        raise ParseError(
            "missing mandatory element: expected the buyer (BG-7)",
            where(root, "cac:AccountingCustomerParty/cac:Party"),
        )
    ids, _sepa = _party_ids(party)
    vat, _ = _tax_ids(party)
    return build(
        Buyer,
        party,
        name=need(party, "cac:PartyLegalEntity/cbc:RegistrationName", "buyer name (BT-44)"),
        trading_name=text(party, "cac:PartyName/cbc:Name"),
        identifier=ids[0] if ids else None,
        legal_registration=ident(party, "cac:PartyLegalEntity/cbc:CompanyID"),
        vat_id=vat,
        electronic_address=ident(party, "cbc:EndpointID"),
        address=_need_address(party, "cac:PostalAddress", "buyer postal address (BG-8)"),
        contact=_contact(party),
    )


def _payee(root: Element, has_payment: bool) -> tuple[Payee | None, str | None]:
    party = root.find("cac:PayeeParty", NS)
    if party is None:
        return None, None
    ids, sepa = _party_ids(party)
    if sepa is not None and not has_payment:
        ids.insert(0, Identifier(value=sepa, scheme=SEPA_SCHEME))
        sepa = None
    payee = build(
        Payee,
        party,
        name=need(party, "cac:PartyName/cbc:Name", "payee name (BT-59)"),
        identifier=ids[0] if ids else None,
        legal_registration=ident(party, "cac:PartyLegalEntity/cbc:CompanyID"),
    )
    return payee, sepa


def _tax_representative(root: Element) -> TaxRepresentative | None:
    party = root.find("cac:TaxRepresentativeParty", NS)
    if party is None:
        return None
    vat, _ = _tax_ids(party)
    if vat is None:
        raise ParseError(
            "missing mandatory element: expected the tax representative VAT identifier (BT-63)",
            where(party, "cac:PartyTaxScheme/cbc:CompanyID"),
        )
    return build(
        TaxRepresentative,
        party,
        name=need(party, "cac:PartyName/cbc:Name", "tax representative name (BT-62)"),
        vat_id=vat,
        address=_need_address(
            party, "cac:PostalAddress", "tax representative postal address (BG-12)"
        ),
    )


def _delivery(root: Element) -> Delivery | None:
    el = root.find("cac:Delivery", NS)
    if el is None:
        return None
    location = el.find("cac:DeliveryLocation", NS)
    delivery = Delivery(
        party_name=text(el, "cac:DeliveryParty/cac:PartyName/cbc:Name"),
        location=None if location is None else ident(location, "cbc:ID"),
        date=date(el, "cbc:ActualDeliveryDate"),
        address=None
        if location is None
        else _address(location.find("cac:Address", NS), "deliver-to address"),
    )
    if delivery == Delivery():
        return None
    return delivery


def _period(el: Element | None) -> Period | None:
    if el is None:
        return None
    start, end = date(el, "cbc:StartDate"), date(el, "cbc:EndDate")
    if start is None and end is None:
        return None
    return Period(start=start, end=end)


def _payment(root: Element, creditor_id: str | None) -> PaymentInstructions | None:
    means = root.findall("cac:PaymentMeans", NS)
    if not means:
        return None
    first = means[0]
    code_el = first.find("cbc:PaymentMeansCode", NS)
    code = need(first, "cbc:PaymentMeansCode", "payment means type code (BT-81)")
    remittance = next((t for t in (text(m, "cbc:PaymentID") for m in means) if t is not None), None)
    transfers: list[CreditTransfer] = []
    card: PaymentCard | None = None
    mandate_ref = debited = None
    for m in means:
        for account in m.iterfind("cac:PayeeFinancialAccount", NS):
            transfers.append(
                build(
                    CreditTransfer,
                    account,
                    account_id=need(account, "cbc:ID", "payment account identifier (BT-84)"),
                    account_name=text(account, "cbc:Name"),
                    provider_id=text(account, "cac:FinancialInstitutionBranch/cbc:ID"),
                )
            )
        card_el = m.find("cac:CardAccount", NS)
        if card is None and card_el is not None:
            card = build(
                PaymentCard,
                card_el,
                pan_last_digits=need(
                    card_el, "cbc:PrimaryAccountNumberID", "payment card number (BT-87)"
                ),
                holder_name=text(card_el, "cbc:HolderName"),
            )
        mandate = m.find("cac:PaymentMandate", NS)
        if mandate is not None and mandate_ref is None and debited is None:
            mandate_ref = text(mandate, "cbc:ID")
            debited = text(mandate, "cac:PayerFinancialAccount/cbc:ID")
    debit = None
    if mandate_ref or debited or creditor_id:
        debit = DirectDebit(
            mandate_reference=mandate_ref, creditor_id=creditor_id, debited_account=debited
        )
    name = code_el.get("name") if code_el is not None else None
    return build(
        PaymentInstructions,
        first,
        means_code=code,
        means_text=name or None,
        remittance_info=remittance,
        credit_transfers=tuple(transfers),
        card=card,
        direct_debit=debit,
    )


_Fields = list[tuple[dict[str, Any], Element]]


def _allowance_charges(parent: Element, document_level: bool) -> tuple[_Fields, _Fields]:
    """(allowances, charges) as (field dict, element) for the AllowanceCharge children."""
    allowances: _Fields = []
    charges: _Fields = []
    for el in parent.iterfind("cac:AllowanceCharge", NS):
        indicator = need(el, "cbc:ChargeIndicator", "ChargeIndicator true or false")
        flag = indicator.strip().lower()
        if flag not in {"true", "false", "1", "0"}:
            raise ParseError(
                f"expected ChargeIndicator true or false, got {indicator!r}",
                where(el, "cbc:ChargeIndicator"),
            )
        values: dict[str, Any] = {
            "amount": need_decimal(el, "cbc:Amount", "allowance/charge amount"),
            "base_amount": decimal(el, "cbc:BaseAmount"),
            "percentage": decimal(el, "cbc:MultiplierFactorNumeric", PERCENT),
            "reason": text(el, "cbc:AllowanceChargeReason"),
            "reason_code": text(el, "cbc:AllowanceChargeReasonCode"),
        }
        if document_level:
            values["vat_category"] = need(
                el, "cac:TaxCategory/cbc:ID", "VAT category code (BT-95/BT-102)"
            )
            values["vat_rate"] = decimal(el, "cac:TaxCategory/cbc:Percent", PERCENT)
        (charges if flag in _TRUE else allowances).append((values, el))
    return allowances, charges


def _vat_breakdown(root: Element, currency: str) -> list[VatBreakdown]:
    result: list[VatBreakdown] = []
    for total in root.iterfind("cac:TaxTotal", NS):
        for sub in total.iterfind("cac:TaxSubtotal", NS):
            result.append(
                build(
                    VatBreakdown,
                    sub,
                    taxable_amount=need_decimal(
                        sub, "cbc:TaxableAmount", "VAT category taxable amount (BT-116)"
                    ),
                    tax_amount=need_decimal(
                        sub, "cbc:TaxAmount", "VAT category tax amount (BT-117)"
                    ),
                    category=need(sub, "cac:TaxCategory/cbc:ID", "VAT category code (BT-118)"),
                    rate=decimal(sub, "cac:TaxCategory/cbc:Percent", PERCENT),
                    exemption_reason=text(sub, "cac:TaxCategory/cbc:TaxExemptionReason"),
                    exemption_reason_code=text(sub, "cac:TaxCategory/cbc:TaxExemptionReasonCode"),
                )
            )
    return result


def _totals(root: Element, currency: str, tax_currency: str | None) -> Totals:
    vat = vat_accounting = None
    for total in root.iterfind("cac:TaxTotal", NS):
        amount_el = total.find("cbc:TaxAmount", NS)
        if amount_el is None:
            raise ParseError(
                "missing mandatory element: expected TaxAmount", where(total, "cbc:TaxAmount")
            )
        amount = decimal_of(amount_el)
        in_tax_currency = (
            tax_currency is not None
            and tax_currency != currency
            and amount_el.get("currencyID") == tax_currency
        )
        if in_tax_currency and total.find("cac:TaxSubtotal", NS) is None:
            vat_accounting = amount
        elif vat is None:
            vat = amount
    lmt = root.find("cac:LegalMonetaryTotal", NS)
    if lmt is None:
        raise ParseError(
            "missing mandatory element: expected the document totals (BG-22)",
            where(root, "cac:LegalMonetaryTotal"),
        )
    return Totals(
        line_net=need_decimal(lmt, "cbc:LineExtensionAmount", "sum of line net amounts (BT-106)"),
        allowances=decimal(lmt, "cbc:AllowanceTotalAmount"),
        charges=decimal(lmt, "cbc:ChargeTotalAmount"),
        without_vat=need_decimal(
            lmt, "cbc:TaxExclusiveAmount", "total amount without VAT (BT-109)"
        ),
        vat=vat,
        vat_in_accounting_currency=vat_accounting,
        with_vat=need_decimal(lmt, "cbc:TaxInclusiveAmount", "total amount with VAT (BT-112)"),
        prepaid=decimal(lmt, "cbc:PrepaidAmount"),
        rounding=decimal(lmt, "cbc:PayableRoundingAmount"),
        due=need_decimal(lmt, "cbc:PayableAmount", "amount due for payment (BT-115)"),
    )


def _documents(
    root: Element, credit_note: bool
) -> tuple[Identifier | None, str | None, list[SupportingDocument]]:
    """(invoiced object BT-18, CreditNote project reference BT-11, supporting documents BG-24)."""
    invoiced_object: Identifier | None = None
    project: str | None = None
    docs: list[SupportingDocument] = []
    for el in root.iterfind("cac:AdditionalDocumentReference", NS):
        type_code = (text(el, "cbc:DocumentTypeCode") or "").strip()
        if type_code == INVOICED_OBJECT_CODE and invoiced_object is None:
            invoiced_object = ident(el, "cbc:ID")
            continue
        if credit_note and type_code == PROJECT_CODE and project is None:
            project = text(el, "cbc:ID")
            continue
        attachment = None
        binary = el.find("cac:Attachment/cbc:EmbeddedDocumentBinaryObject", NS)
        if binary is not None:
            try:
                content = base64.b64decode("".join((binary.text or "").split()), validate=True)
            except (binascii.Error, ValueError):
                raise ParseError(
                    "expected base64 content in EmbeddedDocumentBinaryObject", path_of(binary)
                ) from None
            attachment = build(
                Attachment,
                binary,
                content=content,
                mime_code=binary.get("mimeCode"),
                filename=binary.get("filename"),
            )
        docs.append(
            build(
                SupportingDocument,
                el,
                reference=need(el, "cbc:ID", "supporting document reference (BT-122)"),
                description=text(el, "cbc:DocumentDescription"),
                external_uri=text(el, "cac:Attachment/cac:ExternalReference/cbc:URI"),
                attachment=attachment,
            )
        )
    return invoiced_object, project, docs


def _item(line: Element) -> Item:
    item = line.find("cac:Item", NS)
    if item is None:
        raise ParseError(
            "missing mandatory element: expected the item (BG-31)", where(line, "cac:Item")
        )
    classifications = []
    for code in item.iterfind("cac:CommodityClassification/cbc:ItemClassificationCode", NS):
        if code.text is None or not code.text.strip():
            continue
        classifications.append(
            build(
                ItemClassification,
                code,
                value=code.text,
                scheme=code.get("listID"),
                version=code.get("listVersionID") or None,
            )
        )
    attributes = [
        build(
            ItemAttribute,
            prop,
            name=need(prop, "cbc:Name", "item attribute name (BT-160)"),
            value=text(prop, "cbc:Value") or "",
        )
        for prop in item.iterfind("cac:AdditionalItemProperty", NS)
    ]
    return build(
        Item,
        item,
        name=need(item, "cbc:Name", "item name (BT-153)"),
        description=text(item, "cbc:Description"),
        seller_id=text(item, "cac:SellersItemIdentification/cbc:ID"),
        buyer_id=text(item, "cac:BuyersItemIdentification/cbc:ID"),
        standard_id=ident(item, "cac:StandardItemIdentification/cbc:ID"),
        classifications=tuple(classifications),
        origin_country=text(item, "cac:OriginCountry/cbc:IdentificationCode"),
        attributes=tuple(attributes),
    )


def _price(line: Element) -> Price:
    price = line.find("cac:Price", NS)
    if price is None:
        raise ParseError(
            "missing mandatory element: expected the price details (BG-29)",
            where(line, "cac:Price"),
        )
    base = price.find("cbc:BaseQuantity", NS)
    discount_el = price.find("cac:AllowanceCharge", NS)
    return build(
        Price,
        price,
        net=need_decimal(price, "cbc:PriceAmount", "item net price (BT-146)"),
        discount=None if discount_el is None else decimal(discount_el, "cbc:Amount"),
        gross=None if discount_el is None else decimal(discount_el, "cbc:BaseAmount"),
        base_quantity=decimal(price, "cbc:BaseQuantity", QUANTITY),
        base_quantity_unit=None if base is None else base.get("unitCode") or None,
    )


def _line(line: Element, qty_tag: str) -> InvoiceLine:
    quantity = line.find(qty_tag, NS)
    if quantity is None:
        raise ParseError(
            "missing mandatory element: expected the invoiced quantity (BT-129)",
            where(line, qty_tag),
        )
    unit = quantity.get("unitCode")
    if not unit:
        raise ParseError(
            "missing unitCode attribute: expected a UN/ECE Rec 20 unit code (BT-130)",
            path_of(quantity),
        )
    allowances, charges = _allowance_charges(line, document_level=False)
    return build(
        InvoiceLine,
        line,
        id=need(line, "cbc:ID", "invoice line identifier (BT-126)"),
        note=text(line, "cbc:Note"),
        object_id=ident(line, "cac:DocumentReference/cbc:ID"),
        quantity=decimal_of(quantity, QUANTITY),
        unit=unit,
        net_amount=need_decimal(line, "cbc:LineExtensionAmount", "line net amount (BT-131)"),
        order_line_reference=text(line, "cac:OrderLineReference/cbc:LineID"),
        accounting_reference=text(line, "cbc:AccountingCost"),
        period=_period(line.find("cac:InvoicePeriod", NS)),
        allowances=tuple(build(LineAllowanceCharge, p, **a) for a, p in allowances),
        charges=tuple(build(LineAllowanceCharge, p, **c) for c, p in charges),
        price=_price(line),
        vat_category=need(
            line, "cac:Item/cac:ClassifiedTaxCategory/cbc:ID", "invoiced item VAT category (BT-151)"
        ),
        vat_rate=decimal(line, "cac:Item/cac:ClassifiedTaxCategory/cbc:Percent", PERCENT),
        item=_item(line),
    )


def _notes(root: Element) -> list[Note]:
    notes = []
    for el in root.iterfind("cbc:Note", NS):
        raw = el.text
        if raw is None or not raw.strip():
            continue
        match = _NOTE_SUBJECT.match(raw.strip())
        if match and match.group(2).strip():
            notes.append(Note(text=match.group(2), subject_code=match.group(1)))
        else:
            notes.append(Note(text=raw))
    return notes


def _root(data: bytes) -> tuple[Element, bool]:
    root = read_xml(data)
    if root.tag not in _ROOTS:
        raise ParseError(
            f"not a UBL 2.1 Invoice or CreditNote: the root element is {root.tag!r}; expected "
            f"{{{INVOICE_NS}}}Invoice or {{{CREDIT_NOTE_NS}}}CreditNote",
            "/" + etree.QName(root).localname,
        )
    return root, _ROOTS[root.tag]


def parse_ubl(data: bytes) -> Invoice:
    """Read a UBL 2.1 Invoice or CreditNote into an :class:`Invoice`, totals as given.

    Raises :class:`ParseError` with the element path for a missing mandatory element, a bad
    number or date, a document that is not UBL, or malformed XML (with its line number).
    """
    root, credit_note = _root(data)
    has_payment = root.find("cac:PaymentMeans", NS) is not None
    seller, seller_sepa = _seller(root, has_payment)
    payee, payee_sepa = _payee(root, has_payment)
    currency = need(root, "cbc:DocumentCurrencyCode", "invoice currency code (BT-5)").strip()
    tax_currency = text(root, "cbc:TaxCurrencyCode")
    tax_currency = tax_currency.strip() if tax_currency else None
    allowances, charges = _allowance_charges(root, document_level=True)
    invoiced_object, cn_project, documents = _documents(root, credit_note)
    order_id = text(root, "cac:OrderReference/cbc:ID")
    sales_order = text(root, "cac:OrderReference/cbc:SalesOrderID")
    if sales_order and order_id and order_id.strip() == NO_ORDER_ID:
        order_id = None
    if credit_note:
        due_date = date(root, "cac:PaymentMeans/cbc:PaymentDueDate")
        type_code = need(root, "cbc:CreditNoteTypeCode", "credit note type code (BT-3)")
        project = cn_project
    else:
        due_date = date(root, "cbc:DueDate")
        type_code = need(root, "cbc:InvoiceTypeCode", "invoice type code (BT-3)")
        project = text(root, "cac:ProjectReference/cbc:ID")
    terms = [e.text or "" for e in root.iterfind("cac:PaymentTerms/cbc:Note", NS) if has_text(e)]
    period_el = root.find("cac:InvoicePeriod", NS)
    preceding = [
        build(
            PrecedingInvoice,
            ref,
            number=need(ref, "cbc:ID", "preceding invoice reference (BT-25)"),
            issue_date=date(ref, "cbc:IssueDate"),
        )
        for ref in root.iterfind("cac:BillingReference/cac:InvoiceDocumentReference", NS)
    ]
    line_tag, qty_tag = (
        ("cac:CreditNoteLine", "cbc:CreditedQuantity")
        if credit_note
        else ("cac:InvoiceLine", "cbc:InvoicedQuantity")
    )
    lines = [_line(el, qty_tag) for el in root.iterfind(line_tag, NS)]
    if not lines:
        raise ParseError(
            "missing mandatory element: expected at least one invoice line (BG-25)",
            where(root, line_tag),
        )
    check_line_amounts(lines)
    return build(
        Invoice,
        root,
        number=need(root, "cbc:ID", "invoice number (BT-1)"),
        issue_date=need_date(root, "cbc:IssueDate", "invoice issue date (BT-2)"),
        type_code=type_code.strip(),
        currency=currency,
        tax_currency=tax_currency,
        tax_point_date=date(root, "cbc:TaxPointDate"),
        tax_point_date_code=None if period_el is None else text(period_el, "cbc:DescriptionCode"),
        due_date=due_date,
        buyer_reference=text(root, "cbc:BuyerReference"),
        project_reference=project,
        contract_reference=text(root, "cac:ContractDocumentReference/cbc:ID"),
        purchase_order_reference=order_id,
        sales_order_reference=sales_order,
        receiving_advice_reference=text(root, "cac:ReceiptDocumentReference/cbc:ID"),
        despatch_advice_reference=text(root, "cac:DespatchDocumentReference/cbc:ID"),
        tender_reference=text(root, "cac:OriginatorDocumentReference/cbc:ID"),
        invoiced_object=invoiced_object,
        buyer_accounting_reference=text(root, "cbc:AccountingCost"),
        payment_terms="\n".join(terms) if terms else None,
        notes=tuple(_notes(root)),
        business_process=text(root, "cbc:ProfileID"),
        specification_id=text(root, "cbc:CustomizationID"),
        preceding_invoices=tuple(preceding),
        seller=seller,
        buyer=_buyer(root),
        payee=payee,
        tax_representative=_tax_representative(root),
        delivery=_delivery(root),
        invoice_period=_period(period_el),
        payment=_payment(root, payee_sepa or seller_sepa),
        allowances=tuple(build(AllowanceCharge, p, **a) for a, p in allowances),
        charges=tuple(build(AllowanceCharge, p, **c) for c, p in charges),
        totals=_totals(root, currency, tax_currency),
        vat_breakdown=tuple(_vat_breakdown(root, currency)),
        supporting_documents=tuple(documents),
        lines=tuple(lines),
    )
