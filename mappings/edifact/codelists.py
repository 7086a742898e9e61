"""EANCOM / UN/EDIFACT D.96A code lists mapped to the EN 16931 code lists, both ways.

EN 16931 prescribes its code lists (UN/ECE Rec 20 units, UNTDID 5189 allowance and 7161 charge
reasons, the UNTDID 5305 subset for VAT categories, UNTDID 4461 payment means, ISO 6523 ICD
identifier schemes). EANCOM spells some of these differently: a piece is ``PCE`` (EANCOM 6411)
where Rec 20 has ``H87``; an allowance is coded from 7161 (``DI`` discount) where EN 16931 wants
5189 (``95``). Each table below is one data element, one row per code EANCOM spells
differently, with the source of the row. ``read_*`` translates at parse (EANCOM -> EN 16931),
``write_*`` at render (EN 16931 -> EANCOM).

A code that is already in the EN 16931 list passes unchanged both ways. A code that is in
neither the table nor the EN 16931 list is *unmappable*: ``read_*`` returns ``None`` and the
parser reports it naming segment, element and code.

Sources (``Row.source``):
``EANCOM 2002 6411`` / ``EANCOM 1997 7161`` - GS1 EANCOM Part III data element and code sets
directory (7161 ABH throughput allowance, ADO efficient logistics, ADR other services);
``UNTDID D.96A`` - the UN/EDIFACT D.96A code lists (7161, 5305, 5125, 3055);
``UN/ECE Rec 20`` - Recommendation 20 rev. with Rec 21 package codes prefixed ``X`` (Annex V/VI);
``UNTDID 5189`` / ``UNTDID 5305`` - the EN 16931 code list values (as in the CEN artefacts,
``schemas/codelists``); ``ISO 6523 ICD`` - identifier scheme codes.
"""

from __future__ import annotations

from dataclasses import dataclass

from gateway.rules import codelists as en


@dataclass(frozen=True)
class Row:
    """One translation: the EANCOM code, the EN 16931 code, why, and where that is written."""

    eancom: str
    en16931: str
    meaning: str
    source: str
    # False: several EANCOM codes share the EN 16931 code; render writes the ``True`` one
    preferred: bool = True


# BT-130 / BT-150 unit of measure (QTY C186 6411, PRI C509 6411).
UNITS: tuple[Row, ...] = (
    Row("PCE", "H87", "piece", "EANCOM 2002 6411 PCE = Piece; UN/ECE Rec 20 H87 = piece"),
    Row(
        "PCS",
        "H87",
        "pieces",
        "PCS: common non-standard spelling of piece (neither EANCOM "
        "nor Rec 20); UN/ECE Rec 20 H87 = piece",
        False,
    ),
    Row(
        "CT",
        "XCT",
        "carton",
        "UN/ECE Rec 21 CT = Carton (written as a unit by EANCOM senders); Rec 20 (Annex VI) XCT",
    ),
    Row("PK", "XPK", "package", "UN/ECE Rec 21 PK = Package; Rec 20 (Annex VI) XPK"),
    Row("BX", "XBX", "box", "UN/ECE Rec 21 BX = Box; Rec 20 (Annex VI) XBX"),
    Row("PA", "XPA", "packet", "UN/ECE Rec 21 PA = Packet; Rec 20 (Annex VI) XPA"),
    Row("PF", "XPF", "pallet (modular)", "UN/ECE Rec 21 PF = Pallet, modular; Rec 20 XPF"),
    Row("RO", "XRO", "roll", "UN/ECE Rec 21 RO = Roll; Rec 20 (Annex VI) XRO"),
)

# BT-98 / BT-140 allowance reason: EANCOM codes the reason from 7161 (ALC C214 7161), EN 16931
# from UNTDID 5189. 5189's general allowance is 95 (Discount); a 7161 code with no narrower
# counterpart is a discount of that kind and maps there (see ``read_allowance_reason``).
ALLOWANCE_REASONS: tuple[Row, ...] = (
    Row("DI", "95", "discount", "UNTDID D.96A 7161 DI = Discount; UNTDID 5189 95 = Discount"),
    Row("SF", "100", "special rebate", "UNTDID 7161 SF = Special rebate; UNTDID 5189 100"),
    Row("TZ", "103", "temporary allowance", "UNTDID 7161 TZ = Temporary allowance; 5189 103"),
    Row(
        "CL",
        "64",
        "contract allowance",
        "UNTDID 7161 CL = Contract allowance; 5189 64 = Special agreement",
    ),
    Row(
        "DA",
        "65",
        "defective allowance",
        "UNTDID 7161 DA = Defective allowance; 5189 65 = Production error discount",
    ),
    Row(
        "AAO",
        "88",
        "material surcharge/deduction",
        "UNTDID D.96A 7161 AAO = Material "
        "surcharge/deduction; UNTDID 5189 88 = Material surcharge/deduction",
    ),
)
GENERAL_ALLOWANCE = "95"

