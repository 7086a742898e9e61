"""INVOIC D.96A EAN008: render, parse, round trips, golden files and the independent checker."""

from __future__ import annotations

import contextlib
import datetime as dt
import json
import subprocess
import sys
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from builders import simple_invoice
from golden import assert_golden
from hypothesis import given, settings
from hypothesis import strategies as st
from shared_dir import shared_path

from gateway.envelope import Envelope
from gateway.errors import ConfigError, InvoiceRejected, ParseError
from gateway.intake import read_records
from gateway.model import (
    Address,
    AllowanceCharge,
    Contact,
    CreditTransfer,
    Delivery,
    DirectDebit,
    Identifier,
    Invoice,
    ItemAttribute,
    ItemClassification,
    LineAllowanceCharge,
    Note,
    Payee,
    PaymentCard,
    Period,
    PrecedingInvoice,
    SupportingDocument,
    TaxRepresentative,
)
from gateway.profiles.profile import BuyerProfile
from gateway.totals import complete
from mappings.edifact.interchange import check_interchange
from mappings.edifact.invoic import NOT_CARRIED, EancomD96A, render_interchange

ROOT = Path(__file__).resolve().parent.parent
MAPPING = EancomD96A()
PROFILE = BuyerProfile(
    name="eancom-buyer",
    format="eancom-d96a",
    options={"sender_id": "4012345000016", "recipient_id": "4006381333931", "line_breaks": "true"},
)
ENVELOPE = Envelope("IC1001", dt.datetime(2026, 11, 24, 10, 30), message_refs=("MSG1", "MSG2"))


def _examples() -> list[Invoice]:
    invoices = []
    for source in ("erp-export.json", "large-1000-lines.json"):
        for result in read_records(ROOT / "examples" / source):
            assert result.invoice is not None, result.problems
            invoices.append(result.invoice)
    return invoices


EXAMPLES = _examples()
# Text beyond ISO 8859-1 needs the explicit UTF-8 level (there is no automatic switch).
UTF8 = BuyerProfile(name="utf8-buyer", options={**PROFILE.options, "syntax": "UNOW:4"})


def bare(invoice: Invoice) -> Invoice:
    """``invoice`` without provenance: what parse says it translated or derived is checked in
    tests of its own; the round trips compare the terms."""
    return invoice.model_copy(update={"provenance": ()})


