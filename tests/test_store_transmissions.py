"""Transmissions in the store (SQLite and PostgreSQL): a refusal ends the transmission once,
transport failures keep it, ``resend`` keeps or renews it as documented, a late MDN for an
earlier transmission's id still finds its delivery, and the timeline view lists them."""

from __future__ import annotations

import datetime as dt

import pytest
from builders import simple_invoice
from store_backends import T0, store, store_url  # noqa: F401  (fixtures)

from gateway.ack import Ack, AckLevel, AckReason, AckReference, AckStatus
from gateway.delivery.acks_in import receive
from gateway.delivery.status import timeline_text, transmissions
from gateway.document import Document
from gateway.store import (
    Attempt,
    DeliveryRow,
    DeliveryState,
    IllegalTransition,
    NewDelivery,
    Store,
)

S = DeliveryState


def _queued(db: Store) -> int:
    result = db.accept(
        simple_invoice(number="INV-7"),
        None,
        "DE123",
        documents=[Document(b"<Invoice/>", "ubl", "peppol-bis3", "INV-7")],
        deliveries=[NewDelivery("acme", "as2", T0)],
        now=T0,
    )
    return result.delivery_ids[0]


def _attempt(
    db: Store,
    delivery_id: int,
    state: DeliveryState,
    message_id: str,
    *,
    transmission: int | None = None,
    ends_transmission: bool = False,
    transport_proof: str | None = None,
) -> DeliveryRow:
    """Claim the (due) delivery and record one attempt as the worker would."""
    assert db.claim_due("w", T0 + dt.timedelta(days=1)), "nothing due"
    attempt = Attempt(
        delivery_id,
        state,
        detail=f"attempt -> {state.value}",
        message_id=message_id,
        next_attempt_at=T0 if state is S.QUEUED else None,
        transmission=transmission,
        ends_transmission=ends_transmission,
        transport_proof=transport_proof,
    )
    assert db.record_attempts([attempt], "w", now=T0) == {}
    return db.delivery(delivery_id)


def test_transport_failures_keep_the_transmission_and_a_plain_resend_too(
    store: Store,  # noqa: F811
) -> None:
    """Retries after transport failures, and a plain re-send of the FAILED delivery, stay in
    transmission 1 (the same message id: a partner that holds it answers a duplicate)."""
    delivery_id = _queued(store)
    _attempt(store, delivery_id, S.QUEUED, "m1", transmission=1)
    row = _attempt(store, delivery_id, S.FAILED, "m1", transmission=1)
    assert row.transmission == 1
    again, fresh = store.resend(delivery_id, now=T0)
    assert (again.state, again.transmission, fresh) == (S.QUEUED, 1, False)
    (event,) = [e for e in store.timeline("INV-7") if e.kind == "resend"]
    assert "same transmission 1 and message id" in event.detail


def test_a_refusal_ends_the_transmission_once(store: Store) -> None:  # noqa: F811
    """A refused attempt moves the delivery to transmission 2; a re-send (also a forced one,
    while transmission 2 is unsent) uses 2, and a forced one after 2 was sent uses 3."""
    delivery_id = _queued(store)
    row = _attempt(store, delivery_id, S.FAILED, "m1", transmission=1, ends_transmission=True)
    assert row.transmission == 2
    again, fresh = store.resend(delivery_id, now=T0)
    assert (again.transmission, fresh) == (2, True)
    forced, fresh = store.resend(delivery_id, now=T0, force=True)
    assert (forced.transmission, fresh) == (2, True)
    _attempt(store, delivery_id, S.SENT, "m2", transmission=2, transport_proof="MDN")
    third, fresh = store.resend(delivery_id, now=T0, force=True)
    assert (third.state, third.transmission, fresh) == (S.QUEUED, 3, True)
    found = transmissions(store.timeline("INV-7"))
    assert [(t.number, t.message_id, t.outcome) for t in found] == [
        (1, "m1", "FAILED"),
        (2, "m2", "DELIVERED"),
    ]
    text = timeline_text(store.timeline("INV-7"))
    assert "#1   <m1>  attempt 1  -> FAILED" in text and "#2   <m2>  attempt 2" in text


def test_a_stale_refusal_does_not_end_the_next_transmission(store: Store) -> None:  # noqa: F811
    """A refusal recorded for an attempt of an earlier transmission leaves the current
    transmission alone."""
    delivery_id = _queued(store)
    _attempt(store, delivery_id, S.FAILED, "m1", transmission=1, ends_transmission=True)
    store.resend(delivery_id, now=T0)
    row = _attempt(store, delivery_id, S.QUEUED, "m2", transmission=1, ends_transmission=True)
    assert row.transmission == 2


def test_forced_resend_stops_at_a_business_answer(store: Store) -> None:  # noqa: F811
    """``resend(force=True)`` refuses an ACCEPTED delivery; a plain one refuses DELIVERED."""
    delivery_id = _queued(store)
    _attempt(store, delivery_id, S.SENT, "m1", transport_proof="MDN")
    with pytest.raises(IllegalTransition, match="DELIVERED -> QUEUED"):
        store.resend(delivery_id, now=T0)
    store.mark(delivery_id, S.ACCEPTED, now=T0, kind="ack")
    with pytest.raises(IllegalTransition, match="ACCEPTED -> QUEUED"):
        store.resend(delivery_id, now=T0, force=True)


def test_async_rejection_ends_the_transmission_and_a_late_mdn_still_matches(
    store: Store,  # noqa: F811
) -> None:
    """An error MDN for the current Message-ID is recorded with its disposition and text and
    ends the transmission; an MDN for the earlier Message-ID, arriving after the re-send went
    out under a new one, is still matched to the delivery."""
    delivery_id = _queued(store)
    _attempt(store, delivery_id, S.SENT, "m1")
    error = Ack(
        kind="MDN",
        level=AckLevel.TRANSPORT,
        status=AckStatus.REJECTED,
        refers_to=AckReference(message_id="m1"),
        raw=b"mdn",
        reasons=(
            AckReason(
                "decryption-failed",
                "We cannot decrypt\n it.",
                "automatic-action/MDN-sent-automatically; processed/error: decryption-failed",
            ),
        ),
    )
    correlation = receive(store, error, now=T0, ends_transmission=True)
    assert correlation.matched
    row = store.delivery(delivery_id)
    assert (row.state, row.transport_ack, row.transmission) == (S.SENT, "rejected", 2)
    (ack,) = [e for e in store.timeline("INV-7") if e.kind == "ack"]
    assert ack.detail.startswith(
        "MDN transport ack: rejected; processed/error: decryption-failed (We cannot decrypt it.)"
    )
    store.resend(delivery_id, now=T0)
    _attempt(store, delivery_id, S.SENT, "m2", transmission=2)
    late = Ack(
        kind="MDN",
        level=AckLevel.TRANSPORT,
        status=AckStatus.RECEIVED,
        refers_to=AckReference(message_id="m1"),
        raw=b"late",
    )
    assert receive(store, late, now=T0).matched
    assert store.delivery(delivery_id).state is S.DELIVERED
