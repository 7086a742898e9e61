"""Delivery engine end to end: ERP records -> ``submit`` -> store -> worker(s) -> ``file``
connector (fsync per file and folder), on SQLite and PostgreSQL, with 1 and 2 workers.

    .venv/bin/python bench/pipeline.py [--count 3000] [--backend sqlite postgresql]
        [--workers 1 2] [--profile submit|worker]

Invoices are 10-line Peppol BIS 3 records (JSON, through intake); validation is the fast path
(in-process EN 16931 + Peppol rules, no XSD/schematron). For every backend and worker count:

* ``submit``: records/s stored by ``gateway.delivery.submit`` alone (intake + rules + render +
store);
* ``deliver``: deliveries/s drained from a filled queue by N worker processes (time measured
  by the workers, start-up excluded), and events/s written meanwhile;
* ``end_to_end``: the submitter and N workers running at once: invoices/s from the first
  record read to the last file delivered (wall clock, worker start-up included);
* ``claims``: claims/s of ``Store.claim_due`` alone from N processes (batch of 50), the raw
  queue rate.

Writes ``bench/results/pipeline.json``. PostgreSQL uses a throw-away schema on
``IGW_TEST_POSTGRES_URL`` (default the local trust-auth server); skipped when unreachable.
"""

from __future__ import annotations

import argparse
import copy
import cProfile
import datetime as dt
import json
import multiprocessing
import os
import platform
import pstats
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import sqlalchemy as sa

REPO = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(REPO)]

from gateway.delivery.submit import submit  # noqa: E402
from gateway.intake import read_records  # noqa: E402
from gateway.profiles.load import load_profiles  # noqa: E402
from gateway.store import DeliveryState, Store  # noqa: E402

PG_URL = os.environ.get(
    "IGW_TEST_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test"
)
RESULTS = REPO / "bench" / "results"
LINES = 10


def records(count: int) -> bytes:
    """``count`` 10-line ERP records (JSON) for the default profile, numbers BENCH-000000..."""
    examples = json.loads((REPO / "examples" / "erp-export.json").read_text(encoding="utf-8"))
    base = next(r for r in examples if r["number"] == "RW-2026-5502")
    lines = [copy.deepcopy(base["lines"][i % len(base["lines"])]) for i in range(LINES)]
    for n, line in enumerate(lines, start=1):
        line["id"] = str(n)
    base = {**base, "lines": lines}
    base.pop("totals", None)
    out = []
    for i in range(count):
        record = copy.deepcopy(base)
        record["number"] = f"BENCH-{i:06d}"
        out.append(record)
    return json.dumps(out).encode()


def write_profiles(folder: Path, outbox: Path) -> Path:
    """One default Peppol BIS 3 profile on the file connector into ``outbox``."""
    profiles = folder / "buyers"
    profiles.mkdir(parents=True)
    (profiles / "bench.toml").write_text(
        'default = true\nformat = "peppol-bis3"\n[channel]\nconnector = "file"\n'
        f'options = {{ directory = "{outbox}", create = true }}\n',
        encoding="utf-8",
    )
    return profiles


