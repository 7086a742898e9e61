"""Worker throughput: N invoices through the file connector, 1 or 2 worker processes.

    .venv/bin/python bench/worker.py [--backend sqlite|postgresql] [--workers 2] [--count 500]

Prints deliveries per second measured by the workers themselves (``elapsed``, start-up
excluded) and the wall time including process start. PostgreSQL uses a throw-away schema on
``IGW_TEST_POSTGRES_URL`` (default the local trust-auth server).
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

import sqlalchemy as sa

REPO = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(REPO), str(REPO / "tests")]

from builders import simple_invoice  # type: ignore[import-not-found]  # noqa: E402

from gateway.document import Document  # noqa: E402
from gateway.store import NewDelivery, Store  # noqa: E402

PG_URL = os.environ.get(
    "IGW_TEST_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test"
)
T0 = dt.datetime(2026, 11, 24, tzinfo=dt.UTC)


def fill(url: str, folder: Path, count: int) -> Path:
    """Queue ``count`` file deliveries; returns the profiles folder."""
    profiles = folder / "buyers"
    profiles.mkdir()
    (profiles / "bench.toml").write_text(
        'default = true\n[channel]\nconnector = "file"\n'
        f'options = {{ directory = "{folder / "out"}", create = true }}\n'
    )
    store = Store.open(url)
    store.migrate()
    base = simple_invoice(lines=1)
    for i in range(count):
        number = f"B-{i:05d}"
        doc = Document(f"<Invoice>{number}</Invoice>".encode(), "ubl", "peppol-bis3", number)
        store.accept(
            base.model_copy(update={"number": number}),
            None,
            "DE1",
            documents=[doc],
            deliveries=[NewDelivery("bench", "file", T0)],
            now=T0,
        )
    store.close()
    return profiles


def run(url: str, folder: Path, workers: int, count: int) -> None:
    """Fill, then drain with ``workers`` processes; print the numbers."""
    profiles = fill(url, folder, count)
    started = time.monotonic()
    command = [
        sys.executable,
        "-m",
        "gateway.delivery.worker",
        "--store",
        url,
        "--profiles",
        str(profiles),
    ]
    processes = [
        subprocess.Popen(
            [*command, "--worker-id", f"b{i}", "--until-empty"], cwd=REPO, stdout=subprocess.PIPE
        )
        for i in range(workers)
    ]
    outputs = [p.communicate()[0].decode() for p in processes]
    wall = time.monotonic() - started
    stats = [dict(item.split("=") for item in out.split()) for out in outputs]
    busy = max(float(s["elapsed"]) for s in stats)
    done = sum(int(s["delivered"]) for s in stats)
    print(
        f"{workers} worker(s): {done} delivered in {busy:.2f}s = {done / busy:.0f}/s "
        f"(wall with start-up {wall:.2f}s)"
    )


def main() -> None:
    """Parse arguments and run one measurement."""
    parser = argparse.ArgumentParser()
    parser.add_argument("--backend", choices=["sqlite", "postgresql"], default="sqlite")
    parser.add_argument("--workers", type=int, default=1)
    parser.add_argument("--count", type=int, default=500)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        if args.backend == "sqlite":
            run(f"sqlite:///{folder / 'bench.db'}", folder, args.workers, args.count)
            return
        schema = f"igw_bench_{uuid.uuid4().hex[:10]}"
        admin = sa.create_engine(PG_URL, isolation_level="AUTOCOMMIT")
        with admin.connect() as db:
            db.exec_driver_sql(f"CREATE SCHEMA {schema}")
        try:
            run(f"{PG_URL}?options=-csearch_path%3D{schema}", folder, args.workers, args.count)
        finally:
            with admin.connect() as db:
                db.exec_driver_sql(f"DROP SCHEMA {schema} CASCADE")
            admin.dispose()


if __name__ == "__main__":
    main()
