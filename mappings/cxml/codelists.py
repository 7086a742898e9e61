"""cXML codes mapped to the EN 16931 code lists (parse) - one table per code, with its source.

cXML's ``UnitOfMeasure`` is a UN/CEFACT Recommendation 20 code (cXML User's Guide: "UN/UNCEFACT
unit of measure common code"), so ``EA`` (each), ``C62``, ``HUR`` pass as they are and render
writes the model's Rec 20 code unchanged. In practice US ERPs and Ariba/Coupa suppliers also
send ANSI X12 355 units (``HR``, ``LB``, ``CS``, ``BX``) that are not Rec 20 codes: ``UNITS``
maps those that have one Rec 20 (or Rec 21 -> ``X..``) meaning; a code that is in neither list is
unmappable and the parser reports it naming the element.

Taxes: cXML ``TaxDetail/@category`` names the kind of tax; EN 16931 has VAT only, so ``vat`` and
``gst`` (a VAT under another name) are read and any other category (``sales``, ``usage``, ...)
is unmappable. The VAT category itself comes from the ``vatCategoryCode`` Extrinsic (must be
EN 16931's UNTDID 5305 subset) or from ``exemptDetail`` (``EXEMPT_DETAIL``).
"""

from __future__ import annotations

from dataclasses import dataclass

from gateway.rules import codelists as en


@dataclass(frozen=True)
class Row:
    """One translation: the cXML code, the EN 16931 code, and where that is written."""

    cxml: str
    en16931: str
    source: str


# BT-130 / BT-150 unit of measure (InvoiceDetailItem/UnitOfMeasure).
UNITS: tuple[Row, ...] = (
    Row("HR", "HUR", "ANSI X12 355 HR = Hour; UN/ECE Rec 20 HUR = hour"),
    Row("MO", "MON", "ANSI X12 355 MO = Months; UN/ECE Rec 20 MON = month"),
    Row("DA", "DAY", "ANSI X12 355 DA = Days; UN/ECE Rec 20 DAY = day"),
    Row("WK", "WEE", "ANSI X12 355 WK = Week; UN/ECE Rec 20 WEE = week"),
    Row("LB", "LBR", "ANSI X12 355 LB = Pound; UN/ECE Rec 20 LBR = pound"),
    Row("KG", "KGM", "ANSI X12 355 KG = Kilogram; UN/ECE Rec 20 KGM = kilogram"),
    Row("FT", "FOT", "ANSI X12 355 FT = Foot; UN/ECE Rec 20 FOT = foot"),
    Row("IN", "INH", "ANSI X12 355 IN = Inch; UN/ECE Rec 20 INH = inch"),
    Row("YD", "YRD", "ANSI X12 355 YD = Yard; UN/ECE Rec 20 YRD = yard"),
    Row("GA", "GLL", "ANSI X12 355 GA = Gallon; UN/ECE Rec 20 GLL = gallon (US)"),
    Row("DZ", "DZN", "ANSI X12 355 DZ = Dozen; UN/ECE Rec 20 DZN = dozen"),
    Row("PC", "H87", "ANSI X12 355 PC = Piece; UN/ECE Rec 20 H87 = piece"),
    Row("PCE", "H87", "EANCOM 6411 PCE = Piece (sent in cXML by EDI converters); Rec 20 H87"),
    Row("CS", "XCS", "ANSI X12 355 CS = Case; UN/ECE Rec 21 CS -> Rec 20 XCS"),
    Row("BX", "XBX", "ANSI X12 355 BX = Box; UN/ECE Rec 21 BX -> Rec 20 XBX"),
    Row("PK", "XPK", "ANSI X12 355 PK = Package; UN/ECE Rec 21 PK -> Rec 20 XPK"),
    Row("CT", "XCT", "ANSI X12 355 CT = Carton; UN/ECE Rec 21 CT -> Rec 20 XCT"),
    Row("RL", "XRO", "ANSI X12 355 RL = Roll; UN/ECE Rec 21 RO -> Rec 20 XRO"),
)

# TaxDetail/@category values that are EN 16931 VAT (cXML 1.2 TaxDetail category examples:
# sales, usage, vat, gst, qst, pst, hst, other).
VAT_TAX_CATEGORIES = {
    "vat": "cXML TaxDetail category vat = value added tax",
    "gst": "cXML TaxDetail category gst = goods and services tax, a VAT (EN 16931 VAT)",
}

# TaxDetail/@exemptDetail -> BT-118/BT-151 when no vatCategoryCode Extrinsic says otherwise.
EXEMPT_DETAIL = {
    "exempt": "E",  # cXML exemptDetail exempt; UNTDID 5305 E = exempt from tax
    "zeroRated": "Z",  # cXML exemptDetail zeroRated; UNTDID 5305 Z = zero rated goods
}


@dataclass(frozen=True)
class Translated:
    """A code read into EN 16931, and the provenance detail when it was translated."""

    code: str
    detail: str | None = None


def read_unit(code: str) -> Translated | None:
    """A cXML UnitOfMeasure as Rec 20; None when it is neither Rec 20 nor in ``UNITS``."""
    for row in UNITS:
        if row.cxml == code:
            detail = f"cXML UnitOfMeasure {code} -> UN/ECE Rec 20 {row.en16931} ({row.source})"
            return Translated(row.en16931, detail)
    return Translated(code) if code in en.REC_20 else None


def is_vat_category(code: str) -> bool:
    """Whether a vatCategoryCode Extrinsic is in EN 16931's UNTDID 5305 subset."""
    return code in en.UNTDID_5305
