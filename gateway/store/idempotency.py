"""Idempotency keys of the REST API: the first answer to a request sent with an
``Idempotency-Key`` header is kept per (tenant, key) and given again, byte for byte, to every
repeat of the same request (same media type and body).

Every function works on the store's tenant (``store.tenant``). One request at a time holds a
key: :func:`claim` inserts the row (status NULL) before any work, so of two concurrent requests
with one key exactly one wins the insert (the unique constraint decides, on SQLite and
PostgreSQL alike); the winner :func:`complete` s the row with its answer or :func:`release` s it
when it failed unexpectedly (a retry may then run). A claim older than ``stale_after`` (its
process died mid-request) is taken over: re-running is safe because the store itself refuses to
store an invoice twice. Example::

    answer = claim(store, key, request_sha256(media, body), now=now)
    if answer is None:          # ours: do the work
        complete(store, key, status=201, body=data, media_type="application/json", now=now)
    else:                       # a repeat: answer.status, answer.body
        ...
"""

from __future__ import annotations

import datetime as dt
import hashlib
from dataclasses import dataclass

import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError

from gateway.store.errors import StoreError
from gateway.store.schema_idempotency import api_idempotency
from gateway.store.store import Store

#: a claim older than this is taken to belong to a request that died
STALE_AFTER = dt.timedelta(minutes=10)


@dataclass(frozen=True)
class StoredAnswer:
    """The answer given to the first request with a key: HTTP status, media type, body bytes."""

    status: int
    media_type: str
    body: bytes
    created_at: dt.datetime


class KeyReused(StoreError):
    """The key was used before for a request with other content."""

    def __init__(self, key: str) -> None:
        self.key = key
        super().__init__(
            f"Idempotency-Key {key!r} was used before for a different request (other body or "
            "media type); accepted: the identical request again (it gets the first answer), "
            "or a new key"
        )


class KeyInProgress(StoreError):
    """The first request with the key is still being answered."""

    def __init__(self, key: str) -> None:
        self.key = key
        super().__init__(
            f"Idempotency-Key {key!r}: the first request with this key is still being answered; "
            "accepted: the same request again once it finished (it then gets that answer)"
        )


def request_sha256(media_type: str, body: bytes) -> str:
    """The hash that identifies a request: its media type (lower case, no parameters kept but
    the charset) and body."""
    digest = hashlib.sha256(media_type.strip().lower().encode("utf-8") + b"\n")
    digest.update(body)
    return digest.hexdigest()


def _where(tenant: str, key: str) -> sa.ColumnElement[bool]:
    return sa.and_(api_idempotency.c.tenant_id == tenant, api_idempotency.c.key == key)


def claim(
    store: Store,
    key: str,
    sha256: str,
    *,
    now: dt.datetime,
    stale_after: dt.timedelta = STALE_AFTER,
) -> StoredAnswer | None:
    """Take ``key`` for a request of the store's tenant whose :func:`request_sha256` is ``sha256``.

    None: the key is ours (new, or a stale claim taken over); answer, then :func:`complete`.
    A :class:`StoredAnswer`: the key was used for this same request and answered; give that.
    :class:`KeyReused`: used for another request. :class:`KeyInProgress`: the same request is
    being answered right now (by another thread, process or instance).
    """
    try:
        with store.engine.begin() as db:
            db.execute(
                api_idempotency.insert().values(
                    tenant_id=store.tenant, key=key, request_sha256=sha256, created_at=now
                )
            )
        return None
    except IntegrityError:
        pass  # the key exists: what became of it decides
    with store.engine.begin() as db:
        row = (
            db.execute(sa.select(api_idempotency).where(_where(store.tenant, key)))
            .mappings()
            .first()
        )
        if row is None:  # released between our insert and this read: try once more
            return claim(store, key, sha256, now=now, stale_after=stale_after)
        if row["request_sha256"] != sha256:
            raise KeyReused(key)
        if row["status"] is not None:
            return StoredAnswer(
                row["status"], row["media_type"] or "", bytes(row["body"] or b""), row["created_at"]
            )
        if row["created_at"] > now - stale_after:
            raise KeyInProgress(key)
        taken = db.execute(
            api_idempotency.update()
            .where(_where(store.tenant, key))
            .where(api_idempotency.c.status.is_(None))
            .where(api_idempotency.c.created_at == row["created_at"])
            .values(created_at=now)
        )
        if taken.rowcount != 1:
            raise KeyInProgress(key)
    return None


def complete(
    store: Store,
    key: str,
    *,
    status: int,
    body: bytes,
    media_type: str,
    now: dt.datetime,
) -> None:
    """Keep the answer of the request that holds ``key`` (replayed to every repeat)."""
    with store.engine.begin() as db:
        db.execute(
            api_idempotency.update()
            .where(_where(store.tenant, key))
            .values(status=status, body=body, media_type=media_type, completed_at=now)
        )


def release(store: Store, key: str) -> None:
    """Give up a claim whose request failed before it had an answer (a retry may run)."""
    with store.engine.begin() as db:
        db.execute(
            api_idempotency.delete()
            .where(_where(store.tenant, key))
            .where(api_idempotency.c.status.is_(None))
        )


def prune(store: Store, before: dt.datetime) -> int:
    """Forget the store's tenant's answered keys created before ``before``; how many."""
    with store.engine.begin() as db:
        result = db.execute(
            api_idempotency.delete()
            .where(api_idempotency.c.tenant_id == store.tenant)
            .where(api_idempotency.c.created_at < before)
            .where(api_idempotency.c.status.is_not(None))
        )
    return int(result.rowcount)
