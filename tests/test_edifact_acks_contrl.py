"""CONTRL: reading syntax acknowledgements (v3, v4) and writing them for inbound interchanges."""

from __future__ import annotations

import datetime as dt
import json
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest
from shared_dir import shared_path

from gateway.ack import AckLevel, AckStatus
from gateway.envelope import Envelope
from gateway.errors import ParseError
from mappings.edifact.contrl import ContrlParser, build_contrl, read_segments
from mappings.edifact.syntax import RawSegment

US = "4000002000001"  # the buyer's gateway, receiving invoices and answering with CONTRL
THEM = "4000001000002"
ENVELOPE = Envelope("C0001", dt.datetime(2025, 3, 23, 9, 30))

INVOIC_BODY = """UNH+{ref}+INVOIC:D:96A:UN:EAN008'
BGM+380+INV-{ref}+9'
DTM+137:20250322:102'
NAD+SU+4000001000002::9'
NAD+BY+4000002000001::9'
CUX+2:EUR:4'
LIN+1++4000862141404:SRS'
QTY+47:1'
MOA+203:100'
UNS+S'
MOA+77:119'
TAX+7+VAT+++:::19+S'
MOA+124:19'
UNT+14+{ref}'
"""


def interchange(*refs: str, syntax: str = "UNOC:3", date: str = "250322") -> str:
    """A small valid INVOIC interchange (EANCOM D.96A) with one message per reference."""
    body = "".join(INVOIC_BODY.format(ref=r) for r in refs)
    return (
        f"UNA:+.? '\nUNB+{syntax}+{THEM}:14+{US}:14+{date}:1215+IC0001'\n"
        f"{body}UNZ+{len(refs)}+IC0001'\n"
    )


VALID = interchange("1")

CONTRL_V3_ACCEPTED = f"""UNA:+.? '
UNB+UNOC:3+{US}:14+{THEM}:14+250322:1300+CTL0042'
UNH+1+CONTRL:D:3:UN'
UCI+IC0001+{THEM}:14+{US}:14+7'
UCM+1+INVOIC:D:96A:UN:EAN008+7'
UNT+4+1'
UNZ+1+CTL0042'
"""

CONTRL_V3_REJECTED = f"""UNA:+.? '
UNB+UNOC:3+{US}:14+{THEM}:14+250322:1301+CTL0043'
UNH+CT1+CONTRL:D:3:UN'
UCI+IC0001+{THEM}:14+{US}:14+4'
UCM+7+INVOIC:D:96A:UN:EAN008+4'
UCS+9+13'
UCS+12'
UCD+12+5:4'
UNT+7+CT1'
UNZ+1+CTL0043'
"""

CONTRL_V3_RECEIVED = f"""UNB+UNOA:3+{US}:14+{THEM}:14+250322:1302+CTL0044'
UNH+1+CONTRL:2:2:UN:EAN002'
UCI+IC0009+{THEM}:14+{US}:14+8'
UNT+3+1'
UNZ+1+CTL0044'
"""

CONTRL_V4_REJECTED = f"""UNA:+.?*'
UNB+UNOC:4+{US}:14+{THEM}:14+20250322:1303+CTL0045'
UNH+1+CONTRL:4:1:UN'
UCI+IC0002+{THEM}:14+{US}:14+4+28+UNZ+2'
UNT+3+1'
UNZ+1+CTL0045'
"""

CONTRL_SEVERAL = f"""UNB+UNOC:3+{US}:14+{THEM}:14+250322:1304+CTL0046'
UNH+1+CONTRL:D:3:UN'
UCI+IC0003+{THEM}:14+{US}:14+7'
UCM+1+INVOIC:D:96A:UN+7'
UCM+2+INVOIC:D:96A:UN+4+29+UNT+1'
UCM+3+INVOIC:D:96A:UN+7'
UNT+6+1'
UNZ+1+CTL0046'
"""


