"""The canonical invoice: the EN 16931 semantic model as one immutable value."""

from __future__ import annotations

import datetime as dt
from typing import Any, Literal

from pydantic import Field
from pydantic.json_schema import DEFAULT_REF_TEMPLATE, GenerateJsonSchema, JsonSchemaMode

from gateway.model.base import Amount, Identifier, Period, Value, bt
from gateway.model.lines import InvoiceLine
from gateway.model.parties import Buyer, Delivery, Payee, Seller, TaxRepresentative
from gateway.model.provenance import TermSource
from gateway.model.schema import RecordJsonSchema


class Note(Value):
    """BG-1 Invoice note."""

    text: str = Field(min_length=1, **bt("BT-22", "Invoice note"))
    subject_code: str | None = Field(default=None, **bt("BT-21", "Invoice note subject code"))


class PrecedingInvoice(Value):
    """BG-3 Preceding invoice reference (a credit note cites the invoice it corrects)."""

    number: str = Field(min_length=1, **bt("BT-25", "Preceding Invoice reference"))
    issue_date: dt.date | None = Field(default=None, **bt("BT-26", "Preceding Invoice issue date"))


class CreditTransfer(Value):
    """BG-17 Credit transfer."""

    account_id: str = Field(min_length=1, **bt("BT-84", "Payment account identifier (IBAN)"))
    account_name: str | None = Field(default=None, **bt("BT-85", "Payment account name"))
    provider_id: str | None = Field(default=None, **bt("BT-86", "Payment service provider (BIC)"))


class PaymentCard(Value):
    """BG-18 Payment card information; never the full card number."""

    pan_last_digits: str = Field(
        min_length=4,
        max_length=6,
        pattern=r"^[0-9]+$",
        **bt("BT-87", "Payment card primary account number (last 4-6 digits)"),
    )
    holder_name: str | None = Field(default=None, **bt("BT-88", "Payment card holder name"))


class DirectDebit(Value):
    """BG-19 Direct debit (SEPA: mandate reference, creditor id, debited IBAN)."""

    mandate_reference: str | None = Field(
        default=None, **bt("BT-89", "Mandate reference identifier")
    )
    creditor_id: str | None = Field(
        default=None, **bt("BT-90", "Bank assigned creditor identifier")
    )
    debited_account: str | None = Field(default=None, **bt("BT-91", "Debited account identifier"))


class PaymentInstructions(Value):
    """BG-16 Payment instructions."""

    means_code: str = Field(min_length=1, **bt("BT-81", "Payment means type code (UNTDID 4461)"))
    means_text: str | None = Field(default=None, **bt("BT-82", "Payment means text"))
    remittance_info: str | None = Field(default=None, **bt("BT-83", "Remittance information"))
    credit_transfers: tuple[CreditTransfer, ...] = Field(
        default=(), **bt("BG-17", "Credit transfer")
    )
    card: PaymentCard | None = Field(default=None, **bt("BG-18", "Payment card information"))
    direct_debit: DirectDebit | None = Field(default=None, **bt("BG-19", "Direct debit"))


class AllowanceCharge(Value):
    """BG-20 document level allowance / BG-21 document level charge (BT ids depend on the list)."""

    amount: Amount = Field(description="Amount, without VAT")
    base_amount: Amount | None = Field(
        default=None, description="Base amount the percentage applies to"
    )
    percentage: Amount | None = Field(default=None, description="Percentage of the base amount")
    vat_category: str = Field(description="VAT category code (UNTDID 5305)")
    vat_rate: Amount | None = Field(default=None, description="VAT rate in percent")
    reason: str | None = Field(default=None, description="Reason text")
    reason_code: str | None = Field(
        default=None, description="Reason code (UNTDID 5189 allowances, UNTDID 7161 charges)"
    )


