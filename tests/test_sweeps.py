"""Sweeps with a controllable clock on SQLite and PostgreSQL: overdue proof, claims, polling."""

from __future__ import annotations

import datetime as dt
import logging
import threading
import time
from pathlib import Path

import pytest
from builders import simple_invoice
from store_backends import T0, store, store_url  # noqa: F401  (fixtures)

from connectors.memory import MemoryConnector
from gateway.delivery.acks_in import AckRouter
from gateway.delivery.sweeps import (
    Sweeper,
    SweepIntervals,
    sweep_claims,
    sweep_overdue,
    sweep_poll,
)
from gateway.document import Document
from gateway.profiles.profile import BuyerProfile, ChannelSpec, ProofPolicy
from gateway.store import DeliveryState, NewDelivery, Store

HOUR = dt.timedelta(hours=1)


def profile_for(on_overdue: str, *, fallback: bool = True, **proof: str) -> BuyerProfile:
    """Buyer 'acme' on the memory channel, falling back to 'file', proof as given."""
    return BuyerProfile(
        name="acme",
        channel=ChannelSpec(connector="memory"),
        fallback=(ChannelSpec(connector="file"),) if fallback else (),
        proof=ProofPolicy.model_validate({"transport": "1h", **proof, "on_overdue": on_overdue}),
    )


def submit(store: Store, number: str = "INV-1") -> int:  # noqa: F811
    """Accept one invoice with one document and one delivery to 'acme' via memory, due at T0."""
    doc = Document(f"<Invoice>{number}</Invoice>".encode(), "ubl", "peppol-bis3", number)
    result = store.accept(
        simple_invoice(number=number),
        None,
        "DE123",
        documents=[doc],
        deliveries=[NewDelivery("acme", "memory", T0)],
        now=T0,
    )
    return result.delivery_ids[0]


def work(
    store: Store,  # noqa: F811
    memory: MemoryConnector,
    now: dt.datetime,
    state: DeliveryState = DeliveryState.SENT,
) -> int:
    """The worker's part, as a test double: send every due delivery over ``memory`` and record
    ``state`` with a proof deadline one hour later (a channel without transport proof)."""
    claimed = store.claim_due("w", now)
    for c in claimed:
        assert c.document_id is not None
        stored = store.document(c.document_id)
        doc = Document(stored.content, stored.syntax, stored.format, "x")
        memory.send(doc, delivery_id=str(c.id), idempotency_key=c.idempotency_key)
        store.record_attempt(c.id, "w", DeliveryState.SENT, now=now, next_attempt_at=now + HOUR)
        if state is not DeliveryState.SENT:
            store.mark(c.id, state, now=now, kind="receipt", next_attempt_at=now + HOUR)
    return len(claimed)


def kinds(store: Store, delivery_id: int, number: str = "INV-1") -> list[str]:  # noqa: F811
    """The event kinds of one delivery, in order."""
    return [e.kind for e in store.timeline(number) if e.delivery_id == delivery_id]


def test_overdue_proof_resends_with_the_same_key_then_falls_back(store: Store) -> None:  # noqa: F811
    """on_overdue=fallback: resend (one stored message, same key), then FAILED + next channel."""
    profiles = {"acme": profile_for("fallback")}
    memory = MemoryConnector()
    first = submit(store)
    key = store.delivery(first).idempotency_key
    assert work(store, memory, T0) == 1

    assert sweep_overdue(store, profiles, T0 + 30 * dt.timedelta(minutes=1)).actions == ()
    report = sweep_overdue(store, profiles, T0 + HOUR + dt.timedelta(minutes=1))
    assert [(a.delivery_id, a.action) for a in report.actions] == [(first, "resend")]
    row = store.delivery(first)
    assert (row.state, row.idempotency_key) == (DeliveryState.QUEUED, key)

    assert work(store, memory, T0 + HOUR + dt.timedelta(minutes=1)) == 1
    assert len(memory.sent) == 1  # the re-send was deduplicated by its idempotency key
    assert memory.sent[0].receipt.idempotency_key == key

    later = T0 + 3 * HOUR
    report = sweep_overdue(store, profiles, later)
    assert [a.action for a in report.actions] == ["fallback"]
    new_id = report.actions[0].new_delivery_id
    assert new_id is not None and new_id != first
    old, new = store.delivery(first), store.delivery(new_id)
    assert old.state is DeliveryState.FAILED
    assert (new.state, new.channel, new.document_id) == (
        DeliveryState.QUEUED,
        "file",
        old.document_id,
    )
    assert new.idempotency_key != key
    assert kinds(store, first) == ["queued", "attempt", "resend", "attempt", "proof_overdue"]
    assert kinds(store, new_id) == ["fallback"]
    # the failed delivery is no longer awaiting proof: a later sweep leaves it alone
    assert sweep_overdue(store, profiles, later + 5 * HOUR).actions == ()


