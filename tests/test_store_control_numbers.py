"""Store.allocate: per-partner control numbers, consecutive and never handed out twice."""

from __future__ import annotations

import multiprocessing
from pathlib import Path

import pytest
from store_backends import (  # noqa: F401  (fixtures)
    allocate_many,
    pg_schema_url,
    sqlite_url,
    store,
    store_url,
)

from gateway.store import Store


def test_counters_are_per_partner_and_counter(store: Store) -> None:  # noqa: F811
    """Each (partner, counter) starts at 1 and runs on its own; a batch is consecutive."""
    assert store.allocate("ACME", "unb") == [1]
    assert store.allocate("ACME", "unb", 3) == [2, 3, 4]
    assert store.allocate("ACME", "unh") == [1]
    assert store.allocate("OTHER", "unb") == [1]
    assert store.allocate("ACME", "unb") == [5]


def test_count_must_be_positive(store: Store) -> None:  # noqa: F811
    """Allocating zero numbers is refused rather than silently returning nothing."""
    with pytest.raises(ValueError, match="at least 1"):
        store.allocate("ACME", "unb", 0)


def _two_processes(url: str) -> list[int]:
    opened = Store.open(url)
    opened.migrate()
    opened.close()
    with multiprocessing.get_context("spawn").Pool(2) as pool:
        parts = pool.starmap(allocate_many, [(url, "ACME", 500), (url, "ACME", 500)])
    return [n for part in parts for n in part]


def test_two_processes_sqlite(tmp_path: Path) -> None:
    """2 processes x 500 allocations on one SQLite file: 1..1000, no number twice."""
    numbers = _two_processes(sqlite_url(tmp_path))
    assert sorted(numbers) == list(range(1, 1001))


def test_two_processes_postgresql() -> None:
    """2 processes x 500 allocations on PostgreSQL: 1..1000, no number twice."""
    with pg_schema_url() as url:
        numbers = _two_processes(url)
    assert sorted(numbers) == list(range(1, 1001))
