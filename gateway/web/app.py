"""``create_app``: the FastAPI app — ``POST /as2``, ``POST /as2/mdn``, ``GET /health``
(liveness), ``GET /ready`` and ``GET /metrics`` (:mod:`gateway.ops`), the REST API under
``/api/v1`` (:mod:`gateway.web.api`) with its docs at ``/docs``.

The app keeps nothing in memory between requests: every arrival, verdict, MDN and ack is in the
store, so several instances behind a load balancer can share one PostgreSQL. Example::

    app = create_app(store=Store.open(url), as2=load_as2_config("config/as2"))
    with serve_in_thread(app) as base_url:
        ...
"""

from __future__ import annotations

import logging
import threading
from collections.abc import AsyncIterator, Callable, Iterable, Sequence
from contextlib import asynccontextmanager

import httpx
from fastapi import BackgroundTasks, FastAPI, Request, Response
from fastapi.responses import JSONResponse
from starlette.concurrency import run_in_threadpool
from starlette.datastructures import Headers
from starlette.types import ASGIApp, Receive, Scope, Send

from connectors.base import Clock, utc_now
from gateway import __version__
from gateway.as2.config import DEFAULT_MAX_SIZE, As2Config
from gateway.errors import ConfigError
from gateway.inbound.interpret import DEFAULT_RULE_SETS
from gateway.ops.install import install_ops
from gateway.profiles.load import ProfileSet
from gateway.profiles.profile import BuyerProfile
from gateway.rules import RULE_SETS
from gateway.store import Store
from gateway.store.engine import checkpoint
from gateway.store.inbound import KEEP_REFUSALS, REQUEST_CAP
from gateway.store.mdn_outbox import DEFAULT_RETRY, MdnRetry
from gateway.tenants import DEFAULT_TENANT
from gateway.tenants.directory import TenantDirectory
from gateway.web.api import OPENAPI_URL, install_api
from gateway.web.api.models import API_PREFIX
from gateway.web.as2.endpoint import (
    Answer,
    Endpoint,
    deliver_claimed,
    mdn_url_policy,
    receive_mdn,
    receive_message,
    sweep_mdns,
)
from gateway.web.limits import (
    BadContentLength,
    BodyStalled,
    BodyTooLarge,
    ClientGone,
    WebLimits,
    client_label,
    read_body,
    replay,
    send_problem,
    send_text,
)

log = logging.getLogger(__name__)


class MdnSweepThread:
    """A daemon thread running :func:`gateway.web.as2.endpoint.sweep_mdns` every ``interval``
    seconds
    until :meth:`stop` (a failing sweep is logged; the next one runs as planned)."""

    def __init__(self, endpoint: Endpoint, interval: float) -> None:
        if interval <= 0:
            raise ConfigError(f"async MDN sweep interval {interval!r}: must be > 0 seconds")
        self.endpoint = endpoint
        self.interval = interval
        self.stopping = threading.Event()
        self.thread: threading.Thread | None = None
        self.runs = 0

    def start(self) -> None:
        """Start sweeping (the first sweep runs at once)."""
        if self.thread is not None and self.thread.is_alive():
            return
        self.stopping.clear()
        self.thread = threading.Thread(target=self._loop, name="igw-async-mdn-sweep", daemon=True)
        self.thread.start()

    def stop(self, timeout: float = 60.0) -> None:
        """Stop after the running sweep (if any) finished."""
        self.stopping.set()
        if self.thread is not None:
            self.thread.join(timeout)

    @property
    def running(self) -> bool:
        """Whether the thread is alive."""
        return self.thread is not None and self.thread.is_alive()

    def _loop(self) -> None:
        while not self.stopping.is_set():
            try:
                sweep_mdns(self.endpoint)
            except Exception:  # a sweep failure (store away, ...) must not end the loop
                log.exception("async MDN sweep failed")
            self.runs += 1
            self.stopping.wait(self.interval)