@contextmanager
def database(backend: str, folder: Path) -> Iterator[str | None]:
    """A fresh database URL (None: PostgreSQL unreachable)."""
    if backend == "sqlite":
        yield f"sqlite:///{folder / f'bench-{uuid.uuid4().hex[:6]}.db'}"
        return
    schema = f"igw_bench_{uuid.uuid4().hex[:10]}"
    admin = sa.create_engine(PG_URL, isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as db:
            db.exec_driver_sql(f"CREATE SCHEMA {schema}")
    except sa.exc.OperationalError:
        admin.dispose()
        yield None
        return
    try:
        yield f"{PG_URL}?options=-csearch_path%3D{schema}"
    finally:
        with admin.connect() as db:
            db.exec_driver_sql(f"DROP SCHEMA {schema} CASCADE")
        admin.dispose()


def do_submit(url: str, profiles: Path, data: bytes) -> float:
    """Submit every record (rules only); returns seconds taken."""
    store = Store.open(url)
    store.migrate()
    profile_set = load_profiles(profiles)
    started = time.perf_counter()
    report = submit(
        read_records(data, "json"),
        store,
        profile_set,
        now=dt.datetime.now(dt.UTC),
        run_validation=False,
    )
    took = time.perf_counter() - started
    store.close()
    assert report.count("stored") == report.outcomes.__len__(), report.summary()
    return took


def start_workers(
    url: str, profiles: Path, workers: int, *, until_empty: bool
) -> list[subprocess.Popen[bytes]]:
    """``workers`` worker processes (``python -m gateway.delivery.worker``)."""
    command = [
        sys.executable,
        "-m",
        "gateway.delivery.worker",
        "--store",
        url,
        "--profiles",
        str(profiles),
    ]
    command += ["--poll-interval", "0.05"]  # igw run defaults otherwise (batch 50, 8 sends)
    command += ["--until-empty"] if until_empty else []
    return [
        subprocess.Popen([*command, "--worker-id", f"bench{i}"], cwd=REPO, stdout=subprocess.PIPE)
        for i in range(workers)
    ]


def worker_stats(processes: list[subprocess.Popen[bytes]]) -> list[dict[str, float]]:
    """Wait for the workers; their summary lines as numbers."""
    outputs = [p.communicate()[0].decode() for p in processes]
    return [{k: float(v) for k, v in (i.split("=") for i in out.split())} for out in outputs]


def count_events(url: str) -> int:
    """Rows in the events table."""
    store = Store.open(url)
    with store.engine.connect() as db:
        found = int(db.exec_driver_sql("SELECT count(*) FROM events").scalar_one())
    store.close()
    return found


def delivered(engine: sa.Engine) -> int:
    """Deliveries DELIVERED (one cheap count)."""
    with engine.connect() as db:
        return int(
            db.exec_driver_sql(
                "SELECT count(*) FROM deliveries WHERE state = ?"
                if engine.dialect.name == "sqlite"
                else "SELECT count(*) FROM deliveries WHERE state = %s",
                (DeliveryState.DELIVERED.value,),
            ).scalar_one()
        )


def measure(backend: str, workers: int, count: int, data: bytes) -> dict[str, object] | None:
    """Every figure for one backend and worker count."""
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        result: dict[str, object] = {"backend": backend, "workers": workers, "count": count}
        # 1. submit alone, then drain with the workers
        with database(backend, folder) as url:
            if url is None:
                return None
            profiles = write_profiles(folder, folder / "out1")
            took = do_submit(url, profiles, data)
            result["submit_per_s"] = count / took
            events_before = count_events(url)
            stats = worker_stats(start_workers(url, profiles, workers, until_empty=True))
            busy = max(s["elapsed"] for s in stats)
            done = sum(s["delivered"] for s in stats)
            assert done == count, stats
            result["deliver_per_s"] = done / busy
            result["deliver_events_per_s"] = (count_events(url) - events_before) / busy
            result["worker_claims_per_s"] = sum(s["claimed"] for s in stats) / busy
        # 2. end to end: submitter and workers at once
        with database(backend, folder) as url:
            assert url is not None
            profiles = write_profiles(folder / "e2e", folder / "out2")
            watcher = Store.open(url)
            watcher.migrate()
            processes = start_workers(url, profiles, workers, until_empty=False)
            time.sleep(3.0)  # the workers are running (`igw run`) before the records come
            started = time.perf_counter()
            submit_took = do_submit(url, profiles, data)
            while delivered(watcher.engine) < count:
                time.sleep(0.05)
            wall = time.perf_counter() - started
            watcher.close()
            for p in processes:
                p.terminate()
            worker_stats(processes)
            result["end_to_end_per_s"] = count / wall
            result["end_to_end_events_per_s"] = count_events(url) / wall
            result["end_to_end_submit_per_s"] = count / submit_took
        # 3. raw claim rate
        with database(backend, folder) as url:
            assert url is not None
            profiles = write_profiles(folder / "claims", folder / "out3")
            do_submit(url, profiles, data)
            ctx = multiprocessing.get_context("spawn")
            with ctx.Pool(workers) as pool:
                parts = pool.starmap(claim_all, [(url, f"c{i}") for i in range(workers)])
            claimed = sum(p[0] for p in parts)
            assert claimed == count, parts
            result["claims_per_s"] = claimed / max(p[1] for p in parts)
        return result


def claim_all(url: str, worker_id: str) -> tuple[int, float]:
    """Child process: claim batches of 50 until none is left; (claimed, seconds)."""
    store = Store.open(url)
    now = dt.datetime.now(dt.UTC) + dt.timedelta(minutes=1)
    store.claim_due("warm-up", now - dt.timedelta(days=3650), 1)  # connect, nothing due then
    claimed, started = 0, time.perf_counter()
    while True:
        got = store.claim_due(worker_id, now, 50, 600)
        if not got:
            break
        claimed += len(got)
    took = time.perf_counter() - started
    store.close()
    return claimed, took


def profile_stage(stage: str, count: int, data: bytes) -> None:
    """cProfile one stage in this process on SQLite; prints the top functions."""
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        url = f"sqlite:///{folder / 'p.db'}"
        profiles = write_profiles(folder, folder / "out")
        profiler = cProfile.Profile()
        if stage == "submit":
            profiler.enable()
            do_submit(url, profiles, data)
            profiler.disable()
        else:
            from gateway.delivery.worker import Worker

            do_submit(url, profiles, data)
            store = Store.open(url)
            worker = Worker(store, load_profiles(profiles), batch_size=50, concurrency=8)
            profiler.enable()
            worker.run(threading.Event(), until_empty=True)
            profiler.disable()
            store.close()
        pstats.Stats(profiler).sort_stats("cumulative").print_stats(40)
        pstats.Stats(profiler).sort_stats("tottime").print_stats(25)


def main() -> None:
    """Run every measurement asked for; print a table; write the JSON."""
    parser = argparse.ArgumentParser()
    parser.add_argument("--count", type=int, default=3000)
    parser.add_argument("--backend", nargs="+", default=["sqlite", "postgresql"])
    parser.add_argument("--workers", nargs="+", type=int, default=[1, 2])
    parser.add_argument("--profile", choices=["submit", "worker"])
    args = parser.parse_args()
    data = records(args.count)
    if args.profile:
        profile_stage(args.profile, args.count, data)
        return
    results = []
    for backend in args.backend:
        for workers in args.workers:
            found = measure(backend, workers, args.count, data)
            if found is None:
                print(f"{backend}: unreachable, skipped")
                continue
            results.append(found)
            print(
                f"{backend:10} {workers} worker(s): submit {found['submit_per_s']:6.0f}/s  "
                f"deliver {found['deliver_per_s']:6.0f}/s ({found['deliver_events_per_s']:6.0f} "
                f"events/s)  end-to-end {found['end_to_end_per_s']:6.0f} invoices/s "
                f"({found['end_to_end_events_per_s']:6.0f} events/s)  claims "
                f"{found['claims_per_s']:6.0f}/s (worker {found['worker_claims_per_s']:6.0f}/s)",
                flush=True,
            )
    RESULTS.mkdir(exist_ok=True)
    out = {
        "measured_at": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        "machine": {"cpus": os.cpu_count(), "python": platform.python_version()},
        "invoice_lines": LINES,
        "results": results,
    }
    (RESULTS / "pipeline.json").write_text(json.dumps(out, indent=2), encoding="utf-8")


if __name__ == "__main__":
    main()
