"""Consolidation: invoices held in batches, closed into ONE EANCOM interchange, sent once, each
member with its own timeline; crash and race safety of closing, on SQLite and PostgreSQL."""

from __future__ import annotations

import datetime as dt
import threading
from collections.abc import Callable
from pathlib import Path

import pytest
from builders import simple_invoice
from store_backends import T0, store, store_url  # noqa: F401  (fixtures)

from connectors.base import Connector
from connectors.memory import MemoryConnector
from gateway.delivery import consolidation
from gateway.delivery.acks_in import AckRouter, receive
from gateway.delivery.consolidation import close_batch, close_due, next_cut_off
from gateway.delivery.submit import submit
from gateway.delivery.worker import Worker
from gateway.envelope import Envelope
from gateway.errors import ConfigError
from gateway.intake.results import RecordResult
from gateway.profiles.load import ProfileSet, load_profiles
from gateway.profiles.profile import BuyerIds, BuyerProfile, ChannelSpec, ProofPolicy
from gateway.store import BATCH_CLOSED, BATCH_OPEN, DeliveryState, Store
from mappings.edifact.contrl import build_contrl

SUPPLIER = "4000001000002"
BUYER = "4012345000009"


def _profile(consolidation_: str = "per-interchange", **changes: object) -> BuyerProfile:
    """An EANCOM buyer on a memory channel, batching as asked."""
    base = BuyerProfile.model_validate(
        {
            "name": "frischmarkt",
            "format": "eancom-d96a",
            "options": {"sender_id": SUPPLIER, "recipient_id": BUYER},
            "ids": BuyerIds(glns=(BUYER,)),
            "default": True,
            "channel": ChannelSpec(connector="memory", options={"channel": "edi"}),
            "consolidation": consolidation_,
            "proof": ProofPolicy.model_validate({"transport": "30m", "syntax": "24h"}),
        }
    )
    return base.model_copy(update=changes)


def _set(profile: BuyerProfile) -> ProfileSet:
    """A profile set routing every invoice to ``profile``."""
    return ProfileSet((profile,), default=profile)


def _records(*numbers: str) -> list[RecordResult]:
    return [RecordResult(n, "test", simple_invoice(number=n)) for n in numbers]


class Clock:
    """A clock the test moves by hand."""

    def __init__(self, start: dt.datetime = T0) -> None:
        self.now = start

    def __call__(self) -> dt.datetime:
        return self.now


def _worker(store: Store, profiles: ProfileSet, memory: MemoryConnector, clock: Clock) -> Worker:  # noqa: F811
    factory: Callable[[ChannelSpec], Connector] = lambda _spec: memory  # noqa: E731
    return Worker(store, profiles, clock=clock, worker_id="w1", connectors=factory, batch_check=0.0)


def test_per_interchange_batch_is_one_document_sent_once(store: Store) -> None:  # noqa: F811
    """Three invoices of one run: one interchange (one UNB, three UNH), ONE send, every member
    DELIVERED with its own message reference and its own timeline."""
    profiles = _set(_profile())
    report = submit(_records("INV-1", "INV-2", "INV-3"), store, profiles, now=T0)
    assert [o.status for o in report.outcomes] == ["stored"] * 3
    (closed,) = report.batches
    assert closed.closed and closed.members == 3 and closed.interchange_ref == "1"
    assert all("interchange 1 with 3 invoice(s)" in o.message for o in report.outcomes)
    memory = MemoryConnector(channel="edi")
    worker = _worker(store, profiles, memory, Clock())
    assert worker.run_once() == 3
    (sent,) = memory.sent
    content = sent.document.content
    assert content.count(b"UNB+") == 1 and content.count(b"UNH+") == 3
    assert content.count(b"UNZ+") == 1
    rows = store.deliveries()
    assert {r.state for r in rows} == {DeliveryState.DELIVERED}
    assert sorted(r.message_ref or "" for r in rows) == ["1", "2", "3"]
    assert {r.interchange_ref for r in rows} == {"1"}
    kinds = [e.kind for e in store.timeline("INV-2")]
    assert kinds == ["accepted", "batched", "batch_closed", "attempt", "transport_proof"]
    closed_event = store.timeline("INV-2")[2]
    assert "as message 2 (2 of 3)" in closed_event.detail
    assert "sent once for its 3 due member(s)" in store.timeline("INV-3")[3].detail
    assert worker.stats.delivered == 3