class _GatewayApp(FastAPI):
    """FastAPI, with ``POST /as2`` answered as a plain ASGI handler ahead of FastAPI's routing
    and middleware stack: per message, that stack (routing, exception and body-limit middleware,
    one ``send`` wrapper per layer) cost about as much CPU as storing the message. The handler
    keeps the route's behaviour: the answer in the response, an async MDN POSTed after it, an
    unexpected error logged and answered 500.

    Every HTTP request's body is read here first, within its route's limit
    (:class:`gateway.web.limits.WebLimits`): over it, 413 before the body is read (by
    Content-Length) or as soon as it passes the limit (chunked); a client that disconnects
    mid-upload is one log line. Without an AS2 configuration (``as2_missing``), ``/as2`` and
    ``/as2/mdn`` answer 503 with what to do."""

    as2_endpoint: Endpoint | None = None
    as2_missing: str | None = None
    web_limits: WebLimits = WebLimits()
    as2_max_size: int = DEFAULT_MAX_SIZE
    #: the outermost layer (the metrics middleware, gateway.ops.install) around :meth:`dispatch`
    outer: ASGIApp | None = None

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if self.outer is not None:
            await self.outer(scope, receive, send)
        else:
            await self.dispatch(scope, receive, send)

    async def dispatch(self, scope: Scope, receive: Receive, send: Send) -> None:
        """The app below the outermost layer: the AS2 fast path, body limits, FastAPI."""
        if scope["type"] != "http":
            await super().__call__(scope, receive, send)
            return
        method = scope["method"]
        path = scope["path"].removeprefix(scope.get("root_path", ""))
        if self.as2_missing is not None and path in ("/as2", "/as2/mdn"):
            await send_text(send, 503, self.as2_missing, close=True)
            return
        limit, origin = self.web_limits.body_limit(method, path, self.as2_max_size)
        refuse = _refuse_api if path.startswith(API_PREFIX + "/") else _refuse_text
        try:
            body = await read_body(scope, receive, limit, origin, self.web_limits.body_timeout)
        except BodyTooLarge as exc:
            log.warning("%s %s from %s refused (413): %s", method, path, client_label(scope), exc)
            await refuse(send, 413, f"{method} {path}: {exc}")
            return
        except BadContentLength as exc:
            await refuse(send, 400, f"{method} {path}: {exc}")
            return
        except BodyStalled as exc:
            log.info("%s %s from %s: %s; closed", method, path, client_label(scope), exc)
            await refuse(send, 408, f"{method} {path}: {exc}")
            return
        except ClientGone as exc:
            log.info("%s %s from %s: %s; nothing done", method, path, client_label(scope), exc)
            return
        endpoint = self.as2_endpoint
        if endpoint is not None and method == "POST" and path == "/as2":
            await self.as2_message(endpoint, scope, body, send)
            return
        await super().__call__(scope, replay(body, receive), send)

    @staticmethod
    async def as2_message(endpoint: Endpoint, scope: Scope, body: bytes, send: Send) -> None:
        """Receive one AS2 message; the MDN is the response (sync) or POSTed afterwards."""
        try:
            answer = await run_in_threadpool(receive_message, endpoint, Headers(scope=scope), body)
        except Exception:
            log.exception("POST /as2 failed")
            answer = Answer(500, b"Internal Server Error\n", {"Content-Type": "text/plain"})
        headers = [(b"content-length", str(len(answer.body)).encode("ascii"))] + [
            (name.lower().encode("latin-1"), value.encode("latin-1"))
            for name, value in answer.headers.items()
            if name.lower() != "content-length"
        ]
        await send({"type": "http.response.start", "status": answer.status, "headers": headers})
        await send({"type": "http.response.body", "body": answer.body})
        if answer.mdn_claim is not None:
            await run_in_threadpool(deliver_claimed, endpoint, answer.mdn_claim)


_TITLES = {400: "Bad Request", 408: "Request Timeout", 413: "Content Too Large"}


async def _refuse_text(send: Send, status: int, text: str) -> None:
    await send_text(send, status, text, close=True)


async def _refuse_api(send: Send, status: int, text: str) -> None:
    await send_problem(send, status, _TITLES.get(status, "Error"), text)


