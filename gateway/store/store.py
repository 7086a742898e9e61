"""Store: the outbox and append-only event log behind the delivery engine (SQLAlchemy Core).

Every method is one transaction. Times always come in as arguments (``now``); the store never
reads the clock, so tests and sweeps control time.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass

import sqlalchemy as sa

from gateway.store.claims import ClaimStore
from gateway.store.core import MIGRATIONS
from gateway.store.engine import StoreUnavailable, make_engine, one_line
from gateway.store.errors import StoreError
from gateway.store.schema import tenants
from gateway.store.transitions import TransitionStore
from gateway.tenants import DEFAULT_TENANT, UnknownTenant, check_tenant_id


@dataclass(frozen=True)
class TenantRow:
    """One tenant: id, name, when it was created."""

    id: str
    name: str
    created_at: dt.datetime


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
    def open(
        cls, url: str | None = None, *, create: bool | None = None, tenant: str = DEFAULT_TENANT
    ) -> Store:
        """A store on ``url``; default ``sqlite:///var/gateway.db`` below the current folder.

        PostgreSQL: ``postgresql+psycopg://user@host/db`` (add ``?options=-csearch_path%3Dname``
        for a schema of its own). Call :meth:`migrate` once before use.

        ``create=False`` (read-only commands) creates nothing: the store must exist, be
        reachable and hold the gateway's tables, else :class:`StoreUnavailable` (one line,
        password masked). A URL that does not parse or names an unknown backend is
        :class:`StoreUnavailable` either way. Without ``create``: True, unless inside
        :func:`store_creation` ``(False)``. ``tenant``: the tenant the store is scoped to
        (:meth:`for_tenant` gives the same store scoped to another).
        """
        if create is None:
            create = _CREATE.get()
        store = cls(make_engine(url, create=create), tenant)
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
        with self.engine.connect() as connection:
            sqlite = connection.dialect.name == "sqlite"
            if sqlite:
                # batch migrations rebuild tables that others reference: SQLite checks foreign
                # keys per statement unless they are off (only settable outside a transaction),
                # so they are checked once, below, before the commit
                connection.connection.dbapi_connection.execute("PRAGMA foreign_keys=OFF")  # type: ignore[union-attr]
            try:
                with connection.begin():
                    config.attributes["connection"] = connection
                    command.upgrade(config, revision)
                    if sqlite:
                        broken = connection.exec_driver_sql("PRAGMA foreign_key_check").all()
                        if broken:
                            raise StoreError(
                                f"migration to {revision} left {len(broken)} rows whose foreign "
                                f"keys point nowhere (first: {tuple(broken[0])}); rolled back"
                            )
            finally:
                if sqlite:
                    connection.connection.dbapi_connection.execute("PRAGMA foreign_keys=ON")  # type: ignore[union-attr]

    # -- tenants (not scoped: the list every scope is chosen from) ------------------------------

    def tenants(self) -> list[TenantRow]:
        """Every tenant of the store, by id."""
        with self._read() as db:
            rows = db.execute(sa.select(tenants).order_by(tenants.c.id)).mappings()
            return [TenantRow(r["id"], r["name"], r["created_at"]) for r in rows]

    def has_tenant(self, tenant: str) -> bool:
        """Whether the store holds ``tenant``."""
        with self._read() as db:
            return db.scalar(sa.select(tenants.c.id).where(tenants.c.id == tenant)) is not None

    def create_tenant(self, tenant: str, name: str, now: dt.datetime) -> TenantRow:
        """Create ``tenant`` named ``name``; :class:`StoreError` when it exists already."""
        check_tenant_id(tenant)
        if not name.strip():
            raise StoreError(f"tenant {tenant!r}: the name is empty; accepted: any text")
        try:
            with self._write() as db:
                db.execute(tenants.insert().values(id=tenant, name=name.strip(), created_at=now))
        except sa.exc.IntegrityError as exc:
            raise StoreError(f"tenant {tenant!r}: exists already") from exc
        return TenantRow(tenant, name.strip(), now)

    def require_tenant(self, tenant: str) -> Store:
        """This store scoped to ``tenant``; :class:`~gateway.tenants.UnknownTenant` (listing
        the known ones) when the store does not hold it."""
        check_tenant_id(tenant)
        if not self.has_tenant(tenant):
            raise UnknownTenant(tenant, [t.id for t in self.tenants()])
        return self.for_tenant(tenant)
