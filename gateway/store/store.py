"""Store: the outbox and append-only event log behind the delivery engine (SQLAlchemy Core).

Every method is one transaction. Times always come in as arguments (``now``); the store never
reads the clock, so tests and sweeps control time.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar

import sqlalchemy as sa

from gateway.store.claims import ClaimStore
from gateway.store.core import MIGRATIONS
from gateway.store.engine import StoreUnavailable, make_engine, one_line
from gateway.store.transitions import TransitionStore

_CREATE: ContextVar[bool] = ContextVar("igw_store_create", default=True)


@contextmanager
def store_creation(allowed: bool) -> Iterator[None]:
    """Within the block, :meth:`Store.open` without an explicit ``create=`` creates a store only
    when ``allowed``: ``igw`` runs its reading commands (``status``, ``inbound``, ...) inside
    ``store_creation(False)``, whichever module opens their store."""
    token = _CREATE.set(allowed)
    try:
        yield
    finally:
        _CREATE.reset(token)


class Store(TransitionStore, ClaimStore):
    """Outbox, event log and control numbers on one database (SQLite or PostgreSQL); the
    consolidation batches' steps come from :class:`gateway.store.batches.BatchStore`."""

    @classmethod
    def open(cls, url: str | None = None, *, create: bool | None = None) -> Store:
        """A store on ``url``; default ``sqlite:///var/gateway.db`` below the current folder.

        PostgreSQL: ``postgresql+psycopg://user@host/db`` (add ``?options=-csearch_path%3Dname``
        for a schema of its own). Call :meth:`migrate` once before use.

        ``create=False`` (read-only commands) creates nothing: the store must exist, be
        reachable and hold the gateway's tables, else :class:`StoreUnavailable` (one line,
        password masked). A URL that does not parse or names an unknown backend is
        :class:`StoreUnavailable` either way. Without ``create``: True, unless inside
        :func:`store_creation` ``(False)``.
        """
        if create is None:
            create = _CREATE.get()
        store = cls(make_engine(url, create=create))
        if not create:
            try:
                store.ping()
                if not store.has_schema():
                    raise StoreUnavailable(
                        str(url or store.engine.url),
                        "holds no gateway tables (not a store igw created; check the URL)",
                    )
            except BaseException:
                store.close()
                raise
        return store

    def ping(self) -> None:
        """Connect once; :class:`StoreUnavailable` naming the URL and the driver's reason."""
        try:
            with self.engine.connect():
                pass
        except sa.exc.SQLAlchemyError as exc:
            raise StoreUnavailable(
                self.engine.url.render_as_string(hide_password=False),
                f"cannot connect: {one_line(exc)}",
            ) from exc

    def has_schema(self) -> bool:
        """True when the database holds the gateway's tables (Alembic's version table)."""
        try:
            with self.engine.connect() as connection:
                return sa.inspect(connection).has_table("alembic_version")
        except sa.exc.SQLAlchemyError as exc:
            raise StoreUnavailable(
                self.engine.url.render_as_string(hide_password=False),
                f"cannot read: {one_line(exc)}",
            ) from exc

    def close(self) -> None:
        """Release every pooled connection."""
        self.engine.dispose()

    def migrate(self, revision: str = "head") -> None:
        """Bring the schema up to ``revision`` (Alembic ``upgrade``); safe to call every start."""
        from alembic import command
        from alembic.config import Config

        config = Config()
        config.set_main_option("script_location", str(MIGRATIONS))
        with self.engine.begin() as connection:
            config.attributes["connection"] = connection
            command.upgrade(config, revision)
