"""What every part of the store shares: the engine, one transaction per call (``_write`` /
``_read``), appending an event, locking a delivery row, transmissions.

A part of :class:`gateway.store.Store` (same engine and transactions)."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection, RowMapping

from gateway.model import Invoice
from gateway.store.errors import (
    UnknownDelivery,
)
from gateway.store.records import (
    DeliveryRow,
)
from gateway.store.rows import event_values
from gateway.store.schema import (
    deliveries,
    events,
)
from gateway.store.scoped import ScopedStore
from gateway.store.states import (
    DeliveryState,
)
from gateway.store.webhooks import enqueue_events
from gateway.tenants import DEFAULT_TENANT

MIGRATIONS = Path(__file__).resolve().parent / "migrations"


def canonical_json(invoice: Invoice) -> str:
    """The invoice as canonical JSON: sorted keys, no spaces, Decimals as text.

    ``provenance`` is left out while empty, so invoices stored before it existed keep their hash.
    """
    data = invoice.model_dump(mode="json")
    if not data.get("provenance"):
        data.pop("provenance", None)
    return json.dumps(data, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


class StoreCore(ScopedStore):
    """The engine and the shared steps of the store's parts."""

    def _tenant_key(self, key: str) -> str:
        """A delivery idempotency key made unique across tenants (it becomes the AS2
        Message-ID and the connectors' file names): the default tenant's keys stay as they
        were, another tenant's start with ``<tenant>/``."""
        return key if self.tenant == DEFAULT_TENANT else f"{self.tenant}/{key}"

    def _event(
        self,
        db: Connection,
        now: dt.datetime,
        invoice_id: int,
        delivery_id: int | None,
        kind: str,
        *,
        level: str,
        detail: str,
        evidence: bytes | None = None,
        ack_level: str | None = None,
        state_from: str | None = None,
        state_to: str | None = None,
    ) -> None:
        values = event_values(
            self.tenant,
            now,
            invoice_id,
            delivery_id,
            kind,
            level=level,
            detail=detail,
            evidence=evidence,
            ack_level=ack_level,
            state_from=state_from,
            state_to=state_to,
        )
        db.execute(events.insert().values(values))
        enqueue_events(db, self.tenant, (values,))  # webhooks, same txn

    def _lock(self, db: Connection, delivery_id: int) -> RowMapping:
        row = (
            db.execute(
                sa.select(deliveries)
                .where(deliveries.c.id == delivery_id, self._mine(deliveries))
                .with_for_update()
            )
            .mappings()
            .first()
        )
        if row is None:
            raise UnknownDelivery(delivery_id)
        return row

    @staticmethod
    def _transmission_used(db: Connection, delivery_id: int, transmission: int) -> bool:
        """Whether an attempt of that transmission of the delivery was recorded (attempts
        recorded before migration 0006 name none: they were transmission 1)."""
        found = db.execute(
            sa.select(events.c.id)
            .where(
                events.c.delivery_id == delivery_id,
                events.c.kind == "attempt",
                sa.func.coalesce(events.c.transmission, 1) == transmission,
            )
            .limit(1)
        ).first()
        return found is not None

    def _end_transmission(self, db: Connection, row: RowMapping, now: dt.datetime) -> int | None:
        """Start a new transmission for the locked delivery ``row`` when its current one was
        sent (one that was not sent yet is already new); the new number, or None."""
        current: int = row["transmission"]
        if not self._transmission_used(db, row["id"], current):
            return None
        db.execute(
            deliveries.update()
            .where(deliveries.c.id == row["id"], self._mine(deliveries))
            .values(transmission=current + 1, updated_at=now)
        )
        return current + 1


def _delivery_row(r: RowMapping) -> DeliveryRow:
    return DeliveryRow(
        id=r["id"],
        invoice_id=r["invoice_id"],
        invoice_number=r["number"],
        seller_key=r["seller_key"],
        document_id=r["document_id"],
        buyer=r["buyer"],
        channel=r["channel"],
        state=DeliveryState(r["state"]),
        attempt=r["attempt"],
        next_attempt_at=r["next_attempt_at"],
        idempotency_key=r["idempotency_key"],
        claimed_by=r["claimed_by"],
        claim_expires_at=r["claim_expires_at"],
        transport_ack=r["transport_ack"],
        syntax_ack=r["syntax_ack"],
        business_ack=r["business_ack"],
        created_at=r["created_at"],
        updated_at=r["updated_at"],
        interchange_ref=r["interchange_ref"],
        message_ref=r["message_ref"],
        message_id=r["message_id"],
        batch_id=r["batch_id"],
        transmission=r["transmission"],
    )


def _insert_ids(db: Connection, table: sa.Table, rows: list[dict[str, Any]]) -> list[int]:
    """Insert ``rows`` (executemany) and return their new ids in the order of ``rows``."""
    if not rows:
        return []
    returning = table.insert().returning(table.c.id, sort_by_parameter_order=True)
    return list(db.scalars(returning, rows))