def segments_of(data: bytes, tag: str) -> list[RawSegment]:
    """The segments of ``data`` with ``tag``, in order."""
    return [s for s in read_segments(data)[1] if s.tag == tag]


def contrl_for(text: str) -> bytes:
    """The CONTRL our gateway writes for ``text``."""
    return build_contrl(text.encode("latin-1"), our_id=US, our_qualifier="14", envelope=ENVELOPE)


# ---------------------------------------------------------------------------------------------
# reading


def test_v3_accepted_contrl_reads_as_accepted_syntax_ack() -> None:
    """UCI action 7 is an accepted syntax-level Ack referring to the interchange and message."""
    ack = ContrlParser().parse(CONTRL_V3_ACCEPTED.encode())
    assert ack is not None
    assert (ack.kind, ack.level, ack.status) == ("CONTRL", AckLevel.SYNTAX, AckStatus.ACCEPTED)
    assert (ack.refers_to.interchange, ack.refers_to.message) == ("IC0001", "1")
    assert (ack.sender, ack.recipient) == (US, THEM)
    assert ack.issued_at == dt.datetime(2025, 3, 22, 13, 0)
    assert [r.code for r in ack.reasons] == [""]
    assert ack.raw == CONTRL_V3_ACCEPTED.encode()


def test_v3_rejected_contrl_gives_ucs_and_ucd_errors_with_positions() -> None:
    """UCS 0096 and UCD 0098:0104 become reasons located by message, segment and element."""
    ack = ContrlParser().parse(CONTRL_V3_REJECTED.encode())
    assert ack is not None
    assert ack.status is AckStatus.REJECTED
    assert ack.refers_to.message == "7"
    located = [(r.code, r.location) for r in ack.reasons]
    assert located == [
        ("", "message 7"),
        ("13", "message 7 segment 9"),
        ("12", "message 7 segment 12 element 5:4"),
    ]
    assert ack.reasons[1].text == "missing"
    assert "rejected" in ack.reasons[0].text


def test_received_only_contrl_without_ucm_is_received() -> None:
    """UCI action 8 (EANCOM CONTRL 2:2, no UNA, UNOA) means received, nothing more."""
    ack = ContrlParser().parse(CONTRL_V3_RECEIVED.encode())
    assert ack is not None
    assert ack.status is AckStatus.RECEIVED
    assert (ack.refers_to.interchange, ack.refers_to.message) == ("IC0009", None)
    assert ack.reasons == ()


def test_v4_contrl_with_interchange_error_reads() -> None:
    """Syntax 4 (CCYYMMDD date, '*' repetition separator in UNA) and an UCI error are read."""
    ack = ContrlParser().parse(CONTRL_V4_REJECTED.encode())
    assert ack is not None
    assert ack.status is AckStatus.REJECTED
    assert ack.issued_at == dt.datetime(2025, 3, 22, 13, 3)
    assert [(r.code, r.text, r.location) for r in ack.reasons] == [
        ("28", "references do not match", "interchange IC0002 UNZ element 2")
    ]


def test_several_ucms_are_all_kept_and_status_is_the_ucis() -> None:
    """Three UCMs give three reasons; the status is UCI's and no single message is named."""
    ack = ContrlParser().parse(CONTRL_SEVERAL.encode())
    assert ack is not None
    assert ack.status is AckStatus.ACCEPTED
    assert ack.refers_to.message is None
    assert [r.location for r in ack.reasons] == [
        "message 1",
        "message 2 UNT element 1",
        "message 3",
    ]
    assert ack.reasons[1].code == "29"


@pytest.mark.parametrize(
    "data",
    [
        VALID.encode(),
        b"",
        b"<?xml version='1.0'?><Invoice/>",
        b"%PDF-1.7 UNH+1+CONTRL:D:3:UN'",
        b"UNB+UNOC:3+A+B+250322:1200+1'UNH+1+APERAK:D:96A:UN'BGM+23+1+9'UNT+3+1'UNZ+1+1'",
    ],
    ids=["invoic", "empty", "xml", "pdf", "aperak"],
)
def test_non_contrl_input_is_not_mine(data: bytes) -> None:
    """Anything without a CONTRL message gives None, so other parsers can be tried."""
    assert ContrlParser().parse(data) is None