def test_per_day_batch_is_held_until_the_cut_off(store: Store) -> None:  # noqa: F811
    """Per-day: nothing is claimable before the cut-off; the sweep closes the batch at the
    cut-off and the worker sends it once; a later invoice starts the next day's batch."""
    profiles = _set(_profile("per-day", cut_off=dt.time(18, 0)))
    first = submit(_records("INV-1", "INV-2"), store, profiles, now=T0)  # 12:00
    assert not first.batches and all("held in batch" in o.message for o in first.outcomes)
    memory = MemoryConnector(channel="edi")
    clock = Clock()
    worker = _worker(store, profiles, memory, clock)
    assert worker.run_once() == 0 and not memory.sent
    rows = store.deliveries()
    assert all(r.state is DeliveryState.QUEUED and r.next_attempt_at is None for r in rows)
    later = submit(_records("INV-3"), store, profiles, now=T0 + dt.timedelta(hours=3))
    assert later.outcomes[0].batch_id == first.outcomes[0].batch_id  # same day: same batch
    cut_off = T0.replace(hour=18)
    assert close_due(store, profiles, cut_off - dt.timedelta(seconds=1)) == []
    (closed,) = close_due(store, profiles, cut_off)
    assert closed.closed and closed.members == 3
    clock.now = cut_off
    assert worker.run_once() == 3 and len(memory.sent) == 1
    tomorrow = submit(_records("INV-4"), store, profiles, now=cut_off + dt.timedelta(minutes=1))
    assert tomorrow.outcomes[0].batch_id != closed.batch_id
    (open_batch,) = store.batches(state=BATCH_OPEN)
    assert open_batch.due_at == cut_off + dt.timedelta(days=1)


def test_worker_closes_due_batches_itself(store: Store) -> None:  # noqa: F811
    """Without a sweep, the worker closes a per-day batch once its clock passes the cut-off."""
    profiles = _set(_profile("per-day"))
    submit(_records("INV-1", "INV-2"), store, profiles, now=T0)
    memory = MemoryConnector(channel="edi")
    clock = Clock(T0.replace(hour=18))
    worker = _worker(store, profiles, memory, clock)
    assert worker.run_once() == 2
    assert worker.stats.batches_closed == 1 and len(memory.sent) == 1


def test_batch_limit_closes_full_batches_at_once(store: Store) -> None:  # noqa: F811
    """batch_limit 2, five per-day invoices: two full batches close during the submit run,
    the fifth invoice waits in an open batch."""
    profiles = _set(_profile("per-day", batch_limit=2))
    report = submit(_records(*(f"INV-{i}" for i in range(5))), store, profiles, now=T0, chunk=2)
    assert [b.members for b in report.batches if b.closed] == [2, 2]
    assert [b.state for b in store.batches()] == [BATCH_CLOSED, BATCH_CLOSED, BATCH_OPEN]
    due = store.deliveries(states=[DeliveryState.QUEUED])
    assert sum(r.next_attempt_at is not None for r in due) == 4


