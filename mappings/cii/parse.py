"""Parse an EN 16931 CII D16B invoice or credit note into the canonical :class:`Invoice`.

Reads the EN 16931 CII binding (CEN/TS 16931-3-3): every business term the model carries, amounts
exactly as given (nothing is recomputed). CII constructs the model has no place for are read
into the nearest term or left out:

* several ``SpecifiedTradeSettlementPaymentMeans``: the first one's type code and text, every
  creditor account (BG-17), the first card and debited account;
* ``ram:DepartmentName`` is read as the contact point (BT-41) when there is no PersonName;
* ``AdditionalReferencedDocument`` without a type code is read as a supporting document (BG-24);
* the base quantity (BT-149) is the net price's, else the gross price's; the project name has
  no EN 16931 term and is dropped.
"""

from __future__ import annotations

import base64
import binascii
import datetime as dt
import functools
from collections.abc import Callable
from decimal import Decimal
from typing import Any, Concatenate, ParamSpec, TypeVar

from pydantic import ValidationError

import gateway.model
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
    bt_of,
)
from mappings.cii.codes import (
    OBJECT_TYPE,
    RSM,
    TAX_POINT_CODE_FROM_CII,
    TAX_SCHEME,
    TENDER_TYPE,
    UNDEFINED_MEANS,
    VAT_SCHEME,
)
from mappings.cii.xmlread import (
    Element,
    date,
    decimal,
    decimal_of,
    find,
    find_all,
    location,
    parse_xml,
    required,
    required_decimal,
    text,
)
from mappings.numbers import PERCENT, QUANTITY, check_line_amounts

_TRANSACTION = "rsm:SupplyChainTradeTransaction"


P = ParamSpec("P")
T = TypeVar("T")


def _field_term(model_name: str, field: str) -> str | None:
    model = getattr(gateway.model, model_name, None)
    info = getattr(model, "model_fields", {}).get(field)
    extra = getattr(info, "json_schema_extra", None)
    term = extra.get("bt") if isinstance(extra, dict) else None
    return term if isinstance(term, str) else None


def _validation_message(exc: ValidationError, top_level: bool = False) -> str:
    parts = []
    for error in exc.errors():
        path = ".".join(str(p) for p in error["loc"])
        term = bt_of(path) if top_level else _field_term(exc.title, str(error["loc"][0]))
        where = f"{path} ({term})" if term else path
        parts.append(f"{where}: {error['msg']} (got {error.get('input')!r})")
    return f"value not accepted by the model {exc.title}: " + "; ".join(parts)


def _located(func: Callable[Concatenate[Element, P], T]) -> Callable[Concatenate[Element, P], T]:
    """Turn a model refusal while reading ``node`` into a ParseError located at ``node``."""

    @functools.wraps(func)
    def read(node: Element, /, *args: P.args, **kwargs: P.kwargs) -> T:
        try:
            return func(node, *args, **kwargs)
        except ValidationError as exc:
            raise ParseError(_validation_message(exc), location(node)) from exc

    return read


def _identifier(node: Element | None) -> Identifier | None:
    if node is None or node.text is None or not node.text.strip():
        return None
    return Identifier(value=node.text.strip(), scheme=node.get("schemeID") or None)


def _party_id(party: Element) -> Identifier | None:
    """BT-46/60/71: the scheme-qualified GlobalID when present, else the plain ID."""
    return _identifier(find(party, "ram:GlobalID")) or _identifier(find(party, "ram:ID"))


@_located
def _address(party: Element, country_term: str) -> Address | None:
    node = find(party, "ram:PostalTradeAddress")
    if node is None:
        return None
    return Address(
        line1=text(node, "ram:LineOne"),
        line2=text(node, "ram:LineTwo"),
        line3=text(node, "ram:LineThree"),
        city=text(node, "ram:CityName"),
        post_code=text(node, "ram:PostcodeCode"),
        subdivision=text(node, "ram:CountrySubDivisionName"),
        country=required(node, "ram:CountryID", country_term),
    )


