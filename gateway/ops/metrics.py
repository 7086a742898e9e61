"""Prometheus metrics: HTTP requests (a pure ASGI middleware) and the store's business gauges.

* :class:`MetricsMiddleware` wraps the whole app — outside FastAPI's routing, so the AS2 fast
  path (``POST /as2``, answered before routing) and the body-limit refusals are counted too —
  and answers ``GET /metrics`` itself (only to clients in the allowed networks,
  :func:`parse_networks`). Requests are labelled by route TEMPLATE (``/api/v1/invoices/{id}``),
  method and status; a path no route matches is the one label value ``<unmatched>`` and a
  method outside :data:`METHODS` is ``OTHER``, so no client can grow the label set;
* :class:`StoreCollector` computes the business gauges from the store at scrape time, per
  tenant (see its docstring);
* :mod:`gateway.ops.counters` adds what is counted in the process (records rejected at submit).

Every app gets its own :class:`~prometheus_client.CollectorRegistry` (:func:`app_registry`), so
several apps in one process (tests) do not share request counts.
"""

from __future__ import annotations

import datetime as dt
import ipaddress
import threading
import time
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from concurrent.futures import TimeoutError as FutureTimeout
from typing import Any

import sqlalchemy as sa
from fastapi import routing as fastapi_routing
from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, Counter, Histogram
from prometheus_client.core import GaugeMetricFamily, Metric
from prometheus_client.exposition import generate_latest
from prometheus_client.registry import Collector
from starlette.concurrency import run_in_threadpool
from starlette.routing import Mount
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from gateway.errors import ConfigError
from gateway.ops import ALLOW_ENV, DEFAULT_ALLOW
from gateway.ops.counters import SUBMIT_REJECTED
from gateway.store import Store
from gateway.store.engine import one_line
from gateway.store.schema import deliveries, documents

#: the label of a request whose path no route matches
UNMATCHED = "<unmatched>"
#: methods kept as label values; any other is ``OTHER``
METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"})
#: latency buckets (seconds): loopback AS2 messages take 5-50 ms, API batches up to seconds
BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)
#: seconds the store's business queries of one scrape may take before the scrape gives up
DEFAULT_SCRAPE_TIMEOUT = 5.0

Network = ipaddress.IPv4Network | ipaddress.IPv6Network


def parse_networks(text: str, *, source: str = "metrics allow") -> tuple[Network, ...]:
    """The client networks ``/metrics`` answers: a comma list of addresses or CIDR networks,
    ``any`` (everyone) or ``none`` (nobody: 403 for all). :class:`ConfigError` naming the
    value and what is accepted."""
    value = text.strip().lower()
    if value == "any":
        return (ipaddress.ip_network("0.0.0.0/0"), ipaddress.ip_network("::/0"))
    if value == "none":
        return ()
    found: list[Network] = []
    for part in (p.strip() for p in text.split(",")):
        if not part:
            continue
        try:
            found.append(ipaddress.ip_network(part, strict=False))
        except ValueError as exc:
            raise ConfigError(
                f"{source}: {part!r} is not an address or network ({exc}); accepted: a comma "
                "list of addresses or CIDR networks (127.0.0.1, 10.0.0.0/8, fc00::/7), 'any' "
                "or 'none'"
            ) from None
    if not found:
        raise ConfigError(
            f"{source}: {text!r} names no network; accepted: a comma list of addresses or CIDR "
            "networks, 'any' or 'none'"
        )
    return tuple(found)


def client_allowed(scope: Scope, networks: tuple[Network, ...]) -> bool:
    """Whether the request's client address is in ``networks`` (no address, a Unix socket:
    local, allowed). The address is the TCP peer's: behind a proxy, the proxy's."""
    client = scope.get("client")
    if not client:
        return True
    try:
        address = ipaddress.ip_address(client[0])
    except ValueError:
        return False
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        address = address.ipv4_mapped
    return any(address in network for network in networks)


class HttpMetrics:
    """The request counter and latency histogram of one app's registry."""

    def __init__(self, registry: CollectorRegistry) -> None:
        self.requests = Counter(
            "igw_http_requests",
            "HTTP requests answered, by route template, method and status",
            ["route", "method", "status"],
            registry=registry,
        )
        self.latency = Histogram(
            "igw_http_request_duration_seconds",
            "Time from the request's arrival to the end of its answer, by route template and "
            "method",
            ["route", "method"],
            buckets=BUCKETS,
            registry=registry,
        )
        self._children: dict[tuple[str, str, int], tuple[Any, Any]] = {}
        self._lock = threading.Lock()

    def observe(self, route: str, method: str, status: int, seconds: float) -> None:
        """Count one answered request (label children cached: a dict look-up per request)."""
        key = (route, method, status)
        children = self._children.get(key)
        if children is None:
            with self._lock:
                children = (
                    self.requests.labels(route, method, str(status)),
                    self.latency.labels(route, method),
                )
                self._children[key] = children
        children[0].inc()
        children[1].observe(seconds)


