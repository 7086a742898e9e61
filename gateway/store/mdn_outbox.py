"""The durable outbox of asynchronous AS2 MDNs (table ``async_mdns``): every MDN we owe a partner
at its Receipt-Delivery-Option URL is a row until the partner took it or we gave up.

Life of a row: written PENDING (by the AS2 endpoint, in the transaction that stores the inbound
message's answer, already claimed by the process that will POST it at once); each try is
recorded with :func:`record_post` under a compare-and-set on the claim: delivered ->
DELIVERED; refused for good (4xx, a non-http address) or past :attr:`MdnRetry.max_attempts` /
:attr:`MdnRetry.max_age` -> FAILED with the reason (logged at ERROR, never dropped silently);
otherwise PENDING again, due after an exponential backoff with jitter.
:func:`sweep_async_mdns` re-posts every due row; a claim whose process died expires after its
lease and the row is claimable again.

Several processes may sweep at once: a claim is one transaction (``FOR UPDATE SKIP LOCKED`` on
PostgreSQL, ``BEGIN IMMEDIATE`` on SQLite) and an outcome only lands for the claim holder. A
process dying between the partner's 2xx and :func:`record_post` means the MDN is POSTed again
after the lease (at least once; the partner recognises it by its Original-Message-ID).

Example::

    report = sweep_async_mdns(store, now, post=http_poster())
    for sent in report:
        print(sent.message_id, sent.outcome, sent.detail)
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import logging
import os
import socket
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Literal

import sqlalchemy as sa
from sqlalchemy.engine import Connection, RowMapping

from gateway.store.schema import async_mdns
from gateway.store.store import Store

log = logging.getLogger(__name__)

PENDING, DELIVERED, FAILED = "PENDING", "DELIVERED", "FAILED"
Outcome = Literal["delivered", "retry", "gave_up", "claim_lost"]


@dataclass(frozen=True)
class MdnRetry:
    """When an async MDN the partner did not take is tried again, and when we give up.

    Try ``n`` (1-based) failed -> next try after ``min(cap, base * factor ** (n - 1))`` seconds,
    shortened by up to ``jitter`` (a fraction, derived from the row id and ``n`` so it is
    reproducible yet spreads rows apart). After ``max_attempts`` tries or ``max_age`` seconds
    since the MDN was made, a failure is final. ``lease`` seconds: how long a claim holds."""

    base: float = 30.0
    factor: float = 2.0
    cap: float = 3600.0
    jitter: float = 0.2
    max_attempts: int = 20
    max_age: float = 3 * 24 * 3600.0
    lease: float = 300.0

    def delay(self, mdn_id: int, attempts: int) -> dt.timedelta:
        """The pause after the ``attempts``-th failed try of row ``mdn_id``."""
        raw = min(self.cap, self.base * self.factor ** max(attempts - 1, 0))
        digest = hashlib.sha256(f"{mdn_id}:{attempts}".encode()).digest()
        spread = int.from_bytes(digest[:8], "big") / 2**64
        return dt.timedelta(seconds=raw * (1.0 - self.jitter * spread))


DEFAULT_RETRY = MdnRetry()


@dataclass(frozen=True)
class PostResult:
    """What one POST of an MDN came to: ``ok`` (2xx), or why not and whether retrying helps."""

    ok: bool
    detail: str
    permanent: bool = False


MdnPoster = Callable[[str, Mapping[str, str], bytes], PostResult]
"""``post(url, headers, body) -> PostResult``: one try, no exception for a failed POST."""


@dataclass(frozen=True)
class NewAsyncMdn:
    """An async MDN to record: where it goes, what it is, made at ``now``; it is written due at
    once and claimed by ``claimed_by`` (the process about to POST it) for ``lease`` seconds."""

    partner: str
    message_id: str
    url: str
    headers: Mapping[str, str]
    body: bytes
    now: dt.datetime
    claimed_by: str
    lease: float = 300.0


@dataclass(frozen=True)
class AsyncMdnRow:
    """One stored async MDN."""

    id: int
    created_at: dt.datetime
    inbound_id: int | None
    partner: str
    message_id: str
    url: str
    headers: dict[str, str]
    body: bytes
    state: str
    attempts: int
    next_attempt_at: dt.datetime | None
    claimed_by: str | None
    claim_expires_at: dt.datetime | None
    delivered_at: dt.datetime | None
    last_error: str | None


@dataclass(frozen=True)
class MdnSent:
    """What one try did to one async MDN (``next_attempt_at`` set for ``retry``)."""

    id: int
    partner: str
    message_id: str
    outcome: Outcome
    attempts: int
    detail: str
    next_attempt_at: dt.datetime | None = None


def claim_token(prefix: str = "mdn") -> str:
    """A claim holder's name, unique per call: host, process and a random part."""
    return f"{prefix}:{socket.gethostname()[:80]}:{os.getpid()}:{uuid.uuid4().hex[:12]}"


