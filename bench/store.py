"""Store throughput on SQLite and PostgreSQL: accept (one and 200 per transaction), claim +
record_attempt, allocate.

Run: ``.venv/bin/python bench/store.py [N]`` (PostgreSQL part skipped when unreachable).
Each backend gets a fresh database (SQLite file in a temp folder, PostgreSQL schema dropped after).
"""

from __future__ import annotations

import datetime as dt
import sys
import tempfile
import time
import uuid
from pathlib import Path

import sqlalchemy as sa

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests"))
from builders import simple_invoice

from gateway.document import Document
from gateway.store import AcceptItem, DeliveryState, NewDelivery, Store

PG_URL = "postgresql+psycopg://postgres@127.0.0.1:5432/test"
T0 = dt.datetime(2026, 11, 24, 12, 0, tzinfo=dt.UTC)


def run(name: str, url: str, n: int) -> None:
    """Time n accepts, n accepts 200 per transaction (due later: not claimed below), n/2 single
    claims (+ attempt), batch claims of 10, n allocations."""
    store = Store.open(url)
    store.migrate()
    doc = Document(b"<Invoice>" + b"x" * 4000 + b"</Invoice>", "ubl", "peppol-bis3", "")
    invoice = simple_invoice()
    start = time.perf_counter()
    for i in range(n):
        store.accept(
            invoice.model_copy(update={"number": f"INV-{i}"}),
            b"{}",
            "S",
            documents=[doc],
            deliveries=[NewDelivery("b", "as2", T0)],
            now=T0,
        )
    accept = n / (time.perf_counter() - start)
    start = time.perf_counter()
    for first in range(0, n, 200):
        store.accept_many(
            [
                AcceptItem(
                    invoice.model_copy(update={"number": f"BULK-{i}"}),
                    b"{}",
                    "S",
                    [doc],
                    [NewDelivery("b", "as2", T0 + dt.timedelta(days=1))],
                )
                for i in range(first, min(first + 200, n))
            ],
            now=T0,
        )
    bulk = n / (time.perf_counter() - start)
    start = time.perf_counter()
    for _ in range(n // 2):
        (claimed,) = store.claim_due("w1", T0, limit=1, lease_seconds=60)
        store.record_attempt(claimed.id, "w1", DeliveryState.SENT, now=T0)
    single = (n // 2) / (time.perf_counter() - start)
    start = time.perf_counter()
    batches = 0
    while store.claim_due("w2", T0, limit=10, lease_seconds=60):
        batches += 1
    batch = batches * 10 / (time.perf_counter() - start)
    start = time.perf_counter()
    for _ in range(n):
        store.allocate("ACME", "unb")
    allocate = n / (time.perf_counter() - start)
    store.close()
    print(
        f"{name:10} accept {accept:7.0f}/s  accept_many(200) {bulk:7.0f}/s  "
        f"claim+attempt {single:7.0f}/s  "
        f"batch-claim(10) {batch:7.0f} deliveries/s  allocate {allocate:7.0f}/s"
    )


def main() -> None:
    """Run on SQLite, then on PostgreSQL where reachable."""
    n = int(sys.argv[1]) if len(sys.argv) > 1 else 1000
    with tempfile.TemporaryDirectory() as folder:
        run("sqlite", f"sqlite:///{folder}/bench.db", n)
    schema = f"igw_bench_{uuid.uuid4().hex[:8]}"
    admin = sa.create_engine(PG_URL, isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as db:
            db.exec_driver_sql(f"CREATE SCHEMA {schema}")
    except sa.exc.OperationalError:
        print("postgresql unreachable; skipped")
        return
    try:
        run("postgresql", f"{PG_URL}?options=-csearch_path%3D{schema}", n)
    finally:
        with admin.connect() as db:
            db.exec_driver_sql(f"DROP SCHEMA {schema} CASCADE")
        admin.dispose()


if __name__ == "__main__":
    main()
