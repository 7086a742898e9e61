"""The webhook dispatcher: claims due outbox rows, POSTs them signed per Standard Webhooks
(``webhook-id``, ``webhook-timestamp``, ``webhook-signature``), records every attempt.

* At least once: a row is DELIVERED only after a 2xx; a crash before that repeats the POST with
  the same ``webhook-id`` (receivers de-duplicate on it).
* In order per invoice and subscription: only the oldest PENDING row of an invoice is claimable
  (:func:`gateway.store.webhooks.claim_due`), rows of different invoices go out in parallel
  (``concurrency`` threads).
* Retries: timeouts, connection errors, 5xx, 408, 425 and 429 are retried after
  :data:`DELAYS` (jitter 0.9-1.1x; about 27.5 h in all, at least 24.8 h) and FAILED after
  :data:`MAX_ATTEMPTS`; other 4xx (and redirects, refused targets) after
  :data:`CLIENT_ERROR_ATTEMPTS`. 410 Gone fails the row and disables the subscription.

Runs beside the delivery worker in ``igw run`` (:func:`start_dispatcher`) and alone as
``igw webhooks dispatch [--until-empty]``.
"""

from __future__ import annotations

import datetime as dt
import logging
import random
import threading
import time
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor

import httpx
from sqlalchemy.engine import Engine
from sqlalchemy.exc import DBAPIError
from standardwebhooks import Webhook

from gateway import __version__
from gateway.delivery.worker_identity import default_worker_id, gone
from gateway.errors import ConfigError
from gateway.store import webhooks as hooks
from gateway.store.webhooks import DELIVERED, FAILED, PENDING, Claimed, Outcome
from gateway.webhooks.secrets import resolve_secret
from gateway.webhooks.urls import Network, TargetRefused, check_target, env_networks

log = logging.getLogger("gateway.webhooks")

DELAYS: tuple[float, ...] = (5, 300, 1800, 7200, 18000, 36000, 36000)
"""Seconds before the retry after attempt 1, 2, ... (the Standard Webhooks / Svix schedule)."""
MAX_ATTEMPTS = len(DELAYS) + 1
CLIENT_ERROR_ATTEMPTS = 3
RETRYABLE = frozenset({408, 425, 429})
DEFAULT_CONCURRENCY = 16
DEFAULT_BATCH = 100
DEFAULT_LEASE_SECONDS = 60.0
DEFAULT_TIMEOUT = 10.0
READ_CAP = 4096


def utc_now() -> dt.datetime:
    """The current time, UTC."""
    return dt.datetime.now(dt.UTC)


