"""API submit throughput against ``igw submit``: the same records, the same run, as a ratio.

    .venv/bin/python bench/api_submit.py [--count 2000] [--batch 100] [--rounds 3]
        [--backend sqlite postgresql] [--validate]

The records are the 10-line records of ``bench/pipeline.py`` for one default Peppol BIS 3
profile on the file connector. Per backend and round, each side gets a fresh store and its own
invoice numbers:

* ``igw submit``: :func:`gateway.delivery.submit.submit` in this process over all ``--count``
  records (what ``igw submit FILE`` runs, without the process start-up);
* ``api``: ``POST /api/v1/invoices`` over loopback HTTP, ``--batch`` records per request, one
  client after the other on one keep-alive connection, to a uvicorn server in ANOTHER process
  (the app ``igw serve`` builds: API key auth, the body limit, the per-record outcome body);
* ``api+key``: the same with an ``Idempotency-Key`` per request (the answer is stored too);
* ``igw submit`` in batches: one submit call per ``--batch`` records (as ``igw submit`` of
  files that size): shows what the batch size itself costs (fewer records per store
  transaction), apart from HTTP.

Validation is the fast path on both sides (in-process EN 16931 + Peppol rules, no
XSD/schematron: ``igw submit --no-validate``) unless ``--validate``; the HTTP share is then at
its largest. invoices/s is the best of ``--rounds``; the ratio is api / igw submit (target
>= 0.8). Writes ``bench/results/api_submit.json``. The machine may be shared: compare the
ratio, not the absolute numbers.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import multiprocessing
import os
import platform
import sys
import tempfile
import time
from multiprocessing.synchronize import Event
from pathlib import Path
from typing import Any

import httpx

REPO = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(REPO), str(REPO / "bench")]

from pipeline import database, write_profiles  # noqa: E402
from pipeline import records as pipeline_records  # noqa: E402

from gateway.delivery.submit import submit  # noqa: E402
from gateway.intake import read_records  # noqa: E402
from gateway.profiles.load import load_profiles  # noqa: E402
from gateway.store import Store  # noqa: E402

RESULTS = REPO / "bench" / "results"
URL = "/api/v1/invoices"


def records(count: int, prefix: str) -> list[dict[str, Any]]:
    """``count`` 10-line records numbered ``<prefix>-000000``..."""
    data: list[dict[str, Any]] = json.loads(pipeline_records(count))
    for i, record in enumerate(data):
        record["number"] = f"{prefix}-{i:06d}"
    return data


def igw_submit(
    url: str, profiles: Path, data: list[dict[str, Any]], validate: bool, batch: int | None
) -> float:
    """Seconds ``igw submit``'s submit takes for ``data`` (fresh store): one call, or one call
    per ``batch`` records (as ``igw submit`` of files of ``batch`` records each)."""
    store = Store.open(url)
    store.migrate()
    profile_set = load_profiles(profiles)
    warm = json.dumps(records(10, "WARM")).encode()  # imports, mapping and rule caches
    submit(
        read_records(warm, "json"),
        store,
        profile_set,
        now=dt.datetime.now(dt.UTC),
        run_validation=validate,
    )
    size = batch or len(data)
    bodies = [json.dumps(data[i : i + size]).encode() for i in range(0, len(data), size)]
    stored = 0
    started = time.perf_counter()
    for body in bodies:
        report = submit(
            read_records(body, "json"),
            store,
            profile_set,
            now=dt.datetime.now(dt.UTC),
            run_validation=validate,
        )
        stored += report.count("stored")
    took = time.perf_counter() - started
    store.close()
    assert stored == len(data), report.summary()
    return took


def serve(url: str, profiles: str, validate: bool, ready: Any, stop: Event) -> None:
    """Child process: the app on ``url`` over uvicorn on loopback until ``stop``; puts
    (base URL, API key) on ``ready``."""
    from gateway.peers.serve import serve_in_thread
    from gateway.store.keys import create_key
    from gateway.web.api import build_api
    from gateway.web.api.problems import install_problem_handlers
    from gateway.web.app import create_app

    store = Store.open(url)
    store.migrate()
    key = create_key(store, "bench", ["submit"], dt.datetime.now(dt.UTC)).key
    # the write side's routers, as install_api mounts them (the read side is not measured)
    app = create_app(store=store, as2=None, profile_set=load_profiles(profiles), api=False)
    install_problem_handlers(app)
    app.include_router(build_api(("submit", "deliveries")))
    app.state.run_validation = validate
    with serve_in_thread(app) as base:
        ready.put((base, key))
        stop.wait()
    store.close()


def api_submit(
    url: str,
    profiles: Path,
    data: list[dict[str, Any]],
    batch: int,
    *,
    validate: bool,
    keyed: bool,
) -> float:
    """Seconds the API takes for ``data`` in requests of ``batch`` records (server in another
    process, fresh store; start-up excluded)."""
    context = multiprocessing.get_context("spawn")
    ready = context.Queue()
    stop = context.Event()
    child = context.Process(target=serve, args=(url, str(profiles), validate, ready, stop))
    child.start()
    try:
        base, key = ready.get(timeout=120)
        bodies = [json.dumps(data[i : i + batch]).encode() for i in range(0, len(data), batch)]
        headers = {"Authorization": f"Bearer {key}", "Content-Type": "application/json"}
        with httpx.Client(base_url=base, headers=headers, timeout=300) as client:
            # connection, auth, imports, mapping and rule caches: as igw submit's warm-up
            warm = client.post(URL, content=json.dumps(records(10, "WARM")).encode())
            assert warm.status_code == 201, warm.text
            started = time.perf_counter()
            for number, body in enumerate(bodies):
                extra = {"Idempotency-Key": f"bench-{number}"} if keyed else {}
                response = client.post(URL, content=body, headers=extra)
                assert response.status_code == 201, response.text[:500]
            took = time.perf_counter() - started
    finally:
        stop.set()
        child.join(60)
        if child.is_alive():
            child.terminate()
    return took


def measure(
    backend: str, count: int, batch: int, rounds: int, validate: bool
) -> dict[str, Any] | None:
    """Best invoices/s of each side over ``rounds``; None when the backend is unreachable."""
    best = {"igw_submit": 0.0, "igw_submit_batches": 0.0, "api": 0.0, "api_key": 0.0}
    with tempfile.TemporaryDirectory(prefix="igw-bench-api-") as tmp:
        folder = Path(tmp)
        profiles = write_profiles(folder, folder / "outbox")
        for round_ in range(rounds):
            for side in list(best):
                with database(backend, folder) as url:
                    if url is None:
                        return None
                    data = records(count, f"{side.upper()}-{round_}")
                    if side.startswith("igw_submit"):
                        took = igw_submit(
                            url, profiles, data, validate, batch if "batches" in side else None
                        )
                    else:
                        took = api_submit(
                            url, profiles, data, batch, validate=validate, keyed=side == "api_key"
                        )
                best[side] = max(best[side], count / took)
    return {
        "backend": backend,
        "count": count,
        "batch": batch,
        "validate": validate,
        "igw_submit_per_s": round(best["igw_submit"], 1),
        "igw_submit_in_batches_per_s": round(best["igw_submit_batches"], 1),
        "api_per_s": round(best["api"], 1),
        "api_idempotency_key_per_s": round(best["api_key"], 1),
        "ratio": round(best["api"] / best["igw_submit"], 3),
        "ratio_with_key": round(best["api_key"] / best["igw_submit"], 3),
        "ratio_to_same_batches": round(best["api"] / best["igw_submit_batches"], 3),
    }


def main() -> None:
    """Measure, print, write bench/results/api_submit.json."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--count", type=int, default=2000)
    parser.add_argument("--batch", type=int, default=100)
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--backend", nargs="+", default=["sqlite"])
    parser.add_argument("--validate", action="store_true", help="XSD + schematron on both sides")
    args = parser.parse_args()
    results = []
    for backend in args.backend:
        found = measure(backend, args.count, args.batch, args.rounds, args.validate)
        if found is None:
            print(f"{backend}: unreachable, skipped")
            continue
        results.append(found)
        print(
            f"{backend:10} igw submit {found['igw_submit_per_s']:7.1f}/s  API "
            f"{found['api_per_s']:7.1f}/s (ratio {found['ratio']:.2f}; target >= 0.8)  API with "
            f"Idempotency-Key {found['api_idempotency_key_per_s']:7.1f}/s (ratio "
            f"{found['ratio_with_key']:.2f}); igw submit in files of {args.batch}: "
            f"{found['igw_submit_in_batches_per_s']:7.1f}/s (API ratio to it "
            f"{found['ratio_to_same_batches']:.2f})  [{args.count} records, {args.batch} per "
            "request]",
            flush=True,
        )
    RESULTS.mkdir(exist_ok=True)
    out = {
        "measured_at": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        "machine": {
            "cpus": os.cpu_count(),
            "python": platform.python_version(),
            "note": "shared machine: compare the ratio, not the absolute numbers",
        },
        "invoice_lines": 10,
        "results": results,
    }
    (RESULTS / "api_submit.json").write_text(json.dumps(out, indent=2), encoding="utf-8")


if __name__ == "__main__":
    main()