def test_remind_only_reminds_and_moves_the_deadline(store: Store) -> None:  # noqa: F811
    """on_overdue=remind: a reminder per overdue window, the state kept, nothing re-sent."""
    profiles = {"acme": profile_for("remind")}
    memory = MemoryConnector()
    first = submit(store)
    work(store, memory, T0)
    at = T0 + HOUR
    for _ in range(3):
        report = sweep_overdue(store, profiles, at)
        assert [a.action for a in report.actions] == ["reminder"]
        row = store.delivery(first)
        assert (row.state, row.next_attempt_at) == (DeliveryState.SENT, at + HOUR)
        assert sweep_overdue(store, profiles, at + dt.timedelta(minutes=59)).actions == ()
        at += HOUR
    assert kinds(store, first).count("reminder") == 3
    assert len(memory.sent) == 1 and memory.attempts == 1


def test_resend_once_then_remind(store: Store) -> None:  # noqa: F811
    """on_overdue=resend: the first overdue re-sends, the next ones remind."""
    profiles = {"acme": profile_for("resend")}
    memory = MemoryConnector()
    first = submit(store)
    work(store, memory, T0)
    assert [a.action for a in sweep_overdue(store, profiles, T0 + HOUR).actions] == ["resend"]
    work(store, memory, T0 + HOUR)
    assert [a.action for a in sweep_overdue(store, profiles, T0 + 2 * HOUR).actions] == ["reminder"]
    assert store.delivery(first).state is DeliveryState.SENT


def test_delivered_without_business_proof_falls_back_without_resend(store: Store) -> None:  # noqa: F811
    """A DELIVERED delivery cannot go back to QUEUED: fallback goes straight to the next channel."""
    profiles = {"acme": profile_for("fallback", business="1h")}
    first = submit(store)
    work(store, MemoryConnector(), T0, DeliveryState.DELIVERED)
    report = sweep_overdue(store, profiles, T0 + HOUR)
    assert [a.action for a in report.actions] == ["fallback"]
    assert store.delivery(first).state is DeliveryState.FAILED


def test_no_fallback_left_is_an_error_reminder(store: Store) -> None:  # noqa: F811
    """With no channel left after the current one the sweep reminds at level error."""
    profiles = {"acme": profile_for("fallback", fallback=False)}
    first = submit(store)
    work(store, MemoryConnector(), T0)
    sweep_overdue(store, profiles, T0 + HOUR)  # resend
    work(store, MemoryConnector(), T0 + HOUR)
    report = sweep_overdue(store, profiles, T0 + 2 * HOUR)
    assert [a.action for a in report.actions] == ["reminder"]
    last = [e for e in store.timeline("INV-1") if e.delivery_id == first][-1]
    assert (last.kind, last.level) == ("reminder", "error")
    assert store.delivery(first).state is DeliveryState.SENT


def test_complete_proof_clears_the_deadline(store: Store) -> None:  # noqa: F811
    """DELIVERED with only transport proof expected: the deadline is cleared, nothing sent."""
    profiles = {"acme": profile_for("fallback")}
    first = submit(store)
    work(store, MemoryConnector(), T0, DeliveryState.DELIVERED)
    report = sweep_overdue(store, profiles, T0 + HOUR)
    assert [a.action for a in report.actions] == ["proof_complete"]
    row = store.delivery(first)
    assert (row.state, row.next_attempt_at) == (DeliveryState.DELIVERED, None)


