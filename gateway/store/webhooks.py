"""Webhooks in the store: subscriptions per tenant, the outbox of signed messages owed to them
(one row per subscription and event, written in the transaction that writes the event) and the
log of every attempt to deliver one.

The event hook (:func:`enqueue_events`, :func:`enqueue_inbound`) is called by the store where it
appends an event (``StoreCore._event``, ``record_attempts``) or stores an inbound message. A
tenant's enabled subscriptions are read once and cached for :data:`CACHE_SECONDS` per process
(changes made through :class:`WebhookStore` in this process clear the cache at once; another
process sees them at the latest after :data:`CACHE_SECONDS`), so a tenant without subscriptions
pays one dictionary look-up per event.

Event types are ``<object>.<what happened>``: :data:`EVENT_TYPES` (``invoice.viewed``,
``invoice.paid``, ``invoice.disputed`` will join them when the portal records those).
"""

from __future__ import annotations

import datetime as dt
import json
import threading
import time
import uuid
import weakref
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection, Engine, RowMapping

from gateway.errors import ConfigError
from gateway.store.schema import UtcDateTime
from gateway.store.schema_webhooks import webhook_attempts, webhook_outbox, webhook_subscriptions
from gateway.store.scoped import ScopedStore

DEFAULT_TENANT = "default"
DELIVERY_STATE_CHANGED = "delivery.state_changed"
DELIVERY_ACK_RECEIVED = "delivery.ack_received"
INBOUND_RECEIVED = "inbound.received"
EVENT_TYPES: tuple[str, ...] = (DELIVERY_STATE_CHANGED, DELIVERY_ACK_RECEIVED, INBOUND_RECEIVED)

PENDING, DELIVERED, FAILED = "PENDING", "DELIVERED", "FAILED"
OUTBOX_STATES = (PENDING, DELIVERED, FAILED)
CACHE_SECONDS = 2.0
EXCERPT_CHARS = 500


def check_event_types(value: str | Iterable[str]) -> tuple[str, ...]:
    """The event types of ``value`` (comma-separated or a list), checked, without repeats;
    :class:`ConfigError` naming an unknown one and the accepted types."""
    items = value.split(",") if isinstance(value, str) else list(value)
    found: list[str] = []
    for item in (i.strip() for i in items):
        if not item:
            continue
        if item not in EVENT_TYPES:
            raise ConfigError(
                f"webhook event type {item!r} is not known; accepted: {', '.join(EVENT_TYPES)}"
            )
        if item not in found:
            found.append(item)
    if not found:
        raise ConfigError(f"no webhook event type given; accepted: {', '.join(EVENT_TYPES)}")
    return tuple(found)


# -- the subscription cache and the event hook -------------------------------------------


@dataclass(frozen=True)
class _Sub:
    id: int
    events: frozenset[str]


# keyed by the database's URL (not the engine's id: an id is reused once an engine is gone);
# the URL's text is kept per engine (hashing a URL object per event cost more than the rest)
_cache: dict[tuple[str, str], tuple[float, tuple[_Sub, ...]]] = {}
_urls: weakref.WeakKeyDictionary[Engine, str] = weakref.WeakKeyDictionary()


def _url(engine: Engine) -> str:
    found = _urls.get(engine)
    if found is None:
        found = _urls[engine] = engine.url.render_as_string(hide_password=True)
    return found


_cache_lock = threading.Lock()


def forget_subscriptions(engine: Engine | None = None) -> None:
    """Drop the cached subscriptions (of ``engine``; None: all)."""
    with _cache_lock:
        for key in [k for k in _cache if engine is None or k[0] == _url(engine)]:
            del _cache[key]


