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
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import Connection, Engine, RowMapping
from sqlalchemy.exc import IntegrityError

from gateway.ack import Ack, AckLevel
from gateway.document import Document
from gateway.model import Invoice
from gateway.store.engine import READ_ONLY, make_engine
from gateway.store.errors import ClaimLost, DuplicateInvoice, StoreError, UnknownDelivery
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
from gateway.store.schema import (
    control_numbers,
    deliveries,
    documents,
    events,
    invoices,
    unmatched_acks,
)
from gateway.store.states import AWAITING_PROOF, DeliveryState, check_transition

MIGRATIONS = Path(__file__).resolve().parent / "migrations"


def canonical_json(invoice: Invoice) -> str:
    """The invoice as canonical JSON: sorted keys, no spaces, Decimals as text."""
    return json.dumps(
        invoice.model_dump(mode="json"), sort_keys=True, separators=(",", ":"), ensure_ascii=False
    )


class Store:
    """Outbox, event log and control numbers on one database (SQLite or PostgreSQL)."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    @classmethod
    def open(cls, url: str | None = None) -> Store:
        """A store on ``url``; default ``sqlite:///var/gateway.db`` below the current folder.

        PostgreSQL: ``postgresql+psycopg://user@host/db`` (add ``?options=-csearch_path%3Dname``
        for a schema of its own). Call :meth:`migrate` once before use.
        """
        return cls(make_engine(url))

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
        Appends an ``accepted`` event and one ``queued`` event per delivery. Any failure leaves
        nothing behind.
        """
        text = canonical_json(invoice)
        content_hash = hashlib.sha256(text.encode()).hexdigest()
        try:
            with self._write() as db:
                existing = self._find_invoice(db, seller_key, invoice.number)
                if existing is not None:
                    return self._resubmitted(
                        db,
                        existing,
                        seller_key=seller_key,
                        number=invoice.number,
                        content_hash=content_hash,
                        now=now,
                    )
                return self._insert(
                    db,
                    number=invoice.number,
                    text=text,
                    content_hash=content_hash,
                    source=source,
                    seller_key=seller_key,
                    documents_=documents,
                    deliveries_=deliveries,
                    now=now,
                )
        except IntegrityError:
            # a concurrent accept of the same number won the race; answer as for a re-submission
            with self._write() as db:
                existing = self._find_invoice(db, seller_key, invoice.number)
                if existing is None:
                    raise
                return self._resubmitted(
                    db,
                    existing,
                    seller_key=seller_key,
                    number=invoice.number,
                    content_hash=content_hash,
                    now=now,
                )

    @staticmethod
    def _find_invoice(db: Connection, seller_key: str, number: str) -> RowMapping | None:
        query = sa.select(invoices.c.id, invoices.c.content_hash).where(
            invoices.c.seller_key == seller_key, invoices.c.number == number
        )
        return db.execute(query).mappings().first()

    def _resubmitted(
        self,
        db: Connection,
        existing: RowMapping,
        *,
        seller_key: str,
        number: str,
        content_hash: str,
        now: dt.datetime,
    ) -> AcceptResult:
        if existing["content_hash"] != content_hash:
            raise DuplicateInvoice(seller_key, number, existing["content_hash"], content_hash)
        invoice_id: int = existing["id"]
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

    def _insert(
        self,
        db: Connection,
        *,
        number: str,
        text: str,
        content_hash: str,
        source: bytes | None,
        seller_key: str,
        documents_: Sequence[Document],
        deliveries_: Sequence[NewDelivery],
        now: dt.datetime,
    ) -> AcceptResult:
        invoice_id: int = db.execute(
            invoices.insert()
            .returning(invoices.c.id)
            .values(
                seller_key=seller_key,
                number=number,
                content_hash=content_hash,
                canonical=text,
                source=source,
                accepted_at=now,
            )
        ).scalar_one()
        self._event(
            db,
            now,
            invoice_id,
            None,
            "accepted",
            level="info",
            detail=f"invoice {number} of seller {seller_key} accepted (sha256 {content_hash})",
        )
        doc_ids: list[int] = []
        for doc in documents_:
            doc_ids.append(
                db.execute(
                    documents.insert()
                    .returning(documents.c.id)
                    .values(
                        invoice_id=invoice_id,
                        syntax=doc.syntax,
                        format=doc.format,
                        media_type=doc.media_type,
                        extension=doc.extension,
                        content=doc.content,
                        sha256=doc.sha256,
                    )
                ).scalar_one()
            )
        delivery_ids: list[int] = []
        for new in deliveries_:
            document_id = None if new.document_index is None else doc_ids[new.document_index]
            key = new.idempotency_key or (
                f"{seller_key}/{number}/{new.buyer}/{new.channel}/{new.document_index}"
            )
            delivery_ids.append(
                self._queue_delivery(
                    db,
                    now,
                    invoice_id=invoice_id,
                    document_id=document_id,
                    buyer=new.buyer,
                    channel=new.channel,
                    next_attempt_at=new.next_attempt_at,
                    key=key,
                    kind="queued",
                    detail=f"queued for {new.buyer} via {new.channel}",
                )
            )
        return AcceptResult(invoice_id, tuple(doc_ids), tuple(delivery_ids), content_hash, False)

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
                at=now,
                invoice_id=invoice_id,
                delivery_id=delivery_id,
                kind=kind,
                level=level,
                ack_level=ack_level,
                state_from=state_from,
                state_to=state_to,
                detail=detail,
                evidence=evidence,
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
        Oldest due first.
        """
        expires = now + dt.timedelta(seconds=lease_seconds)
        with self._write() as db:
            due = (
                sa.select(deliveries.c.id)
                .where(
                    deliveries.c.state == DeliveryState.QUEUED.value,
                    deliveries.c.next_attempt_at <= now,
                    sa.or_(deliveries.c.claimed_by.is_(None), deliveries.c.claim_expires_at <= now),
                )
                .order_by(deliveries.c.next_attempt_at, deliveries.c.id)
                .limit(limit)
                .with_for_update(skip_locked=True)
            )
            ids = list(db.scalars(due).all())
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
            detail=f"{reason}; queued for {new.buyer} via {new.channel}",
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
                (deliveries.c.message_id, message_id),
            )
            if value is not None
        ]
        if not conditions:
            return None
        if partner is not None:
            conditions.append(deliveries.c.buyer == partner)
        query = (
            sa.select(deliveries, invoices.c.number, invoices.c.seller_key)
            .join(invoices, invoices.c.id == deliveries.c.invoice_id)
            .where(*conditions)
            .order_by(deliveries.c.id.desc())
            .limit(1)
        )
        with self._read() as db:
            row = db.execute(query).mappings().first()
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
        """
        with self._write() as db:
            if message_id is not None:
                db.execute(
                    deliveries.update()
                    .where(deliveries.c.id == delivery_id)
                    .values(message_id=message_id)
                )
            proven = transport_proof is not None
            self._mark(
                db,
                delivery_id,
                new_state,
                now=now,
                kind="attempt",
                level=level,
                detail=detail,
                evidence=None if proven else evidence,
                next_attempt_at=None if proven else next_attempt_at,
                worker_id=worker_id,
                attempted=True,
                ack_level=None,
                ack_status=None,
                then_add=then_add,
            )
            if transport_proof is not None:
                self._mark(
                    db,
                    delivery_id,
                    DeliveryState.DELIVERED,
                    now=now,
                    kind="transport_proof",
                    level="info",
                    detail=transport_proof,
                    evidence=evidence,
                    next_attempt_at=next_attempt_at,
                    worker_id=None,
                    attempted=False,
                    ack_level=AckLevel.TRANSPORT,
                    ack_status="received",
                    then_add=None,
                )
        return self.delivery(delivery_id)

    def record_ack(
        self,
        delivery_id: int,
        ack: Ack,
        *,
        now: dt.datetime,
        new_state: DeliveryState | None = None,
        next_attempt_at: dt.datetime | None = None,
        detail: str = "",
    ) -> DeliveryRow:
        """Record an ack matched to a delivery on its own level (transport, syntax, business).

        ``new_state`` None keeps the state and its deadline (e.g. a positive CONTRL); otherwise
        the move is guarded like :meth:`mark` and ``next_attempt_at`` becomes the deadline for
        the next proof (None: no deadline). The raw ack is kept as the event's evidence.
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
    )
