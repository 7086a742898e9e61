"""Store: the outbox and append-only event log behind the delivery engine (SQLAlchemy Core).

Every method is one transaction. Times always come in as arguments (``now``); the store never
reads the clock, so tests and sweeps control time.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from contextvars import ContextVar
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import Connection, Engine, RowMapping
from sqlalchemy.exc import IntegrityError

from gateway.ack import Ack, AckLevel
from gateway.document import Document
from gateway.model import Invoice
from gateway.store.batches import Batcher, BatchStore
from gateway.store.engine import READ_ONLY, StoreUnavailable, make_engine, one_line
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
    ClaimedDelivery,
    ClaimHolder,
    DeliveryRow,
    EventRow,
    NewDelivery,
    StoredDocument,
    UnmatchedAck,
)
from gateway.store.rows import event_values
from gateway.store.schema import (
    batches,
    control_numbers,
    deliveries,
    documents,
    events,
    invoices,
    unmatched_acks,
)
from gateway.store.states import (
    AWAITING_PROOF,
    FORCED_RESEND_FROM,
    TRANSITIONS,
    DeliveryState,
    check_transition,
)

MIGRATIONS = Path(__file__).resolve().parent / "migrations"

_CREATE: ContextVar[bool] = ContextVar("igw_store_create", default=True)


@contextmanager
def store_creation(allowed: bool) -> Iterator[None]:
    """Within the block, :meth:`Store.open` without an explicit ``create=`` creates a store only
    when ``allowed``: ``igw`` runs its reading commands (``status``, ``inbound``, ...) inside
    ``store_creation(False)``, whichever module opens their store."""
    token = _CREATE.set(allowed)
    try:
        yield
    finally:
        _CREATE.reset(token)


def canonical_json(invoice: Invoice) -> str:
    """The invoice as canonical JSON: sorted keys, no spaces, Decimals as text.

    ``provenance`` is left out while empty, so invoices stored before it existed keep their hash.
    """
    data = invoice.model_dump(mode="json")
    if not data.get("provenance"):
        data.pop("provenance", None)
    return json.dumps(data, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


class Store(BatchStore):
    """Outbox, event log and control numbers on one database (SQLite or PostgreSQL); the
    consolidation batches' steps come from :class:`gateway.store.batches.BatchStore`."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    @classmethod
    def open(cls, url: str | None = None, *, create: bool | None = None) -> Store:
        """A store on ``url``; default ``sqlite:///var/gateway.db`` below the current folder.

        PostgreSQL: ``postgresql+psycopg://user@host/db`` (add ``?options=-csearch_path%3Dname``
        for a schema of its own). Call :meth:`migrate` once before use.

        ``create=False`` (read-only commands) creates nothing: the store must exist, be
        reachable and hold the gateway's tables, else :class:`StoreUnavailable` (one line,
        password masked). A URL that does not parse or names an unknown backend is
        :class:`StoreUnavailable` either way. Without ``create``: True, unless inside
        :func:`store_creation` ``(False)``.
        """
        if create is None:
            create = _CREATE.get()
        store = cls(make_engine(url, create=create))
        if not create:
            try:
                store.ping()
                if not store.has_schema():
                    raise StoreUnavailable(
                        str(url or store.engine.url),
                        "holds no gateway tables (not a store igw created; check the URL)",
                    )
            except BaseException:
                store.close()
                raise
        return store

    def ping(self) -> None:
        """Connect once; :class:`StoreUnavailable` naming the URL and the driver's reason."""
        try:
            with self.engine.connect():
                pass
        except sa.exc.SQLAlchemyError as exc:
            raise StoreUnavailable(
                self.engine.url.render_as_string(hide_password=False),
                f"cannot connect: {one_line(exc)}",
            ) from exc

    def has_schema(self) -> bool:
        """True when the database holds the gateway's tables (Alembic's version table)."""
        try:
            with self.engine.connect() as connection:
                return sa.inspect(connection).has_table("alembic_version")
        except sa.exc.SQLAlchemyError as exc:
            raise StoreUnavailable(
                self.engine.url.render_as_string(hide_password=False),
                f"cannot read: {one_line(exc)}",
            ) from exc

    def close(self) -> None:
        """Release every pooled connection."""
        self.engine.dispose()

    def migrate(self, revision: str = "head") -> None:
        """Bring the schema up to ``revision`` (Alembic ``upgrade``); safe to call every start."""
        from alembic import command
        from alembic.config import Config

        config = Config()
        config.set_main_option("script_location", str(MIGRATIONS))
        with self.engine.begin() as connection:
            config.attributes["connection"] = connection
            command.upgrade(config, revision)

    # -- transactions -------------------------------------------------------------------------

    @contextmanager
    def _write(self) -> Iterator[Connection]:
        with self.engine.connect() as connection, connection.begin():
            yield connection

    @contextmanager
    def _read(self) -> Iterator[Connection]:
        with self.engine.connect() as raw:
            connection = raw.execution_options(**{READ_ONLY: True})
            with connection.begin():
                yield connection

    # -- accept -------------------------------------------------------------------------------

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

    @staticmethod
    def _existing(
        db: Connection, keys: Sequence[tuple[str, str]]
    ) -> dict[tuple[str, str], tuple[int, str]]:
        """(seller_key, number) -> (invoice id, content hash) for the keys already stored."""
        found: dict[tuple[str, str], tuple[int, str]] = {}
        wanted = set(keys)
        numbers = sorted({number for _, number in wanted})
        for start in range(0, len(numbers), 500):
            query = sa.select(
                invoices.c.id, invoices.c.seller_key, invoices.c.number, invoices.c.content_hash
            ).where(invoices.c.number.in_(numbers[start : start + 500]))
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
            .where(documents.c.invoice_id == invoice_id)
            .order_by(documents.c.id)
        ).all()
        delivery_ids = db.scalars(
            sa.select(deliveries.c.id)
            .where(deliveries.c.invoice_id == invoice_id)
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
        batcher = Batcher(db, now)
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
                key = new.idempotency_key or (
                    f"{item.seller_key}/{item.invoice.number}/{new.buyer}/{new.channel}/{index}"
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

    @staticmethod
    def _event(
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
        db.execute(
            events.insert().values(
                event_values(
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
            )
        )

    # -- claims -------------------------------------------------------------------------------

    def claim_due(
        self, worker_id: str, now: dt.datetime, limit: int = 10, lease_seconds: float = 300.0
    ) -> list[ClaimedDelivery]:
        """Claim up to ``limit`` QUEUED deliveries due at ``now`` for ``worker_id``.

        A delivery is claimable when its next-attempt time has come and it is unclaimed or its
        claim expired. The claim lasts ``lease_seconds``. PostgreSQL: ``FOR UPDATE SKIP LOCKED``
        so workers never wait on or double-claim a row; SQLite: one writer (BEGIN IMMEDIATE).
        Oldest due first. Members of a closed consolidation batch are claimed together, all
        due members of the batch at once (they are sent as one document), under the batch's row
        lock, so two workers never split a batch; this may return more than ``limit``.
        """
        expires = now + dt.timedelta(seconds=lease_seconds)
        claimable = sa.and_(
            deliveries.c.state == DeliveryState.QUEUED.value,
            deliveries.c.next_attempt_at <= now,
            sa.or_(deliveries.c.claimed_by.is_(None), deliveries.c.claim_expires_at <= now),
        )
        with self._write() as db:
            due = (
                sa.select(deliveries.c.id, deliveries.c.batch_id)
                .where(claimable)
                .order_by(deliveries.c.next_attempt_at, deliveries.c.id)
                .limit(limit)
                .with_for_update(skip_locked=True)
            )
            found = db.execute(due).all()
            if not found:
                return []
            ids = [row.id for row in found if row.batch_id is None]
            batch_ids = sorted({row.batch_id for row in found if row.batch_id is not None})
            if batch_ids:
                locked = db.scalars(
                    sa.select(batches.c.id)
                    .where(batches.c.id.in_(batch_ids))
                    .order_by(batches.c.id)
                    .with_for_update(skip_locked=True)
                ).all()
                if locked:
                    ids += db.scalars(
                        sa.select(deliveries.c.id)
                        .where(claimable, deliveries.c.batch_id.in_(locked))
                        .order_by(deliveries.c.id)
                        .with_for_update()
                    ).all()
            if not ids:
                return []
            db.execute(
                deliveries.update()
                .where(deliveries.c.id.in_(ids))
                .values(claimed_by=worker_id, claim_expires_at=expires)
            )
            rows = db.execute(
                sa.select(deliveries, invoices.c.number)
                .join(invoices, invoices.c.id == deliveries.c.invoice_id)
                .where(deliveries.c.id.in_(ids))
                .order_by(deliveries.c.next_attempt_at, deliveries.c.id)
            ).mappings()
            return [
                ClaimedDelivery(
                    r["id"],
                    r["invoice_id"],
                    r["document_id"],
                    r["buyer"],
                    r["channel"],
                    r["attempt"],
                    r["idempotency_key"],
                    worker_id,
                    expires,
                    r["number"],
                    r["batch_id"],
                    r["transmission"],
                )
                for r in rows
            ]

    def release_expired(self, now: dt.datetime) -> int:
        """Drop every claim that expired at ``now`` (a worker died); log ``claim_expired``.

        Returns how many claims were released; those deliveries are claimable again.
        """
        with self._write() as db:
            rows = (
                db.execute(
                    sa.select(deliveries.c.id, deliveries.c.invoice_id, deliveries.c.claimed_by)
                    .where(
                        deliveries.c.claimed_by.is_not(None), deliveries.c.claim_expires_at <= now
                    )
                    .with_for_update(skip_locked=True)
                )
                .mappings()
                .all()
            )
            for row in rows:
                self._unclaim(
                    db,
                    now,
                    row,
                    kind="claim_expired",
                    level="warning",
                    detail=f"claim of worker {row['claimed_by']} expired unreleased",
                )
            return len(rows)

    def claim_holders(self, now: dt.datetime) -> list[ClaimHolder]:
        """The workers holding claims that have not expired at ``now``, most claims first."""
        until = sa.func.max(deliveries.c.claim_expires_at)
        query = (
            sa.select(deliveries.c.claimed_by, sa.func.count().label("count"), until)
            .where(deliveries.c.claimed_by.is_not(None), deliveries.c.claim_expires_at > now)
            .group_by(deliveries.c.claimed_by)
            .order_by(sa.func.count().desc(), deliveries.c.claimed_by)
        )
        with self._read() as db:
            return [ClaimHolder(row[0], int(row[1]), row[2]) for row in db.execute(query)]

    def take_over(self, owner: str, worker_id: str, *, now: dt.datetime, reason: str) -> int:
        """Release every claim ``owner`` holds because it is provably gone (``reason``), as
        ``worker_id`` found; the deliveries are claimable again at once.

        Compare-and-set: only rows still claimed by ``owner`` when the transaction runs are
        released (a row it recorded or released meanwhile, or another worker took after its
        lease expired, is left alone). Appends a ``claim_taken_over`` event per delivery;
        returns how many were released.
        """
        with self._write() as db:
            rows = (
                db.execute(
                    sa.select(deliveries.c.id, deliveries.c.invoice_id)
                    .where(deliveries.c.claimed_by == owner)
                    .with_for_update()
                )
                .mappings()
                .all()
            )
            if not rows:
                return 0
            ids = [row["id"] for row in rows]
            released = db.execute(
                deliveries.update()
                .where(deliveries.c.id.in_(ids), deliveries.c.claimed_by == owner)
                .values(claimed_by=None, claim_expires_at=None)
            ).rowcount
            detail = f"worker {worker_id} took over the claim of worker {owner}: {reason}"
            for row in rows:
                self._event(
                    db,
                    now,
                    row["invoice_id"],
                    row["id"],
                    "claim_taken_over",
                    level="warning",
                    detail=detail,
                )
            return int(released)

    # -- state changes ------------------------------------------------------------------------

    def mark(
        self,
        delivery_id: int,
        new_state: DeliveryState,
        *,
        now: dt.datetime,
        kind: str,
        level: str = "info",
        detail: str = "",
        evidence: bytes | None = None,
        next_attempt_at: dt.datetime | None = None,
        worker_id: str | None = None,
        attempted: bool = False,
        ack_level: AckLevel | None = None,
        ack_status: str | None = None,
        then_add: AddedDelivery | None = None,
    ) -> DeliveryRow:
        """Move a delivery to ``new_state`` and append the event, in one transaction.

        The move must be allowed by :data:`gateway.store.states.TRANSITIONS`
        (:class:`IllegalTransition` otherwise). ``worker_id``: the caller must hold the claim
        (:class:`ClaimLost` otherwise); any claim is released. ``attempted`` counts one send
        attempt. ``next_attempt_at`` is the retry time (QUEUED) or the proof deadline
        (SENT/DELIVERED). ``ack_level``/``ack_status`` record an ack on its own level's column.
        ``then_add``: in the same transaction, add that delivery to the invoice (a fallback
        channel after FAILED), as :meth:`add_delivery` does, with a ``fallback`` event.
        """
        with self._write() as db:
            self._mark(
                db,
                delivery_id,
                new_state,
                now=now,
                kind=kind,
                level=level,
                detail=detail,
                evidence=evidence,
                next_attempt_at=next_attempt_at,
                worker_id=worker_id,
                attempted=attempted,
                ack_level=ack_level,
                ack_status=ack_status,
                then_add=then_add,
            )
        return self.delivery(delivery_id)

    def _mark(
        self,
        db: Connection,
        delivery_id: int,
        new_state: DeliveryState,
        *,
        now: dt.datetime,
        kind: str,
        level: str,
        detail: str,
        evidence: bytes | None,
        next_attempt_at: dt.datetime | None,
        worker_id: str | None,
        attempted: bool,
        ack_level: AckLevel | None,
        ack_status: str | None,
        then_add: AddedDelivery | None,
    ) -> None:
        row = self._lock(db, delivery_id)
        if worker_id is not None and row["claimed_by"] != worker_id:
            raise ClaimLost(delivery_id, worker_id, row["claimed_by"])
        old = DeliveryState(row["state"])
        check_transition(delivery_id, old, new_state)
        values: dict[str, Any] = {
            "state": new_state.value,
            "next_attempt_at": next_attempt_at,
            "claimed_by": None,
            "claim_expires_at": None,
            "updated_at": now,
            "attempt": row["attempt"] + (1 if attempted else 0),
        }
        if ack_level is not None:
            values[f"{ack_level.value}_ack"] = ack_status
        db.execute(deliveries.update().where(deliveries.c.id == delivery_id).values(values))
        self._event(
            db,
            now,
            row["invoice_id"],
            delivery_id,
            kind,
            level=level,
            detail=detail,
            evidence=evidence,
            ack_level=None if ack_level is None else ack_level.value,
            state_from=old.value,
            state_to=new_state.value,
        )
        if then_add is not None:
            self._add_delivery(
                db,
                row["invoice_id"],
                then_add,
                now=now,
                kind="fallback",
                reason=f"delivery {delivery_id} via {row['channel']} {new_state.value}; "
                f"switching to {then_add.channel}",
            )

    def move_if_unchanged(
        self,
        delivery_id: int,
        *,
        seen_state: DeliveryState,
        seen_next_attempt_at: dt.datetime | None,
        new_state: DeliveryState | None,
        next_attempt_at: dt.datetime | None,
        now: dt.datetime,
        kind: str,
        detail: str,
        level: str = "info",
    ) -> bool:
        """Compare-and-set for sweeps: when the delivery still has the state and next-attempt
        time the caller saw, move it to ``new_state`` (None: keep the state) with
        ``next_attempt_at`` and append a ``kind`` event, in one transaction under the row lock.

        Returns False (nothing changed) when another process changed the delivery meanwhile, so
        two sweeps never both act on it. The move is guarded by the state table.
        """
        if new_state is not None:
            check_transition(delivery_id, seen_state, new_state)
        with self._write() as db:
            row = self._lock(db, delivery_id)
            if row["state"] != seen_state.value or row["next_attempt_at"] != seen_next_attempt_at:
                return False
            target = seen_state if new_state is None else new_state
            db.execute(
                deliveries.update()
                .where(deliveries.c.id == delivery_id)
                .values(state=target.value, next_attempt_at=next_attempt_at, updated_at=now)
            )
            self._event(
                db,
                now,
                row["invoice_id"],
                delivery_id,
                kind,
                level=level,
                detail=detail,
                state_from=None if new_state is None else seen_state.value,
                state_to=None if new_state is None else target.value,
            )
        return True

    def add_delivery(
        self, invoice_id: int, new: AddedDelivery, *, now: dt.datetime, reason: str
    ) -> int:
        """Queue one more delivery of an accepted invoice (fallback channel, manual re-send).

        Appends a ``queued`` event whose detail is ``reason``. Idempotent on the idempotency
        key: a key already used by this invoice returns that delivery's id and adds nothing;
        a key used by another invoice raises :class:`StoreError`.
        """
        with self._write() as db:
            return self._add_delivery(db, invoice_id, new, now=now, kind="queued", reason=reason)

    def _add_delivery(
        self,
        db: Connection,
        invoice_id: int,
        new: AddedDelivery,
        *,
        now: dt.datetime,
        kind: str,
        reason: str,
    ) -> int:
        invoice = (
            db.execute(
                sa.select(invoices.c.seller_key, invoices.c.number).where(
                    invoices.c.id == invoice_id
                )
            )
            .mappings()
            .first()
        )
        if invoice is None:
            raise StoreError(f"invoice {invoice_id}: no such invoice in the store")
        key = new.idempotency_key or (
            f"{invoice['seller_key']}/{invoice['number']}/{new.buyer}/{new.channel}"
            f"/doc{new.document_id}"
        )
        existing = (
            db.execute(
                sa.select(deliveries.c.id, deliveries.c.invoice_id).where(
                    deliveries.c.idempotency_key == key
                )
            )
            .mappings()
            .first()
        )
        if existing is not None:
            if existing["invoice_id"] != invoice_id:
                raise StoreError(
                    f"idempotency key {key!r} already belongs to delivery {existing['id']} of "
                    f"invoice {existing['invoice_id']}, not invoice {invoice_id}; "
                    "accepted: a key unique store-wide"
                )
            found: int = existing["id"]
            return found
        batch_id: int | None = None
        refs: dict[str, str | None] = {}
        if new.batch_of is not None:
            batch_id, refs = self._follow_batch(db, new.batch_of, new.channel, now)
        return self._queue_delivery(
            db,
            now,
            invoice_id=invoice_id,
            document_id=new.document_id,
            buyer=new.buyer,
            channel=new.channel,
            next_attempt_at=new.next_attempt_at,
            key=key,
            kind=kind,
            detail=f"{reason}; queued for {new.buyer} via {new.channel}"
            + ("" if batch_id is None else f" in batch {batch_id} with the same document"),
            batch_id=batch_id,
            **refs,
        )

    def release(
        self, delivery_ids: Sequence[int] | None, worker_id: str, *, now: dt.datetime
    ) -> int:
        """Give back claims ``worker_id`` still holds on these deliveries (graceful shutdown);
        ``None``: every claim it holds (a worker restarting under the same id after a crash).

        State and next-attempt time stay; the deliveries are claimable again at once. Claims
        held by someone else are left alone. Appends a ``released`` event per delivery; returns
        how many were released.
        """
        if delivery_ids is not None and not delivery_ids:
            return 0
        query = sa.select(deliveries.c.id, deliveries.c.invoice_id).where(
            deliveries.c.claimed_by == worker_id
        )
        if delivery_ids is not None:
            query = query.where(deliveries.c.id.in_(list(delivery_ids)))
        with self._write() as db:
            rows = db.execute(query.with_for_update()).mappings().all()
            for row in rows:
                self._unclaim(
                    db,
                    now,
                    row,
                    kind="released",
                    level="info",
                    detail=f"worker {worker_id} released its claim unprocessed (stop or restart)",
                )
            return len(rows)

    def _unclaim(
        self,
        db: Connection,
        now: dt.datetime,
        row: RowMapping,
        *,
        kind: str,
        level: str,
        detail: str,
    ) -> None:
        """Clear a delivery's claim and log why, inside the caller's transaction."""
        db.execute(
            deliveries.update()
            .where(deliveries.c.id == row["id"])
            .values(claimed_by=None, claim_expires_at=None)
        )
        self._event(db, now, row["invoice_id"], row["id"], kind, level=level, detail=detail)

    def set_references(
        self,
        delivery_id: int,
        *,
        interchange_ref: str | None = None,
        message_ref: str | None = None,
        message_id: str | None = None,
    ) -> None:
        """Record the control references a send used (UNB 0020, UNH 0062, AS2/cXML payload id)
        so acks can be matched (:meth:`find_delivery`). None leaves a reference unchanged."""
        values = {
            name: value
            for name, value in (
                ("interchange_ref", interchange_ref),
                ("message_ref", message_ref),
                ("message_id", message_id),
            )
            if value is not None
        }
        if not values:
            return
        with self._write() as db:
            done = db.execute(
                deliveries.update().where(deliveries.c.id == delivery_id).values(values)
            )
            if done.rowcount == 0:
                raise UnknownDelivery(delivery_id)

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
                    sent = sa.select(events.c.delivery_id).where(events.c.message_id == message_id)
                    earlier = deliveries.c.id.in_(sent)
                    row = db.execute(query.where(earlier, *conditions)).mappings().first()
        return None if row is None else _delivery_row(row)

    def record_attempt(
        self,
        delivery_id: int,
        worker_id: str,
        new_state: DeliveryState,
        *,
        now: dt.datetime,
        detail: str = "",
        evidence: bytes | None = None,
        next_attempt_at: dt.datetime | None = None,
        level: str = "info",
        then_add: AddedDelivery | None = None,
        transport_proof: str | None = None,
        message_id: str | None = None,
    ) -> DeliveryRow:
        """One send attempt by the claiming worker: SENT/DELIVERED on success, QUEUED with a
        later ``next_attempt_at`` on a transient failure, FAILED on a permanent one.

        Counts the attempt, releases the claim, appends an ``attempt`` event with the evidence.
        ``then_add``: the fallback delivery queued in the same transaction (see :meth:`mark`).
        ``transport_proof`` (with ``new_state`` SENT): the send itself proved receipt (AS2 sync
        MDN, HTTP 2xx, completed rename) — in the same transaction the delivery moves on to
        DELIVERED with a ``transport_proof`` event whose detail is this text and whose evidence
        is ``evidence``; ``next_attempt_at`` is then the deadline after DELIVERED.
        ``message_id``: the id the remote knows the send by, stored as by :meth:`set_references`.
        Raises :class:`ClaimLost` when ``worker_id`` no longer holds the claim.
        """
        attempt = Attempt(
            delivery_id,
            new_state,
            detail=detail,
            evidence=evidence,
            next_attempt_at=next_attempt_at,
            level=level,
            then_add=then_add,
            transport_proof=transport_proof,
            message_id=message_id,
        )
        lost = self.record_attempts([attempt], worker_id, now=now)
        if delivery_id in lost:
            raise lost[delivery_id]
        return self.delivery(delivery_id)

    def record_attempts(
        self, attempts: Sequence[Attempt], worker_id: str, *, now: dt.datetime
    ) -> dict[int, ClaimLost]:
        """:meth:`record_attempt` for many deliveries in ONE transaction (bulk updates/events).

        Returns the attempts whose claim ``worker_id`` no longer held, by delivery id: those
        are left untouched (the new holder records them); every other attempt is recorded.
        """
        if not attempts:
            return {}
        by_id = {a.delivery_id: a for a in attempts}
        with self._write() as db:
            rows = {
                r["id"]: r
                for r in db.execute(
                    sa.select(deliveries)
                    .where(deliveries.c.id.in_(sorted(by_id)))
                    .order_by(deliveries.c.id)
                    .with_for_update()
                ).mappings()
            }
            lost: dict[int, ClaimLost] = {}
            updates: list[dict[str, Any]] = []
            new_events: list[dict[str, Any]] = []
            fallbacks: list[tuple[RowMapping, Attempt]] = []
            for attempt in attempts:
                row = rows.get(attempt.delivery_id)
                if row is None:
                    raise UnknownDelivery(attempt.delivery_id)
                if row["claimed_by"] != worker_id:
                    lost[attempt.delivery_id] = ClaimLost(
                        attempt.delivery_id, worker_id, row["claimed_by"]
                    )
                    continue
                updates.append(self._attempt_values(row, attempt, now, new_events))
                if attempt.then_add is not None:
                    fallbacks.append((row, attempt))
            if updates:
                db.execute(
                    deliveries.update()
                    .where(deliveries.c.id == sa.bindparam("row_id"))
                    .values({name: sa.bindparam(name) for name in updates[0] if name != "row_id"}),
                    updates,
                )
                db.execute(events.insert(), new_events)
            for row, attempt in fallbacks:
                assert attempt.then_add is not None
                added = self._add_delivery(
                    db,
                    row["invoice_id"],
                    attempt.then_add,
                    now=now,
                    kind="fallback",
                    reason=f"delivery {row['id']} via {row['channel']} "
                    f"{attempt.new_state.value}; switching to {attempt.then_add.channel}",
                )
                if attempt.then_add.batch_of is not None and row["message_ref"] is not None:
                    db.execute(
                        deliveries.update()
                        .where(deliveries.c.id == added)
                        .values(message_ref=row["message_ref"])
                    )
        return lost

    @staticmethod
    def _attempt_values(
        row: RowMapping, attempt: Attempt, now: dt.datetime, new_events: list[dict[str, Any]]
    ) -> dict[str, Any]:
        """The row update for one attempt; its events appended to ``new_events``."""
        delivery_id = row["id"]
        old = DeliveryState(row["state"])
        check_transition(delivery_id, old, attempt.new_state)
        proven = attempt.transport_proof is not None
        final = attempt.new_state
        current: int = row["transmission"]
        used = current if attempt.transmission is None else attempt.transmission
        new_events.append(
            event_values(
                now,
                row["invoice_id"],
                delivery_id,
                "attempt",
                level=attempt.level,
                detail=attempt.detail,
                evidence=None if proven else attempt.evidence,
                state_from=old.value,
                state_to=attempt.new_state.value,
                transmission=used,
                message_id=attempt.message_id,
            )
        )
        if attempt.transport_proof is not None:
            check_transition(delivery_id, attempt.new_state, DeliveryState.DELIVERED)
            final = DeliveryState.DELIVERED
            new_events.append(
                event_values(
                    now,
                    row["invoice_id"],
                    delivery_id,
                    "transport_proof",
                    detail=attempt.transport_proof,
                    evidence=attempt.evidence,
                    ack_level=AckLevel.TRANSPORT.value,
                    state_from=attempt.new_state.value,
                    state_to=DeliveryState.DELIVERED.value,
                )
            )
        return {
            "row_id": delivery_id,
            "state": final.value,
            "next_attempt_at": attempt.next_attempt_at,
            "claimed_by": None,
            "claim_expires_at": None,
            "updated_at": now,
            "attempt": row["attempt"] + 1,
            "transport_ack": "received" if proven else row["transport_ack"],
            "message_id": attempt.message_id or row["message_id"],
            # a refusal of the transmission in use ends it: the next send is a new one
            "transmission": current + 1
            if attempt.ends_transmission and used == current
            else current,
        }

    def record_ack(
        self,
        delivery_id: int,
        ack: Ack,
        *,
        now: dt.datetime,
        new_state: DeliveryState | None = None,
        next_attempt_at: dt.datetime | None = None,
        detail: str = "",
        ends_transmission: bool = False,
    ) -> DeliveryRow:
        """Record an ack matched to a delivery on its own level (transport, syntax, business).

        ``new_state`` None keeps the state and its deadline (e.g. a positive CONTRL); otherwise
        the move is guarded like :meth:`mark` and ``next_attempt_at`` becomes the deadline for
        the next proof (None: no deadline). The raw ack is kept as the event's evidence.

        ``ends_transmission`` (a refusal the remote remembers, e.g. an asynchronous error MDN;
        only with ``new_state`` None): when the ack answers the delivery's current transmission
        (``ack.refers_to.message_id`` is the delivery's message id, or the ack names none) and
        that transmission was sent, the next send is a new transmission, in the same
        transaction; the event says so.
        """
        text = detail or f"{ack.kind} {ack.level.value} ack: {ack.status.value}"
        if new_state is not None:
            return self.mark(
                delivery_id,
                new_state,
                now=now,
                kind="ack",
                detail=text,
                evidence=ack.raw,
                ack_level=ack.level,
                ack_status=ack.status.value,
                next_attempt_at=next_attempt_at,
            )
        with self._write() as db:
            row = self._lock(db, delivery_id)
            refers = (ack.refers_to.message_id or "").strip("<>")
            if ends_transmission and refers in ("", row["message_id"]):
                ended = self._end_transmission(db, row, now)
                if ended is not None:
                    text += (
                        f"; transmission {ended - 1} refused: a re-send is transmission "
                        f"{ended} with a new message id"
                    )
            db.execute(
                deliveries.update()
                .where(deliveries.c.id == delivery_id)
                .values({f"{ack.level.value}_ack": ack.status.value, "updated_at": now})
            )
            self._event(
                db,
                now,
                row["invoice_id"],
                delivery_id,
                "ack",
                level="info",
                detail=text,
                evidence=ack.raw,
                ack_level=ack.level.value,
            )
        return self.delivery(delivery_id)

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
            .where(deliveries.c.id == row["id"])
            .values(transmission=current + 1, updated_at=now)
        )
        return current + 1

    def resend(
        self, delivery_id: int, *, now: dt.datetime, force: bool = False, reason: str = ""
    ) -> tuple[DeliveryRow, bool]:
        """Queue a delivery again, due at ``now`` (``igw resend``); (new row, new transmission?).

        Without ``force`` the move must be allowed by the state table (FAILED, CANCELLED, SENT,
        QUEUED -> QUEUED) and the transmission stays what it is: a new one after a refusal the
        remote remembers (already counted when the refusal was recorded), else the same, so a
        re-send after transport failures carries the same message id and a remote that holds
        the document answers it as a duplicate. ``force`` re-sends from any state before a
        business answer (:data:`~gateway.store.states.FORCED_RESEND_FROM`, also DELIVERED) as a
        new transmission with a new message id (unless the current one was never sent).
        Appends a ``resend`` event; :class:`IllegalTransition` when the state forbids it.
        """
        with self._write() as db:
            row = self._lock(db, delivery_id)
            old = DeliveryState(row["state"])
            if force:
                if old not in FORCED_RESEND_FROM:
                    raise IllegalTransition(
                        delivery_id,
                        old.value,
                        DeliveryState.QUEUED.value,
                        sorted(s.value for s in TRANSITIONS[old]),
                    )
            else:
                check_transition(delivery_id, old, DeliveryState.QUEUED)
            transmission: int = row["transmission"]
            fresh = not self._transmission_used(db, delivery_id, transmission)
            if force and not fresh:
                transmission += 1
                fresh = True
            db.execute(
                deliveries.update()
                .where(deliveries.c.id == delivery_id)
                .values(
                    state=DeliveryState.QUEUED.value,
                    next_attempt_at=now,
                    claimed_by=None,
                    claim_expires_at=None,
                    updated_at=now,
                    transmission=transmission,
                )
            )
            how = (
                f"transmission {transmission}, a new message id"
                if fresh and transmission > 1
                else f"transmission {transmission}"
                if fresh
                else f"same transmission {transmission} and message id"
            )
            self._event(
                db,
                now,
                row["invoice_id"],
                delivery_id,
                "resend",
                level="info",
                detail=f"{reason or 're-queued'} from {old.value}"
                f"{' (forced)' if force else ''}; idempotency key {row['idempotency_key']}, "
                f"{how}",
                state_from=old.value,
                state_to=DeliveryState.QUEUED.value,
            )
        return self.delivery(delivery_id), fresh and transmission > 1

    @staticmethod
    def _lock(db: Connection, delivery_id: int) -> RowMapping:
        row = (
            db.execute(
                sa.select(deliveries).where(deliveries.c.id == delivery_id).with_for_update()
            )
            .mappings()
            .first()
        )
        if row is None:
            raise UnknownDelivery(delivery_id)
        return row

    # -- control numbers ----------------------------------------------------------------------

    def allocate(self, partner: str, counter: str, count: int = 1) -> list[int]:
        """The next ``count`` numbers of ``partner``'s ``counter`` (e.g. ``unb``, ``unh``,
        ``as2-message``), starting at 1; consecutive within one call, never handed out twice,
        also across processes (one atomic upsert ... RETURNING per call)."""
        if count < 1:
            raise ValueError(f"count must be at least 1, got {count}")
        insert = (postgresql.insert if self.engine.dialect.name == "postgresql" else sqlite.insert)(
            control_numbers
        )
        statement = (
            insert.values(partner=partner, counter=counter, last_value=count)
            .on_conflict_do_update(
                index_elements=[control_numbers.c.partner, control_numbers.c.counter],
                set_={"last_value": control_numbers.c.last_value + count},
            )
            .returning(control_numbers.c.last_value)
        )
        with self._write() as db:
            last: int = db.execute(statement).scalar_one()
        return list(range(last - count + 1, last + 1))

    # -- unmatched acks -----------------------------------------------------------------------

    def record_unmatched_ack(self, ack: Ack, now: dt.datetime, detail: str = "") -> int:
        """Keep an ack that matched no delivery (never dropped); returns its id."""
        with self._write() as db:
            new_id: int = db.execute(
                unmatched_acks.insert()
                .returning(unmatched_acks.c.id)
                .values(
                    received_at=now,
                    kind=ack.kind,
                    ack_level=ack.level.value,
                    status=ack.status.value,
                    sender=ack.sender,
                    recipient=ack.recipient,
                    interchange_ref=ack.refers_to.interchange,
                    message_ref=ack.refers_to.message,
                    document_ref=ack.refers_to.document,
                    detail=detail,
                    raw=ack.raw,
                )
            ).scalar_one()
        return new_id

    def list_unmatched_acks(self) -> list[UnmatchedAck]:
        """Every unmatched ack, oldest first."""
        with self._read() as db:
            rows = db.execute(sa.select(unmatched_acks).order_by(unmatched_acks.c.id)).mappings()
            return [UnmatchedAck(**dict(r)) for r in rows]

    # -- queries ------------------------------------------------------------------------------

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
            .where(invoices.c.number == invoice_number)
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
                db.execute(sa.select(documents).where(documents.c.id == document_id))
                .mappings()
                .first()
            )
        if row is None:
            raise KeyError(f"document {document_id}: no such document in the store")
        return StoredDocument(**dict(row))

    # -- documents -------------------------------------------------------------------------------

    def documents(self, document_ids: Sequence[int]) -> dict[int, StoredDocument]:
        """Stored documents by id, in one read (ids not found are missing from the answer)."""
        if not document_ids:
            return {}
        with self._read() as db:
            rows = db.execute(
                sa.select(documents).where(documents.c.id.in_(sorted(set(document_ids))))
            ).mappings()
            return {r["id"]: StoredDocument(**dict(r)) for r in rows}


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