def _required_address(party: Element, term: str, country_term: str) -> Address:
    address = _address(party, country_term)
    if address is None:
        raise ParseError(
            f"missing mandatory element ({term}): expected ram:PostalTradeAddress",
            location(party, "ram:PostalTradeAddress"),
        )
    return address


@_located
def _contact(party: Element) -> Contact | None:
    node = find(party, "ram:DefinedTradeContact")
    if node is None:
        return None
    contact = Contact(
        name=text(node, "ram:PersonName") or text(node, "ram:DepartmentName"),
        phone=text(node, "ram:TelephoneUniversalCommunication/ram:CompleteNumber"),
        email=text(node, "ram:EmailURIUniversalCommunication/ram:URIID"),
    )
    return None if contact == Contact() else contact


def _tax_id(party: Element, scheme: str) -> str | None:
    for node in find_all(party, "ram:SpecifiedTaxRegistration/ram:ID"):
        if node.get("schemeID") == scheme and node.text and node.text.strip():
            return node.text.strip()
    return None


def _electronic(party: Element) -> Identifier | None:
    return _identifier(find(party, "ram:URIUniversalCommunication/ram:URIID"))


@_located
def _seller(agreement: Element) -> Seller:
    node = find(agreement, "ram:SellerTradeParty")
    if node is None:
        raise ParseError(
            "missing mandatory element (BG-4): expected ram:SellerTradeParty",
            location(agreement, "ram:SellerTradeParty"),
        )
    identifiers = [_identifier(n) for n in find_all(node, "ram:ID")]
    identifiers += [_identifier(n) for n in find_all(node, "ram:GlobalID")]
    return Seller(
        name=required(node, "ram:Name", "BT-27"),
        trading_name=text(node, "ram:SpecifiedLegalOrganization/ram:TradingBusinessName"),
        identifiers=tuple(i for i in identifiers if i is not None),
        legal_registration=_identifier(find(node, "ram:SpecifiedLegalOrganization/ram:ID")),
        vat_id=_tax_id(node, VAT_SCHEME),
        tax_registration_id=_tax_id(node, TAX_SCHEME),
        legal_info=text(node, "ram:Description"),
        electronic_address=_electronic(node),
        address=_required_address(node, "BG-5", "BT-40"),
        contact=_contact(node),
    )


@_located
def _buyer(agreement: Element) -> Buyer:
    node = find(agreement, "ram:BuyerTradeParty")
    if node is None:
        raise ParseError(
            "missing mandatory element (BG-7): expected ram:BuyerTradeParty",
            location(agreement, "ram:BuyerTradeParty"),
        )
    return Buyer(
        name=required(node, "ram:Name", "BT-44"),
        trading_name=text(node, "ram:SpecifiedLegalOrganization/ram:TradingBusinessName"),
        identifier=_party_id(node),
        legal_registration=_identifier(find(node, "ram:SpecifiedLegalOrganization/ram:ID")),
        vat_id=_tax_id(node, VAT_SCHEME),
        electronic_address=_electronic(node),
        address=_required_address(node, "BG-8", "BT-55"),
        contact=_contact(node),
    )


@_located
def _tax_representative(agreement: Element) -> TaxRepresentative | None:
    node = find(agreement, "ram:SellerTaxRepresentativeTradeParty")
    if node is None:
        return None
    vat_id = _tax_id(node, VAT_SCHEME)
    if vat_id is None:
        raise ParseError(
            "missing mandatory element (BT-63): expected ram:SpecifiedTaxRegistration/"
            'ram:ID[@schemeID="VA"]',
            location(node, "ram:SpecifiedTaxRegistration"),
        )
    return TaxRepresentative(
        name=required(node, "ram:Name", "BT-62"),
        vat_id=vat_id,
        address=_required_address(node, "BG-12", "BT-69"),
    )


