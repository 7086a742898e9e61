"""Store.claim_due / release_expired: due order, leases that expire, no delivery claimed twice."""

from __future__ import annotations

import datetime as dt
import threading
from concurrent.futures import ThreadPoolExecutor

import pytest
import sqlalchemy as sa
from builders import simple_invoice
from store_backends import T0, pg_schema_url, store, store_url  # noqa: F401  (fixtures)

from gateway.document import Document
from gateway.store import ClaimLost, DeliveryState, NewDelivery, Store
from gateway.store.schema import deliveries


def _queue(store: Store, count: int, due: dt.datetime = T0) -> list[int]:  # noqa: F811
    """Accept one invoice with ``count`` deliveries due at ``due``."""
    doc = Document(b"<Invoice/>", "ubl", "peppol-bis3", "INV-1")
    news = [NewDelivery(f"buyer-{i}", "as2", due) for i in range(count)]
    result = store.accept(simple_invoice(), None, "DE123", documents=[doc], deliveries=news, now=T0)
    return list(result.delivery_ids)


def test_claims_only_due_and_queued(store: Store) -> None:  # noqa: F811
    """Not-yet-due and non-QUEUED deliveries are not claimed; due ones come oldest first."""
    later = _queue(store, 1, due=T0 + dt.timedelta(hours=1))
    store.accept(
        simple_invoice(number="INV-2"),
        None,
        "DE123",
        documents=[],
        deliveries=[NewDelivery("b", "print", T0 - dt.timedelta(minutes=5), document_index=None)],
        now=T0,
    )
    claimed = store.claim_due("w1", T0, limit=10, lease_seconds=60)
    assert [c.id for c in claimed] == [later[0] + 1]
    assert store.claim_due("w2", T0, limit=10) == []
    store.record_attempt(claimed[0].id, "w1", DeliveryState.SENT, now=T0)
    # an hour later: the SENT one is not claimable however old; the other one now is
    assert [c.id for c in store.claim_due("w2", T0 + dt.timedelta(hours=1))] == later


def test_due_order_oldest_first(store: Store) -> None:  # noqa: F811
    """Due deliveries are claimed in next-attempt order, not insertion order."""
    first = _queue(store, 1, due=T0)
    store.accept(
        simple_invoice(number="INV-2"),
        None,
        "DE123",
        documents=[],
        deliveries=[NewDelivery("b", "print", T0 - dt.timedelta(minutes=5), document_index=None)],
        now=T0,
    )
    assert [c.id for c in store.claim_due("w1", T0)] == [first[0] + 1, first[0]]


def test_limit_and_claim_fields(store: Store) -> None:  # noqa: F811
    """At most ``limit`` are claimed; each names its worker and expiry (now + lease)."""
    _queue(store, 5)
    claimed = store.claim_due("w1", T0, limit=3, lease_seconds=90)
    assert len(claimed) == 3
    assert {c.claimed_by for c in claimed} == {"w1"}
    assert {c.claim_expires_at for c in claimed} == {T0 + dt.timedelta(seconds=90)}
    assert len(store.claim_due("w2", T0, limit=10)) == 2


def test_claim_expires(store: Store) -> None:  # noqa: F811
    """A claim blocks others until its expiry; after it another worker takes over, and the
    first worker can no longer record its attempt."""
    (delivery_id,) = _queue(store, 1)
    assert len(store.claim_due("w1", T0, lease_seconds=60)) == 1
    assert store.claim_due("w2", T0 + dt.timedelta(seconds=59)) == []
    taken = store.claim_due("w2", T0 + dt.timedelta(seconds=60))
    assert [c.id for c in taken] == [delivery_id]
    with pytest.raises(ClaimLost, match="w1"):
        store.record_attempt(delivery_id, "w1", DeliveryState.SENT, now=T0)
    row = store.record_attempt(delivery_id, "w2", DeliveryState.SENT, now=T0)
    assert row.state is DeliveryState.SENT and row.claimed_by is None and row.attempt == 1


def test_release_expired(store: Store) -> None:  # noqa: F811
    """release_expired frees only expired claims and logs claim_expired for each."""
    _queue(store, 2)
    store.claim_due("w1", T0, limit=1, lease_seconds=10)
    store.claim_due("w2", T0, limit=1, lease_seconds=100)
    assert store.release_expired(T0 + dt.timedelta(seconds=50)) == 1
    rows = {r.claimed_by for r in store.deliveries()}
    assert rows == {None, "w2"}
    assert [e.kind for e in store.timeline("INV-1")].count("claim_expired") == 1


def test_retry_requeues_with_backoff(store: Store) -> None:  # noqa: F811
    """A transient failure re-queues at the given time, counts the attempt, keeps evidence."""
    (delivery_id,) = _queue(store, 1)
    store.claim_due("w1", T0)
    retry = T0 + dt.timedelta(minutes=5)
    row = store.record_attempt(
        delivery_id,
        "w1",
        DeliveryState.QUEUED,
        now=T0,
        next_attempt_at=retry,
        evidence=b"HTTP/1.1 503",
        level="warning",
    )
    assert (row.state, row.attempt, row.next_attempt_at) == (DeliveryState.QUEUED, 1, retry)
    assert store.claim_due("w1", T0 + dt.timedelta(minutes=4)) == []
    assert [c.attempt for c in store.claim_due("w1", retry)] == [1]
    assert store.timeline("INV-1")[-1].evidence == b"HTTP/1.1 503"


def test_concurrent_workers_never_share_a_delivery(store: Store) -> None:  # noqa: F811
    """Four threads claiming in small batches get every delivery exactly once."""
    ids = _queue(store, 120)
    start = threading.Barrier(4)

    def work(worker: str) -> list[int]:
        start.wait()
        mine: list[int] = []
        while batch := store.claim_due(worker, T0, limit=3):
            mine.extend(c.id for c in batch)
        return mine

    with ThreadPoolExecutor(4) as pool:
        results = list(pool.map(work, ["w1", "w2", "w3", "w4"]))
    claimed = [i for r in results for i in r]
    assert sorted(claimed) == sorted(ids)  # each exactly once


def test_postgresql_skips_locked_rows() -> None:
    """On PostgreSQL a row locked by another transaction is skipped at once, not waited for."""
    with pg_schema_url() as url:
        opened = Store.open(url)
        opened.migrate()
        try:
            ids = _queue(opened, 3)
            with opened.engine.connect() as other, other.begin():
                other.execute(
                    sa.select(deliveries.c.id).where(deliveries.c.id == ids[0]).with_for_update()
                )
                pool = ThreadPoolExecutor(1)
                try:  # a claim that waits on the lock fails here instead of hanging
                    claimed = pool.submit(opened.claim_due, "w1", T0, 10).result(timeout=5)
                finally:
                    pool.shutdown(wait=False)
            assert [c.id for c in claimed] == ids[1:]
            assert [c.id for c in opened.claim_due("w2", T0, limit=10)] == ids[:1]
        finally:
            opened.close()