def test_unknown_profile_is_reported_not_raised(store: Store) -> None:  # noqa: F811
    """A delivery whose buyer has no profile is reported as no_profile and left unchanged."""
    submit(store)
    work(store, MemoryConnector(), T0)
    report = sweep_overdue(store, {}, T0 + HOUR)
    assert [a.action for a in report.actions] == ["no_profile"]


def test_expired_claims_are_released(store: Store) -> None:  # noqa: F811
    """sweep_claims releases a dead worker's expired claim; the delivery is claimable again."""
    first = submit(store)
    assert [c.id for c in store.claim_due("dead", T0, lease_seconds=60)] == [first]
    assert sweep_claims(store, T0 + dt.timedelta(seconds=30)) == 0
    assert store.claim_due("w2", T0 + dt.timedelta(seconds=30)) == []
    assert sweep_claims(store, T0 + dt.timedelta(seconds=61)) == 1
    assert [c.id for c in store.claim_due("w2", T0 + dt.timedelta(seconds=61))] == [first]
    assert "claim_expired" in kinds(store, first)


def test_concurrent_sweeps_do_not_double_resend(store_url: str) -> None:  # noqa: F811
    """Four sweeps racing over the same overdue deliveries re-send each exactly once."""
    setup = Store.open(store_url)
    setup.migrate()
    memory = MemoryConnector()
    ids = [submit(setup, f"INV-{n}") for n in range(6)]
    work(setup, memory, T0)
    profiles = {"acme": profile_for("fallback")}
    stores = [Store.open(store_url) for _ in range(4)]
    barrier = threading.Barrier(len(stores))
    reports = []

    def run(s: Store) -> None:
        barrier.wait()
        reports.append(sweep_overdue(s, profiles, T0 + HOUR))

    threads = [threading.Thread(target=run, args=(s,)) for s in stores]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    resends = [a.delivery_id for r in reports for a in r.of("resend")]
    assert sorted(resends) == ids
    others = {a.action for r in reports for a in r.actions} - {"resend"}
    assert others <= {"lost_race"}
    for n, delivery_id in enumerate(ids):
        assert kinds(setup, delivery_id, f"INV-{n}").count("resend") == 1
        assert setup.delivery(delivery_id).state is DeliveryState.QUEUED
    for s in [*stores, setup]:
        s.close()


def test_concurrent_sweeps_do_not_double_fallback(store_url: str) -> None:  # noqa: F811
    """Racing sweeps at the fallback step queue exactly one fallback delivery per delivery."""
    setup = Store.open(store_url)
    setup.migrate()
    ids = [submit(setup, f"INV-{n}") for n in range(4)]
    work(setup, MemoryConnector(), T0, DeliveryState.DELIVERED)
    profiles = {"acme": profile_for("fallback", business="1h")}
    stores = [Store.open(store_url) for _ in range(3)]
    barrier = threading.Barrier(len(stores))
    reports = []

    def run(s: Store) -> None:
        barrier.wait()
        reports.append(sweep_overdue(s, profiles, T0 + HOUR))

    threads = [threading.Thread(target=run, args=(s,)) for s in stores]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(a.delivery_id for r in reports for a in r.of("fallback")) == ids
    for delivery_id in ids:
        assert setup.delivery(delivery_id).state is DeliveryState.FAILED
    assert len(setup.deliveries(states=[DeliveryState.QUEUED])) == len(ids)
    for s in [*stores, setup]:
        s.close()


def test_poll_feeds_acks_and_keeps_what_it_cannot_read(store: Store) -> None:  # noqa: F811
    """Polled items: an ack is correlated; unknown and malformed items are kept as unmatched."""
    memory = MemoryConnector()
    memory.receive(b"just some bytes", "x.bin")
    memory.receive(b"UNB+UNOC:3+A+B+250322:1200+5'UNH+1+CONTRL:D:3:UN'UNT+2+1'UNZ+1+5'", "bad")
    memory.receive(
        b"UNB+UNOC:3+B+A+250322:1200+5'UNH+1+CONTRL:D:3:UN'UCI+NOPE+A+B+7'UNT+3+1'UNZ+1+5'", "ok"
    )
    results = sweep_poll(store, [memory, object()], AckRouter(), T0)
    assert [r.matched for r in results] == [False, False, False]
    kept = store.list_unmatched_acks()
    assert [k.kind for k in kept] == ["unknown", "unreadable", "CONTRL"]
    assert kept[0].raw == b"just some bytes"
    assert kept[2].interchange_ref == "NOPE"
    assert list(memory.poll()) == []