# BT-105 / BT-145 charge reason: EN 16931 uses UNTDID 7161 itself, so a 7161 code passes as
# it is. A code EN 16931's 7161 does not list (removed since D.96A, or EANCOM's own) maps to
# ABK, whose definition is "the service provided for the stated charge is not defined".
CHARGE_REASONS: tuple[Row, ...] = ()
GENERAL_CHARGE = "ABK"

# BT-95 / BT-102 / BT-118 / BT-151 VAT category (TAX C243 5305). EN 16931 takes a subset of
# UNTDID 5305; D.96A's rate classes H (higher) and AA (lower) are all "S" with their rate.
VAT_CATEGORIES: tuple[Row, ...] = (
    Row(
        "H",
        "S",
        "higher rate",
        "UNTDID D.96A 5305 H = Higher rate; EN 16931 S with the rate",
        False,
    ),
    Row("AA", "S", "lower rate", "UNTDID 5305 AA = Lower rate; EN 16931 S with the rate", False),
)

# BT-29-1 / BT-46-1 / BT-60-1 / BT-71-1 identifier scheme (NAD C082 3055 agency).
PARTY_AGENCIES: tuple[Row, ...] = (
    Row("9", "0088", "GS1 GLN", "UNTDID D.96A 3055 9 = EAN; ISO 6523 ICD 0088 = GS1 GLN"),
    Row("16", "0060", "DUNS", "UNTDID D.96A 3055 16 = DUNS; ISO 6523 ICD 0060 = DUNS"),
)
# 3055 agencies that say "no public scheme": read as an identifier without scheme.
NO_SCHEME_AGENCIES = {
    "": "none given",
    "91": "UNTDID 3055 91 = assigned by supplier or supplier's agent",
    "92": "UNTDID 3055 92 = assigned by buyer or buyer's agent",
    "ZZZ": "UNTDID 3055 ZZZ = mutually defined",
}

# PRI C509 5125 price qualifier -> BT-146 (net) / BT-148 (gross).
PRICE_QUALIFIERS = {
    "AAA": "net",  # UNTDID D.96A 5125 AAA = Calculation net
    "AAB": "gross",  # UNTDID D.96A 5125 AAB = Calculation gross
    "INV": "net",  # UNTDID D.96A 5125 INV = Invoice price (the price invoiced: net)
}

# RFF C506 1153 header references read into EN 16931 terms in addition to codes.RFF_HEADER
# (which render writes): EANCOM writes the despatch advice as AAK, many senders as DQ.
RFF_ALIASES = {
    "AAK": "despatch_advice_reference",  # UNTDID 1153 AAK = Despatch advice number (BT-16)
}


def _lookup(rows: tuple[Row, ...], code: str) -> Row | None:
    for row in rows:
        if row.eancom == code:
            return row
    return None


def _reverse(rows: tuple[Row, ...], code: str) -> str:
    for row in rows:
        if row.en16931 == code and row.preferred:
            return row.eancom
    return code


_NONE = "none"  # the target of a code that maps to "no code" (an identifier without scheme)


@dataclass(frozen=True)
class Translated:
    """A code read into EN 16931: the code, and the row when it was translated."""

    code: str
    row: Row | None = None

    def detail(self, element: str, target: str) -> str | None:
        """Provenance detail (``EANCOM 6411 PCE -> UN/ECE Rec 20 H87: ...``) or None."""
        if self.row is None:
            return None
        code = self.code or _NONE
        return f"{element} {self.row.eancom} -> {target} {code} ({self.row.source})"


def read_unit(code: str) -> Translated | None:
    """A 6411 unit as Rec 20; None when it is neither Rec 20 nor in ``UNITS``."""
    row = _lookup(UNITS, code)
    if row is not None:
        return Translated(row.en16931, row)
    return Translated(code) if code in en.REC_20 else None


def write_unit(code: str) -> str:
    """A Rec 20 unit as EANCOM writes it (H87 -> PCE)."""
    return _reverse(UNITS, code)


