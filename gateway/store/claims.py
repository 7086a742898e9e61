"""Claims: workers claim due deliveries (``FOR UPDATE SKIP LOCKED`` on PostgreSQL), release
them, and take over the claims of workers that are gone.

A part of :class:`gateway.store.Store` (same engine and transactions)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence

import sqlalchemy as sa
from sqlalchemy.engine import Connection, RowMapping

from gateway.store.core import StoreCore
from gateway.store.records import (
    ClaimedDelivery,
    ClaimHolder,
)
from gateway.store.schema import (
    batches,
    deliveries,
    invoices,
)
from gateway.store.states import (
    DeliveryState,
)


class ClaimStore(StoreCore):
    """Claiming and releasing due deliveries."""

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
            self._mine(deliveries),
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
                    .where(batches.c.id.in_(batch_ids), self._mine(batches))
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
                .where(deliveries.c.id.in_(ids), self._mine(deliveries))
                .values(claimed_by=worker_id, claim_expires_at=expires)
            )
            rows = db.execute(
                sa.select(deliveries, invoices.c.number)
                .join(invoices, invoices.c.id == deliveries.c.invoice_id)
                .where(deliveries.c.id.in_(ids), self._mine(deliveries))
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
                        self._mine(deliveries),
                        deliveries.c.claimed_by.is_not(None),
                        deliveries.c.claim_expires_at <= now,
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
            .where(
                self._mine(deliveries),
                deliveries.c.claimed_by.is_not(None),
                deliveries.c.claim_expires_at > now,
            )
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
                    .where(deliveries.c.claimed_by == owner, self._mine(deliveries))
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
                .where(
                    deliveries.c.id.in_(ids),
                    deliveries.c.claimed_by == owner,
                    self._mine(deliveries),
                )
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
            deliveries.c.claimed_by == worker_id, self._mine(deliveries)
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
            .where(deliveries.c.id == row["id"], self._mine(deliveries))
            .values(claimed_by=None, claim_expires_at=None)
        )
        self._event(db, now, row["invoice_id"], row["id"], kind, level=level, detail=detail)