def _indicator(node: Element) -> bool:
    raw = text(node, "ram:ChargeIndicator/udt:Indicator")
    if raw in ("true", "1"):
        return True
    if raw in ("false", "0"):
        return False
    raise ParseError(
        f"expected udt:Indicator true or false, got {raw!r}",
        location(node, "ram:ChargeIndicator/udt:Indicator"),
    )


@_located
def _line_allowance_charge(node: Element) -> LineAllowanceCharge:
    return LineAllowanceCharge(
        amount=required_decimal(node, "ram:ActualAmount", "BT-136/BT-141"),
        base_amount=decimal(node, "ram:BasisAmount"),
        percentage=decimal(node, "ram:CalculationPercent", PERCENT),
        reason=text(node, "ram:Reason"),
        reason_code=text(node, "ram:ReasonCode"),
    )


@_located
def _allowance_charge(node: Element) -> AllowanceCharge:
    return AllowanceCharge(
        amount=required_decimal(node, "ram:ActualAmount", "BT-92/BT-99"),
        base_amount=decimal(node, "ram:BasisAmount"),
        percentage=decimal(node, "ram:CalculationPercent", PERCENT),
        vat_category=required(node, "ram:CategoryTradeTax/ram:CategoryCode", "BT-95/BT-102"),
        vat_rate=decimal(node, "ram:CategoryTradeTax/ram:RateApplicablePercent", PERCENT),
        reason=text(node, "ram:Reason"),
        reason_code=text(node, "ram:ReasonCode"),
    )


@_located
def _period(holder: Element) -> Period | None:
    node = find(holder, "ram:BillingSpecifiedPeriod")
    if node is None:
        return None
    period = Period(start=date(node, "ram:StartDateTime"), end=date(node, "ram:EndDateTime"))
    return None if period == Period() else period


@_located
def _object_id(holder: Element) -> Identifier | None:
    for node in find_all(holder, "ram:AdditionalReferencedDocument"):
        if text(node, "ram:TypeCode") == OBJECT_TYPE:
            return Identifier(
                value=required(node, "ram:IssuerAssignedID", "BT-18/BT-128"),
                scheme=text(node, "ram:ReferenceTypeCode"),
            )
    return None


@_located
def _item(line: Element) -> Item:
    node = find(line, "ram:SpecifiedTradeProduct")
    if node is None:
        raise ParseError(
            "missing mandatory element (BG-31): expected ram:SpecifiedTradeProduct",
            location(line, "ram:SpecifiedTradeProduct"),
        )
    classifications = []
    for code in find_all(node, "ram:DesignatedProductClassification/ram:ClassCode"):
        scheme = code.get("listID")
        if not scheme:
            raise ParseError(
                "missing attribute listID (BT-158-1) on the classification code", location(code)
            )
        classifications.append(
            ItemClassification(
                value=(code.text or "").strip(),
                scheme=scheme,
                version=code.get("listVersionID") or None,
            )
        )
    return Item(
        name=required(node, "ram:Name", "BT-153"),
        description=text(node, "ram:Description"),
        seller_id=text(node, "ram:SellerAssignedID"),
        buyer_id=text(node, "ram:BuyerAssignedID"),
        standard_id=_identifier(find(node, "ram:GlobalID")),
        classifications=tuple(classifications),
        origin_country=text(node, "ram:OriginTradeCountry/ram:ID"),
        attributes=tuple(
            ItemAttribute(
                name=required(c, "ram:Description", "BT-160"),
                value=text(c, "ram:Value") or "",
            )
            for c in find_all(node, "ram:ApplicableProductCharacteristic")
        ),
    )


