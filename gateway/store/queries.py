"""Reading the store: deliveries, the timeline of an invoice, stored documents, unmatched acks.

A part of :class:`gateway.store.Store` (same engine and transactions)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence

import sqlalchemy as sa

from gateway.store.core import StoreCore, _delivery_row
from gateway.store.errors import (
    UnknownDelivery,
)
from gateway.store.records import (
    DeliveryRow,
    EventRow,
    StoredDocument,
    UnmatchedAck,
)
from gateway.store.rows import without_tenant
from gateway.store.schema import (
    deliveries,
    documents,
    events,
    invoices,
    unmatched_acks,
)
from gateway.store.states import (
    AWAITING_PROOF,
    DeliveryState,
)


class QueryStore(StoreCore):
    """Read-only views of deliveries, events and documents."""

    def find_delivery(
        self,
        *,
        document: str | None = None,
        interchange_ref: str | None = None,
        message_ref: str | None = None,
        message_id: str | None = None,
        partner: str | None = None,
    ) -> DeliveryRow | None:
        """The newest delivery matching EVERY reference given (ack correlation), or None.

        ``document`` is the invoice number (BT-1), ``partner`` the buyer profile name. With no
        reference at all (only ``partner`` or nothing) the answer is None: an ack must name
        what it answers.
        """
        conditions = [
            column == value
            for column, value in (
                (invoices.c.number, document),
                (deliveries.c.interchange_ref, interchange_ref),
                (deliveries.c.message_ref, message_ref),
            )
            if value is not None
        ]
        if not conditions and message_id is None:
            return None
        if partner is not None:
            conditions.append(deliveries.c.buyer == partner)
        query = (
            sa.select(deliveries, invoices.c.number, invoices.c.seller_key)
            .join(invoices, invoices.c.id == deliveries.c.invoice_id)
            .where(self._mine(deliveries))
            .order_by(deliveries.c.id.desc())
            .limit(1)
        )
        with self._read() as db:
            if message_id is None:
                row = db.execute(query.where(*conditions)).mappings().first()
            else:
                latest = deliveries.c.message_id == message_id
                row = db.execute(query.where(latest, *conditions)).mappings().first()
                if row is None:
                    # an earlier transmission's id (a late MDN): its attempt events name it
                    sent = sa.select(events.c.delivery_id).where(
                        events.c.message_id == message_id, self._mine(events)
                    )
                    earlier = deliveries.c.id.in_(sent)
                    row = db.execute(query.where(earlier, *conditions)).mappings().first()
        return None if row is None else _delivery_row(row)

    def list_unmatched_acks(self) -> list[UnmatchedAck]:
        """Every unmatched ack, oldest first."""
        with self._read() as db:
            rows = db.execute(
                sa.select(unmatched_acks)
                .where(self._mine(unmatched_acks))
                .order_by(unmatched_acks.c.id)
            ).mappings()
            return [UnmatchedAck(**without_tenant(r)) for r in rows]

    def delivery(self, delivery_id: int) -> DeliveryRow:
        """One delivery; :class:`UnknownDelivery` when there is none with that id."""
        found = self.deliveries(ids=[delivery_id])
        if not found:
            raise UnknownDelivery(delivery_id)
        return found[0]

    def deliveries(
        self,
        *,
        buyer: str | None = None,
        states: Sequence[DeliveryState] | None = None,
        created_before: dt.datetime | None = None,
        overdue_at: dt.datetime | None = None,
        ids: Sequence[int] | None = None,
        limit: int | None = None,
    ) -> list[DeliveryRow]:
        """Deliveries for status tables, oldest first, filtered by every argument given.

        ``created_before``: older than that time (age); ``overdue_at``: awaiting proof (SENT or
        DELIVERED) with a proof deadline at or before that time.
        """
        query = (
            sa.select(deliveries, invoices.c.number, invoices.c.seller_key)
            .join(invoices, invoices.c.id == deliveries.c.invoice_id)
            .where(self._mine(deliveries))
            .order_by(deliveries.c.created_at, deliveries.c.id)
        )
        if buyer is not None:
            query = query.where(deliveries.c.buyer == buyer)
        if states is not None:
            query = query.where(deliveries.c.state.in_([s.value for s in states]))
        if created_before is not None:
            query = query.where(deliveries.c.created_at < created_before)
        if overdue_at is not None:
            query = query.where(
                deliveries.c.state.in_([s.value for s in AWAITING_PROOF]),
                deliveries.c.next_attempt_at <= overdue_at,
            )
        if ids is not None:
            query = query.where(deliveries.c.id.in_(list(ids)))
        if limit is not None:
            query = query.limit(limit)
        with self._read() as db:
            return [_delivery_row(r) for r in db.execute(query).mappings()]

    def timeline(self, invoice_number: str, seller_key: str | None = None) -> list[EventRow]:
        """Every event of the invoice(s) with that number (of that seller, when given), in the
        order they were appended."""
        query = (
            sa.select(events, invoices.c.number, invoices.c.seller_key)
            .join(invoices, invoices.c.id == events.c.invoice_id)
            .where(invoices.c.number == invoice_number, self._mine(invoices))
            .order_by(events.c.id)
        )
        if seller_key is not None:
            query = query.where(invoices.c.seller_key == seller_key)
        with self._read() as db:
            return [
                EventRow(
                    r["id"],
                    r["at"],
                    r["invoice_id"],
                    r["number"],
                    r["seller_key"],
                    r["delivery_id"],
                    r["kind"],
                    r["level"],
                    r["ack_level"],
                    r["state_from"],
                    r["state_to"],
                    r["detail"],
                    r["evidence"],
                    r["transmission"],
                    r["message_id"],
                )
                for r in db.execute(query).mappings()
            ]

    def document(self, document_id: int) -> StoredDocument:
        """A stored document by id (KeyError when there is none)."""
        with self._read() as db:
            row = (
                db.execute(
                    sa.select(documents).where(documents.c.id == document_id, self._mine(documents))
                )
                .mappings()
                .first()
            )
        if row is None:
            raise KeyError(f"document {document_id}: no such document in the store")
        return StoredDocument(**without_tenant(row))

    def documents(self, document_ids: Sequence[int]) -> dict[int, StoredDocument]:
        """Stored documents by id, in one read (ids not found are missing from the answer)."""
        if not document_ids:
            return {}
        with self._read() as db:
            rows = db.execute(
                sa.select(documents).where(
                    documents.c.id.in_(sorted(set(document_ids))), self._mine(documents)
                )
            ).mappings()
            return {r["id"]: StoredDocument(**without_tenant(r)) for r in rows}
