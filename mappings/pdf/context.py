"""The view-model of the invoice PDF: every string a reader sees, already formatted.

:func:`build_context` turns a completed :class:`Invoice` into plain frozen dataclasses of
strings (no model objects reach the template), so the template only lays out, the golden files
can compare the view-model, and a change in formatting shows up in one place.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from gateway.model import (
    Address,
    AllowanceCharge,
    Contact,
    Identifier,
    Invoice,
    InvoiceLine,
    LineAllowanceCharge,
    Period,
)
from mappings.pdf import epc_qr
from mappings.pdf import localise as fmt
from mappings.pdf.branding import Branding
from mappings.pdf.labels import (
    labels,
    payment_means_name,
    unit_name,
    vat_category_name,
)

# UNTDID 1001 codes with a title of their own; every other credit-note code is a credit note.
_TITLES = {"384": "corrected_invoice", "386": "prepayment_invoice", "389": "self_billed_invoice"}


@dataclass(frozen=True)
class Field:
    """One labelled value (a reference, a date, an id)."""

    label: str
    value: str


@dataclass(frozen=True)
class Party:
    """A party as printed: name, address lines, ids."""

    name: str
    address: tuple[str, ...]
    fields: tuple[Field, ...] = ()


@dataclass(frozen=True)
class Adjustment:
    """A line or document allowance/charge: label, reason, how it was computed, amount."""

    label: str
    reason: str
    basis: str
    vat: str
    amount: str


@dataclass(frozen=True)
class Line:
    """An invoice line."""

    id: str
    name: str
    description: str
    details: tuple[str, ...]
    quantity: str
    unit: str
    price: str
    price_detail: str
    vat: str
    net_amount: str
    adjustments: tuple[Adjustment, ...]


@dataclass(frozen=True)
class VatRow:
    """One VAT breakdown row (BG-23)."""

    category: str
    rate: str
    taxable: str
    tax: str
    exemption: str


@dataclass(frozen=True)
class Total:
    """One row of the totals block; ``strong`` for the amount due."""

    label: str
    amount: str
    strong: bool = False


@dataclass(frozen=True)
class Account:
    """A payee account (BG-17): holder, IBAN in groups of four, BIC."""

    holder: str
    iban: str
    bic: str


@dataclass(frozen=True)
class Payment:
    """How to pay: means, terms, accounts, references, the EPC QR and the pay-link slot."""

    means: str
    terms: str
    due_date: str
    accounts: tuple[Account, ...]
    remittance: str
    rf_reference: str
    fields: tuple[Field, ...]
    epc_payload: str | None
    epc_qr_svg: str | None
    pay_url: str | None
    pay_qr_svg: str | None


@dataclass(frozen=True)
class InvoiceView:
    """Everything the template shows."""

    language: str
    labels: Mapping[str, str]
    title: str
    number_label: str
    number: str
    credit_note: bool
    return_address: str
    recipient: tuple[str, ...]
    info: tuple[Field, ...]
    seller: Party
    buyer: Party
    other_parties: tuple[tuple[str, Party], ...]
    delivery: tuple[Field, ...]
    lines: tuple[Line, ...]
    document_adjustments: tuple[Adjustment, ...]
    totals: tuple[Total, ...]
    vat_rows: tuple[VatRow, ...]
    payment: Payment | None
    notes: tuple[str, ...]
    documents: tuple[str, ...]
    footer: tuple[tuple[str, ...], ...]
    branding: Branding = field(default_factory=Branding)

    def as_json(self) -> dict[str, Any]:
        """The view-model as JSON-ready data (the golden files keep it)."""
        data = dataclasses.asdict(self)
        data["labels"] = dict(self.labels)
        return data


def _join(*parts: str | None, sep: str = " ") -> str:
    return sep.join(p for p in parts if p)


def _address(address: Address | None) -> tuple[str, ...]:
    if address is None:
        return ()
    city = _join(address.post_code, address.city)
    return tuple(
        p
        for p in (
            address.line1,
            address.line2,
            address.line3,
            _join(city, address.subdivision, sep=", "),
            address.country,
        )
        if p
    )


def _identifier(identifier: Identifier | None) -> str:
    if identifier is None:
        return ""
    return identifier.value


def _contact(contact: Contact | None) -> str:
    if contact is None:
        return ""
    return _join(contact.name, contact.phone, contact.email, sep=" · ")


def _period(period: Period | None, language: str) -> str:
    if period is None or (period.start is None and period.end is None):
        return ""
    return _join(fmt.date(period.start, language), fmt.date(period.end, language), sep=" – ")


def _fields(pairs: Sequence[tuple[str, str | None]]) -> tuple[Field, ...]:
    return tuple(Field(label, value) for label, value in pairs if value)


class _Builder:
    """Formats the terms of one invoice in one language."""

    def __init__(self, invoice: Invoice, language: str) -> None:
        self.invoice = invoice
        self.language = language
        self.labels = labels(language)

    def money(self, amount: Decimal | None) -> str:
        return "" if amount is None else fmt.money(amount, self.invoice.currency, self.language)

    def number(self, value: Decimal, min_digits: int = 0) -> str:
        return fmt.decimal(value, self.language, min_digits=min_digits)

    def vat(self, category: str, rate: Decimal | None) -> str:
        shown = fmt.rate(rate, self.language) if category in {"S", "L", "M"} else ""
        return _join(category, shown)

    def adjustment(
        self,
        kind: str,
        item: AllowanceCharge | LineAllowanceCharge,
        sign: str,
    ) -> Adjustment:
        basis = ""
        if item.percentage is not None and item.base_amount is not None:
            basis = (
                f"{fmt.rate(item.percentage, self.language)} {self.labels['of']} "
                f"{self.money(item.base_amount)}"
            )
        vat = ""
        if isinstance(item, AllowanceCharge):
            vat = self.vat(item.vat_category, item.vat_rate)
        reason = _join(item.reason, f"({item.reason_code})" if item.reason_code else None)
        return Adjustment(self.labels[kind], reason, basis, vat, sign + self.money(item.amount))

    def line(self, line: InvoiceLine) -> Line:
        lab, item, price = self.labels, line.item, line.price
        details = [
            _join(lab["seller_item"], item.seller_id) if item.seller_id else "",
            _join(lab["buyer_item"], item.buyer_id) if item.buyer_id else "",
            _join(lab["standard_item"], _identifier(item.standard_id)) if item.standard_id else "",
            _join(lab["order_line"], line.order_line_reference)
            if line.order_line_reference
            else "",
            _join(lab["period"], _period(line.period, self.language)) if line.period else "",
            _join(lab["origin"], item.origin_country) if item.origin_country else "",
            *(f"{a.name}: {a.value}" for a in item.attributes),
            line.note or "",
        ]
        detail = []
        if price.gross is not None:
            detail.append(f"{lab['gross_price']} {self.money(price.gross)}")
        if price.discount is not None:
            detail.append(f"{lab['price_discount']} {self.money(price.discount)}")
        if price.base_quantity is not None and price.base_quantity != 1:
            unit = unit_name(price.base_quantity_unit or line.unit, self.language)
            detail.append(f"{lab['per']} {self.number(price.base_quantity)} {unit}")
        adjustments = (
            *(self.adjustment("allowance", a, "−") for a in line.allowances),
            *(self.adjustment("charge", c, "") for c in line.charges),
        )
        return Line(
            id=line.id,
            name=item.name,
            description=item.description or "",
            details=tuple(d for d in details if d),
            quantity=self.number(line.quantity),
            unit=unit_name(line.unit, self.language),
            price=fmt.money(price.net, self.invoice.currency, self.language),
            price_detail=", ".join(detail),
            vat=self.vat(line.vat_category, line.vat_rate),
            net_amount=self.money(line.net_amount),
            adjustments=adjustments,
        )


def title_key(invoice: Invoice) -> str:
    """The label key of the document title: invoice, credit note, or a named invoice kind."""
    if invoice.type_code in _TITLES:
        return _TITLES[invoice.type_code]
    return "credit_note" if invoice.is_credit_note else "invoice"


def _seller(b: _Builder) -> Party:
    s, lab = b.invoice.seller, b.labels
    return Party(
        name=s.name,
        address=_address(s.address),
        fields=_fields(
            [
                (lab["vat_id"], s.vat_id),
                (lab["tax_number"], s.tax_registration_id),
                (lab["registration"], _identifier(s.legal_registration)),
                (lab["contact"], _contact(s.contact)),
            ]
        ),
    )


def _buyer(b: _Builder) -> Party:
    buyer, lab = b.invoice.buyer, b.labels
    return Party(
        name=_join(buyer.name, f"({buyer.trading_name})" if buyer.trading_name else None),
        address=_address(buyer.address),
        fields=_fields(
            [
                (lab["customer_number"], _identifier(buyer.identifier)),
                (lab["vat_id"], buyer.vat_id),
                (lab["registration"], _identifier(buyer.legal_registration)),
                (lab["contact"], _contact(buyer.contact)),
            ]
        ),
    )


def _other_parties(b: _Builder) -> tuple[tuple[str, Party], ...]:
    invoice, lab = b.invoice, b.labels
    parties: list[tuple[str, Party]] = []
    if invoice.payee is not None:
        payee = invoice.payee
        parties.append(
            (
                lab["payee"],
                Party(
                    payee.name,
                    (),
                    _fields(
                        [
                            (lab["customer_number"], _identifier(payee.identifier)),
                            (lab["registration"], _identifier(payee.legal_registration)),
                        ]
                    ),
                ),
            )
        )
    if invoice.tax_representative is not None:
        rep = invoice.tax_representative
        parties.append(
            (
                lab["tax_representative"],
                Party(rep.name, _address(rep.address), _fields([(lab["vat_id"], rep.vat_id)])),
            )
        )
    return tuple(parties)


def _info(b: _Builder) -> tuple[Field, ...]:
    invoice, lab, lang = b.invoice, b.labels, b.language
    number_label = lab["credit_note_number"] if invoice.is_credit_note else lab["number"]
    preceding = ", ".join(
        _join(p.number, f"({fmt.date(p.issue_date, lang)})" if p.issue_date else None)
        for p in invoice.preceding_invoices
    )
    return _fields(
        [
            (number_label, invoice.number),
            (lab["issue_date"], fmt.date(invoice.issue_date, lang)),
            (lab["due_date"], fmt.date(invoice.due_date, lang)),
            (lab["tax_point_date"], fmt.date(invoice.tax_point_date, lang)),
            (lab["buyer_reference"], invoice.buyer_reference),
            (lab["purchase_order"], invoice.purchase_order_reference),
            (lab["sales_order"], invoice.sales_order_reference),
            (lab["contract"], invoice.contract_reference),
            (lab["project"], invoice.project_reference),
            (lab["tender"], invoice.tender_reference),
            (lab["receiving_advice"], invoice.receiving_advice_reference),
            (lab["despatch_advice"], invoice.despatch_advice_reference),
            (lab["invoiced_object"], _identifier(invoice.invoiced_object)),
            (lab["accounting_reference"], invoice.buyer_accounting_reference),
            (lab["preceding_invoice"], preceding),
        ]
    )


def _delivery(b: _Builder) -> tuple[Field, ...]:
    invoice, lab = b.invoice, b.labels
    delivery = invoice.delivery
    pairs: list[tuple[str, str | None]] = [
        (lab["invoice_period"], _period(invoice.invoice_period, b.language))
    ]
    if delivery is not None:
        pairs.append((lab["delivery_date"], fmt.date(delivery.date, b.language)))
        place = _join(
            delivery.party_name,
            _identifier(delivery.location),
            *_address(delivery.address),
            sep=", ",
        )
        pairs.append((lab["deliver_to"], place))
    return _fields(pairs)


def _totals(b: _Builder) -> tuple[Total, ...]:
    totals, lab, invoice = b.invoice.totals, b.labels, b.invoice
    assert totals is not None  # completed by the mapping before the view is built
    rows = [Total(lab["line_net_total"], b.money(totals.line_net))]
    if invoice.allowances:
        rows.append(Total(lab["allowances_total"], "−" + b.money(totals.allowances)))
    if invoice.charges:
        rows.append(Total(lab["charges_total"], b.money(totals.charges)))
    rows.append(Total(lab["total_without_vat"], b.money(totals.without_vat)))
    rows.append(Total(lab["vat_total"], b.money(totals.vat)))
    if totals.vat_in_accounting_currency is not None and invoice.tax_currency:
        rows.append(
            Total(
                lab["vat_total_accounting"],
                fmt.money(totals.vat_in_accounting_currency, invoice.tax_currency, b.language),
            )
        )
    rows.append(Total(lab["total_with_vat"], b.money(totals.with_vat)))
    if totals.prepaid:
        rows.append(Total(lab["prepaid"], "−" + b.money(totals.prepaid)))
    if totals.rounding:
        rows.append(Total(lab["rounding"], b.money(totals.rounding)))
    due_label = lab["amount_refunded"] if invoice.is_credit_note else lab["amount_due"]
    rows.append(Total(due_label, b.money(totals.due), strong=True))
    return tuple(rows)


def _vat_rows(b: _Builder) -> tuple[VatRow, ...]:
    return tuple(
        VatRow(
            category=f"{v.category} – {vat_category_name(v.category, b.language)}",
            rate=fmt.rate(v.rate, b.language),
            taxable=b.money(v.taxable_amount),
            tax=b.money(v.tax_amount),
            exemption=_join(
                v.exemption_reason,
                f"({v.exemption_reason_code})" if v.exemption_reason_code else None,
            ),
        )
        for v in b.invoice.vat_breakdown
    )


def _payment(b: _Builder, pay_url: str | None) -> Payment | None:
    invoice, lab, lang = b.invoice, b.labels, b.language
    instructions = invoice.payment
    if instructions is None and not invoice.payment_terms and pay_url is None:
        return None
    means_code = instructions.means_code if instructions else ""
    means = ""
    if instructions is not None:
        means = instructions.means_text or payment_means_name(means_code, lang)
    accounts = tuple(
        Account(
            holder=t.account_name or (invoice.payee.name if invoice.payee else invoice.seller.name),
            iban=epc_qr.format_iban(t.account_id),
            bic=t.provider_id or "",
        )
        for t in (instructions.credit_transfers if instructions else ())
    )
    remittance = (instructions.remittance_info or "") if instructions else ""
    fields: list[tuple[str, str | None]] = []
    if instructions is not None and instructions.card is not None:
        card = instructions.card
        fields.append((lab["card"], _join(f"**** {card.pan_last_digits}", card.holder_name)))
    if instructions is not None and instructions.direct_debit is not None:
        debit = instructions.direct_debit
        fields += [
            (lab["mandate"], debit.mandate_reference),
            (lab["creditor_id"], debit.creditor_id),
            (
                lab["debited_account"],
                epc_qr.format_iban(debit.debited_account) if debit.debited_account else None,
            ),
        ]
    rf = ""
    payload = svg = None
    transfer = instructions.credit_transfers[0] if instructions and accounts else None
    due = invoice.totals.due if invoice.totals else None
    if (
        transfer is not None
        and due is not None
        and not invoice.is_credit_note
        and means_code in epc_qr.SEPA_CREDIT_TRANSFER_MEANS
    ):
        rf = epc_qr.rf_reference(invoice.number, remittance or None)
        if epc_qr.qualifies(invoice.currency, due, means_code, transfer.account_id):
            payload = epc_qr.epc_payload(
                name=accounts[0].holder,
                iban=transfer.account_id,
                amount=due,
                reference=rf,
                bic=transfer.provider_id,
            )
            svg = epc_qr.qr_svg(payload)
    return Payment(
        means=means,
        terms=invoice.payment_terms or "",
        due_date=fmt.date(invoice.due_date, lang),
        accounts=accounts,
        remittance=remittance,
        rf_reference=epc_qr.format_rf(rf) if rf else "",
        fields=_fields(fields),
        epc_payload=payload,
        epc_qr_svg=svg,
        pay_url=pay_url,
        pay_qr_svg=epc_qr.link_svg(pay_url) if pay_url else None,
    )


def _footer(b: _Builder, branding: Branding) -> tuple[tuple[str, ...], ...]:
    """Footer columns: the seller and its address, registration and tax ids, bank data."""
    seller, lab = b.invoice.seller, b.labels
    columns: list[tuple[str, ...]] = [(seller.name, *_address(seller.address)[:-1])]
    legal = [
        _join(lab["registration"], _identifier(seller.legal_registration))
        if seller.legal_registration
        else "",
        _join(lab["vat_id"], seller.vat_id) if seller.vat_id else "",
        _join(lab["tax_number"], seller.tax_registration_id) if seller.tax_registration_id else "",
        seller.legal_info or "",
    ]
    columns.append(tuple(x for x in legal if x))
    bank: list[str] = []
    payment = b.invoice.payment
    for transfer in payment.credit_transfers if payment else ():
        bank.append(_join(lab["iban"], epc_qr.format_iban(transfer.account_id)))
        if transfer.provider_id:
            bank.append(_join(lab["bic"], transfer.provider_id))
    columns.append(tuple(bank))
    if branding.footer:
        columns.append(branding.footer)
    return tuple(c for c in columns if c)


def build_context(
    invoice: Invoice,
    language: str,
    branding: Branding | None = None,
    pay_url: str | None = None,
) -> InvoiceView:
    """The view-model of a completed ``invoice`` (totals and breakdown filled) in ``language``.

    ``pay_url`` fills the pay-link slot (a link and its QR code) when the invoice has one.
    """
    branding = branding or Branding()
    b = _Builder(invoice, language)
    lab = b.labels
    seller = invoice.seller
    return_address = _join(
        seller.name,
        seller.address.line1,
        _join(seller.address.post_code, seller.address.city),
        sep=" · ",
    )
    buyer = invoice.buyer
    recipient = (
        buyer.name,
        *((buyer.contact.name,) if buyer.contact and buyer.contact.name else ()),
        *_address(buyer.address),
    )
    return InvoiceView(
        language=language,
        labels=lab,
        title=lab[title_key(invoice)],
        number_label=lab["credit_note_number"] if invoice.is_credit_note else lab["number"],
        number=invoice.number,
        credit_note=invoice.is_credit_note,
        return_address=return_address,
        recipient=recipient,
        info=_info(b),
        seller=_seller(b),
        buyer=_buyer(b),
        other_parties=_other_parties(b),
        delivery=_delivery(b),
        lines=tuple(b.line(line) for line in invoice.lines),
        document_adjustments=(
            *(b.adjustment("allowance", a, "−") for a in invoice.allowances),
            *(b.adjustment("charge", c, "") for c in invoice.charges),
        ),
        totals=_totals(b),
        vat_rows=_vat_rows(b),
        payment=_payment(b, pay_url),
        notes=tuple(n.text for n in invoice.notes),
        documents=tuple(
            _join(d.reference, d.description, d.external_uri, sep=" – ")
            for d in invoice.supporting_documents
        ),
        footer=_footer(b, branding),
        branding=branding,
    )
