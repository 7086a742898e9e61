"""Parse any EN 16931-conformant UBL 2.1 Invoice or CreditNote into the canonical :class:`Invoice`.

Amounts and totals are taken as given (never recomputed). Every failure is a
:class:`ParseError` whose location is the element path in the document, e.g.
``/Invoice/cac:InvoiceLine[3]/cbc:InvoicedQuantity``, or ``line N, column M`` for malformed XML.
"""

from __future__ import annotations

import base64
import binascii
import datetime as dt
import re
from decimal import Decimal, InvalidOperation
from typing import Any, TypeVar

from lxml import etree
from pydantic import BaseModel, ValidationError

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
from mappings.ubl.names import (
    CAC_NS,
    CBC_NS,
    CREDIT_NOTE_NS,
    INVOICE_NS,
    INVOICED_OBJECT_CODE,
    NO_ORDER_ID,
    PREFIXES,
    PROJECT_CODE,
    SEPA_SCHEME,
)

Element = etree._Element
M = TypeVar("M", bound=BaseModel)

NS = {"cac": CAC_NS, "cbc": CBC_NS}
_ROOTS = {f"{{{INVOICE_NS}}}Invoice": False, f"{{{CREDIT_NOTE_NS}}}CreditNote": True}
_DATE = re.compile(r"^\s*(\d{4}-\d{2}-\d{2})(?:Z|[+-]\d{2}:\d{2})?\s*$")
_NOTE_SUBJECT = re.compile(r"^#([A-Za-z0-9]{1,10})#(.+)$", re.DOTALL)
_TRUE = {"true", "1"}

# No network, no DTD loading, no entity expansion, no huge-tree override.
_PARSER = etree.XMLParser(
    resolve_entities=False,
    no_network=True,
    load_dtd=False,
    dtd_validation=False,
    huge_tree=False,
    remove_comments=True,
    remove_pis=True,
)


def path_of(el: Element) -> str:
    """The element path of ``el``: ``/Invoice/cac:InvoiceLine[3]/cbc:InvoicedQuantity``.

    A position ``[n]`` (1-based) is shown where the parent has several children of that name.
    """
    steps: list[str] = []
    node: Element | None = el
    while node is not None:
        qname = etree.QName(node)
        prefix = PREFIXES.get(qname.namespace or "")
        name = f"{prefix}:{qname.localname}" if prefix else qname.localname
        parent = node.getparent()
        if parent is not None:
            same = [c for c in parent if c.tag == node.tag]
            if len(same) > 1:
                name = f"{name}[{same.index(node) + 1}]"
        steps.append(name)
        node = parent
    return "/" + "/".join(reversed(steps))


def _where(el: Element, rel: str) -> str:
    return f"{path_of(el)}/{rel}"


def _has_text(el: Element) -> bool:
    return el.text is not None and bool(el.text.strip())


def _text(el: Element, rel: str) -> str | None:
    found = el.find(rel, NS)
    if found is None or found.text is None or not found.text.strip():
        return None
    return found.text


def _need(el: Element, rel: str, what: str) -> str:
    value = _text(el, rel)
    if value is None:
        raise ParseError(f"missing mandatory element: expected {what}", _where(el, rel))
    return value


def _decimal_of(found: Element) -> Decimal:
    raw = (found.text or "").strip()
    try:
        value = Decimal(raw)
    except InvalidOperation:
        value = Decimal("NaN")
    if not value.is_finite():
        raise ParseError(f"expected a decimal number such as 1234.56, got {raw!r}", path_of(found))
    return value


def _decimal(el: Element, rel: str) -> Decimal | None:
    found = el.find(rel, NS)
    if found is None or found.text is None or not found.text.strip():
        return None
    return _decimal_of(found)


def _need_decimal(el: Element, rel: str, what: str) -> Decimal:
    found = el.find(rel, NS)
    if found is None or found.text is None or not found.text.strip():
        raise ParseError(f"missing mandatory element: expected {what}", _where(el, rel))
    return _decimal_of(found)


def _date_of(found: Element) -> dt.date:
    raw = found.text or ""
    match = _DATE.match(raw)
    try:
        if match is None:
            raise ValueError(raw)
        return dt.date.fromisoformat(match.group(1))
    except ValueError:
        raise ParseError(
            f"expected a date YYYY-MM-DD, got {raw.strip()!r}", path_of(found)
        ) from None


