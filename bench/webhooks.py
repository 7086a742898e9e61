"""Webhooks: the dispatch rate to a loopback receiver, and what the outbox hook costs the
delivery pipeline.

    .venv/bin/python bench/webhooks.py [--count 3000] [--invoices 1000] [--backend sqlite pg...]
    .venv/bin/python bench/webhooks.py --pipeline [--count 600]   # bench/pipeline.py, +/- a hook

* ``dispatch``: ``--count`` outbox rows (``--invoices`` invoices, so at most that many in
  flight at once; the rest wait for their invoice's older messages) sent by one
  :class:`gateway.webhooks.dispatch.Dispatcher` (16 in flight, batches of 100) to a threaded
  HTTP/1.1 keep-alive receiver on 127.0.0.1 in a process of its own; events/s from the first
  claim to the last DELIVERED. Target >= 500/s.
* ``--pipeline``: bench/pipeline.py's submit + drain phase on SQLite with 1 worker, once with
  no webhook subscription and once with one subscription to every event type (the worker's
  transaction then also writes the outbox rows); deliveries/s of both and their ratio.

Writes ``bench/results/webhooks.json``. PostgreSQL uses a throw-away schema (skipped when
unreachable).
"""

from __future__ import annotations

import argparse
import datetime as dt
import ipaddress
import json
import multiprocessing
import os
import platform
import sys
import tempfile
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import sqlalchemy as sa

REPO = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(REPO), str(REPO / "bench")]

from gateway.store import Store  # noqa: E402
from gateway.store import webhooks as hooks  # noqa: E402
from gateway.store.webhooks import EVENT_TYPES, WebhookStore  # noqa: E402
from gateway.webhooks.dispatch import Dispatcher  # noqa: E402
from gateway.webhooks.secrets import generate_secret  # noqa: E402

RESULTS = REPO / "bench" / "results"
PG_URL = os.environ.get(
    "IGW_TEST_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test"
)


@contextmanager
def database(backend: str, folder: Path) -> Iterator[str | None]:
    """A fresh database URL (None: PostgreSQL unreachable)."""
    if backend == "sqlite":
        yield f"sqlite:///{folder / f'hooks-{uuid.uuid4().hex[:6]}.db'}"
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


