"""State changes of deliveries: attempts, acks, marks, re-sends, added deliveries, control
numbers and unmatched acks — each one transaction with its event.

A part of :class:`gateway.store.Store` (same engine and transactions)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import Connection, RowMapping

from gateway.ack import Ack, AckLevel
from gateway.store.accept import AcceptStore
from gateway.store.batches import BatchStore
from gateway.store.errors import (
    ClaimLost,
    IllegalTransition,
    StoreError,
    UnknownDelivery,
)
from gateway.store.queries import QueryStore
from gateway.store.records import (
    AddedDelivery,
    Attempt,
    DeliveryRow,
)
from gateway.store.rows import event_values
from gateway.store.schema import (
    control_numbers,
    deliveries,
    events,
    invoices,
    unmatched_acks,
)
from gateway.store.states import (
    FORCED_RESEND_FROM,
    TRANSITIONS,
    DeliveryState,
    check_transition,
)
from gateway.store.webhooks import enqueue_events


class TransitionStore(AcceptStore, QueryStore, BatchStore):
    """Every change of a delivery's state, with its event."""

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
        db.execute(
            deliveries.update()
            .where(deliveries.c.id == delivery_id, self._mine(deliveries))
            .values(values)
        )
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
                .where(deliveries.c.id == delivery_id, self._mine(deliveries))
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
                    invoices.c.id == invoice_id, self._mine(invoices)
                )
            )
            .mappings()
            .first()
        )
        if invoice is None:
            raise StoreError(f"invoice {invoice_id}: no such invoice in the store")
        key = new.idempotency_key or self._tenant_key(
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
                deliveries.update()
                .where(deliveries.c.id == delivery_id, self._mine(deliveries))
                .values(values)
            )
            if done.rowcount == 0:
                raise UnknownDelivery(delivery_id)

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
                    .where(deliveries.c.id.in_(sorted(by_id)), self._mine(deliveries))
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
                    .where(deliveries.c.id == sa.bindparam("row_id"), self._mine(deliveries))
                    .values({name: sa.bindparam(name) for name in updates[0] if name != "row_id"}),
                    updates,
                )
                db.execute(events.insert(), new_events)
                enqueue_events(db, self.tenant, new_events)  # webhooks, same txn
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
                        .where(deliveries.c.id == added, self._mine(deliveries))
                        .values(message_ref=row["message_ref"])
                    )
        return lost

    def _attempt_values(
        self, row: RowMapping, attempt: Attempt, now: dt.datetime, new_events: list[dict[str, Any]]
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
                self.tenant,
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
                    self.tenant,
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
                .where(deliveries.c.id == delivery_id, self._mine(deliveries))
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
                .where(deliveries.c.id == delivery_id, self._mine(deliveries))
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
            insert.values(tenant_id=self.tenant, partner=partner, counter=counter, last_value=count)
            .on_conflict_do_update(
                index_elements=[
                    control_numbers.c.tenant_id,
                    control_numbers.c.partner,
                    control_numbers.c.counter,
                ],
                set_={"last_value": control_numbers.c.last_value + count},
            )
            .returning(control_numbers.c.last_value)
        )
        with self._write() as db:
            last: int = db.execute(statement).scalar_one()
        return list(range(last - count + 1, last + 1))

    def record_unmatched_ack(self, ack: Ack, now: dt.datetime, detail: str = "") -> int:
        """Keep an ack that matched no delivery (never dropped); returns its id."""
        with self._write() as db:
            new_id: int = db.execute(
                unmatched_acks.insert()
                .returning(unmatched_acks.c.id)
                .values(
                    tenant_id=self.tenant,
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
