"""SMTP replies as delivery errors: 5xx is permanent (:class:`~gateway.delivery.errors.Rejected`),
4xx retryable (:class:`~gateway.delivery.errors.RemoteUnavailable`); each carries its
:class:`SmtpReply` (code, text, the stage that got it), read with :func:`reply_of`.

No classes of their own: the policy table (``gateway.delivery.errors``) lists every
``DeliveryError`` class, and an SMTP refusal has exactly the policy of those two.
"""

from __future__ import annotations

from dataclasses import dataclass

from gateway.delivery.errors import (
    DeliveryError,
    PermanentDeliveryError,
    Rejected,
    RemoteUnavailable,
)

_ATTRIBUTE = "smtp_reply"


@dataclass(frozen=True)
class SmtpReply:
    """An SMTP reply: ``code`` (550), ``text`` (``5.1.1 User unknown``), ``stage`` (``DATA``,
    ``RCPT TO:<ap@x>``, ``MAIL FROM:<...>``, ``AUTH``)."""

    code: int
    text: str
    stage: str

    @property
    def permanent(self) -> bool:
        """A 5xx reply: a retry gets the same answer."""
        return 500 <= self.code < 600


def reply_error(where: str, stage: str, code: int, text: str) -> DeliveryError:
    """The delivery error for SMTP reply ``code`` ``text`` to ``stage`` (raise it ``from exc``):
    Rejected for 5xx, RemoteUnavailable for 4xx (and anything else unexpected)."""
    reply = SmtpReply(code, text, stage)
    message = f"{where}: {stage} answered {code} {text}"
    evidence = f"{stage} {code} {text}".encode()
    error: DeliveryError = (
        Rejected(message, evidence=evidence)
        if reply.permanent
        else RemoteUnavailable(message, evidence=evidence)
    )
    setattr(error, _ATTRIBUTE, reply)
    return error


def reply_of(error: BaseException) -> SmtpReply | None:
    """The SMTP reply a delivery error was raised for (``None`` for other errors)."""
    reply = getattr(error, _ATTRIBUTE, None)
    return reply if isinstance(reply, SmtpReply) else None


def too_large(message: str) -> PermanentDeliveryError:
    """The e-mail is larger than ``max_bytes`` or the server's EHLO SIZE: permanent."""
    return PermanentDeliveryError(message)
