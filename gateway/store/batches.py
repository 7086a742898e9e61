"""The store's consolidation batches: OPEN while held deliveries join, CLOSED with the rendered
document (``gateway.delivery.consolidation`` decides when and renders; these are the store steps).

:class:`BatchStore` is a part of :class:`gateway.store.Store` (same engine and transactions);
:class:`Batcher` joins held deliveries to open batches inside ``Store.accept_many``.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from contextlib import AbstractContextManager

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from gateway.document import Document
from gateway.store.errors import StoreError
from gateway.store.records import BatchHold, BatchMember, BatchRow
from gateway.store.rows import event_values
from gateway.store.schema import batches, deliveries, events, invoices
from gateway.store.states import DeliveryState

BATCH_OPEN, BATCH_CLOSED = "OPEN", "CLOSED"
_DOCUMENT_COLUMNS = frozenset({"syntax", "format", "media_type", "extension", "content", "sha256"})


class BatchStore:
    """The batch steps of the store; each public method is one transaction."""

    def _write(self) -> AbstractContextManager[Connection]:
        raise NotImplementedError  # Store provides it

    def _read(self) -> AbstractContextManager[Connection]:
        raise NotImplementedError  # Store provides it

    tenant: str  # Store provides it

    def _mine(self, table: sa.Table) -> sa.ColumnElement[bool]:
        raise NotImplementedError  # Store provides it

    def batches(
        self,
        *,
        state: str | None = None,
        due_at: dt.datetime | None = None,
        buyer: str | None = None,
        ids: Sequence[int] | None = None,
    ) -> list[BatchRow]:
        """Consolidation batches, oldest first: in ``state`` (``OPEN``/``CLOSED``), due at or
        before ``due_at``, of ``buyer``, with these ids — every filter given applies."""
        query = (
            sa.select(*(c for c in batches.c if c.name not in _DOCUMENT_COLUMNS))
            .where(self._mine(batches))
            .order_by(batches.c.id)
        )
        if state is not None:
            query = query.where(batches.c.state == state)
        if due_at is not None:
            query = query.where(batches.c.due_at <= due_at)
        if buyer is not None:
            query = query.where(batches.c.buyer == buyer)
        if ids is not None:
            query = query.where(batches.c.id.in_(list(ids)))
        with self._read() as db:
            return [
                BatchRow(**{k: v for k, v in r.items() if k != "tenant_id"})
                for r in db.execute(query).mappings()
            ]

    def batch_members(self, batch_id: int) -> list[BatchMember]:
        """The deliveries held in OPEN batch ``batch_id`` (QUEUED, oldest first) with their
        invoices' canonical JSON: what closing the batch renders."""
        with self._read() as db:
            return self._members(db, batch_id)

    def _members(self, db: Connection, batch_id: int, *, lock: bool = False) -> list[BatchMember]:
        query = (
            sa.select(
                deliveries.c.id,
                deliveries.c.invoice_id,
                invoices.c.number,
                invoices.c.canonical,
            )
            .join(invoices, invoices.c.id == deliveries.c.invoice_id)
            .where(
                deliveries.c.batch_id == batch_id,
                self._mine(deliveries),
                deliveries.c.state == DeliveryState.QUEUED.value,
                deliveries.c.next_attempt_at.is_(None),
            )
            .order_by(deliveries.c.id)
        )
        if lock:
            query = query.with_for_update(of=deliveries)
        return [BatchMember(r.id, r.invoice_id, r.number, r.canonical) for r in db.execute(query)]

    def close_batch(
        self,
        batch_id: int,
        member_ids: Sequence[int],
        document: Document,
        *,
        interchange_ref: str,
        message_refs: Sequence[str],
        now: dt.datetime,
    ) -> bool:
        """Close OPEN batch ``batch_id`` with ``document`` rendered for exactly ``member_ids``
        (in document order, ``message_refs`` alike), in ONE transaction: the document is
        stored on the batch, every member gets its references, becomes due at ``now`` and a
        ``batch_closed`` event.

        Compare-and-set under the batch's row lock: False (nothing changed) when the batch is
        no longer OPEN (another closer won) or its held members are not exactly ``member_ids``
        (one joined or was cancelled meanwhile: render again). A crash before the commit leaves
        the batch OPEN with every member held, to be closed again.
        """
        if len(member_ids) != len(message_refs):
            raise ValueError("one message reference per member is needed")
        with self._write() as db:
            state = db.scalar(
                sa.select(batches.c.state)
                .where(batches.c.id == batch_id, self._mine(batches))
                .with_for_update()
            )
            if state != BATCH_OPEN:
                return False
            held = [m.delivery_id for m in self._members(db, batch_id, lock=True)]
            if sorted(held) != sorted(member_ids):
                return False
            db.execute(
                batches.update()
                .where(batches.c.id == batch_id, self._mine(batches))
                .values(
                    state=BATCH_CLOSED,
                    closed_at=now,
                    interchange_ref=interchange_ref,
                    syntax=document.syntax,
                    format=document.format,
                    media_type=document.media_type,
                    extension=document.extension,
                    content=document.content,
                    sha256=document.sha256,
                )
            )
            invoice_of: dict[int, int] = {
                row.id: row.invoice_id
                for row in db.execute(
                    sa.select(deliveries.c.id, deliveries.c.invoice_id).where(
                        deliveries.c.id.in_(list(member_ids)), self._mine(deliveries)
                    )
                )
            }
            db.execute(
                deliveries.update()
                .where(deliveries.c.id == sa.bindparam("row_id"), self._mine(deliveries))
                .values(
                    next_attempt_at=sa.bindparam("due"),
                    interchange_ref=sa.bindparam("unb"),
                    message_ref=sa.bindparam("unh"),
                    updated_at=sa.bindparam("now"),
                ),
                [
                    {"row_id": d, "due": now, "unb": interchange_ref, "unh": ref, "now": now}
                    for d, ref in zip(member_ids, message_refs, strict=True)
                ],
            )
            count = len(member_ids)
            db.execute(
                events.insert(),
                [
                    event_values(
                        self.tenant,
                        now,
                        invoice_of[d],
                        d,
                        "batch_closed",
                        detail=f"batch {batch_id} closed: one {document.format} document "
                        f"(interchange {interchange_ref}, sha256 {document.sha256[:16]}) for "
                        f"{count} invoice(s), this one as message {ref} ({position} of "
                        f"{count}); due now",
                    )
                    for position, (d, ref) in enumerate(
                        zip(member_ids, message_refs, strict=True), start=1
                    )
                ],
            )
        return True

    def batch_documents(self, batch_ids: Sequence[int]) -> dict[int, Document]:
        """The documents of CLOSED batches by batch id, named after their interchange."""
        if not batch_ids:
            return {}
        with self._read() as db:
            rows = db.execute(
                sa.select(batches).where(
                    batches.c.id.in_(sorted(set(batch_ids))),
                    batches.c.content.is_not(None),
                    self._mine(batches),
                )
            ).mappings()
            return {
                r["id"]: Document(
                    r["content"],
                    r["syntax"],
                    r["format"],
                    f"interchange-{r['interchange_ref']}",
                    r["media_type"],
                    r["extension"],
                )
                for r in rows
            }

    def _follow_batch(
        self, db: Connection, source_id: int, channel: str, now: dt.datetime
    ) -> tuple[int, dict[str, str | None]]:
        """The CLOSED batch that carries batch ``source_id``'s document on ``channel``
        (created on first use); with the references its members get."""
        source = (
            db.execute(sa.select(batches).where(batches.c.id == source_id, self._mine(batches)))
            .mappings()
            .first()
        )
        if source is None:
            raise StoreError(f"batch {source_id}: no such batch in the store")
        found = db.scalar(
            sa.select(batches.c.id).where(
                batches.c.follows_id == source_id,
                batches.c.channel == channel,
                self._mine(batches),
            )
        )
        if found is None:
            copied = {k: v for k, v in source.items() if k not in ("id", "channel", "follows_id")}
            copied.update(channel=channel, follows_id=source_id, opened_at=now, size=0)
            found = db.execute(batches.insert().returning(batches.c.id).values(copied)).scalar_one()
        db.execute(batches.update().where(batches.c.id == found).values(size=batches.c.size + 1))
        return found, {"interchange_ref": source["interchange_ref"]}


