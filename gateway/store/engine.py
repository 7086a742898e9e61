"""Engines for the store: SQLite (WAL, foreign keys, busy timeout, BEGIN IMMEDIATE) or any URL."""

from __future__ import annotations

import re
import threading
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import URL, Connection, Engine, make_url

from gateway.errors import ConfigError

DEFAULT_URL = "sqlite:///var/gateway.db"
#: execution option: the transaction only reads (SQLite starts it DEFERRED, not IMMEDIATE)
READ_ONLY = "igw_read_only"
BUSY_TIMEOUT_SECONDS = 30.0


class StoreUnavailable(ConfigError):
    """The store URL does not name a usable store: it does not parse, names a backend that is
    not installed, cannot be connected to, or (opened with ``create=False``) names no existing
    store. The message names the URL with its password masked and the reason, on one line."""

    def __init__(self, url: str, reason: str) -> None:
        self.url = mask_url(url)
        self.reason = reason
        super().__init__(f"store {self.url}: {reason}")


_PASSWORD = re.compile(r"(//[^/@:]*:)[^@/]*@")


def mask_url(url: str | URL) -> str:
    """``url`` with its password replaced by ``***`` (also when the URL does not parse)."""
    if isinstance(url, URL):
        return url.render_as_string(hide_password=True)
    try:
        return make_url(url).render_as_string(hide_password=True)
    except (sa.exc.ArgumentError, ValueError, TypeError):
        return _PASSWORD.sub(r"\1***@", url)


def one_line(exc: BaseException) -> str:
    """The driver's reason of a connection failure as one line (SQLAlchemy's own wrapping, the
    SQL and the background link left out)."""
    orig = getattr(exc, "orig", None) or exc
    lines = [line.strip() for line in str(orig).splitlines() if line.strip()]
    return "; ".join(line for line in lines if not line.startswith("(Background on")) or (
        type(orig).__name__
    )


def make_engine(url: str | None = None, *, create: bool = True) -> Engine:
    """An engine for ``url`` (default ``sqlite:///var/gateway.db``, folder created).

    ``create=False`` creates nothing: a SQLite file (and its folder) must exist already.
    A URL that does not parse or names a backend that is not installed is
    :class:`StoreUnavailable`.

    On SQLite every write transaction starts with ``BEGIN IMMEDIATE``: one writer at a time,
    the others wait up to :data:`BUSY_TIMEOUT_SECONDS`; the journal is WAL so readers never block.
    """
    given = url or DEFAULT_URL
    try:
        parsed = make_url(given)
        backend = parsed.get_backend_name()
    except (sa.exc.ArgumentError, ValueError) as exc:
        raise StoreUnavailable(
            given, "not a store URL; accepted: sqlite:///PATH or postgresql+psycopg://USER@HOST/DB"
        ) from exc
    if backend != "sqlite":
        try:
            return sa.create_engine(parsed, pool_pre_ping=True)
        except (sa.exc.ArgumentError, ImportError) as exc:
            raise StoreUnavailable(
                given,
                f"unknown or unavailable backend {parsed.drivername!r} ({one_line(exc)}); "
                "accepted: sqlite:///PATH or postgresql+psycopg://USER@HOST/DB",
            ) from exc
    if parsed.database and parsed.database != ":memory:":
        database = Path(parsed.database)
        if not create and not database.is_file():
            raise StoreUnavailable(
                given, f"no store at {database} (this command creates none; check the path)"
            )
        if create:
            try:
                database.parent.mkdir(parents=True, exist_ok=True)
            except OSError as exc:
                why = "a file is in the way" if isinstance(exc, FileExistsError) else exc.strerror
                raise StoreUnavailable(
                    given, f"cannot create the folder {database.parent}: {why or exc}"
                ) from exc
    try:
        engine = sa.create_engine(parsed, connect_args={"timeout": BUSY_TIMEOUT_SECONDS})
    except (sa.exc.ArgumentError, ImportError) as exc:
        raise StoreUnavailable(given, one_line(exc)) from exc

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
