"""MemoryConnector: the shipped test double plays its script and keeps the idempotency contract."""

from __future__ import annotations

import pytest

from connectors.base import Polling
from connectors.memory import MemoryConnector
from gateway.delivery.errors import ConnectionFailed, RateLimited, Rejected
from gateway.document import Document

DOC = Document(content=b"x", syntax="ubl", format="peppol-bis3", invoice_number="INV-1")


def test_script_plays_in_order_then_succeeds() -> None:
    """Scripted outcomes apply to successive new sends; an empty script means success."""
    memory = MemoryConnector(script=[RateLimited("slow", retry_after=30), None])
    with pytest.raises(RateLimited) as caught:
        memory.send(DOC, delivery_id="d", idempotency_key="k")
    assert caught.value.retry_after == 30
    memory.send(DOC, delivery_id="d", idempotency_key="k")
    memory.send(DOC, delivery_id="d2", idempotency_key="k2")
    assert [s.delivery_id for s in memory.sent] == ["d", "d2"]
    assert memory.attempts == 3


def test_resend_does_not_consume_script_or_duplicate() -> None:
    """A re-send of a delivered key neither records again nor uses up a scripted failure."""
    memory = MemoryConnector()
    memory.send(DOC, delivery_id="d", idempotency_key="k")
    memory.script(Rejected("no"))
    memory.send(DOC, delivery_id="d", idempotency_key="k")
    assert len(memory.sent) == 1
    with pytest.raises(Rejected):
        memory.send(DOC, delivery_id="d2", idempotency_key="k2")


def test_foreign_script_item_is_translated() -> None:
    """A scripted non-gateway exception surfaces as ConnectionFailed chained to it."""
    memory = MemoryConnector(script=[ValueError("boom")])
    with pytest.raises(ConnectionFailed) as caught:
        memory.send(DOC, delivery_id="d", idempotency_key="k")
    assert isinstance(caught.value.__cause__, ValueError)


def test_poll_yields_items_until_confirmed() -> None:
    """Inbound items queued with receive() are polled oldest first until confirm() drops them."""
    memory = MemoryConnector()
    assert isinstance(memory, Polling)
    memory.receive(b"ack-1", "a")
    memory.receive(b"ack-2", "b")
    first = list(memory.poll())
    assert [i.content for i in first] == [b"ack-1", b"ack-2"]
    assert [i.content for i in memory.poll()] == [b"ack-1", b"ack-2"]
    memory.confirm(first[0])
    assert [i.content for i in memory.poll()] == [b"ack-2"]
