"""The interchange's character repertoire comes from the partner profile: UNOC:3 by default,
never an automatic UNOW:4; what the level cannot carry is transliterated or refused by field."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest
from builders import simple_invoice
from hypothesis import given, settings
from hypothesis import strategies as st

from gateway.envelope import Envelope
from gateway.errors import ConfigError, InvoiceRejected
from gateway.model import Invoice
from gateway.profiles.load import load_profiles
from gateway.profiles.profile import BuyerProfile
from mappings.edifact.charset import Charset, charset_of
from mappings.edifact.interchange import check_interchange
from mappings.edifact.invoic import EancomD96A

MAPPING = EancomD96A()
ENVELOPE = Envelope("IC1", dt.datetime(2026, 11, 24, 10, 30), message_refs=("M1",))
BASE = {"sender_id": "4012345000016", "recipient_id": "4006381333931"}


def _profile(**options: str) -> BuyerProfile:
    return BuyerProfile(name="partner", options={**BASE, **options})


def _invoice(buyer: str = "Kunde AG", item: str = "Article 1") -> Invoice:
    invoice = simple_invoice(lines=1)
    line = invoice.lines[0]
    return invoice.model_copy(
        update={
            "buyer": invoice.buyer.model_copy(update={"name": buyer}),
            "lines": (
                line.model_copy(update={"item": line.item.model_copy(update={"name": item})}),
            ),
        }
    )


def _render(invoice: Invoice, **options: str) -> str:
    content = MAPPING.render(invoice, _profile(**options), ENVELOPE).content
    assert check_interchange(content) == []
    codec = "utf-8" if options.get("syntax", "").startswith("UNOW") else "latin-1"
    return content.decode(codec)


def test_default_is_unoc_3_with_typographic_punctuation_made_ascii() -> None:
    """No option: UNB UNOC:3; en dash and curly quotes become - and " (no word changes)."""
    text = _render(_invoice(item="Fachbuch „Recht“ – 5. Auflage"))
    assert text.startswith("UNB+UNOC:3+")
    assert 'IMD+F++:::Fachbuch "Recht" - 5. Auflage' in text


def test_default_refuses_letters_outside_latin1_naming_field_bt_and_character() -> None:
    """A letter UNOC cannot carry is refused, not folded: Problem with path, BT, value,
    character, position, repertoire and the options that would accept it; never UNOW."""
    with pytest.raises(InvoiceRejected) as info:
        MAPPING.render(_invoice(buyer="Łódź Handel", item="Blech – 2 mm"), _profile(), ENVELOPE)
    problems = info.value.problems
    assert [(p.path, p.rule) for p in problems] == [("buyer.name", "EDI-CHARSET")]
    problem = problems[0]
    assert problem.value == "Łódź Handel"
    assert "'Ł' (U+0141) at position 1" in problem.message and "UNOC:3" in problem.message
    assert "ISO 8859-1" in problem.accepted and "UNOW:4" in problem.accepted
    assert "transliterate" in problem.accepted


def test_item_name_refusal_carries_its_bt() -> None:
    """The Problem names the EN 16931 term of the field (BT-153 item name)."""
    with pytest.raises(InvoiceRejected) as info:
        MAPPING.render(_invoice(item="Ключ"), _profile(), ENVELOPE)
    assert [(p.path, p.bt) for p in info.value.problems] == [("lines[0].item.name", "BT-153")]


def test_transliterate_none_refuses_punctuation_too() -> None:
    """transliterate = none: an en dash is refused as well."""
    with pytest.raises(InvoiceRejected) as info:
        MAPPING.render(_invoice(item="A – B"), _profile(transliterate="none"), ENVELOPE)
    assert "'–' (U+2013)" in info.value.problems[0].message


def test_transliterate_all_folds_letters() -> None:
    """transliterate = all: only what UNOC lacks is folded (Łódź -> Lódz), € -> EUR, Œ -> OE."""
    text = _render(_invoice(buyer="Łódź Straße", item="Œuvre 5 €"), transliterate="all")
    assert "NAD+BY+++Lódz Straße+" in text
    assert "IMD+F++:::OEuvre 5 EUR'" in text


def test_unoa_is_upper_case_only() -> None:
    """UNOA:3: lower case letters are refused by default and upper-cased (and folded) with
    transliterate = all."""
    with pytest.raises(InvoiceRejected) as info:
        MAPPING.render(_invoice(), _profile(syntax="UNOA:3"), ENVELOPE)
    assert "UNOA level A" in info.value.problems[0].accepted
    text = _render(_invoice(buyer="Müller & Söhne"), syntax="UNOA:3", transliterate="all")
    assert text.startswith("UNB+UNOA:3+")
    assert "NAD+BY+++MULLER & SOHNE+" in text
    assert "LIEFERANT GMBH" in text


def test_unob_has_lower_case_but_no_umlauts() -> None:
    """UNOB:3 carries lower case ASCII; ü is refused by default."""
    text = _render(_invoice(buyer="Kunde AG"), syntax="UNOB:3", transliterate="all")
    assert "NAD+BY+++Kunde AG+" in text and "Lieferstrasse 1" in text
    with pytest.raises(InvoiceRejected) as info:
        MAPPING.render(_invoice(buyer="Kunde AG"), _profile(syntax="UNOB:3"), ENVELOPE)
    assert info.value.problems[0].path == "seller.address.line1"


