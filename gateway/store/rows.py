"""Row values shared by the store's modules."""

from __future__ import annotations

import datetime as dt
from typing import Any


def event_values(
    now: dt.datetime,
    invoice_id: int,
    delivery_id: int | None,
    kind: str,
    *,
    detail: str,
    level: str = "info",
    evidence: bytes | None = None,
    ack_level: str | None = None,
    state_from: str | None = None,
    state_to: str | None = None,
    transmission: int | None = None,
    message_id: str | None = None,
) -> dict[str, Any]:
    """One ``events`` row (every key present, so rows can go into one executemany)."""
    return {
        "at": now,
        "invoice_id": invoice_id,
        "delivery_id": delivery_id,
        "kind": kind,
        "level": level,
        "ack_level": ack_level,
        "state_from": state_from,
        "state_to": state_to,
        "detail": detail,
        "evidence": evidence,
        "transmission": transmission,
        "message_id": message_id,
    }
