"""Store fixtures for tests/test_store_*.py: SQLite in tmp_path, PostgreSQL in a fresh schema.

PostgreSQL (``IGW_TEST_POSTGRES_URL``, default the local trust-auth server) is skipped where
unreachable; under CI=true that skip fails the run (tests/conftest.py).
"""

from __future__ import annotations

import datetime as dt
import os
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
import sqlalchemy as sa

from gateway.store import Store

PG_URL = os.environ.get(
    "IGW_TEST_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test"
)
T0 = dt.datetime(2026, 11, 24, 12, 0, tzinfo=dt.UTC)
BACKENDS = ["sqlite", "postgresql"]


def sqlite_url(tmp_path: Path) -> str:
    """A SQLite URL for a database file in ``tmp_path``."""
    return f"sqlite:///{tmp_path / 'gateway.db'}"


@contextmanager
def pg_schema_url() -> Iterator[str]:
    """A PostgreSQL URL whose search path is a schema of its own, dropped afterwards."""
    schema = f"igw_test_{uuid.uuid4().hex[:12]}"
    admin = sa.create_engine(PG_URL, isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as db:
            db.exec_driver_sql(f"CREATE SCHEMA {schema}")
    except sa.exc.OperationalError as exc:
        admin.dispose()
        pytest.skip(f"PostgreSQL unreachable at {PG_URL}: {exc.orig}")
    try:
        yield f"{PG_URL}?options=-csearch_path%3D{schema}"
    finally:
        with admin.connect() as db:
            db.exec_driver_sql(f"DROP SCHEMA {schema} CASCADE")
        admin.dispose()


@pytest.fixture(params=BACKENDS)
def store_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """The URL of an empty database on each backend."""
    if request.param == "sqlite":
        yield sqlite_url(tmp_path)
        return
    with pg_schema_url() as url:
        yield url


@pytest.fixture
def store(store_url: str) -> Iterator[Store]:
    """A migrated, empty store on each backend."""
    opened = Store.open(store_url)
    opened.migrate()
    yield opened
    opened.close()


def allocate_many(url: str, partner: str, count: int) -> list[int]:
    """Child-process body: ``count`` single allocations of ``partner``'s ``unb`` counter."""
    opened = Store.open(url)
    try:
        return [opened.allocate(partner, "unb")[0] for _ in range(count)]
    finally:
        opened.close()
