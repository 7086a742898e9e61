"""Accepting invoices: documents, invoices and their queued deliveries in one transaction
(``accept`` / ``accept_many``), re-submissions recognised by content hash.

A part of :class:`gateway.store.Store` (same engine and transactions)."""

from __future__ import annotations

import datetime as dt
import hashlib
from collections.abc import Sequence
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection
from sqlalchemy.exc import IntegrityError

from gateway.document import Document
from gateway.model import Invoice
from gateway.store.batches import Batcher
from gateway.store.core import StoreCore, _insert_ids, canonical_json
from gateway.store.errors import (
    DuplicateInvoice,
)
from gateway.store.records import (
    AcceptItem,
    AcceptResult,
    NewDelivery,
)
from gateway.store.rows import event_values
from gateway.store.schema import (
    deliveries,
    documents,
    events,
    invoices,
)
from gateway.store.states import (
    DeliveryState,
)


class AcceptStore(StoreCore):
    """Accepting invoices into the outbox."""

    def accept(
        self,
        invoice: Invoice,
        source: bytes | None,
        seller_key: str,
        *,
        documents: Sequence[Document],
        deliveries: Sequence[NewDelivery],
        now: dt.datetime,
    ) -> AcceptResult:
        """Store the invoice, its documents and queued deliveries in ONE transaction.

        Idempotent on ``(seller_key, invoice.number)``: the same canonical content again returns
        the stored ids with ``duplicate=True`` (and logs a ``resubmitted`` event); different
        content raises :class:`DuplicateInvoice` naming seller, number and both hashes.
        Appends an ``accepted`` event and one ``queued`` event per delivery (``batched`` for a
        delivery held in a consolidation batch, see :class:`BatchHold`). Any failure leaves
        nothing behind.
        """
        item = AcceptItem(invoice, source, seller_key, documents, deliveries)
        (result,) = self.accept_many([item], now=now)
        if isinstance(result, DuplicateInvoice):
            raise result
        return result

    def accept_many(
        self, items: Sequence[AcceptItem], *, now: dt.datetime
    ) -> list[AcceptResult | DuplicateInvoice]:
        """:meth:`accept` for many invoices in ONE transaction (bulk inserts), results in order.

        A number already stored (or given twice in ``items``) is answered as :meth:`accept`
        answers it: an AcceptResult with ``duplicate=True``, or the DuplicateInvoice (returned,
        not raised) when the content differs. When a concurrent accept of the same number wins
        the race, the whole call is retried item by item.
        """
        if not items:
            return []
        texts = [canonical_json(item.invoice) for item in items]
        try:
            with self._write() as db:
                return self._accept_many(db, items, texts, now)
        except IntegrityError:
            if len(items) == 1:
                with self._write() as db:  # the other accept committed: a plain re-submission
                    return self._accept_many(db, items, texts, now)
            results: list[AcceptResult | DuplicateInvoice] = []
            for item in items:
                results.extend(self.accept_many([item], now=now))
            return results

    def _accept_many(
        self,
        db: Connection,
        items: Sequence[AcceptItem],
        texts: Sequence[str],
        now: dt.datetime,
    ) -> list[AcceptResult | DuplicateInvoice]:
        hashes = [hashlib.sha256(text.encode()).hexdigest() for text in texts]
        existing = self._existing(db, [(i.seller_key, i.invoice.number) for i in items])
        fresh: list[int] = []  # positions to insert: the first of each number not yet stored
        first_of: dict[tuple[str, str], int] = {}
        for position, item in enumerate(items):
            key = (item.seller_key, item.invoice.number)
            if key not in existing and key not in first_of:
                first_of[key] = position
                fresh.append(position)
        results: dict[int, AcceptResult | DuplicateInvoice] = {}
        if fresh:
            inserted = self._insert_many(
                db,
                [items[p] for p in fresh],
                texts=[texts[p] for p in fresh],
                hashes=[hashes[p] for p in fresh],
                now=now,
            )
            for position, result in zip(fresh, inserted, strict=True):
                results[position] = result
                existing[(items[position].seller_key, items[position].invoice.number)] = (
                    result.invoice_id,
                    result.content_hash,
                )
        for position, item in enumerate(items):
            if position in results:
                continue
            key = (item.seller_key, item.invoice.number)
            invoice_id, stored_hash = existing[key]
            if stored_hash != hashes[position]:
                results[position] = DuplicateInvoice(
                    item.seller_key, item.invoice.number, stored_hash, hashes[position]
                )
                continue
            results[position] = self._resubmitted(
                db, invoice_id, number=item.invoice.number, content_hash=stored_hash, now=now
            )
        return [results[p] for p in range(len(items))]

    def _existing(
        self, db: Connection, keys: Sequence[tuple[str, str]]
    ) -> dict[tuple[str, str], tuple[int, str]]:
        """(seller_key, number) -> (invoice id, content hash) for the keys already stored."""
        found: dict[tuple[str, str], tuple[int, str]] = {}
        wanted = set(keys)
        numbers = sorted({number for _, number in wanted})
        for start in range(0, len(numbers), 500):
            query = sa.select(
                invoices.c.id, invoices.c.seller_key, invoices.c.number, invoices.c.content_hash
            ).where(invoices.c.number.in_(numbers[start : start + 500]), self._mine(invoices))
            for row in db.execute(query):
                if (row.seller_key, row.number) in wanted:
                    found[(row.seller_key, row.number)] = (row.id, row.content_hash)
        return found

    def existing_invoices(
        self, keys: Sequence[tuple[str, str]]
    ) -> dict[tuple[str, str], tuple[int, str]]:
        """Which ``(seller_key, number)`` pairs are stored: pair -> (invoice id, content hash).

        One read (per 500 numbers); lets a caller skip rendering (and spending control numbers
        on) invoices that are re-submissions."""
        with self._read() as db:
            return self._existing(db, keys)

    def _resubmitted(
        self,
        db: Connection,
        invoice_id: int,
        *,
        number: str,
        content_hash: str,
        now: dt.datetime,
    ) -> AcceptResult:
        doc_ids = db.scalars(
            sa.select(documents.c.id)
            .where(documents.c.invoice_id == invoice_id, self._mine(documents))
            .order_by(documents.c.id)
        ).all()
        delivery_ids = db.scalars(
            sa.select(deliveries.c.id)
            .where(deliveries.c.invoice_id == invoice_id, self._mine(deliveries))
            .order_by(deliveries.c.id)
        ).all()
        self._event(
            db,
            now,
            invoice_id,
            None,
            "resubmitted",
            level="info",
            detail=f"identical invoice {number} submitted again; nothing queued",
        )
        return AcceptResult(invoice_id, tuple(doc_ids), tuple(delivery_ids), content_hash, True)

    def _insert_many(
        self,
        db: Connection,
        items: Sequence[AcceptItem],
        *,
        texts: Sequence[str],
        hashes: Sequence[str],
        now: dt.datetime,
    ) -> list[AcceptResult]:
        """Bulk-insert new invoices with their documents, deliveries and events."""
        invoice_ids: list[int] = list(
            db.scalars(
                invoices.insert().returning(invoices.c.id, sort_by_parameter_order=True),
                [
                    {
                        "tenant_id": self.tenant,
                        "seller_key": item.seller_key,
                        "number": item.invoice.number,
                        "content_hash": content_hash,
                        "canonical": text,
                        "source": item.source,
                        "accepted_at": now,
                    }
                    for item, text, content_hash in zip(items, texts, hashes, strict=True)
                ],
            )
        )
        new_events = [
            event_values(
                self.tenant,
                now,
                invoice_id,
                None,
                "accepted",
                detail=f"invoice {item.invoice.number} of seller {item.seller_key} accepted "
                f"(sha256 {content_hash})",
            )
            for item, content_hash, invoice_id in zip(items, hashes, invoice_ids, strict=True)
        ]
        new_events.extend(
            event_values(
                self.tenant,
                now,
                invoice_id,
                None,
                extra.kind,
                detail=extra.detail,
                level=extra.level,
                evidence=extra.evidence,
            )
            for item, invoice_id in zip(items, invoice_ids, strict=True)
            for extra in item.events
        )
        doc_rows = [
            {
                "tenant_id": self.tenant,
                "invoice_id": invoice_id,
                "syntax": doc.syntax,
                "format": doc.format,
                "media_type": doc.media_type,
                "extension": doc.extension,
                "content": doc.content,
                "sha256": doc.sha256,
            }
            for item, invoice_id in zip(items, invoice_ids, strict=True)
            for doc in item.documents
        ]
        doc_ids = _insert_ids(db, documents, doc_rows)
        batcher = Batcher(db, now, self.tenant)
        delivery_rows: list[dict[str, Any]] = []
        delivery_events: list[tuple[int, str, str]] = []
        per_invoice_docs: list[tuple[int, ...]] = []
        cursor = 0
        for item, invoice_id in zip(items, invoice_ids, strict=True):
            own = tuple(doc_ids[cursor : cursor + len(item.documents)])
            cursor += len(item.documents)
            per_invoice_docs.append(own)
            for new in item.deliveries:
                index = new.document_index
                key = self._tenant_key(
                    new.idempotency_key
                    or f"{item.seller_key}/{item.invoice.number}/{new.buyer}/{new.channel}/{index}"
                )
                batch_id = None
                detail = f"queued for {new.buyer} via {new.channel}"
                kind = "queued"
                if new.hold is not None:
                    batch_id = batcher.join(new.buyer, new.channel, new.hold)
                    kind = "batched"
                    detail = (
                        f"held in batch {batch_id} ({new.hold.consolidation}) for {new.buyer} "
                        f"via {new.channel}; sent when the batch closes (at the latest "
                        f"{new.hold.due_at.isoformat(timespec='seconds')})"
                    )
                delivery_rows.append(
                    {
                        "tenant_id": self.tenant,
                        "invoice_id": invoice_id,
                        "document_id": None if index is None else own[index],
                        "buyer": new.buyer,
                        "channel": new.channel,
                        "state": DeliveryState.QUEUED.value,
                        "attempt": 0,
                        "next_attempt_at": None if new.hold is not None else new.next_attempt_at,
                        "idempotency_key": key,
                        "created_at": now,
                        "updated_at": now,
                        "interchange_ref": new.interchange_ref,
                        "message_ref": new.message_ref,
                        "message_id": new.message_id,
                        "batch_id": batch_id,
                    }
                )
                delivery_events.append((invoice_id, kind, detail))
        delivery_ids = _insert_ids(db, deliveries, delivery_rows)
        new_events.extend(
            event_values(
                self.tenant,
                now,
                invoice_id,
                delivery_id,
                kind,
                detail=detail,
                state_to=DeliveryState.QUEUED.value,
            )
            for (invoice_id, kind, detail), delivery_id in zip(
                delivery_events, delivery_ids, strict=True
            )
        )
        db.execute(events.insert(), new_events)
        batcher.flush()
        results: list[AcceptResult] = []
        cursor = 0
        for item, invoice_id, docs, content_hash in zip(
            items, invoice_ids, per_invoice_docs, hashes, strict=True
        ):
            own_deliveries = tuple(delivery_ids[cursor : cursor + len(item.deliveries)])
            cursor += len(item.deliveries)
            results.append(AcceptResult(invoice_id, docs, own_deliveries, content_hash, False))
        return results

    def _queue_delivery(
        self,
        db: Connection,
        now: dt.datetime,
        *,
        invoice_id: int,
        document_id: int | None,
        buyer: str,
        channel: str,
        next_attempt_at: dt.datetime | None,
        key: str,
        kind: str,
        detail: str,
        batch_id: int | None = None,
        interchange_ref: str | None = None,
        message_ref: str | None = None,
    ) -> int:
        """Insert a QUEUED delivery and its event inside the caller's transaction; its id."""
        delivery_id: int = db.execute(
            deliveries.insert()
            .returning(deliveries.c.id)
            .values(
                tenant_id=self.tenant,
                invoice_id=invoice_id,
                document_id=document_id,
                buyer=buyer,
                channel=channel,
                state=DeliveryState.QUEUED.value,
                attempt=0,
                next_attempt_at=next_attempt_at,
                idempotency_key=key,
                created_at=now,
                updated_at=now,
                batch_id=batch_id,
                interchange_ref=interchange_ref,
                message_ref=message_ref,
            )
        ).scalar_one()
        self._event(
            db,
            now,
            invoice_id,
            delivery_id,
            kind,
            level="info",
            detail=detail,
            state_to=DeliveryState.QUEUED.value,
        )
        return delivery_id
