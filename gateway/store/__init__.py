"""The store: outbox, append-only event log and control numbers (SQLite or PostgreSQL)."""

from gateway.store.batches import BATCH_CLOSED, BATCH_OPEN
from gateway.store.core import canonical_json
from gateway.store.errors import (
    ClaimLost,
    DuplicateInvoice,
    IllegalTransition,
    StoreError,
    UnknownDelivery,
)
from gateway.store.records import (
    AcceptItem,
    AcceptResult,
    AddedDelivery,
    Attempt,
    BatchHold,
    BatchMember,
    BatchRow,
    ClaimedDelivery,
    DeliveryRow,
    EventRow,
    InvoiceEvent,
    NewDelivery,
    StoredDocument,
    UnmatchedAck,
)
from gateway.store.states import TRANSITIONS, DeliveryState
from gateway.store.store import Store

__all__ = [
    "BATCH_CLOSED",
    "BATCH_OPEN",
    "TRANSITIONS",
    "AcceptItem",
    "AcceptResult",
    "AddedDelivery",
    "Attempt",
    "BatchHold",
    "BatchMember",
    "BatchRow",
    "ClaimLost",
    "ClaimedDelivery",
    "DeliveryRow",
    "DeliveryState",
    "DuplicateInvoice",
    "EventRow",
    "IllegalTransition",
    "InvoiceEvent",
    "NewDelivery",
    "Store",
    "StoreError",
    "StoredDocument",
    "UnknownDelivery",
    "UnmatchedAck",
    "canonical_json",
]