@_located
def _price(agreement: Element) -> Price:
    net = find(agreement, "ram:NetPriceProductTradePrice")
    if net is None:
        raise ParseError(
            "missing mandatory element (BT-146): expected ram:NetPriceProductTradePrice",
            location(agreement, "ram:NetPriceProductTradePrice"),
        )
    gross = find(agreement, "ram:GrossPriceProductTradePrice")
    base = find(net, "ram:BasisQuantity")
    if base is None and gross is not None:  # BT-149 given only with the gross price
        base = find(gross, "ram:BasisQuantity")
    return Price(
        net=required_decimal(net, "ram:ChargeAmount", "BT-146"),
        gross=decimal(gross, "ram:ChargeAmount"),
        discount=decimal(gross, "ram:AppliedTradeAllowanceCharge/ram:ActualAmount"),
        base_quantity=None if base is None else decimal_of(base, QUANTITY),
        base_quantity_unit=None if base is None else (base.get("unitCode") or None),
    )


def _section(parent: Element, tag: str, term: str) -> Element:
    node = find(parent, tag)
    if node is None:
        raise ParseError(
            f"missing mandatory element ({term}): expected {tag}", location(parent, tag)
        )
    return node


@_located
def _line(node: Element) -> InvoiceLine:
    document = _section(node, "ram:AssociatedDocumentLineDocument", "BT-126")
    agreement = _section(node, "ram:SpecifiedLineTradeAgreement", "BG-29")
    delivery = _section(node, "ram:SpecifiedLineTradeDelivery", "BT-129")
    settlement = _section(node, "ram:SpecifiedLineTradeSettlement", "BT-151")
    quantity = _section(delivery, "ram:BilledQuantity", "BT-129")
    unit = quantity.get("unitCode")
    if not unit:
        raise ParseError(
            "missing attribute unitCode (BT-130) on the invoiced quantity", location(quantity)
        )
    notes = [
        (n.text or "").strip()
        for n in find_all(document, "ram:IncludedNote/ram:Content")
        if n.text and n.text.strip()
    ]
    tax = _section(settlement, "ram:ApplicableTradeTax", "BT-151")
    allowances: list[LineAllowanceCharge] = []
    charges: list[LineAllowanceCharge] = []
    for ac in find_all(settlement, "ram:SpecifiedTradeAllowanceCharge"):
        (charges if _indicator(ac) else allowances).append(_line_allowance_charge(ac))
    return InvoiceLine(
        id=required(document, "ram:LineID", "BT-126"),
        note="\n".join(notes) or None,
        object_id=_object_id(settlement),
        quantity=decimal_of(quantity, QUANTITY),
        unit=unit,
        net_amount=decimal(
            settlement, "ram:SpecifiedTradeSettlementLineMonetarySummation/ram:LineTotalAmount"
        ),
        order_line_reference=text(agreement, "ram:BuyerOrderReferencedDocument/ram:LineID"),
        accounting_reference=text(
            settlement, "ram:ReceivableSpecifiedTradeAccountingAccount/ram:ID"
        ),
        period=_period(settlement),
        allowances=tuple(allowances),
        charges=tuple(charges),
        price=_price(agreement),
        vat_category=required(tax, "ram:CategoryCode", "BT-151"),
        vat_rate=decimal(tax, "ram:RateApplicablePercent", PERCENT),
        item=_item(node),
    )


@_located
def _attachment(node: Element) -> Attachment | None:
    binary = find(node, "ram:AttachmentBinaryObject")
    if binary is None:
        return None
    mime, filename = binary.get("mimeCode"), binary.get("filename")
    if not mime or not filename:
        raise ParseError(
            "attached document needs both mimeCode (BT-125-1) and filename (BT-125-2)",
            location(binary),
        )
    try:
        content = base64.b64decode("".join((binary.text or "").split()), validate=True)
    except (binascii.Error, ValueError) as exc:
        raise ParseError(
            f"attached document (BT-125) is not valid base64: {exc}", location(binary)
        ) from exc
    return Attachment(content=content, mime_code=mime, filename=filename)


