"""The EDIFACT interchange layer: building, reading and check_interchange with positions."""

from __future__ import annotations

import datetime as dt

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from gateway.envelope import Envelope
from gateway.errors import ConfigError, ParseError
from gateway.profiles.profile import BuyerProfile
from mappings.edifact.interchange import (
    InterchangeError,
    build_interchange,
    check_interchange,
    message_spans,
    read_interchange,
)
from mappings.edifact.syntax import Separators, segment

PROFILE = BuyerProfile(
    name="buyer", options={"sender_id": "4012345000016", "recipient_id": "4006381333931"}
)
UNA_PROFILE = BuyerProfile(name="buyer", options={**PROFILE.options, "una": "always"})
ENVELOPE = Envelope("IC42", dt.datetime(2026, 11, 24, 10, 30), message_refs=("M1", "M2"))


def _body(ref: str, text: str = "plain") -> list:  # type: ignore[type-arg]
    return [
        segment("UNH", ref, ["INVOIC", "D", "96A", "UN", "EAN008"]),
        segment("BGM", "380", text, "9"),
        segment("DTM", ["137", "20261124", "102"]),
        segment("UNT", "4", ref),
    ]


def _interchange(*texts: str, profile: BuyerProfile = PROFILE) -> bytes:
    bodies = [_body(f"M{i + 1}", t) for i, t in enumerate(texts or ("plain",))]
    return build_interchange(bodies, profile, ENVELOPE)


def _codes(data: bytes) -> list[tuple[int, int, str, int | None]]:
    return [(e.code, e.segment_position, e.tag, e.element) for e in check_interchange(data)]


def test_build_writes_unb_and_unz() -> None:
    """No UNA for default separators (EANCOM); UNB UNOC:3, GLN qualifier 14, YYMMDD:HHMM, ref."""
    data = _interchange()
    assert data.startswith(b"UNB+UNOC:3+4012345000016:14+4006381333931:14+261124:1030+IC42'")
    assert data.endswith(b"UNZ+1+IC42'")
    assert check_interchange(data) == []


def test_una_always_option() -> None:
    """Profile option una=always writes the UNA even for the default service characters."""
    data = build_interchange([_body("M1")], UNA_PROFILE, ENVELOPE)
    assert data.startswith(
        b"UNA:+.? 'UNB+UNOC:3+4012345000016:14+4006381333931:14+261124:1030+IC42'"
    )
    assert data.endswith(b"UNZ+1+IC42'")
    assert check_interchange(data) == []


def test_test_indicator_and_options() -> None:
    """envelope.test sets 0035 = 1; qualifiers, application ref and syntax come from options."""
    profile = BuyerProfile(
        options={
            "sender_id": "SENDER",
            "sender_qualifier": "ZZZ",
            "recipient_id": "RECIP",
            "recipient_qualifier": "ZZ",
            "syntax": "UNOC:4",
            "application_ref": "INVOIC",
        }
    )
    envelope = Envelope("7", dt.datetime(2026, 1, 2, 3, 4), test=True)
    data = build_interchange([_body("1")], profile, envelope)
    assert b"UNB+UNOC:4+SENDER:ZZZ+RECIP:ZZ+20260102:0304+7++INVOIC++++1'" in data
    assert check_interchange(data) == []


@pytest.mark.parametrize("missing", ["sender_id", "recipient_id"])
def test_missing_party_option_is_config_error(missing: str) -> None:
    """A missing sender/recipient option is a ConfigError naming the option."""
    options = dict(PROFILE.options)
    del options[missing]
    with pytest.raises(ConfigError, match=missing):
        build_interchange([_body("1")], BuyerProfile(options=options), ENVELOPE)


def test_bad_una_option_is_config_error() -> None:
    """An una option other than auto/always is refused with what is accepted."""
    profile = BuyerProfile(options={**PROFILE.options, "una": "never"})
    with pytest.raises(ConfigError, match="always"):
        build_interchange([_body("1")], profile, ENVELOPE)


def test_bad_syntax_option_is_config_error() -> None:
    """An unknown syntax identifier in the profile is refused with what is accepted."""
    profile = BuyerProfile(options={**PROFILE.options, "syntax": "UTF8"})
    with pytest.raises(ConfigError, match="UNOC:3"):
        build_interchange([_body("1")], profile, ENVELOPE)


