"""CONTRL, the UN/EDIFACT syntax and service report: read one as an :class:`Ack`, write one.

Reading (:class:`ContrlParser`): the UCI answers the interchange (action 0083: 4 rejected,
7 acknowledged, 8 received only), each UCM one message, UCS a segment in it (0096 position,
UNH = 1) and UCD an element of that segment (S011: 0098 position, 0104 component). Every UCM and
every reported error becomes an :class:`AckReason`; the status is the UCI's. Syntax versions 3
(``CONTRL:D:3:UN``, EANCOM ``2:2``) and 4 (``CONTRL:4:1:UN``) are read alike.

Writing (:func:`build_contrl`): the answer to an inbound interchange, from
:func:`mappings.edifact.interchange.check_interchange`. Any error rejects the interchange
(UCI 4, every UCM 4): the gateway books nothing from an interchange whose envelope does not add
up (``read_interchange`` refuses it too). Envelope errors (UNA, UNB, UNZ, UNG/UNE, segments
outside messages) go in the UCI; the UCI has room for one error, so further envelope errors are
left out (the first is enough to reject). Errors in UNH/UNT go in the UCM, errors inside a message
in UCS/UCD with the position counted from its UNH.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass, field

from pydifact.segments import Segment

from gateway.ack import Ack, AckLevel, AckReason, AckReference, AckStatus
from gateway.envelope import Envelope
from gateway.errors import ParseError
from gateway.profiles.profile import BuyerProfile
from mappings.edifact.interchange import (
    SYNTAX_IDS,
    InterchangeError,
    Message,
    build_interchange,
    check_interchange,
    decode,
    message_spans,
)
from mappings.edifact.syntax import (
    DEFAULT_SEPARATORS,
    RawSegment,
    Separators,
    SyntaxFault,
    segment,
    split_segments,
)

#: UN/EDIFACT service code list 0085 (syntax error, coded), ISO 9735 syntax versions 3 and 4.
SYNTAX_ERRORS: dict[str, str] = {
    "2": "syntax version or level not supported",
    "7": "interchange recipient not actual recipient",
    "12": "invalid value",
    "13": "missing",
    "14": "value not supported in this position",
    "15": "not supported in this position",
    "16": "too many constituents",
    "17": "no agreement",
    "18": "unspecified error",
    "19": "invalid decimal notation",
    "20": "character invalid as service character",
    "21": "invalid character(s)",
    "22": "invalid service segment tag",
    "23": "unknown interchange sender",
    "24": "too old",
    "25": "test indicator not supported",
    "26": "duplicate detected",
    "27": "security function not supported",
    "28": "references do not match",
    "29": "control count does not match number of instances received",
    "30": "functional groups and messages mixed",
    "31": "more than one message type in group",
    "32": "lower level empty",
    "33": "invalid occurrence outside message, package or group",
    "35": "too many data element or segment repetitions",
    "36": "too many segment group repetitions",
    "37": "invalid type of character(s)",
    "38": "missing digit in front of decimal sign",
    "39": "data element too long",
    "40": "data element too short",
    "41": "permanent communication network error",
    "42": "temporary communication network error",
    "43": "unknown interchange recipient",
    "45": "trailing separator",
    "46": "character set not supported",
    "47": "envelope functionality not supported",
    "48": "dependency notes condition violated",
}

#: UN/EDIFACT service code list 0083 (action, coded).
ACTIONS: dict[str, AckStatus] = {
    "4": AckStatus.REJECTED,
    "7": AckStatus.ACCEPTED,
    "8": AckStatus.RECEIVED,
}
_ACTION_WORDS = {"4": "rejected", "7": "acknowledged", "8": "received"}
_SERVICE_TAGS = frozenset({"UNA", "UNB", "UNG", "UNH", "UNT", "UNE", "UNZ", "UNS", "UNO", "UNP"})


# ---------------------------------------------------------------------------------------------
# reading interchanges tolerantly (to decide whether an inbound item is of a parser's kind)


def read_segments(data: bytes) -> tuple[Separators, list[RawSegment], list[SyntaxFault], str]:
    """Service characters, segments, syntax faults and unterminated rest of ``data``; never raises.

    Positions count from 1 at UNB as in :mod:`mappings.edifact.interchange`.
    """
    text = decode(data)
    stripped = text.lstrip("\r\n\t ")
    start = len(text) - len(stripped)
    seps = DEFAULT_SEPARATORS
    if stripped.startswith("UNA") and len(stripped) >= 9:
        seps = Separators(*stripped[3:9])
        start += 9
    segments, faults, rest = split_segments(text[start:], seps, 1, start)
    return seps, segments, faults, rest


def message_types(segments: Sequence[RawSegment]) -> list[str]:
    """The message type (UNH S009 0065) of every UNH in ``segments``."""
    return [s.get(1, 0) for s in segments if s.tag == "UNH"]


def looks_like_edifact(data: bytes) -> bool:
    """True when ``data`` starts (after a BOM and white space) with UNA or UNB."""
    head = data[:64].lstrip(b"\xef\xbb\xbf\r\n\t ")
    return head.startswith((b"UNA", b"UNB"))


def where(seg: RawSegment, element: int | None = None, component: int | None = None) -> str:
    """A location as ``read_interchange`` names it: ``segment 4 UCI element 4``."""
    text = f"segment {seg.position} {seg.tag}"
    if element is not None:
        text += f" element {element}"
        if component is not None:
            text += f" component {component}"
    return text


def unb_issued_at(unb: RawSegment) -> dt.datetime | None:
    """UNB S004 date/time of preparation (YYMMDD or CCYYMMDD, HHMM), naive; None if unreadable.

    The UNB carries no time zone, so the value is the sender's local time as written.
    """
    date, time = unb.get(3, 0), unb.get(3, 1) or "0000"
    pattern = "%Y%m%d%H%M" if len(date) == 8 else "%y%m%d%H%M"
    try:
        return dt.datetime.strptime(date + time, pattern)
    except ValueError:
        return None


def first_message(data: bytes, kind: str) -> tuple[RawSegment, Message] | None:
    """UNB and the first ``kind`` message (UNH..UNT) of ``data``; None when it holds none.

    Raises ParseError (segment position, tag, element) when it holds one that cannot be read:
    a bad release character or tag, a truncated interchange, no UNB first, no UNT. Counts and
    references in UNT/UNZ are not held against an ack: partners' acks get them wrong (the APERAK
    samples in ``../shared/interop`` count 8 segments in 7) and the content is still clear.
    """
    if not looks_like_edifact(data):
        return None
    _, segments, faults, rest = read_segments(data)
    if kind not in message_types(segments):
        return None
    if faults:
        fault = faults[0]
        raise ParseError(
            f"{fault.message} [0085 code {fault.code}]",
            f"segment {fault.position} {fault.tag}"
            + (f" element {fault.element}" if fault.element is not None else ""),
        )
    if rest.strip("\r\n\t "):
        raise ParseError(
            f"segment terminator missing: interchange truncated at {rest.strip()[:30]!r}",
            f"segment {len(segments) + 1} {rest.lstrip()[:3]}",
        )
    if segments[0].tag != "UNB":
        raise ParseError("an interchange must begin with UNB", where(segments[0]))
    start = next(i for i, s in enumerate(segments) if s.tag == "UNH" and s.get(1, 0) == kind)
    for end in range(start + 1, len(segments)):
        tag = segments[end].tag
        if tag == "UNT":
            unh = segments[start]
            body = tuple(segments[start : end + 1])
            return segments[0], Message(unh.get(0), unh.elements[1], body)
        if tag in ("UNH", "UNZ"):
            break
    raise ParseError(f"{kind} message without UNT", where(segments[start]))


# ---------------------------------------------------------------------------------------------
# reading a CONTRL


def _describe(code: str) -> str:
    return SYNTAX_ERRORS.get(code, f"syntax error {code}")


def _pointer(seg: RawSegment, tag_at: int, s011_at: int) -> str:
    """`` UNT element 1`` from a service segment tag (0013) and S011 (0098:0104), if given."""
    text = ""
    tag = seg.get(tag_at)
    if tag:
        text += f" {tag}"
    element = seg.get(s011_at, 0)
    if element:
        text += f" element {element}"
        if seg.get(s011_at, 1):
            text += f":{seg.get(s011_at, 1)}"
    return text


@dataclass
class _ContrlReader:
    """Walks UCI, UCM/UCF, UCS and UCD of one CONTRL message into reasons."""

    reasons: list[AckReason] = field(default_factory=list)
    message_refs: list[str] = field(default_factory=list)
    scope: str = ""
    segment_at: str = ""

    def action(self, seg: RawSegment, index: int) -> str:
        code = seg.get(index)
        if code not in ACTIONS:
            raise ParseError(
                f"{seg.tag} action code (0083) {code!r}; accepted: 4, 7, 8", where(seg, index + 1)
            )
        return code

    def uci(self, seg: RawSegment) -> tuple[str, str]:
        ref = seg.get(0)
        if not ref:
            raise ParseError("UCI without the interchange control reference (0020)", where(seg, 1))
        action = self.action(seg, 3)
        self.scope = f"interchange {ref}"
        error = seg.get(4)
        if error:
            self.reasons.append(
                AckReason(error, _describe(error), self.scope + _pointer(seg, 5, 6))
            )
        return ref, action

    def ucm(self, seg: RawSegment) -> None:
        ref = seg.get(0)
        if not ref:
            raise ParseError("UCM without the message reference (0062)", where(seg, 1))
        action = self.action(seg, 2)
        self.message_refs.append(ref)
        kind = ":".join(c for c in seg.elements[1] if c) if len(seg.elements) > 1 else ""
        self.scope = f"message {ref}"
        error = seg.get(3)
        text = f"message {ref}{f' ({kind})' if kind else ''} {_ACTION_WORDS[action]}"
        if error:
            text += f": {_describe(error)}"
        self.reasons.append(AckReason(error, text, self.scope + _pointer(seg, 4, 5)))

    def ucf(self, seg: RawSegment) -> None:
        ref = seg.get(0)
        action = self.action(seg, 3)
        self.scope = f"group {ref}"
        error = seg.get(4)
        if error or action == "4":
            text = f"group {ref} {_ACTION_WORDS[action]}"
            self.reasons.append(
                AckReason(error, text + (f": {_describe(error)}" if error else ""), self.scope)
            )

    def ucs(self, seg: RawSegment) -> None:
        if not self.scope.startswith("message"):
            raise ParseError("UCS outside a UCM (segment errors belong to a message)", where(seg))
        position = seg.get(0)
        if not position.isdigit():
            raise ParseError(
                f"UCS segment position (0096) {position!r} is not a number", where(seg, 1)
            )
        self.segment_at = f"{self.scope} segment {position}"
        error = seg.get(1)
        if error:
            self.reasons.append(AckReason(error, _describe(error), self.segment_at))

    def ucd(self, seg: RawSegment) -> None:
        if not self.segment_at:
            raise ParseError("UCD outside a UCS (element errors belong to a segment)", where(seg))
        error = seg.get(0)
        element = seg.get(1, 0)
        if not error or not element:
            raise ParseError("UCD needs a syntax error (0085) and an element position", where(seg))
        component = seg.get(1, 1)
        location = f"{self.segment_at} element {element}" + (f":{component}" if component else "")
        self.reasons.append(AckReason(error, _describe(error), location))


class ContrlParser:
    """Reads an inbound CONTRL interchange as a syntax-level :class:`Ack` (see the module)."""

    def parse(self, inbound: bytes) -> Ack | None:
        """The CONTRL's Ack; None when ``inbound`` holds no CONTRL; ParseError when malformed.

        ``refers_to`` holds the UCI interchange reference and, when the CONTRL answers exactly
        one message, its UCM message reference. ``sender`` is the party that acknowledges (UCI
        S003, the recipient of the subject interchange), ``recipient`` the subject's sender
        (UCI S002) - as written in the interchange they answer, which is what correlates.
        """
        found = first_message(inbound, "CONTRL")
        if found is None:
            return None
        unb, message = found
        body = message.segments[1:-1]
        if not body or body[0].tag != "UCI":
            first = body[0] if body else message.segments[-1]
            raise ParseError("CONTRL must begin with a UCI segment after UNH", where(first))
        reader = _ContrlReader()
        ref, action = reader.uci(body[0])
        steps = {"UCM": reader.ucm, "UCF": reader.ucf, "UCS": reader.ucs, "UCD": reader.ucd}
        for seg in body[1:]:
            step = steps.get(seg.tag)
            if step is None:
                raise ParseError(
                    f"segment {seg.tag} does not belong in a CONTRL (UCI, UCF, UCM, UCS, UCD)",
                    where(seg),
                )
            step(seg)
        refs = reader.message_refs
        return Ack(
            kind="CONTRL",
            level=AckLevel.SYNTAX,
            status=ACTIONS[action],
            refers_to=AckReference(interchange=ref, message=refs[0] if len(refs) == 1 else None),
            raw=inbound,
            sender=body[0].get(2, 0) or unb.get(1, 0) or None,
            recipient=body[0].get(1, 0) or unb.get(2, 0) or None,
            issued_at=unb_issued_at(unb),
            reasons=tuple(reader.reasons),
        )


# ---------------------------------------------------------------------------------------------
# writing a CONTRL


@dataclass(frozen=True)
class _Subject:
    """What a CONTRL must copy from the interchange it answers."""

    syntax: list[str]
    sender: list[str]
    recipient: list[str]
    reference: str
    messages: list[tuple[str, list[str], int, int]]  # reference, S009, first, last position
    closed: frozenset[int]  # indexes of the messages that end with their UNT


def _sniff_unb(text: str, seps: Separators) -> RawSegment | None:
    """A UNB written with other separators than announced: take them from the UNB itself.

    After ``UNB`` comes the data element separator actually used, after the syntax identifier
    (``UNOC``) the component separator. Only to address the CONTRL; the error is reported
    from the checker.
    """
    at = text.find("UNB")
    if at < 0 or len(text) < at + 9:
        return None
    data_sep, comp_sep = text[at + 3], text[at + 8]
    end = text.find(seps.terminator, at)
    chunk = text[at : end if end >= 0 else len(text)]
    parts = chunk.split(data_sep)[1:]
    return RawSegment("UNB", tuple(tuple(p.split(comp_sep)) for p in parts), 1, at)


def _subject(data: bytes) -> _Subject:
    seps, segments, _, _ = read_segments(data)
    unb = segments[0] if segments and segments[0].tag == "UNB" else None
    if unb is None:
        unb = _sniff_unb(decode(data), seps)
    if unb is None or not unb.get(1, 0):
        raise ParseError(
            "no readable UNB: the interchange names no sender to address a CONTRL to",
            "segment 1 UNB",
        )
    syntax = [unb.get(0, 0), unb.get(0, 1)]
    if syntax[0] not in SYNTAX_IDS or syntax[1] not in ("1", "2", "3", "4"):
        syntax = ["UNOC", "3"]
    try:
        spans = message_spans(data)
    except Exception:  # best effort: an unreadable body still gets its UCI
        spans = []
    by_position = {s.position: s for s in segments}
    messages = []
    for ref, first, last in spans:
        unh = by_position.get(first)
        kind = [c for c in unh.elements[1]] if unh and len(unh.elements) > 1 else []
        messages.append((ref, kind, first, last))
    return _Subject(
        syntax=syntax,
        sender=[unb.get(1, 0), unb.get(1, 1)],
        recipient=[unb.get(2, 0), unb.get(2, 1)],
        reference=unb.get(4)[:14],
        messages=messages,
        closed=frozenset(
            i for i, m in enumerate(messages) if by_position.get(m[3], unb).tag == "UNT"
        ),
    )


def _owner(error: InterchangeError, subject: _Subject) -> int | None:
    """Index of the message an error belongs to; None for interchange (envelope) errors."""
    for index, (_, _, first, last) in enumerate(subject.messages):
        if first <= error.segment_position <= last:
            return index
        cut_short = index not in subject.closed and error.tag != "UNZ"
        if cut_short and error.segment_position == last + 1:
            return index  # a missing UNT, a truncated segment: where the message broke off
    return None


def _s011(error: InterchangeError) -> list[str] | None:
    if error.element is None:
        return None
    return [str(error.element), "" if error.component is None else str(error.component)]


def _service_tag(error: InterchangeError) -> str | None:
    return error.tag if error.tag in _SERVICE_TAGS else None


def _message_segments(
    subject: _Subject, index: int, errors: list[InterchangeError], rejected: bool
) -> list[Segment]:
    ref, kind, first, _ = subject.messages[index]
    own = [e for e in errors if e.tag in ("UNH", "UNT")]
    head = own[0] if own else None
    body_errors = [e for e in errors if e is not head]
    action = "4" if rejected else "7"
    out = [
        segment(
            "UCM",
            ref,
            kind,
            action,
            None if head is None else str(head.code),
            None if head is None else head.tag,
            None if head is None else _s011(head),
        )
    ]
    by_position: dict[int, list[InterchangeError]] = {}
    for error in body_errors:
        by_position.setdefault(error.segment_position - first + 1, []).append(error)
    for position, found in sorted(by_position.items()):
        whole = [e for e in found if e.element is None]
        out.append(segment("UCS", str(position), str(whole[0].code) if whole else None))
        for error in found:
            if error.element is not None:
                out.append(segment("UCD", str(error.code), _s011(error)))
    return out


def _contrl_segments(
    subject_errors: list[InterchangeError], subject: _Subject, message_ref: str
) -> list[Segment]:
    """UNH..UNT of the CONTRL answering ``subject`` with ``subject_errors`` (see the module)."""
    rejected = bool(subject_errors)
    per_message: dict[int, list[InterchangeError]] = {}
    envelope_errors: list[InterchangeError] = []
    for error in subject_errors:
        owner = _owner(error, subject)
        if owner is None:
            envelope_errors.append(error)
        else:
            per_message.setdefault(owner, []).append(error)
    head = envelope_errors[0] if envelope_errors else None
    version = subject.syntax[1]
    kind = ["CONTRL", "4", "1", "UN"] if version == "4" else ["CONTRL", "D", "3", "UN"]
    body: list[Segment] = [
        segment("UNH", message_ref, kind),
        segment(
            "UCI",
            subject.reference,
            subject.sender,
            subject.recipient,
            "4" if rejected else "7",
            None if head is None else str(head.code),
            None if head is None else _service_tag(head),
            None if head is None else _s011(head),
        ),
    ]
    for index in range(len(subject.messages)):
        body.extend(_message_segments(subject, index, per_message.get(index, []), rejected))
    body.append(segment("UNT", str(len(body) + 1), message_ref))
    return body


def build_contrl(inbound: bytes, *, our_id: str, our_qualifier: str, envelope: Envelope) -> bytes:
    """The CONTRL answering ``inbound``: accepting (UCI 7, one UCM 7 per message) or rejecting.

    Rejecting means UCI 4 with every error :func:`check_interchange` found (see the module for
    where each goes). The CONTRL goes from ``our_id``/``our_qualifier`` to the inbound sender,
    in the inbound syntax identifier and version; its UNB reference is
    ``envelope.interchange_ref``, its date ``envelope.prepared_at``, its UNH reference
    ``envelope.message_ref(0)``. Raises ParseError only when ``inbound`` has no readable UNB
    at all (there is nobody to address the answer to).
    """
    subject = _subject(inbound)
    errors = check_interchange(inbound)
    body = _contrl_segments(errors, subject, envelope.message_ref(0))
    profile = BuyerProfile(
        name="contrl",
        format="edifact-contrl",
        options={
            "sender_id": our_id,
            "sender_qualifier": our_qualifier,
            "recipient_id": subject.sender[0],
            "recipient_qualifier": subject.sender[1],
            "syntax": ":".join(subject.syntax),
        },
    )
    return build_interchange([body], profile, envelope)