@pytest.mark.parametrize(
    ("text", "location"),
    [
        ("UNB+UNOC:3+A+B+250322:1200+1'UNH+1+CONTRL:D:3:UN'UNT+2+1'UNZ+1+1'", "segment 3 UNT"),
        (
            "UNB+UNOC:3+A+B+250322:1200+1'UNH+1+CONTRL:D:3:UN'UCI+1+B+A+5'UNT+3+1'UNZ+1+1'",
            "segment 3 UCI element 4",
        ),
        (
            "UNB+UNOC:3+A+B+250322:1200+1'UNH+1+CONTRL:D:3:UN'UCI+1+B+A+4'UCS+3+12'UNT+4+1'"
            "UNZ+1+1'",
            "segment 4 UCS",
        ),
        (
            "UNB+UNOC:3+A+B+250322:1200+1'UNH+1+CONTRL:D:3:UN'UCI+1+B+A+7'BGM+1'UNT+4+1'UNZ+1+1'",
            "segment 4 BGM",
        ),
        ("UNB+UNOC:3+A+B+250322:1200+1'UNH+1+CONTRL:D:3:UN'UCI+1+B+A+7", "segment 3 UCI"),
        (
            "UNB+UNOC:3+A+B+250322:1200+1'UNH+1+CONTRL:D:3:UN'UCI+1?x+B+A+7'UNT+3+1'UNZ+1+1'",
            "segment 3 UCI element 1",
        ),
        ("UNB+UNOC:3+A+B+250322:1200+1'UNH+1+CONTRL:D:3:UN'UCI+1+B+A+7'UNZ+1+1'", "segment 2 UNH"),
    ],
    ids=[
        "no-uci",
        "bad-action",
        "ucs-outside-ucm",
        "foreign-segment",
        "truncated",
        "bad-release",
        "no-unt",
    ],
)
def test_malformed_contrl_raises_parse_error_with_position(text: str, location: str) -> None:
    """A CONTRL that cannot be read raises ParseError naming segment position and tag."""
    with pytest.raises(ParseError) as caught:
        ContrlParser().parse(text.encode())
    assert caught.value.location == location


# ---------------------------------------------------------------------------------------------
# writing


def test_accepting_contrl_for_a_valid_interchange_round_trips() -> None:
    """A sound interchange gets UCI 7 and one UCM 7 per message, parties swapped, read back."""
    out = contrl_for(interchange("1", "2"))
    unb = segments_of(out, "UNB")[0]
    assert (unb.get(1, 0), unb.get(2, 0), unb.get(3, 0), unb.get(3, 1)) == (
        US,
        THEM,
        "250323",
        "0930",
    )
    assert unb.get(4) == "C0001"
    assert segments_of(out, "UNH")[0].elements[1] == ("CONTRL", "D", "3", "UN")
    assert [(s.get(0), s.get(2)) for s in segments_of(out, "UCM")] == [("1", "7"), ("2", "7")]
    ack = ContrlParser().parse(out)
    assert ack is not None
    assert ack.status is AckStatus.ACCEPTED
    assert ack.refers_to.interchange == "IC0001"
    assert (ack.sender, ack.recipient) == (US, THEM)
    assert contrl_for(interchange("1", "2")) == out  # no clock: the same bytes every time


