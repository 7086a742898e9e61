"""Structured logs (gateway/logs.py): ``log_context`` fields on every line inside the block,
in JSON and text; a delivery run end to end whose every JSON line about it carries the tenant,
the invoice number and the delivery id."""

from __future__ import annotations

import datetime as dt
import json
import logging
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
from builders import simple_invoice
from store_backends import T0, sqlite_url

from connectors.base import Receipt
from connectors.memory import MemoryConnector
from gateway.ack import Ack, AckLevel, AckReference, AckStatus
from gateway.delivery.acks_in import receive
from gateway.delivery.errors import ConnectionFailed
from gateway.delivery.worker import Worker
from gateway.document import Document
from gateway.logs import StderrHandler, configure, current_context, log_context
from gateway.profiles.load import ProfileSet
from gateway.profiles.profile import BuyerProfile, ChannelSpec, ProofPolicy, RetryPolicy
from gateway.store import NewDelivery, Store


@pytest.fixture
def logged() -> Iterator[None]:
    """The igw handler installed for the test, removed afterwards (level restored)."""
    root = logging.getLogger()
    level = root.level
    yield
    for handler in [h for h in root.handlers if isinstance(h, StderrHandler)]:
        root.removeHandler(handler)
    root.setLevel(level)


def _lines(err: str) -> list[dict[str, object]]:
    return [json.loads(line) for line in err.splitlines() if line.startswith("{")]


def test_fields_are_inherited_by_nested_calls_and_extra_wins(
    logged: None, capsys: pytest.CaptureFixture[str]
) -> None:
    """Inside nested blocks a line carries the outer and inner fields; a field passed in
    ``extra`` wins over the context's; after the block, nothing is added."""
    configure("info", "json")
    log = logging.getLogger("gateway.test")
    with log_context(tenant="acme", invoice="INV-1"):
        with log_context(delivery=7):
            log.info("inner")
            log.info("explicit", extra={"delivery": 8})
        log.info("outer")
    log.info("after")
    inner, explicit, outer, after = _lines(capsys.readouterr().err)
    assert (inner["tenant"], inner["invoice"], inner["delivery"]) == ("acme", "INV-1", 7)
    assert explicit["delivery"] == 8
    assert "delivery" not in outer and outer["invoice"] == "INV-1"
    assert "invoice" not in after and "tenant" not in after


def test_text_format_shows_the_context_fields(
    logged: None, capsys: pytest.CaptureFixture[str]
) -> None:
    """The text format ends the line with ``[tenant=... invoice=... delivery=...]``."""
    configure("info", "text")
    with log_context(tenant="default", invoice="INV-9", delivery=3):
        logging.getLogger("gateway.test").warning("hello")
    line = capsys.readouterr().err.strip()
    assert line.endswith("WARNING gateway.test: hello [tenant=default invoice=INV-9 delivery=3]")


class ChattyConnector(MemoryConnector):
    """A memory connector that logs a line of its own per send (like a real one would)."""

    def send(self, document: Document, *, delivery_id: str, idempotency_key: str) -> Receipt:
        logging.getLogger("connectors.chatty").info("sending %s", document.invoice_number)
        return super().send(document, delivery_id=delivery_id, idempotency_key=idempotency_key)


def test_a_delivery_run_logs_both_ids_on_every_line(
    tmp_path: Path, logged: None, capsys: pytest.CaptureFixture[str]
) -> None:
    """Three invoices sent on two threads (one fails once and is retried), the connector
    logging its own lines, then a business ack: every JSON line about a delivery carries the
    tenant, its invoice number and its delivery id, and they agree with the store."""
    store = Store.open(sqlite_url(tmp_path))
    store.migrate()
    ids: dict[int, str] = {}
    for number in ("INV-1", "INV-2", "INV-3"):
        doc = Document(f"<Invoice>{number}</Invoice>".encode(), "ubl", "peppol-bis3", number)
        result = store.accept(
            simple_invoice(number=number),
            None,
            "DE123",
            documents=[doc],
            deliveries=[NewDelivery("acme", "memory", T0)],
            now=T0,
        )
        ids[result.delivery_ids[0]] = number
    profile = BuyerProfile(
        name="acme",
        channel=ChannelSpec(connector="memory"),
        retry=RetryPolicy(attempts=3, backoff_base=dt.timedelta(seconds=1), jitter=0.0),
        proof=ProofPolicy(transport=dt.timedelta(hours=1), business=dt.timedelta(days=3)),
    )
    connector = ChattyConnector()
    connector.script(ConnectionFailed("refused once"))
    clock = [T0]
    worker = Worker(
        store,
        ProfileSet((profile,)),
        clock=lambda: clock[0],
        worker_id="w1",
        connectors=lambda _spec: connector,
        concurrency=2,
    )
    configure("info", "json")
    try:
        assert worker.run_once() == 3
        clock[0] = T0 + dt.timedelta(seconds=5)
        assert worker.run_once() == 1  # the retry
        ack = Ack(
            "APERAK",
            AckLevel.BUSINESS,
            AckStatus.ACCEPTED,
            AckReference(document="INV-2"),
            b"raw",
        )
        assert receive(store, ack, now=clock[0]).matched
    finally:
        worker.close()
        store.close()
    lines = _lines(capsys.readouterr().err)
    about = [line for line in lines if line["logger"] != "gateway.test"]
    assert len(about) >= 9, lines  # 4 sends + 4 outcomes + 1 ack
    for line in about:
        assert line.get("tenant") == "default", line
        assert line.get("delivery") in ids, line
        assert line.get("invoice") == ids[int(str(line["delivery"]))], line
    loggers = {str(line["logger"]) for line in about}
    assert {"connectors.chatty", "gateway.delivery.worker", "gateway.delivery.acks_in"} <= loggers
    assert current_context() == {}


def test_a_thread_started_inside_a_block_does_not_inherit_it(
    logged: None, capsys: pytest.CaptureFixture[str]
) -> None:
    """A plain thread starts with an empty context (why the worker opens the block in each
    send thread)."""
    configure("info", "json")
    seen: list[object] = []
    with log_context(invoice="INV-1"):
        thread = threading.Thread(target=lambda: seen.append(dict(current_context())))
        thread.start()
        thread.join()
    assert seen == [{}]