def _date(el: Element, rel: str) -> dt.date | None:
    found = el.find(rel, NS)
    if found is None or found.text is None or not found.text.strip():
        return None
    return _date_of(found)


def _need_date(el: Element, rel: str, what: str) -> dt.date:
    found = el.find(rel, NS)
    if found is None or found.text is None or not found.text.strip():
        raise ParseError(f"missing mandatory element: expected {what}", _where(el, rel))
    return _date_of(found)


def _ident(el: Element, rel: str) -> Identifier | None:
    found = el.find(rel, NS)
    if found is None or found.text is None or not found.text.strip():
        return None
    return Identifier(value=found.text, scheme=found.get("schemeID") or None)


def _build(cls: type[M], where: Element, **values: Any) -> M:
    """``cls(**values)``; a model constraint failure becomes a ParseError at element ``where``.

    The path is computed only on failure: it costs a walk over ancestors and siblings.
    """
    try:
        return cls(**values)
    except ValidationError as exc:
        first = exc.errors()[0]
        field = ".".join(str(p) for p in first["loc"])
        raise ParseError(
            f"{cls.__name__}.{field}: {first['msg']} (value {first.get('input')!r})",
            path_of(where),
        ) from None


def _address(el: Element | None, what: str) -> Address | None:
    if el is None:
        return None
    return _build(
        Address,
        el,
        line1=_text(el, "cbc:StreetName"),
        line2=_text(el, "cbc:AdditionalStreetName"),
        line3=_text(el, "cac:AddressLine/cbc:Line"),
        city=_text(el, "cbc:CityName"),
        post_code=_text(el, "cbc:PostalZone"),
        subdivision=_text(el, "cbc:CountrySubentity"),
        country=_need(el, "cac:Country/cbc:IdentificationCode", f"{what} country code"),
    )


def _need_address(party: Element, rel: str, what: str) -> Address:
    found = party.find(rel, NS)
    if found is None:
        raise ParseError(f"missing mandatory element: expected {what}", _where(party, rel))
    address = _address(found, what)
    assert address is not None
    return address


def _contact(party: Element) -> Contact | None:
    el = party.find("cac:Contact", NS)
    if el is None:
        return None
    name, phone, email = (
        _text(el, "cbc:Name"),
        _text(el, "cbc:Telephone"),
        _text(el, "cbc:ElectronicMail"),
    )
    if not (name or phone or email):
        return None
    return Contact(name=name, phone=phone, email=email)


def _tax_ids(party: Element) -> tuple[str | None, str | None]:
    """(VAT identifier, other tax registration identifier) from PartyTaxScheme."""
    vat = other = None
    for scheme in party.iterfind("cac:PartyTaxScheme", NS):
        company_id = _text(scheme, "cbc:CompanyID")
        if company_id is None:
            continue
        if (_text(scheme, "cac:TaxScheme/cbc:ID") or "").strip().upper() == "VAT":
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
            _where(root, "cac:AccountingSupplierParty/cac:Party"),
        )
    ids, sepa = _party_ids(party)
    if sepa is not None and not has_payment:
        # BT-90 lives in BG-19, which needs payment instructions; keep it as an identifier.
        ids.append(Identifier(value=sepa, scheme=SEPA_SCHEME))
        sepa = None
    vat, other = _tax_ids(party)
    seller = _build(
        Seller,
        party,
        name=_need(party, "cac:PartyLegalEntity/cbc:RegistrationName", "seller name (BT-27)"),
        trading_name=_text(party, "cac:PartyName/cbc:Name"),
        identifiers=tuple(ids),
        legal_registration=_ident(party, "cac:PartyLegalEntity/cbc:CompanyID"),
        vat_id=vat,
        tax_registration_id=other,
        legal_info=_text(party, "cac:PartyLegalEntity/cbc:CompanyLegalForm"),
        electronic_address=_ident(party, "cbc:EndpointID"),
        address=_need_address(party, "cac:PostalAddress", "seller postal address (BG-5)"),
        contact=_contact(party),
    )
    return seller, sepa


