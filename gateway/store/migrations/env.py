"""Alembic environment: runs on the connection ``Store.migrate`` hands over in the config.

Run by hand only through ``Store.migrate``; ``alembic -c`` with an ini is not supported because
the URL, SQLite pragmas and PostgreSQL search path all come from the Store's engine.
"""

from __future__ import annotations

from alembic import context
from sqlalchemy.engine import Connection

from gateway.store.schema import metadata

connection = context.config.attributes.get("connection")
if not isinstance(connection, Connection):
    raise RuntimeError("run store migrations through gateway.store.Store.migrate()")

context.configure(
    connection=connection,
    target_metadata=metadata,
    render_as_batch=connection.dialect.name == "sqlite",
)
with context.begin_transaction():
    context.run_migrations()
