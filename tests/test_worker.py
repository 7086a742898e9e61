"""Worker: send, retry with backoff, FAILED then fallback, connector bugs, graceful stop."""

from __future__ import annotations

import datetime as dt
import threading

import pytest
from builders import simple_invoice
from store_backends import T0, store, store_url  # noqa: F401  (fixtures)

from connectors.base import Connector, Receipt
from connectors.memory import MemoryConnector
from gateway.delivery.errors import ConnectionFailed, RateLimited, Rejected, Timeout
from gateway.delivery.worker import Worker, channel_names, next_proof_deadline
from gateway.document import Document
from gateway.profiles.load import ProfileSet
from gateway.profiles.profile import BuyerProfile, ChannelSpec, ProofPolicy, RetryPolicy
from gateway.store import DeliveryState, NewDelivery, Store


class Clock:
    """A clock the test moves by hand."""

    def __init__(self, start: dt.datetime = T0) -> None:
        self.now = start

    def __call__(self) -> dt.datetime:
        return self.now


def _profile(**changes: object) -> BuyerProfile:
    """Buyer 'acme': memory channel 'primary', fallback memory channel 'backup'."""
    base = BuyerProfile(
        name="acme",
        channel=ChannelSpec(connector="memory", options={"channel": "primary"}),
        fallback=(ChannelSpec(connector="memory", options={"channel": "backup"}),),
        retry=RetryPolicy(attempts=5, backoff_base=dt.timedelta(seconds=30), jitter=0.1),
        proof=ProofPolicy(transport=dt.timedelta(hours=1), business=dt.timedelta(days=3)),
    )
    return base.model_copy(update=changes)


def _accept(store: Store, number: str = "INV-1", channel: str = "memory") -> int:  # noqa: F811
    """Accept an invoice with one document and one delivery for 'acme'; its delivery id."""
    doc = Document(f"<Invoice>{number}</Invoice>".encode(), "ubl", "peppol-bis3", number)
    result = store.accept(
        simple_invoice(number=number),
        None,
        "DE123",
        documents=[doc],
        deliveries=[NewDelivery("acme", channel, T0)],
        now=T0,
    )
    return result.delivery_ids[0]


@pytest.fixture
def memories() -> dict[str, MemoryConnector]:
    """The memory connectors by channel option; the worker's factory hands these out."""
    return {"primary": MemoryConnector(channel="primary"), "backup": MemoryConnector(channel="b")}


def _worker(
    store: Store,  # noqa: F811
    memories: dict[str, MemoryConnector],
    clock: Clock,
    profile: BuyerProfile | None = None,
    **options: object,
) -> Worker:
    built: list[str] = []

    def factory(spec: ChannelSpec) -> Connector:
        built.append(str(spec.options["channel"]))
        return memories[str(spec.options["channel"])]

    worker = Worker(
        store,
        ProfileSet((profile or _profile(),)),
        clock=clock,
        worker_id="w1",
        connectors=factory,
        random=lambda: 0.5,
        **options,  # type: ignore[arg-type]
    )
    worker.built = built  # type: ignore[attr-defined]
    return worker


def test_retry_backoff_fallback_timeline(
    store: Store,  # noqa: F811
    memories: dict[str, MemoryConnector],
) -> None:
    """Transient, transient, permanent: backoff grows, FAILED, switch to backup, delivered there."""
    clock = Clock()
    primary_id = _accept(store)
    memories["primary"].script(ConnectionFailed("refused"), Timeout("no answer"), Rejected("4xx"))
    worker = _worker(store, memories, clock)
    retries: list[dt.datetime] = []
    for _ in range(2):
        assert worker.run_once() == 1
        row = store.delivery(primary_id)
        assert row.state is DeliveryState.QUEUED and row.next_attempt_at is not None
        retries.append(row.next_attempt_at)
        clock.now = row.next_attempt_at - dt.timedelta(seconds=1)
        assert worker.run_once() == 0  # not due yet
        clock.now = row.next_attempt_at
    assert retries == [T0 + dt.timedelta(seconds=30), T0 + dt.timedelta(seconds=30 + 60)]
    assert worker.run_once() == 1  # Rejected: FAILED, fallback queued in the same step
    assert store.delivery(primary_id).state is DeliveryState.FAILED
    assert worker.run_once() == 1  # the backup channel delivers
    rows = store.deliveries()
    assert [(r.channel, r.state, r.attempt) for r in rows] == [
        ("memory", DeliveryState.FAILED, 3),
        ("memory#1", DeliveryState.DELIVERED, 1),
    ]
    assert len(memories["backup"].sent) == 1 and memories["primary"].sent == []
    assert rows[1].next_attempt_at == clock.now + dt.timedelta(days=3)  # business proof due
    assert rows[1].message_id == "memory-1"
    assert worker.built == ["primary", "backup"]  # type: ignore[attr-defined]
    events = [(e.kind, e.state_to, e.detail) for e in store.timeline("INV-1")]
    assert [(k, s) for k, s, _ in events] == [
        ("accepted", None),
        ("queued", "QUEUED"),
        ("attempt", "QUEUED"),
        ("attempt", "QUEUED"),
        ("attempt", "FAILED"),
        ("fallback", "QUEUED"),
        ("attempt", "SENT"),
        ("transport_proof", "DELIVERED"),
    ]
    assert (
        "attempt 1 of 5: ConnectionFailed: refused; next attempt at 2026-11-24T12:00:30"
        in (events[2][2])
    )
    assert "attempt 2 of 5: Timeout: no answer; next attempt at 2026-11-24T12:01:30" in events[3][2]
    assert "attempt 3: Rejected: 4xx; falling back to memory#1" in events[4][2]
    assert "switching to memory#1" in events[5][2]
    assert "attempt 1: sent via memory:b as memory-1" in events[6][2]
    assert "memory confirmed receipt of memory-1" in events[7][2]
    proof_event = store.timeline("INV-1")[-1]
    assert proof_event.evidence is not None and proof_event.evidence.startswith(b"memory accepted")
    assert store.delivery(rows[1].id).transport_ack == "received"
    assert worker.stats.retried == 2 and worker.stats.fallbacks == 1