@_located
def _references(
    agreement: Element,
) -> tuple[str | None, Identifier | None, list[SupportingDocument]]:
    tender: str | None = None
    invoiced_object: Identifier | None = None
    documents: list[SupportingDocument] = []
    for node in find_all(agreement, "ram:AdditionalReferencedDocument"):
        code = text(node, "ram:TypeCode")
        if code == TENDER_TYPE and tender is None:
            tender = required(node, "ram:IssuerAssignedID", "BT-17")
        elif code == OBJECT_TYPE and invoiced_object is None:
            invoiced_object = Identifier(
                value=required(node, "ram:IssuerAssignedID", "BT-18"),
                scheme=text(node, "ram:ReferenceTypeCode"),
            )
        else:
            documents.append(
                SupportingDocument(
                    reference=required(node, "ram:IssuerAssignedID", "BT-122"),
                    description=text(node, "ram:Name"),
                    external_uri=text(node, "ram:URIID"),
                    attachment=_attachment(node),
                )
            )
    return tender, invoiced_object, documents


@_located
def _delivery(node: Element) -> Delivery | None:
    party = find(node, "ram:ShipToTradeParty")
    delivery = Delivery(
        party_name=None if party is None else text(party, "ram:Name"),
        location=None if party is None else _party_id(party),
        address=None if party is None else _address(party, "BT-80"),
        date=date(node, "ram:ActualDeliverySupplyChainEvent/ram:OccurrenceDateTime"),
    )
    return None if delivery == Delivery() else delivery


@_located
def _payment(settlement: Element) -> PaymentInstructions | None:
    means = find_all(settlement, "ram:SpecifiedTradeSettlementPaymentMeans")
    remittance = text(settlement, "ram:PaymentReference")
    creditor = text(settlement, "ram:CreditorReferenceID")
    mandate = text(settlement, "ram:SpecifiedTradePaymentTerms/ram:DirectDebitMandateID")
    debited = None
    card = None
    transfers: list[CreditTransfer] = []
    for node in means:
        if debited is None:
            debited = text(node, "ram:PayerPartyDebtorFinancialAccount/ram:IBANID")
        card_node = find(node, "ram:ApplicableTradeSettlementFinancialCard")
        if card is None and card_node is not None:
            card = PaymentCard(
                pan_last_digits=required(card_node, "ram:ID", "BT-87"),
                holder_name=text(card_node, "ram:CardholderName"),
            )
        account = find(node, "ram:PayeePartyCreditorFinancialAccount")
        if account is not None:
            account_id = text(account, "ram:IBANID") or text(account, "ram:ProprietaryID")
            if account_id is None:
                raise ParseError(
                    "missing mandatory element (BT-84): expected ram:IBANID or ram:ProprietaryID",
                    location(account, "ram:IBANID"),
                )
            transfers.append(
                CreditTransfer(
                    account_id=account_id,
                    account_name=text(account, "ram:AccountName"),
                    provider_id=text(
                        node, "ram:PayeeSpecifiedCreditorFinancialInstitution/ram:BICID"
                    ),
                )
            )
    if not means and remittance is None and creditor is None and mandate is None:
        return None
    direct_debit = None
    if mandate is not None or creditor is not None or debited is not None:
        direct_debit = DirectDebit(
            mandate_reference=mandate, creditor_id=creditor, debited_account=debited
        )
    return PaymentInstructions(
        means_code=required(means[0], "ram:TypeCode", "BT-81") if means else UNDEFINED_MEANS,
        means_text=text(means[0], "ram:Information") if means else None,
        remittance_info=remittance,
        credit_transfers=tuple(transfers),
        card=card,
        direct_debit=direct_debit,
    )


