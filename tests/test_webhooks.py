"""Webhooks: the outbox is written with the event, the dispatcher signs (Standard Webhooks),
retries, orders per invoice, disables on 410 and refuses private targets unless allowed."""

from __future__ import annotations

import datetime as dt
import ipaddress
import json
import socket
import threading
from typing import Any

import pytest
import sqlalchemy as sa
from builders import simple_invoice
from standardwebhooks import Webhook
from store_backends import T0, store, store_url  # noqa: F401  (fixtures)
from webhook_receiver import receiver

from gateway.document import Document
from gateway.store import DeliveryState, NewDelivery, Store
from gateway.store import webhooks as hooks
from gateway.store.inbound import record_inbound
from gateway.store.schema_webhooks import webhook_outbox
from gateway.store.webhooks import (
    DELIVERY_STATE_CHANGED,
    EVENT_TYPES,
    INBOUND_RECEIVED,
    WebhookStore,
)
from gateway.webhooks.dispatch import DELAYS, MAX_ATTEMPTS, Dispatcher
from gateway.webhooks.secrets import generate_secret

LOOPBACK = (ipaddress.ip_network("127.0.0.1/32"),)


class Clock:
    """A clock the test drives."""

    def __init__(self, now: dt.datetime = T0) -> None:
        self.now = now

    def __call__(self) -> dt.datetime:
        return self.now


def _invoice(store: Store, number: str) -> tuple[int, int]:  # noqa: F811
    """Accept invoice ``number`` with one delivery; (invoice id, delivery id)."""
    doc = Document(b"<Invoice/>", "ubl", "peppol-bis3", number)
    result = store.accept(
        simple_invoice(number=number),
        None,
        "DE123",
        documents=[doc],
        deliveries=[NewDelivery("buyer", "as2", T0)],
        now=T0,
    )
    return result.invoice_id, result.delivery_ids[0]


def _walk(store: Store, delivery_id: int, now: dt.datetime = T0) -> None:  # noqa: F811
    """QUEUED -> SENT -> DELIVERED: two state changes."""
    store.mark(delivery_id, DeliveryState.SENT, now=now, kind="attempt", detail="sent")
    store.mark(delivery_id, DeliveryState.DELIVERED, now=now, kind="proof", detail="proof")


def _subscribe(store: Store, url: str, events: tuple[str, ...] = EVENT_TYPES) -> tuple[int, str]:  # noqa: F811
    secret = generate_secret()
    sub = WebhookStore.of(store).add_subscription(url, events, secret, T0)
    return sub.id, secret


def _outbox(store: Store) -> list[hooks.OutboxRow]:  # noqa: F811
    return WebhookStore.of(store).outbox(limit=10_000)


def _dispatcher(store: Store, clock: Clock, **options: Any) -> Dispatcher:  # noqa: F811
    defaults: dict[str, Any] = {"allow_networks": LOOPBACK, "worker_id": "test-dispatcher"}
    return Dispatcher(store.engine, clock=clock, random=lambda: 0.5, **(defaults | options))


def _drain(dispatcher: Dispatcher, clock: Clock, *, until: dt.datetime | None = None) -> None:
    """Run the dispatcher, jumping the clock to the next due row, until nothing is pending
    (or the clock passed ``until``)."""
    while True:
        if dispatcher.run_once():
            continue
        due = hooks.next_due(dispatcher.engine)
        if due is None or (until is not None and due > until):
            return
        clock.now = max(clock.now, due)


