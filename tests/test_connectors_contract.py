"""One contract suite for every connector (STYLE 9): memory and file here, the network
connectors through ``tests/harness_<name>.py`` modules (see tests/connector_harness.py).

Each connector joins through a harness: how to build it against a real peer, how to make its next
send fail with a foreign (non-gateway) exception so the suite can prove the translation at the
boundary, and (where a peer can stall) how to make it stop answering.
"""

from __future__ import annotations

import errno
import os
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from pathlib import Path

import pytest
from connector_harness import NOW, Harness, HarnessFactory, clock, discovered, document

from connectors.base import Connector, Receipt
from connectors.file import FileConnector
from connectors.memory import MemoryConnector
from gateway.delivery.errors import DeliveryError, IdempotencyConflict, Timeout, policy_table


def _memory(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Harness]:
    memory = MemoryConnector(channel="contract", clock=clock)
    yield Harness(
        memory,
        lambda: memory.script(ConnectionResetError(errno.ECONNRESET, "reset")),
        lambda: memory.script(TimeoutError("no answer")),
    )


def _file(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Harness]:
    folder = tmp_path / "outbox"
    folder.mkdir()
    connector = FileConnector(folder, clock=clock)

    def break_next() -> None:
        os.rmdir(folder)
        folder.write_text("not a folder")  # the folder became a file: OSError underneath

    yield Harness(connector, break_next)


HARNESSES: dict[str, HarnessFactory] = {
    "memory": contextmanager(_memory),
    "file": contextmanager(_file),
    **discovered(),
}


@pytest.fixture(params=sorted(HARNESSES))
def harness(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Harness]:
    with HARNESSES[request.param](request, tmp_path) as built:
        yield built


@pytest.fixture(params=sorted(n for n in HARNESSES if n != "file"))
def stalling(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Harness]:
    """Harnesses whose peer can stop answering (a folder on a local disk cannot)."""
    with HARNESSES[request.param](request, tmp_path) as built:
        assert built.stall_next is not None, f"{request.param} harness has no stall_next"
        yield built


def test_is_a_connector(harness: Harness) -> None:
    """Every connector satisfies the Connector protocol (name, channel, send)."""
    assert isinstance(harness.connector, Connector)
    assert harness.connector.name and harness.connector.channel


def test_receipt_fields_filled(harness: Harness) -> None:
    """A send returns a Receipt naming connector, channel, message id, key, time and proof."""
    receipt = harness.connector.send(document(), delivery_id="d-1", idempotency_key="k-1")
    assert isinstance(receipt, Receipt)
    assert receipt.connector == harness.connector.name
    assert receipt.channel == harness.connector.channel
    assert receipt.message_id
    assert receipt.idempotency_key == "k-1"
    assert receipt.sent_at == NOW
    assert receipt.transport_proof is True
    assert receipt.evidence
    assert receipt.detail


def test_idempotent_resend(harness: Harness) -> None:
    """A re-send with the same key returns the first receipt and delivers nothing new."""
    first = harness.connector.send(document(), delivery_id="d-1", idempotency_key="k-1")
    again = harness.connector.send(document(), delivery_id="d-1", idempotency_key="k-1")
    assert again == first


def test_concurrent_sends_of_one_key_deliver_once(harness: Harness) -> None:
    """Racing sends of one key (several workers) all get the same single receipt."""

    def send(_: int) -> Receipt:
        return harness.connector.send(document(), delivery_id="d-1", idempotency_key="k-1")

    with ThreadPoolExecutor(max_workers=4) as pool:
        receipts = set(pool.map(send, range(16)))
    assert len(receipts) == 1


def test_distinct_keys_deliver_separately(harness: Harness) -> None:
    """Two keys for the same invoice are two deliveries with different message ids."""
    one = harness.connector.send(document(), delivery_id="d-1", idempotency_key="k-1")
    two = harness.connector.send(document(), delivery_id="d-2", idempotency_key="k-2")
    assert one.message_id != two.message_id


def test_same_key_different_bytes_is_a_conflict(harness: Harness) -> None:
    """Reusing a key for different bytes raises IdempotencyConflict (permanent), not a re-send."""
    harness.connector.send(document(), delivery_id="d-1", idempotency_key="k-1")
    with pytest.raises(IdempotencyConflict) as caught:
        harness.connector.send(
            document(content=b"<Invoice>2</Invoice>"), delivery_id="d-1", idempotency_key="k-1"
        )
    assert caught.value.retryable is False


def test_foreign_errors_are_translated(harness: Harness) -> None:
    """A foreign failure underneath escapes only as a DeliveryError chained to its cause."""
    harness.break_next()
    with pytest.raises(DeliveryError) as caught:
        harness.connector.send(document(), delivery_id="d-1", idempotency_key="k-9")
    assert caught.value.__cause__ is not None
    assert not isinstance(caught.value.__cause__, DeliveryError)
    assert caught.value.resulting_state in {"QUEUED", "FAILED"}


def test_a_stalled_peer_is_a_timeout(stalling: Harness) -> None:
    """A peer that stops answering gives Timeout (retryable, back to QUEUED) in bounded time."""
    assert stalling.stall_next is not None
    stalling.stall_next()
    with pytest.raises(Timeout) as caught:
        stalling.connector.send(document(), delivery_id="d-1", idempotency_key="k-t")
    assert caught.value.retryable is True
    assert caught.value.__cause__ is not None


def test_every_delivery_error_carries_its_policy() -> None:
    """Each DeliveryError class has retryable and resulting_state, consistent with each other."""
    table = policy_table()
    assert len(table) >= 12
    for name, retryable, state in table:
        assert state == ("QUEUED" if retryable else "FAILED"), name


def test_policy_table_in_the_docstring_matches_the_classes() -> None:
    """The table in gateway.delivery.errors' docstring states each class's real policy."""
    import gateway.delivery.errors as module

    documented = {}
    for line in (module.__doc__ or "").splitlines():
        parts = line.split()
        if len(parts) >= 3 and parts[1] in {"yes", "no"} and parts[2] in {"QUEUED", "FAILED"}:
            documented[parts[0]] = (parts[1] == "yes", parts[2])
    actual = {name: (retryable, state) for name, retryable, state in policy_table()}
    actual.pop("DeliveryError")
    assert documented == actual
