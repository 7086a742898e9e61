"""Names shared by the cXML renderer and parser: purposes, Extrinsic and IdReference names.

cXML has no element for many EN 16931 terms; where Ariba/Coupa practice uses an ``Extrinsic``
(a named free-text value) or an ``IdReference`` (identifier + domain), these are the names used.
"""

from __future__ import annotations

CXML_VERSION = "1.2.037"
DOCTYPE = '<!DOCTYPE cXML SYSTEM "http://xml.cxml.org/schemas/cXML/1.2.037/InvoiceDetail.dtd">'
LANG = "en"

# UNTDID 1001 -> InvoiceDetailRequestHeader/@purpose. A credit note with invoice lines is a
# line-level credit memo in cXML 1.2.037 (creditMemo is the header-only form without items).
CREDIT_MEMO_PURPOSE = "lineLevelCreditMemo"
DEBIT_MEMO_PURPOSE = "lineLevelDebitMemo"
CREDIT_PURPOSES = frozenset({"creditMemo", "lineLevelCreditMemo"})
PURPOSE_TYPE_CODE = {
    "standard": "380",
    "creditMemo": "381",
    "lineLevelCreditMemo": "381",
    "debitMemo": "383",
    "lineLevelDebitMemo": "383",
}
# Header Extrinsics: invoice field -> Extrinsic name (plain text values).
HEADER_TEXT = (
    ("buyer_reference", "buyerReference"),
    ("project_reference", "projectReference"),
    ("contract_reference", "contractReference"),
    ("sales_order_reference", "salesOrderReference"),
    ("receiving_advice_reference", "receivingAdviceReference"),
    ("despatch_advice_reference", "despatchAdviceReference"),
    ("tender_reference", "tenderReference"),
    ("buyer_accounting_reference", "buyerAccountingReference"),
    ("payment_terms", "paymentTerms"),
    ("business_process", "businessProcess"),
    ("specification_id", "specificationID"),
)
TYPE_CODE = "invoiceTypeCode"
NOTE = "invoiceNote"
DUE_DATE = "paymentDueDate"
MEANS_CODE = "paymentMeansCode"
MEANS_TEXT = "paymentMeansText"
REMITTANCE = "remittanceInformation"
# Line Extrinsics.
LINE_ID = "invoiceLineID"
ORDER_LINE = "orderLineReference"
LINE_ACCOUNTING = "buyerAccountingReference"
LINE_PERIOD_START = "periodStartDate"
LINE_PERIOD_END = "periodEndDate"
# Contact Extrinsics.
CONTACT_PERSON = "contactPerson"
TRADING_NAME = "tradingName"
LEGAL_INFO = "legalInformation"
# TaxDetail Extrinsic: the EN 16931 VAT category code (UNTDID 5305).
VAT_CATEGORY = "vatCategoryCode"
# IdReference domains (party ids on the Contact, bank ids on the remitTo InvoicePartner).
VAT_ID = "vatID"
TAX_ID = "taxID"
LEGAL_ID = "legalRegistrationID"
ELECTRONIC_ADDRESS = "electronicAddress"
SELLER_ID = "supplierID"
BUYER_ID = "buyerID"
PAYEE_ID = "payeeID"
ACCOUNT_ID = "bankAccountID"
ACCOUNT_NAME = "bankAccountName"
SWIFT_ID = "swiftID"