@_located
def _vat(settlement: Element) -> tuple[list[VatBreakdown], dt.date | None, str | None]:
    breakdown: list[VatBreakdown] = []
    tax_point: dt.date | None = None
    due_code: str | None = None
    for node in find_all(settlement, "ram:ApplicableTradeTax"):
        tax_point = tax_point or date(node, "ram:TaxPointDate")
        if due_code is None:
            due_code = text(node, "ram:DueDateTypeCode")
            due_code = TAX_POINT_CODE_FROM_CII.get(due_code or "", due_code)
        breakdown.append(
            VatBreakdown(
                taxable_amount=decimal(node, "ram:BasisAmount"),
                tax_amount=decimal(node, "ram:CalculatedAmount"),
                category=required(node, "ram:CategoryCode", "BT-118"),
                rate=decimal(node, "ram:RateApplicablePercent", PERCENT),
                exemption_reason=text(node, "ram:ExemptionReason"),
                exemption_reason_code=text(node, "ram:ExemptionReasonCode"),
            )
        )
    return breakdown, tax_point, due_code


@_located
def _totals(settlement: Element, currency: str, tax_currency: str | None) -> Totals:
    node = _section(settlement, "ram:SpecifiedTradeSettlementHeaderMonetarySummation", "BG-22")
    vat: Decimal | None = None
    vat_accounting: Decimal | None = None
    for amount in find_all(node, "ram:TaxTotalAmount"):
        code = amount.get("currencyID")
        if vat is None and (code is None or code == currency):
            vat = decimal_of(amount)
        elif tax_currency is not None and code == tax_currency and vat_accounting is None:
            vat_accounting = decimal_of(amount)
    return Totals(
        line_net=decimal(node, "ram:LineTotalAmount"),
        allowances=decimal(node, "ram:AllowanceTotalAmount"),
        charges=decimal(node, "ram:ChargeTotalAmount"),
        without_vat=decimal(node, "ram:TaxBasisTotalAmount"),
        vat=vat,
        vat_in_accounting_currency=vat_accounting,
        with_vat=decimal(node, "ram:GrandTotalAmount"),
        prepaid=decimal(node, "ram:TotalPrepaidAmount"),
        rounding=decimal(node, "ram:RoundingAmount"),
        due=decimal(node, "ram:DuePayableAmount"),
    )


@_located
def _payee(settlement: Element) -> Payee | None:
    node = find(settlement, "ram:PayeeTradeParty")
    if node is None:
        return None
    return Payee(
        name=required(node, "ram:Name", "BT-59"),
        identifier=_party_id(node),
        legal_registration=_identifier(find(node, "ram:SpecifiedLegalOrganization/ram:ID")),
    )