def test_state_changes_join_the_outbox_with_the_event(store: Store) -> None:  # noqa: F811
    """A delivery's state change writes one outbox row per matching enabled subscription of
    the tenant, typed, with from/to and the invoice as ordering key; none without one."""
    invoice_id, delivery_id = _invoice(store, "INV-1")
    store.mark(delivery_id, DeliveryState.SENT, now=T0, kind="attempt", detail="x")
    assert _outbox(store) == []  # no subscription: nothing
    wanted, _ = _subscribe(store, "https://a.example/h", (DELIVERY_STATE_CHANGED,))
    _subscribe(store, "https://b.example/h", (INBOUND_RECEIVED,))
    off, _ = _subscribe(store, "https://c.example/h", (DELIVERY_STATE_CHANGED,))
    WebhookStore.of(store).update_subscription(off, T0, enabled=False)
    WebhookStore(store.engine, "other").add_subscription(
        "https://d.example/h", (DELIVERY_STATE_CHANGED,), generate_secret(), T0
    )
    store.mark(delivery_id, DeliveryState.DELIVERED, now=T0, kind="proof", detail="proof")
    rows = _outbox(store)
    assert [(r.subscription_id, r.type, r.invoice_id, r.tenant) for r in rows] == [
        (wanted, DELIVERY_STATE_CHANGED, invoice_id, "default")
    ]
    data = json.loads(rows[0].payload)["data"]
    assert (data["from"], data["to"], data["delivery_id"]) == ("SENT", "DELIVERED", delivery_id)


def test_rolled_back_event_leaves_no_outbox_row(store: Store) -> None:  # noqa: F811
    """The outbox row is in the event's transaction: a rollback drops both."""
    invoice_id, delivery_id = _invoice(store, "INV-1")
    _subscribe(store, "https://a.example/h")
    with pytest.raises(RuntimeError), store._write() as db:
        store._event(
            db, T0, invoice_id, delivery_id, "attempt", level="info", detail="x",
            state_from="QUEUED", state_to="SENT",
        )  # fmt: skip
        assert db.scalar(sa.select(sa.func.count()).select_from(webhook_outbox)) == 1
        raise RuntimeError("crash before commit")
    assert _outbox(store) == []


def test_worker_outcomes_and_inbound_join_the_outbox(store: Store) -> None:  # noqa: F811
    """record_attempts (the worker's bulk path) and a new inbound message write outbox rows;
    a duplicate inbound message writes none."""
    from gateway.store.records import Attempt

    _invoice(store, "INV-1")
    _subscribe(store, "https://a.example/h")
    claimed = store.claim_due("w1", T0, 10)
    attempt = Attempt(
        claimed[0].id, DeliveryState.SENT, detail="sent", next_attempt_at=None, level="info"
    )
    store.record_attempts([attempt], "w1", now=T0)
    for _ in range(2):
        record_inbound(
            store, channel="as2", partner="acme", message_id="<m1>", media_type="x",
            content=b"x", now=T0,
        )  # fmt: skip
    assert [r.type for r in _outbox(store)] == [DELIVERY_STATE_CHANGED, INBOUND_RECEIVED]


def test_signature_verifies_with_the_reference_verifier(store: Store) -> None:  # noqa: F811
    """A real loopback receiver gets each message once with webhook-id/-timestamp/-signature
    that standardwebhooks' own Webhook(secret).verify accepts; the row is DELIVERED."""
    clock = Clock()
    with receiver() as got:
        _, secret = _subscribe(store, got.url)
        _, delivery_id = _invoice(store, "INV-1")
        _walk(store, delivery_id)
        dispatcher = _dispatcher(store, clock)
        _drain(dispatcher, clock)
        dispatcher.close()
    assert len(got.requests) == 2
    for request in got.requests:
        body = Webhook(secret).verify(request.body, request.headers)
        assert body["type"] == DELIVERY_STATE_CHANGED
        assert request.headers["webhook-id"].startswith("msg_")
    with pytest.raises(Exception, match="signature"):
        Webhook(generate_secret()).verify(got.requests[0].body, got.requests[0].headers)
    rows = _outbox(store)
    assert {r.state for r in rows} == {"DELIVERED"}
    assert [a.status_code for a in WebhookStore.of(store).attempts()] == [200, 200]


