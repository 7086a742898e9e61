"""UBL 2.1 namespaces and the fixed codes of the EN 16931 UBL binding."""

from __future__ import annotations

INVOICE_NS = "urn:oasis:names:specification:ubl:schema:xsd:Invoice-2"
CREDIT_NOTE_NS = "urn:oasis:names:specification:ubl:schema:xsd:CreditNote-2"
CAC_NS = "urn:oasis:names:specification:ubl:schema:xsd:CommonAggregateComponents-2"
CBC_NS = "urn:oasis:names:specification:ubl:schema:xsd:CommonBasicComponents-2"

PREFIXES = {CAC_NS: "cac", CBC_NS: "cbc"}

# AdditionalDocumentReference/DocumentTypeCode values with a meaning of their own.
INVOICED_OBJECT_CODE = "130"  # BT-18 (and BT-128 on a line)
PROJECT_CODE = "50"  # BT-11 in a CreditNote, which has no ProjectReference

# Seller/payee PartyIdentification scheme carrying the bank assigned creditor id (BT-90).
SEPA_SCHEME = "SEPA"

# TaxScheme/ID for the seller's tax registration that is not a VAT id (BT-32).
LOCAL_TAX_SCHEME = "FC"

# Order/ID is mandatory in UBL; Peppol BIS 3 writes "NA" when only BT-14 is known.
NO_ORDER_ID = "NA"

# CardAccount/NetworkID is mandatory in UBL and has no EN 16931 term.
NO_CARD_NETWORK = "NA"
