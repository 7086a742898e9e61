"""Tenants in the store: every row carries its tenant, every query is scoped by it, and the
migration gives existing stores to the default tenant."""

from __future__ import annotations

import datetime as dt

import pytest
import sqlalchemy as sa
from builders import simple_invoice
from store_backends import T0, store, store_url  # noqa: F401  (fixtures)

from gateway.ack import Ack, AckLevel, AckReference, AckStatus
from gateway.document import Document
from gateway.store import BatchHold, DeliveryState, NewDelivery, Store, UnknownDelivery
from gateway.store.audit import record_audit
from gateway.store.idempotency import claim, complete
from gateway.store.inbound import (
    NewRefusal,
    find_inbound,
    finish_inbound,
    get_inbound,
    get_refusal,
    list_inbound,
    list_refusals,
    record_inbound,
    record_refusal,
)
from gateway.store.keys import create_key
from gateway.store.mdn_outbox import NewAsyncMdn, claim_due_mdns, list_async_mdns
from gateway.store.schema import metadata, tenants
from gateway.store.webhooks import EVENT_TYPES, WebhookStore
from gateway.tenants import DEFAULT_TENANT, UnknownTenant
from gateway.webhooks.dispatch import Dispatcher

OWNED = [t for t in metadata.sorted_tables if "tenant_id" in t.c]


def _doc(number: str) -> Document:
    return Document(b"<Invoice/>", "ubl", "peppol-bis3", number)


def _fill(store: Store, number: str = "INV-1") -> dict[str, int]:  # noqa: F811
    """Use every writing path of the store once in ``store``'s tenant; the ids it made."""
    hook = WebhookStore.of(store).add_subscription(
        "https://127.0.0.1:9/h", EVENT_TYPES, "env:X", T0
    )
    result = store.accept(
        simple_invoice(number=number),
        b"erp",
        "DE123",
        documents=[_doc(number)],
        deliveries=[NewDelivery("buyer-a", "as2", T0)],
        now=T0,
    )
    delivery = result.delivery_ids[0]
    [claimed] = store.claim_due("w1", T0)
    store.record_attempt(claimed.id, "w1", DeliveryState.SENT, now=T0, message_id="m-1")
    ack = Ack("MDN", AckLevel.TRANSPORT, AckStatus.ACCEPTED, AckReference(document=number), b"")
    store.record_ack(delivery, ack, now=T0, new_state=DeliveryState.DELIVERED)
    store.record_unmatched_ack(ack, T0)
    hold = BatchHold("per-day", 10, T0)
    held = store.accept(
        simple_invoice(number=f"{number}-B"),
        None,
        "DE123",
        documents=[],
        deliveries=[NewDelivery("buyer-a", "edi", T0, document_index=None, hold=hold)],
        now=T0,
    )
    [batch] = store.batches(state="OPEN")
    assert store.close_batch(
        batch.id,
        list(held.delivery_ids),
        _doc("X"),
        interchange_ref="1",
        message_refs=["1"],
        now=T0,
    )
    store.allocate("buyer-a", "unb")
    row, _ = record_inbound(
        store,
        channel="as2",
        partner="acme",
        message_id=f"in-{number}",
        media_type="application/xml",
        content=b"<x/>",
        now=T0,
    )
    owed = NewAsyncMdn("acme", f"in-{number}", "https://acme.example/mdn", {}, b"M", T0, "as2:x")
    finish_inbound(store, row.id, state="PARSED", detail="", answer=b"M", async_mdn=owed)
    refusal = record_refusal(
        store,
        NewRefusal(
            T0, "as2", "acme", "A", "B", "r-1", "decryption-failed", "", b"r", 1, 200, "none", None
        ),
    )
    create_key(store, "erp", ["submit"], T0)
    record_audit(store, "cli:test", "submit", "invoice", str(result.invoice_id), {}, T0)
    assert claim(store, f"key-{number}", "0" * 64, now=T0) is None
    complete(store, f"key-{number}", status=201, body=b"{}", media_type="application/json", now=T0)
    assert Dispatcher(store.engine, allow_networks=()).run_once()  # refused target: logged
    assert WebhookStore.of(store).attempts(hook.id)
    return {
        "invoice": result.invoice_id,
        "delivery": delivery,
        "inbound": row.id,
        "refusal": refusal,
        "document": result.document_ids[0],
    }


def test_default_tenant_exists_without_setup(store: Store) -> None:  # noqa: F811
    """A fresh store holds the default tenant and a Store is scoped to it."""
    assert [t.id for t in store.tenants()] == [DEFAULT_TENANT]
    assert store.tenant == DEFAULT_TENANT and store.has_tenant(DEFAULT_TENANT)


