"""Per-request cost of the ``/metrics`` middleware (gateway/ops/metrics.py), on vs off in one run.

The gateway's app (an AS2 identity, a SQLite store) runs under uvicorn in a thread of this
process; one keep-alive httpx client sends the same request mix in interleaved rounds with the
middleware on (as shipped) and off (``app.outer = None``: the app's own handling only), so load
from other processes moves both alike. The mix, per round: ``GET /health``, a 404
(``GET /no/such/path``) and ``POST /as2`` without AS2 headers (refused 400 by the AS2 fast path,
the refusal stored: one store write). Each route is also timed on its own.

Reported: seconds per request on and off (median over rounds) and the overhead ratio
``on / off - 1`` per route and for the mix (target < 5 %), plus the middleware's own cost per
request measured without the network (the middleware around a bare ASGI app, against the bare
app), and one ``/metrics`` scrape. JSON into bench/results/metrics_overhead.json.

    .venv/bin/python bench/metrics_overhead.py [--rounds 12] [--requests 150]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import logging
import platform
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(REPO), str(REPO / "tests")]

import httpx  # noqa: E402
from as2_peer import endpoint_config  # noqa: E402

from gateway.ops.metrics import MetricsMiddleware  # noqa: E402
from gateway.peers.serve import serve_in_thread  # noqa: E402
from gateway.store import Store  # noqa: E402
from gateway.web import create_app  # noqa: E402

Request = tuple[str, str, bytes]
MIX: dict[str, Request] = {
    "health": ("GET", "/health", b""),
    "404": ("GET", "/no/such/path", b""),
    "as2-refused": ("POST", "/as2", b"hello"),
}


def _round(client: httpx.Client, base: str, requests: list[Request]) -> float:
    """CPU seconds of this process (client + server threads) per request of ``requests``,
    sent one after the other: CPU time, not wall time, so other processes' load on the
    shared machine moves it less."""
    start = time.process_time()
    for method, path, body in requests:
        client.request(method, base + path, content=body or None)
    return (time.process_time() - start) / len(requests)


async def _bare(_scope: Any, _receive: Any, send: Any) -> None:
    """The least an ASGI app does: an empty 200."""
    await send({"type": "http.response.start", "status": 200, "headers": []})
    await send({"type": "http.response.body", "body": b""})


def _asgi_cost(app: Any, count: int) -> float:
    """CPU seconds per ``GET /health`` calling ASGI ``app`` directly (no network, no server)."""
    scope = {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": "GET",
        "scheme": "http",
        "path": "/health",
        "raw_path": b"/health",
        "root_path": "",
        "query_string": b"",
        "headers": [(b"host", b"bench")],
        "client": ("127.0.0.1", 1),
        "server": ("127.0.0.1", 80),
    }

    async def receive() -> dict[str, Any]:
        return {"type": "http.request", "body": b"", "more_body": False}

    async def send(_message: dict[str, Any]) -> None:
        return None

    async def run() -> float:
        start = time.process_time()
        for _ in range(count):
            await app(dict(scope), receive, send)
        return (time.process_time() - start) / count

    return asyncio.run(run())


def _interleaved(
    rounds: int, measure_on: Callable[[], float], measure_off: Callable[[], float]
) -> tuple[float, float]:
    """Median seconds per request, on and off, over interleaved rounds."""
    on, off = [], []
    for n in range(rounds):
        first, second = (measure_on, measure_off) if n % 2 == 0 else (measure_off, measure_on)
        a, b = first(), second()
        (on, off)[n % 2].append(a)
        (off, on)[n % 2].append(b)
    return statistics.median(on), statistics.median(off)


def main(argv: list[str] | None = None) -> dict[str, Any]:
    """Run the measurement, print it, write bench/results/metrics_overhead.json."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=16)
    parser.add_argument("--requests", type=int, default=40, help="requests per route a round")
    args = parser.parse_args(argv)
    logging.getLogger("gateway").setLevel(logging.ERROR)  # the refused AS2 posts log a line each
    results: dict[str, Any] = {"python": platform.python_version(), "routes": {}}
    with tempfile.TemporaryDirectory() as folder:
        store = Store.open(f"sqlite:///{Path(folder) / 'gateway.db'}")
        store.migrate()
        app: Any = create_app(store=store, as2=endpoint_config())
        middleware = app.outer

        def toggled(requests: list[Request], on: bool) -> Callable[[], float]:
            def measure() -> float:
                app.outer = middleware if on else None
                return _round(client, base, requests)

            return measure

        with serve_in_thread(app) as base, httpx.Client(timeout=10) as client:
            mix = [r for r in MIX.values() for _ in range(args.requests)]
            _round(client, base, mix[:: max(1, len(mix) // 60)])  # warm-up
            for name, request in MIX.items():
                batch = [request] * args.requests
                on, off = _interleaved(args.rounds, toggled(batch, True), toggled(batch, False))
                results["routes"][name] = {"on_s": on, "off_s": off, "overhead": on / off - 1}
            on, off = _interleaved(args.rounds, toggled(mix, True), toggled(mix, False))
            results["mix"] = {"on_s": on, "off_s": off, "overhead": on / off - 1}
            app.outer = middleware
            start = time.perf_counter()
            scraped = client.get(f"{base}/metrics")
            results["scrape_s"] = time.perf_counter() - start
            results["scrape_bytes"] = len(scraped.content)
        # the middleware's own cost: around a bare ASGI app (the app's own work, thread
        # hand-offs included, would drown it), same registry type and label look-ups
        wrapped = MetricsMiddleware(
            _bare, registry=middleware.registry, http=middleware.http, allow=middleware.allow
        )
        _asgi_cost(wrapped, 500)  # warm-up
        on_direct, off_direct = _interleaved(
            args.rounds, lambda: _asgi_cost(wrapped, 2000), lambda: _asgi_cost(_bare, 2000)
        )
        added = on_direct - off_direct
        results["asgi_direct"] = {
            "on_s": on_direct,
            "off_s": off_direct,
            "added_us": added * 1e6,
            # the middleware's own CPU against a loopback request's whole CPU (client + server)
            "share_of_loopback_request": added / results["mix"]["off_s"],
        }
        store.close()

    print(
        f"Python {results['python']}, loopback HTTP, one keep-alive client; CPU ms per request "
        "(client + server), median of interleaved rounds\n"
    )
    print(f"{'requests':14} {'on ms':>8} {'off ms':>8} {'overhead':>9}")
    for name, row in [*results["routes"].items(), ("mix", results["mix"])]:
        print(
            f"{name:14} {row['on_s'] * 1e3:8.3f} {row['off_s'] * 1e3:8.3f} "
            f"{row['overhead'] * 100:8.1f}%"
        )
    direct = results["asgi_direct"]
    print(
        f"\nthe middleware alone (around a bare ASGI app): {direct['added_us']:.1f} us per "
        "request = "
        f"{direct['share_of_loopback_request'] * 100:.1f}% of a loopback request's CPU"
    )
    print(f"one /metrics scrape: {results['scrape_s'] * 1e3:.1f} ms, {results['scrape_bytes']} B")
    out = REPO / "bench" / "results"
    out.mkdir(exist_ok=True)
    (out / "metrics_overhead.json").write_text(json.dumps(results, indent=2))
    return results


if __name__ == "__main__":
    main()
