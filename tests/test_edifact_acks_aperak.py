"""APERAK business acknowledgements, and EdifactAckParser trying CONTRL then APERAK."""

from __future__ import annotations

import datetime as dt

import pytest
from shared_dir import shared_path

from gateway.ack import AckLevel, AckStatus
from gateway.errors import ParseError
from mappings.edifact.aperak import AperakParser, EdifactAckParser

# EANCOM-style answer to an invoice: repetition separator '*' (syntax 4), parties, SG4 reference.
APERAK_V4_INVOICE = """UNA:+.?*'
UNB+UNOC:4+4000002000001:14+4000001000002:14+20250324:0815+AP0007'
UNH+M1+APERAK:D:96A:UN:EAN001'
BGM+12E::9+ACK-7+9'
DTM+137:202503240810:203'
RFF+IV:INV-2025-001'
DTM+171:20250322:102'
RFF+ACW:1'
NAD+BY+4000002000001::9'
NAD+SU+4000001000002::9'
ERC+186::92'
FTX+AAO+++Duplicate invoice number?: INV-2025-001'
RFF+LI:3'
ERC+12'
FTX+AAO+++Line 3 unit price invalid'
UNT+14+M1'
UNZ+1+AP0007'
"""

VALENCIAPORT_STYLE = """UNB+UNOA:2+PORT+AGENT+060913:1143+2006091311458'
UNH+VPRT1+APERAK:D:01B:UN'
BGM+963+VPRT1+27'
DTM+137:200609131145:203'
RFF+ACW:20060622415205'
NAD+VP+PORT'
ERC+1'
FTX+AAO+++El documento identificado no existe'
UNT+9+VPRT1'
UNZ+1+2006091311458'
"""


def aperak(function: str, *erc: str) -> bytes:
    """A minimal APERAK with BGM 1225 ``function`` and one ERC per code."""
    errors = "".join(f"ERC+{code}'" for code in erc)
    count = 3 + len(erc)
    return (
        f"UNB+UNOC:3+A+B+250322:1200+9'UNH+1+APERAK:D:96A:UN'BGM+23+X1+{function}'"
        f"{errors}UNT+{count}+1'UNZ+1+9'"
    ).encode()


@pytest.mark.parametrize(
    ("sample", "status", "code", "text"),
    [
        ("v3/aperak.edi", AckStatus.ACCEPTED, "1", "Message accepted without errors"),
        ("v3/aperak_rejected.edi", AckStatus.REJECTED, "12", "invalid product code"),
        ("v4/aperak.edi", AckStatus.ACCEPTED, "1", "Message accepted"),
        ("v4/aperak_rejected.edi", AckStatus.REJECTED, "12", "invalid product code"),
    ],
)
def test_shared_aperak_samples_parse_with_their_status(
    sample: str, status: AckStatus, code: str, text: str
) -> None:
    """The pydifact APERAK samples (syntax 3 and 4) read with the right status and reason."""
    data = shared_path("interop", "edifact", *sample.split("/")).read_bytes()
    ack = AperakParser().parse(data)
    assert ack is not None
    assert (ack.kind, ack.level, ack.status) == ("APERAK", AckLevel.BUSINESS, status)
    assert ack.refers_to.message == "PO123456"
    assert (ack.sender, ack.recipient) == ("RECEIVERID", "SENDERID")
    assert ack.issued_at == dt.datetime(2025, 3, 22)
    assert [r.code for r in ack.reasons] == [code]
    assert text in ack.reasons[0].text
    assert ack.reasons[0].location == "segment 6 ERC"


def test_syntax_4_aperak_for_an_invoice_reads_parties_references_and_reasons() -> None:
    """UNA with '*', DTM 203, RFF IV/ACW, NAD BY/SU and ERC groups with FTX and SG4 RFF."""
    ack = AperakParser().parse(APERAK_V4_INVOICE.encode())
    assert ack is not None
    assert ack.status is AckStatus.REJECTED
    assert (ack.refers_to.document, ack.refers_to.message) == ("INV-2025-001", "1")
    assert (ack.sender, ack.recipient) == ("4000002000001", "4000001000002")
    assert ack.issued_at == dt.datetime(2025, 3, 24, 8, 10)
    assert [(r.code, r.text, r.location) for r in ack.reasons] == [
        ("186", "Duplicate invoice number: INV-2025-001", "segment 10 ERC, LI 3"),
        ("12", "Line 3 unit price invalid", "segment 13 ERC"),
    ]


