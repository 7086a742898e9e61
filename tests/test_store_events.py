"""Events are append-only; unmatched acks are kept; status-table queries filter as told."""

from __future__ import annotations

import datetime as dt

import pytest
import sqlalchemy as sa
from builders import simple_invoice
from store_backends import T0, store, store_url  # noqa: F401  (fixtures)

from gateway.ack import Ack, AckLevel, AckReason, AckReference, AckStatus
from gateway.store import DeliveryState, NewDelivery, Store
from gateway.store.schema import events


def test_store_has_no_way_to_change_events() -> None:
    """The Store API offers no update, delete or remove method."""
    public = [name for name in dir(Store) if not name.startswith("_")]
    assert not [n for n in public if any(w in n for w in ("update", "delete", "remove", "edit"))]


@pytest.mark.parametrize("statement", [events.update().values(detail="forged"), events.delete()])
def test_database_refuses_event_changes(store: Store, statement: sa.Executable) -> None:  # noqa: F811
    """Even raw SQL cannot update or delete an event (triggers), on both backends."""
    store.accept(simple_invoice(), None, "DE123", documents=[], deliveries=[], now=T0)
    with pytest.raises(sa.exc.DatabaseError, match="append-only"), store.engine.begin() as db:
        db.execute(statement)
    assert next(e.detail for e in store.timeline("INV-1")).startswith("invoice INV-1")


def test_unmatched_acks_are_kept(store: Store) -> None:  # noqa: F811
    """An ack that matched nothing is stored verbatim with its references and listed back."""
    ack = Ack(
        "CONTRL",
        AckLevel.SYNTAX,
        AckStatus.REJECTED,
        AckReference(interchange="42", message="7"),
        b"UNB+UNOC:3...",
        sender="BUYER",
        recipient="SELLER",
        reasons=(AckReason("13", "missing"),),
    )
    first = store.record_unmatched_ack(ack, T0, detail="no interchange 42")
    second = store.record_unmatched_ack(ack, T0 + dt.timedelta(seconds=1))
    listed = store.list_unmatched_acks()
    assert [a.id for a in listed] == [first, second]
    assert (listed[0].kind, listed[0].ack_level, listed[0].status) == (
        "CONTRL",
        "syntax",
        "rejected",
    )
    assert (listed[0].interchange_ref, listed[0].message_ref, listed[0].raw) == (
        "42",
        "7",
        b"UNB+UNOC:3...",
    )
    assert listed[0].detail == "no interchange 42" and listed[0].received_at == T0


def test_status_queries(store: Store) -> None:  # noqa: F811
    """deliveries() filters by buyer, state, age and overdue proof."""
    late = T0 + dt.timedelta(days=2)
    a = store.accept(
        simple_invoice(),
        None,
        "S",
        documents=[],
        deliveries=[NewDelivery("buyer-a", "print", T0, document_index=None)],
        now=T0,
    ).delivery_ids[0]
    b = store.accept(
        simple_invoice(number="INV-2"),
        None,
        "S",
        documents=[],
        deliveries=[NewDelivery("buyer-b", "print", late, document_index=None)],
        now=late,
    ).delivery_ids[0]
    store.mark(
        a, DeliveryState.SENT, now=T0, kind="attempt", next_attempt_at=T0 + dt.timedelta(days=1)
    )
    assert [r.id for r in store.deliveries(buyer="buyer-b")] == [b]
    assert [r.id for r in store.deliveries(states=[DeliveryState.QUEUED])] == [b]
    assert [r.id for r in store.deliveries(created_before=T0 + dt.timedelta(days=1))] == [a]
    assert store.deliveries(overdue_at=T0 + dt.timedelta(hours=23)) == []
    assert [r.id for r in store.deliveries(overdue_at=late)] == [a]
    assert store.delivery(a).invoice_number == "INV-1"
