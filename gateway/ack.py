"""Ack: an acknowledgement received for something we sent, at one of three levels.

Transport (AS2 MDN, HTTP 2xx, cXML synchronous Status), syntax (CONTRL, 997) and business
(APERAK, Peppol Invoice Response, cXML StatusUpdateRequest) are kept distinct: a delivery is
DELIVERED on transport proof, and ACCEPTED or REJECTED only on a business answer.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Protocol, runtime_checkable


class AckLevel(StrEnum):
    """Which layer the acknowledgement speaks for."""

    TRANSPORT = "transport"
    SYNTAX = "syntax"
    BUSINESS = "business"


class AckStatus(StrEnum):
    """What it says: received (and nothing more), accepted, rejected, or viewed (a person
    displayed it: an e-mail read receipt, RFC 8098; the portal later)."""

    RECEIVED = "received"
    ACCEPTED = "accepted"
    REJECTED = "rejected"
    VIEWED = "viewed"


@dataclass(frozen=True)
class AckReason:
    """One reason given in an ack: a code (e.g. EDIFACT 0085 syntax error, cXML status code),
    its text, and where it points (segment position/tag/element, field, line)."""

    code: str
    text: str = ""
    location: str = ""


@dataclass(frozen=True)
class AckReference:
    """What the ack answers: any of interchange control reference (UNB 0020), message
    reference (UNH 0062), document id (invoice number BT-1 or a message/payload id), and the
    transport message id we sent it under (AS2 Message-ID without angle brackets)."""

    interchange: str | None = None
    message: str | None = None
    document: str | None = None
    message_id: str | None = None


@dataclass(frozen=True)
class Ack:
    """An acknowledgement parsed from inbound bytes; ``raw`` keeps the evidence verbatim.

    ``final``: a rejection the remote will not retry, after the transport already proved
    receipt (an e-mail bounce, RFC 3464 DSN): the delivery FAILS and the profile's fallback
    channel takes over. ``note``: a line for people on the timeline (a DSN's summary).
    """

    kind: str  # "CONTRL", "APERAK", "cXML-Status", "cXML-StatusUpdate", "MDN", ...
    level: AckLevel
    status: AckStatus
    refers_to: AckReference
    raw: bytes
    sender: str | None = None
    recipient: str | None = None
    issued_at: dt.datetime | None = None
    reasons: tuple[AckReason, ...] = field(default=())
    final: bool = False
    note: str = ""


@runtime_checkable
class AckParser(Protocol):
    """Reads one kind of acknowledgement.

    ``parse`` returns None when ``inbound`` is not of its kind (so parsers can be tried in
    turn) and raises :class:`gateway.errors.ParseError` when it is, but is malformed.

    Example::

        class HttpStatusAck:
            def parse(self, inbound: bytes) -> Ack | None:
                if not inbound.startswith(b"HTTP/"):
                    return None
                ok = inbound.split(b" ", 2)[1].startswith(b"2")
                return Ack("HTTP", AckLevel.TRANSPORT,
                           AckStatus.RECEIVED if ok else AckStatus.REJECTED,
                           AckReference(), inbound)
    """

    def parse(self, inbound: bytes) -> Ack | None:
        """The Ack in ``inbound``, or None when it is not this parser's kind."""
        ...


class FirstAck:
    """An AckParser trying ``parsers`` in turn: the first Ack wins, None when none claims the
    bytes; a ParseError (the bytes are a parser's kind, but malformed) goes through."""

    def __init__(self, parsers: Sequence[AckParser]) -> None:
        self.parsers = tuple(parsers)

    def parse(self, inbound: bytes) -> Ack | None:
        """The Ack of the first parser that recognises ``inbound``; None when none does."""
        for parser in self.parsers:
            ack = parser.parse(inbound)
            if ack is not None:
                return ack
        return None
