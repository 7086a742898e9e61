"""After a kill -9: claims of provably dead workers are taken over at once, claims of live ones
are waited for or reported — ``igw run --until-empty`` never calls a queue with claims empty."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from builders import simple_invoice
from store_backends import T0, pg_schema_url, sqlite_url
from test_worker_crash import CountingFileConnector, _check_exactly_once, _done

from connectors.base import Clock, Receipt, utc_now
from connectors.temp_files import temp_name
from gateway.delivery import worker_identity
from gateway.delivery.worker_identity import ProcessIdentity, current, gone, parse
from gateway.document import Document
from gateway.store import DeliveryState, NewDelivery, Store

REPO = Path(__file__).resolve().parent.parent
LONG_LEASE = "3600"  # far beyond every timeout below: only a takeover can free these claims
CONNECTOR = "test_worker_takeover:SlowFileConnector"


class SlowFileConnector(CountingFileConnector):
    """The counting file connector, ``delay`` seconds per send: a SIGKILL lands mid-batch."""

    def __init__(
        self,
        directory: str,
        *,
        log: str,
        delay: float = 0.02,
        create: bool = False,
        clock: Clock = utc_now,
        temp_grace: float = 0.0,
    ) -> None:
        super().__init__(directory, log=log, create=create, clock=clock)
        self.delay = delay
        self.temp_grace = temp_grace  # tests: every leftover temp file is stale

    def send(self, document: Document, *, delivery_id: str, idempotency_key: str) -> Receipt:
        """Wait, then send as the counting file connector does."""
        time.sleep(self.delay)
        return super().send(document, delivery_id=delivery_id, idempotency_key=idempotency_key)


def _fill(store: Store, count: int) -> None:
    """Accept ``count`` invoices, each with one queued delivery over the slow connector."""
    base = simple_invoice(lines=1)
    for i in range(count):
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


def _setup(url: str, tmp_path: Path, count: int) -> tuple[Store, Path, Path]:
    """Store with ``count`` queued deliveries over the slow connector; (store, profiles, out)."""
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
    return store, profiles, out


def _worker(url: str, profiles: Path, *args: str) -> subprocess.Popen[bytes]:
    """``python -m gateway.delivery.worker`` with the DEFAULT worker id (no --worker-id)."""
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
    return subprocess.Popen(
        [*command, *args], env=env, cwd=REPO, stdout=subprocess.PIPE, stderr=subprocess.PIPE
    )


def _stats(stdout: bytes) -> dict[str, float]:
    return {k: float(v) for k, v in (item.split("=") for item in stdout.decode().split())}


def _claimed(store: Store) -> int:
    return sum(h.count for h in store.claim_holders(utc_now()))


@pytest.fixture
def sleeper() -> Iterator[subprocess.Popen[bytes]]:
    """A live process that is not a worker (its pid names a running process)."""
    process = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(120)"])
    yield process
    process.kill()
    process.wait()


def _identity_of(pid: int) -> ProcessIdentity:
    identity = current(pid)
    if identity is None:
        pytest.skip("no /proc: worker ids cannot name processes here")
    return identity


# -- identities ---------------------------------------------------------------------------


def test_default_worker_id_names_this_process() -> None:
    """The default worker id carries host, pid, start time, boot id and pid namespace."""
    identity = _identity_of(os.getpid())
    parsed = parse(worker_identity.default_worker_id())
    assert parsed == identity and parsed.pid == os.getpid()
    assert gone(identity.worker_id) is None  # we run


def test_live_process_is_not_gone(sleeper: subprocess.Popen[bytes]) -> None:
    """A running pid with its recorded start time is not gone."""
    assert gone(_identity_of(sleeper.pid).worker_id) is None


def test_dead_pid_is_gone() -> None:
    """A pid whose process exited and was reaped is provably gone."""
    process = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
    identity = _identity_of(process.pid)
    process.kill()
    process.wait()
    reason = gone(identity.worker_id)
    assert reason is not None and f"pid {process.pid}" in reason and "not running" in reason


def test_zombie_is_gone() -> None:
    """A killed process its parent has not reaped yet (a zombie) is gone."""
    process = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
    identity = _identity_of(process.pid)
    os.kill(process.pid, signal.SIGKILL)
    deadline = time.monotonic() + 10
    while gone(identity.worker_id) is None and time.monotonic() < deadline:
        time.sleep(0.01)
    reason = gone(identity.worker_id)
    process.wait()
    assert reason is not None and "exited" in reason


def test_reused_pid_is_gone(sleeper: subprocess.Popen[bytes]) -> None:
    """A live pid started at another time than the worker's record is another process."""
    identity = _identity_of(sleeper.pid)
    reused = ProcessIdentity(
        identity.host, identity.pid, identity.start + 1, identity.boot, identity.pidns
    )
    reason = gone(reused.worker_id)
    assert reason is not None and "another process" in reason