def test_non_latin1_text_never_switches_to_unow() -> None:
    """Without a syntax option the level stays UNOC:3; text it cannot carry is a ConfigError
    naming the character and the repertoire, never a silent switch to UNOW:4 (Bots refuses)."""
    with pytest.raises(ConfigError) as info:
        _interchange("Büro – Süd")
    assert "'–' (U+2013)" in str(info.value) and "UNOC level C" in str(info.value)


def test_unow_is_an_explicit_option() -> None:
    """syntax = UNOW:4 writes UTF-8 and reads back unchanged."""
    profile = BuyerProfile(name="utf8", options={**PROFILE.options, "syntax": "UNOW:4"})
    data = _interchange("Büro – Süd", profile=profile)
    assert b"UNB+UNOW:4+" in data
    assert "Büro – Süd".encode() in data
    assert read_interchange(data).messages[0].segments[1].get(1) == "Büro – Süd"


@pytest.mark.parametrize(
    ("options", "accepted"),
    [
        ({"syntax": "UNOW:3"}, "UNOW:4"),
        ({"syntax": "UNOC"}, "UNOC:3"),
        ({"transliterate": "yes"}, "punctuation"),
    ],
)
def test_bad_charset_options_are_config_errors(options: dict[str, str], accepted: str) -> None:
    """UNOW only with syntax 4, a level without version, an unknown transliterate mode:
    ConfigError naming the option and what is accepted."""
    profile = BuyerProfile(name="b", options={**PROFILE.options, **options})
    with pytest.raises(ConfigError, match=accepted):
        _interchange("x", profile=profile)


def test_latin1_text_is_encoded_as_latin1_in_unoc() -> None:
    """UNOC interchanges are ISO 8859-1 bytes, and read back as such."""
    data = _interchange("Müller")
    assert b"M\xfcller" in data
    assert read_interchange(data).messages[0].segments[1].get(1) == "Müller"


@pytest.mark.parametrize("text", ["A?B", "1+1", "a:b", "it's", "??", "?+?:?'", "end?"])
def test_release_characters_round_trip(text: str) -> None:
    """Service characters in values are released and read back unchanged."""
    data = _interchange(text)
    assert check_interchange(data) == []
    assert read_interchange(data).messages[0].segments[1].get(1) == text


def test_escaping_in_output() -> None:
    """'?+', '?:', "?'" and '??' are written for + : ' ? in data."""
    data = _interchange("a+b:c'd?e")
    assert b"BGM+380+a?+b?:c?'d??e+9'" in data


def test_trailing_empty_elements_are_truncated() -> None:
    """ISO 9735 truncation: no trailing empty data elements or components (pydifact leaves them)."""
    data = build_interchange(
        [
            [
                segment("UNH", "1", ["INVOIC", "D", "96A", "UN"]),
                segment("NAD", "SU", ["1", "", "9"], "", "", ["", ""]),
                segment("UNT", "3", "1"),
            ]
        ],
        PROFILE,
        Envelope("1", dt.datetime(2026, 1, 1)),
    )
    assert b"NAD+SU+1::9'" in data


def test_consolidated_messages_and_spans() -> None:
    """Two messages in one interchange: UNZ counts 2, spans give their positions."""
    data = _interchange("one", "two")
    assert data.endswith(b"UNZ+2+IC42'")
    assert message_spans(data) == [("M1", 2, 5), ("M2", 6, 9)]
    assert [m.reference for m in read_interchange(data).messages] == ["M1", "M2"]


def test_custom_separators_are_announced_and_read() -> None:
    """Non-default service characters go in the UNA and are honoured when reading."""
    seps = Separators(component="*", data="|", decimal=",", release="!", terminator="~")
    data = build_interchange([_body("1", "a|b*c~d!e")], PROFILE, ENVELOPE, seps)
    assert data.startswith(b"UNA*|,! ~UNB|UNOC*3|")
    assert check_interchange(data) == []
    segment_ = read_interchange(data).messages[0].segments[1]
    assert segment_.get(1) == "a|b*c~d!e"


def test_line_breaks_option() -> None:
    """line_breaks puts one segment per line; reading tolerates it."""
    profile = BuyerProfile(options={**PROFILE.options, "line_breaks": "true"})
    data = build_interchange([_body("1")], profile, ENVELOPE)
    assert b"'\nUNH+1+" in data
    assert check_interchange(data) == []
    assert check_interchange(data.replace(b"\n", b"\r\n")) == []