def test_receiver_down_for_an_hour_then_back(store: Store) -> None:  # noqa: F811
    """Connection refused, then 503, for a simulated hour; when the receiver answers 200 every
    event arrives, in order per invoice, and every failed attempt is logged."""
    clock = Clock()
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    sock.close()  # nothing listens: connection refused
    url = f"http://127.0.0.1:{port}/hooks"
    _subscribe(store, url, (DELIVERY_STATE_CHANGED,))
    deliveries = [_invoice(store, f"INV-{n}")[1] for n in range(3)]
    for delivery_id in deliveries:
        _walk(store, delivery_id)
    dispatcher = _dispatcher(store, clock)
    _drain(dispatcher, clock, until=T0 + dt.timedelta(minutes=20))
    refused = len(WebhookStore.of(store).attempts(limit=1000))
    assert refused > 0
    with receiver(port) as got:
        got.answer = lambda _r: 503
        _drain(dispatcher, clock, until=T0 + dt.timedelta(hours=1))
        assert all(r.state == "PENDING" for r in _outbox(store))
        got.answer = lambda _r: 200
        clock.now = T0 + dt.timedelta(hours=1)
        _drain(dispatcher, clock)
    dispatcher.close()
    delivered = [json.loads(r.body)["data"] for r in got.requests if r.body]
    per_invoice: dict[int, list[str]] = {}
    for data in delivered:
        if data["to"] not in per_invoice.get(data["invoice_id"], []):
            per_invoice.setdefault(data["invoice_id"], []).append(data["to"])
    assert list(per_invoice.values()) == [["SENT", "DELIVERED"]] * 3
    assert {r.state for r in _outbox(store)} == {"DELIVERED"}
    log = WebhookStore.of(store).attempts(limit=1000)
    assert any(a.status_code == 503 for a in log) and any(a.status_code is None for a in log)


def test_gone_disables_the_subscription(store: Store) -> None:  # noqa: F811
    """410 Gone fails the row and disables the subscription; its later messages wait."""
    clock = Clock()
    with receiver() as got:
        got.answer = lambda _r: 410
        sub_id, _ = _subscribe(store, got.url)
        _, delivery_id = _invoice(store, "INV-1")
        _walk(store, delivery_id)
        dispatcher = _dispatcher(store, clock)
        _drain(dispatcher, clock)
        dispatcher.close()
    assert len(got.requests) == 1
    sub = WebhookStore.of(store).subscription(sub_id)
    assert sub is not None and not sub.enabled and "410" in (sub.disabled_reason or "")
    assert [r.state for r in _outbox(store)] == ["FAILED", "PENDING"]


def test_client_errors_fail_after_a_few_attempts_and_redeliver(store: Store) -> None:  # noqa: F811
    """A 400 is retried twice, then FAILED; redeliver makes it due again with the same
    webhook-id."""
    clock = Clock()
    with receiver() as got:
        got.answer = lambda _r: 400
        sub_id, _ = _subscribe(store, got.url, (INBOUND_RECEIVED,))
        record_inbound(
            store, channel="as2", partner="acme", message_id="<m1>", media_type="x",
            content=b"x", now=T0,
        )  # fmt: skip
        dispatcher = _dispatcher(store, clock)
        _drain(dispatcher, clock)
        assert len(got.requests) == 3 and _outbox(store)[0].state == "FAILED"
        got.answer = lambda _r: 204
        assert WebhookStore.of(store).redeliver(clock.now, subscription_id=sub_id) == 1
        _drain(dispatcher, clock)
        dispatcher.close()
    assert _outbox(store)[0].state == "DELIVERED"
    assert len({r.headers["webhook-id"] for r in got.requests}) == 1


def test_backoff_spans_more_than_a_day_before_failed(store: Store) -> None:  # noqa: F811
    """A receiver answering 503 forever: the row is attempted MAX_ATTEMPTS times over more than
    24 hours (even with the shortest jitter), then FAILED."""
    assert sum(DELAYS) * 0.9 > 24 * 3600
    clock = Clock()
    with receiver() as got:
        got.answer = lambda _r: 503
        _subscribe(store, got.url, (INBOUND_RECEIVED,))
        record_inbound(
            store, channel="as2", partner="acme", message_id="<m1>", media_type="x",
            content=b"x", now=T0,
        )  # fmt: skip
        dispatcher = _dispatcher(store, clock)
        dispatcher.random = lambda: 0.0
        _drain(dispatcher, clock)
        dispatcher.close()
    log = WebhookStore.of(store).attempts()
    assert len(got.requests) == MAX_ATTEMPTS == len(log)
    assert log[-1].at - log[0].at > dt.timedelta(hours=24)
    assert _outbox(store)[0].state == "FAILED"


