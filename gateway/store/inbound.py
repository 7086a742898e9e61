"""Inbound messages in the store: what partners sent us (AS2 payloads, polled ack files), kept
before it is processed, unique per (partner, message id) so a repeat is recognised.

The order that makes polling exactly-once: :func:`record_inbound` (a repeat returns the
existing row with ``is_new=False``), process it, :func:`finish_inbound` with the outcome, and only
then let the partner's copy go (move/delete). A crash in between leaves a ``RECEIVED`` row: the
next poll finds it unfinished (:attr:`InboundRow.finished` false) and processes it again; a
finished row is skipped.

Refused requests (a message we could not open: unknown partner, decryption-failed,
authentication-failed, insufficient security, not AS2 at all) are kept apart, in
``inbound_refusals`` (:func:`record_refusal`), with the raw request cut at a cap, the reason and
what we answered, so a refusal never holds the (partner, message id) slot that the partner's
corrected re-send needs.

Example::

    row, is_new = record_inbound(store, channel="as2", partner="acme", message_id=mid,
                                 media_type="application/edi-x12", content=payload, now=now)
    if is_new or not row.finished:
        finish_inbound(store, row.id, state="PARSED", detail="invoice INV-1", now=now)
"""

from __future__ import annotations

import datetime as dt
import functools
from dataclasses import dataclass

import sqlalchemy as sa
from sqlalchemy.engine import RowMapping
from sqlalchemy.exc import IntegrityError

from gateway.store.mdn_outbox import NewAsyncMdn, insert_async_mdn
from gateway.store.schema import inbound_messages, inbound_refusals
from gateway.store.store import Store
from gateway.store.webhooks import enqueue_inbound

RECEIVED = "RECEIVED"
REFUSED = "REFUSED"
"""The state :func:`list_inbound_all` gives a refusal (it is never a state of inbound_messages)."""
FINISHED_STATES = frozenset({"PARSED", "RECORDED", "UNREADABLE", "REJECTED"})
STATES = (RECEIVED, *sorted(FINISHED_STATES), REFUSED)

# Statements built once: their parameters are bound at execution, so SQLAlchemy compiles each
# once per process (building ``.values(**literal)`` per call cost more than the SQLite work).
_COLUMNS = tuple(c for c in inbound_messages.columns if c.name != "tenant_id")
_INSERT = sa.insert(inbound_messages).returning(*_COLUMNS)
_BY_ID: sa.BindParameter[int] = sa.bindparam("inbound_id", type_=sa.Integer)
_TENANT: sa.BindParameter[str] = sa.bindparam("tenant", type_=sa.String)


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
    return InboundRow(**{c.name: found[c.name] for c in _COLUMNS})