GOOD = _interchange("one", "two", profile=UNA_PROFILE)


@pytest.mark.parametrize(
    ("bad", "expected"),
    [
        (GOOD.replace(b"UNT+4+M1", b"UNT+5+M1"), (29, 5, "UNT", 1)),
        (GOOD.replace(b"UNT+4+M2", b"UNT+4+M9"), (28, 9, "UNT", 2)),
        (GOOD.replace(b"UNZ+2", b"UNZ+3"), (29, 10, "UNZ", 1)),
        (GOOD.replace(b"UNZ+2+IC42", b"UNZ+2+IC43"), (28, 10, "UNZ", 2)),
        (GOOD.replace(b"UNH+M2", b"UNH+M1").replace(b"UNT+4+M2", b"UNT+4+M1"), (26, 6, "UNH", 1)),
        (GOOD.replace(b"BGM+380+one", b"BGM+380+o?ne"), (21, 3, "BGM", 2)),
        (GOOD[:-1] + b"?", (21, 10, "UNZ", None)),
        (GOOD[:-1], (13, 10, "UNZ", None)),
        (GOOD[: GOOD.index(b"UNZ")], (13, 10, "UNZ", None)),
        (GOOD + b"UNB+UNOC:3+X:14+Y:14+261124:1030+1'", (33, 11, "UNB", None)),
        (GOOD + b"garbage", (33, 11, "gar", None)),
        (GOOD.replace(b"UNA:+.? '", b"UNA:+.?"), (20, 0, "UNA", 6)),
        (GOOD.replace(b"UNA:+.? '", b"UNA::.? '"), (20, 0, "UNA", None)),
        (GOOD.replace(b"UNA:+.? '", b"UNAA+.? '"), (20, 0, "UNA", 1)),
        (b"UNA:+", (13, 0, "UNA", None)),
        (GOOD.replace(b"UNOC:3", b"XXXX:3"), (2, 1, "UNB", 1)),
        (GOOD.replace(b"'UNT+4+M1'", b"'"), (13, 5, "UNT", None)),
        (GOOD.replace(b"DTM+137", b"dtm+137", 1), (12, 4, "dtm", None)),
    ],
    ids=[
        "unt-count",
        "unt-reference",
        "unz-count",
        "unz-reference",
        "duplicate-message-ref",
        "release-before-letter",
        "release-at-end",
        "no-final-terminator",
        "no-unz",
        "segment-after-unz",
        "data-after-unz",
        "una-truncated-terminator",
        "una-duplicate-separators",
        "una-alphanumeric",
        "una-too-short",
        "unknown-syntax",
        "missing-unt",
        "bad-tag",
    ],
)
def test_malformed_interchange_gives_code_and_position(
    bad: bytes, expected: tuple[int, int, str, int | None]
) -> None:
    """Each envelope/syntax fault gives its 0085 code at the right segment and element."""
    found = _codes(bad)
    assert expected in found, found


def test_read_interchange_raises_parse_error_with_location() -> None:
    """read_interchange turns the first error into a ParseError naming segment and element."""
    with pytest.raises(ParseError) as info:
        read_interchange(GOOD.replace(b"UNT+4+M1", b"UNT+5+M1"))
    assert info.value.location == "segment 5 UNT element 1"
    assert "code 29" in str(info.value)


def test_error_string_names_position() -> None:
    """InterchangeError renders as 'segment N TAG element E component C: [code] text'."""
    error = InterchangeError(21, "bad", 3, "BGM", 2, 1)
    assert str(error) == "segment 3 BGM element 2 component 1: [21] bad"


@settings(max_examples=300, deadline=None)
@given(st.binary(max_size=200))
def test_check_interchange_never_raises_on_bytes(data: bytes) -> None:
    """Any bytes give a list of InterchangeError, never an exception."""
    result = check_interchange(data)
    assert all(isinstance(e, InterchangeError) for e in result)


@settings(max_examples=200, deadline=None)
@given(st.integers(min_value=0, max_value=len(GOOD) - 1), st.sampled_from(list(b"+:'?XA1 \n")))
def test_check_interchange_never_raises_on_mutations(index: int, byte: int) -> None:
    """A one-byte mutation of a good interchange never raises; a truncation is always reported."""
    mutated = GOOD[:index] + bytes([byte]) + GOOD[index + 1 :]
    check_interchange(mutated)
    assert check_interchange(GOOD[:index]) != []