class Totals(Value):
    """BG-22 Document totals.

    Any amount left out on intake is computed with EN 16931 rounding by
    :func:`gateway.totals.complete`; any amount given is kept and checked by the rules.
    """

    line_net: Amount | None = Field(default=None, **bt("BT-106", "Sum of Invoice line net amount"))
    allowances: Amount | None = Field(
        default=None, **bt("BT-107", "Sum of allowances on document level")
    )
    charges: Amount | None = Field(default=None, **bt("BT-108", "Sum of charges on document level"))
    without_vat: Amount | None = Field(
        default=None, **bt("BT-109", "Invoice total amount without VAT")
    )
    vat: Amount | None = Field(default=None, **bt("BT-110", "Invoice total VAT amount"))
    vat_in_accounting_currency: Amount | None = Field(
        default=None, **bt("BT-111", "Invoice total VAT amount in accounting currency")
    )
    with_vat: Amount | None = Field(default=None, **bt("BT-112", "Invoice total amount with VAT"))
    prepaid: Amount | None = Field(default=None, **bt("BT-113", "Paid amount"))
    rounding: Amount | None = Field(default=None, **bt("BT-114", "Rounding amount"))
    due: Amount | None = Field(default=None, **bt("BT-115", "Amount due for payment"))


class VatBreakdown(Value):
    """BG-23 VAT breakdown: one per VAT category code and rate.

    On intake an entry may give only category, rate and exemption reason; the amounts are then
    computed from the lines, allowances and charges of that category and rate.
    """

    taxable_amount: Amount | None = Field(
        default=None, **bt("BT-116", "VAT category taxable amount")
    )
    tax_amount: Amount | None = Field(default=None, **bt("BT-117", "VAT category tax amount"))
    category: str = Field(**bt("BT-118", "VAT category code"))
    rate: Amount | None = Field(default=None, **bt("BT-119", "VAT category rate"))
    exemption_reason: str | None = Field(default=None, **bt("BT-120", "VAT exemption reason text"))
    exemption_reason_code: str | None = Field(
        default=None, **bt("BT-121", "VAT exemption reason code")
    )


class Attachment(Value):
    """BT-125 embedded attachment; the content is base64 in JSON, bytes in the model."""

    content: bytes = Field(**bt("BT-125", "Attached document"))
    mime_code: str = Field(**bt("BT-125-1", "Attached document Mime code"))
    filename: str = Field(min_length=1, **bt("BT-125-2", "Attached document Filename"))


class SupportingDocument(Value):
    """BG-24 Additional supporting document."""

    reference: str = Field(min_length=1, **bt("BT-122", "Supporting document reference"))
    description: str | None = Field(default=None, **bt("BT-123", "Supporting document description"))
    external_uri: str | None = Field(default=None, **bt("BT-124", "External document location"))
    attachment: Attachment | None = Field(default=None, **bt("BT-125", "Attached document"))


_ALLOWANCE_BT = dict(
    amount="BT-92",
    base_amount="BT-93",
    percentage="BT-94",
    vat_category="BT-95",
    vat_rate="BT-96",
    reason="BT-97",
    reason_code="BT-98",
)
_CHARGE_BT = dict(
    amount="BT-99",
    base_amount="BT-100",
    percentage="BT-101",
    vat_category="BT-102",
    vat_rate="BT-103",
    reason="BT-104",
    reason_code="BT-105",
)


