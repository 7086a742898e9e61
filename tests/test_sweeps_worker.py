"""Overdue proof end to end with the real Worker and a controllable clock (SQLite, PostgreSQL)."""

from __future__ import annotations

import dataclasses
import datetime as dt

from builders import simple_invoice
from store_backends import T0, store, store_url  # noqa: F401  (fixtures)

from connectors.base import Connector, Receipt
from connectors.memory import MemoryConnector
from gateway.delivery.sweeps import sweep_overdue
from gateway.delivery.worker import Worker
from gateway.document import Document
from gateway.profiles.load import ProfileSet
from gateway.profiles.profile import BuyerProfile, ChannelSpec, ProofPolicy
from gateway.store import DeliveryState, NewDelivery, Store


class NoProofMemory(MemoryConnector):
    """A memory channel whose transport proves nothing (like an SFTP drop): receipts are SENT."""

    def send(self, document: Document, *, delivery_id: str, idempotency_key: str) -> Receipt:
        """As MemoryConnector.send, without transport proof."""
        receipt = super().send(document, delivery_id=delivery_id, idempotency_key=idempotency_key)
        return dataclasses.replace(receipt, transport_proof=False)


class Clock:
    """A clock the test moves by hand."""

    def __init__(self) -> None:
        self.now = T0

    def __call__(self) -> dt.datetime:
        return self.now


def test_worker_resends_same_key_then_falls_back(store: Store) -> None:  # noqa: F811
    """Real worker: overdue transport proof -> one re-send (deduplicated) -> fallback channel."""
    profile = BuyerProfile(
        name="acme",
        channel=ChannelSpec(connector="primary"),
        fallback=(ChannelSpec(connector="backup"),),
        proof=ProofPolicy.model_validate({"transport": "1h", "on_overdue": "fallback"}),
    )
    primary, backup = NoProofMemory(channel="primary"), MemoryConnector(channel="backup")
    by_name: dict[str, Connector] = {"primary": primary, "backup": backup}
    clock = Clock()
    worker = Worker(
        store,
        ProfileSet(profiles=(profile,)),
        clock=clock,
        worker_id="w1",
        connectors=lambda spec: by_name[spec.connector],
    )
    doc = Document(b"<Invoice>INV-1</Invoice>", "ubl", "peppol-bis3", "INV-1")
    accepted = store.accept(
        simple_invoice(number="INV-1"),
        None,
        "DE123",
        documents=[doc],
        deliveries=[NewDelivery("acme", "primary", T0)],
        now=T0,
    )
    first = accepted.delivery_ids[0]
    profiles = {"acme": profile}

    assert worker.run_once() == 1
    assert store.delivery(first).state is DeliveryState.SENT

    clock.now = T0 + dt.timedelta(hours=1, minutes=1)
    assert [a.action for a in sweep_overdue(store, profiles, clock.now).actions] == ["resend"]
    assert worker.run_once() == 1
    assert len(primary.sent) == 1  # same idempotency key: the channel kept one message
    assert store.delivery(first).state is DeliveryState.SENT

    clock.now += dt.timedelta(hours=1, minutes=1)
    report = sweep_overdue(store, profiles, clock.now)
    assert [a.action for a in report.actions] == ["fallback"]
    assert store.delivery(first).state is DeliveryState.FAILED
    assert worker.run_once() == 1
    new_id = report.actions[0].new_delivery_id
    assert new_id is not None
    assert store.delivery(new_id).state is DeliveryState.DELIVERED
    assert len(backup.sent) == 1 and backup.sent[0].document.content == doc.content

    timeline = [(e.delivery_id, e.kind) for e in store.timeline("INV-1")]
    assert (first, "resend") in timeline
    assert (first, "proof_overdue") in timeline
    assert (new_id, "fallback") in timeline
    assert timeline.index((first, "resend")) < timeline.index((first, "proof_overdue"))