def _buyer(root: Element) -> Buyer:
    party = root.find("cac:AccountingCustomerParty/cac:Party", NS)
    if party is None:
        raise ParseError(
            "missing mandatory element: expected the buyer (BG-7)",
            _where(root, "cac:AccountingCustomerParty/cac:Party"),
        )
    ids, _sepa = _party_ids(party)
    vat, _ = _tax_ids(party)
    return _build(
        Buyer,
        party,
        name=_need(party, "cac:PartyLegalEntity/cbc:RegistrationName", "buyer name (BT-44)"),
        trading_name=_text(party, "cac:PartyName/cbc:Name"),
        identifier=ids[0] if ids else None,
        legal_registration=_ident(party, "cac:PartyLegalEntity/cbc:CompanyID"),
        vat_id=vat,
        electronic_address=_ident(party, "cbc:EndpointID"),
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
    payee = _build(
        Payee,
        party,
        name=_need(party, "cac:PartyName/cbc:Name", "payee name (BT-59)"),
        identifier=ids[0] if ids else None,
        legal_registration=_ident(party, "cac:PartyLegalEntity/cbc:CompanyID"),
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
            _where(party, "cac:PartyTaxScheme/cbc:CompanyID"),
        )
    return _build(
        TaxRepresentative,
        party,
        name=_need(party, "cac:PartyName/cbc:Name", "tax representative name (BT-62)"),
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
        party_name=_text(el, "cac:DeliveryParty/cac:PartyName/cbc:Name"),
        location=None if location is None else _ident(location, "cbc:ID"),
        date=_date(el, "cbc:ActualDeliveryDate"),
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
    start, end = _date(el, "cbc:StartDate"), _date(el, "cbc:EndDate")
    if start is None and end is None:
        return None
    return Period(start=start, end=end)


def _payment(root: Element, creditor_id: str | None) -> PaymentInstructions | None:
    means = root.findall("cac:PaymentMeans", NS)
    if not means:
        return None
    first = means[0]
    code_el = first.find("cbc:PaymentMeansCode", NS)
    code = _need(first, "cbc:PaymentMeansCode", "payment means type code (BT-81)")
    remittance = next(
        (t for t in (_text(m, "cbc:PaymentID") for m in means) if t is not None), None
    )
    transfers: list[CreditTransfer] = []
    card: PaymentCard | None = None
    mandate_ref = debited = None
    for m in means:
        for account in m.iterfind("cac:PayeeFinancialAccount", NS):
            transfers.append(
                _build(
                    CreditTransfer,
                    account,
                    account_id=_need(account, "cbc:ID", "payment account identifier (BT-84)"),
                    account_name=_text(account, "cbc:Name"),
                    provider_id=_text(account, "cac:FinancialInstitutionBranch/cbc:ID"),
                )
            )
        card_el = m.find("cac:CardAccount", NS)
        if card is None and card_el is not None:
            card = _build(
                PaymentCard,
                card_el,
                pan_last_digits=_need(
                    card_el, "cbc:PrimaryAccountNumberID", "payment card number (BT-87)"
                ),
                holder_name=_text(card_el, "cbc:HolderName"),
            )
        mandate = m.find("cac:PaymentMandate", NS)
        if mandate is not None and mandate_ref is None and debited is None:
            mandate_ref = _text(mandate, "cbc:ID")
            debited = _text(mandate, "cac:PayerFinancialAccount/cbc:ID")
    debit = None
    if mandate_ref or debited or creditor_id:
        debit = DirectDebit(
            mandate_reference=mandate_ref, creditor_id=creditor_id, debited_account=debited
        )
    name = code_el.get("name") if code_el is not None else None
    return _build(
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
        indicator = _need(el, "cbc:ChargeIndicator", "ChargeIndicator true or false")
        flag = indicator.strip().lower()
        if flag not in {"true", "false", "1", "0"}:
            raise ParseError(
                f"expected ChargeIndicator true or false, got {indicator!r}",
                _where(el, "cbc:ChargeIndicator"),
            )
        values: dict[str, Any] = {
            "amount": _need_decimal(el, "cbc:Amount", "allowance/charge amount"),
            "base_amount": _decimal(el, "cbc:BaseAmount"),
            "percentage": _decimal(el, "cbc:MultiplierFactorNumeric"),
            "reason": _text(el, "cbc:AllowanceChargeReason"),
            "reason_code": _text(el, "cbc:AllowanceChargeReasonCode"),
        }
        if document_level:
            values["vat_category"] = _need(
                el, "cac:TaxCategory/cbc:ID", "VAT category code (BT-95/BT-102)"
            )
            values["vat_rate"] = _decimal(el, "cac:TaxCategory/cbc:Percent")
        (charges if flag in _TRUE else allowances).append((values, el))
    return allowances, charges


def _vat_breakdown(root: Element, currency: str) -> list[VatBreakdown]:
    result: list[VatBreakdown] = []
    for total in root.iterfind("cac:TaxTotal", NS):
        for sub in total.iterfind("cac:TaxSubtotal", NS):
            result.append(
                _build(
                    VatBreakdown,
                    sub,
                    taxable_amount=_need_decimal(
                        sub, "cbc:TaxableAmount", "VAT category taxable amount (BT-116)"
                    ),
                    tax_amount=_need_decimal(
                        sub, "cbc:TaxAmount", "VAT category tax amount (BT-117)"
                    ),
                    category=_need(sub, "cac:TaxCategory/cbc:ID", "VAT category code (BT-118)"),
                    rate=_decimal(sub, "cac:TaxCategory/cbc:Percent"),
                    exemption_reason=_text(sub, "cac:TaxCategory/cbc:TaxExemptionReason"),
                    exemption_reason_code=_text(sub, "cac:TaxCategory/cbc:TaxExemptionReasonCode"),
                )
            )
    return result


def _totals(root: Element, currency: str, tax_currency: str | None) -> Totals:
    vat = vat_accounting = None
    for total in root.iterfind("cac:TaxTotal", NS):
        amount_el = total.find("cbc:TaxAmount", NS)
        if amount_el is None:
            raise ParseError(
                "missing mandatory element: expected TaxAmount", _where(total, "cbc:TaxAmount")
            )
        amount = _decimal_of(amount_el)
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
            _where(root, "cac:LegalMonetaryTotal"),
        )
    return Totals(
        line_net=_need_decimal(lmt, "cbc:LineExtensionAmount", "sum of line net amounts (BT-106)"),
        allowances=_decimal(lmt, "cbc:AllowanceTotalAmount"),
        charges=_decimal(lmt, "cbc:ChargeTotalAmount"),
        without_vat=_need_decimal(
            lmt, "cbc:TaxExclusiveAmount", "total amount without VAT (BT-109)"
        ),
        vat=vat,
        vat_in_accounting_currency=vat_accounting,
        with_vat=_need_decimal(lmt, "cbc:TaxInclusiveAmount", "total amount with VAT (BT-112)"),
        prepaid=_decimal(lmt, "cbc:PrepaidAmount"),
        rounding=_decimal(lmt, "cbc:PayableRoundingAmount"),
        due=_need_decimal(lmt, "cbc:PayableAmount", "amount due for payment (BT-115)"),
    )


def _documents(
    root: Element, credit_note: bool
) -> tuple[Identifier | None, str | None, list[SupportingDocument]]:
    """(invoiced object BT-18, CreditNote project reference BT-11, supporting documents BG-24)."""
    invoiced_object: Identifier | None = None
    project: str | None = None
    docs: list[SupportingDocument] = []
    for el in root.iterfind("cac:AdditionalDocumentReference", NS):
        type_code = (_text(el, "cbc:DocumentTypeCode") or "").strip()
        if type_code == INVOICED_OBJECT_CODE and invoiced_object is None:
            invoiced_object = _ident(el, "cbc:ID")
            continue
        if credit_note and type_code == PROJECT_CODE and project is None:
            project = _text(el, "cbc:ID")
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
            attachment = _build(
                Attachment,
                binary,
                content=content,
                mime_code=binary.get("mimeCode"),
                filename=binary.get("filename"),
            )
        docs.append(
            _build(
                SupportingDocument,
                el,
                reference=_need(el, "cbc:ID", "supporting document reference (BT-122)"),
                description=_text(el, "cbc:DocumentDescription"),
                external_uri=_text(el, "cac:Attachment/cac:ExternalReference/cbc:URI"),
                attachment=attachment,
            )
        )
    return invoiced_object, project, docs


def _item(line: Element) -> Item:
    item = line.find("cac:Item", NS)
    if item is None:
        raise ParseError(
            "missing mandatory element: expected the item (BG-31)", _where(line, "cac:Item")
        )
    classifications = []
    for code in item.iterfind("cac:CommodityClassification/cbc:ItemClassificationCode", NS):
        if code.text is None or not code.text.strip():
            continue
        classifications.append(
            _build(
                ItemClassification,
                code,
                value=code.text,
                scheme=code.get("listID"),
                version=code.get("listVersionID") or None,
            )
        )
    attributes = [
        _build(
            ItemAttribute,
            prop,
            name=_need(prop, "cbc:Name", "item attribute name (BT-160)"),
            value=_text(prop, "cbc:Value") or "",
        )
        for prop in item.iterfind("cac:AdditionalItemProperty", NS)
    ]
    return _build(
        Item,
        item,
        name=_need(item, "cbc:Name", "item name (BT-153)"),
        description=_text(item, "cbc:Description"),
        seller_id=_text(item, "cac:SellersItemIdentification/cbc:ID"),
        buyer_id=_text(item, "cac:BuyersItemIdentification/cbc:ID"),
        standard_id=_ident(item, "cac:StandardItemIdentification/cbc:ID"),
        classifications=tuple(classifications),
        origin_country=_text(item, "cac:OriginCountry/cbc:IdentificationCode"),
        attributes=tuple(attributes),
    )


def _price(line: Element) -> Price:
    price = line.find("cac:Price", NS)
    if price is None:
        raise ParseError(
            "missing mandatory element: expected the price details (BG-29)",
            _where(line, "cac:Price"),
        )
    base = price.find("cbc:BaseQuantity", NS)
    discount_el = price.find("cac:AllowanceCharge", NS)
    return _build(
        Price,
        price,
        net=_need_decimal(price, "cbc:PriceAmount", "item net price (BT-146)"),
        discount=None if discount_el is None else _decimal(discount_el, "cbc:Amount"),
        gross=None if discount_el is None else _decimal(discount_el, "cbc:BaseAmount"),
        base_quantity=_decimal(price, "cbc:BaseQuantity"),
        base_quantity_unit=None if base is None else base.get("unitCode") or None,
    )


def _line(line: Element, qty_tag: str) -> InvoiceLine:
    quantity = line.find(qty_tag, NS)
    if quantity is None:
        raise ParseError(
            "missing mandatory element: expected the invoiced quantity (BT-129)",
            _where(line, qty_tag),
        )
    unit = quantity.get("unitCode")
    if not unit:
        raise ParseError(
            "missing unitCode attribute: expected a UN/ECE Rec 20 unit code (BT-130)",
            path_of(quantity),
        )
    allowances, charges = _allowance_charges(line, document_level=False)
    return _build(
        InvoiceLine,
        line,
        id=_need(line, "cbc:ID", "invoice line identifier (BT-126)"),
        note=_text(line, "cbc:Note"),
        object_id=_ident(line, "cac:DocumentReference/cbc:ID"),
        quantity=_decimal_of(quantity),
        unit=unit,
        net_amount=_need_decimal(line, "cbc:LineExtensionAmount", "line net amount (BT-131)"),
        order_line_reference=_text(line, "cac:OrderLineReference/cbc:LineID"),
        accounting_reference=_text(line, "cbc:AccountingCost"),
        period=_period(line.find("cac:InvoicePeriod", NS)),
        allowances=tuple(_build(LineAllowanceCharge, p, **a) for a, p in allowances),
        charges=tuple(_build(LineAllowanceCharge, p, **c) for c, p in charges),
        price=_price(line),
        vat_category=_need(
            line, "cac:Item/cac:ClassifiedTaxCategory/cbc:ID", "invoiced item VAT category (BT-151)"
        ),
        vat_rate=_decimal(line, "cac:Item/cac:ClassifiedTaxCategory/cbc:Percent"),
        item=_item(line),
    )


def _notes(root: Element) -> list[Note]:
    notes = []
    for el in root.iterfind("cbc:Note", NS):
        text = el.text
        if text is None or not text.strip():
            continue
        match = _NOTE_SUBJECT.match(text.strip())
        if match and match.group(2).strip():
            notes.append(Note(text=match.group(2), subject_code=match.group(1)))
        else:
            notes.append(Note(text=text))
    return notes


def _root(data: bytes) -> tuple[Element, bool]:
    if not isinstance(data, bytes | bytearray):
        raise ParseError(f"expected bytes, got {type(data).__name__}", "")
    try:
        tree = etree.fromstring(bytes(data), _PARSER).getroottree()
    except etree.XMLSyntaxError as exc:
        line, column = exc.position if exc.position else (exc.lineno, 0)
        raise ParseError(f"malformed XML: {exc.msg}", f"line {line}, column {column}") from None
    docinfo: Any = tree.docinfo
    if docinfo.doctype or docinfo.internalDTD is not None:
        raise ParseError("a DOCTYPE is not allowed in a UBL invoice", "line 1")
    root = tree.getroot()
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
    currency = _need(root, "cbc:DocumentCurrencyCode", "invoice currency code (BT-5)").strip()
    tax_currency = _text(root, "cbc:TaxCurrencyCode")
    tax_currency = tax_currency.strip() if tax_currency else None
    allowances, charges = _allowance_charges(root, document_level=True)
    invoiced_object, cn_project, documents = _documents(root, credit_note)
    order_id = _text(root, "cac:OrderReference/cbc:ID")
    sales_order = _text(root, "cac:OrderReference/cbc:SalesOrderID")
    if sales_order and order_id and order_id.strip() == NO_ORDER_ID:
        order_id = None
    if credit_note:
        due_date = _date(root, "cac:PaymentMeans/cbc:PaymentDueDate")
        type_code = _need(root, "cbc:CreditNoteTypeCode", "credit note type code (BT-3)")
        project = cn_project
    else:
        due_date = _date(root, "cbc:DueDate")
        type_code = _need(root, "cbc:InvoiceTypeCode", "invoice type code (BT-3)")
        project = _text(root, "cac:ProjectReference/cbc:ID")
    terms = [e.text or "" for e in root.iterfind("cac:PaymentTerms/cbc:Note", NS) if _has_text(e)]
    period_el = root.find("cac:InvoicePeriod", NS)
    preceding = [
        _build(
            PrecedingInvoice,
            ref,
            number=_need(ref, "cbc:ID", "preceding invoice reference (BT-25)"),
            issue_date=_date(ref, "cbc:IssueDate"),
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
            _where(root, line_tag),
        )
    return _build(
        Invoice,
        root,
        number=_need(root, "cbc:ID", "invoice number (BT-1)"),
        issue_date=_need_date(root, "cbc:IssueDate", "invoice issue date (BT-2)"),
        type_code=type_code.strip(),
        currency=currency,
        tax_currency=tax_currency,
        tax_point_date=_date(root, "cbc:TaxPointDate"),
        tax_point_date_code=None if period_el is None else _text(period_el, "cbc:DescriptionCode"),
        due_date=due_date,
        buyer_reference=_text(root, "cbc:BuyerReference"),
        project_reference=project,
        contract_reference=_text(root, "cac:ContractDocumentReference/cbc:ID"),
        purchase_order_reference=order_id,
        sales_order_reference=sales_order,
        receiving_advice_reference=_text(root, "cac:ReceiptDocumentReference/cbc:ID"),
        despatch_advice_reference=_text(root, "cac:DespatchDocumentReference/cbc:ID"),
        tender_reference=_text(root, "cac:OriginatorDocumentReference/cbc:ID"),
        invoiced_object=invoiced_object,
        buyer_accounting_reference=_text(root, "cbc:AccountingCost"),
        payment_terms="\n".join(terms) if terms else None,
        notes=tuple(_notes(root)),
        business_process=_text(root, "cbc:ProfileID"),
        specification_id=_text(root, "cbc:CustomizationID"),
        preceding_invoices=tuple(preceding),
        seller=seller,
        buyer=_buyer(root),
        payee=payee,
        tax_representative=_tax_representative(root),
        delivery=_delivery(root),
        invoice_period=_period(period_el),
        payment=_payment(root, payee_sepa or seller_sepa),
        allowances=tuple(_build(AllowanceCharge, p, **a) for a, p in allowances),
        charges=tuple(_build(AllowanceCharge, p, **c) for c, p in charges),
        totals=_totals(root, currency, tax_currency),
        vat_breakdown=tuple(_vat_breakdown(root, currency)),
        supporting_documents=tuple(documents),
        lines=tuple(lines),
    )
