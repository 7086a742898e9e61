"""Store schema: Alembic migrations build exactly the Core metadata, on both backends."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
import sqlalchemy as sa
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from store_backends import store, store_url  # noqa: F401  (fixtures)

from gateway.store import Store
from gateway.store.schema import metadata


def test_migration_matches_metadata(store: Store) -> None:  # noqa: F811
    """After upgrade head, autogenerate finds no difference between database and metadata."""
    with store.engine.connect() as db:
        context = MigrationContext.configure(db, opts={"compare_type": True})
        diff = compare_metadata(context, metadata)
    assert diff == []


def test_migrate_twice_is_harmless(store: Store) -> None:  # noqa: F811
    """migrate() at head is a no-op; the version table names the newest migration file."""
    store.migrate()
    versions = Path(__file__).parents[1] / "gateway" / "store" / "migrations" / "versions"
    head = max(p.name.split("_", 1)[0] for p in versions.glob("0*.py"))
    with store.engine.connect() as db:
        assert db.execute(sa.text("SELECT version_num FROM alembic_version")).scalar() == head


def test_all_tables_present(store: Store) -> None:  # noqa: F811
    """The glossary's tables exist after migration."""
    names = set(sa.inspect(store.engine).get_table_names())
    assert {
        "invoices",
        "documents",
        "deliveries",
        "events",
        "control_numbers",
        "unmatched_acks",
        "inbound_messages",
    } <= names


def test_default_url_creates_var_folder(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Store.open() with no URL makes var/gateway.db below the current folder, in WAL mode."""
    monkeypatch.chdir(tmp_path)
    opened = Store.open()
    opened.migrate()
    with opened.engine.connect() as db:
        assert db.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
        assert db.exec_driver_sql("PRAGMA foreign_keys").scalar() == 1
    opened.close()
    assert (tmp_path / "var" / "gateway.db").is_file()
    assert os.path.getsize(tmp_path / "var" / "gateway.db") > 0