def as2_missing_text(reason: str) -> str:
    """The 503 answer of ``/as2`` while there is no AS2 identity: the reason and what to do."""
    return (
        f"AS2 not configured: run `igw as2 identity --as2-id <OUR-AS2-ID> --password "
        f"env:IGW_AS2_KEY_PASSWORD`, name the files it writes in local.toml (igw serve "
        f"--as2-config, default config/as2) and restart igw serve ({reason})"
    )


def create_app(
    *,
    store: Store,
    as2: As2Config | None,
    clock: Clock = utc_now,
    rule_sets: Sequence[str] = DEFAULT_RULE_SETS,
    profiles: Iterable[BuyerProfile] = (),
    mdn_timeout: float = 30.0,
    mdn_client_factory: Callable[[], httpx.Client] | None = None,
    mdn_match_wait: float = 2.0,
    mdn_retry_delays: Sequence[float] = (1.0, 5.0, 30.0),
    mdn_retry: MdnRetry = DEFAULT_RETRY,
    mdn_sweep_interval: float | None = None,
    refusal_request_cap: int = REQUEST_CAP,
    refusals_kept: int = KEEP_REFUSALS,
    mdn_url_profiles: Iterable[BuyerProfile] | None = None,
    limits: WebLimits | None = None,
    as2_missing: str = "no AS2 configuration was given",
    api: bool = True,
    profile_set: ProfileSet | None = None,
    tenants: TenantDirectory | None = None,
    metrics_allow: str | None = None,
) -> FastAPI:
    """The gateway's web app over ``store`` with our AS2 identity and partners ``as2``.

    ``rule_sets``: the in-process rules run on inbound invoices; ``profiles``: buyer profiles
    (acks from a buyer's ids are matched to that buyer's deliveries); ``mdn_client_factory``
    makes the HTTP client async MDNs are POSTed with (default: httpx, ``mdn_timeout`` seconds);
    ``mdn_match_wait``: how long a received async MDN waits for its delivery's Message-ID to be
    recorded (it may overtake the sending worker) before it is kept as unmatched;
    unknown ``rule_sets`` raise :class:`ConfigError` here, not at the first message;
    ``mdn_retry_delays``: pauses between the quick in-process tries of a fresh async MDN the
    partner did not take; ``mdn_retry``: backoff and give-up limits of the durable async MDN
    outbox; ``mdn_sweep_interval``: when set, the app's lifespan runs the outbox sweep every
    that many seconds in a background thread (``app.state.mdn_sweeps``, a
    :class:`MdnSweepThread`; ``igw serve`` sets it), stopped on shutdown, when a SQLite store
    is also checkpointed (:func:`gateway.store.engine.checkpoint`);
    ``refusal_request_cap``: bytes of a refused request kept with the refusal;
    ``refusals_kept``: how many refusals are kept (older ones are pruned);
    ``mdn_url_profiles``: the buyer profiles whose as2 channel URLs give a partner without
    ``async_mdn_urls`` its allowed async MDN prefixes (default ``profiles``,
    :func:`gateway.web.as2.endpoint.mdn_url_policy`); ``limits``: header timeout and body limits
    (:class:`gateway.web.limits.WebLimits`; the header timeout is the server's:
    :func:`gateway.web.limits.guarded_protocol`). ``as2=None``: no AS2 identity yet — ``/as2``
    and ``/as2/mdn`` answer 503 naming ``as2_missing`` and how to create one; ``/health``
    answers. ``api``: the REST API under ``/api/v1`` with its docs (:mod:`gateway.web.api`),
    on ``store`` scoped per request by the key's tenant, with each tenant's buyer profiles from
    ``tenants`` (default: a :class:`TenantDirectory` whose default tenant has ``profile_set``
    when given, every other tenant its folder below ``config/tenants``). ``metrics_allow``: the
    client networks ``/metrics`` answers (:func:`gateway.ops.install.install_ops`; default env
    IGW_SERVE_METRICS_ALLOW, else loopback and the private ranges).
    """
    unknown = [name for name in rule_sets if name not in RULE_SETS]
    if unknown:
        raise ConfigError(
            f"inbound rule sets {', '.join(map(repr, unknown))}: unknown; accepted: "
            + ", ".join(sorted(RULE_SETS))
        )
    profiles = tuple(profiles)
    endpoint = (
        Endpoint(
            store=store,
            config=as2,
            clock=clock,
            rule_sets=tuple(rule_sets),
            profiles=profiles,
            mdn_timeout=mdn_timeout,
            client_factory=mdn_client_factory,
            match_wait=mdn_match_wait,
            mdn_retry_delays=tuple(mdn_retry_delays),
            mdn_retry=mdn_retry,
            refusal_request_cap=refusal_request_cap,
            refusals_kept=refusals_kept,
            async_mdn_urls=mdn_url_policy(
                as2, profiles if mdn_url_profiles is None else mdn_url_profiles
            ),
        )
        if as2 is not None
        else None
    )
    sweeps = (
        MdnSweepThread(endpoint, mdn_sweep_interval)
        if mdn_sweep_interval and endpoint is not None
        else None
    )

    @asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[None]:
        if sweeps is not None:
            sweeps.start()
        try:
            yield
        finally:
            if sweeps is not None:
                await run_in_threadpool(sweeps.stop)
            await run_in_threadpool(checkpoint, store.engine)

    app = _GatewayApp(
        title="invoice-gateway",
        version=__version__,
        openapi_url=OPENAPI_URL if api else None,
        docs_url=None,
        redoc_url=None,
        lifespan=lifespan,
    )
    app.state.store = store
    app.state.clock = clock
    app.state.inbound_rule_sets = tuple(rule_sets)
    app.state.profile_set = profile_set
    # per-tenant buyer profiles for the API: never the default tenant's for another tenant
    app.state.tenants = (
        tenants
        if tenants is not None
        else TenantDirectory(
            preloaded={DEFAULT_TENANT: profile_set} if profile_set is not None else None
        )
    )
    app.state.endpoint = endpoint
    app.state.mdn_sweeps = sweeps
    app.as2_endpoint = endpoint
    app.as2_missing = None if as2 is not None else as2_missing_text(as2_missing)
    app.web_limits = limits or WebLimits()
    app.as2_max_size = as2.max_size if as2 is not None else DEFAULT_MAX_SIZE

    if api:
        install_api(app)

    @app.post("/as2", include_in_schema=False)
    async def as2_message(request: Request, background: BackgroundTasks) -> Response:
        """Receive one AS2 message; the MDN is the response (sync) or POSTed afterwards.
        (``POST /as2`` itself is answered by :meth:`_GatewayApp.as2_message`; this route
        gives other methods their 405 and documents the path.)"""
        assert endpoint is not None  # without one, _GatewayApp answers 503
        body = await request.body()
        answer = await run_in_threadpool(receive_message, endpoint, request.headers, body)
        if answer.mdn_claim is not None:
            background.add_task(deliver_claimed, endpoint, answer.mdn_claim)
        return Response(answer.body, status_code=answer.status, headers=dict(answer.headers))

    @app.post("/as2/mdn", include_in_schema=False)
    async def as2_mdn(request: Request) -> Response:
        """Receive an asynchronous MDN for a message we sent."""
        assert endpoint is not None  # without one, _GatewayApp answers 503
        body = await request.body()
        outcome = await run_in_threadpool(receive_mdn, endpoint, request.headers, body)
        return JSONResponse(
            {"matched": outcome.matched, "detail": outcome.detail}, status_code=outcome.status
        )

    @app.get("/health", include_in_schema=False)
    def health() -> Response:
        """Liveness: 200 while the process answers (the store is ``/ready``'s business)."""
        if as2 is None:
            return JSONResponse({"status": "ok", "as2_id": None, "as2": "not configured"})
        return JSONResponse(
            {"status": "ok", "as2_id": as2.identity.as2_id, "partners": len(as2.partners)}
        )

    # /ready and /metrics; the request metrics run outermost (the AS2 fast path counted too)
    app.outer = install_ops(app, store, metrics_allow=metrics_allow)
    return app
