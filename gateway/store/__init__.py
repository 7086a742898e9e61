"""The store: outbox, append-only event log and control numbers (SQLite or PostgreSQL)."""

from gateway.store.errors import (
    ClaimLost,
    DuplicateInvoice,
    IllegalTransition,
    StoreError,
    UnknownDelivery,
)
from gateway.store.records import (
    AcceptResult,
    AddedDelivery,
    ClaimedDelivery,
    DeliveryRow,
    EventRow,
    NewDelivery,
    StoredDocument,
    UnmatchedAck,
)
from gateway.store.states import TRANSITIONS, DeliveryState
from gateway.store.store import Store, canonical_json

__all__ = [
    "TRANSITIONS",
    "AcceptResult",
    "AddedDelivery",
    "ClaimLost",
    "ClaimedDelivery",
    "DeliveryRow",
    "DeliveryState",
    "DuplicateInvoice",
    "EventRow",
    "IllegalTransition",
    "NewDelivery",
    "Store",
    "StoreError",
    "StoredDocument",
    "UnknownDelivery",
    "UnmatchedAck",
    "canonical_json",
]
