"""Errors of the AS2 message layer: nothing foreign escapes it (``raise ... from exc``)."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from connectors.as2.message import MdnRequest

#: RFC 4130 7.4.3 "processed/error:" modifiers this layer raises.
DECRYPTION_FAILED = "decryption-failed"
AUTHENTICATION_FAILED = "authentication-failed"
INTEGRITY_CHECK_FAILED = "integrity-check-failed"
DECOMPRESSION_FAILED = "decompression-failed"
INSUFFICIENT_MESSAGE_SECURITY = "insufficient-message-security"
UNEXPECTED_PROCESSING_ERROR = "unexpected-processing-error"
#: Not in RFC 4130's list, but what mendelson AS2 and pyas2lib send for an AS2-From/AS2-To pair
#: they have no agreement for; partners' products recognise it.
UNKNOWN_TRADING_PARTNER = "unknown-trading-partner"


class As2Error(Exception):
    """Base of every error the AS2 message layer raises."""


class As2MessageError(As2Error):
    """An inbound AS2 message we cannot process.

    ``modifier`` is the RFC 4130 7.4.3 value for ``processed/error: <modifier>``; ``message_id``,
    ``sender_id`` and ``mdn_request`` carry what was learnt before the failure (None when
    unknown) so that an error MDN can still be built. ``verified``: the message's signature
    verified with the partner's certificate before it failed (only then may its
    Receipt-Delivery-Option be followed).
    """

    def __init__(
        self,
        modifier: str,
        text: str,
        *,
        message_id: str | None = None,
        sender_id: str | None = None,
        receiver_id: str | None = None,
        mdn_request: MdnRequest | None = None,
        verified: bool = False,
    ) -> None:
        super().__init__(f"{modifier}: {text}")
        self.modifier = modifier
        self.text = text
        self.message_id = message_id
        self.sender_id = sender_id
        self.receiver_id = receiver_id
        self.mdn_request = mdn_request
        self.verified = verified


class MdnError(As2Error):
    """An MDN we cannot read or whose signature does not verify."""


class CertificateError(As2Error):
    """Certificate or key bytes we cannot load (wrong format, wrong password)."""
