"""SQLite write transactions of one process queue on a thread lock (gateway.store.engine):
a connection dropped mid-transaction gives its turn back; many threads writing at once all
succeed."""

from __future__ import annotations

import threading
from pathlib import Path

import sqlalchemy as sa

from gateway.store import Store


def test_an_invalidated_writer_gives_its_turn_back(tmp_path: Path) -> None:
    """A SQLite connection dropped in the middle of a write transaction (invalidated, never
    committed or rolled back) does not keep other writers of the process waiting."""
    store = Store.open(f"sqlite:///{tmp_path / 'gateway.db'}")
    store.migrate()
    try:
        db = store.engine.connect()
        db.begin()
        db.exec_driver_sql("SELECT 1")
        db.invalidate()  # what SQLAlchemy does to a connection after a fatal DBAPI error
        db.close()
        done = threading.Event()

        def write() -> None:
            with store.engine.begin() as other:
                other.execute(sa.text("CREATE TABLE t (x INTEGER)"))
            done.set()

        thread = threading.Thread(target=write, daemon=True)
        thread.start()
        assert done.wait(5), "the next writer waited for the dropped connection"
    finally:
        store.close()


def test_threads_writing_at_once_all_commit(tmp_path: Path) -> None:
    """Eight threads of one process, 50 write transactions each, all commit, none refused."""
    store = Store.open(f"sqlite:///{tmp_path / 'gateway.db'}")
    try:
        with store.engine.begin() as db:
            db.execute(sa.text("CREATE TABLE t (x INTEGER)"))
        errors: list[BaseException] = []

        def write(number: int) -> None:
            try:
                for i in range(50):
                    with store.engine.begin() as db:
                        db.execute(sa.text("INSERT INTO t VALUES (:x)"), {"x": number * 100 + i})
            except BaseException as exc:  # collected: the assertion below names it
                errors.append(exc)

        threads = [threading.Thread(target=write, args=(n,)) for n in range(8)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(60)
        assert errors == []
        with store.engine.connect() as db:
            assert db.execute(sa.text("SELECT COUNT(*) FROM t")).scalar() == 400
    finally:
        store.close()