class Invoice(Value):
    """An invoice or credit note in EN 16931 terms (BT-3 says which).

    Totals (BG-22), the VAT breakdown (BG-23) and line net amounts (BT-131) may be omitted on
    intake; :func:`gateway.totals.complete` computes them. Everything else is as given.
    """

    number: str = Field(min_length=1, **bt("BT-1", "Invoice number"))
    issue_date: dt.date = Field(**bt("BT-2", "Invoice issue date"))
    type_code: str = Field(
        default="380",
        **bt("BT-3", "Invoice type code (UNTDID 1001: 380 invoice, 381 credit note, ...)"),
    )
    currency: str = Field(**bt("BT-5", "Invoice currency code (ISO 4217)"))
    tax_currency: str | None = Field(default=None, **bt("BT-6", "VAT accounting currency code"))
    tax_point_date: dt.date | None = Field(default=None, **bt("BT-7", "Value added tax point date"))
    tax_point_date_code: str | None = Field(
        default=None, **bt("BT-8", "Value added tax point date code (UNTDID 2005: 3, 35, 432)")
    )
    due_date: dt.date | None = Field(default=None, **bt("BT-9", "Payment due date"))
    buyer_reference: str | None = Field(default=None, **bt("BT-10", "Buyer reference"))
    project_reference: str | None = Field(default=None, **bt("BT-11", "Project reference"))
    contract_reference: str | None = Field(default=None, **bt("BT-12", "Contract reference"))
    purchase_order_reference: str | None = Field(
        default=None, **bt("BT-13", "Purchase order reference")
    )
    sales_order_reference: str | None = Field(default=None, **bt("BT-14", "Sales order reference"))
    receiving_advice_reference: str | None = Field(
        default=None, **bt("BT-15", "Receiving advice reference")
    )
    despatch_advice_reference: str | None = Field(
        default=None, **bt("BT-16", "Despatch advice reference")
    )
    tender_reference: str | None = Field(default=None, **bt("BT-17", "Tender or lot reference"))
    invoiced_object: Identifier | None = Field(
        default=None, **bt("BT-18", "Invoiced object identifier")
    )
    buyer_accounting_reference: str | None = Field(
        default=None, **bt("BT-19", "Buyer accounting reference")
    )
    payment_terms: str | None = Field(default=None, **bt("BT-20", "Payment terms"))
    notes: tuple[Note, ...] = Field(default=(), **bt("BG-1", "Invoice note"))
    business_process: str | None = Field(default=None, **bt("BT-23", "Business process type"))
    specification_id: str | None = Field(
        default=None, **bt("BT-24", "Specification identifier (set by the mapping on render)")
    )
    preceding_invoices: tuple[PrecedingInvoice, ...] = Field(
        default=(), **bt("BG-3", "Preceding Invoice reference")
    )
    seller: Seller = Field(**bt("BG-4", "Seller"))
    buyer: Buyer = Field(**bt("BG-7", "Buyer"))
    payee: Payee | None = Field(default=None, **bt("BG-10", "Payee"))
    tax_representative: TaxRepresentative | None = Field(
        default=None, **bt("BG-11", "Seller tax representative party")
    )
    delivery: Delivery | None = Field(default=None, **bt("BG-13", "Delivery information"))
    invoice_period: Period | None = Field(
        default=None, **bt("BG-14", "Invoicing period", start="BT-73", end="BT-74")
    )
    payment: PaymentInstructions | None = Field(default=None, **bt("BG-16", "Payment instructions"))
    allowances: tuple[AllowanceCharge, ...] = Field(
        default=(), **bt("BG-20", "Document level allowances", **_ALLOWANCE_BT)
    )
    charges: tuple[AllowanceCharge, ...] = Field(
        default=(), **bt("BG-21", "Document level charges", **_CHARGE_BT)
    )
    totals: Totals | None = Field(default=None, **bt("BG-22", "Document totals"))
    vat_breakdown: tuple[VatBreakdown, ...] = Field(default=(), **bt("BG-23", "VAT breakdown"))
    supporting_documents: tuple[SupportingDocument, ...] = Field(
        default=(), **bt("BG-24", "Additional supporting documents")
    )
    lines: tuple[InvoiceLine, ...] = Field(min_length=1, **bt("BG-25", "Invoice line"))
    # Not an EN 16931 term: which terms the gateway filled (derived, master data, code lists).
    # Never rendered; left out of the canonical JSON while empty so stored hashes stay stable.
    provenance: tuple[TermSource, ...] = ()

    @classmethod
    def model_json_schema(
        cls,
        by_alias: bool | None = None,
        ref_template: str = DEFAULT_REF_TEMPLATE,
        schema_generator: type[GenerateJsonSchema] = RecordJsonSchema,
        mode: JsonSchemaMode = "validation",
        *,
        union_format: Literal["any_of", "primitive_type_array"] = "any_of",
    ) -> dict[str, Any]:
        """pydantic's JSON Schema, by default with one definition per use of a shared class and
        every field described by the EN 16931 term it is there (:mod:`gateway.model.schema`),
        and the example record (:mod:`gateway.model.example`)."""
        return super().model_json_schema(
            by_alias, ref_template, schema_generator, mode, union_format=union_format
        )

    @property
    def is_credit_note(self) -> bool:
        """True for the credit-note type codes that UBL carries as a CreditNote document."""
        return self.type_code in CREDIT_NOTE_TYPE_CODES


# UNTDID 1001 codes that UBL expresses as a CreditNote (Peppol BIS 3 lists 81, 83, 381, 396, 532).
CREDIT_NOTE_TYPE_CODES = frozenset({"81", "83", "381", "396", "532"})