#: where FastAPI keeps its per-request state in the scope (``fastapi.routing``)
_FASTAPI_SCOPE = str(getattr(fastapi_routing, "_FASTAPI_SCOPE_KEY", "fastapi"))


def _included_template(scope: Scope) -> str | None:
    """The full template of a route reached through ``include_router(prefix=...)``.

    FastAPI (0.16x) keeps an included router as one entry and puts the router's ORIGINAL route
    in ``scope["route"]`` (its path without the prefix: ``/invoices/{invoice_id}``); the full
    template (``/api/v1/invoices/{invoice_id}``) is on the effective route context it records.
    None when there is none (older FastAPI: ``scope["route"]`` then has the full path)."""
    state = scope.get(_FASTAPI_SCOPE)
    context = state.get("effective_route_context") if isinstance(state, dict) else None
    found = getattr(context, "path_format", None)
    return found if isinstance(found, str) and found else None


class MetricsMiddleware:
    """A pure ASGI middleware (no ``BaseHTTPMiddleware``: no task or stream per request) that
    counts every HTTP request of ``app`` and answers ``GET /metrics`` from ``registry``.

    The label is the template of the route FastAPI matched (``scope["route"]``, set by
    Starlette's router); a request answered before routing (the AS2 fast path, a body-limit
    refusal) whose path is a route's path without parameters, or one of ``static_paths``, is
    labelled with that path; anything else is :data:`UNMATCHED`. ``routes``: the app's routes
    (read at the first request, after every route was added)."""

    def __init__(
        self,
        app: ASGIApp,
        *,
        registry: CollectorRegistry,
        http: HttpMetrics,
        allow: tuple[Network, ...],
        static_paths: Iterable[str] = (),
        routes: Callable[[], Iterable[object]] = tuple,
        path: str = "/metrics",
    ) -> None:
        self.app = app
        self.registry = registry
        self.http = http
        self.allow = allow
        self._given = frozenset(static_paths) | {path}
        self._routes = routes
        self._static: frozenset[str] | None = None
        self._mounts: list[Mount] | None = None
        self.path = path

    @property
    def static_paths(self) -> frozenset[str]:
        """The paths labelled as themselves when no route was matched (see the class)."""
        if self._static is None:
            plain = {getattr(r, "path", "") for r in self._routes()}
            self._static = self._given | {p for p in plain if p and "{" not in p}
        return self._static

    def template(self, scope: Scope, path: str, root: str) -> str:
        """The route label of an answered request (``root``: its root path on arrival; a
        mounted sub-app — the REST API under ``/api/v1`` — adds its prefix to it)."""
        route = scope.get("route")
        inner = getattr(route, "path", None)
        if not isinstance(inner, str):
            return path if path in self.static_paths else UNMATCHED
        full = _included_template(scope)
        if full is not None:
            return full
        prefix = scope.get("root_path", "")
        prefix = prefix[len(root) :] if prefix.startswith(root) else prefix
        if not prefix:
            return inner
        mount = self._mount(prefix)
        return UNMATCHED if mount is None else mount + inner

    def _mount(self, prefix: str) -> str | None:
        """The path template of the mount that ``prefix`` (a concrete path) came from."""
        if self._mounts is None:
            self._mounts = [r for r in self._routes() if isinstance(r, Mount)]
        for mount in self._mounts:
            if mount.path == prefix:
                return mount.path
        for mount in self._mounts:  # a mount with parameters: never the concrete value
            if "{" in mount.path and mount.path_regex.match(prefix + "/"):
                return mount.path
        return None

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        start = time.perf_counter()
        path = scope["path"]
        root = scope.get("root_path", "")
        status = 500  # an app that raised before answering: uvicorn answers 500

        async def counted(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            await send(message)

        try:
            if path == self.path:
                await self.metrics(scope, counted)
            else:
                await self.app(scope, receive, counted)
        finally:
            template = self.template(scope, path, root)
            method = scope["method"]
            self.http.observe(
                template,
                method if method in METHODS else "OTHER",
                status,
                time.perf_counter() - start,
            )

    async def metrics(self, scope: Scope, send: Send) -> None:
        """``GET /metrics``: the exposition text (403 outside the allowed networks)."""
        if scope["method"] not in ("GET", "HEAD"):
            await _answer(send, 405, b"/metrics: GET only\n", [(b"allow", b"GET, HEAD")])
            return
        if not client_allowed(scope, self.allow):
            client = scope.get("client") or ("?",)
            text = (
                f"/metrics: client {client[0]} is not in the allowed networks (igw serve "
                f"--metrics-allow, [serve] metrics_allow, {ALLOW_ENV})\n"
            )
            await _answer(send, 403, text.encode())
            return
        body = await run_in_threadpool(generate_latest, self.registry)
        head = scope["method"] == "HEAD"
        await _answer(send, 200, b"" if head else body, content_type=CONTENT_TYPE_LATEST)


async def _answer(
    send: Send,
    status: int,
    body: bytes,
    headers: list[tuple[bytes, bytes]] | None = None,
    content_type: str = "text/plain; charset=utf-8",
) -> None:
    head = [(b"content-type", content_type.encode()), (b"content-length", b"%d" % len(body))]
    await send({"type": "http.response.start", "status": status, "headers": head + (headers or [])})
    await send({"type": "http.response.body", "body": body})


class StoreCollector(Collector):
    """The business gauges, computed from the store at each scrape, per tenant (label
    ``tenant``): invoices accepted by document format, deliveries by channel and state, acks
    by level and status (each delivery's latest ack on each level), the queue (QUEUED and due)
    and the age of its oldest due delivery, webhook deliveries FAILED (when the webhook outbox
    exists).

    Computed from the store, not counted in the process: several ``igw serve`` instances and
    ``--workers`` processes over one store all report the SAME truth (aggregate with ``max``,
    never ``sum``), and a restart loses nothing. One query per family, each a GROUP BY (the
    queue one uses ``ix_deliveries_state_next``); the whole scrape is bounded by ``timeout``
    seconds (PostgreSQL: a statement timeout too) — past it, or with the store away,
    ``igw_store_up`` is 0 and the gauges are left out; the HTTP metrics still answer."""

    def __init__(
        self,
        store: Store,
        *,
        timeout: float = DEFAULT_SCRAPE_TIMEOUT,
        clock: Callable[[], dt.datetime] | None = None,
    ) -> None:
        self.store = store
        self.timeout = timeout
        self.clock = clock or (lambda: dt.datetime.now(dt.UTC))
        self._pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="igw-metrics")
        self._running: Future[list[Metric]] | None = None
        self._lock = threading.Lock()
        self.last_error = ""

    def collect(self) -> Iterator[Metric]:
        start = time.perf_counter()
        up = GaugeMetricFamily(
            "igw_store_up", "1 when this scrape read the business gauges from the store"
        )
        with self._lock:
            if self._running is not None and not self._running.done():
                future = None  # a stuck scrape is still running: never pile up queries
                self.last_error = "the previous scrape's queries are still running"
            else:
                future = self._pool.submit(self._families)
                self._running = future
        families: list[Metric] = []
        if future is not None:
            try:
                families = future.result(timeout=self.timeout)
                self.last_error = ""
            except FutureTimeout:
                self.last_error = f"store queries took more than {self.timeout:g} s"
            except sa.exc.SQLAlchemyError as exc:
                self.last_error = one_line(exc)
        up.add_metric([], 0.0 if self.last_error else 1.0)
        yield up
        seconds = GaugeMetricFamily(
            "igw_store_scrape_seconds", "How long this scrape's store queries took"
        )
        seconds.add_metric([], time.perf_counter() - start)
        yield seconds
        yield from families

    def _families(self) -> list[Metric]:
        now = self.clock()
        with self.store.engine.connect() as db, db.begin():
            if db.dialect.name == "postgresql":
                ms = max(1, int(self.timeout * 1000))
                db.exec_driver_sql(f"SET LOCAL statement_timeout = {ms}")
            found = [self._invoices(db), *self._deliveries(db), *self._queue(db, now)]
            if sa.inspect(db).has_table("webhook_outbox"):
                found.append(self._webhooks(db))
        return found

    @staticmethod
    def _invoices(db: sa.Connection) -> Metric:
        family = GaugeMetricFamily(
            "igw_invoices_accepted",
            "Invoices accepted and stored with their rendered document, by tenant and format "
            "(held members of an open consolidation batch are counted once it closes)",
            labels=["tenant", "format"],
        )
        query = sa.select(documents.c.tenant_id, documents.c.format, sa.func.count()).group_by(
            documents.c.tenant_id, documents.c.format
        )
        for tenant, fmt, count in db.execute(query):
            family.add_metric([tenant, fmt], count)
        return family

    @staticmethod
    def _deliveries(db: sa.Connection) -> list[Metric]:
        """Deliveries by channel and state and acks by level and status: one GROUP BY."""
        by_state = GaugeMetricFamily(
            "igw_deliveries",
            "Deliveries by tenant, channel and state",
            labels=["tenant", "channel", "state"],
        )
        acks = GaugeMetricFamily(
            "igw_acks",
            "Deliveries by the latest ack on each level (transport, syntax, business) and its "
            "status",
            labels=["tenant", "level", "status"],
        )
        d = deliveries.c
        levels = (
            ("transport", d.transport_ack),
            ("syntax", d.syntax_ack),
            ("business", d.business_ack),
        )
        columns = [d.tenant_id, d.channel, d.state, *(c for _, c in levels)]
        query = sa.select(*columns, sa.func.count()).group_by(*columns)
        states: dict[tuple[str, str, str], int] = {}
        ack_counts: dict[tuple[str, str, str], int] = {}
        for row in db.execute(query):
            tenant, channel, state, *ack_values, count = row
            states[(tenant, channel, state)] = states.get((tenant, channel, state), 0) + count
            for (level, _), status in zip(levels, ack_values, strict=True):
                if status is not None:
                    key = (tenant, level, status)
                    ack_counts[key] = ack_counts.get(key, 0) + count
        for labels, count in sorted(states.items()):
            by_state.add_metric(list(labels), count)
        for labels, count in sorted(ack_counts.items()):
            acks.add_metric(list(labels), count)
        return [by_state, acks]

    @staticmethod
    def _queue(db: sa.Connection, now: dt.datetime) -> list[Metric]:
        depth = GaugeMetricFamily(
            "igw_queue_depth",
            "Deliveries QUEUED and due (next attempt now or past)",
            labels=["tenant"],
        )
        age = GaugeMetricFamily(
            "igw_queue_oldest_due_seconds",
            "Seconds since the oldest due QUEUED delivery became due (0: none due)",
            labels=["tenant"],
        )
        d = deliveries.c
        query = (
            sa.select(d.tenant_id, sa.func.count(), sa.func.min(d.next_attempt_at))
            .where(d.state == "QUEUED", d.next_attempt_at <= now)
            .group_by(d.tenant_id)
        )
        for tenant, count, value in db.execute(query):
            depth.add_metric([tenant], count)
            oldest = _moment(value)
            seconds = (now - oldest).total_seconds() if oldest is not None else 0.0
            age.add_metric([tenant], max(0.0, seconds))
        return [depth, age]

    @staticmethod
    def _webhooks(db: sa.Connection) -> Metric:
        family = GaugeMetricFamily(
            "igw_webhooks_failed",
            "Webhook deliveries given up (FAILED) by tenant",
            labels=["tenant"],
        )
        query = sa.text(
            "SELECT tenant_id, count(*) FROM webhook_outbox WHERE state = 'FAILED' "
            "GROUP BY tenant_id"
        )
        for tenant, count in db.execute(query):
            family.add_metric([tenant], count)
        return family

    def close(self) -> None:
        """Stop the query thread (a running query is not waited for)."""
        self._pool.shutdown(wait=False, cancel_futures=True)


def _moment(value: object) -> dt.datetime | None:
    """A MIN() of a UtcDateTime column as an aware datetime (SQLite may give the stored text)."""
    if isinstance(value, str):
        value = dt.datetime.fromisoformat(value)
    if not isinstance(value, dt.datetime):
        return None
    return value if value.tzinfo is not None else value.replace(tzinfo=dt.UTC)


def app_registry(
    store: Store | None, *, scrape_timeout: float = DEFAULT_SCRAPE_TIMEOUT
) -> tuple[CollectorRegistry, HttpMetrics, StoreCollector | None]:
    """A registry with the HTTP metrics, the process's submit counters and (with a store) the
    store's business gauges."""
    registry = CollectorRegistry(auto_describe=False)
    http = HttpMetrics(registry)
    registry.register(SUBMIT_REJECTED)
    collector = None
    if store is not None:
        collector = StoreCollector(store, timeout=scrape_timeout)
        registry.register(collector)
    return registry, http, collector


__all__ = [
    "DEFAULT_ALLOW",
    "UNMATCHED",
    "HttpMetrics",
    "MetricsMiddleware",
    "StoreCollector",
    "app_registry",
    "client_allowed",
    "parse_networks",
]