def test_attempts_exhausted_without_fallback(
    store: Store,  # noqa: F811
    memories: dict[str, MemoryConnector],
) -> None:
    """A retryable failure on the last allowed attempt ends FAILED; no fallback is invented."""
    clock = Clock()
    delivery_id = _accept(store)
    memories["primary"].script(ConnectionFailed("a"), ConnectionFailed("b"))
    profile = _profile(fallback=(), retry=RetryPolicy(attempts=2, jitter=0.0))
    worker = _worker(store, memories, clock, profile)
    worker.run_once()
    clock.now = T0 + dt.timedelta(hours=1)
    worker.run_once()
    row = store.delivery(delivery_id)
    assert (row.state, row.attempt) == (DeliveryState.FAILED, 2)
    last = store.timeline("INV-1")[-1]
    assert (
        "attempt 2 of 2" in last.detail and "no attempts left; no fallback channel" in last.detail
    )
    assert len(store.deliveries()) == 1


def test_jitter_and_rate_limit(store: Store, memories: dict[str, MemoryConnector]) -> None:  # noqa: F811
    """The random source spreads the delay; a RateLimited retry_after longer than it wins."""
    clock = Clock()
    first, second = _accept(store, "INV-1"), _accept(store, "INV-2")
    memories["primary"].script(ConnectionFailed("x"), RateLimited("slow", retry_after=600))
    worker = _worker(store, memories, clock)
    worker.random = lambda: 1.0
    worker.run_once()
    assert store.delivery(first).next_attempt_at == T0 + dt.timedelta(seconds=33)
    assert store.delivery(second).next_attempt_at == T0 + dt.timedelta(seconds=600)


class _Buggy:
    """A connector that lets a foreign exception escape (a bug), then a proofless success."""

    name = "buggy"
    channel = "buggy:x"

    def __init__(self) -> None:
        self.calls = 0

    def send(self, document: Document, *, delivery_id: str, idempotency_key: str) -> Receipt:
        self.calls += 1
        if self.calls == 1:
            raise KeyError("oops")
        return Receipt("buggy", self.channel, "r-1", idempotency_key, T0, transport_proof=False)


def test_connector_bug_is_retried_not_fatal(store: Store) -> None:  # noqa: F811
    """A foreign exception from send is recorded as a retryable connector bug; later SENT."""
    clock = Clock()
    delivery_id = _accept(store, channel="buggy")
    buggy = _Buggy()
    profile = BuyerProfile(name="acme", channel=ChannelSpec(connector="buggy"))
    worker = Worker(
        store, ProfileSet((profile,)), clock=clock, worker_id="w1", connectors=lambda s: buggy
    )
    worker.run_once()
    row = store.delivery(delivery_id)
    assert row.state is DeliveryState.QUEUED and worker.stats.connector_bugs == 1
    assert "KeyError('oops')" in store.timeline("INV-1")[-1].detail
    clock.now = T0 + dt.timedelta(hours=2)
    worker.run_once()
    row = store.delivery(delivery_id)
    assert row.state is DeliveryState.SENT
    assert row.next_attempt_at == clock.now + dt.timedelta(hours=1)  # transport proof awaited


def test_unknown_profile_or_channel_fails_with_hint(store: Store) -> None:  # noqa: F811
    """A delivery whose profile or channel is gone ends FAILED, naming what is accepted."""
    clock = Clock()
    gone = _accept(store, "INV-1", channel="sftp")
    worker = Worker(store, ProfileSet((_profile(),)), clock=clock, worker_id="w1")
    worker.run_once()
    assert store.delivery(gone).state is DeliveryState.FAILED
    detail = store.timeline("INV-1")[-1].detail
    assert "has no channel 'sftp'; accepted: memory, memory#1" in detail