def test_sweeper_runs_the_sweeps_on_its_own(store: Store) -> None:  # noqa: F811
    """The apscheduler Sweeper calls the overdue sweep with its clock until shut down."""
    first = submit(store)
    work(store, MemoryConnector(), T0)
    sweeper = Sweeper(
        store,
        {"acme": profile_for("remind")},
        intervals=SweepIntervals(overdue=0.05, claims=0.05, poll=0.05),
        clock=lambda: T0 + 2 * HOUR,
    )
    sweeper.start()
    try:
        deadline = time.monotonic() + 10
        while "reminder" not in kinds(store, first) and time.monotonic() < deadline:
            time.sleep(0.05)
    finally:
        sweeper.shutdown()
    assert "reminder" in kinds(store, first)
    assert store.delivery(first).next_attempt_at == T0 + 3 * HOUR


@pytest.mark.parametrize("policy", ["remind", "resend", "fallback"])
def test_nothing_happens_before_the_deadline(store: Store, policy: str) -> None:  # noqa: F811
    """No policy acts on a delivery whose proof deadline has not passed."""
    submit(store)
    work(store, MemoryConnector(), T0)
    profiles = {"acme": profile_for(policy)}
    assert sweep_overdue(store, profiles, T0 + HOUR - dt.timedelta(seconds=1)).actions == ()


def test_poll_records_each_item_once_even_when_confirm_is_lost(store: Store) -> None:  # noqa: F811
    """An item polled again after a lost confirm is confirmed but not correlated a second time."""
    memory = MemoryConnector()
    memory.receive(b"just some bytes", "x.bin")
    lost: list[object] = []
    memory_confirm = memory.confirm
    memory.confirm = lost.append  # type: ignore[method-assign]  # the confirm never arrives
    assert len(sweep_poll(store, [memory], AckRouter(), T0)) == 1
    memory.confirm = memory_confirm  # type: ignore[method-assign]
    assert sweep_poll(store, [memory], AckRouter(), T0) == []
    assert list(memory.poll()) == []
    assert len(store.list_unmatched_acks()) == 1


def test_polling_connectors_are_built_once_per_channel(tmp_path: Path) -> None:
    """igw run polls each distinct channel (main and fallback) that can poll, once; a channel
    that cannot poll (file) is left out."""
    from gateway.delivery.sweeps import polling_connectors

    memory = ChannelSpec(connector="memory", options={"channel": "acks"})
    folder = ChannelSpec(connector="file", options={"directory": str(tmp_path), "create": True})
    profiles = [
        BuyerProfile(name="a", channel=memory, fallback=(folder,)),
        BuyerProfile(name="b", channel=folder, fallback=(memory,)),
    ]
    found = polling_connectors(profiles)
    assert [type(c).__name__ for c in found] == ["MemoryConnector"]
    assert [getattr(c, "channel", None) for c in found] == ["memory:acks"]


def test_a_sweep_failing_with_a_gateway_error_logs_one_line_without_traceback(
    caplog: pytest.LogCaptureFixture,
) -> None:
    """A sweep that fails with the gateway's own error (a bounce mailbox refusing the password)
    is logged as one line naming the sweep and the error, with no traceback; the job returns."""
    from gateway.delivery.errors import AuthenticationFailed
    from gateway.delivery.sweeps import _logged

    def job() -> None:
        raise AuthenticationFailed("imap 127.0.0.1:1143: login refused for 'bounces'")

    with caplog.at_level(logging.ERROR, logger="gateway.delivery.sweeps"):
        _logged("poll", job)()
    (line,) = caplog.records
    expected = "sweep poll failed: imap 127.0.0.1:1143: login refused for 'bounces'"
    assert line.getMessage() == expected
    assert line.exc_info is None
