"""Delivery Status Notifications (RFC 3464): what a bounce says, and which message it is about.

:func:`parse_dsn` reads a ``multipart/report; report-type=delivery-status`` message: the
per-message fields (Reporting-MTA, Original-Envelope-Id), one entry per recipient (Final-
Recipient, Action, Status, Diagnostic-Code, Remote-MTA) and the ``Message-ID`` of the returned
original (its ``message/rfc822`` or ``text/rfc822-headers`` part). Anything else - an
auto-reply ("out of office", RFC 3834), a person's answer, a report of another type, bytes that
are no message - is ``None``: only a DSN is a bounce. Pure: no I/O, never raises on bad input.

A DSN ``failed`` (some recipient's Action is ``failed``) ends the delivery; ``delayed`` only says
the remote is still trying; ``permanent`` is a failure with a 5.x.x status.
"""

from __future__ import annotations

import base64
import email
import quopri
import re
from dataclasses import dataclass
from email import policy
from email.message import Message

_STATUS = re.compile(r"^([245])\.(\d{1,3})\.(\d{1,3})\b")
_MSGID = re.compile(r"<([^<>\s]+)>")
_TYPED = re.compile(r"^[A-Za-z0-9-]+\s*;\s*(.*)$")


@dataclass(frozen=True)
class RecipientStatus:
    """One recipient's fields: ``action`` (failed, delayed, delivered, relayed, expanded),
    ``status`` (``5.1.1``), the addresses without their ``rfc822;`` type, the diagnostic."""

    final_recipient: str
    action: str
    status: str
    original_recipient: str | None = None
    diagnostic_code: str | None = None
    remote_mta: str | None = None

    @property
    def permanent(self) -> bool:
        """A failure no retry fixes (status class 5)."""
        return self.action == "failed" and self.status.startswith("5.")


@dataclass(frozen=True)
class Dsn:
    """One parsed DSN; ``original_message_id`` without ``<>`` (``None`` when not returned)."""

    reporting_mta: str | None
    original_message_id: str | None
    original_envelope_id: str | None
    recipients: tuple[RecipientStatus, ...]
    human_text: str = ""

    @property
    def failed(self) -> bool:
        """Whether the message failed for at least one recipient."""
        return any(r.action == "failed" for r in self.recipients)

    @property
    def permanent(self) -> bool:
        """Whether it failed permanently (5.x.x) for at least one recipient."""
        return any(r.permanent for r in self.recipients)

    @property
    def delayed_only(self) -> bool:
        """Only a warning: the remote still tries (no recipient failed)."""
        return not self.failed and any(r.action == "delayed" for r in self.recipients)

    def summary(self) -> str:
        """One line for the timeline: ``failed 5.1.1 ap@x (550 5.1.1 User unknown)``."""
        parts = []
        for r in self.recipients:
            why = f" ({r.diagnostic_code})" if r.diagnostic_code else ""
            parts.append(f"{r.action} {r.status} {r.final_recipient}{why}")
        mta = f" reported by {self.reporting_mta}" if self.reporting_mta else ""
        return "; ".join(parts) + mta


def parse_dsn(data: bytes) -> Dsn | None:
    """The DSN in ``data``, or ``None`` when it is no delivery status report."""
    try:
        message = email.message_from_bytes(data, policy=policy.compat32)
    except Exception:  # the parser is lenient; this guards against the odd crash on garbage
        return None
    if message.get_content_type() != "multipart/report":
        return None
    if str(message.get_param("report-type") or "").lower() != "delivery-status":
        return None
    payload = message.get_payload()
    if not isinstance(payload, list):
        return None
    parts = [p for p in payload if isinstance(p, Message)]
    status = next((p for p in parts if p.get_content_type() == "message/delivery-status"), None)
    if status is None:
        return None
    blocks = _blocks(status)
    if len(blocks) < 2:
        return None
    recipients = tuple(r for r in (_recipient(b) for b in blocks[1:]) if r is not None)
    if not recipients:
        return None
    first = blocks[0]
    human = next((p for p in parts if p.get_content_type() == "text/plain"), None)
    return Dsn(
        reporting_mta=_typed(first.get("Reporting-MTA")),
        original_message_id=_original_id(parts),
        original_envelope_id=_clean(first.get("Original-Envelope-Id")),
        recipients=recipients,
        human_text=_text(human) if human is not None else "",
    )


def _blocks(part: Message) -> list[Message]:
    """The field groups of a message/delivery-status part (stdlib parses each as a message).

    Some MTAs base64- or QP-encode the part; the stdlib then sees one block without headers
    whose body is the encoded text: decoded here and split into groups at blank lines.
    """
    payload = part.get_payload()
    if not isinstance(payload, list):
        return []
    blocks = [p for p in payload if isinstance(p, Message)]
    encoding = str(part.get("Content-Transfer-Encoding", "")).strip().lower()
    if encoding not in ("base64", "quoted-printable") or len(blocks) != 1 or blocks[0].keys():
        return blocks
    body = blocks[0].get_payload()
    if not isinstance(body, str):
        return []
    try:
        raw = base64.b64decode(body) if encoding == "base64" else quopri.decodestring(body)
    except ValueError:
        return []
    text = raw.decode("utf-8", "replace").replace("\r\n", "\n")
    groups = [g.strip() for g in re.split(r"\n[ \t]*\n", text) if g.strip()]
    return [email.message_from_string(g + "\n", policy=policy.compat32) for g in groups]


def _recipient(block: Message) -> RecipientStatus | None:
    final = _typed(block.get("Final-Recipient"))
    action = _clean(block.get("Action"))
    status = _clean(block.get("Status"))
    if final is None or action is None or status is None:
        return None
    match = _STATUS.match(status)
    return RecipientStatus(
        final_recipient=final,
        action=action.lower(),
        status=".".join(match.groups()) if match else status,
        original_recipient=_typed(block.get("Original-Recipient")),
        diagnostic_code=_typed(block.get("Diagnostic-Code")),
        remote_mta=_typed(block.get("Remote-MTA")),
    )


def _original_id(parts: list[Message]) -> str | None:
    """The Message-ID of the returned original (whole message or its headers only)."""
    for part in parts[1:]:
        kind = part.get_content_type()
        if kind == "message/rfc822":
            inner = part.get_payload()
            original = inner[0] if isinstance(inner, list) and inner else None
            if isinstance(original, Message):
                return _msgid(original.get("Message-ID"))
        if kind == "text/rfc822-headers":
            raw = part.get_payload(decode=True)
            if isinstance(raw, bytes):
                headers = email.message_from_bytes(raw.lstrip(b"\r\n"), policy=policy.compat32)
                return _msgid(headers.get("Message-ID"))
    return None


def _msgid(value: object) -> str | None:
    match = _MSGID.search(str(value)) if value is not None else None
    return match.group(1) if match else None


def _clean(value: object) -> str | None:
    if value is None:
        return None
    text = " ".join(str(value).split())
    return text or None


def _typed(value: object) -> str | None:
    """A typed field's value without its type: ``rfc822; ap@x`` is ``ap@x``."""
    text = _clean(value)
    if text is None:
        return None
    match = _TYPED.match(text)
    return match.group(1) if match else text


def _text(part: Message) -> str:
    raw = part.get_payload(decode=True)
    if not isinstance(raw, bytes):
        return ""
    return raw.decode(part.get_content_charset() or "utf-8", "replace").strip()
