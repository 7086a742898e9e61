"""Store additions for the worker (migration 0002): add_delivery, references, release."""

from __future__ import annotations

import datetime as dt

import pytest
from builders import simple_invoice
from store_backends import T0, store, store_url  # noqa: F401  (fixtures)

from gateway.document import Document
from gateway.store import AddedDelivery, DeliveryState, NewDelivery, Store, StoreError


def _accept(store: Store, number: str = "INV-1") -> tuple[int, int, int]:  # noqa: F811
    """Accept one invoice with one document and one as2 delivery; (invoice, document, delivery)."""
    doc = Document(b"<Invoice/>", "ubl", "peppol-bis3", number)
    result = store.accept(
        simple_invoice(number=number),
        None,
        "DE123",
        documents=[doc],
        deliveries=[NewDelivery("acme", "as2", T0)],
        now=T0,
    )
    return result.invoice_id, result.document_ids[0], result.delivery_ids[0]


def test_add_delivery_queues_and_logs(store: Store) -> None:  # noqa: F811
    """add_delivery queues a new delivery with the reason in its event; same key is idempotent."""
    invoice_id, doc_id, _ = _accept(store)
    added = AddedDelivery("acme", "email", T0, doc_id)
    new_id = store.add_delivery(invoice_id, added, now=T0, reason="manual re-send by ops")
    assert store.add_delivery(invoice_id, added, now=T0, reason="again") == new_id
    row = store.delivery(new_id)
    assert (row.state, row.channel, row.idempotency_key) == (
        DeliveryState.QUEUED,
        "email",
        f"DE123/INV-1/acme/email/doc{doc_id}",
    )
    queued = [e for e in store.timeline("INV-1") if e.delivery_id == new_id]
    assert len(queued) == 1 and "manual re-send by ops" in queued[0].detail


def test_add_delivery_key_of_other_invoice_refused(store: Store) -> None:  # noqa: F811
    """A key that belongs to another invoice's delivery is refused, naming both."""
    _, _, first = _accept(store, "INV-1")
    second_invoice, doc_id, _ = _accept(store, "INV-2")
    key = store.delivery(first).idempotency_key
    with pytest.raises(StoreError, match="already belongs"):
        store.add_delivery(
            second_invoice, AddedDelivery("acme", "x", T0, doc_id, key), now=T0, reason="r"
        )


def test_failed_attempt_with_fallback_is_one_step(store: Store) -> None:  # noqa: F811
    """record_attempt(FAILED, then_add=...) fails the delivery and queues the fallback together."""
    _, doc_id, delivery_id = _accept(store)
    store.claim_due("w1", T0)
    store.record_attempt(
        delivery_id,
        "w1",
        DeliveryState.FAILED,
        now=T0,
        then_add=AddedDelivery("acme", "email", T0, doc_id),
    )
    rows = store.deliveries()
    assert [(r.channel, r.state) for r in rows] == [
        ("as2", DeliveryState.FAILED),
        ("email", DeliveryState.QUEUED),
    ]
    kinds = [e.kind for e in store.timeline("INV-1")]
    assert kinds[-2:] == ["attempt", "fallback"]


def test_references_and_find(store: Store) -> None:  # noqa: F811
    """set_references stores refs; find_delivery matches every given ref, None otherwise."""
    _, _, first = _accept(store, "INV-1")
    _, _, second = _accept(store, "INV-2")
    store.set_references(first, interchange_ref="17", message_ref="1")
    store.set_references(second, interchange_ref="18", message_id="<abc@gw>")
    assert store.delivery(first).interchange_ref == "17"
    found = store.find_delivery(interchange_ref="18")
    assert found is not None and found.id == second
    assert store.find_delivery(message_id="<abc@gw>", partner="acme") is not None
    assert store.find_delivery(message_id="<abc@gw>", partner="other") is None
    assert store.find_delivery(interchange_ref="17", message_ref="2") is None
    doc_match = store.find_delivery(document="INV-1")
    assert doc_match is not None and doc_match.id == first
    assert store.find_delivery(partner="acme") is None


def test_release_gives_claims_back(store: Store) -> None:  # noqa: F811
    """release() drops only the caller's claims; the delivery is claimable again at once."""
    _, _, delivery_id = _accept(store)
    store.claim_due("w1", T0, lease_seconds=600)
    assert store.release([delivery_id], "w2", now=T0) == 0
    assert store.claim_due("w2", T0) == []
    assert store.release([delivery_id], "w1", now=T0) == 1
    assert [c.id for c in store.claim_due("w2", T0 + dt.timedelta(seconds=1))] == [delivery_id]