def test_other_machine_or_plain_id_is_never_gone() -> None:
    """A dead pid under another boot id or pid namespace, or an id naming no process, is not
    provably gone (the pid means nothing here)."""
    mine = _identity_of(os.getpid())
    dead = 2**22 + 12345  # above pid_max's default ceiling: no such process
    assert gone(ProcessIdentity(mine.host, dead, 1, mine.boot, mine.pidns).worker_id)
    assert gone(ProcessIdentity(mine.host, dead, 1, "0" * 12, mine.pidns).worker_id) is None
    assert gone(ProcessIdentity(mine.host, dead, 1, mine.boot, mine.pidns + 1).worker_id) is None
    assert gone(ProcessIdentity("elsewhere", dead, 1, mine.boot, mine.pidns).worker_id) is None
    assert gone("crash-worker") is None
    assert gone(f"{mine.host}:{dead}") is None


# -- the store's compare-and-set ---------------------------------------------------------------


@pytest.mark.parametrize("backend", ["sqlite", "postgresql"])
def test_take_over_releases_only_the_owners_claims(backend: str, tmp_path: Path) -> None:
    """take_over frees the named owner's claims only, with one event each; a second call
    (someone already did it) frees nothing."""

    def check(url: str) -> None:
        store, _profiles, _out = _setup(url, tmp_path, 6)
        try:
            now = utc_now()
            store.claim_due("dead", now, 4, 3600)
            store.claim_due("alive", now, 2, 3600)
            holders = {h.worker_id: h.count for h in store.claim_holders(now)}
            assert holders == {"dead": 4, "alive": 2}
            assert store.take_over("dead", "me", now=now, reason="pid 1 is not running") == 4
            assert store.take_over("dead", "me", now=now, reason="again") == 0
            assert {h.worker_id: h.count for h in store.claim_holders(now)} == {"alive": 2}
            freed = [r for r in store.deliveries() if r.claimed_by is None]
            assert len(freed) == 4
            events = [e for e in store.timeline(freed[0].invoice_number)]
            taken = [e for e in events if e.kind == "claim_taken_over"]
            assert len(taken) == 1 and "worker me took over the claim of worker dead" in (
                taken[0].detail
            )
        finally:
            store.close()

    if backend == "sqlite":
        check(sqlite_url(tmp_path))
    else:
        with pg_schema_url() as url:
            check(url)


# -- real processes ----------------------------------------------------------------------------


def _kill_mid_batch(url: str, tmp_path: Path, count: int) -> None:
    """SIGKILL a default-id worker while it holds claims (lease 1 h), then a default-id
    ``--until-empty`` run takes them over at once and delivers every invoice exactly once."""
    store, profiles, out = _setup(url, tmp_path, count)
    try:
        victim = _worker(
            url, profiles, "--batch", "50", "--concurrency", "2", "--lease", LONG_LEASE
        )
        deadline = time.monotonic() + 60
        while (_done(store) < 30 or _claimed(store) == 0) and time.monotonic() < deadline:
            time.sleep(0.01)
        held = _claimed(store)
        victim.send_signal(signal.SIGKILL)
        victim.wait()
        left = _claimed(store)
        assert held > 0 and left > 0, "the kill must land while claims are held"
        assert _done(store) < count
        # what a kill between open() and write() leaves (an empty hidden temp), and a buyer file
        leftover = out / temp_name("INV-9999.peppol-bis3.0123456789abcdef.xml")
        leftover.write_bytes(b"")
        (out / ".buyer-notes.tmp").write_bytes(b"mine")
        final = _worker(url, profiles, "--until-empty", "--lease", LONG_LEASE)
        stdout, stderr = final.communicate(timeout=120)  # far less than the 1 h lease
        assert final.returncode == 0, stderr.decode()
        stats = _stats(stdout)
        assert stats["taken_over"] == left
        assert b"took over" in stderr and b"is not running" in stderr
        sends = _check_exactly_once(store, out, count)
        assert set(sends) == {r.idempotency_key for r in store.deliveries()}
        assert sum(sends.values()) - count <= 50  # at most the batch in flight was repeated
        assert not store.claim_holders(utc_now())
        assert f"removed stale temporary file {leftover.name}".encode() in stderr
        hidden = [p.name for p in out.iterdir() if p.name.startswith(".")]
        assert hidden == [".buyer-notes.tmp"]  # every temp file gone, the buyer's file kept
    finally:
        store.close()