def test_bgm_not_accepted_rejects_whatever_the_erc_code() -> None:
    """BGM 1225 = 27 (not accepted) rejects even with ERC 1; parties from UNB without MS/MR."""
    ack = AperakParser().parse(VALENCIAPORT_STYLE.encode())
    assert ack is not None
    assert ack.status is AckStatus.REJECTED
    assert (ack.sender, ack.recipient) == ("PORT", "AGENT")
    assert ack.reasons[0].text == "El documento identificado no existe"


@pytest.mark.parametrize(
    ("function", "erc", "status"),
    [
        ("29", ("12",), AckStatus.ACCEPTED),
        ("6", (), AckStatus.ACCEPTED),
        ("9", (), AckStatus.ACCEPTED),
        ("9", ("1",), AckStatus.ACCEPTED),
        ("9", ("1", "45"), AckStatus.REJECTED),
        ("7", ("12",), AckStatus.REJECTED),
        ("27", (), AckStatus.REJECTED),
    ],
)
def test_status_from_bgm_verdict_else_erc_codes(
    function: str, erc: tuple[str, ...], status: AckStatus
) -> None:
    """A BGM verdict decides; otherwise any ERC that is not an acknowledgement code rejects."""
    ack = AperakParser().parse(aperak(function, *erc))
    assert ack is not None and ack.status is status


def test_acknowledgement_codes_are_set_per_partner() -> None:
    """With no acknowledgement codes, ERC 1 is an error; with '0', ERC 0 accepts."""
    strict = AperakParser(acknowledgement_codes=()).parse(aperak("9", "1"))
    assert strict is not None and strict.status is AckStatus.REJECTED
    accepted = AperakParser(acknowledgement_codes=("0",)).parse(aperak("9", "0"))
    assert accepted is not None and accepted.status is AckStatus.ACCEPTED


@pytest.mark.parametrize(
    ("text", "location"),
    [
        (
            "UNB+UNOC:3+A+B+250322:1200+9'UNH+1+APERAK:D:96A:UN'ERC+1'UNT+3+1'UNZ+1+9'",
            "segment 2 UNH",
        ),
        (
            "UNB+UNOC:3+A+B+250322:1200+9'UNH+1+APERAK:D:96A:UN'BGM+23+X+9'DTM+137:2025133:102'"
            "UNT+4+1'UNZ+1+9'",
            "segment 4 DTM element 1 component 2",
        ),
        ("UNB+UNOC:3+A+B+250322:1200+9'UNH+1+APERAK:D:96A:UN'BGM+23+X+9'ERC+1", "segment 4 ERC"),
        (
            "UNB+UNOC:3+A+B+250322:1200+9'UNH+1+APERAK:D:96A:UN'BGM+23+X+9'ERC+'UNT+4+1'UNZ+1+9'",
            "segment 4 ERC element 1",
        ),
    ],
    ids=["no-bgm", "bad-date", "truncated", "empty-erc"],
)
def test_malformed_aperak_raises_parse_error_with_position(text: str, location: str) -> None:
    """An APERAK that cannot be read raises ParseError naming segment position and tag."""
    with pytest.raises(ParseError) as caught:
        AperakParser().parse(text.encode())
    assert caught.value.location == location


def test_edifact_ack_parser_tells_contrl_aperak_and_invoic_apart() -> None:
    """CONTRL gives a syntax Ack, APERAK a business Ack, an INVOIC interchange None."""
    parser = EdifactAckParser()
    contrl = b"UNB+UNOC:3+B+A+250322:1200+5'UNH+1+CONTRL:D:3:UN'UCI+9+A+B+7'UNT+3+1'UNZ+1+5'"
    syntax_ack = parser.parse(contrl)
    business_ack = parser.parse(aperak("27", "12"))
    assert syntax_ack is not None and syntax_ack.kind == "CONTRL"
    assert business_ack is not None and business_ack.kind == "APERAK"
    assert AperakParser().parse(contrl) is None
    invoice = shared_path("interop", "edifact", "invoice1.edi").read_bytes()
    assert parser.parse(invoice) is None
    assert parser.parse(b"%PDF-1.7") is None