def _rich_invoice() -> Invoice:
    """Most fields the mapping carries, including release characters in texts."""
    base = simple_invoice(lines=2)
    lines = list(base.lines)
    lines[0] = lines[0].model_copy(
        update={
            "note": "Line note with ?, +, : and ' inside",
            "order_line_reference": "7",
            "period": Period(start=dt.date(2026, 10, 1), end=dt.date(2026, 10, 31)),
            "allowances": (
                LineAllowanceCharge(
                    amount=Decimal("1.00"),
                    base_amount=Decimal("10.00"),
                    percentage=Decimal("10"),
                    reason="Rabatt",
                    reason_code="95",
                ),
            ),
            "item": lines[0].item.model_copy(
                update={
                    "name": "A name that is longer than thirty-five characters: it must be split",
                    "description": "Description",
                    "seller_id": "S-1",
                    "buyer_id": "B-1",
                    "standard_id": Identifier(value="4000000000013", scheme="0160"),
                    "classifications": (ItemClassification(value="842833", scheme="HS"),),
                    "origin_country": "DE",
                    "attributes": (ItemAttribute(name="Colour", value="Blue"),),
                }
            ),
            "price": lines[0].price.model_copy(
                update={
                    "gross": Decimal("11.00"),
                    "base_quantity": Decimal("1"),
                    "base_quantity_unit": "C62",
                }
            ),
        }
    )
    lines[1] = lines[1].model_copy(update={"id": "A-2"})
    return base.model_copy(
        update={
            "number": "R+2026:1'?",
            "tax_point_date": dt.date(2026, 11, 1),
            "tax_currency": "SEK",
            "contract_reference": "CT-1",
            "purchase_order_reference": "PO-1",
            "sales_order_reference": "SO-1",
            "despatch_advice_reference": "DA-1",
            "receiving_advice_reference": "RA-1",
            "project_reference": "PR-1",
            "payment_terms": "30 days net",
            "notes": (Note(text="Plain note"), Note(text="Subject note", subject_code="AAI")),
            "invoice_period": Period(start=dt.date(2026, 10, 1), end=dt.date(2026, 10, 31)),
            "seller": base.seller.model_copy(
                update={
                    "identifiers": (Identifier(value="4012345000016", scheme="0088"),),
                    "legal_registration": Identifier(value="HRB 1"),
                    "tax_registration_id": "27/123/45678",
                    "legal_info": "Geschäftsführer: A. B.",
                    "contact": Contact(name="C", phone="+49 1", email="c@example.com"),
                    "address": base.seller.address.model_copy(
                        update={"line2": "Hof 3", "subdivision": "Brandenburg an der Havel"}
                    ),
                }
            ),
            "buyer": base.buyer.model_copy(
                update={
                    "identifier": Identifier(value="4006381333931", scheme="0088"),
                    "vat_id": "DE987654321",
                    "name": "O'Neil & Partner: Handel + Service",
                }
            ),
            "payee": Payee(
                name="Factor AG",
                identifier=Identifier(value="4000001000005", scheme="0088"),
                legal_registration=Identifier(value="HRB 9"),
            ),
            "tax_representative": TaxRepresentative(
                name="Rep GmbH",
                vat_id="DE111111111",
                address=Address(city="Köln", post_code="50667", country="DE"),
            ),
            "delivery": Delivery(
                party_name="Lager Nord",
                date=dt.date(2026, 10, 30),
                location=Identifier(value="4000002000004", scheme="0088"),
                address=Address(line1="Dock 4", city="Kiel", post_code="24103", country="DE"),
            ),
            "payment": base.payment.model_copy(  # type: ignore[union-attr]
                update={
                    "means_text": "Credit transfer",
                    "remittance_info": "R 2026 1",
                    "credit_transfers": (
                        CreditTransfer(
                            account_id="DE75512108001245126199",
                            account_name="A very long account holder name, over 35",
                            provider_id="BYLADEM1001",
                        ),
                    ),
                }
            ),
            "allowances": (
                AllowanceCharge(
                    amount=Decimal("2.00"),
                    vat_category="S",
                    vat_rate=Decimal("19"),
                    reason="Treue",
                    reason_code="95",
                ),
            ),
            "charges": (
                AllowanceCharge(
                    amount=Decimal("5.00"),
                    base_amount=Decimal("50.00"),
                    percentage=Decimal("10"),
                    vat_category="S",
                    vat_rate=Decimal("19"),
                    reason="Fracht",
                    reason_code="FC",
                ),
            ),
            "lines": tuple(lines),
        }
    )


def _credit_note() -> Invoice:
    return simple_invoice(
        lines=1,
        number="CN-1",
        type_code="381",
        preceding_invoices=(PrecedingInvoice(number="INV-1", issue_date=dt.date(2026, 11, 2)),),
    )


def _exempt_invoice() -> Invoice:
    base = simple_invoice(lines=1)
    line = base.lines[0].model_copy(update={"vat_category": "E", "vat_rate": Decimal("0")})
    done = complete(base.model_copy(update={"lines": (line,)}))
    vat = done.vat_breakdown[0].model_copy(
        update={
            "exemption_reason": "Steuerfrei nach § 4 Nr. 21 UStG",
            "exemption_reason_code": "VATEX-EU-132-1I",
        }
    )
    return done.model_copy(update={"vat_breakdown": (vat,)})


CASES = {
    "simple": lambda: simple_invoice(lines=2),
    "rich": _rich_invoice,
    "credit-note": _credit_note,
    "exempt": _exempt_invoice,
}


@pytest.mark.parametrize("name", sorted(CASES))
def test_golden_case(name: str) -> None:
    """Each mapping case renders to its reviewed golden interchange."""
    document = MAPPING.render(CASES[name](), PROFILE, ENVELOPE)
    assert document.media_type == "application/EDIFACT"
    assert document.extension == "edi"
    assert_golden(f"edifact/{name}.edi", document.content, kind="text")


def test_golden_consolidated() -> None:
    """Two invoices for one buyer share one interchange (UNZ 2, refs from the envelope)."""
    document = render_interchange([simple_invoice(lines=1), _credit_note()], PROFILE, ENVELOPE)
    assert b"UNH+MSG1+" in document.content and b"UNH+MSG2+" in document.content
    assert document.content.endswith(b"UNZ+2+IC1001'\n")
    assert_golden("edifact/consolidated.edi", document.content, kind="text")
    assert MAPPING.parse_all(document.content) == [
        MAPPING.stamped(simple_invoice(lines=1)),
        MAPPING.stamped(_credit_note()),
    ]