def _fields(root: Element) -> dict[str, Any]:
    context = _section(root, "rsm:ExchangedDocumentContext", "BT-24")
    document = _section(root, "rsm:ExchangedDocument", "BT-1")
    transaction = _section(root, _TRANSACTION, "BG-25")
    agreement = _section(transaction, "ram:ApplicableHeaderTradeAgreement", "BG-4")
    delivery = _section(transaction, "ram:ApplicableHeaderTradeDelivery", "BG-13")
    settlement = _section(transaction, "ram:ApplicableHeaderTradeSettlement", "BG-22")
    line_nodes = find_all(transaction, "ram:IncludedSupplyChainTradeLineItem")
    if not line_nodes:
        raise ParseError(
            "missing mandatory element (BG-25): expected at least one invoice line",
            location(transaction, "ram:IncludedSupplyChainTradeLineItem"),
        )
    issue_date = date(document, "ram:IssueDateTime")
    if issue_date is None:
        raise ParseError(
            "missing mandatory element (BT-2): expected ram:IssueDateTime",
            location(document, "ram:IssueDateTime"),
        )
    currency = required(settlement, "ram:InvoiceCurrencyCode", "BT-5")
    tax_currency = text(settlement, "ram:TaxCurrencyCode")
    tender, invoiced_object, documents = _references(agreement)
    breakdown, tax_point, due_code = _vat(settlement)
    project = find(agreement, "ram:SpecifiedProcuringProject")
    return {
        "number": required(document, "ram:ID", "BT-1"),
        "issue_date": issue_date,
        "type_code": required(document, "ram:TypeCode", "BT-3"),
        "currency": currency,
        "tax_currency": tax_currency,
        "tax_point_date": tax_point,
        "tax_point_date_code": due_code,
        "due_date": date(settlement, "ram:SpecifiedTradePaymentTerms/ram:DueDateDateTime"),
        "buyer_reference": text(agreement, "ram:BuyerReference"),
        "project_reference": None if project is None else text(project, "ram:ID"),
        "contract_reference": text(
            agreement, "ram:ContractReferencedDocument/ram:IssuerAssignedID"
        ),
        "purchase_order_reference": text(
            agreement, "ram:BuyerOrderReferencedDocument/ram:IssuerAssignedID"
        ),
        "sales_order_reference": text(
            agreement, "ram:SellerOrderReferencedDocument/ram:IssuerAssignedID"
        ),
        "receiving_advice_reference": text(
            delivery, "ram:ReceivingAdviceReferencedDocument/ram:IssuerAssignedID"
        ),
        "despatch_advice_reference": text(
            delivery, "ram:DespatchAdviceReferencedDocument/ram:IssuerAssignedID"
        ),
        "tender_reference": tender,
        "invoiced_object": invoiced_object,
        "buyer_accounting_reference": text(
            settlement, "ram:ReceivableSpecifiedTradeAccountingAccount/ram:ID"
        ),
        "payment_terms": text(settlement, "ram:SpecifiedTradePaymentTerms/ram:Description"),
        "notes": tuple(
            Note(text=required(n, "ram:Content", "BT-22"), subject_code=text(n, "ram:SubjectCode"))
            for n in find_all(document, "ram:IncludedNote")
        ),
        "business_process": text(
            context, "ram:BusinessProcessSpecifiedDocumentContextParameter/ram:ID"
        ),
        "specification_id": required(
            context, "ram:GuidelineSpecifiedDocumentContextParameter/ram:ID", "BT-24"
        ),
        "preceding_invoices": tuple(
            PrecedingInvoice(
                number=required(n, "ram:IssuerAssignedID", "BT-25"),
                issue_date=date(n, "ram:FormattedIssueDateTime"),
            )
            for n in find_all(settlement, "ram:InvoiceReferencedDocument")
        ),
        "seller": _seller(agreement),
        "buyer": _buyer(agreement),
        "payee": _payee(settlement),
        "tax_representative": _tax_representative(agreement),
        "delivery": _delivery(delivery),
        "invoice_period": _period(settlement),
        "payment": _payment(settlement),
        "allowances": tuple(
            _allowance_charge(n)
            for n in find_all(settlement, "ram:SpecifiedTradeAllowanceCharge")
            if not _indicator(n)
        ),
        "charges": tuple(
            _allowance_charge(n)
            for n in find_all(settlement, "ram:SpecifiedTradeAllowanceCharge")
            if _indicator(n)
        ),
        "totals": _totals(settlement, currency, tax_currency),
        "vat_breakdown": tuple(breakdown),
        "supporting_documents": tuple(documents),
        "lines": tuple(_line(n) for n in line_nodes),
    }


def parse_cii(data: bytes) -> Invoice:
    """The canonical Invoice for a CII D16B invoice or credit note given as bytes.

    Amounts are kept as written (no rounding, no completion). Raises :class:`ParseError` with
    the element path (and source line) for malformed XML, a root that is not
    ``rsm:CrossIndustryInvoice``, a missing mandatory element, a bad decimal or date, or a
    value the model does not accept.
    """
    root = parse_xml(data)
    if root.tag != f"{{{RSM}}}CrossIndustryInvoice":
        raise ParseError(
            f"not a CII invoice: root element is {root.tag!r}, expected "
            f"{{{RSM}}}CrossIndustryInvoice",
            location(root),
        )
    try:
        invoice = Invoice(**_fields(root))
    except ValidationError as exc:
        raise ParseError(_validation_message(exc, top_level=True), location(root)) from exc
    check_line_amounts(invoice.lines)
    return invoice