def test_private_targets_are_refused_unless_allowed(store: Store) -> None:  # noqa: F811
    """Without an allowed network a loopback URL is never contacted; the attempt is logged."""
    clock = Clock()
    with receiver() as got:
        _subscribe(store, got.url, (INBOUND_RECEIVED,))
        record_inbound(
            store, channel="as2", partner="acme", message_id="<m1>", media_type="x",
            content=b"x", now=T0,
        )  # fmt: skip
        dispatcher = _dispatcher(store, clock, allow_networks=())
        dispatcher.run_once()
        dispatcher.close()
    assert got.requests == []
    assert "127.0.0.1" in (WebhookStore.of(store).attempts()[0].error or "")


def test_order_per_invoice_with_two_dispatchers(store: Store) -> None:  # noqa: F811
    """Two dispatchers with 8 threads each on one outbox: every message once, each invoice's
    messages in the order of its events."""
    with receiver() as got:
        _subscribe(store, got.url, (DELIVERY_STATE_CHANGED,))
        ids = [_invoice(store, f"INV-{n}")[1] for n in range(12)]
        for round_ in range(3):
            for delivery_id in ids:
                state = DeliveryState.SENT if round_ % 2 == 0 else DeliveryState.QUEUED
                store.mark(delivery_id, state, now=T0, kind="attempt", detail=str(round_))
        workers = [
            Dispatcher(
                store.engine,
                worker_id=f"d{n}",
                concurrency=8,
                batch_size=5,
                allow_networks=LOOPBACK,
            )
            for n in range(2)
        ]

        def drain(dispatcher: Dispatcher) -> None:
            """Real clock: nothing is re-claimed while its sender lives."""
            while hooks.pending_count(store.engine):
                dispatcher.run_once()

        threads = [threading.Thread(target=drain, args=(w,)) for w in workers]
        for t in threads:
            t.start()
        for t in threads:
            t.join(60)
        for w in workers:
            w.close()
    seen: dict[int, list[str]] = {}
    for request in got.requests:
        data = json.loads(request.body)["data"]
        seen.setdefault(data["delivery_id"], []).append(data["detail"])
    assert len(got.requests) == 36
    assert all(details == ["0", "1", "2"] for details in seen.values())


def test_one_dispatcher_thread_per_store_in_a_process(store: Store) -> None:  # noqa: F811
    """Workers of several tenants in one process share one dispatcher thread, stopped when
    the last of them stops."""
    from gateway.webhooks import dispatch

    first = dispatch.start_dispatcher(store.engine, 0.05)
    second = dispatch.start_dispatcher(store.engine, 0.05)
    threads = [t for t in threading.enumerate() if t.name == "igw-webhooks"]
    assert len(threads) == 1
    first.stop()
    assert threads[0].is_alive()
    second.stop()
    assert not threads[0].is_alive()


def test_a_secret_by_reference_is_read_at_send_time(
    store: Store,  # noqa: F811
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A subscription whose secret is env:NAME is signed with the variable's key as it is when
    the message goes out (rotated without a restart); an unset variable is a logged error."""
    clock = Clock()
    first, rotated = generate_secret(), generate_secret()
    with receiver() as got:
        WebhookStore.of(store).add_subscription(got.url, EVENT_TYPES, "env:IGW_TEST_HOOK", T0)
        monkeypatch.delenv("IGW_TEST_HOOK", raising=False)
        _, delivery_id = _invoice(store, "INV-1")
        store.mark(delivery_id, DeliveryState.SENT, now=T0, kind="attempt", detail="x")
        dispatcher = _dispatcher(store, clock)
        dispatcher.run_once()
        assert got.requests == []
        assert "IGW_TEST_HOOK is not set" in (WebhookStore.of(store).attempts()[0].error or "")
        monkeypatch.setenv("IGW_TEST_HOOK", first)
        _drain(dispatcher, clock)
        monkeypatch.setenv("IGW_TEST_HOOK", rotated)
        store.mark(delivery_id, DeliveryState.DELIVERED, now=T0, kind="proof", detail="y")
        _drain(dispatcher, clock)
        dispatcher.close()
    Webhook(first).verify(got.requests[0].body, got.requests[0].headers)
    Webhook(rotated).verify(got.requests[1].body, got.requests[1].headers)