class Batcher:
    """Joins held deliveries to OPEN batches inside one accept transaction.

    The batch row is locked (``FOR UPDATE``) when first used, so a concurrent close waits for
    this transaction and then sees every member it added; sizes are written by :meth:`flush`.
    """

    def __init__(self, db: Connection, now: dt.datetime, tenant: str) -> None:
        self.db = db
        self.now = now
        self.tenant = tenant
        self.current: dict[tuple[str, str, str, str, dt.datetime], list[int]] = {}
        self.added: dict[int, int] = {}

    def join(self, buyer: str, channel: str, hold: BatchHold) -> int:
        """The id of the batch the next held delivery of ``buyer`` via ``channel`` joins."""
        key = (buyer, channel, hold.consolidation, hold.envelope_key, hold.due_at)
        entry = self.current.get(key)
        if entry is None or entry[1] >= entry[2]:
            entry = self._open(buyer, channel, hold)
            self.current[key] = entry
        entry[1] += 1
        self.added[entry[0]] = self.added.get(entry[0], 0) + 1
        return entry[0]

    def _open(self, buyer: str, channel: str, hold: BatchHold) -> list[int]:
        row = self.db.execute(
            sa.select(batches.c.id, batches.c.size, batches.c.capacity)
            .where(
                batches.c.tenant_id == self.tenant,
                batches.c.buyer == buyer,
                batches.c.channel == channel,
                batches.c.state == BATCH_OPEN,
                batches.c.consolidation == hold.consolidation,
                batches.c.envelope_key == hold.envelope_key,
                batches.c.due_at == hold.due_at,
                batches.c.size < batches.c.capacity,
                batches.c.id.not_in(list(self.added) or [0]),
            )
            .order_by(batches.c.id)
            .limit(1)
            .with_for_update()
        ).first()
        if row is not None:
            return [row.id, row.size, row.capacity]
        new_id: int = self.db.execute(
            batches.insert()
            .returning(batches.c.id)
            .values(
                tenant_id=self.tenant,
                buyer=buyer,
                channel=channel,
                consolidation=hold.consolidation,
                envelope_key=hold.envelope_key,
                state=BATCH_OPEN,
                size=0,
                capacity=hold.capacity,
                opened_at=self.now,
                due_at=hold.due_at,
            )
        ).scalar_one()
        return [new_id, 0, hold.capacity]

    def flush(self) -> None:
        """Write the new sizes of every batch joined."""
        for batch_id, added in self.added.items():
            self.db.execute(
                batches.update().where(batches.c.id == batch_id).values(size=batches.c.size + added)
            )