def find_inbound(store: Store, partner: str, message_id: str) -> InboundRow | None:
    """The stored message ``message_id`` from ``partner``, or None."""
    query = sa.select(inbound_messages).where(
        inbound_messages.c.tenant_id == store.tenant,
        inbound_messages.c.partner == partner,
        inbound_messages.c.message_id == message_id,
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
        "tenant_id": store.tenant,
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
            inserted = db.execute(_INSERT, values).mappings().one()
            enqueue_inbound(db, store.tenant, {**values, **inserted})  # webhooks
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
        found = db.execute(
            _update(tuple(changes)), {**changes, "inbound_id": inbound_id, "tenant": store.tenant}
        )
        row = found.mappings().one()
        if async_mdn is not None:
            insert_async_mdn(db, async_mdn, tenant=store.tenant, inbound_id=inbound_id)
    return _row(row)


@functools.cache
def _update(names: tuple[str, ...]) -> sa.Update:
    """UPDATE of ``names`` (bound by name) on the row ``:inbound_id``, returning the row."""
    return (
        sa.update(inbound_messages)
        .where(inbound_messages.c.id == _BY_ID, inbound_messages.c.tenant_id == _TENANT)
        .values({name: sa.bindparam(name) for name in names})
        .returning(*_COLUMNS)
    )


def get_inbound(store: Store, inbound_id: int) -> InboundRow | None:
    """The stored inbound message ``inbound_id``, or None."""
    query = sa.select(inbound_messages).where(
        inbound_messages.c.id == inbound_id, inbound_messages.c.tenant_id == store.tenant
    )
    with store.engine.connect() as db:
        found = db.execute(query).mappings().first()
    return _row(found) if found is not None else None


def list_inbound(
    store: Store,
    *,
    channel: str | None = None,
    partner: str | None = None,
    state: str | None = None,
    limit: int = 1000,
    newest: bool = False,
) -> list[InboundRow]:
    """Stored inbound messages, oldest first (``newest``: the last ``limit``, still oldest
    first), optionally of one channel, partner (name) or state."""
    table = inbound_messages
    query = (
        sa.select(table)
        .where(table.c.tenant_id == store.tenant)
        .order_by(table.c.id.desc() if newest else table.c.id)
        .limit(limit)
    )
    if channel is not None:
        query = query.where(table.c.channel == channel)
    if partner is not None:
        query = query.where(table.c.partner == partner)
    if state is not None:
        query = query.where(table.c.state == state)
    with store.engine.connect() as db:
        rows = [_row(found) for found in db.execute(query).mappings()]
    return rows[::-1] if newest else rows


# -- refusals ------------------------------------------------------------------------------------

REQUEST_CAP = 64 * 1024
"""Default number of bytes of a refused request that are kept (headers first, then the body).

A refused request is by definition not authenticated: whoever sent it may claim any AS2-From,
so every refusal is capped alike. 64 KiB hold the headers and the start of the CMS structure
(recipient infos, signer infos, certificates): enough to see why it was refused."""
KEEP_REFUSALS = 10_000
"""Default number of refusals kept: storing one prunes those older than the newest this many,
so a flood of junk requests cannot grow the table without bound (at most ~640 MB at the cap)."""


@dataclass(frozen=True)
class NewRefusal:
    """A request we refused, as the endpoint saw it (``request``: header lines, blank line and
    body, already cut to the cap; ``request_size``: its size as received)."""

    received_at: dt.datetime
    channel: str
    partner: str
    sender: str | None
    recipient: str | None
    message_id: str | None
    reason: str
    detail: str
    request: bytes
    request_size: int
    http_status: int
    answer_kind: str
    answer: bytes | None


@dataclass(frozen=True)
class RefusalRow(NewRefusal):
    """One stored refusal."""

    id: int = 0

    @property
    def truncated(self) -> bool:
        """Whether only the first part of the request was kept."""
        return len(self.request) < self.request_size


_REFUSAL_COLUMNS = tuple(c for c in inbound_refusals.columns if c.name != "tenant_id")
_INSERT_REFUSAL = sa.insert(inbound_refusals).returning(inbound_refusals.c.id)
_PRUNE_REFUSALS = sa.delete(inbound_refusals).where(
    inbound_refusals.c.tenant_id == _TENANT, inbound_refusals.c.id <= sa.bindparam("oldest_kept")
)


def capped_request(head: bytes, body: bytes, cap: int = REQUEST_CAP) -> tuple[bytes, int]:
    """The raw request to keep (``head`` + blank line + ``body``, cut at ``cap`` bytes) and
    the size as received."""
    whole = len(head) + 2 + len(body)
    kept = (head + b"\r\n" + body[: max(cap - len(head) - 2, 0)])[:cap]
    return kept, whole


def record_refusal(
    store: Store,
    refusal: NewRefusal,
    *,
    keep: int = KEEP_REFUSALS,
    async_mdn: NewAsyncMdn | None = None,
) -> int:
    """Store ``refusal`` (and, when the error MDN is owed at the partner's URL, its place in the
    async MDN outbox, in the same transaction); prune refusals beyond the newest ``keep``.
    Returns the refusal's id."""
    values = {c.name: getattr(refusal, c.name) for c in _REFUSAL_COLUMNS if c.name != "id"}
    values["tenant_id"] = store.tenant
    with store.engine.connect() as db, db.begin():
        new_id = int(db.execute(_INSERT_REFUSAL, values).scalar_one())
        if async_mdn is not None:
            insert_async_mdn(db, async_mdn, tenant=store.tenant, inbound_id=None)
        if new_id > keep:
            db.execute(_PRUNE_REFUSALS, {"oldest_kept": new_id - keep, "tenant": store.tenant})
    return new_id


def _refusal(found: RowMapping) -> RefusalRow:
    return RefusalRow(**{c.name: found[c.name] for c in _REFUSAL_COLUMNS})


def get_refusal(store: Store, refusal_id: int) -> RefusalRow | None:
    """The stored refusal ``refusal_id``, or None."""
    query = sa.select(inbound_refusals).where(
        inbound_refusals.c.id == refusal_id, inbound_refusals.c.tenant_id == store.tenant
    )
    with store.engine.connect() as db:
        found = db.execute(query).mappings().first()
    return _refusal(found) if found is not None else None


def list_refusals(
    store: Store,
    *,
    partner: str | None = None,
    reason: str | None = None,
    limit: int = 1000,
    newest: bool = False,
) -> list[RefusalRow]:
    """Stored refusals, oldest first (``newest``: the last ``limit``), optionally of one
    partner (name or AS2-From as sent) or reason (RFC 4130 modifier)."""
    table = inbound_refusals
    query = (
        sa.select(table)
        .where(table.c.tenant_id == store.tenant)
        .order_by(table.c.id.desc() if newest else table.c.id)
        .limit(limit)
    )
    if partner is not None:
        query = query.where(sa.or_(table.c.partner == partner, table.c.sender == partner))
    if reason is not None:
        query = query.where(table.c.reason == reason)
    with store.engine.connect() as db:
        rows = [_refusal(found) for found in db.execute(query).mappings()]
    return rows[::-1] if newest else rows
