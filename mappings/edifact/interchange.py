"""The EDIFACT interchange: UNA/UNB ... UNZ around messages; building, reading and checking.

UNA practice (EANCOM 2002, syntax 3, UNA "conditional"): the service string advice is sent only
when the service characters differ from the defaults ``:+.? '`` (component, data, decimal
mark, release, reserved, terminator), so by default an interchange starts with UNB. Buyers whose
translators insist on it set profile option ``una`` = ``always``. Reading accepts both.

Positions: ``segment_position`` counts segments from 1 at UNB (UNA is not a segment), across the
whole interchange; ``element`` and ``component`` are 1-based (None: not about one element).
:func:`message_spans` gives each message's first position, so a CONTRL can report a
position inside its message (UNH = 1).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass, replace

from pydifact.segments import Segment

from gateway.envelope import Envelope
from gateway.errors import ConfigError, ParseError
from gateway.profiles.profile import BuyerProfile
from mappings.edifact.charset import charset_of, codec_of
from mappings.edifact.findings import Capped, more_text, rule_of
from mappings.edifact.syntax import (
    DEFAULT_SEPARATORS,
    FastSerializer,
    RawSegment,
    Separators,
    SyntaxFault,
    segment,
    split_segments,
)

SYNTAX_IDS = frozenset(
    {
        "UNOA",
        "UNOB",
        "UNOC",
        "UNOD",
        "UNOE",
        "UNOF",
        "UNOG",
        "UNOH",
        "UNOI",
        "UNOJ",
        "UNOK",
        "UNOW",
        "UNOX",
        "UNOY",
        "KECA",
    }
)
UTF8_SYNTAXES = frozenset({"UNOW", "UNOY"})


@dataclass(frozen=True)
class InterchangeError:
    """One syntax or envelope error, as a CONTRL reports it.

    ``code`` is the UN/EDIFACT syntax error code (data element 0085: 12 invalid value, 13 missing,
    16 too many constituents, 20 character invalid as service character, 21 invalid character,
    26 duplicate, 28 references do not match, 29 control count does not match, 33 invalid
    occurrence outside message, ...). ``segment_position`` counts from 1 at UNB (0: before
    UNB, e.g. the UNA); ``tag`` is the segment's tag; ``element``/``component`` 1-based or None.
    """

    code: int
    message: str
    segment_position: int
    tag: str
    element: int | None = None
    component: int | None = None
    omitted: int = 0
    """Non-zero on the summary that ends a capped list: how many more of its kind were found
    (its position and code are those of the first one left out)."""
    rule: str = ""
    """The kind (rule id) a summary counts; empty on every other error."""

    def __str__(self) -> str:
        where = f"segment {self.segment_position} {self.tag}"
        if self.element is not None:
            where += f" element {self.element}"
            if self.component is not None:
                where += f" component {self.component}"
        return f"{where}: [{self.code}] {self.message}"


@dataclass(frozen=True)
class Message:
    """One UNH..UNT message: its reference, type (``INVOIC:D:96A:UN:EAN008``) and segments."""

    reference: str
    type: tuple[str, ...]
    segments: tuple[RawSegment, ...]


@dataclass(frozen=True)
class Interchange:
    """A read interchange: service characters, UNB, messages and UNZ."""

    separators: Separators
    header: RawSegment
    messages: tuple[Message, ...]
    trailer: RawSegment | None


# ---------------------------------------------------------------------------------------------
# decoding and splitting


def _syntax_peek(data: bytes) -> str:
    """The syntax identifier after ``UNB`` (for choosing the text encoding), ``""`` if unseen."""
    at = data.find(b"UNB")
    if at < 0 or at + 8 > len(data):
        return ""
    return data[at + 4 : at + 8].decode("latin-1")


def decode(data: bytes) -> str:
    """Bytes to text in the level's encoding: UTF-8 for UNOW/UNOY, ISO 8859-2/-5/-7/... for
    UNOD..UNOK, else ISO 8859-1 (any byte decodes; UNOA..UNOC)."""
    if data.startswith(b"\xef\xbb\xbf"):
        data = data[3:]
    level = _syntax_peek(data)
    if level in UTF8_SYNTAXES:
        return data.decode("utf-8", errors="replace")
    codec = codec_of(level)
    if codec not in ("ascii", "latin-1"):
        return data.decode(codec, errors="replace")
    return data.decode("latin-1")


def _read_una(text: str) -> tuple[Separators, int, list[InterchangeError]]:
    """Service characters from a UNA (or the defaults) and where segments start."""
    stripped = text.lstrip("\r\n\t ")
    start = len(text) - len(stripped)
    if not stripped.startswith("UNA"):
        return DEFAULT_SEPARATORS, start, []
    chars = stripped[3:9]
    if len(chars) < 6:
        return (
            DEFAULT_SEPARATORS,
            start,
            [
                InterchangeError(
                    13, f"UNA service string advice truncated: {stripped[:9]!r}", 0, "UNA"
                )
            ],
        )
    seps = Separators(*chars)
    errors: list[InterchangeError] = []
    used = (seps.component, seps.data, seps.release, seps.terminator)
    for index, ch in enumerate(chars, start=1):
        if index in (3, 5):
            continue  # decimal mark and reserved/repetition are not delimiters
        if ch.isalnum() or ch in "\r\n":
            errors.append(
                InterchangeError(20, f"{ch!r} cannot be a service character", 0, "UNA", index)
            )
    if len(set(used)) != len(used):
        errors.append(
            InterchangeError(20, f"UNA service characters {chars!r} are not distinct", 0, "UNA")
        )
    if seps.decimal not in ".,":
        errors.append(
            InterchangeError(
                20, f"decimal mark {seps.decimal!r} is neither '.' nor ','", 0, "UNA", 3
            )
        )
    return seps, start + 9, errors


def _error(f: SyntaxFault) -> InterchangeError:
    return InterchangeError(f.code, f.message, f.position, f.tag, f.element, f.component)


def _split(data: bytes) -> tuple[Separators, list[RawSegment], Capped[InterchangeError]]:
    """Decode, read UNA and split into segments, collecting syntax errors (capped per kind)."""
    text = decode(data)
    seps, start, una_errors = _read_una(text)
    errors: Capped[InterchangeError] = Capped(rule_of, items=una_errors)
    if errors:
        return seps, [], errors
    segments, faults, rest = split_segments(text[start:], seps, 1, start)
    del text
    errors.extend(_error(f) for f in faults)
    for kind, count in faults.omitted.items():
        errors.count_omitted(kind, count, _error(faults.first_omitted[kind]))
    if rest.strip("\r\n\t "):
        position = len(segments) + 1
        tag = rest.lstrip("\r\n")[:3]
        if rest.rstrip("\r\n").endswith(seps.release):
            text_ = "release character at the end of the data (it releases nothing)"
            errors.append(InterchangeError(21, text_, position, tag))
        after_unz = bool(segments) and segments[-1].tag == "UNZ"
        if not after_unz:
            errors.append(
                InterchangeError(
                    13,
                    f"segment terminator {seps.terminator!r} missing: interchange truncated at "
                    f"{rest.strip()[:30]!r}",
                    position,
                    tag,
                )
            )
        else:
            errors.append(
                InterchangeError(33, f"data after UNZ: {rest.strip()[:30]!r}", position, tag)
            )
    return seps, segments, errors


# ---------------------------------------------------------------------------------------------
# checking


def _check_unb(unb: RawSegment) -> list[InterchangeError]:
    errors: list[InterchangeError] = []
    syntax_id, version = unb.get(0, 0), unb.get(0, 1)
    if syntax_id not in SYNTAX_IDS:
        errors.append(
            InterchangeError(2, f"unknown syntax identifier {syntax_id!r}", 1, "UNB", 1, 1)
        )
    if version not in ("1", "2", "3", "4"):
        errors.append(
            InterchangeError(2, f"syntax version {version!r} not in 1..4", 1, "UNB", 1, 2)
        )
    if not unb.get(1):
        errors.append(InterchangeError(13, "interchange sender missing", 1, "UNB", 2, 1))
    if not unb.get(2):
        errors.append(InterchangeError(13, "interchange recipient missing", 1, "UNB", 3, 1))
    date, time = unb.get(3, 0), unb.get(3, 1)
    date_ok = date.isdigit() and (len(date) == 6 or (version == "4" and len(date) == 8))
    if not date_ok:
        errors.append(InterchangeError(12, f"date of preparation {date!r} invalid", 1, "UNB", 4, 1))
    if not (time.isdigit() and len(time) == 4):
        errors.append(InterchangeError(12, f"time of preparation {time!r} invalid", 1, "UNB", 4, 2))
    ref = unb.get(4)
    if not ref:
        errors.append(InterchangeError(13, "interchange control reference missing", 1, "UNB", 5))
    elif len(ref) > 14:
        errors.append(
            InterchangeError(39, f"control reference {ref!r} > 14 characters", 1, "UNB", 5)
        )
    if len(unb.elements) > 11:
        errors.append(
            InterchangeError(16, f"{len(unb.elements)} data elements, at most 11", 1, "UNB")
        )
    return errors


def _check_message(msg: list[RawSegment], seen: dict[str, int]) -> list[InterchangeError]:
    errors: list[InterchangeError] = []
    unh, unt = msg[0], msg[-1]
    ref = unh.get(0)
    if not ref:
        errors.append(InterchangeError(13, "message reference missing", unh.position, "UNH", 1))
    elif ref in seen:
        errors.append(
            InterchangeError(
                26,
                f"message reference {ref!r} already used by the message at segment {seen[ref]}",
                unh.position,
                "UNH",
                1,
            )
        )
    else:
        seen[ref] = unh.position
    for index, label in enumerate(("type", "version", "release", "agency"), start=1):
        if not unh.get(1, index - 1):
            errors.append(
                InterchangeError(13, f"message {label} missing", unh.position, "UNH", 2, index)
            )
    if unt.tag != "UNT":
        return errors
    if unt.get(0) != str(len(msg)):
        errors.append(
            InterchangeError(
                29,
                f"UNT segment count {unt.get(0)!r} but the message has {len(msg)} segments "
                "(UNH..UNT inclusive)",
                unt.position,
                "UNT",
                1,
            )
        )
    if unt.get(1) != ref:
        errors.append(
            InterchangeError(
                28,
                f"UNT reference {unt.get(1)!r} does not match UNH {ref!r}",
                unt.position,
                "UNT",
                2,
            )
        )
    return errors


def _walk(segments: list[RawSegment], errors: Capped[InterchangeError]) -> list[list[RawSegment]]:
    """Group segments into messages; add envelope errors to ``errors`` (never raises)."""
    messages: list[list[RawSegment]] = []
    current: list[RawSegment] | None = None
    groups = 0
    group: RawSegment | None = None
    group_count = 0
    unz = segments[-1]
    for seg in segments[1:]:
        tag = seg.tag
        if tag == "UNH":
            if current is not None:
                errors.append(
                    InterchangeError(
                        13, f"UNT of message {current[0].get(0)!r} missing", seg.position, "UNT"
                    )
                )
                messages.append(current)
            current = [seg]
            group_count += 1
        elif tag == "UNT":
            if current is None:
                errors.append(InterchangeError(33, "UNT without UNH", seg.position, "UNT"))
                continue
            current.append(seg)
            messages.append(current)
            current = None
        elif tag == "UNZ":
            if current is not None:
                errors.append(
                    InterchangeError(
                        13, f"UNT of message {current[0].get(0)!r} missing", seg.position, "UNT"
                    )
                )
                messages.append(current)
                current = None
            if seg is not segments[-1]:
                after = segments[seg.position]  # positions are 1-based: this is the next one
                errors.append(InterchangeError(33, "segments after UNZ", after.position, after.tag))
                unz = seg
                break
        elif tag == "UNG":
            groups += 1
            group, group_count = seg, 0
        elif tag == "UNE":
            if group is None:
                errors.append(InterchangeError(33, "UNE without UNG", seg.position, "UNE"))
            else:
                if seg.get(0) != str(group_count):
                    text = f"UNE count {seg.get(0)!r} but the group has {group_count} messages"
                    errors.append(InterchangeError(29, text, seg.position, "UNE", 1))
                if seg.get(1) != group.get(4):
                    text = f"UNE reference {seg.get(1)!r} does not match UNG {group.get(4)!r}"
                    errors.append(InterchangeError(28, text, seg.position, "UNE", 2))
            group = None
        elif tag == "UNB":
            errors.append(
                InterchangeError(33, "second UNB inside interchange", seg.position, "UNB")
            )
        elif current is not None:
            current.append(seg)
        else:
            errors.append(
                InterchangeError(33, f"segment {tag} outside UNH..UNT", seg.position, tag)
            )
    if current is not None:
        last = segments[-1].position + 1
        errors.append(
            InterchangeError(13, f"UNT of message {current[0].get(0)!r} missing", last, "UNT")
        )
        messages.append(current)
    seen: dict[str, int] = {}
    for msg in messages:
        errors.extend(_check_message(msg, seen))
    unb = segments[0]
    if unz.tag != "UNZ":
        errors.append(
            InterchangeError(13, "UNZ missing: interchange truncated", unz.position + 1, "UNZ")
        )
        return messages
    expected = groups if groups else len(messages)
    if unz.get(0) != str(expected):
        what = "groups" if groups else "messages"
        errors.append(
            InterchangeError(
                29,
                f"UNZ control count {unz.get(0)!r} but the interchange has {expected} {what}",
                unz.position,
                "UNZ",
                1,
            )
        )
    if unz.get(1) != unb.get(4):
        errors.append(
            InterchangeError(
                28,
                f"UNZ reference {unz.get(1)!r} does not match UNB {unb.get(4)!r}",
                unz.position,
                "UNZ",
                2,
            )
        )
    return messages


def _analyse(
    data: bytes,
) -> tuple[Separators, list[RawSegment], list[list[RawSegment]], list[InterchangeError]]:
    seps, segments, errors = _split(data)
    if not segments:
        if not errors:
            errors.append(InterchangeError(13, "no segments: UNB missing", 1, "UNB"))
        return seps, segments, [], _summarised(errors)
    if segments[0].tag != "UNB":
        errors.append(
            InterchangeError(
                13, f"interchange must start with UNB, not {segments[0].tag}", 1, "UNB"
            )
        )
        return seps, segments, [], _summarised(errors)
    errors.extend(_check_unb(segments[0]))
    messages = _walk(segments, errors)
    return seps, segments, messages, _summarised(errors)


def _summarised(errors: Capped[InterchangeError]) -> list[InterchangeError]:
    """The kept errors in segment order, then one summary per kind with errors left out."""
    kept = sorted(errors, key=lambda e: e.segment_position)
    for kind, count in errors.omitted.items():
        first = errors.first_omitted[kind]
        kept.append(replace(first, message=more_text(count, kind), omitted=count, rule=kind))
    return kept


def check_interchange(data: bytes) -> list[InterchangeError]:
    """The syntax and envelope errors of an interchange, in segment order; [] when it is sound.

    Checks the UNA, release characters, segment tags, truncation (no final terminator, no UNZ),
    data after UNZ, UNB fields, UNH/UNT pairing, UNT segment count and reference, duplicate
    message references, UNG/UNE and UNZ count and reference. Never raises on any input.

    At most :data:`~mappings.edifact.findings.PER_KIND` errors of each kind (rule id, see
    :func:`~mappings.edifact.findings.rule_of`) are listed; for a kind with more, a last error
    with ``omitted`` set says how many more there are ("... and 51,234 more EDI-TAG findings"),
    at the position of the first one left out. Time and memory are linear in the input.
    """
    try:
        return _analyse(data)[3]
    except Exception as exc:  # a checker must answer for any bytes
        return [InterchangeError(18, f"unreadable interchange: {exc}", 0, "")]


def read_messages_for_validation(
    data: bytes,
) -> tuple[list[InterchangeError], list[list[RawSegment]], str]:
    """The errors of :func:`check_interchange`, the UNH..UNT messages found despite them and
    the decimal mark in force."""
    try:
        seps, _, messages, errors = _analyse(data)
    except Exception as exc:  # a checker must answer for any bytes
        return [InterchangeError(18, f"unreadable interchange: {exc}", 0, "")], [], "."
    return errors, messages, seps.decimal


def message_spans(data: bytes) -> list[tuple[str, int, int]]:
    """``(reference, first position, last position)`` of each UNH..UNT message (best effort)."""
    messages = _analyse(data)[2]
    return [(m[0].get(0), m[0].position, m[-1].position) for m in messages]


def read_interchange(data: bytes) -> Interchange:
    """Read an interchange; raise ParseError naming segment position, tag and element on error.

    Every error :func:`check_interchange` reports makes the interchange unreadable (a receiver
    must not book a message from an interchange whose envelope does not add up).
    """
    seps, segments, messages, errors = _analyse(data)
    if errors:
        first = errors[0]
        count = len(errors) - 1 + sum(max(e.omitted - 1, 0) for e in errors)
        more = f" (and {count:,} more)" if count else ""
        where = f"segment {first.segment_position} {first.tag}"
        if first.element is not None:
            where += f" element {first.element}"
        raise ParseError(f"{first.message} [0085 code {first.code}]{more}", where)
    return Interchange(
        separators=seps,
        header=segments[0],
        messages=tuple(
            Message(m[0].get(0), m[0].elements[1] if len(m[0].elements) > 1 else (), tuple(m))
            for m in messages
        ),
        trailer=segments[-1],
    )


# ---------------------------------------------------------------------------------------------
# building


@dataclass(frozen=True)
class Party:
    """An interchange sender or recipient: id and its code qualifier (0007; GLN is ``14``)."""

    id: str
    qualifier: str


def _option(profile: BuyerProfile, key: str) -> str:
    value = profile.options.get(key, "").strip()
    if not value:
        raise ConfigError(
            f"buyer profile {profile.name!r}: option {key!r} missing; the EDIFACT interchange "
            "(UNB) needs sender_id and recipient_id (GLN with qualifier 14 by default)"
        )
    return value


def envelope_parties(profile: BuyerProfile) -> tuple[Party, Party]:
    """Sender and recipient from ``profile.options``; ConfigError naming a missing option."""
    sender = Party(_option(profile, "sender_id"), profile.options.get("sender_qualifier", "14"))
    recipient = Party(
        _option(profile, "recipient_id"), profile.options.get("recipient_qualifier", "14")
    )
    return sender, recipient


def check_envelope(envelope: Envelope | None) -> Envelope:
    """The envelope, or ConfigError when there is none or its control reference is unusable."""
    if envelope is None:
        raise ConfigError(
            "EDIFACT needs an envelope: interchange_ref (UNB 0020) and prepared_at (UNB S004) "
            "come from the caller"
        )
    ref = envelope.interchange_ref
    if not ref or len(ref) > 14:
        raise ConfigError(
            f"envelope.interchange_ref {ref!r}: the control reference (UNB 0020) must be 1..14 "
            "characters"
        )
    return envelope


def _with_una(profile: BuyerProfile, separators: Separators) -> bool:
    value = profile.options.get("una", "auto")
    if value not in ("auto", "always"):
        raise ConfigError(
            f"buyer profile {profile.name!r}: option 'una' = {value!r}; accepted: auto "
            "(only for non-default service characters, EANCOM practice) or always"
        )
    return value == "always" or separators != DEFAULT_SEPARATORS


def build_interchange(
    bodies: Sequence[list[Segment]],
    profile: BuyerProfile,
    envelope: Envelope,
    separators: Separators = DEFAULT_SEPARATORS,
) -> bytes:
    """Wrap message bodies (UNH..UNT each) in UNB and UNZ (UNA per option ``una``); encoded for
    the syntax level.

    UNB S004 is ``envelope.prepared_at`` (YYMMDD:HHMM for syntax 3, CCYYMMDD for 4), 0020 is
    ``envelope.interchange_ref``, 0026 the ``application_ref`` option, 0035 ``1`` for a test.
    The level is the profile's ``syntax`` option (:func:`mappings.edifact.charset.charset_of`,
    default UNOC:3), never switched by the content: the message renderer has already refused
    or transliterated what the level cannot carry (naming the field), so a character that
    still cannot be encoded here (an envelope option) is a ConfigError naming it.
    Option ``line_breaks`` (``true``) puts a line break after each segment terminator, which many
    receivers tolerate and people can read; ISO 9735 does not, so it is off by default.
    """
    envelope = check_envelope(envelope)
    sender, recipient = envelope_parties(profile)
    breaks = profile.options.get("line_breaks", "false").lower() in ("1", "true", "yes")
    serializer = FastSerializer(separators)
    body_text = serializer.serialize(
        [seg for body in bodies for seg in body], with_una_header=False, break_lines=breaks
    )
    charset = charset_of(profile.name, profile.options)
    syntax = [charset.level, charset.version]
    stamp: dt.datetime = envelope.prepared_at
    date = stamp.strftime("%Y%m%d" if syntax[1] == "4" else "%y%m%d")
    app = profile.options.get("application_ref", "")
    unb = segment(
        "UNB",
        syntax,
        [sender.id, sender.qualifier],
        [recipient.id, recipient.qualifier],
        [date, stamp.strftime("%H%M")],
        envelope.interchange_ref,
        "",
        app,
        "",
        "",
        "",
        "1" if envelope.test else "",
    )
    unz = segment("UNZ", str(len(bodies)), envelope.interchange_ref)
    text = (
        serializer.serialize(
            [unb], with_una_header=_with_una(profile, separators), break_lines=breaks
        )
        + body_text
        + serializer.serialize([unz], with_una_header=False, break_lines=breaks)
    )
    if charset.fits(text.replace("\n", "")):
        return text.encode(charset.codec)
    bad = next(ch for ch in text if ch != "\n" and not charset.carries(ch))
    raise ConfigError(
        f"buyer profile {profile.name!r}: character {bad!r} (U+{ord(bad):04X}) in the "
        f"interchange cannot be written in {charset.repertoire}; message values are checked "
        "by the message renderer, so this comes from an envelope option or a message built "
        "without it"
    )