def _subscriptions(db: Connection, tenant: str) -> tuple[_Sub, ...]:
    key = (_url(db.engine), tenant)
    now = time.monotonic()
    hit = _cache.get(key)
    if hit is not None and hit[0] > now:
        return hit[1]
    rows = db.execute(
        sa.select(webhook_subscriptions.c.id, webhook_subscriptions.c.events).where(
            webhook_subscriptions.c.tenant_id == tenant, webhook_subscriptions.c.enabled
        )
    ).all()
    subs = tuple(_Sub(r.id, frozenset(r.events.split(","))) for r in rows)
    with _cache_lock:
        _cache[key] = (now + CACHE_SECONDS, subs)
    return subs


def _event_types(event: Mapping[str, Any]) -> list[str]:
    """The webhook types an ``events`` row stands for."""
    found = []
    if event.get("delivery_id") is not None:
        old, new = event.get("state_from"), event.get("state_to")
        if old is not None and new is not None and old != new:
            found.append(DELIVERY_STATE_CHANGED)
        if event.get("ack_level") is not None:
            found.append(DELIVERY_ACK_RECEIVED)
    return found


def _payload(kind: str, at: dt.datetime, tenant: str, data: dict[str, Any]) -> str:
    body = {"type": kind, "timestamp": at.isoformat(), "tenant": tenant, "data": data}
    return json.dumps(body, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def enqueue_events(db: Connection, tenant: str, events: Sequence[Mapping[str, Any]]) -> int:
    """Add outbox rows, in the caller's transaction, for ``events`` (``events`` table values,
    :func:`gateway.store.rows.event_values`) of ``tenant`` that its enabled subscriptions
    want. Returns how many rows were added."""
    subs = _subscriptions(db, tenant)
    if not subs:
        return 0
    rows: list[dict[str, Any]] = []
    for event in events:
        for kind in _event_types(event):
            wanted = [s for s in subs if kind in s.events]
            if not wanted:
                continue
            data: dict[str, Any] = {
                "invoice_id": event["invoice_id"],
                "delivery_id": event["delivery_id"],
                "event": event["kind"],
                "detail": event["detail"],
            }
            if kind == DELIVERY_STATE_CHANGED:
                data |= {"from": event["state_from"], "to": event["state_to"]}
                data["transmission"] = event.get("transmission")
            else:
                data["level"] = event["ack_level"]
            rows.extend(
                _rows(
                    tenant, wanted, kind, at=event["at"], invoice_id=event["invoice_id"], data=data
                )
            )
    if rows:
        db.execute(webhook_outbox.insert(), rows)
    return len(rows)


def enqueue_inbound(db: Connection, tenant: str, inbound: Mapping[str, Any]) -> int:
    """Add outbox rows for a newly stored inbound message (``inbound_messages`` row values with
    its ``id``) for the enabled subscriptions of ``tenant`` to ``inbound.received``."""
    wanted = [s for s in _subscriptions(db, tenant) if INBOUND_RECEIVED in s.events]
    if not wanted:
        return 0
    data = {
        "inbound_id": inbound["id"],
        "channel": inbound["channel"],
        "partner": inbound["partner"],
        "message_id": inbound["message_id"],
        "media_type": inbound["media_type"],
        "filename": inbound.get("filename"),
    }
    rows = _rows(
        tenant, wanted, INBOUND_RECEIVED, at=inbound["received_at"], invoice_id=None, data=data
    )
    db.execute(webhook_outbox.insert(), rows)
    return len(rows)


def _rows(
    tenant: str,
    subs: Sequence[_Sub],
    kind: str,
    *,
    at: dt.datetime,
    invoice_id: int | None,
    data: dict[str, Any],
) -> list[dict[str, Any]]:
    event_id = f"evt_{uuid.uuid4().hex}"
    payload = _payload(kind, at, tenant, {"id": event_id, **data})
    return [
        {
            "tenant_id": tenant,
            "subscription_id": sub.id,
            "event_id": event_id,
            "invoice_id": invoice_id,
            "type": kind,
            "payload": payload,
            "msg_id": f"msg_{uuid.uuid4().hex}",
            "state": PENDING,
            "attempts": 0,
            "next_attempt_at": at,
            "created_at": at,
        }
        for sub in subs
    ]


# -- rows ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Subscription:
    """One webhook subscription (``secret`` is what is stored: a key or a reference)."""

    id: int
    tenant: str
    url: str
    events: tuple[str, ...]
    secret: str
    enabled: bool
    created_at: dt.datetime
    updated_at: dt.datetime
    disabled_reason: str | None

    def as_dict(self) -> dict[str, Any]:
        """JSON-ready, without the secret (a reference is shown: it is not the secret)."""
        return {
            "id": self.id,
            "tenant": self.tenant,
            "url": self.url,
            "events": list(self.events),
            "secret": self.secret if self.secret.startswith(("env:", "file:")) else "(hidden)",
            "enabled": self.enabled,
            "created_at": self.created_at.isoformat(),
            "updated_at": self.updated_at.isoformat(),
            "disabled_reason": self.disabled_reason,
        }


@dataclass(frozen=True)
class OutboxRow:
    """One message owed to one subscription."""

    id: int
    tenant: str
    subscription_id: int
    event_id: str
    invoice_id: int | None
    type: str
    payload: str
    msg_id: str
    state: str
    attempts: int
    next_attempt_at: dt.datetime
    claimed_by: str | None
    last_status: int | None
    last_error: str | None
    created_at: dt.datetime
    delivered_at: dt.datetime | None

    def as_dict(self) -> dict[str, Any]:
        """JSON-ready (the payload as parsed JSON)."""
        return {
            "id": self.id,
            "subscription_id": self.subscription_id,
            "event_id": self.event_id,
            "invoice_id": self.invoice_id,
            "type": self.type,
            "msg_id": self.msg_id,
            "state": self.state,
            "attempts": self.attempts,
            "next_attempt_at": self.next_attempt_at.isoformat(),
            "last_status": self.last_status,
            "last_error": self.last_error,
            "created_at": self.created_at.isoformat(),
            "delivered_at": None if self.delivered_at is None else self.delivered_at.isoformat(),
            "payload": json.loads(self.payload),
        }


@dataclass(frozen=True)
class AttemptRow:
    """One logged attempt to deliver an outbox row."""

    id: int
    outbox_id: int
    subscription_id: int
    at: dt.datetime
    status_code: int | None
    duration_ms: int
    error: str | None
    response_excerpt: str | None

    def as_dict(self) -> dict[str, Any]:
        """JSON-ready."""
        return {
            "id": self.id,
            "outbox_id": self.outbox_id,
            "subscription_id": self.subscription_id,
            "at": self.at.isoformat(),
            "status_code": self.status_code,
            "duration_ms": self.duration_ms,
            "error": self.error,
            "response_excerpt": self.response_excerpt,
        }


@dataclass(frozen=True)
class Claimed:
    """An outbox row claimed for sending, with what sending needs."""

    row: OutboxRow
    url: str
    secret: str


@dataclass(frozen=True)
class Outcome:
    """What one attempt came to: the new state (PENDING again with ``next_attempt_at``, or
    DELIVERED / FAILED), the attempt's log values; ``disable``: the subscription answered 410."""

    outbox_id: int
    state: str
    next_attempt_at: dt.datetime | None
    status_code: int | None
    duration_ms: int
    error: str | None
    response_excerpt: str | None
    disable: bool = False


def _subscription(r: RowMapping) -> Subscription:
    return Subscription(
        id=r["id"],
        tenant=r["tenant_id"],
        url=r["url"],
        events=tuple(r["events"].split(",")),
        secret=r["secret"],
        enabled=bool(r["enabled"]),
        created_at=r["created_at"],
        updated_at=r["updated_at"],
        disabled_reason=r["disabled_reason"],
    )


def _outbox(r: RowMapping) -> OutboxRow:
    return OutboxRow(
        id=r["id"],
        tenant=r["tenant_id"],
        subscription_id=r["subscription_id"],
        event_id=r["event_id"],
        invoice_id=r["invoice_id"],
        type=r["type"],
        payload=r["payload"],
        msg_id=r["msg_id"],
        state=r["state"],
        attempts=r["attempts"],
        next_attempt_at=r["next_attempt_at"],
        claimed_by=r["claimed_by"],
        last_status=r["last_status"],
        last_error=r["last_error"],
        created_at=r["created_at"],
        delivered_at=r["delivered_at"],
    )


def _attempt(r: RowMapping) -> AttemptRow:
    return AttemptRow(
        id=r["id"],
        outbox_id=r["outbox_id"],
        subscription_id=r["subscription_id"],
        at=r["at"],
        status_code=r["status_code"],
        duration_ms=r["duration_ms"],
        error=r["error"],
        response_excerpt=r["response_excerpt"],
    )


class UnknownSubscription(LookupError):
    """No subscription (or outbox row) with that id for this tenant."""

    def __init__(self, what: str, ident: int, tenant: str) -> None:
        super().__init__(f"no webhook {what} {ident} for tenant {tenant!r}")


# -- the store part ------------------------------------------------------------------------


class WebhookStore(ScopedStore):
    """Subscriptions, outbox and attempt log of ONE tenant (``tenant``) on ``engine``.

    ``WebhookStore.of(store)`` gives the part for a :class:`gateway.store.Store` (its engine and
    tenant). Every query filters on the tenant: an id of another tenant is an unknown id.
    """

    @classmethod
    def of(cls, store: ScopedStore) -> WebhookStore:
        """The webhook part of ``store`` (a Store: same engine, same tenant)."""
        return cls(store.engine, store.tenant)

    # subscriptions

    def add_subscription(
        self, url: str, events: Sequence[str], secret: str, now: dt.datetime
    ) -> Subscription:
        """A new enabled subscription (``events`` checked; the caller checked ``url`` and
        ``secret``)."""
        kinds = check_event_types(events)
        with self._write() as db:
            new_id = db.scalar(
                webhook_subscriptions.insert()
                .returning(webhook_subscriptions.c.id)
                .values(
                    tenant_id=self.tenant,
                    url=url,
                    events=",".join(kinds),
                    secret=secret,
                    enabled=True,
                    created_at=now,
                    updated_at=now,
                )
            )
        forget_subscriptions(self.engine)
        found = self.subscription(int(new_id))
        assert found is not None
        return found

    def subscription(self, subscription_id: int) -> Subscription | None:
        """The subscription, or None (also when it belongs to another tenant)."""
        with self._read() as db:
            r = (
                db.execute(
                    sa.select(webhook_subscriptions).where(
                        webhook_subscriptions.c.id == subscription_id,
                        webhook_subscriptions.c.tenant_id == self.tenant,
                    )
                )
                .mappings()
                .first()
            )
        return None if r is None else _subscription(r)

    def subscriptions(self) -> list[Subscription]:
        """Every subscription of the tenant, oldest first."""
        with self._read() as db:
            rows = db.execute(
                sa.select(webhook_subscriptions)
                .where(webhook_subscriptions.c.tenant_id == self.tenant)
                .order_by(webhook_subscriptions.c.id)
            ).mappings()
            return [_subscription(r) for r in rows]

    def update_subscription(
        self,
        subscription_id: int,
        now: dt.datetime,
        *,
        url: str | None = None,
        events: Sequence[str] | None = None,
        enabled: bool | None = None,
        reason: str | None = None,
    ) -> Subscription:
        """Change a subscription; :class:`UnknownSubscription` when there is none."""
        values: dict[str, Any] = {"updated_at": now}
        if url is not None:
            values["url"] = url
        if events is not None:
            values["events"] = ",".join(check_event_types(events))
        if enabled is not None:
            values["enabled"] = enabled
            values["disabled_reason"] = None if enabled else reason
        with self._write() as db:
            done = db.execute(
                webhook_subscriptions.update()
                .where(
                    webhook_subscriptions.c.id == subscription_id,
                    webhook_subscriptions.c.tenant_id == self.tenant,
                )
                .values(values)
            )
            if done.rowcount == 0:
                raise UnknownSubscription("subscription", subscription_id, self.tenant)
        forget_subscriptions(self.engine)
        found = self.subscription(subscription_id)
        assert found is not None
        return found

    def remove_subscription(self, subscription_id: int) -> None:
        """Delete a subscription with its outbox rows and attempt log."""
        sub = webhook_subscriptions.c
        with self._write() as db:
            found = db.execute(
                sa.select(sub.id).where(sub.id == subscription_id, sub.tenant_id == self.tenant)
            ).first()
            if found is None:
                raise UnknownSubscription("subscription", subscription_id, self.tenant)
            db.execute(
                webhook_attempts.delete().where(
                    webhook_attempts.c.subscription_id == subscription_id
                )
            )
            db.execute(
                webhook_outbox.delete().where(webhook_outbox.c.subscription_id == subscription_id)
            )
            db.execute(webhook_subscriptions.delete().where(sub.id == subscription_id))
        forget_subscriptions(self.engine)

    # the outbox

    def outbox(
        self,
        subscription_id: int | None = None,
        state: str | None = None,
        limit: int = 100,
    ) -> list[OutboxRow]:
        """Outbox rows of the tenant (of one subscription, in one state), the newest ``limit``,
        oldest first."""
        o = webhook_outbox.c
        query = sa.select(webhook_outbox).where(o.tenant_id == self.tenant)
        if subscription_id is not None:
            query = query.where(o.subscription_id == subscription_id)
        if state is not None:
            query = query.where(o.state == state)
        with self._read() as db:
            rows = db.execute(query.order_by(o.id.desc()).limit(limit)).mappings()
            return sorted((_outbox(r) for r in rows), key=lambda r: r.id)

    def outbox_row(self, outbox_id: int) -> OutboxRow | None:
        """One outbox row of the tenant, or None."""
        o = webhook_outbox.c
        with self._read() as db:
            r = (
                db.execute(
                    sa.select(webhook_outbox).where(o.id == outbox_id, o.tenant_id == self.tenant)
                )
                .mappings()
                .first()
            )
        return None if r is None else _outbox(r)

    def attempts(
        self, subscription_id: int | None = None, outbox_id: int | None = None, limit: int = 100
    ) -> list[AttemptRow]:
        """The attempt log of the tenant (of one subscription or outbox row), the newest
        ``limit``, oldest first."""
        a = webhook_attempts.c
        query = sa.select(webhook_attempts).where(a.tenant_id == self.tenant)
        if subscription_id is not None:
            query = query.where(a.subscription_id == subscription_id)
        if outbox_id is not None:
            query = query.where(a.outbox_id == outbox_id)
        with self._read() as db:
            rows = db.execute(query.order_by(a.id.desc()).limit(limit)).mappings()
            return sorted((_attempt(r) for r in rows), key=lambda r: r.id)

    def redeliver(
        self, now: dt.datetime, *, outbox_id: int | None = None, subscription_id: int | None = None
    ) -> int:
        """Make one outbox row (any state) or every FAILED row of a subscription PENDING and
        due at ``now`` again (same webhook-id); how many. Unknown ids: UnknownSubscription."""
        o = webhook_outbox.c
        where = [o.tenant_id == self.tenant]
        if outbox_id is not None:
            where.append(o.id == outbox_id)
        elif subscription_id is not None:
            if self.subscription(subscription_id) is None:
                raise UnknownSubscription("subscription", subscription_id, self.tenant)
            where += [o.subscription_id == subscription_id, o.state == FAILED]
        else:
            raise ValueError("redeliver: name an outbox row or a subscription")
        with self._write() as db:
            done = db.execute(
                webhook_outbox.update()
                .where(*where)
                .values(
                    state=PENDING,
                    attempts=0,
                    next_attempt_at=now,
                    claimed_by=None,
                    claim_expires_at=None,
                    delivered_at=None,
                )
            )
            count = int(done.rowcount)
        if outbox_id is not None and count == 0:
            raise UnknownSubscription("outbox row", outbox_id, self.tenant)
        return count

    # the dispatcher's side (every tenant: the dispatcher serves them all)


def _heads() -> tuple[sa.ColumnElement[bool], ...]:
    """Outbox rows that may go next: PENDING, of an enabled subscription, and no OLDER row of
    the same invoice and subscription still PENDING (rows without an invoice are not
    ordered)."""
    o = webhook_outbox.c
    older = webhook_outbox.alias("older")
    blocked = (
        sa.select(older.c.id)
        .where(
            older.c.subscription_id == o.subscription_id,
            older.c.invoice_id == o.invoice_id,
            older.c.state == PENDING,
            older.c.id < o.id,
        )
        .exists()
    )
    s = webhook_subscriptions.c
    enabled = sa.select(s.id).where(s.id == o.subscription_id, s.enabled).exists()
    return (o.state == PENDING, enabled, ~blocked)


def claim_due(
    engine: Engine, worker_id: str, now: dt.datetime, limit: int, lease_seconds: float
) -> list[Claimed]:
    """Claim up to ``limit`` due PENDING outbox rows (any tenant) for ``worker_id``.

    Claimable: due, unclaimed or claim expired, its subscription enabled, and no OLDER row of
    the same invoice and subscription still PENDING (messages of one invoice go out in order;
    only the head of each invoice's queue is ever claimed). PostgreSQL: ``FOR UPDATE SKIP
    LOCKED``; SQLite: one writer at a time.
    """
    o = webhook_outbox.c
    s = webhook_subscriptions.c
    query = (
        sa.select(o.id)
        .where(
            *_heads(),
            o.next_attempt_at <= now,
            sa.or_(o.claimed_by.is_(None), o.claim_expires_at <= now),
        )
        .order_by(o.next_attempt_at, o.id)
        .limit(limit)
        .with_for_update(skip_locked=True, of=webhook_outbox)
    )
    expires = now + dt.timedelta(seconds=lease_seconds)
    with engine.connect() as db, db.begin():
        ids = list(db.scalars(query))
        if not ids:
            return []
        db.execute(
            webhook_outbox.update()
            .where(o.id.in_(ids))
            .values(claimed_by=worker_id, claim_expires_at=expires)
        )
        rows = db.execute(
            sa.select(webhook_outbox, s.url, s.secret)
            .join(webhook_subscriptions, s.id == o.subscription_id)
            .where(o.id.in_(ids))
            .order_by(o.next_attempt_at, o.id)
        ).mappings()
        return [Claimed(_outbox(r), r["url"], r["secret"]) for r in rows]


# built once (executemany; SQLAlchemy compiles it once per process)
_OUTCOME = (
    webhook_outbox.update()
    .where(webhook_outbox.c.id == sa.bindparam("row_id"))
    .values(
        state=sa.bindparam("b_state"),
        attempts=sa.bindparam("b_attempts"),
        next_attempt_at=sa.bindparam("b_due", type_=UtcDateTime),
        claimed_by=None,
        claim_expires_at=None,
        last_status=sa.bindparam("b_status", type_=sa.Integer),
        last_error=sa.bindparam("b_error", type_=sa.Text),
        delivered_at=sa.bindparam("b_delivered", type_=UtcDateTime),
    )
)


def record_outcomes(
    engine: Engine, worker_id: str, outcomes: Sequence[Outcome], now: dt.datetime
) -> int:
    """Record attempts (one transaction): log each, move its row (only while ``worker_id``
    still holds the claim), disable subscriptions that answered 410. How many were recorded."""
    if not outcomes:
        return 0
    o = webhook_outbox.c
    recorded = 0
    with engine.connect() as db, db.begin():
        held = {
            r.id: r
            for r in db.execute(
                sa.select(o.id, o.tenant_id, o.subscription_id, o.attempts)
                .where(o.id.in_([x.outbox_id for x in outcomes]), o.claimed_by == worker_id)
                .with_for_update()
            )
        }
        logs: list[dict[str, Any]] = []
        changes: list[dict[str, Any]] = []
        disabled: set[int] = set()
        for x in outcomes:
            row = held.get(x.outbox_id)
            if row is None:
                continue  # the claim was lost (expired and taken): the other sender records
            recorded += 1
            changes.append(
                {
                    "row_id": x.outbox_id,
                    "b_state": x.state,
                    "b_attempts": row.attempts + 1,
                    "b_due": x.next_attempt_at or now,
                    "b_status": x.status_code,
                    "b_error": x.error,
                    "b_delivered": now if x.state == DELIVERED else None,
                }
            )
            logs.append(
                {
                    "tenant_id": row.tenant_id,
                    "outbox_id": x.outbox_id,
                    "subscription_id": row.subscription_id,
                    "at": now,
                    "status_code": x.status_code,
                    "duration_ms": x.duration_ms,
                    "error": x.error,
                    "response_excerpt": x.response_excerpt,
                }
            )
            if x.disable:
                disabled.add(row.subscription_id)
        if changes:
            db.execute(_OUTCOME, changes)
            db.execute(webhook_attempts.insert(), logs)
        if disabled:
            s = webhook_subscriptions.c
            db.execute(
                webhook_subscriptions.update()
                .where(s.id.in_(sorted(disabled)))
                .values(
                    enabled=False,
                    updated_at=now,
                    disabled_reason="the endpoint answered 410 Gone",
                )
            )
    if disabled:
        forget_subscriptions(engine)
    return recorded


def release_claims(engine: Engine, worker_id: str) -> int:
    """Drop every claim ``worker_id`` holds (a restart, or rows not sent at a stop)."""
    o = webhook_outbox.c
    with engine.connect() as db, db.begin():
        done = db.execute(
            webhook_outbox.update()
            .where(o.claimed_by == worker_id, o.state == PENDING)
            .values(claimed_by=None, claim_expires_at=None)
        )
        return int(done.rowcount)


def pending_count(engine: Engine) -> int:
    """How many outbox rows (any tenant) are PENDING."""
    with engine.connect() as db:
        return int(
            db.scalar(
                sa.select(sa.func.count())
                .select_from(webhook_outbox)
                .where(webhook_outbox.c.state == PENDING)
            )
            or 0
        )


def next_due(engine: Engine) -> dt.datetime | None:
    """When the next row may be claimed: the earliest due time of the rows that may go next
    (a row claimed by someone: its claim's expiry); None when none may go (nothing pending, or
    only rows of disabled subscriptions)."""
    o = webhook_outbox.c
    heads = _heads()
    free = sa.select(sa.func.min(o.next_attempt_at)).where(*heads, o.claimed_by.is_(None))
    held = sa.select(sa.func.min(o.claim_expires_at)).where(*heads, o.claimed_by.is_not(None))
    with engine.connect() as db:
        found = [db.scalar(free), db.scalar(held)]
    values = [
        v.replace(tzinfo=dt.UTC) if v.tzinfo is None else v  # min() may lose the column type
        for v in found
        if isinstance(v, dt.datetime)
    ]
    return min(values) if values else None


def claimers(engine: Engine) -> list[str]:
    """The workers holding claims on PENDING outbox rows."""
    o = webhook_outbox.c
    with engine.connect() as db:
        return list(
            db.scalars(
                sa.select(o.claimed_by)
                .where(o.claimed_by.is_not(None), o.state == PENDING)
                .distinct()
            )
        )
