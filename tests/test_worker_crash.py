"""Worker crash safety and scale-out: SIGKILL mid-run loses and duplicates nothing; two worker
processes on PostgreSQL share the queue without double sends."""

from __future__ import annotations

import collections
import multiprocessing
import os
import random
import signal
import subprocess
import sys
import time
from pathlib import Path

from builders import simple_invoice
from store_backends import T0, allocate_many, pg_schema_url, sqlite_url

from connectors.base import Clock, Receipt, utc_now
from connectors.file import FileConnector
from gateway.document import Document
from gateway.store import DeliveryState, NewDelivery, Store

REPO = Path(__file__).resolve().parent.parent
INVOICES = 500
BATCH = 10
CONNECTOR = "test_worker_crash:CountingFileConnector"


class CountingFileConnector(FileConnector):
    """The file connector, plus one line per ``send`` call (key) appended to ``log``: counts
    real send calls, including those a crash cut short."""

    def __init__(
        self, directory: str, *, log: str, create: bool = False, clock: Clock = utc_now
    ) -> None:
        super().__init__(directory, create=create, clock=clock)
        self.log = log

    def send(self, document: Document, *, delivery_id: str, idempotency_key: str) -> Receipt:
        """Log the call, then send as the file connector does."""
        fd = os.open(self.log, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
        try:
            os.write(fd, f"{idempotency_key}\n".encode())
        finally:
            os.close(fd)
        return super().send(document, delivery_id=delivery_id, idempotency_key=idempotency_key)


def _setup(url: str, tmp_path: Path, count: int = INVOICES) -> tuple[Store, Path, Path, Path]:
    """Store with ``count`` queued file deliveries; (store, profiles dir, outbox, send log)."""
    profiles, out, log = tmp_path / "buyers", tmp_path / "out", tmp_path / "sends.log"
    profiles.mkdir()
    (profiles / "crash.toml").write_text(
        'default = true\nformat = "peppol-bis3"\n[channel]\n'
        f'connector = "{CONNECTOR}"\n'
        f'options = {{ directory = "{out}", log = "{log}", create = true }}\n'
    )
    store = Store.open(url)
    store.migrate()
    _fill(store, count)
    return store, profiles, out, log


def _fill(store: Store, count: int, start: int = 0) -> None:
    """Accept ``count`` invoices, each with one queued file delivery, one transaction each."""
    base = simple_invoice(lines=1)
    for i in range(start, start + count):
        number = f"INV-{i:04d}"
        doc = Document(
            f"<Invoice><ID>{number}</ID></Invoice>".encode(), "ubl", "peppol-bis3", number
        )
        store.accept(
            base.model_copy(update={"number": number}),
            None,
            "DE123",
            documents=[doc],
            deliveries=[NewDelivery("crash", CONNECTOR, T0)],
            now=T0,
        )


def _worker(
    url: str,
    profiles: Path,
    worker_id: str,
    *,
    until_empty: bool = True,
    extra: tuple[str, ...] = (),
) -> subprocess.Popen[bytes]:
    """A worker process (``python -m gateway.delivery.worker [--until-empty]``)."""
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(REPO), str(REPO / "tests")])}
    command = [
        sys.executable,
        "-m",
        "gateway.delivery.worker",
        "--store",
        url,
        "--profiles",
        str(profiles),
    ]
    command += ["--worker-id", worker_id, "--batch", str(BATCH)]
    command += ["--until-empty"] if until_empty else []
    command += list(extra)
    return subprocess.Popen(
        command, env=env, cwd=REPO, stdout=subprocess.PIPE, stderr=subprocess.PIPE
    )


def _done(store: Store) -> int:
    return len(store.deliveries(states=[DeliveryState.DELIVERED]))


def _check_exactly_once(store: Store, out: Path, count: int) -> collections.Counter[str]:
    """Every delivery DELIVERED once, one file each, one proof event each; the send counts."""
    rows = store.deliveries()
    assert len(rows) == count
    assert {r.state for r in rows} == {DeliveryState.DELIVERED}
    assert all(r.claimed_by is None for r in rows)
    files = [p for p in out.iterdir() if not p.name.startswith(".")]
    assert len(files) == count
    assert sorted(p.name for p in files) == sorted(r.message_id or "" for r in rows)
    for number in ("INV-0000", f"INV-{count - 1:04d}"):
        proofs = [e for e in store.timeline(number) if e.kind == "transport_proof"]
        assert len(proofs) == 1
    return collections.Counter((out.parent / "sends.log").read_text().split())


