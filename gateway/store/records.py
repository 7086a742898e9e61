"""Values going into and coming out of the store (frozen dataclasses)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

from gateway.store.states import DeliveryState

if TYPE_CHECKING:
    from gateway.document import Document
    from gateway.model import Invoice


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
    hold: BatchHold | None = None
    interchange_ref: str | None = None
    message_ref: str | None = None
    message_id: str | None = None


@dataclass(frozen=True)
class BatchHold:
    """Hold a new delivery in the OPEN batch of its buyer and channel (consolidation).

    The delivery joins the open batch with room left whose ``due_at`` (per-day: the same
    cut-off) and ``envelope_key`` (same sender and recipient ids in the envelope) are the same,
    else a new batch is opened with this ``capacity`` and ``due_at``. It stays
    QUEUED without a next-attempt time (not claimable) until the batch closes.
    """

    consolidation: str
    capacity: int
    due_at: dt.datetime
    envelope_key: str = ""


@dataclass(frozen=True)
class InvoiceEvent:
    """An extra invoice event written with the ``accepted`` event, in the same transaction
    (e.g. ``filled``: the terms master data supplied)."""

    kind: str
    detail: str
    level: str = "info"
    evidence: bytes | None = None


@dataclass(frozen=True)
class AcceptItem:
    """One invoice for :meth:`Store.accept_many`: the same arguments ``Store.accept`` takes;
    ``events`` are written after its ``accepted`` event when it is stored (not on a duplicate)."""

    invoice: Invoice
    source: bytes | None
    seller_key: str
    documents: Sequence[Document]
    deliveries: Sequence[NewDelivery]
    events: Sequence[InvoiceEvent] = ()


@dataclass(frozen=True)
class AddedDelivery:
    """A delivery added to an already accepted invoice (fallback channel, manual re-send).

    ``document_id`` is a stored document's id (None: a channel without a document).
    ``idempotency_key`` defaults to ``"<seller>/<number>/<buyer>/<channel>/doc<document id>"``.
    ``batch_of``: the delivery was a member of that CLOSED batch; the new one joins the batch
    that carries the same document on ``channel`` (created on first use: a fallback of a
    consolidated interchange is again ONE send for all its members).
    """

    buyer: str
    channel: str
    next_attempt_at: dt.datetime
    document_id: int | None
    idempotency_key: str | None = None
    batch_of: int | None = None


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
    batch_id: int | None = None
    transmission: int = 1
    """The transmission this send belongs to (see :class:`DeliveryRow`)."""


@dataclass(frozen=True)
class ClaimHolder:
    """A worker holding unexpired claims (``Store.claim_holders``): how many, and until when
    the last of them runs (``until``)."""

    worker_id: str
    count: int
    until: dt.datetime


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
    batch_id: int | None = None
    transmission: int = 1
    """The number of the transmission the next send uses: 1 first, one more after a
    transmission the partner refused (error MDN, HTTP refusal) or a forced re-send. Sends of
    one transmission carry one remote message id (AS2 Message-ID); retries after a transport
    failure stay in it."""


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
    transmission: int | None = None
    """For attempts: the transmission the send belonged to."""
    message_id: str | None = None
    """For attempts: the id the remote knows that transmission by (AS2 Message-ID)."""


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


@dataclass(frozen=True)
class BatchRow:
    """A consolidation batch: OPEN (members joining) or CLOSED (document rendered, sent by the
    worker once for every member)."""

    id: int
    buyer: str
    channel: str
    consolidation: str
    envelope_key: str
    state: str
    size: int
    capacity: int
    opened_at: dt.datetime
    due_at: dt.datetime
    closed_at: dt.datetime | None
    interchange_ref: str | None
    follows_id: int | None = None


@dataclass(frozen=True)
class BatchMember:
    """A delivery held in a batch, with its invoice's canonical JSON (to render the batch)."""

    delivery_id: int
    invoice_id: int
    invoice_number: str
    canonical: str


@dataclass(frozen=True)
class Attempt:
    """The outcome of one send, for :meth:`Store.record_attempts` (arguments as in
    ``Store.record_attempt``)."""

    delivery_id: int
    new_state: DeliveryState
    detail: str = ""
    evidence: bytes | None = None
    next_attempt_at: dt.datetime | None = None
    level: str = "info"
    then_add: AddedDelivery | None = None
    transport_proof: str | None = None
    message_id: str | None = None
    transmission: int | None = None
    """The transmission the send belonged to (None: the delivery's current one)."""
    ends_transmission: bool = False
    """The remote answered this transmission with a refusal it remembers (an error MDN, an
    HTTP refusal): the delivery's next send is a new transmission with a new message id."""
