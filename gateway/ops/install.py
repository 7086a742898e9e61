"""``install_ops(app, store)``: ``/ready`` and ``/metrics`` on the gateway's web app.

``create_app`` calls it once; the app (:class:`gateway.web.app._GatewayApp`) runs the returned
middleware outermost (its ``outer``), so every request is counted, the AS2 fast path included::

    install_ops(app, store)                          # /metrics to loopback + private networks
    install_ops(app, store, metrics_allow="10.1.0.0/16")
"""

from __future__ import annotations

import asyncio
import os
from typing import Any

from fastapi import FastAPI
from fastapi.responses import JSONResponse
from starlette.concurrency import run_in_threadpool

from gateway.ops import ALLOW_ENV, DEFAULT_ALLOW
from gateway.ops.metrics import (
    DEFAULT_SCRAPE_TIMEOUT,
    MetricsMiddleware,
    app_registry,
    parse_networks,
)
from gateway.ops.ready import Readiness, readiness
from gateway.store import Store
from gateway.store.engine import mask_url

#: seconds /ready waits for the store before it answers 503
DEFAULT_READY_TIMEOUT = 3.0


def install_ops(
    app: FastAPI,
    store: Store,
    *,
    metrics_allow: str | None = None,
    scrape_timeout: float = DEFAULT_SCRAPE_TIMEOUT,
    ready_timeout: float = DEFAULT_READY_TIMEOUT,
    static_paths: tuple[str, ...] = ("/as2", "/as2/mdn"),
) -> MetricsMiddleware:
    """Add ``GET /ready`` to ``app`` and return the metrics middleware wrapping
    ``app.dispatch`` (the app's own handling, below the middleware).

    ``metrics_allow``: who may read ``/metrics`` — a comma list of networks, ``any`` or
    ``none`` (default: env ``IGW_SERVE_METRICS_ALLOW``, else loopback and the private ranges,
    :data:`gateway.ops.DEFAULT_ALLOW`); a bad value is :class:`ConfigError` here, at
    start. ``/metrics`` needs no API key: the network decides. ``scrape_timeout`` bounds the
    store queries of one scrape, ``ready_timeout`` the wait of ``/ready`` for the store."""
    allowed = metrics_allow if metrics_allow is not None else os.environ.get(ALLOW_ENV)
    source = "metrics allow" if metrics_allow is not None else ALLOW_ENV
    networks = parse_networks(allowed or DEFAULT_ALLOW, source=source)
    registry, http, collector = app_registry(store, scrape_timeout=scrape_timeout)
    app.state.metrics_registry = registry
    app.state.metrics_collector = collector

    @app.get("/ready")
    async def ready() -> JSONResponse:
        """200 when the store answers and its schema is at the code's head revision; else 503
        saying which (store unreachable: the reason; migrations behind: current vs head)."""
        try:
            verdict = await asyncio.wait_for(
                run_in_threadpool(readiness, store), timeout=ready_timeout
            )
        except TimeoutError:
            verdict = Readiness(
                False,
                "store unreachable",
                f"{mask_url(store.engine.url)}: no answer within {ready_timeout:g} s",
                mask_url(store.engine.url),
            )
        return JSONResponse(verdict.as_dict(), status_code=200 if verdict.ready else 503)

    dispatch: Any = getattr(app, "dispatch", app)
    return MetricsMiddleware(
        dispatch,
        registry=registry,
        http=http,
        allow=networks,
        static_paths=static_paths,
        routes=lambda: app.routes,
    )