def _kill_restart_run(store: Store, url: str, profiles: Path, rounds: int) -> int:
    """Start the worker, SIGKILL it mid-work ``rounds`` times, then let it finish; kills done."""
    rng = random.Random(4)
    kills = 0
    for _ in range(rounds):
        before = _done(store)
        target = min(before + rng.randint(10, 80), INVOICES - 5)
        process = _worker(url, profiles, "crash-worker")
        deadline = time.monotonic() + 30
        while _done(store) < target and process.poll() is None and time.monotonic() < deadline:
            time.sleep(0.01)
        time.sleep(rng.random() * 0.05)
        if process.poll() is None:
            process.send_signal(signal.SIGKILL)
            kills += 1
        process.wait()
    final = _worker(url, profiles, "crash-worker")
    _out, err = final.communicate(timeout=120)
    assert final.returncode == 0, err.decode()
    return kills


def _crash_test(url: str, tmp_path: Path) -> None:
    store, profiles, out, _log = _setup(url, tmp_path)
    try:
        kills = _kill_restart_run(store, url, profiles, rounds=4)
        assert kills >= 3  # the kills really hit a running worker
        sends = _check_exactly_once(store, out, INVOICES)
        assert set(sends) == {r.idempotency_key for r in store.deliveries()}
        # a worker records a claimed batch's outcomes in one transaction after its sends, so a
        # kill repeats at most the sends of the batch in flight (--batch 10); the repeat finds
        # the file and writes none
        assert sum(sends.values()) - INVOICES <= kills * BATCH
    finally:
        store.close()


def test_sigkill_sqlite_exactly_once(tmp_path: Path) -> None:
    """SQLite: a worker SIGKILLed several times mid-run, restarted: 500 files, each once."""
    _crash_test(sqlite_url(tmp_path), tmp_path)


def test_sigkill_postgresql_exactly_once(tmp_path: Path) -> None:
    """PostgreSQL: a worker SIGKILLed several times mid-run, restarted: 500 files, each once."""
    with pg_schema_url() as url:
        _crash_test(url, tmp_path)


def test_two_workers_share_postgresql_queue(tmp_path: Path) -> None:
    """Two worker processes on one PostgreSQL queue: each key sent exactly once, all delivered,
    both workers did part of it; control numbers allocated meanwhile from both stay unique."""
    with pg_schema_url() as url:
        store, profiles, out, _log = _setup(url, tmp_path, count=0)
        try:
            # both workers run (idle, polling often) before the queue fills, so neither can
            # drain it alone before the other has started
            often = ("--poll-interval", "0.02")
            workers = [
                _worker(url, profiles, f"w{i}", until_empty=False, extra=often) for i in (1, 2)
            ]
            time.sleep(3.0)
            with multiprocessing.get_context("spawn").Pool(2) as pool:
                allocations = pool.starmap_async(
                    allocate_many, [(url, "ACME", 100), (url, "ACME", 100)]
                )
                _fill(store, INVOICES)
                parts = allocations.get(timeout=120)
            deadline = time.monotonic() + 120
            while _done(store) < INVOICES and time.monotonic() < deadline:
                time.sleep(0.05)
            for w in workers:
                w.send_signal(signal.SIGTERM)
            outputs = [w.communicate(timeout=60) for w in workers]
            assert [w.returncode for w in workers] == [0, 0], [e.decode() for _, e in outputs]
            sends = _check_exactly_once(store, out, INVOICES)
            assert set(sends.values()) == {1}  # no key sent twice
            delivered = [
                int(dict(item.split("=") for item in stdout.decode().split())["delivered"])
                for stdout, _ in outputs
            ]
            assert sum(delivered) == INVOICES and min(delivered) > 0  # both took part
            numbers = parts[0] + parts[1]
            assert sorted(numbers) == list(range(1, 201))  # unique, no gap
        finally:
            store.close()


def test_sigterm_finishes_send_and_releases_claims(tmp_path: Path) -> None:
    """SIGTERM mid-run: the worker exits 0, holds no claim, and nothing is sent twice."""
    store, profiles, out, _log = _setup(sqlite_url(tmp_path), tmp_path, count=300)
    try:
        process = _worker(sqlite_url(tmp_path), profiles, "term-worker", until_empty=False)
        deadline = time.monotonic() + 30
        while _done(store) < 20 and time.monotonic() < deadline:
            time.sleep(0.01)
        process.send_signal(signal.SIGTERM)
        stdout, stderr = process.communicate(timeout=30)
        assert process.returncode == 0, stderr.decode()
        rows = store.deliveries()
        assert all(r.claimed_by is None for r in rows)
        done = [r for r in rows if r.state is DeliveryState.DELIVERED]
        assert 20 <= len(done) < 300
        assert {r.state for r in rows} == {DeliveryState.DELIVERED, DeliveryState.QUEUED}
        files = [p for p in out.iterdir() if not p.name.startswith(".")]
        assert len(files) == len(done)
        assert b"delivered=" in stdout
    finally:
        store.close()
