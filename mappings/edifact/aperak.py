"""APERAK, the application error and acknowledgement message: read one as a business-level Ack.

Status. BGM 1225 (message function) decides when it is a verdict: 27 "not accepted" rejects;
6 "confirmation" (EANCOM's positive APERAK), 29/30 "accepted without/with amendment" and 44/45
"accepted without/with reserves" accept. Other functions (9 original, 7 duplicate, ...) say
nothing about the answer, and then the ERC codes decide: an APERAK without ERC, or whose ERC
codes are all acknowledgement codes, accepts; any other ERC rejects. ERC 9321 codes are
user/association defined (UNTDID has no list); ``acknowledgement_codes`` defaults to ``1``,
as in the APERAK samples kept in ``../shared/interop`` (pydifact's test data: ``ERC+1`` with
"Message accepted", ``ERC+12`` with a rejection), and is set per partner where it differs.

References. RFF in the heading (before NAD/ERC): IV (invoice number) goes to
``refers_to.document``, and without it the first of ON, DQ, AAK, VN; ACW ("reference number to
previous message") to ``refers_to.message``. Reasons: one per ERC (code 9321) with the text of its
FTX and the SG4 RFF it points at; heading FTX become reasons coded with their subject (4451).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Collection, Sequence

from gateway.ack import Ack, AckLevel, AckReason, AckReference, AckStatus, FirstAck
from gateway.errors import ParseError
from mappings.edifact.contrl import ContrlParser, first_message, unb_issued_at, where
from mappings.edifact.syntax import RawSegment

#: BGM 1225 message functions that are a verdict (UNTDID 1225).
VERDICTS: dict[str, AckStatus] = {
    "27": AckStatus.REJECTED,
    "6": AckStatus.ACCEPTED,
    "29": AckStatus.ACCEPTED,
    "30": AckStatus.ACCEPTED,
    "44": AckStatus.ACCEPTED,
    "45": AckStatus.ACCEPTED,
}
DOCUMENT_QUALIFIERS = ("IV", "ON", "DQ", "AAK", "VN")
SENDER_ROLES = ("MS", "BY", "IV")  # message sender; the buyer/invoicee answers an invoice
RECIPIENT_ROLES = ("MR", "SU", "II")  # message recipient; the supplier/invoice issuer
_DATE_FORMATS = {"102": "%Y%m%d", "203": "%Y%m%d%H%M", "204": "%Y%m%d%H%M%S", "101": "%y%m%d"}


def _dtm(seg: RawSegment) -> dt.datetime:
    value, fmt = seg.get(0, 1), seg.get(0, 2) or "102"
    pattern = _DATE_FORMATS.get(fmt)
    if pattern is None:
        raise ParseError(
            f"DTM format {fmt!r}; accepted: {', '.join(_DATE_FORMATS)}", where(seg, 1, 3)
        )
    try:
        return dt.datetime.strptime(value, pattern)
    except ValueError:
        raise ParseError(f"DTM value {value!r} is not a {fmt} date", where(seg, 1, 2)) from None


def _ftx_text(seg: RawSegment) -> str:
    lines = seg.elements[3] if len(seg.elements) > 3 else ()
    return " ".join(line.strip() for line in lines if line.strip())


def _party(nads: dict[str, str], roles: Sequence[str]) -> str | None:
    return next((nads[r] for r in roles if nads.get(r)), None)


class AperakParser:
    """Reads an inbound APERAK interchange as a business-level :class:`Ack` (see the module)."""

    def __init__(self, acknowledgement_codes: Collection[str] = ("1",)) -> None:
        """``acknowledgement_codes``: ERC codes that acknowledge rather than report an error."""
        self.acknowledgement_codes = frozenset(acknowledgement_codes)

    def parse(self, inbound: bytes) -> Ack | None:
        """The APERAK's Ack; None when ``inbound`` holds no APERAK; ParseError when malformed."""
        found = first_message(inbound, "APERAK")
        if found is None:
            return None
        unb, message = found
        body = message.segments[1:-1]
        bgm = next((s for s in body if s.tag == "BGM"), None)
        if bgm is None:
            raise ParseError("APERAK without BGM", where(message.segments[0]))
        issued: dt.datetime | None = None
        refs: dict[str, str] = {}
        nads: dict[str, str] = {}
        reasons: list[AckReason] = []
        codes: list[str] = []
        error_group = False
        for seg in body:
            if seg.tag == "ERC":
                code = seg.get(0, 0)
                if not code:
                    raise ParseError("ERC without an application error code (9321)", where(seg, 1))
                codes.append(code)
                reasons.append(AckReason(code, "", where(seg)))
                error_group = True
            elif seg.tag == "FTX" and error_group:
                last = reasons[-1]
                text = f"{last.text} {_ftx_text(seg)}".strip()
                reasons[-1] = AckReason(last.code, text, last.location)
            elif seg.tag == "FTX":
                reasons.append(AckReason(seg.get(0), _ftx_text(seg), where(seg)))
            elif seg.tag == "RFF" and error_group:
                last = reasons[-1]
                pointer = f"{last.location}, {seg.get(0, 0)} {seg.get(0, 1)}".rstrip()
                reasons[-1] = AckReason(last.code, last.text, pointer)
            elif seg.tag == "RFF":
                refs.setdefault(seg.get(0, 0), seg.get(0, 1))
            elif seg.tag == "DTM" and seg.get(0, 0) == "137" and issued is None:
                issued = _dtm(seg)
            elif seg.tag == "NAD":
                nads.setdefault(seg.get(0), seg.get(1, 0) or seg.get(3, 0))
        status = VERDICTS.get(bgm.get(2))
        if status is None:
            errors = [c for c in codes if c not in self.acknowledgement_codes]
            status = AckStatus.REJECTED if errors else AckStatus.ACCEPTED
        document = next((refs[q] for q in DOCUMENT_QUALIFIERS if refs.get(q)), None)
        return Ack(
            kind="APERAK",
            level=AckLevel.BUSINESS,
            status=status,
            refers_to=AckReference(message=refs.get("ACW") or None, document=document),
            raw=inbound,
            sender=_party(nads, SENDER_ROLES) or unb.get(1, 0) or None,
            recipient=_party(nads, RECIPIENT_ROLES) or unb.get(2, 0) or None,
            issued_at=issued or unb_issued_at(unb),
            reasons=tuple(reasons),
        )


class EdifactAckParser(FirstAck):
    """Any EDIFACT acknowledgement: tries CONTRL, then APERAK; None for anything else (INVOIC)."""

    def __init__(self, aperak: AperakParser | None = None) -> None:
        """``aperak``: an APERAK parser with a partner's acknowledgement codes, if needed."""
        super().__init__((ContrlParser(), aperak or AperakParser()))
