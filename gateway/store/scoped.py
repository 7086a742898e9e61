"""``ScopedStore``: what every part of the store shares — an engine, the one tenant its queries
are scoped to, and one transaction per call (``_write`` / ``_read``)."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Self

import sqlalchemy as sa
from sqlalchemy.engine import Connection, Engine

from gateway.store.engine import READ_ONLY
from gateway.tenants import DEFAULT_TENANT, check_tenant_id


class ScopedStore:
    """An engine and a tenant; the base of :class:`gateway.store.Store` and the store parts
    that stand alone (e.g. :class:`gateway.store.webhooks.WebhookStore`)."""

    def __init__(self, engine: Engine, tenant: str = DEFAULT_TENANT) -> None:
        self.engine = engine
        #: the tenant every query of this store is scoped to (rows of others are invisible)
        self.tenant = check_tenant_id(tenant)

    def for_tenant(self, tenant: str) -> Self:
        """The same store (engine, connection pool) scoped to ``tenant``; cheap."""
        if tenant == self.tenant:
            return self
        return type(self)(self.engine, tenant)

    def _mine(self, table: sa.Table) -> sa.ColumnElement[bool]:
        """``table``'s rows of this store's tenant (every query of the store adds it)."""
        return table.c.tenant_id == self.tenant

    @contextmanager
    def _write(self) -> Iterator[Connection]:
        with self.engine.connect() as connection, connection.begin():
            yield connection

    @contextmanager
    def _read(self) -> Iterator[Connection]:
        with self.engine.connect() as raw:
            connection = raw.execution_options(**{READ_ONLY: True})
            with connection.begin():
                yield connection