def test_stop_releases_unstarted_claims(
    store: Store,  # noqa: F811
    memories: dict[str, MemoryConnector],
) -> None:
    """A stop during a batch lets the current send finish and releases the rest, unclaimed."""
    clock = Clock()
    ids = [_accept(store, f"INV-{i}") for i in range(4)]
    stop = threading.Event()
    primary = memories["primary"]
    original = primary.send

    def send_then_stop(document: Document, *, delivery_id: str, idempotency_key: str) -> Receipt:
        stop.set()  # SIGTERM arrives during the first send
        return original(document, delivery_id=delivery_id, idempotency_key=idempotency_key)

    primary.send = send_then_stop  # type: ignore[method-assign]
    worker = _worker(store, memories, clock)
    stats = worker.run(stop)
    rows = {r.id: r for r in store.deliveries()}
    assert rows[ids[0]].state is DeliveryState.DELIVERED
    assert all(
        rows[i].state is DeliveryState.QUEUED and rows[i].claimed_by is None for i in ids[1:]
    )
    assert stats.released == 3 and len(primary.sent) == 1


def test_restart_releases_own_orphaned_claims(
    store: Store,  # noqa: F811
    memories: dict[str, MemoryConnector],
) -> None:
    """A worker restarting under the same id takes back the claims its killed life left."""
    clock = Clock()
    delivery_id = _accept(store)
    store.claim_due("w1", T0, lease_seconds=3600)  # the earlier life died holding it
    worker = _worker(store, memories, clock)
    stats = worker.run(threading.Event(), until_empty=True)
    assert store.delivery(delivery_id).state is DeliveryState.DELIVERED
    assert stats.released == 1 and stats.delivered == 1


def test_channel_names_and_deadlines() -> None:
    """Repeated aliases get #position; deadlines follow the proof levels still awaited."""
    profile = _profile(
        fallback=(ChannelSpec(connector="memory"), ChannelSpec(connector="file")),
        proof=ProofPolicy(transport=None, syntax=dt.timedelta(hours=2)),
    )
    assert channel_names(profile) == ["memory", "memory#1", "file"]
    assert next_proof_deadline(profile, DeliveryState.SENT, T0) == T0 + dt.timedelta(hours=2)
    assert (
        next_proof_deadline(
            _profile(proof=ProofPolicy(transport=None)), DeliveryState.DELIVERED, T0
        )
        is None
    )


def test_expired_claim_taken_over_once(
    store: Store,  # noqa: F811
    memories: dict[str, MemoryConnector],
) -> None:
    """A claim whose lease ran out is taken over; the slow first holder's late result is
    dropped as a lost claim, and the idempotent connector delivered once."""
    delivery_id = _accept(store)
    slow = store.claim_due("w1", T0, lease_seconds=60)[0]
    late = Clock(T0 + dt.timedelta(seconds=61))
    taker = _worker(store, memories, late)
    taker.worker_id = "w2"
    assert taker.run_once() == 1
    first = _worker(store, memories, late)
    first.process(slow)
    assert first.stats.claims_lost == 1
    assert store.delivery(delivery_id).state is DeliveryState.DELIVERED
    assert len(memories["primary"].sent) == 1
    assert [e.kind for e in store.timeline("INV-1")].count("attempt") == 1


def test_concurrent_sends_deliver_each_once(store: Store) -> None:  # noqa: F811
    """With 8 sends in flight, 40 deliveries are each sent once and all recorded DELIVERED."""
    memory = MemoryConnector(channel="primary")
    ids = [_accept(store, f"INV-{i}") for i in range(40)]
    worker = Worker(
        store,
        ProfileSet((_profile(),)),
        clock=Clock(),
        worker_id="w1",
        connectors=lambda _spec: memory,
        concurrency=8,
        batch_size=40,
    )
    assert worker.run_once() == 40
    worker.close()
    assert sorted(int(s.delivery_id) for s in memory.sent) == sorted(ids)
    assert {r.state for r in store.deliveries()} == {DeliveryState.DELIVERED}
    assert worker.stats.delivered == 40


def test_a_channel_whose_connector_cannot_be_built_falls_back(
    store: Store,  # noqa: F811
    memories: dict[str, MemoryConnector],
) -> None:
    """A primary channel that cannot be used (a secret reference that does not resolve) fails
    naming why, and the profile's fallback channel is queued and delivers."""
    from gateway.errors import ConfigError

    clock = Clock()
    delivery_id = _accept(store)

    def factory(spec: ChannelSpec) -> Connector:
        if spec.options["channel"] == "primary":
            raise ConfigError("secret 'env:NOPE': environment variable NOPE is not set")
        return memories[str(spec.options["channel"])]

    worker = Worker(
        store, ProfileSet((_profile(),)), clock=clock, worker_id="w1", connectors=factory
    )
    worker.run_once()
    assert store.delivery(delivery_id).state is DeliveryState.FAILED
    failed = [e for e in store.timeline("INV-1") if "NOPE" in (e.detail or "")]
    assert failed and "falling back to memory#1" in failed[-1].detail
    worker.run_once()
    assert len(memories["backup"].sent) == 1
