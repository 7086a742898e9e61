"""Names and codes shared by the CII renderer and parser (UN/CEFACT CII D16B, EN 16931 binding)."""

from __future__ import annotations

RSM = "urn:un:unece:uncefact:data:standard:CrossIndustryInvoice:100"
RAM = "urn:un:unece:uncefact:data:standard:ReusableAggregateBusinessInformationEntity:100"
QDT = "urn:un:unece:uncefact:data:standard:QualifiedDataType:100"
UDT = "urn:un:unece:uncefact:data:standard:UnqualifiedDataType:100"

NAMESPACES = {"rsm": RSM, "ram": RAM, "qdt": QDT, "udt": UDT}

# AdditionalReferencedDocument type codes (UNTDID 1001) that carry EN 16931 terms in CII.
TENDER_TYPE = "50"  # BT-17 Tender or lot reference
OBJECT_TYPE = "130"  # BT-18 Invoiced object identifier, BT-128 line object identifier
SUPPORTING_TYPE = "916"  # BG-24 Additional supporting document

# SpecifiedTaxRegistration/ID schemeID: VAT identifier (BT-31, BT-48, BT-63) and the
# seller's tax registration identifier (BT-32).
VAT_SCHEME = "VA"
TAX_SCHEME = "FC"

# UNTDID 2379 format code for CCYYMMDD: the only date format EN 16931 allows in CII.
DATE_FORMAT = "102"

# SpecifiedProcuringProject/Name is mandatory in the XSD but has no EN 16931 term; the
# official examples fill it with this text.
PROJECT_NAME = "Project reference"

# UNTDID 4461 "Instrument not defined": used when a document carries payment terms such as a
# remittance reference (BT-83) but no SpecifiedTradeSettlementPaymentMeans (BT-81).
UNDEFINED_MEANS = "1"

# BT-8 is a UNTDID 2005 code in the model (3 invoice date, 35 delivery date, 432 paid-to date,
# as in UBL); the CII binding writes the UNTDID 2475 equivalents (BR-CL-06: 5, 29, 72).
TAX_POINT_CODE_TO_CII = {"3": "5", "35": "29", "432": "72"}
TAX_POINT_CODE_FROM_CII = {cii: model for model, cii in TAX_POINT_CODE_TO_CII.items()}
