"""The e-mail itself: headers, the text body, the attachments; its Message-ID from the key.

Built with the stdlib ``email`` package under ``policy.SMTP`` (CRLF line ends, RFC 5322 folding).
The Message-ID follows from the idempotency key alone, ``<sha256(key)[:32].igw@domain>``, so a
re-send of one transmission (after a crash between send and record) carries the same id and a
recipient or an archive can tell it is the same message.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import datetime
from email import policy
from email.headerregistry import Address
from email.message import EmailMessage
from email.utils import format_datetime


@dataclass(frozen=True)
class Attachment:
    """One attached file: its bytes, media type (``application/xml``) and file name."""

    content: bytes
    media_type: str
    filename: str


def message_id(idempotency_key: str, domain: str) -> str:
    """The Message-ID (without ``<>``) of every send under ``idempotency_key``."""
    digest = hashlib.sha256(idempotency_key.encode()).hexdigest()[:32]
    return f"{digest}.igw@{domain}"


def domain_of(address: str) -> str:
    """The domain part of ``address`` (``seller.example`` of ``billing@seller.example``)."""
    return address.rpartition("@")[2].strip(">").lower()


@dataclass(frozen=True)
class Envelope:
    """Who the message is from and to (header addresses; the SMTP envelope uses the same)."""

    sender: str
    to: tuple[str, ...]
    cc: tuple[str, ...] = ()
    reply_to: str | None = None
    #: ``Disposition-Notification-To`` (RFC 8098): where a read receipt goes, when asked for
    notify_to: str | None = None

    @property
    def recipients(self) -> list[str]:
        """Every RCPT TO address (To, then Cc), each once."""
        return list(dict.fromkeys(Address(addr_spec=a).addr_spec for a in self.to + self.cc))


def build_message(
    envelope: Envelope,
    *,
    subject: str,
    body: str,
    attachments: list[Attachment],
    msgid: str,
    date: datetime,
    sender_name: str | None = None,
) -> EmailMessage:
    """The message: From/To/Cc/Subject/Date/Message-ID, a text/plain UTF-8 body and each
    attachment base64-encoded with its own media type and file name."""
    msg = EmailMessage(policy=policy.SMTP)
    msg["From"] = Address(display_name=sender_name or "", addr_spec=envelope.sender)
    msg["To"] = ", ".join(envelope.to)
    if envelope.cc:
        msg["Cc"] = ", ".join(envelope.cc)
    if envelope.reply_to:
        msg["Reply-To"] = envelope.reply_to
    if envelope.notify_to:
        msg["Disposition-Notification-To"] = envelope.notify_to
    msg["Subject"] = subject
    msg["Date"] = format_datetime(date)
    msg["Message-ID"] = f"<{msgid}>"
    msg.set_content(body, subtype="plain", charset="utf-8")
    for item in attachments:
        maintype, _, subtype = item.media_type.partition("/")
        msg.add_attachment(
            item.content,
            maintype=maintype or "application",
            subtype=subtype or "octet-stream",
            filename=item.filename,
        )
    return msg