def _row(found: RowMapping) -> AsyncMdnRow:
    values = {c.name: found[c.name] for c in async_mdns.columns if c.name != "tenant_id"}
    values["headers"] = json.loads(values["headers"])
    return AsyncMdnRow(**values)


def insert_async_mdn(
    db: Connection, mdn: NewAsyncMdn, *, tenant: str, inbound_id: int | None = None
) -> int:
    """Write ``mdn`` of ``tenant`` PENDING, due and claimed as it says, in the caller's
    transaction ``db`` (answering inbound message ``inbound_id`` if any); returns its id."""
    now = mdn.now
    values = {
        "tenant_id": tenant,
        "created_at": now,
        "inbound_id": inbound_id,
        "partner": mdn.partner,
        "message_id": mdn.message_id,
        "url": mdn.url,
        "headers": json.dumps(dict(mdn.headers), sort_keys=True),
        "body": mdn.body,
        "state": PENDING,
        "attempts": 0,
        "next_attempt_at": now,
        "claimed_by": mdn.claimed_by,
        "claim_expires_at": now + dt.timedelta(seconds=mdn.lease),
    }
    new_id: int = db.execute(_INSERT, values).scalar_one()
    return new_id


_INSERT = sa.insert(async_mdns).returning(async_mdns.c.id)


def record_async_mdn(store: Store, mdn: NewAsyncMdn, *, inbound_id: int | None = None) -> int:
    """:func:`insert_async_mdn` in a transaction of its own (an MDN with no answer to store
    alongside: a refused message, a duplicate)."""
    with store.engine.connect() as db, db.begin():
        return insert_async_mdn(db, mdn, tenant=store.tenant, inbound_id=inbound_id)


def get_async_mdn(store: Store, mdn_id: int) -> AsyncMdnRow:
    """The stored async MDN ``mdn_id`` (KeyError when there is none)."""
    with store.engine.connect() as db:
        found = (
            db.execute(
                sa.select(async_mdns).where(
                    async_mdns.c.id == mdn_id, async_mdns.c.tenant_id == store.tenant
                )
            )
            .mappings()
            .first()
        )
    if found is None:
        raise KeyError(f"async MDN {mdn_id}: not in the store")
    return _row(found)


def list_async_mdns(
    store: Store, *, state: str | None = None, message_id: str | None = None
) -> list[AsyncMdnRow]:
    """Stored async MDNs, oldest first, optionally of one state and/or original Message-ID."""
    query = (
        sa.select(async_mdns)
        .where(async_mdns.c.tenant_id == store.tenant)
        .order_by(async_mdns.c.id)
    )
    if state is not None:
        query = query.where(async_mdns.c.state == state)
    if message_id is not None:
        query = query.where(async_mdns.c.message_id == message_id)
    with store.engine.connect() as db:
        return [_row(found) for found in db.execute(query).mappings()]


def claimed_mdns(store: Store, token: str) -> list[AsyncMdnRow]:
    """The PENDING async MDNs claimed by ``token``."""
    query = (
        sa.select(async_mdns)
        .where(
            async_mdns.c.tenant_id == store.tenant,
            async_mdns.c.claimed_by == token,
            async_mdns.c.state == PENDING,
        )
        .order_by(async_mdns.c.id)
    )
    with store.engine.connect() as db:
        return [_row(found) for found in db.execute(query).mappings()]


def claim_due_mdns(
    store: Store, token: str, now: dt.datetime, *, limit: int = 50, lease: float = 300.0
) -> list[AsyncMdnRow]:
    """Claim up to ``limit`` PENDING async MDNs due at ``now`` (unclaimed or claim expired) for
    ``token`` for ``lease`` seconds, oldest due first; rows another process holds are skipped."""
    claimable = sa.and_(
        async_mdns.c.tenant_id == store.tenant,
        async_mdns.c.state == PENDING,
        async_mdns.c.next_attempt_at <= now,
        sa.or_(async_mdns.c.claimed_by.is_(None), async_mdns.c.claim_expires_at <= now),
    )
    with store.engine.connect() as db, db.begin():
        ids = db.scalars(
            sa.select(async_mdns.c.id)
            .where(claimable)
            .order_by(async_mdns.c.next_attempt_at, async_mdns.c.id)
            .limit(limit)
            .with_for_update(skip_locked=True)
        ).all()
        if not ids:
            return []
        db.execute(
            async_mdns.update()
            .where(async_mdns.c.id.in_(ids), claimable)
            .values(claimed_by=token, claim_expires_at=now + dt.timedelta(seconds=lease))
        )
        rows = db.execute(
            sa.select(async_mdns)
            .where(async_mdns.c.id.in_(ids), async_mdns.c.claimed_by == token)
            .order_by(async_mdns.c.next_attempt_at, async_mdns.c.id)
        ).mappings()
        return [_row(found) for found in rows]


