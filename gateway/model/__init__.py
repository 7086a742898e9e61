"""The canonical model: EN 16931 semantic terms as immutable typed values with Decimal money.

Every field carries its BT/BG id in its metadata; :func:`bt_of` turns a field path (as pydantic
reports it, or as a rule names it) into that id so errors point at the ERP field that fed them.
"""

from gateway.model.base import Address, Amount, Contact, Identifier, Period, Value
from gateway.model.invoice import (
    CREDIT_NOTE_TYPE_CODES,
    AllowanceCharge,
    Attachment,
    CreditTransfer,
    DirectDebit,
    Invoice,
    Note,
    PaymentCard,
    PaymentInstructions,
    PrecedingInvoice,
    SupportingDocument,
    Totals,
    VatBreakdown,
)
from gateway.model.lines import (
    InvoiceLine,
    Item,
    ItemAttribute,
    ItemClassification,
    LineAllowanceCharge,
    Price,
)
from gateway.model.parties import Buyer, Delivery, Payee, Seller, TaxRepresentative
from gateway.model.paths import bt_of
from gateway.model.provenance import SourceKind, TermSource

__all__ = [
    "CREDIT_NOTE_TYPE_CODES",
    "Address",
    "AllowanceCharge",
    "Amount",
    "Attachment",
    "Buyer",
    "Contact",
    "CreditTransfer",
    "Delivery",
    "DirectDebit",
    "Identifier",
    "Invoice",
    "InvoiceLine",
    "Item",
    "ItemAttribute",
    "ItemClassification",
    "LineAllowanceCharge",
    "Note",
    "Payee",
    "PaymentCard",
    "PaymentInstructions",
    "Period",
    "PrecedingInvoice",
    "Price",
    "Seller",
    "SourceKind",
    "SupportingDocument",
    "TaxRepresentative",
    "TermSource",
    "Totals",
    "Value",
    "VatBreakdown",
    "bt_of",
]
