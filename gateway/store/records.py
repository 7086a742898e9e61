"""Values going into and coming out of the store (frozen dataclasses)."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from gateway.store.states import DeliveryState


@dataclass(frozen=True)
class NewDelivery:
    """One delivery to queue with an accepted invoice.

    ``document_index`` points into the ``documents`` passed to ``Store.accept`` (None: a
    channel that needs no document, e.g. a pay-link e-mail). ``idempotency_key`` defaults to
    ``"<seller>/<number>/<buyer>/<channel>/<document index>"``; it is unique store-wide.
    """

    buyer: str
    channel: str
    next_attempt_at: dt.datetime
    document_index: int | None = 0
    idempotency_key: str | None = None


@dataclass(frozen=True)
class AddedDelivery:
    """A delivery added to an already accepted invoice (fallback channel, manual re-send).

    ``document_id`` is a stored document's id (None: a channel without a document).
    ``idempotency_key`` defaults to ``"<seller>/<number>/<buyer>/<channel>/doc<document id>"``.
    """

    buyer: str
    channel: str
    next_attempt_at: dt.datetime
    document_id: int | None
    idempotency_key: str | None = None


@dataclass(frozen=True)
class AcceptResult:
    """Ids of what ``Store.accept`` stored (or found, when ``duplicate`` is True)."""

    invoice_id: int
    document_ids: tuple[int, ...]
    delivery_ids: tuple[int, ...]
    content_hash: str
    duplicate: bool


@dataclass(frozen=True)
class ClaimedDelivery:
    """A delivery a worker holds until ``claim_expires_at``."""

    id: int
    invoice_id: int
    document_id: int | None
    buyer: str
    channel: str
    attempt: int
    idempotency_key: str
    claimed_by: str
    claim_expires_at: dt.datetime
    invoice_number: str = ""


@dataclass(frozen=True)
class DeliveryRow:
    """One row of the status table (``Store.deliveries``)."""

    id: int
    invoice_id: int
    invoice_number: str
    seller_key: str
    document_id: int | None
    buyer: str
    channel: str
    state: DeliveryState
    attempt: int
    next_attempt_at: dt.datetime | None
    idempotency_key: str
    claimed_by: str | None
    claim_expires_at: dt.datetime | None
    transport_ack: str | None
    syntax_ack: str | None
    business_ack: str | None
    created_at: dt.datetime
    updated_at: dt.datetime
    interchange_ref: str | None = None
    message_ref: str | None = None
    message_id: str | None = None


@dataclass(frozen=True)
class EventRow:
    """One entry of the append-only event log (an invoice's timeline)."""

    id: int
    at: dt.datetime
    invoice_id: int
    invoice_number: str
    seller_key: str
    delivery_id: int | None
    kind: str
    level: str
    ack_level: str | None
    state_from: str | None
    state_to: str | None
    detail: str
    evidence: bytes | None


@dataclass(frozen=True)
class StoredDocument:
    """A rendered document as stored: bytes, syntax, format and hash."""

    id: int
    invoice_id: int
    syntax: str
    format: str
    media_type: str
    extension: str
    content: bytes
    sha256: str


@dataclass(frozen=True)
class UnmatchedAck:
    """An inbound ack that matched no delivery; kept verbatim for a person to look at."""

    id: int
    received_at: dt.datetime
    kind: str
    ack_level: str
    status: str
    sender: str | None
    recipient: str | None
    interchange_ref: str | None
    message_ref: str | None
    document_ref: str | None
    detail: str
    raw: bytes