@pytest.mark.parametrize("name", sorted(CASES))
def test_case_round_trips(name: str) -> None:
    """parse(render(x)) == stamped(x) for every mapping case."""
    invoice = CASES[name]()
    assert bare(MAPPING.parse(MAPPING.render(invoice, PROFILE, ENVELOPE).content)) == bare(
        MAPPING.stamped(invoice)
    )


@pytest.mark.parametrize("invoice", EXAMPLES, ids=[i.number for i in EXAMPLES])
def test_example_round_trips(invoice: Invoice) -> None:
    """Every example in examples/ comes back as stamped(x) and passes check_interchange."""
    content = MAPPING.render(invoice, BuyerProfile(options=UTF8.options), ENVELOPE).content
    assert check_interchange(content) == []
    assert bare(MAPPING.parse(content)) == bare(MAPPING.stamped(invoice))


def test_rich_case_keeps_release_characters() -> None:
    """Document number and buyer name with ? + : ' survive render and parse."""
    back = MAPPING.parse(MAPPING.render(_rich_invoice(), PROFILE, ENVELOPE).content)
    assert back.number == "R+2026:1'?"
    assert back.buyer.name == "O'Neil & Partner: Handel + Service"


def test_stamped_drops_exactly_the_listed_fields() -> None:
    """stamped() clears the NOT_CARRIED fields and keeps everything else."""
    invoice = complete(EXAMPLES[0])
    stamped = MAPPING.stamped(invoice)
    assert invoice.business_process and stamped.business_process is None
    assert invoice.seller.electronic_address and stamped.seller.electronic_address is None
    assert "business_process" in NOT_CARRIED and "seller.electronic_address" in NOT_CARRIED
    assert (
        stamped.model_copy(
            update={
                "business_process": invoice.business_process,
                "specification_id": invoice.specification_id,
                "seller": invoice.seller,
                "buyer": invoice.buyer,
                "payment": invoice.payment,
                "supporting_documents": invoice.supporting_documents,
                "lines": invoice.lines,
            }
        )
        == invoice
    )