def _serve(port: Any, count: Any) -> None:
    """The receiver process: a keep-alive HTTP/1.1 server answering 204, counting POSTs."""

    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def do_POST(self) -> None:
            self.rfile.read(int(self.headers.get("content-length", "0")))
            with count.get_lock():
                count.value += 1
            self.send_response(204)
            self.send_header("content-length", "0")
            self.end_headers()

        def log_message(self, *_args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    port.value = server.server_address[1]
    server.serve_forever()


@contextmanager
def receiver() -> Iterator[tuple[str, Any]]:
    """A receiver in a process of its own on 127.0.0.1 (so it does not share the dispatcher's
    interpreter lock): (URL, shared POST count)."""
    ctx = multiprocessing.get_context("spawn")
    port, count = ctx.Value("i", 0), ctx.Value("i", 0)
    process = ctx.Process(target=_serve, args=(port, count), daemon=True)
    process.start()
    deadline = time.monotonic() + 20
    while port.value == 0 and time.monotonic() < deadline:
        time.sleep(0.05)
    try:
        yield f"http://127.0.0.1:{port.value}/hooks", count
    finally:
        process.terminate()
        process.join(10)


def fill(store: Store, count: int, invoices: int, now: dt.datetime) -> None:
    """``count`` state-change events over ``invoices`` invoices, through the store's hook."""
    events = [
        {
            "at": now,
            "invoice_id": n % invoices + 1,
            "delivery_id": n % invoices + 1,
            "kind": "attempt",
            "detail": f"event {n}",
            "state_from": "QUEUED",
            "state_to": "SENT",
            "ack_level": None,
            "transmission": 1,
        }
        for n in range(count)
    ]
    with store.engine.begin() as db:
        for start in range(0, count, 500):
            hooks.enqueue_events(db, store.tenant, events[start : start + 500])


def dispatch_rate(backend: str, count: int, invoices: int) -> dict[str, Any] | None:
    """Events/s one dispatcher sends to the loopback receiver."""
    with tempfile.TemporaryDirectory() as tmp, database(backend, Path(tmp)) as url:
        if url is None:
            return None
        store = Store.open(url)
        store.migrate()
        now = dt.datetime.now(dt.UTC)
        with receiver() as (target, received):
            WebhookStore.of(store).add_subscription(target, EVENT_TYPES, generate_secret(), now)
            fill(store, count, invoices, now)
            dispatcher = Dispatcher(
                store.engine, allow_networks=(ipaddress.ip_network("127.0.0.1/32"),)
            )
            started = time.perf_counter()
            while dispatcher.run_once():
                pass
            took = time.perf_counter() - started
            dispatcher.close()
            assert received.value == count, (received.value, count)
            assert hooks.pending_count(store.engine) == 0
        store.close()
        return {
            "backend": backend,
            "count": count,
            "invoices": invoices,
            "events_per_s": count / took,
        }


def pipeline_cost(count: int) -> dict[str, Any]:
    """bench/pipeline.py's submit + drain on SQLite, 1 worker: without and with a hook."""
    import pipeline

    original = pipeline.do_submit
    subscribe = [False]

    def do_submit(url: str, profiles: Path, data: bytes) -> float:
        if subscribe[0]:
            store = Store.open(url)
            store.migrate()
            hooks_store = WebhookStore.of(store)
            if not hooks_store.subscriptions():
                hooks_store.add_subscription(
                    "https://erp.example/hooks", EVENT_TYPES, generate_secret(),
                    dt.datetime.now(dt.UTC),
                )  # fmt: skip
            store.close()
        return original(url, profiles, data)

    pipeline.do_submit = do_submit
    data = pipeline.records(count)
    found: dict[str, Any] = {"count": count}
    for label, on in (("without", False), ("with", True), ("without_again", False)):
        subscribe[0] = on
        with tempfile.TemporaryDirectory() as tmp:
            folder = Path(tmp)
            with pipeline.database("sqlite", folder) as url:
                assert url is not None
                profiles = pipeline.write_profiles(folder, folder / "out")
                took = pipeline.do_submit(url, profiles, data)
                stats = pipeline.worker_stats(
                    pipeline.start_workers(url, profiles, 1, until_empty=True)
                )
                busy = max(s["elapsed"] for s in stats)
                store = Store.open(url)
                rows = len(WebhookStore.of(store).outbox(limit=1_000_000))
                store.close()
        found[label] = {
            "submit_per_s": count / took,
            "deliver_per_s": sum(s["delivered"] for s in stats) / busy,
            "outbox_rows": rows,
        }
    base = (found["without"]["deliver_per_s"] + found["without_again"]["deliver_per_s"]) / 2
    found["deliver_ratio_with_to_without"] = found["with"]["deliver_per_s"] / base
    return found


def main() -> None:
    """Measure; print; write bench/results/webhooks.json."""
    parser = argparse.ArgumentParser()
    parser.add_argument("--count", type=int, default=3000)
    parser.add_argument("--invoices", type=int, default=1000)
    parser.add_argument("--backend", nargs="+", default=["sqlite", "postgresql"])
    parser.add_argument("--pipeline", action="store_true", help="the hook's cost instead")
    args = parser.parse_args()
    out: dict[str, Any] = {
        "measured_at": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        "machine": {"cpus": os.cpu_count(), "python": platform.python_version()},
    }
    RESULTS.mkdir(exist_ok=True)
    path = RESULTS / "webhooks.json"
    previous = json.loads(path.read_text(encoding="utf-8")) if path.exists() else {}
    if args.pipeline:
        cost = pipeline_cost(args.count)
        for label in ("without", "with", "without_again"):
            print(
                f"pipeline sqlite 1 worker {label:13}: submit {cost[label]['submit_per_s']:6.0f}/s"
                f"  deliver {cost[label]['deliver_per_s']:6.0f}/s  outbox rows "
                f"{cost[label]['outbox_rows']}"
            )
        print(f"deliver with/without a subscription: {cost['deliver_ratio_with_to_without']:.2f}")
        out["dispatch"] = previous.get("dispatch", [])
        out["pipeline_cost"] = cost
    else:
        results = []
        for backend in args.backend:
            found = dispatch_rate(backend, args.count, args.invoices)
            if found is None:
                print(f"{backend}: unreachable, skipped")
                continue
            results.append(found)
            print(
                f"{backend:10} dispatch {found['events_per_s']:6.0f} events/s "
                f"({args.count} events, {args.invoices} invoices; target >= 500/s)",
                flush=True,
            )
        out["dispatch"] = results
        out["pipeline_cost"] = previous.get("pipeline_cost")
    path.write_text(json.dumps(out, indent=2), encoding="utf-8")


if __name__ == "__main__":
    main()