def read_allowance_reason(code: str) -> Translated | None:
    """An ALC+A reason code (7161, or 5189 as some senders write it) as UNTDID 5189.

    A 5189 code passes; a 7161 code with a table row maps to it; any other code of the
    UNTDID 7161 list (or an EANCOM code of 7161's an..3 form) maps to 95, 5189's general
    discount, and the row says so. None for a value that cannot be a 7161 code at all
    (a number that is not a 5189 code, lower case, longer than 3).
    """
    if code in en.UNTDID_5189:
        return Translated(code)
    row = _lookup(ALLOWANCE_REASONS, code)
    if row is not None:
        return Translated(row.en16931, row)
    if code in en.UNTDID_7161 or _code_form(code):
        general = Row(
            code,
            GENERAL_ALLOWANCE,
            "allowance without a narrower UNTDID 5189 code",
            f"UNTDID 7161 {code} has no UNTDID 5189 counterpart; 95 = Discount is 5189's "
            "general allowance",
            False,
        )
        return Translated(GENERAL_ALLOWANCE, general)
    return None


def is_allowance_code(code: str) -> bool:
    """Whether ``code`` is in EN 16931's UNTDID 5189 list."""
    return code in en.UNTDID_5189


def write_allowance_reason(code: str) -> str:
    """A 5189 reason as the 7161 code EANCOM writes (95 -> DI); other 5189 codes as they are."""
    return _reverse(ALLOWANCE_REASONS, code)


def read_charge_reason(code: str) -> Translated | None:
    """An ALC+C reason code as UNTDID 7161 (EN 16931's list).

    A listed code passes; another code of 7161's an..3 form maps to ABK (see
    ``CHARGE_REASONS``); None for a value that cannot be a 7161 code.
    """
    row = _lookup(CHARGE_REASONS, code)
    if row is not None:
        return Translated(row.en16931, row)
    if code in en.UNTDID_7161:
        return Translated(code)
    if _code_form(code):
        general = Row(
            code,
            GENERAL_CHARGE,
            "charge without a code in EN 16931's UNTDID 7161",
            f"7161 {code} is not in EN 16931's UNTDID 7161 list; ABK = Miscellaneous (the "
            "service provided for the stated charge is not defined)",
            False,
        )
        return Translated(GENERAL_CHARGE, general)
    return None


def _code_form(code: str) -> bool:
    """Whether ``code`` has the form of a 7161 code (an..3, letters first, e.g. ABV, DI)."""
    return code.isalnum() and code.isupper() and code[:1].isalpha() and len(code) <= 3


def read_vat_category(code: str) -> Translated | None:
    """A 5305 duty/tax category as EN 16931's subset; None for e.g. A (mixed rate)."""
    row = _lookup(VAT_CATEGORIES, code)
    if row is not None:
        return Translated(row.en16931, row)
    return Translated(code) if code in en.UNTDID_5305 else None


def read_payment_means(code: str) -> Translated | None:
    """A 4461 payment means; D.96A and EN 16931 share the list (None when not in it)."""
    return Translated(code) if code in en.UNTDID_4461 else None


def read_party_agency(agency: str) -> Translated | None:
    """NAD C082 3055 as an ISO 6523 ICD scheme; ``Translated("")`` for no scheme."""
    row = _lookup(PARTY_AGENCIES, agency)
    if row is not None:
        return Translated(row.en16931, row)
    if agency in NO_SCHEME_AGENCIES:
        meaning = NO_SCHEME_AGENCIES[agency]
        return Translated("", Row(agency, "", meaning, meaning) if agency else None)
    return None


def write_party_agency(scheme: str | None) -> str:
    """An ICD scheme as the 3055 agency (0088 -> 9); "" when D.96A has no agency for it."""
    if scheme is None:
        return ""
    for row in PARTY_AGENCIES:
        if row.en16931 == scheme:
            return row.eancom
    return ""


def original(detail: str, code: str) -> str | None:
    """The EANCOM code a provenance detail of ``Translated.detail`` names when it was
    translated to ``code`` (``PCE`` for ``EANCOM 6411 PCE -> UN/ECE Rec 20 H87 (...)`` and
    H87), so render writes back what was read; None when the detail is about another code."""
    head, _, tail = detail.partition(" -> ")
    if not head.startswith("EANCOM ") or not tail:
        return None
    target = tail.split(" (", 1)[0].rsplit(" ", 1)[-1]
    return head.rsplit(" ", 1)[-1] if target == (code or _NONE) else None


def read_document_type(code: str) -> bool:
    """Whether a BGM 1001 code is one EN 16931 accepts (invoice or credit note type)."""
    return code in en.UNTDID_1001_INVOICE or code in en.UNTDID_1001_CREDIT
