"""Delivery state machine: the transition table, the store's guard, ack levels kept apart."""

from __future__ import annotations

import datetime as dt

import pytest
from builders import simple_invoice
from store_backends import T0, store, store_url  # noqa: F401  (fixtures)

from gateway.ack import Ack, AckLevel, AckReference, AckStatus
from gateway.store import (
    TRANSITIONS,
    DeliveryState,
    IllegalTransition,
    NewDelivery,
    Store,
    UnknownDelivery,
)
from gateway.store.states import check_transition

S = DeliveryState


def _reachable(start: DeliveryState) -> set[DeliveryState]:
    seen, todo = {start}, [start]
    while todo:
        for nxt in TRANSITIONS[todo.pop()]:
            if nxt not in seen:
                seen.add(nxt)
                todo.append(nxt)
    return seen


def test_every_state_reachable_from_queued() -> None:
    """Each state of the issue can be reached from QUEUED through the table."""
    assert _reachable(S.QUEUED) == set(S)


def test_proof_is_never_taken_back() -> None:
    """Once delivered, no move goes back to QUEUED, SENT or DELIVERED (only FAILED is re-queued
    by hand); REJECTED is final."""
    for state in (S.DELIVERED, S.ACCEPTED, S.REJECTED, S.VIEWED, S.PAID, S.DISPUTED):
        assert not TRANSITIONS[state] & {S.QUEUED, S.SENT, S.DELIVERED}, state
    assert _reachable(S.REJECTED) == {S.REJECTED}


@pytest.mark.parametrize(
    ("old", "new"),
    [(S.QUEUED, S.ACCEPTED), (S.QUEUED, S.DELIVERED), (S.REJECTED, S.QUEUED), (S.PAID, S.QUEUED)],
)
def test_guard_names_from_and_to(old: DeliveryState, new: DeliveryState) -> None:
    """An illegal move raises IllegalTransition naming the delivery, both states and the
    allowed ones."""
    with pytest.raises(IllegalTransition) as caught:
        check_transition(7, old, new)
    assert f"delivery 7: state {old} -> {new} is not allowed" in str(caught.value)


def _one(store: Store) -> int:  # noqa: F811
    result = store.accept(
        simple_invoice(),
        None,
        "DE123",
        documents=[],
        deliveries=[NewDelivery("b", "print", T0, document_index=None)],
        now=T0,
    )
    return result.delivery_ids[0]


def test_store_refuses_illegal_move_and_logs_nothing(store: Store) -> None:  # noqa: F811
    """mark() with an illegal move changes neither the state nor the event log."""
    delivery_id = _one(store)
    before = store.timeline("INV-1")
    with pytest.raises(IllegalTransition, match="QUEUED -> ACCEPTED"):
        store.mark(delivery_id, S.ACCEPTED, now=T0, kind="ack")
    assert store.delivery(delivery_id).state is S.QUEUED
    assert store.timeline("INV-1") == before


def test_full_life_is_logged(store: Store) -> None:  # noqa: F811
    """QUEUED → SENT → DELIVERED → ACCEPTED → PAID: each step one event with from/to."""
    delivery_id = _one(store)
    for i, state in enumerate((S.SENT, S.DELIVERED, S.ACCEPTED, S.PAID), start=1):
        store.mark(
            delivery_id,
            state,
            now=T0 + dt.timedelta(minutes=i),
            kind="test",
            detail=f"step {i}",
            evidence=f"proof {i}".encode(),
        )
    steps = [(e.state_from, e.state_to, e.evidence) for e in store.timeline("INV-1")[2:]]
    assert steps == [
        ("QUEUED", "SENT", b"proof 1"),
        ("SENT", "DELIVERED", b"proof 2"),
        ("DELIVERED", "ACCEPTED", b"proof 3"),
        ("ACCEPTED", "PAID", b"proof 4"),
    ]


def test_unknown_delivery(store: Store) -> None:  # noqa: F811
    """Marking a delivery that does not exist raises UnknownDelivery naming the id."""
    with pytest.raises(UnknownDelivery, match="delivery 999"):
        store.mark(999, S.SENT, now=T0, kind="x")


def _ack(level: AckLevel, status: AckStatus) -> Ack:
    return Ack("TEST", level, status, AckReference(document="INV-1"), b"raw " + level.encode())


def test_three_ack_levels_kept_apart(store: Store) -> None:  # noqa: F811
    """Transport, syntax and business acks land in their own columns and events; a syntax
    ack without a new state leaves the state alone."""
    delivery_id = _one(store)
    store.mark(delivery_id, S.SENT, now=T0, kind="attempt")
    row = store.record_ack(
        delivery_id,
        _ack(AckLevel.TRANSPORT, AckStatus.RECEIVED),
        now=T0,
        new_state=S.DELIVERED,
        next_attempt_at=T0 + dt.timedelta(days=3),
    )
    assert (row.state, row.transport_ack, row.syntax_ack) == (S.DELIVERED, "received", None)
    row = store.record_ack(delivery_id, _ack(AckLevel.SYNTAX, AckStatus.ACCEPTED), now=T0)
    assert (row.state, row.syntax_ack, row.business_ack) == (S.DELIVERED, "accepted", None)
    assert row.next_attempt_at == T0 + dt.timedelta(days=3)  # business answer still awaited
    row = store.record_ack(
        delivery_id, _ack(AckLevel.BUSINESS, AckStatus.REJECTED), now=T0, new_state=S.REJECTED
    )
    assert (row.state, row.transport_ack, row.syntax_ack, row.business_ack) == (
        S.REJECTED,
        "received",
        "accepted",
        "rejected",
    )
    acks = [(e.ack_level, e.evidence) for e in store.timeline("INV-1") if e.kind == "ack"]
    assert acks == [
        ("transport", b"raw transport"),
        ("syntax", b"raw syntax"),
        ("business", b"raw business"),
    ]