def test_syntax_4_interchange_gets_a_syntax_4_contrl() -> None:
    """A UNOC:4 interchange is answered in UNOC:4 with CCYYMMDD and CONTRL:4:1:UN."""
    out = contrl_for(interchange("1", syntax="UNOC:4", date="20250322"))
    unb = segments_of(out, "UNB")[0]
    assert (unb.elements[0], unb.get(3, 0)) == (("UNOC", "4"), "20250323")
    assert segments_of(out, "UNH")[0].elements[1] == ("CONTRL", "4", "1", "UN")
    ack = ContrlParser().parse(out)
    assert ack is not None and ack.status is AckStatus.ACCEPTED


def _replace(old: str, new: str) -> Callable[[str], str]:
    return lambda text: text.replace(old, new, 1)


# name -> (corruption of VALID, segment of the CONTRL holding the error, 0085, where)
MALFORMED: dict[str, tuple[Callable[[str], str], str, str, tuple[str, ...]]] = {
    "unt-count": (_replace("UNT+14+1", "UNT+13+1"), "UCM", "29", ("UNT", "1")),
    "unz-reference": (_replace("UNZ+1+IC0001", "UNZ+1+IC0002"), "UCI", "28", ("UNZ", "2")),
    "unz-count": (_replace("UNZ+1+IC0001", "UNZ+2+IC0001"), "UCI", "29", ("UNZ", "1")),
    "bad-release": (_replace("INV-1", "INV?-1"), "UCD", "21", ("2", "1")),
    "truncated": (lambda text: text[: text.index("TAX+") + 12], "UCS", "13", ("12",)),
    "wrong-separators": (
        lambda text: text.replace("+", "*").replace("UNA:*.? '", "UNA:+.? '"),
        "UCI",
        "12",
        ("UNB",),
    ),
    "una-separators-clash": (_replace("UNA:+.? '", "UNA::.? '"), "UCI", "20", ("UNA",)),
}


@pytest.mark.parametrize("case", sorted(MALFORMED))
def test_malformed_interchange_gets_rejecting_contrl_naming_the_error(case: str) -> None:
    """Each malformed interchange is answered (never a traceback) by UCI 4 and the 0085 error."""
    corrupt, holder, code, pointer = MALFORMED[case]
    out = contrl_for(corrupt(VALID))
    uci = segments_of(out, "UCI")[0]
    assert (uci.get(0), uci.get(3)) == ("IC0001", "4")
    assert segments_of(out, "UNB")[0].get(2, 0) == THEM
    found = segments_of(out, holder)
    if holder == "UCI":
        assert (uci.get(4), uci.get(5)) == (code, pointer[0])
        if len(pointer) > 1:
            assert uci.get(6, 0) == pointer[1]
    elif holder == "UCM":
        assert [(s.get(3), s.get(4), s.get(5, 0)) for s in found] == [(code, *pointer)]
    elif holder == "UCS":
        assert (pointer[0], code) in [(s.get(0), s.get(1)) for s in found]
    else:  # UCD under the UCS of BGM (message position 2)
        assert [s.get(0) for s in segments_of(out, "UCS")] == ["2"]
        assert [(s.get(0), s.get(1, 0), s.get(1, 1)) for s in found] == [(code, *pointer)]
    ack = ContrlParser().parse(out)
    assert ack is not None and ack.status is AckStatus.REJECTED
    assert code in [r.code for r in ack.reasons]


def test_truncated_interchange_reports_missing_unt_and_unz_too() -> None:
    """A cut-off file: UCS at the broken segment, UCM 13 for UNT, UCI 13 for UNZ."""
    out = contrl_for(VALID[: VALID.index("TAX+") + 12])
    uci = segments_of(out, "UCI")[0]
    assert (uci.get(4), uci.get(5)) == ("13", "UNZ")
    ucm = segments_of(out, "UCM")[0]
    assert (ucm.get(2), ucm.get(3), ucm.get(4)) == ("4", "13", "UNT")


def test_duplicate_message_reference_is_reported_on_the_second_ucm() -> None:
    """Two messages with reference 1: the second UCM carries 0085 26 on UNH element 1."""
    out = contrl_for(interchange("1", "1"))
    second = segments_of(out, "UCM")[1]
    assert (second.get(2), second.get(3), second.get(4), second.get(5, 0)) == (
        "4",
        "26",
        "UNH",
        "1",
    )