def test_unow_4_is_an_explicit_option_and_carries_everything() -> None:
    """syntax = UNOW:4 writes UTF-8 unchanged; it is never chosen by itself."""
    text = _render(_invoice(buyer="Łódź Handel", item="Ключ – „x“"), syntax="UNOW:4")
    assert text.startswith("UNB+UNOW:4+")
    assert "Łódź Handel" in text and "Ключ – „x“" in text
    assert MAPPING.parse(text.encode()).buyer.name == "Łódź Handel"


def test_length_is_checked_after_transliteration() -> None:
    """A value that grows by transliteration (€ -> EUR) is held to the element's length."""
    with pytest.raises(InvoiceRejected) as info:
        MAPPING.render(_invoice(buyer="€" * 70), _profile(transliterate="all"), ENVELOPE)
    assert info.value.problems[0].rule == "EDI-LENGTH"


@pytest.mark.parametrize(
    ("options", "text"),
    [
        ({"syntax": "UNOW:3"}, "UNOW exists in syntax version 4 only"),
        ({"syntax": "UNOX:3"}, "accepted: <syntax id>:<version>"),
        ({"transliterate": "ascii"}, "accepted: none, punctuation, all"),
    ],
)
def test_bad_options_are_config_errors(options: dict[str, str], text: str) -> None:
    """Unusable syntax/transliterate options: ConfigError naming option and accepted values."""
    with pytest.raises(ConfigError, match=text):
        charset_of("partner", options)


@pytest.mark.parametrize(
    ("level", "mode", "value", "expected"),
    [
        ("UNOB", "punctuation", "a\u00a0b\u2026", "a b..."),
        ("UNOB", "punctuation", "soft\u00adhyphen", "softhyphen"),
        ("UNOC", "all", "Ångström", "Ångström"),
        ("UNOB", "all", "Ångström", "Angstrom"),
        ("UNOA", "all", "ß-Straße", "SS-STRASSE"),
        ("UNOD", "none", "Łódź", "Łódź"),
    ],
)
def test_convert(level: str, mode: str, value: str, expected: str) -> None:
    """Charset.convert keeps what the level carries and folds the rest as the mode allows."""
    assert Charset(level, "3", mode).convert(value) == (expected, None)


def test_bad_charset_option_is_reported_when_the_profile_loads(tmp_path: Path) -> None:
    """syntax = UNOW:3 in an EANCOM buyer profile is a start-up ConfigError naming the file
    and the option, not a failure at the first render."""
    (tmp_path / "edi.toml").write_text(
        'default = true\nformat = "eancom-d96a"\n[options]\nsyntax = "UNOW:3"\n'
        '[channel]\nconnector = "file"\noptions = { directory = "out" }\n',
        encoding="utf-8",
    )
    with pytest.raises(ConfigError) as info:
        load_profiles(tmp_path)
    assert "edi.toml: options: option 'syntax' = 'UNOW:3'" in str(info.value)
    assert "accepted UNOW:4" in str(info.value)


@settings(max_examples=80, deadline=None)
@given(
    text=st.text(
        alphabet=st.sampled_from(list("AZaz09 ?+:'.,-&/äöüßéŁł€–—„“”‘’…\u00a0Ключ")),
        min_size=1,
        max_size=40,
    ).filter(lambda t: t.strip() == t and t),
    level=st.sampled_from(["UNOA:3", "UNOB:3", "UNOC:3", "UNOD:3"]),
    mode=st.sampled_from(["none", "punctuation", "all"]),
)
def test_any_text_is_written_in_the_level_or_refused_by_field(
    text: str, level: str, mode: str
) -> None:
    """Whatever the text, the interchange is in the chosen level and reads back as what was
    written, or the invoice is refused with EDI-CHARSET on buyer.name; UNOW never appears."""
    base = _invoice(buyer=text, item="ARTICLE 1")
    address = base.seller.address.model_copy(update={"line1": "STRASSE 1", "city": "BERLIN"})
    invoice = base.model_copy(
        update={
            "seller": base.seller.model_copy(update={"name": "LIEFERANT", "address": address}),
            "buyer": base.buyer.model_copy(update={"address": address}),
        }
    )
    profile = _profile(syntax=level, transliterate=mode)
    try:
        content = MAPPING.render(invoice, profile, ENVELOPE).content
    except InvoiceRejected as exc:
        assert {(p.path, p.rule) for p in exc.problems} <= {
            ("buyer.name", "EDI-CHARSET"),
            ("buyer.name", "EDI-LENGTH"),
        }
        return
    assert content.startswith(f"UNB+{level}+".encode()) and b"UNOW" not in content
    assert check_interchange(content) == []
    charset = charset_of("p", {"syntax": level, "transliterate": mode})
    assert MAPPING.parse(content).buyer.name == charset.convert(text)[0]


def test_unod_is_written_and_read_as_iso_8859_2() -> None:
    """syntax = UNOD:3 writes ISO 8859-2 bytes and parse decodes them as such (Łódź back)."""
    content = MAPPING.render(_invoice(buyer="Łódź Handel"), _profile(syntax="UNOD:3"), ENVELOPE)
    assert "Łódź Handel".encode("iso8859-2") in content.content
    assert MAPPING.parse(content.content).buyer.name == "Łódź Handel"
