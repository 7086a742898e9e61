"""Inbound messages in the store: what partners sent us (AS2 payloads, polled ack files), kept
before it is processed, unique per (partner, message id) so a repeat is recognised.

The order that makes polling exactly-once: :func:`record_inbound` (a repeat returns the
existing row with ``is_new=False``), process it, :func:`finish_inbound` with the outcome, and only
then let the partner's copy go (move/delete). A crash in between leaves a ``RECEIVED`` row: the
next poll finds it unfinished (:attr:`InboundRow.finished` false) and processes it again; a
finished row is skipped.

Example::

    row, is_new = record_inbound(store, channel="as2", partner="acme", message_id=mid,
                                 media_type="application/edi-x12", content=payload, now=now)
    if is_new or not row.finished:
        finish_inbound(store, row.id, state="PARSED", detail="invoice INV-1", now=now)
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import sqlalchemy as sa
from sqlalchemy.engine import RowMapping
from sqlalchemy.exc import IntegrityError

from gateway.store.mdn_outbox import NewAsyncMdn, insert_async_mdn
from gateway.store.schema import inbound_messages
from gateway.store.store import Store

RECEIVED = "RECEIVED"
FINISHED_STATES = frozenset({"PARSED", "RECORDED", "UNREADABLE", "REJECTED"})


@dataclass(frozen=True)
class InboundRow:
    """One stored inbound message."""

    id: int
    received_at: dt.datetime
    channel: str
    partner: str
    message_id: str
    media_type: str
    filename: str | None
    content: bytes
    state: str
    syntax: str | None
    invoice_number: str | None
    canonical: str | None
    detail: str
    answer: bytes | None

    @property
    def finished(self) -> bool:
        """Whether processing completed (parsed, recorded as an ack, or judged unreadable)."""
        return self.state in FINISHED_STATES


def _row(found: RowMapping) -> InboundRow:
    return InboundRow(**{c.name: found[c.name] for c in inbound_messages.columns})


def find_inbound(store: Store, partner: str, message_id: str) -> InboundRow | None:
    """The stored message ``message_id`` from ``partner``, or None."""
    query = sa.select(inbound_messages).where(
        inbound_messages.c.partner == partner, inbound_messages.c.message_id == message_id
    )
    with store.engine.connect() as db:
        found = db.execute(query).mappings().first()
    return _row(found) if found is not None else None


def record_inbound(
    store: Store,
    *,
    channel: str,
    partner: str,
    message_id: str,
    media_type: str,
    content: bytes,
    now: dt.datetime,
    filename: str | None = None,
    detail: str = "",
) -> tuple[InboundRow, bool]:
    """Store an arrival in state RECEIVED; ``(row, True)`` when new, ``(existing, False)`` when
    ``(partner, message_id)`` was already stored (a duplicate: nothing is written)."""
    values = {
        "received_at": now,
        "channel": channel,
        "partner": partner,
        "message_id": message_id,
        "media_type": media_type,
        "filename": filename,
        "content": content,
        "state": RECEIVED,
        "detail": detail,
    }
    try:
        with store.engine.connect() as db, db.begin():
            new_id = db.execute(
                sa.insert(inbound_messages).values(**values).returning(inbound_messages.c.id)
            ).scalar_one()
            inserted = (
                db.execute(sa.select(inbound_messages).where(inbound_messages.c.id == new_id))
                .mappings()
                .one()
            )
        return _row(inserted), True
    except IntegrityError:
        existing = find_inbound(store, partner, message_id)
        if existing is None:  # pragma: no cover - the unique row vanished: rows are never deleted
            raise
        return existing, False


def finish_inbound(
    store: Store,
    inbound_id: int,
    *,
    state: str,
    detail: str,
    syntax: str | None = None,
    invoice_number: str | None = None,
    canonical: str | None = None,
    answer: bytes | None = None,
    async_mdn: NewAsyncMdn | None = None,
) -> InboundRow:
    """Record the outcome of processing (``state`` one of PARSED, RECORDED, UNREADABLE,
    REJECTED) and, where given, the parse result and our answer (MDN bytes). ``async_mdn``: the
    answer is owed at the partner's URL; it joins the async MDN outbox in the same transaction
    (:mod:`gateway.store.mdn_outbox`), so a stored answer is never left unsent."""
    if state not in FINISHED_STATES:
        raise ValueError(f"inbound state {state!r}: expected one of {sorted(FINISHED_STATES)}")
    changes: dict[str, object] = {"state": state, "detail": detail}
    for name, value in (
        ("syntax", syntax),
        ("invoice_number", invoice_number),
        ("canonical", canonical),
        ("answer", answer),
    ):
        if value is not None:
            changes[name] = value
    with store.engine.connect() as db, db.begin():
        db.execute(
            sa.update(inbound_messages).where(inbound_messages.c.id == inbound_id).values(**changes)
        )
        if async_mdn is not None:
            insert_async_mdn(db, async_mdn, inbound_id=inbound_id)
        found = (
            db.execute(sa.select(inbound_messages).where(inbound_messages.c.id == inbound_id))
            .mappings()
            .one()
        )
    return _row(found)


def list_inbound(
    store: Store, *, channel: str | None = None, limit: int = 1000
) -> list[InboundRow]:
    """Stored inbound messages, oldest first, optionally of one channel."""
    query = sa.select(inbound_messages).order_by(inbound_messages.c.id).limit(limit)
    if channel is not None:
        query = query.where(inbound_messages.c.channel == channel)
    with store.engine.connect() as db:
        return [_row(found) for found in db.execute(query).mappings()]