def test_no_unb_at_all_is_a_parse_error_not_a_traceback() -> None:
    """Bytes without any UNB cannot be answered: ParseError, since nobody can be addressed."""
    with pytest.raises(ParseError) as caught:
        contrl_for("this is not EDIFACT")
    assert caught.value.location == "segment 1 UNB"


def test_real_interchanges_are_answered(conformance: Path) -> None:
    """Bots EANCOM samples are accepted; the EN 16931 D14B examples rejected for UNZ 0020."""
    for sample in sorted((conformance / "samples" / "edifact" / "eancom-d96a").iterdir()):
        ack = ContrlParser().parse(contrl_for(sample.read_bytes().decode("latin-1")))
        assert ack is not None and ack.status is AckStatus.ACCEPTED, sample.name
    for sample in sorted((conformance / "samples" / "edifact" / "en16931-d14b").iterdir()):
        out = build_contrl(sample.read_bytes(), our_id=US, our_qualifier="14", envelope=ENVELOPE)
        uci = segments_of(out, "UCI")[0]
        assert (uci.get(3), uci.get(4), uci.get(5)) == ("4", "28", "UNZ"), sample.name


def test_generated_contrls_pass_the_independent_checker(tmp_path: Path) -> None:
    """Every CONTRL we write (accepted, v4, each rejection) passes validate.py --format edifact."""
    validate = shared_path("conformance", "validate.py")
    texts = {
        "accepted": interchange("1", "2"),
        "v4": interchange("1", syntax="UNOC:4", date="20250322"),
    }
    texts.update({case: spec[0](VALID) for case, spec in MALFORMED.items()})
    for name, text in texts.items():
        (tmp_path / f"{name}.edi").write_bytes(contrl_for(text))
    run = subprocess.run(
        [sys.executable, str(validate), str(tmp_path), "--format", "edifact", "--json"],
        capture_output=True,
        text=True,
        check=False,
    )
    report = json.loads(run.stdout)
    failed = {Path(f["file"]).name: f["findings"] for f in report["files"] if not f["passed"]}
    assert failed == {}
    assert len(report["files"]) == len(texts)


def test_interchange_rendered_by_the_invoic_mapping_is_accepted_then_rejected_when_corrupted() -> (
    None
):
    """Three invoices from the EANCOM mapping: UCM 7 each; a broken UNT count turns UCM 2 to 29."""
    from builders import simple_invoice

    from gateway.profiles.profile import BuyerProfile
    from mappings.edifact.invoic import render_interchange

    invoices = [simple_invoice(number=f"INV-{n}") for n in (1, 2, 3)]
    profile = BuyerProfile(
        name="eancom", format="eancom-d96a", options={"sender_id": THEM, "recipient_id": US}
    )
    envelope = Envelope("IC77", dt.datetime(2025, 3, 22, 12, 15), message_refs=("A", "B", "C"))
    rendered = render_interchange(invoices, profile, envelope).content
    accepted = ContrlParser().parse(contrl_for(rendered.decode("latin-1")))
    assert accepted is not None and accepted.status is AckStatus.ACCEPTED
    assert accepted.refers_to.interchange == "IC77"
    assert [r.location for r in accepted.reasons] == ["message A", "message B", "message C"]

    second = rendered.split(b"UNH+B+")[1]
    unt = second[second.index(b"UNT+") : second.index(b"+B'") + 3]
    count = int(unt[4:-3])
    broken = rendered.replace(unt, b"UNT+%d+B'" % (count + 1))
    out = contrl_for(broken.decode("latin-1"))
    assert [(s.get(0), s.get(2), s.get(3)) for s in segments_of(out, "UCM")] == [
        ("A", "4", ""),
        ("B", "4", "29"),
        ("C", "4", ""),
    ]