def test_sigkill_default_id_taken_over_sqlite(tmp_path: Path) -> None:
    """SQLite: a SIGKILLed default-id worker's claims are taken over by the next run at once."""
    _kill_mid_batch(sqlite_url(tmp_path), tmp_path, 200)


def test_sigkill_default_id_taken_over_postgresql(tmp_path: Path) -> None:
    """PostgreSQL: a SIGKILLed default-id worker's claims are taken over by the next run."""
    with pg_schema_url() as url:
        _kill_mid_batch(url, tmp_path, 350)


def test_claims_of_live_process_not_taken(tmp_path: Path, sleeper: subprocess.Popen[bytes]) -> None:
    """Claims held by a live process are left alone; --if-claimed exit says who holds how
    many until when and exits 3, not 0."""
    store, profiles, _out = _setup(sqlite_url(tmp_path), tmp_path, 5)
    try:
        holder = _identity_of(sleeper.pid).worker_id
        store.claim_due(holder, utc_now(), 3, 3600)
        run = _worker(sqlite_url(tmp_path), profiles, "--until-empty", "--if-claimed", "exit")
        stdout, stderr = run.communicate(timeout=120)
        assert run.returncode == 3, stderr.decode()
        assert f"3 deliveries are claimed by worker {holder} until".encode() in stderr
        assert _stats(stdout)["still_claimed"] == 3 and _stats(stdout)["taken_over"] == 0
        rows = store.deliveries()
        assert sum(r.claimed_by == holder for r in rows) == 3
        assert sum(r.state is DeliveryState.DELIVERED for r in rows) == 2
    finally:
        store.close()


def test_claims_of_reused_pid_taken_over(tmp_path: Path, sleeper: subprocess.Popen[bytes]) -> None:
    """A claim whose worker id names a live pid with another start time (the pid was reused)
    is taken over: everything is delivered, exit 0."""
    store, profiles, out = _setup(sqlite_url(tmp_path), tmp_path, 5)
    try:
        identity = _identity_of(sleeper.pid)
        holder = ProcessIdentity(
            identity.host, identity.pid, identity.start - 1, identity.boot, identity.pidns
        ).worker_id
        store.claim_due(holder, utc_now(), 3, 3600)
        run = _worker(sqlite_url(tmp_path), profiles, "--until-empty", "--if-claimed", "exit")
        stdout, stderr = run.communicate(timeout=120)
        assert run.returncode == 0, stderr.decode()
        assert _stats(stdout)["taken_over"] == 3
        assert b"is another process now" in stderr
        _check_exactly_once(store, out, 5)
    finally:
        store.close()


def test_until_empty_waits_for_a_live_holders_lease(
    tmp_path: Path, sleeper: subprocess.Popen[bytes]
) -> None:
    """By default --until-empty waits for claims a live worker holds (saying so) and sends
    them once the lease ends: exit 0 with everything delivered, never an early 'empty'."""
    store, profiles, out = _setup(sqlite_url(tmp_path), tmp_path, 4)
    try:
        holder = _identity_of(sleeper.pid).worker_id
        store.claim_due(holder, utc_now(), 2, 3)
        run = _worker(sqlite_url(tmp_path), profiles, "--until-empty")
        stdout, stderr = run.communicate(timeout=120)
        assert run.returncode == 0, stderr.decode()
        assert b"not empty: 2 deliveries are claimed by worker" in stderr
        assert b"waiting until" in stderr
        assert stderr.count(b"not empty") == 1  # said once, not once per poll
        assert _stats(stdout)["taken_over"] == 0
        _check_exactly_once(store, out, 4)
    finally:
        store.close()


def test_igw_run_until_empty_exits_3_while_claimed(
    tmp_path: Path, sleeper: subprocess.Popen[bytes], caplog: pytest.LogCaptureFixture
) -> None:
    """``igw run --until-empty --if-claimed exit`` exits 3 (not 0) while a live worker holds
    claims, and 0 once nothing is claimed."""
    from gateway.cli.main import main

    store, profiles, _out = _setup(sqlite_url(tmp_path), tmp_path, 3)
    try:
        holder = _identity_of(sleeper.pid).worker_id
        store.claim_due(holder, utc_now(), 1, 3600)
        command = ["run", "--store", sqlite_url(tmp_path), "--profiles", str(profiles)]
        command += ["--until-empty", "--if-claimed", "exit"]
        assert main(command) == 3
        assert f"1 deliveries are claimed by worker {holder} until" in caplog.text
        assert store.release(None, holder, now=utc_now()) == 1
        assert main(command) == 0
        assert _done(store) == 3
    finally:
        store.close()