class Dispatcher:
    """Sends the webhook outbox of every tenant on ``engine``.

    ``clock`` gives the times recorded and compared (tests drive it); ``wall`` the Unix time
    signed into ``webhook-timestamp`` (receivers compare it with their own clock);
    ``allow_networks`` the private networks targets may be on (default: the environment's,
    :func:`gateway.webhooks.urls.env_networks`).
    """

    def __init__(
        self,
        engine: Engine,
        *,
        clock: Callable[[], dt.datetime] = utc_now,
        wall: Callable[[], float] = time.time,
        worker_id: str | None = None,
        concurrency: int = DEFAULT_CONCURRENCY,
        batch_size: int = DEFAULT_BATCH,
        lease_seconds: float = DEFAULT_LEASE_SECONDS,
        timeout: float = DEFAULT_TIMEOUT,
        allow_networks: Sequence[Network] | None = None,
        random: Callable[[], float] = random.random,
        transport: httpx.BaseTransport | None = None,
    ) -> None:
        self.engine = engine
        self.clock = clock
        self.wall = wall
        self.worker_id = worker_id or default_worker_id()
        self.concurrency = max(1, concurrency)
        self.batch_size = batch_size
        self.lease_seconds = lease_seconds
        self.allow = tuple(env_networks() if allow_networks is None else allow_networks)
        self.random = random
        self.client = httpx.Client(
            timeout=timeout,
            follow_redirects=False,
            trust_env=False,
            transport=transport,
            limits=httpx.Limits(max_connections=self.concurrency * 2),
            headers={"user-agent": f"invoice-gateway/{__version__} webhooks"},
        )
        self._pool: ThreadPoolExecutor | None = None
        self.sent = 0
        self.delivered = 0
        self.failed = 0

    def close(self) -> None:
        """Stop the send threads and close the HTTP client."""
        if self._pool is not None:
            self._pool.shutdown(wait=True)
            self._pool = None
        self.client.close()

    # -- the loop ---------------------------------------------------------------------------

    def take_over(self) -> int:
        """Release this worker's own claims and those of workers provably gone."""
        freed = hooks.release_claims(self.engine, self.worker_id)
        for holder in hooks.claimers(self.engine):
            if holder != self.worker_id and gone(holder) is not None:
                freed += hooks.release_claims(self.engine, holder)
        return freed

    def run_once(self) -> int:
        """Claim one batch of due rows, send them (in parallel), record the outcomes in one
        transaction. How many rows were claimed."""
        claimed = hooks.claim_due(
            self.engine, self.worker_id, self.clock(), self.batch_size, self.lease_seconds
        )
        if not claimed:
            return 0
        if self.concurrency > 1 and len(claimed) > 1:
            if self._pool is None:
                self._pool = ThreadPoolExecutor(self.concurrency, thread_name_prefix="igw-hook")
            outcomes = list(self._pool.map(self.send, claimed))
        else:
            outcomes = [self.send(c) for c in claimed]
        hooks.record_outcomes(self.engine, self.worker_id, outcomes, self.clock())
        for outcome in outcomes:
            self.sent += 1
            self.delivered += outcome.state == DELIVERED
            self.failed += outcome.state == FAILED
        return len(claimed)

    def run(
        self, stop: threading.Event, *, until_empty: bool = False, poll_interval: float = 1.0
    ) -> None:
        """Dispatch until ``stop`` is set (``until_empty``: until no PENDING row is due now).

        A database outage is waited out (one warning per failed round)."""
        try:
            self.take_over()
        except DBAPIError as exc:
            log.warning("igw webhooks: store unavailable: %s", exc)
        while not stop.is_set():
            try:
                if self.run_once():
                    continue
                if until_empty:
                    due = hooks.next_due(self.engine)
                    if due is None or due > self.clock():
                        break
            except DBAPIError as exc:
                log.warning("igw webhooks: store unavailable: %s", exc)
            stop.wait(poll_interval)

    # -- one message ------------------------------------------------------------------------

    def send(self, claimed: Claimed) -> Outcome:
        """POST one claimed row; what came of it (never raises)."""
        row = claimed.row
        attempt = row.attempts + 1
        started = time.monotonic()
        status: int | None = None
        excerpt: str | None = None
        try:
            check_target(claimed.url, self.allow)
            secret = resolve_secret(claimed.secret)
            stamp = dt.datetime.fromtimestamp(int(self.wall()), dt.UTC)
            signature = Webhook(secret).sign(row.msg_id, stamp, row.payload)
            headers = {
                "content-type": "application/json",
                "webhook-id": row.msg_id,
                "webhook-timestamp": str(int(stamp.timestamp())),
                "webhook-signature": signature,
            }
            with self.client.stream(
                "POST", claimed.url, content=row.payload.encode("utf-8"), headers=headers
            ) as response:
                status = response.status_code
                excerpt = _excerpt(response)
        except (TargetRefused, ConfigError) as exc:
            return self._outcome(
                row.id, attempt, started, status=None, error=str(exc), excerpt=None, client=True
            )
        except httpx.HTTPError as exc:
            error = f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__
            return self._outcome(
                row.id, attempt, started, status=None, error=error, excerpt=None, client=False
            )
        if 200 <= status < 300:
            return Outcome(row.id, DELIVERED, None, status, _ms(started), None, excerpt)
        if status == 410:
            error = "410 Gone: the subscription is disabled"
            return Outcome(row.id, FAILED, None, status, _ms(started), error, excerpt, True)
        client = status < 500 and status not in RETRYABLE
        return self._outcome(
            row.id,
            attempt,
            started,
            status=status,
            error=f"HTTP {status}",
            excerpt=excerpt,
            client=client,
        )

    def _outcome(
        self,
        outbox_id: int,
        attempt: int,
        started: float,
        *,
        status: int | None,
        error: str,
        excerpt: str | None,
        client: bool,
    ) -> Outcome:
        limit = CLIENT_ERROR_ATTEMPTS if client else MAX_ATTEMPTS
        if attempt >= limit:
            return Outcome(outbox_id, FAILED, None, status, _ms(started), error, excerpt)
        delay = DELAYS[attempt - 1] * (0.9 + 0.2 * self.random())
        due = self.clock() + dt.timedelta(seconds=delay)
        return Outcome(outbox_id, PENDING, due, status, _ms(started), error, excerpt)


def _ms(started: float) -> int:
    return round((time.monotonic() - started) * 1000)


def _excerpt(response: httpx.Response) -> str:
    data = b""
    for chunk in response.iter_bytes():
        data += chunk
        if len(data) >= READ_CAP:
            break
    return data[: hooks.EXCERPT_CHARS].decode("utf-8", "replace")


class DispatcherThread:
    """A :class:`Dispatcher` running in a thread of its own (``igw run``)."""

    def __init__(self, dispatcher: Dispatcher, poll_interval: float = 1.0) -> None:
        self.dispatcher = dispatcher
        self.stop_event = threading.Event()
        self.thread = threading.Thread(
            target=dispatcher.run,
            args=(self.stop_event,),
            kwargs={"poll_interval": poll_interval},
            name="igw-webhooks",
            daemon=True,
        )

    def start(self) -> DispatcherThread:
        """Start the thread."""
        self.thread.start()
        return self

    def stop(self) -> None:
        """Stop after the current round and close the dispatcher."""
        self.stop_event.set()
        self.thread.join()
        self.dispatcher.close()


class SharedDispatcher:
    """A handle on the one dispatcher thread of a store URL in this process: ``igw run
    --all-tenants`` runs a worker per tenant and each starts "its" dispatcher; the dispatcher
    serves every tenant, so they share one, stopped when the last handle stops."""

    def __init__(self, key: str) -> None:
        self.key = key

    def stop(self) -> None:
        """Drop this handle; the last one stops the thread."""
        with _shared_lock:
            thread, users = _shared[self.key]
            if users > 1:
                _shared[self.key] = (thread, users - 1)
                return
            del _shared[self.key]
        thread.stop()


_shared: dict[str, tuple[DispatcherThread, int]] = {}
_shared_lock = threading.Lock()


def start_dispatcher(engine: Engine, poll_interval: float = 1.0) -> SharedDispatcher:
    """The dispatcher of ``engine``'s database, running in a thread (for ``igw run``): started
    by the first caller in this process, shared by the later ones."""
    key = engine.url.render_as_string(hide_password=False)
    with _shared_lock:
        found = _shared.get(key)
        if found is None:
            _shared[key] = (DispatcherThread(Dispatcher(engine), poll_interval).start(), 1)
        else:
            _shared[key] = (found[0], found[1] + 1)
    return SharedDispatcher(key)
