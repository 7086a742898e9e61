"""Row values shared by the store's modules."""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy.engine import RowMapping


def without_tenant(row: RowMapping) -> dict[str, Any]:
    """A row's columns but ``tenant_id`` (the store's record types do not repeat the scope)."""
    return {k: v for k, v in row.items() if k != "tenant_id"}


def event_values(
    tenant: str,
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
    """One ``events`` row of ``tenant`` (every key present, so rows can go into one executemany)."""
    return {
        "tenant_id": tenant,
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
