"""Qualifiers of the INVOIC D.96A / EANCOM EAN008 mapping, shared by render and parse.

One table per segment, EN 16931 field -> UN/EDIFACT code, so both directions read the same list.
The code *values* of coded terms (units, allowance/charge reasons, VAT categories, payment means,
identifier schemes) and their translation to the EN 16931 code lists are in
:mod:`mappings.edifact.codelists`.
"""

from __future__ import annotations

MESSAGE_TYPE = ["INVOIC", "D", "96A", "UN", "EAN008"]

# DTM 2005 (date/time/period function code qualifier), format 102 = CCYYMMDD.
DTM_ISSUE = "137"
DTM_TAX_POINT = "131"
DTM_DELIVERY = "35"
DTM_PERIOD_START = "194"
DTM_PERIOD_END = "206"
DTM_DUE = "13"
DTM_REFERENCE = "171"

# RFF 1153 (reference qualifier) in SG1 (header references).
RFF_HEADER = {
    "buyer_reference": "CR",  # BT-10 customer reference number
    "project_reference": "AEP",  # BT-11 project number
    "contract_reference": "CT",  # BT-12
    "purchase_order_reference": "ON",  # BT-13
    "sales_order_reference": "VN",  # BT-14 order number (supplier)
    "receiving_advice_reference": "ALO",  # BT-15 receiving advice number
    "despatch_advice_reference": "DQ",  # BT-16 delivery note number
}
RFF_PRECEDING = "IV"  # BG-3 invoice number of the corrected invoice, DTM 171 its date

# RFF in SG3 (under NAD).
RFF_VAT = "VA"
RFF_TAX_REGISTRATION = "FC"  # fiscal number (BT-32)
RFF_LEGAL = "XA"  # company / place of registration (BT-30, BT-47, BT-61)

# RFF in SG29 (line).
RFF_ORDER_LINE = "LI"  # BT-132
RFF_LINE_ID = "ZZZ"  # BT-126 when it is not a number LIN 1082 can hold

# FTX 4451 for texts that are not notes (BG-1). A note uses its subject code (BT-21), or
# ZZZ without one; a note whose subject is one of these reads back as that field.
FTX_PAYMENT_TERMS = "AAB"  # BT-20
FTX_LEGAL_INFO = "REG"  # BT-33
FTX_MEANS_TEXT = "PAI"  # BT-82
FTX_REMITTANCE = "PMD"  # BT-83
FTX_EXEMPTION = "TXD"  # BT-120/BT-121, C107 4441 = VAT category
FTX_NOTE_NO_SUBJECT = "ZZZ"
FTX_LINE_NOTE = "AAI"  # BT-127
RESERVED_FTX = frozenset(
    {FTX_PAYMENT_TERMS, FTX_LEGAL_INFO, FTX_MEANS_TEXT, FTX_REMITTANCE, FTX_EXEMPTION}
)

# NAD 3035 party function.
NAD_SELLER = "SU"
NAD_BUYER = "BY"
NAD_INVOICEE = "IV"
NAD_DELIVERY = "DP"
NAD_PAYEE = "PE"
NAD_TAX_REPRESENTATIVE = "LC"

# C082 / C212 agency and type codes for identifier schemes.
GLN_SCHEME = "0088"
GLN_AGENCY = "9"
GTIN_SCHEME = "0160"
GTIN_TYPE = "EN"
SELLER_ITEM = "SA"
BUYER_ITEM = "IN"

# MOA 5025.
MOA_LINE_NET = "203"
MOA_ALC_AMOUNT = "8"
MOA_ALC_BASE = "25"
MOA_TAX = "124"
MOA_TAXABLE = "125"
MOA_TOTALS = {
    "line_net": "79",  # BT-106
    "allowances": "260",  # BT-107
    "charges": "259",  # BT-108
    "without_vat": "125",  # BT-109 (in SG48; 125 in SG50 is a category taxable amount)
    "vat": "176",  # BT-110
    "with_vat": "77",  # BT-112
    "prepaid": "113",  # BT-113
    "rounding": "165",  # BT-114
    "due": "9",  # BT-115
}
MOA_VAT_ACCOUNTING = "176"  # BT-111: MOA 176 with the VAT accounting currency in C516.6345

# CUX 6343 currency qualifiers.
CUX_INVOICING = "4"
CUX_TAX = "18"

PCD_ALC = "1"  # allowance/charge percentage
PRI_NET = "AAA"
PRI_GROSS = "AAB"
QTY_INVOICED = "47"
CNT_LINES = "2"
FII_ACCOUNT = "RB"  # receiving financial institution (seller's or payee's account)
CTA_CONTACT = "IC"
COM_PHONE = "TE"
COM_EMAIL = "EM"
IMD_DESCRIPTION = "DSC"
IMD_ATTRIBUTE = "ATR"
