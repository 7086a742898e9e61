"""EANCOM code lists <-> EN 16931 code lists: tables, unmappable codes, provenance, render back."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from pathlib import Path

import pytest
from builders import simple_invoice

from gateway.envelope import Envelope
from gateway.errors import ParseError
from gateway.model import AllowanceCharge, Identifier, LineAllowanceCharge, TermSource
from gateway.profiles.profile import BuyerProfile
from gateway.rules import codelists as en
from mappings.edifact import codelists as cl
from mappings.edifact.invoic import EancomD96A

ROOT = Path(__file__).resolve().parent.parent
MAPPING = EancomD96A()
PROFILE = BuyerProfile(name="p", options={"sender_id": "4012345000016", "recipient_id": "1"})
ENVELOPE = Envelope("IC1", dt.datetime(2026, 11, 24, 10, 30), message_refs=("M1",))
EXAMPLE = (ROOT / "examples" / "eancom" / "01-unoa-no-una-pieces.edi").read_bytes()


@pytest.mark.parametrize(
    ("table", "target"),
    [
        (cl.UNITS, en.REC_20),
        (cl.ALLOWANCE_REASONS, en.UNTDID_5189),
        (cl.CHARGE_REASONS, en.UNTDID_7161),
        (cl.VAT_CATEGORIES, en.UNTDID_5305),
        (cl.PARTY_AGENCIES, en.ICD),
    ],
    ids=["units", "allowances", "charges", "vat", "agencies"],
)
def test_every_row_targets_the_en16931_list_and_names_its_source(
    table: tuple[cl.Row, ...], target: frozenset[str]
) -> None:
    """Each table row maps to a code of the EN 16931 list and says where it comes from."""
    for row in table:
        assert row.en16931 in target, row
        assert row.source and row.meaning, row
    preferred = [row.en16931 for row in table if row.preferred]
    assert len(preferred) == len(set(preferred)), "one EANCOM spelling per EN 16931 code"


@pytest.mark.parametrize(
    ("read", "code", "expected"),
    [
        (cl.read_unit, "PCE", "H87"),
        (cl.read_unit, "CT", "XCT"),
        (cl.read_unit, "KGM", "KGM"),
        (cl.read_unit, "QQQ", None),
        (cl.read_allowance_reason, "DI", "95"),
        (cl.read_allowance_reason, "95", "95"),
        (cl.read_allowance_reason, "TZ", "103"),
        (cl.read_allowance_reason, "ABH", "95"),
        (cl.read_allowance_reason, "1234", None),
        (cl.read_allowance_reason, "di", None),
        (cl.read_charge_reason, "FC", "FC"),
        (cl.read_charge_reason, "ABV", "ABK"),
        (cl.read_charge_reason, "12", None),
        (cl.read_vat_category, "S", "S"),
        (cl.read_vat_category, "H", "S"),
        (cl.read_vat_category, "A", None),
        (cl.read_payment_means, "42", "42"),
        (cl.read_payment_means, "99", None),
        (cl.read_party_agency, "9", "0088"),
        (cl.read_party_agency, "16", "0060"),
        (cl.read_party_agency, "91", ""),
        (cl.read_party_agency, "5", None),
    ],
)
def test_read_translates_or_refuses(read: object, code: str, expected: str | None) -> None:
    """EANCOM codes read into EN 16931 codes; a code with no counterpart reads as None."""
    assert callable(read)
    found = read(code)
    assert (None if found is None else found.code) == expected


@pytest.mark.parametrize(
    ("write", "code", "expected"),
    [
        (cl.write_unit, "H87", "PCE"),
        (cl.write_unit, "XCT", "CT"),
        (cl.write_unit, "C62", "C62"),
        (cl.write_allowance_reason, "95", "DI"),
        (cl.write_allowance_reason, "100", "SF"),
        (cl.write_allowance_reason, "41", "41"),
        (cl.write_party_agency, "0088", "9"),
        (cl.write_party_agency, "0060", "16"),
        (cl.write_party_agency, "0204", ""),
    ],
)
def test_write_spells_the_eancom_code(write: object, code: str, expected: str) -> None:
    """EN 16931 codes are written as EANCOM spells them."""
    assert callable(write)
    assert write(code) == expected


@pytest.mark.parametrize(
    ("old", "new", "location", "code"),
    [
        (b"QTY+47:100:PCE", b"QTY+47:100:QQQ", "segment 26 QTY element 1 component 3",
         "6411 'QQQ'"),
        (b"ALC+A++++DI", b"ALC+A++++1234", "segment 19 ALC element 5 component 1", "7161 '1234'"),
        (b"TAX+7+VAT+++:::19+S'LIN+1", b"TAX+7+VAT+++:::19+A'LIN+1", "segment 22 TAX element 6",
         "5305 'A'"),
        (b"PAI+::42", b"PAI+::99", "segment 6 PAI element 1 component 3", "4461 '99'"),
        (b"4098765000003::9++HANDELSHAUS", b"4098765000003::5++HANDELSHAUS",
         "segment 13 NAD element 2 component 3", "3055 '5'"),
        (b"BGM+380+", b"BGM+999+", "segment 3 BGM element 1", "1001 '999'"),
    ],
    ids=["unit", "allowance", "vat-category", "payment-means", "party-agency", "document-type"],
)  # fmt: skip
def test_unmappable_code_names_segment_element_and_code(
    old: bytes, new: bytes, location: str, code: str
) -> None:
    """A code with no EN 16931 counterpart is a ParseError naming segment, element and code."""
    assert old in EXAMPLE
    with pytest.raises(ParseError) as info:
        MAPPING.parse(EXAMPLE.replace(old, new, 1))
    assert info.value.location.startswith(location)
    assert code in str(info.value) and "accepted" in str(info.value)


def test_every_unmappable_code_is_reported_at_once() -> None:
    """Two bad codes: one ParseError naming both locations."""
    bad = EXAMPLE.replace(b"QTY+47:100:PCE", b"QTY+47:100:QQQ").replace(
        b"QTY+47:50:PCE", b"QTY+47:50:QQR"
    )
    with pytest.raises(ParseError) as info:
        MAPPING.parse(bad)
    assert "'QQQ'" in str(info.value) and "'QQR'" in str(info.value)
    assert "segment 32 QTY" in str(info.value)


def test_provenance_restores_the_code_read_at_render() -> None:
    """A code read through a many-to-one row (7161 ABH -> 95, 5305 AA -> S, 6411 PCS -> H87)
    is written back as read; without provenance the preferred spelling is written."""
    invoice = simple_invoice(lines=1)
    line = invoice.lines[0].model_copy(
        update={
            "unit": "H87",
            "allowances": (
                LineAllowanceCharge(amount=Decimal("1.00"), reason_code="95", reason="Bonus"),
            ),
        }
    )
    header = AllowanceCharge(
        amount=Decimal("1.00"), reason_code="95", vat_category="S", vat_rate=Decimal("19")
    )
    plain = invoice.model_copy(update={"lines": (line,), "allowances": (header,)})
    text = MAPPING.render(plain, PROFILE, ENVELOPE).content.decode("latin-1")
    assert "QTY+47:1:PCE'" in text and "ALC+A++++DI'" in text and "ALC+A++++DI:::Bonus'" in text

    read = plain.model_copy(
        update={
            "provenance": (
                TermSource(path="lines[0].unit", bt="BT-130", source="code-list",
                           detail="EANCOM 6411 PCS -> UN/ECE Rec 20 H87 (SAP)"),
                TermSource(path="allowances[0].reason_code", bt="BT-98", source="code-list",
                           detail="EANCOM 7161 ABH -> UNTDID 5189 95 (EANCOM)"),
                TermSource(path="lines[0].vat_category", bt="BT-151", source="code-list",
                           detail="EANCOM 5305 AA -> UNTDID 5305 S (D.96A)"),
                # a provenance about another code (the value changed since) is not used
                TermSource(path="lines[0].allowances[0].reason_code", bt="BT-140",
                           source="code-list", detail="EANCOM 7161 TZ -> UNTDID 5189 103 (x)"),
            )
        }
    )  # fmt: skip
    text = MAPPING.render(read, PROFILE, ENVELOPE).content.decode("latin-1")
    assert "QTY+47:1:PCS'" in text
    assert "ALC+A++++ABH'" in text
    assert "ALC+A++++DI:::Bonus'" in text
    assert "TAX+7+VAT+++:::19+AA'" in text


def test_gln_and_duns_round_trip_other_schemes_lose_it() -> None:
    """NAD C082 carries GLN (::9) and DUNS (::16); another ICD scheme goes out as value only."""
    invoice = simple_invoice(lines=1)
    duns = invoice.model_copy(
        update={
            "seller": invoice.seller.model_copy(
                update={"identifiers": (Identifier(value="315123456", scheme="0060"),)}
            ),
            "buyer": invoice.buyer.model_copy(
                update={"identifier": Identifier(value="X-1", scheme="0204")}
            ),
        }
    )
    content = MAPPING.render(duns, PROFILE, ENVELOPE).content
    assert b"NAD+SU+315123456::16+" in content and b"NAD+BY+X-1+" in content
    back = MAPPING.parse(content)
    assert back.seller.identifiers == (Identifier(value="315123456", scheme="0060"),)
    assert back.buyer.identifier == Identifier(value="X-1", scheme=None)


def test_percentage_allowance_base_is_derived_from_amount_and_percentage() -> None:
    """BT-93 = BT-92 x 100 / BT-94 (the base that gives BT-92 back under BT-92 = BT-93 x BT-94
    / 100), marked derived; a zero percentage derives nothing."""
    data = EXAMPLE.replace(b"PCD+1:2'", b"PCD+1:3'").replace(b"MOA+8:6.00", b"MOA+8:6.01")
    invoice = MAPPING.parse(data)
    base = invoice.allowances[0].base_amount
    assert base == Decimal("200.33") and (base * 3 / 100).quantize(Decimal("0.01")) == Decimal(
        "6.01"
    )
    mark = next(t for t in invoice.provenance if t.path == "allowances[0].base_amount")
    assert (mark.bt, mark.source) == ("BT-93", "derived")
    zero = MAPPING.parse(EXAMPLE.replace(b"PCD+1:2'", b"PCD+1:0'"))
    assert zero.allowances[0].base_amount is None
    assert not [t for t in zero.provenance if t.path == "allowances[0].base_amount"]


def test_allowance_amount_is_derived_from_base_and_percentage() -> None:
    """ALC with PCD and MOA+25 but no MOA+8: BT-92 = BT-93 x BT-94 / 100, marked derived."""
    data = EXAMPLE.replace(b"MOA+8:6.00'", b"MOA+25:300.00'")
    invoice = MAPPING.parse(data)
    assert invoice.allowances[0].amount == Decimal("6.00")
    mark = next(t for t in invoice.provenance if t.path == "allowances[0].amount")
    assert (mark.bt, mark.source) == ("BT-92", "derived")


def test_allowance_without_amount_or_basis_names_the_segment() -> None:
    """ALC with neither MOA+8 nor base and percentage: ParseError at the ALC naming BT-92."""
    data = EXAMPLE.replace(b"PCD+1:2'MOA+8:6.00'", b"")
    with pytest.raises(ParseError) as info:
        MAPPING.parse(data.replace(b"UNT+46+1", b"UNT+44+1"))
    assert info.value.location == "segment 19 ALC" and "BT-92" in str(info.value)


def test_gross_only_price_is_the_net_price_and_discount_is_derived() -> None:
    """PRI+AAB alone: BT-146 = BT-148; PRI AAB and AAA: BT-147 = gross - net, marked derived."""
    first = b"MOA+203:200.00'PRI+AAA:2.00'"
    assert first in EXAMPLE
    data = EXAMPLE.replace(first, b"MOA+203:200.00'PRI+AAB:2.00'")
    line = MAPPING.parse(data).lines[0]
    assert (line.price.net, line.price.gross, line.price.discount) == (2, 2, 0)
    data = EXAMPLE.replace(first, first + b"PRI+AAB:2.50'")
    invoice = MAPPING.parse(data.replace(b"UNT+46+1", b"UNT+47+1"))
    assert invoice.lines[0].price.discount == Decimal("0.50")
    mark = next(t for t in invoice.provenance if t.path == "lines[0].price.discount")
    assert (mark.bt, mark.detail) == ("BT-147", "BT-147 = BT-148 - BT-146 (PRI AAB - AAA)")


def test_amounts_with_three_decimals_read_as_cents() -> None:
    """MOA+8:600.000 is 600.00 (BR-DEC-*): trailing zeros beyond the cent are dropped."""
    data = EXAMPLE.replace(b"MOA+8:6.00'", b"MOA+8:6.000'")
    amount = MAPPING.parse(data).allowances[0].amount
    assert amount == Decimal("6.00") and amount.as_tuple().exponent == -2
