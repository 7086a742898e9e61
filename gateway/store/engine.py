"""Engines for the store: SQLite (WAL, foreign keys, busy timeout, BEGIN IMMEDIATE) or any URL."""

from __future__ import annotations

import threading
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection, Engine, make_url

DEFAULT_URL = "sqlite:///var/gateway.db"
#: execution option: the transaction only reads (SQLite starts it DEFERRED, not IMMEDIATE)
READ_ONLY = "igw_read_only"
BUSY_TIMEOUT_SECONDS = 30.0


def make_engine(url: str | None = None) -> Engine:
    """An engine for ``url`` (default ``sqlite:///var/gateway.db``, folder created).

    On SQLite every write transaction starts with ``BEGIN IMMEDIATE``: one writer at a time,
    the others wait up to :data:`BUSY_TIMEOUT_SECONDS`; the journal is WAL so readers never block.
    """
    parsed = make_url(url or DEFAULT_URL)
    if parsed.get_backend_name() != "sqlite":
        return sa.create_engine(parsed, pool_pre_ping=True)
    if parsed.database and parsed.database != ":memory:":
        Path(parsed.database).parent.mkdir(parents=True, exist_ok=True)
    engine = sa.create_engine(parsed, connect_args={"timeout": BUSY_TIMEOUT_SECONDS})

    @sa.event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        # hand transaction control to SQLAlchemy's "begin" event below
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute(f"PRAGMA busy_timeout={int(BUSY_TIMEOUT_SECONDS * 1000)}")
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.close()

    writers = _WriterQueue()

    @sa.event.listens_for(engine, "begin")
    def _on_begin(connection: Connection) -> None:
        read_only = connection.get_execution_options().get(READ_ONLY, False)
        if read_only:
            connection.exec_driver_sql("BEGIN")
            return
        writers.enter(connection.connection.dbapi_connection)
        try:
            connection.exec_driver_sql("BEGIN IMMEDIATE")
        except BaseException:
            writers.leave(connection.connection.dbapi_connection)
            raise

    writers.wrap(engine.dialect)

    @sa.event.listens_for(engine, "invalidate")
    def _on_invalidate(dbapi_connection: Any, _record: Any, _exception: Any) -> None:
        writers.leave(dbapi_connection)  # dropped without a rollback: give the turn back

    @sa.event.listens_for(engine, "close")
    def _on_close(dbapi_connection: Any, _record: Any) -> None:
        writers.leave(dbapi_connection)

    return engine


class _WriterQueue:
    """One write transaction at a time per engine, queued in the process before SQLite's lock.

    Without it, threads of one process that want to write at once meet at ``BEGIN IMMEDIATE``,
    where SQLite's busy handler sleeps 1, 2, 5, 10 ... ms between tries although the lock is
    usually free again within microseconds: several threads receiving AS2 messages spent more
    time asleep there than working. A thread lock wakes the next writer as soon as the commit
    (or rollback) is done. Other processes still wait in SQLite's busy handler. A writer that
    waited :data:`BUSY_TIMEOUT_SECONDS` goes on to ``BEGIN IMMEDIATE`` anyway, so a thread that
    would wait for itself fails as it did before (SQLITE_BUSY), it does not hang."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.holder: Any = None

    def enter(self, dbapi_connection: Any) -> None:
        """Wait for the other writers of this process (at most the busy timeout)."""
        if self.lock.acquire(timeout=BUSY_TIMEOUT_SECONDS):
            self.holder = dbapi_connection

    def leave(self, dbapi_connection: Any) -> None:
        """Let the next writer in, if ``dbapi_connection`` is the one holding the turn."""
        if self.holder is not None and self.holder is dbapi_connection:
            self.holder = None
            self.lock.release()

    def wrap(self, dialect: Any) -> None:
        """Leave after the dialect's commit and rollback (after, so the next BEGIN IMMEDIATE
        finds SQLite's lock free)."""
        commit, rollback = dialect.do_commit, dialect.do_rollback

        def do_commit(connection: Any) -> None:
            try:
                commit(connection)
            finally:
                self.leave(getattr(connection, "dbapi_connection", connection))

        def do_rollback(connection: Any) -> None:
            try:
                rollback(connection)
            finally:
                self.leave(getattr(connection, "dbapi_connection", connection))

        dialect.do_commit = do_commit
        dialect.do_rollback = do_rollback


def checkpoint(engine: Engine) -> None:
    """On SQLite, copy the write-ahead log into the database file and truncate it
    (``PRAGMA wal_checkpoint(TRUNCATE)``), so that a stopped gateway leaves one
    self-contained ``.db`` file (copied or backed up alone, it holds everything committed).
    Nothing on other backends. A checkpoint that cannot complete (a reader still holds
    the log) is retried by SQLite at the next start; it is never an error here."""
    if engine.dialect.name != "sqlite":
        return
    try:
        # the DBAPI connection itself: through SQLAlchemy the PRAGMA would run inside the
        # BEGIN IMMEDIATE of the "begin" hook, where SQLite cannot checkpoint
        raw = engine.raw_connection()
    except sa.exc.SQLAlchemyError:
        return
    try:
        cursor = raw.cursor()
        cursor.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        cursor.close()
    except Exception:  # sqlite3.Error: the store may be gone; nothing to checkpoint then
        pass
    finally:
        raw.close()
