"""Read receipts (RFC 8098 Message Disposition Notifications): the buyer's mail client saying the
invoice e-mail was displayed.

Only where the buyer agreed: the connector asks for one (``Disposition-Notification-To``) when
the profile sets ``read_receipt = true``; the recipient's client may still send none. No
tracking pixel, ever: mail clients and scanners fetch pixels on delivery, so a pixel "open"
proves nothing (and is unlawful tracking under ePrivacy without consent).

:func:`read_ack` reads a ``multipart/report; report-type=disposition-notification`` message into
an Ack referring to the ``Original-Message-ID``: ``displayed`` is VIEWED; ``deleted``,
``dispatched``, ``processed`` say the message reached the person's client (RECEIVED, with the
disposition on the timeline). Anything else is None. Pure: never raises on bad input.
"""

from __future__ import annotations

import email
import re
from dataclasses import dataclass
from email import policy
from email.message import Message

from gateway.ack import Ack, AckLevel, AckReference, AckStatus

READ_KIND = "read-receipt"
_MSGID = re.compile(r"<([^<>\s]+)>")
_DISPOSITION = re.compile(r"^\s*([\w-]+)/([\w-]+)\s*;\s*([\w-]+)", re.ASCII)


@dataclass(frozen=True)
class Disposition:
    """What an MDN says: ``kind`` (displayed, deleted, dispatched, processed), the action and
    sending modes, the recipient and the Message-ID (without ``<>``) it is about."""

    kind: str
    action_mode: str
    sending_mode: str
    original_message_id: str
    final_recipient: str | None = None


def parse_read_receipt(data: bytes) -> Disposition | None:
    """The disposition in ``data``, or None when it is no RFC 8098 MDN naming a Message-ID."""
    try:
        message = email.message_from_bytes(data, policy=policy.compat32)
    except Exception:
        return None
    if message.get_content_type() != "multipart/report":
        return None
    report_type = message.get_param("report-type")
    if not isinstance(report_type, str) or report_type.lower() != "disposition-notification":
        return None
    fields = _report_fields(message)
    if fields is None:
        return None
    found = _DISPOSITION.match(fields.get("disposition", ""))
    original = _MSGID.search(fields.get("original-message-id", ""))
    if found is None or original is None:
        return None
    recipient = fields.get("final-recipient", "").partition(";")[2].strip() or None
    return Disposition(
        kind=found.group(3).lower(),
        action_mode=found.group(1).lower(),
        sending_mode=found.group(2).lower(),
        original_message_id=original.group(1),
        final_recipient=recipient,
    )


def read_ack(data: bytes) -> Ack | None:
    """The Ack a read receipt is (VIEWED when displayed), or None for any other message."""
    disposition = parse_read_receipt(data)
    if disposition is None:
        return None
    who = disposition.final_recipient or "the recipient"
    note = f"{who}: {disposition.kind} ({disposition.action_mode}/{disposition.sending_mode})"
    return Ack(
        kind=READ_KIND,
        level=AckLevel.TRANSPORT,
        status=AckStatus.VIEWED if disposition.kind == "displayed" else AckStatus.RECEIVED,
        refers_to=AckReference(message_id=disposition.original_message_id),
        raw=data,
        sender=disposition.final_recipient,
        note=note,
    )


def _report_fields(message: Message) -> dict[str, str] | None:
    """The ``message/disposition-notification`` part's fields, names lower-cased."""
    for part in message.walk():
        if part.get_content_type() != "message/disposition-notification":
            continue
        payload = part.get_payload()
        if isinstance(payload, list):  # parsed as a message: its headers are the fields
            return {
                k.lower(): str(v)
                for sub in payload
                if isinstance(sub, Message)
                for k, v in sub.items()
            }
        text = part.get_payload(decode=True)
        raw = text.decode("utf-8", "replace") if isinstance(text, bytes) else str(payload)
        parsed = email.message_from_string(raw, policy=policy.compat32)
        return {k.lower(): str(v) for k, v in parsed.items()}
    return None