def record_post(
    store: Store,
    row: AsyncMdnRow,
    token: str,
    result: PostResult,
    *,
    now: dt.datetime,
    retry: MdnRetry,
    tries: int = 1,
) -> MdnSent:
    """Record ``tries`` POSTs of ``row`` ending in ``result``, if ``token`` still holds the claim
    (else nothing changes: ``claim_lost``). Releases the claim."""
    attempts = row.attempts + tries
    changes: dict[str, object] = {
        "attempts": attempts,
        "claimed_by": None,
        "claim_expires_at": None,
    }
    next_at: dt.datetime | None = None
    if result.ok:
        outcome: Outcome = "delivered"
        changes.update(state=DELIVERED, delivered_at=now, next_attempt_at=None)
    else:
        changes["last_error"] = result.detail
        age = (now - row.created_at).total_seconds()
        if result.permanent or attempts >= retry.max_attempts or age >= retry.max_age:
            outcome = "gave_up"
            changes.update(state=FAILED, next_attempt_at=None)
        else:
            outcome = "retry"
            next_at = now + retry.delay(row.id, attempts)
            changes["next_attempt_at"] = next_at
    with store.engine.connect() as db, db.begin():
        done = db.execute(
            async_mdns.update()
            .where(
                async_mdns.c.id == row.id,
                async_mdns.c.tenant_id == store.tenant,
                async_mdns.c.claimed_by == token,
                async_mdns.c.state == PENDING,
            )
            .values(**changes)
        ).rowcount
    if not done:
        log.warning(
            "async MDN %d for <%s> to %s: claim %s lost before its outcome (%s) was recorded",
            row.id,
            row.message_id,
            row.partner,
            token,
            result.detail,
        )
        return MdnSent(
            row.id, row.partner, row.message_id, "claim_lost", row.attempts, result.detail
        )
    if outcome == "gave_up":
        why = (
            "refused for good"
            if result.permanent
            else f"{attempts} tries over {(now - row.created_at).total_seconds():.0f} s"
        )
        log.error(
            "async MDN %d for <%s> to %s at %s: GIVEN UP (%s): %s",
            row.id,
            row.message_id,
            row.partner,
            row.url,
            why,
            result.detail,
        )
    elif outcome == "retry":
        log.warning(
            "async MDN %d for <%s> to %s not taken (try %d): %s; next try at %s",
            row.id,
            row.message_id,
            row.partner,
            attempts,
            result.detail,
            next_at,
        )
    else:
        log.info("async MDN %d for <%s> delivered to %s", row.id, row.message_id, row.url)
    return MdnSent(row.id, row.partner, row.message_id, outcome, attempts, result.detail, next_at)


def sweep_async_mdns(
    store: Store,
    now: dt.datetime,
    *,
    post: MdnPoster,
    retry: MdnRetry = DEFAULT_RETRY,
    limit: int = 50,
    token: str | None = None,
    refuse: Callable[[AsyncMdnRow], str | None] | None = None,
) -> list[MdnSent]:
    """POST every async MDN due at ``now`` (up to ``limit``) once and record each outcome; safe
    to run in several processes at once (each row is claimed by one). ``refuse(row)``: why a
    row must not be POSTed at all (its URL is no longer allowed, e.g. a row written before the
    partner's ``async_mdn_urls`` policy existed) — it is then FAILED with that reason, unsent."""
    holder = token or claim_token("sweep")
    claimed = claim_due_mdns(store, holder, now, limit=limit, lease=retry.lease)
    sent = []
    for row in claimed:
        reason = refuse(row) if refuse is not None else None
        result = (
            PostResult(False, reason, permanent=True)
            if reason is not None
            else post(row.url, row.headers, row.body)
        )
        sent.append(record_post(store, row, holder, result, now=now, retry=retry))
    return sent
