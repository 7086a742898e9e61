"""Store.accept: one transaction, idempotent per (seller, invoice number), refusal on change."""

from __future__ import annotations

import datetime as dt
import threading
from concurrent.futures import ThreadPoolExecutor

import pytest
import sqlalchemy as sa
from builders import simple_invoice
from store_backends import T0, store, store_url  # noqa: F401  (fixtures)

from gateway.document import Document
from gateway.store import DuplicateInvoice, NewDelivery, Store
from gateway.store.schema import deliveries, documents, events, invoices


def _doc(number: str = "INV-1", body: bytes = b"<Invoice/>") -> Document:
    return Document(body, "ubl", "peppol-bis3", number)


def _count(store: Store, table: sa.Table) -> int:  # noqa: F811
    with store.engine.connect() as db:
        return int(db.execute(sa.select(sa.func.count()).select_from(table)).scalar_one())


def test_accept_stores_everything(store: Store) -> None:  # noqa: F811
    """Invoice, source, documents and queued deliveries are stored with accepted/queued events."""
    invoice = simple_invoice()
    result = store.accept(
        invoice,
        b"erp-row",
        "DE123",
        documents=[_doc()],
        deliveries=[
            NewDelivery("buyer-a", "as2", T0),
            NewDelivery("buyer-a", "email", T0, document_index=None),
        ],
        now=T0,
    )
    assert not result.duplicate
    assert len(result.document_ids) == 1 and len(result.delivery_ids) == 2
    assert store.document(result.document_ids[0]).content == b"<Invoice/>"
    assert store.document(result.document_ids[0]).sha256 == _doc().sha256
    rows = store.deliveries()
    assert [r.state.value for r in rows] == ["QUEUED", "QUEUED"]
    assert [r.document_id for r in rows] == [result.document_ids[0], None]
    assert [e.kind for e in store.timeline("INV-1")] == ["accepted", "queued", "queued"]
    with store.engine.connect() as db:
        source = db.execute(sa.select(invoices.c.source)).scalar_one()
    assert source == b"erp-row"


def test_same_content_again_is_idempotent(store: Store) -> None:  # noqa: F811
    """Re-submitting identical content returns the stored ids and queues nothing new."""
    invoice = simple_invoice()
    first = store.accept(
        invoice, None, "DE123", documents=[_doc()], deliveries=[NewDelivery("b", "as2", T0)], now=T0
    )
    again = store.accept(
        simple_invoice(),
        None,
        "DE123",
        documents=[_doc()],
        deliveries=[NewDelivery("b", "as2", T0)],
        now=T0,
    )
    assert again.duplicate
    assert (again.invoice_id, again.document_ids, again.delivery_ids) == (
        first.invoice_id,
        first.document_ids,
        first.delivery_ids,
    )
    assert _count(store, deliveries) == 1 and _count(store, documents) == 1
    assert store.timeline("INV-1")[-1].kind == "resubmitted"


def test_changed_content_is_refused(store: Store) -> None:  # noqa: F811
    """Same seller and number with other content raises DuplicateInvoice naming both hashes."""
    first = store.accept(simple_invoice(), None, "DE123", documents=[], deliveries=[], now=T0)
    changed = simple_invoice(lines=3)
    with pytest.raises(DuplicateInvoice) as caught:
        store.accept(changed, None, "DE123", documents=[], deliveries=[], now=T0)
    text = str(caught.value)
    assert "INV-1" in text and "DE123" in text and "BT-1" in text
    assert first.content_hash in text and caught.value.new_hash in text
    assert caught.value.new_hash != first.content_hash
    assert _count(store, invoices) == 1


def test_same_number_other_seller_is_a_new_invoice(store: Store) -> None:  # noqa: F811
    """Invoice numbers are unique per seller only; timeline can filter by seller."""
    store.accept(simple_invoice(), None, "DE123", documents=[], deliveries=[], now=T0)
    other = store.accept(
        simple_invoice(lines=3), None, "FR999", documents=[], deliveries=[], now=T0
    )
    assert not other.duplicate
    assert {e.seller_key for e in store.timeline("INV-1")} == {"DE123", "FR999"}
    assert {e.seller_key for e in store.timeline("INV-1", "FR999")} == {"FR999"}


@pytest.mark.parametrize("broken", ["document index", "idempotency key"])
def test_failure_mid_accept_leaves_nothing(store: Store, broken: str) -> None:  # noqa: F811
    """A failure after the invoice row was written rolls back invoice, documents and events."""
    if broken == "document index":
        bad = [NewDelivery("b", "as2", T0), NewDelivery("b", "sftp", T0, document_index=5)]
        error: type[Exception] = IndexError
    else:
        bad = [
            NewDelivery("b", "as2", T0, idempotency_key="k"),
            NewDelivery("b", "sftp", T0, idempotency_key="k"),
        ]
        error = sa.exc.IntegrityError
    with pytest.raises(error):
        store.accept(simple_invoice(), None, "DE123", documents=[_doc()], deliveries=bad, now=T0)
    for table in (invoices, documents, deliveries, events):
        assert _count(store, table) == 0, table.name
    # and the number is still free: the real accept goes through
    assert not store.accept(
        simple_invoice(),
        None,
        "DE123",
        documents=[_doc()],
        deliveries=[NewDelivery("b", "as2", T0)],
        now=T0,
    ).duplicate


def test_naive_time_is_refused(store: Store) -> None:  # noqa: F811
    """Times must be timezone-aware; a naive datetime is refused and nothing is stored."""
    with pytest.raises(sa.exc.StatementError, match="timezone-aware"):
        store.accept(
            simple_invoice(),
            None,
            "DE123",
            documents=[],
            deliveries=[],
            now=dt.datetime(2026, 1, 1),
        )
    assert _count(store, invoices) == 0


def test_concurrent_resubmission_is_never_duplicated(store: Store) -> None:  # noqa: F811
    """Eight threads accepting the same invoice at once store it once; the rest see duplicate."""
    start = threading.Barrier(8)

    def submit(_: int) -> bool:
        start.wait()
        result = store.accept(
            simple_invoice(),
            None,
            "DE123",
            documents=[_doc()],
            deliveries=[NewDelivery("b", "as2", T0)],
            now=T0,
        )
        return result.duplicate

    with ThreadPoolExecutor(8) as pool:
        duplicates = list(pool.map(submit, range(8)))
    assert sorted(duplicates) == [False] + [True] * 7
    assert _count(store, invoices) == 1 and _count(store, deliveries) == 1
