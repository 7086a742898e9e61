"""SMTP replies as delivery errors: 5xx is permanent (:class:`SmtpRefused`), 4xx retryable
(:class:`SmtpDeferred`); both carry the reply ``code`` and ``text`` and the SMTP ``stage``
(``MAIL``, ``RCPT``, ``DATA``, ``AUTH``) that got it."""

from __future__ import annotations

from gateway.delivery.errors import (
    DeliveryError,
    PermanentDeliveryError,
    Rejected,
    RemoteUnavailable,
)


class SmtpRefused(Rejected):
    """The server answered 5xx: a retry gets the same answer (FAILED, then the fallback)."""

    def __init__(
        self, message: str, *, code: int, text: str, stage: str, evidence: bytes = b""
    ) -> None:
        self.code, self.text, self.stage = code, text, stage
        super().__init__(message, evidence=evidence)


class SmtpDeferred(RemoteUnavailable):
    """The server answered 4xx (greylisting, mailbox busy, queue full): retried with backoff."""

    def __init__(
        self, message: str, *, code: int, text: str, stage: str, evidence: bytes = b""
    ) -> None:
        self.code, self.text, self.stage = code, text, stage
        super().__init__(message, evidence=evidence)


def reply_error(where: str, stage: str, code: int, text: str) -> DeliveryError:
    """The delivery error for SMTP reply ``code`` ``text`` to ``stage`` (raise it ``from exc``)."""
    message = f"{where}: {stage} answered {code} {text}"
    evidence = f"{stage} {code} {text}".encode()
    if 500 <= code < 600:
        return SmtpRefused(message, code=code, text=text, stage=stage, evidence=evidence)
    return SmtpDeferred(message, code=code, text=text, stage=stage, evidence=evidence)


class MessageTooLarge(PermanentDeliveryError):
    """The e-mail is larger than the channel's ``max_bytes`` or the server's EHLO SIZE."""
