"""Bulk store steps: accept_many (one transaction for many invoices) and record_attempts (one
transaction for a worker's batch), on SQLite and PostgreSQL."""

from __future__ import annotations

import datetime as dt

from builders import simple_invoice
from store_backends import T0, store, store_url  # noqa: F401  (fixtures)

from gateway.document import Document
from gateway.store import (
    AcceptItem,
    AcceptResult,
    Attempt,
    ClaimLost,
    DeliveryState,
    DuplicateInvoice,
    NewDelivery,
    Store,
)


def _item(number: str, **changes: object) -> AcceptItem:
    doc = Document(f"<Invoice>{number}</Invoice>".encode(), "ubl", "peppol-bis3", number)
    return AcceptItem(
        simple_invoice(number=number, **changes),
        None,
        "DE123",
        (doc,),
        (NewDelivery("acme", "memory", T0, message_id=f"m-{number}"),),
    )


def test_accept_many_stores_all_in_order_with_events(store: Store) -> None:  # noqa: F811
    """Three new invoices: three results in order, each with its document, a QUEUED delivery
    carrying the reference given, and accepted + queued events."""
    results = store.accept_many([_item("A"), _item("B"), _item("C")], now=T0)
    assert all(isinstance(r, AcceptResult) and not r.duplicate for r in results)
    rows = store.deliveries()
    assert [r.invoice_number for r in rows] == ["A", "B", "C"]
    assert [r.message_id for r in rows] == ["m-A", "m-B", "m-C"]
    assert {r.state for r in rows} == {DeliveryState.QUEUED}
    assert [e.kind for e in store.timeline("B")] == ["accepted", "queued"]
    first = results[0]
    assert isinstance(first, AcceptResult)
    assert store.document(first.document_ids[0]).content == b"<Invoice>A</Invoice>"


def test_accept_many_answers_duplicates_and_conflicts_per_item(store: Store) -> None:  # noqa: F811
    """A stored number, the same number twice in one call, and changed content: duplicate,
    duplicate and a returned (not raised) DuplicateInvoice; the rest is stored."""
    store.accept_many([_item("A")], now=T0)
    results = store.accept_many(
        [_item("A"), _item("B"), _item("B"), _item("A", buyer_reference="OTHER")], now=T0
    )
    assert isinstance(results[0], AcceptResult) and results[0].duplicate
    assert isinstance(results[1], AcceptResult) and not results[1].duplicate
    assert isinstance(results[2], AcceptResult) and results[2].duplicate
    assert results[2].delivery_ids == results[1].delivery_ids
    assert isinstance(results[3], DuplicateInvoice)
    assert len(store.deliveries()) == 2


def test_existing_invoices_finds_stored_pairs_only(store: Store) -> None:  # noqa: F811
    """existing_invoices answers for the (seller, number) pairs stored, not other sellers'."""
    (stored,) = store.accept_many([_item("A")], now=T0)
    assert isinstance(stored, AcceptResult)
    found = store.existing_invoices([("DE123", "A"), ("OTHER", "A"), ("DE123", "B")])
    assert found == {("DE123", "A"): (stored.invoice_id, stored.content_hash)}


def test_record_attempts_records_held_claims_and_reports_lost_ones(store: Store) -> None:  # noqa: F811
    """One call records every attempt whose claim the worker holds (DELIVERED with proof,
    re-queued, failed); a delivery claimed by another is reported lost and left alone."""
    store.accept_many([_item(n) for n in "ABCD"], now=T0)
    claimed = store.claim_due("w1", T0, limit=3)
    other = store.claim_due("w2", T0, limit=1)
    later = T0 + dt.timedelta(minutes=5)
    attempts = [
        Attempt(
            claimed[0].id,
            DeliveryState.SENT,
            detail="sent",
            evidence=b"proof",
            transport_proof="written",
            next_attempt_at=later,
            message_id="file-A",
        ),
        Attempt(claimed[1].id, DeliveryState.QUEUED, detail="busy", next_attempt_at=later),
        Attempt(claimed[2].id, DeliveryState.FAILED, detail="rejected", level="error"),
        Attempt(other[0].id, DeliveryState.SENT, detail="not mine"),
    ]
    lost = store.record_attempts(attempts, "w1", now=T0)
    assert list(lost) == [other[0].id] and isinstance(lost[other[0].id], ClaimLost)
    delivered, queued, failed = (store.delivery(c.id) for c in claimed)
    assert (delivered.state, delivered.transport_ack, delivered.message_id) == (
        DeliveryState.DELIVERED,
        "received",
        "file-A",
    )
    assert (queued.state, queued.next_attempt_at, queued.claimed_by) == (
        DeliveryState.QUEUED,
        later,
        None,
    )
    assert failed.state is DeliveryState.FAILED
    assert all(r.attempt == 1 for r in (delivered, queued, failed))
    untouched = store.delivery(other[0].id)
    assert (untouched.state, untouched.claimed_by, untouched.attempt) == (
        DeliveryState.QUEUED,
        "w2",
        0,
    )
    kinds = [(e.kind, e.state_to) for e in store.timeline("A")]
    assert kinds[-2:] == [("attempt", "SENT"), ("transport_proof", "DELIVERED")]
    assert store.timeline("A")[-1].evidence == b"proof"


def test_move_if_unchanged_acts_only_on_what_was_seen(store: Store) -> None:  # noqa: F811
    """The sweeps' compare-and-set: a stale view (state or deadline changed) moves nothing and
    logs nothing; the current view moves the delivery and appends the event."""
    store.accept_many([_item("A")], now=T0)
    (row,) = store.deliveries()
    stale = store.move_if_unchanged(
        row.id,
        seen_state=DeliveryState.QUEUED,
        seen_next_attempt_at=T0 + dt.timedelta(hours=1),
        new_state=DeliveryState.CANCELLED,
        next_attempt_at=None,
        now=T0,
        kind="reminder",
        detail="stale",
    )
    assert not stale and store.delivery(row.id).state is DeliveryState.QUEUED
    moved = store.move_if_unchanged(
        row.id,
        seen_state=DeliveryState.QUEUED,
        seen_next_attempt_at=T0,
        new_state=DeliveryState.CANCELLED,
        next_attempt_at=None,
        now=T0,
        kind="cancelled",
        detail="current",
    )
    assert moved and store.delivery(row.id).state is DeliveryState.CANCELLED
    assert [e.detail for e in store.timeline("A")][-1] == "current"