def test_every_example_passes_the_independent_checker(tmp_path: Path) -> None:
    """All examples, the golden cases and a consolidated interchange: zero fatal findings."""
    validate = shared_path("conformance", "validate.py")
    for invoice in EXAMPLES:
        document = MAPPING.render(invoice, PROFILE, ENVELOPE)
        (tmp_path / document.filename).write_bytes(document.content)
    for name, build in CASES.items():
        (tmp_path / f"case-{name}.edi").write_bytes(
            MAPPING.render(build(), PROFILE, ENVELOPE).content
        )
    plain = BuyerProfile(options={k: v for k, v in PROFILE.options.items() if k != "line_breaks"})
    (tmp_path / "consolidated.edi").write_bytes(
        render_interchange(EXAMPLES[:5], plain, ENVELOPE).content
    )
    proc = subprocess.run(
        [sys.executable, str(validate), str(tmp_path), "--format", "edifact", "--json"],
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    report: dict[str, Any] = json.loads(proc.stdout)
    files = report["files"]
    assert len(files) == len(EXAMPLES) + len(CASES) + 1
    fatal = {
        Path(f["file"]).name: [x for x in f["findings"] if x["severity"] == "fatal"] for f in files
    }
    assert {k: v for k, v in fatal.items() if v} == {}
    assert all("grammar:INVOICD96AUN" in f["rules"] for f in files)


def test_render_without_envelope_is_config_error() -> None:
    """EDIFACT needs control references: no envelope is a ConfigError saying so."""
    with pytest.raises(ConfigError, match="envelope"):
        MAPPING.render(simple_invoice(), PROFILE, None)


def test_render_without_recipient_is_config_error() -> None:
    """A profile without recipient_id is a ConfigError naming the option."""
    with pytest.raises(ConfigError, match="recipient_id"):
        MAPPING.render(simple_invoice(), BuyerProfile(options={"sender_id": "1"}), ENVELOPE)


def test_too_long_reference_is_rejected_with_problem() -> None:
    """A reference longer than an..35 is an InvoiceRejected naming field, BT and limit."""
    invoice = simple_invoice(purchase_order_reference="P" * 36)
    with pytest.raises(InvoiceRejected) as info:
        MAPPING.render(invoice, PROFILE, ENVELOPE)
    problem = info.value.problems[0]
    assert (problem.record, problem.path, problem.rule) == (
        "INV-1",
        "purchase_order_reference",
        "EDI-LENGTH",
    )
    assert problem.accepted == "at most 35 characters"


def test_mapping_identity() -> None:
    """The mapping names itself eancom-d96a, syntax edifact, no EN 16931 rule sets."""
    assert (EancomD96A.name, EancomD96A.syntax, EancomD96A.rules) == ("eancom-d96a", "edifact", ())


def test_message_header_and_totals() -> None:
    """UNH carries INVOIC:D:96A:UN:EAN008; BGM 381 for a credit note; MOA 77/79/9 totals."""
    content = MAPPING.render(_credit_note(), PROFILE, ENVELOPE).content.decode("latin-1")
    assert "UNH+MSG1+INVOIC:D:96A:UN:EAN008'" in content
    assert "BGM+381+CN-1+9'" in content
    assert "RFF+IV:INV-1'\nDTM+171:20261102:102'" in content
    assert "MOA+77:11.90'" in content and "MOA+79:10.00'" in content and "MOA+9:11.90'" in content
    assert "TAX+7+VAT+++:::19+S'\nMOA+125:10.00'\nMOA+124:1.90'" in content


# -- parsing received interchanges


def _sample(name: str) -> bytes:
    return shared_path("conformance", "samples", "edifact", "eancom-d96a", name).read_bytes()


@pytest.mark.parametrize(
    ("name", "count"),
    [
        ("bots-dutchic-invoic1.edi", 1),
        ("bots-invoic01.edi", 2),
        ("bots-invoic1-una.edi", 2),
        ("bots-invoic3-una.edi", 1),
    ],
)
def test_eancom_samples_parse(name: str, count: int) -> None:
    """Field EANCOM samples parse: GLN-only parties get 'GLN <id>' and the VAT id's country."""
    invoices = MAPPING.parse_all(_sample(name))
    assert len(invoices) == count
    for invoice in invoices:
        assert invoice.lines and invoice.currency == "EUR"
        assert invoice.seller.address.country


def test_eancom_sample_values() -> None:
    """bots-invoic01: number, GLN seller with NL country from its VAT id, totals as sent."""
    invoice = MAPPING.parse(_sample("bots-invoic01.edi"))
    assert invoice.number == "20051098"
    assert invoice.seller.name == "GLN 8712345678910"
    assert invoice.seller.identifiers == (Identifier(value="8712345678910", scheme="0088"),)
    assert invoice.seller.address.country == "NL"
    assert invoice.totals is not None and invoice.totals.with_vat == Decimal("286.2")
    assert invoice.purchase_order_reference == "4500094576"


@pytest.mark.parametrize("name", ["invoice1.edi", "invoice_with_colon_at_end.edi"])
def test_interop_invoice_without_country_names_the_bt(name: str) -> None:
    """A D.97A capture whose seller has neither country nor VAT prefix: ParseError naming BT-40."""
    data = shared_path("interop", "edifact", name).read_bytes()
    with pytest.raises(ParseError) as info:
        MAPPING.parse(data)
    assert "BT-40" in str(info.value)
    assert info.value.location == "segment 7 NAD element 9"


def _rendered() -> bytes:
    plain = BuyerProfile(options={k: v for k, v in PROFILE.options.items() if k != "line_breaks"})
    return MAPPING.render(simple_invoice(lines=1), plain, ENVELOPE).content


@pytest.mark.parametrize(
    ("change", "location", "text"),
    [
        ((b"DTM+137:20261102:102", b"DTM+137:2026-11-02:102"), "segment 4 DTM element 1", "date"),
        ((b"QTY+47:1:C62", b"QTY+47:one:C62"), "segment 17 QTY element 1", "not a decimal number"),
        ((b"QTY+47:1:C62'", b""), "segment 15 LIN", "BT-129"),
        ((b"CUX+2:EUR:4'", b""), "segment 2 UNH", "BT-5"),
        ((b"UNT+30+MSG1", b"UNT+31+MSG1"), "segment 31 UNT element 1", "code 29"),
        ((b"BGM+380+INV-1+9", b"BGM+380++9"), "segment 3 BGM element 2", "BT-1"),
    ],
    ids=["bad-date", "bad-number", "no-quantity", "no-currency", "unt-count", "no-number"],
)
def test_malformed_message_parse_error_has_location(
    change: tuple[bytes, bytes], location: str, text: str
) -> None:
    """Malformed INVOIC content gives a ParseError naming segment position, tag and element."""
    data = _rendered()
    assert change[0] in data
    bad = data.replace(change[0], change[1])
    if change[1] == b"":
        bad = bad.replace(b"UNT+30+", b"UNT+29+")
    with pytest.raises(ParseError) as info:
        MAPPING.parse(bad)
    assert info.value.location == location
    assert text in str(info.value)


def test_non_invoic_interchange_is_parse_error() -> None:
    """An ORDERS interchange has no INVOIC: ParseError, not an empty result."""
    data = _rendered().replace(b"INVOIC:D:96A", b"ORDERS:D:96A")
    with pytest.raises(ParseError, match="no INVOIC"):
        MAPPING.parse(data)


_TEXT = (
    st.text(alphabet=st.sampled_from(list("AZaz09 ?+:'.,-&/äöüß€–")), min_size=1, max_size=80)
    .map(str.strip)
    .filter(bool)
)


@settings(max_examples=60, deadline=None)
@given(seller=_TEXT, item=_TEXT, note=_TEXT)
def test_any_text_round_trips(seller: str, item: str, note: str) -> None:
    """Names, item names and notes with service and non-Latin-1 characters come back unchanged."""
    base = simple_invoice(lines=1)
    invoice = base.model_copy(
        update={
            "seller": base.seller.model_copy(update={"name": seller}),
            "notes": (Note(text=note),),
            "lines": (
                base.lines[0].model_copy(
                    update={"item": base.lines[0].item.model_copy(update={"name": item})}
                ),
            ),
        }
    )
    content = MAPPING.render(invoice, UTF8, ENVELOPE).content
    assert check_interchange(content) == []
    assert bare(MAPPING.parse(content)) == bare(MAPPING.stamped(invoice))


def test_decimal_comma_interchange_parses() -> None:
    """A UNA announcing ',' as decimal mark: amounts with ',' are read as decimals."""
    data = _rendered().replace(b"UNB+", b"UNA:+,? 'UNB+", 1)
    data = data.replace(b"MOA+203:10.00", b"MOA+203:10,00").replace(
        b"PRI+AAA:10.00", b"PRI+AAA:10,5"
    )
    invoice = MAPPING.parse(data)
    assert invoice.lines[0].net_amount == Decimal("10.00")
    assert invoice.lines[0].price.net == Decimal("10.5")


_RICH = MAPPING.render(_rich_invoice(), PROFILE, ENVELOPE).content


@settings(max_examples=400, deadline=None)
@given(
    st.integers(min_value=0, max_value=len(_RICH) - 1),
    st.integers(min_value=0, max_value=40),
    st.binary(max_size=6),
)
def test_parse_of_mangled_input_raises_only_parse_error(
    start: int, length: int, junk: bytes
) -> None:
    """Any slice replaced by junk: parse returns an Invoice or raises ParseError, nothing else."""
    mangled = _RICH[:start] + junk + _RICH[start + length :]
    with contextlib.suppress(ParseError):
        MAPPING.parse_all(mangled)


def test_invoicee_stands_in_for_missing_buyer() -> None:
    """A message with NAD+IV but no NAD+BY reads the invoicee as the buyer (BG-7)."""
    data = _rendered()
    start = data.index(b"NAD+BY")
    end = data.index(b"NAD+IV")
    without_by = data[:start] + data[end:]
    removed = data[start:end].count(b"'")
    count = data.count(b"'", data.index(b"UNH"), data.index(b"UNT")) + 1
    without_by = without_by.replace(f"UNT+{count}+".encode(), f"UNT+{count - removed}+".encode())
    invoice = MAPPING.parse(without_by)
    assert invoice.buyer == MAPPING.stamped(simple_invoice(lines=1)).buyer


@pytest.mark.parametrize(
    "segment_",
    [b"FTX+TXD'", b"FTX+TXD++E'", b"ALC+A'", b"RFF+IV'", b"PIA+1'", b"IMD+F'", b"PRI'", b"TAX+7'"],
)
def test_short_segments_do_not_crash_parse(segment_: bytes) -> None:
    """Segments cut short after their qualifier are read or refused, never an IndexError."""
    data = _rendered()
    at = data.index(b"UNS+S")
    bad = data[:at] + segment_ + data[at:]
    count = data.count(b"'", data.index(b"UNH"), data.index(b"UNT")) + 1
    bad = bad.replace(f"UNT+{count}+".encode(), f"UNT+{count + 1}+".encode())
    with contextlib.suppress(ParseError):
        MAPPING.parse(bad)


_RICH_SEGMENTS = _RICH.split(b"'\n")


@settings(max_examples=150, deadline=None)
@given(st.lists(st.integers(min_value=3, max_value=len(_RICH_SEGMENTS) - 4), max_size=4))
def test_parse_with_segments_removed_raises_only_parse_error(drop: list[int]) -> None:
    """Message segments removed (UNT count kept right): an Invoice or a ParseError, nothing else."""
    kept = [s for i, s in enumerate(_RICH_SEGMENTS) if i not in set(drop)]
    unt = next(i for i, s in enumerate(kept) if s.startswith(b"UNT+"))
    unh = next(i for i, s in enumerate(kept) if s.startswith(b"UNH+"))
    kept[unt] = b"UNT+%d+MSG1" % (unt - unh + 1)
    with contextlib.suppress(ParseError):
        MAPPING.parse(b"'\n".join(kept))


def _values(value: object, path: str) -> list[object]:
    """The values at a NOT_CARRIED path (``[*]`` every entry, ``[1:]`` all but the first)."""
    head, _, rest = path.partition(".")
    name, _, index = head.partition("[")
    found = getattr(value, name)
    if not index:
        return _values(found, rest) if rest and found is not None else [found]
    entries = list(found)[1:] if index == "1:]" else list(found)
    if not rest:
        return [tuple(entries)] if entries else [()]
    return [v for entry in entries for v in _values(entry, rest)]


def _everything_not_carried() -> Invoice:
    """The rich case with every NOT_CARRIED field filled."""
    rich = _rich_invoice()
    line = rich.lines[0]
    return rich.model_copy(
        update={
            "tax_point_date_code": "3",
            "tender_reference": "T-1",
            "invoiced_object": Identifier(value="OBJ-1", scheme="AAA"),
            "buyer_accounting_reference": "ACC-1",
            "business_process": "urn:process",
            "specification_id": "urn:spec",
            "seller": rich.seller.model_copy(
                update={
                    "trading_name": "Trade",
                    "identifiers": (*rich.seller.identifiers, Identifier(value="X", scheme="0088")),
                    "legal_registration": Identifier(value="HRB 1", scheme="0002"),
                }
            ),
            "buyer": rich.buyer.model_copy(
                update={
                    "trading_name": "Buy",
                    "legal_registration": Identifier(value="HRB 2", scheme="0002"),
                }
            ),
            "payee": rich.payee.model_copy(  # type: ignore[union-attr]
                update={"legal_registration": Identifier(value="HRB 9", scheme="0009")}
            ),
            "payment": rich.payment.model_copy(  # type: ignore[union-attr]
                update={
                    "card": PaymentCard(pan_last_digits="1234"),
                    "direct_debit": DirectDebit(mandate_reference="M-1"),
                }
            ),
            "supporting_documents": (SupportingDocument(reference="DOC-1"),),
            "lines": (
                line.model_copy(
                    update={
                        "object_id": Identifier(value="O-1"),
                        "accounting_reference": "ACC-L",
                        "price": line.price.model_copy(update={"discount": Decimal("1.00")}),
                        "item": line.item.model_copy(
                            update={
                                "classifications": (
                                    ItemClassification(value="842833", scheme="HS", version="1"),
                                )
                            }
                        ),
                    }
                ),
                *rich.lines[1:],
            ),
        }
    )


def test_stamped_drops_exactly_not_carried() -> None:
    """Every NOT_CARRIED path is set in the input, empty after stamped(), and the rest survives
    a round trip: the list in the docstring is the list the code applies."""
    invoice = _everything_not_carried()
    stamped = MAPPING.stamped(invoice)
    for path in NOT_CARRIED:
        assert any(v not in (None, ()) for v in _values(invoice, path)), f"{path} not filled"
        assert all(v in (None, ()) for v in _values(stamped, path)), f"{path} kept"
    content = MAPPING.render(invoice, PROFILE, ENVELOPE).content
    assert bare(MAPPING.parse(content)) == bare(stamped)