def test_contrl_for_the_interchange_reaches_every_member(store: Store) -> None:  # noqa: F811
    """The buyer's CONTRL for the consolidated interchange is recorded on each member."""
    profile = _profile()
    profiles = _set(profile)
    submit(_records("INV-1", "INV-2"), store, profiles, now=T0)
    memory = MemoryConnector(channel="edi")
    _worker(store, profiles, memory, Clock()).run_once()
    envelope = Envelope("CTL1", T0)
    data = build_contrl(
        memory.sent[0].document.content, our_id=BUYER, our_qualifier="14", envelope=envelope
    )
    ack = AckRouter().parse(data)
    assert ack is not None
    result = receive(store, ack, now=T0 + dt.timedelta(minutes=5), profiles=[profile])
    assert len(result.deliveries) == 2
    assert {r.syntax_ack for r in store.deliveries()} == {"accepted"}


def test_crash_while_closing_loses_nothing_and_sends_once(
    store: Store,  # noqa: F811
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A close that dies inside its transaction leaves the batch OPEN with every member held
    (no document, nothing due); closing again sends the interchange exactly once."""
    profiles = _set(_profile("per-day"))
    submit(_records("INV-1", "INV-2", "INV-3"), store, profiles, now=T0)
    (batch,) = store.batches()
    real = store.close_batch

    def dies_after_writing(*args: object, **kwargs: object) -> bool:
        import gateway.store.batches as module

        original = module.event_values

        def crash(*a: object, **k: object) -> object:
            raise KeyboardInterrupt("power cut")

        monkeypatch.setattr(module, "event_values", crash)
        try:
            return real(*args, **kwargs)  # type: ignore[arg-type]
        finally:
            monkeypatch.setattr(module, "event_values", original)

    monkeypatch.setattr(store, "close_batch", dies_after_writing)
    with pytest.raises(KeyboardInterrupt):
        close_batch(store, profiles, batch.id, T0.replace(hour=18))
    monkeypatch.setattr(store, "close_batch", real)
    (still,) = store.batches()
    assert still.state == BATCH_OPEN and still.interchange_ref is None
    assert store.batch_documents([batch.id]) == {}
    assert len(store.batch_members(batch.id)) == 3
    assert all(r.next_attempt_at is None for r in store.deliveries())
    memory = MemoryConnector(channel="edi")
    worker = _worker(store, profiles, memory, Clock(T0.replace(hour=18)))
    worker.run(threading.Event(), until_empty=True)
    assert len(memory.sent) == 1
    assert {r.state for r in store.deliveries()} == {DeliveryState.DELIVERED}
    # the interrupted close spent control number 1; the interchange sent is number 2
    assert {r.interchange_ref for r in store.deliveries()} == {"2"}


def test_member_joining_while_closing_is_rendered_again(store: Store) -> None:  # noqa: F811
    """A member that joins between render and commit makes the close refuse and render again:
    the document sent carries every member."""
    profiles = _set(_profile("per-day"))
    submit(_records("INV-1"), store, profiles, now=T0)
    (batch,) = store.batches()
    real = store.batch_members
    calls: list[int] = []

    def members_then_join(batch_id: int) -> list[object]:
        found = real(batch_id)
        calls.append(len(found))
        if len(calls) == 1:  # another submit adds a member after this read
            submit(_records("INV-2"), store, profiles, now=T0 + dt.timedelta(minutes=1))
        return found  # type: ignore[return-value]

    store.batch_members = members_then_join  # type: ignore[method-assign]
    closed = close_batch(store, profiles, batch.id, T0.replace(hour=18))
    assert calls == [1, 2] and closed.closed and closed.members == 2
    document = store.batch_documents([batch.id])[batch.id]
    assert document.content.count(b"UNH+") == 2


def test_racing_closers_close_once(store: Store) -> None:  # noqa: F811
    """Four threads close the same batch at once: exactly one wins; one document, one send."""
    profiles = _set(_profile("per-day"))
    submit(_records(*(f"INV-{i}" for i in range(20))), store, profiles, now=T0)
    (batch,) = store.batches()
    at = T0.replace(hour=18)
    results: list[bool] = []
    barrier = threading.Barrier(4)

    def closer() -> None:
        barrier.wait()
        results.append(close_batch(store, profiles, batch.id, at).closed)

    threads = [threading.Thread(target=closer) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(results) == [False, False, False, True]
    memory = MemoryConnector(channel="edi")
    _worker(store, profiles, memory, Clock(at)).run(threading.Event(), until_empty=True)
    assert len(memory.sent) == 1
    assert len(store.deliveries(states=[DeliveryState.DELIVERED])) == 20


def test_failed_batch_falls_back_as_one_batch(store: Store) -> None:  # noqa: F811
    """A permanent failure fails every member and re-sends the same document ONCE on the
    fallback channel."""
    from gateway.delivery.errors import Rejected

    profile = _profile(fallback=(ChannelSpec(connector="memory", options={"channel": "b"}),))
    profiles = _set(profile)
    submit(_records("INV-1", "INV-2"), store, profiles, now=T0)
    memories = {"edi": MemoryConnector(channel="edi"), "b": MemoryConnector(channel="b")}
    memories["edi"].script(Rejected("no such mailbox"))
    worker = Worker(
        store,
        profiles,
        clock=Clock(),
        worker_id="w1",
        connectors=lambda spec: memories[str(spec.options["channel"])],
        batch_check=0.0,
    )
    worker.run(threading.Event(), until_empty=True)
    assert len(memories["b"].sent) == 1
    rows = store.deliveries()
    assert sorted(r.state.value for r in rows) == ["DELIVERED", "DELIVERED", "FAILED", "FAILED"]
    first, fallback = memories["edi"].sent, memories["b"].sent[0]
    assert not first  # the scripted rejection sent nothing
    assert fallback.document.content.count(b"UNH+") == 2
    assert {r.message_ref for r in rows} == {"1", "2"}


def test_next_cut_off_is_today_or_tomorrow() -> None:
    """The cut-off after 12:00 is 18:00 the same day; after 18:00 it is the next day's."""
    profile = _profile("per-day", cut_off=dt.time(18, 0))
    assert next_cut_off(profile, T0) == T0.replace(hour=18)
    assert next_cut_off(profile, T0.replace(hour=18)) == T0.replace(hour=18) + dt.timedelta(days=1)


def test_single_invoice_formats_refuse_consolidation_at_load(tmp_path: Path) -> None:
    """A UBL profile asking for per-day batches fails at start-up, naming file and key."""
    (tmp_path / "b.toml").write_text(
        'default = true\nformat = "peppol-bis3"\nconsolidation = "per-day"\n'
        '[channel]\nconnector = "memory"\n',
        encoding="utf-8",
    )
    with pytest.raises(ConfigError) as error:
        load_profiles(tmp_path)
    message = str(error.value)
    assert "b.toml" in message and "consolidation = 'per-day'" in message
    assert "one invoice per document" in message


def test_interchange_renderer_found_only_for_batching_formats() -> None:
    """EANCOM has a render_interchange; UBL does not."""
    from gateway.registry import resolve_mapping

    assert consolidation.interchange_renderer(resolve_mapping("eancom-d96a")) is not None
    assert consolidation.interchange_renderer(resolve_mapping("peppol-bis3")) is None


def _held_store(url: str, tmp_path: Path, invoices: int, capacity: int) -> tuple[Store, Path]:
    """``invoices`` EANCOM invoices held in due per-day batches of ``capacity``; (store,
    profiles folder) for worker processes sending through the counting file connector."""
    from test_worker_crash import CONNECTOR

    from gateway.store import AcceptItem, BatchHold, NewDelivery

    profiles, out, log = tmp_path / "buyers", tmp_path / "out", tmp_path / "sends.log"
    profiles.mkdir()
    (profiles / "frischmarkt.toml").write_text(
        'default = true\nformat = "eancom-d96a"\nconsolidation = "per-day"\n'
        f'options = {{ sender_id = "{SUPPLIER}", recipient_id = "{BUYER}" }}\n'
        f'[channel]\nconnector = "{CONNECTOR}"\n'
        f'options = {{ directory = "{out}", log = "{log}", create = true }}\n',
        encoding="utf-8",
    )
    opened = Store.open(url)
    opened.migrate()
    hold = BatchHold("per-day", capacity, T0, "k")
    items = [
        AcceptItem(
            simple_invoice(lines=1, number=f"INV-{i:04d}"),
            None,
            "DE123",
            (),
            (NewDelivery("frischmarkt", CONNECTOR, T0, document_index=None, hold=hold),),
        )
        for i in range(invoices)
    ]
    opened.accept_many(items, now=T0)
    return opened, profiles


def _sigkill_closing(url: str, tmp_path: Path) -> None:
    import collections
    import random
    import re
    import signal
    import time

    from test_worker_crash import _worker as worker_process

    invoices, capacity = 300, 3
    opened, profiles = _held_store(url, tmp_path, invoices, capacity)
    try:
        rng = random.Random(7)
        kills = 0

        def progress() -> int:  # batches closed + members delivered: 100 + 300 at the end
            done = opened.deliveries(states=[DeliveryState.DELIVERED])
            return len(opened.batches(state=BATCH_CLOSED)) + len(done)

        for _ in range(4):
            target = min(progress() + rng.randint(5, 60), invoices + invoices // capacity - 5)
            process = worker_process(url, profiles, "closer")
            deadline = time.monotonic() + 30
            while progress() < target and process.poll() is None and time.monotonic() < deadline:
                time.sleep(0.005)
            if process.poll() is None:
                process.send_signal(signal.SIGKILL)
                kills += 1
            process.wait()
        final = worker_process(url, profiles, "closer")
        _out, err = final.communicate(timeout=120)
        assert final.returncode == 0, err.decode()
        assert kills >= 3  # the kills really hit a worker closing or sending
        rows = opened.deliveries()
        assert len(rows) == invoices
        assert {r.state for r in rows} == {DeliveryState.DELIVERED}
        closed = opened.batches(state=BATCH_CLOSED)
        assert len(closed) == invoices // capacity and not opened.batches(state=BATCH_OPEN)
        files = [p for p in (tmp_path / "out").iterdir() if not p.name.startswith(".")]
        assert len(files) == len(closed)  # one file per batch: none sent twice
        numbers = collections.Counter(
            m.decode() for p in files for m in re.findall(rb"BGM\+380\+([^+']+)", p.read_bytes())
        )
        assert sorted(numbers) == sorted(f"INV-{i:04d}" for i in range(invoices))
        assert set(numbers.values()) == {1}  # every member in exactly one interchange
        refs = {r.interchange_ref for r in rows}
        assert len(refs) == len(closed)  # members of a batch share its interchange number
    finally:
        opened.close()


def test_sigkill_while_closing_and_sending_sqlite(tmp_path: Path) -> None:
    """SQLite: a worker SIGKILLed while it closes 100 due batches and sends them, restarted:
    every member delivered, one file per batch, each invoice in exactly one interchange."""
    from store_backends import sqlite_url

    _sigkill_closing(sqlite_url(tmp_path), tmp_path)


def test_sigkill_while_closing_and_sending_postgresql(tmp_path: Path) -> None:
    """PostgreSQL: the same SIGKILL test as on SQLite."""
    from store_backends import pg_schema_url

    with pg_schema_url() as url:
        _sigkill_closing(url, tmp_path)


def test_sweeper_closes_due_batches(store: Store) -> None:  # noqa: F811
    """The consolidation sweep (also a Sweeper job) closes a per-day batch at its cut-off."""
    from gateway.delivery.sweeps import Sweeper, sweep_batches

    profiles = _set(_profile("per-day"))
    submit(_records("INV-1", "INV-2"), store, profiles, now=T0)
    assert sweep_batches(store, profiles, T0) == []
    sweeper = Sweeper(store, profiles, clock=lambda: T0.replace(hour=18))
    (closed,) = sweeper.run_batches()
    assert closed.closed and closed.members == 2
    assert sweep_batches(store, profiles, T0.replace(hour=19)) == []  # nothing left open


def test_status_table_marks_held_deliveries(store: Store) -> None:  # noqa: F811
    """`igw status` shows a delivery waiting in an open batch as held, naming the batch."""
    from gateway.delivery.status import status_rows, status_table

    profiles = _set(_profile("per-day"))
    submit(_records("INV-1"), store, profiles, now=T0)
    rows = store.deliveries()
    (batch,) = store.batches()
    assert f"QUEUED (held in batch {batch.id})" in status_table(rows)
    assert status_rows(rows)[0]["held"] is True and status_rows(rows)[0]["batch"] == batch.id


def test_member_cancelled_while_held_is_left_out_of_the_interchange(store: Store) -> None:  # noqa: F811
    """A held delivery cancelled before its batch closes is not rendered nor sent; the other
    members are, and the cancelled one stays CANCELLED."""
    profiles = _set(_profile("per-day"))
    report = submit(_records("INV-1", "INV-2", "INV-3"), store, profiles, now=T0)
    cancelled = report.outcomes[1].delivery_ids[0]
    store.mark(cancelled, DeliveryState.CANCELLED, now=T0, kind="cancelled", level="warning")
    memory = MemoryConnector(channel="edi")
    worker = _worker(store, profiles, memory, Clock(T0.replace(hour=18)))
    assert worker.run_once() == 2
    (sent,) = memory.sent
    assert sent.document.content.count(b"UNH+") == 2 and b"INV-2" not in sent.document.content
    assert store.delivery(cancelled).state is DeliveryState.CANCELLED


def test_per_interchange_batch_of_a_died_run_is_closed_after_the_grace(store: Store) -> None:  # noqa: F811
    """A per-interchange batch its submit run never closed (the run died) is closed by the
    sweep once PER_INTERCHANGE_GRACE has passed, not before."""
    from gateway.store import AcceptItem, NewDelivery

    profile = _profile()
    profiles = _set(profile)
    hold = consolidation.hold_for(profile, simple_invoice(), "edifact", T0)
    assert hold is not None and hold.due_at == T0 + consolidation.PER_INTERCHANGE_GRACE
    item = AcceptItem(
        simple_invoice(number="INV-1"),
        None,
        "DE123",
        (),
        (NewDelivery("frischmarkt", "memory", T0, document_index=None, hold=hold),),
    )
    store.accept_many([item], now=T0)  # ... and the run dies before closing
    grace = consolidation.PER_INTERCHANGE_GRACE
    assert close_due(store, profiles, T0 + grace - dt.timedelta(seconds=1)) == []
    (closed,) = close_due(store, profiles, T0 + grace)
    assert closed.closed and closed.members == 1


def test_two_workers_never_split_a_batch_on_postgresql(tmp_path: Path) -> None:
    """Two worker processes close and send 100 batches on one PostgreSQL queue: every batch
    is sent by exactly one of them, exactly once (the send log has each batch key once)."""
    import collections

    from store_backends import pg_schema_url
    from test_worker_crash import _worker as worker_process

    with pg_schema_url() as url:
        opened, profiles = _held_store(url, tmp_path, 400, 4)
        try:
            workers = [worker_process(url, profiles, f"w{i}") for i in (1, 2)]
            outputs = [w.communicate(timeout=120) for w in workers]
            assert [w.returncode for w in workers] == [0, 0], [e.decode() for _, e in outputs]
            sends = collections.Counter((tmp_path / "sends.log").read_text().split())
            assert len(sends) == 100 and set(sends.values()) == {1}
            assert all("/batch" in key for key in sends)
            rows = opened.deliveries()
            assert {r.state for r in rows} == {DeliveryState.DELIVERED} and len(rows) == 400
            files = [p for p in (tmp_path / "out").iterdir() if not p.name.startswith(".")]
            assert len(files) == 100
        finally:
            opened.close()