def test_every_row_written_in_a_tenant_carries_it(store: Store) -> None:  # noqa: F811
    """Every writing path of the store, used in tenant acme only, leaves no row of another
    tenant in any table (a write that forgot its tenant would land in 'default')."""
    store.create_tenant("acme", "ACME", T0)
    _fill(store.for_tenant("acme"))
    with store.engine.connect() as db:
        for table in OWNED:
            tenants_seen = set(db.scalars(sa.select(table.c.tenant_id).distinct()))
            assert tenants_seen <= {"acme"}, table.name
            assert tenants_seen, f"{table.name}: no row written by any path"


def test_another_tenants_rows_are_invisible(store: Store) -> None:  # noqa: F811
    """Everything acme stored is invisible to the default tenant, and its ids behave like ids
    that do not exist; the same invoice number of the same seller is accepted in both."""
    store.create_tenant("acme", "ACME", T0)
    acme = store.for_tenant("acme")
    theirs = _fill(acme)
    mine = _fill(store)
    assert theirs["invoice"] != mine["invoice"]
    for scope, other in ((store, theirs), (acme, mine)):
        with pytest.raises(UnknownDelivery):
            scope.delivery(other["delivery"])
        with pytest.raises(UnknownDelivery):
            scope.resend(other["delivery"], now=T0)
        with pytest.raises(KeyError):
            scope.document(other["document"])
        assert get_inbound(scope, other["inbound"]) is None
        assert get_refusal(scope, other["refusal"]) is None
        assert len(scope.deliveries()) == 2 and len(scope.batches()) == 1
        assert {e.invoice_id for e in scope.timeline("INV-1")} == {
            (mine if scope is store else theirs)["invoice"]
        }
        assert len(scope.list_unmatched_acks()) == 1
        assert len(list_inbound(scope)) == 1 and len(list_refusals(scope)) == 1
        assert len(list_async_mdns(scope)) == 1
        assert (
            scope.find_delivery(message_id="m-1").id
            == (  # type: ignore[union-attr]
                mine if scope is store else theirs
            )["delivery"]
        )
    assert find_inbound(store, "acme", "in-INV-1") is not None
    assert store.allocate("buyer-a", "unb") == [2] and acme.allocate("buyer-a", "unb") == [2]


def test_claims_and_async_mdns_are_per_tenant(store: Store) -> None:  # noqa: F811
    """A worker of one tenant never claims another tenant's deliveries or owed MDNs."""
    store.create_tenant("acme", "ACME", T0)
    acme = store.for_tenant("acme")
    acme.accept(
        simple_invoice(),
        None,
        "DE1",
        documents=[_doc("INV-1")],
        deliveries=[NewDelivery("b", "as2", T0)],
        now=T0,
    )
    assert store.claim_due("w", T0) == []
    assert [c.idempotency_key.split("/")[0] for c in acme.claim_due("w", T0)] == ["acme"]
    later = T0 + dt.timedelta(hours=1)
    assert claim_due_mdns(store, "t", later) == []


def test_unknown_tenant_is_named_with_the_known_ones(store: Store) -> None:  # noqa: F811
    """require_tenant of an id the store lacks says so, listing the known tenants."""
    with pytest.raises(UnknownTenant, match=r"'nope': unknown; known: default"):
        store.require_tenant("nope")
    with pytest.raises(Exception, match="not accepted"):
        store.for_tenant("Not A Slug")
    store.create_tenant("acme", "ACME", T0)
    with pytest.raises(Exception, match="exists already"):
        store.create_tenant("acme", "again", T0)


def test_migration_gives_existing_rows_to_the_default_tenant(store_url: str) -> None:  # noqa: F811
    """A store at 0007 with data migrates to head: its rows are the default tenant's, the
    events stay append-only, and another tenant can reuse the invoice number."""
    old = Store.open(store_url)
    old.migrate("0007")
    with old.engine.begin() as db:
        db.exec_driver_sql(
            "INSERT INTO invoices (seller_key, number, content_hash, canonical, accepted_at) "
            "VALUES ('DE1', 'INV-1', 'h', '{}', '2026-11-01 00:00:00')"
        )
        db.exec_driver_sql(
            "INSERT INTO events (at, invoice_id, kind, level, detail) "
            "VALUES ('2026-11-01 00:00:00', 1, 'accepted', 'info', 'old')"
        )
        db.exec_driver_sql(
            "INSERT INTO control_numbers (partner, counter, last_value) VALUES ('b', 'unb', 41)"
        )
    old.migrate()
    with old.engine.connect() as db:
        assert db.scalar(sa.text("SELECT tenant_id FROM invoices")) == DEFAULT_TENANT
        assert db.scalar(sa.text("SELECT tenant_id FROM events")) == DEFAULT_TENANT
        assert db.scalar(sa.select(tenants.c.id)) == DEFAULT_TENANT
    assert old.allocate("b", "unb") == [42]
    with pytest.raises(sa.exc.DatabaseError, match="append-only"), old.engine.begin() as db:
        db.exec_driver_sql("UPDATE events SET detail = 'forged'")
    old.create_tenant("acme", "ACME", T0)
    old.for_tenant("acme").accept(
        simple_invoice(), None, "DE1", documents=[], deliveries=[], now=T0
    )
    old.close()
