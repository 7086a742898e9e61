"""The worker (``igw run``): claims due deliveries, sends them, records what happened.

One loop: claim a batch of due QUEUED deliveries (``FOR UPDATE SKIP LOCKED`` on PostgreSQL, one
writer at a time on SQLite), send each stored document through the connector of its channel and
record the outcome in the same store transaction that releases the claim:

* a :class:`~connectors.base.Receipt` → ``SENT``, and at once ``DELIVERED`` (a
  ``transport_proof`` event carrying the receipt's evidence) when the transport proved receipt;
  the next-attempt time becomes the deadline of the next expected proof level;
* a retryable :class:`~gateway.delivery_errors.DeliveryError` with attempts left → ``QUEUED``
  again after ``profile.retry.delay(attempt, random)`` (exponential backoff with jitter);
* anything else → ``FAILED``, and the next channel of the profile's fallback chain is queued in
  the same transaction.

A foreign exception escaping a connector is a connector bug: it is recorded as a retryable
failure, never crashes the worker. Sends are idempotent per key, so a worker killed mid-send is
harmless: its claims expire (or are released when it restarts under the same ``worker_id``) and
the next send of the same key returns the first receipt. SIGTERM/SIGINT stop the loop after the
current send; claimed deliveries not yet started are released.
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import random
import signal
import socket
import sys
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, fields
from pathlib import Path
from types import FrameType
from typing import Any

from sqlalchemy.exc import DBAPIError

from connectors.base import Connector, Receipt, utc_now
from gateway.delivery_errors import DeliveryError, RateLimited
from gateway.document import Document
from gateway.errors import GatewayError
from gateway.profile import BuyerProfile, ChannelSpec
from gateway.profiles import ProfileSet, build_connector, load_profiles
from gateway.store import AddedDelivery, ClaimedDelivery, ClaimLost, DeliveryState, Store

Clock = Callable[[], dt.datetime]
ConnectorFactory = Callable[[ChannelSpec], Connector]

DEFAULT_BATCH = 10
DEFAULT_LEASE_SECONDS = 300.0


@dataclass
class WorkerStats:
    """What a worker did: counts per outcome, and how long it ran (seconds)."""

    claimed: int = 0
    sent: int = 0
    delivered: int = 0
    retried: int = 0
    failed: int = 0
    fallbacks: int = 0
    connector_bugs: int = 0
    claims_lost: int = 0
    released: int = 0
    elapsed: float = 0.0

    def as_dict(self) -> dict[str, float]:
        """Every counter by name (for the CLI's summary line or JSON output)."""
        return {f.name: getattr(self, f.name) for f in fields(self)}


def channel_names(profile: BuyerProfile) -> list[str]:
    """The delivery ``channel`` name of each entry of ``profile.channels()``, in order.

    The connector alias (what ``gateway.submit`` stores for the primary channel); an alias
    already used earlier in the chain gets ``#<position>`` so every entry has its own name.
    """
    names: list[str] = []
    for position, spec in enumerate(profile.channels()):
        names.append(
            spec.connector if spec.connector not in names else f"{spec.connector}#{position}"
        )
    return names


def next_proof_deadline(
    profile: BuyerProfile, state: DeliveryState, now: dt.datetime
) -> dt.datetime | None:
    """When the next awaited proof is overdue after a send at ``now`` (None: nothing awaited).

    SENT awaits transport proof first; DELIVERED (transport proven) the syntax, then the
    business level, as far as the profile's proof policy expects them.
    """
    expected = profile.proof.expected()
    order = ["transport", "syntax", "business"] if state is DeliveryState.SENT else []
    order += ["syntax", "business"] if state is DeliveryState.DELIVERED else []
    for level in order:
        if level in expected:
            return now + expected[level]
    return None


class _Unsendable(Exception):
    """The delivery cannot even be attempted (missing profile, channel or document)."""


def _default_factory(clock: Clock) -> ConnectorFactory:
    def factory(spec: ChannelSpec) -> Connector:
        connector: Connector = build_connector(spec, clock=clock)
        return connector

    return factory


class Worker:
    """Claims due deliveries from ``store`` and sends them with the profiles' connectors.

    ``clock`` gives every time recorded; ``random`` (unit interval) the backoff jitter;
    ``connectors`` builds a connector for a channel spec (default: the registry via
    :func:`gateway.profiles.build_connector`); each spec is built once and reused.
    """

    def __init__(
        self,
        store: Store,
        profiles: ProfileSet,
        *,
        clock: Clock = utc_now,
        worker_id: str | None = None,
        connectors: ConnectorFactory | None = None,
        random: Callable[[], float] = random.random,
        batch_size: int = DEFAULT_BATCH,
        lease_seconds: float = DEFAULT_LEASE_SECONDS,
    ) -> None:
        self.store = store
        self.profiles = profiles
        self.clock = clock
        self.worker_id = worker_id or f"{socket.gethostname()}:{os.getpid()}"
        self.random = random
        self.batch_size = batch_size
        self.lease_seconds = lease_seconds
        self.stats = WorkerStats()
        self._factory = connectors or _default_factory(clock)
        self._connectors: dict[str, Connector] = {}
        self._stopping = threading.Event()

    # -- the loop -------------------------------------------------------------------------

    def run_once(self, limit: int | None = None, stop: threading.Event | None = None) -> int:
        """Claim one batch (at most ``limit``, default ``batch_size``) and process it.

        Returns how many deliveries were claimed. When ``stop`` is set between two sends, the
        rest of the batch is released unprocessed (the current send always finishes).
        """
        now = self.clock()
        claimed = self.store.claim_due(
            self.worker_id, now, limit or self.batch_size, self.lease_seconds
        )
        self.stats.claimed += len(claimed)
        for index, delivery in enumerate(claimed):
            if stop is not None and stop.is_set():
                rest = [d.id for d in claimed[index:]]
                self.stats.released += self.store.release(rest, self.worker_id, now=self.clock())
                break
            self.process(delivery)
        return len(claimed)

    def run(
        self,
        stop: threading.Event,
        *,
        until_empty: bool = False,
        poll_interval: float = 1.0,
    ) -> WorkerStats:
        """Process batches until ``stop`` is set (or, with ``until_empty``, nothing is due).

        Claims this ``worker_id`` still holds from an earlier life (a restart after a crash)
        are released first. A database outage is waited out (``poll_interval``), not fatal.
        """
        started = time.monotonic()
        self.stats.released += self.store.release(None, self.worker_id, now=self.clock())
        while not stop.is_set():
            try:
                claimed = self.run_once(stop=stop)
            except DBAPIError as exc:
                print(f"igw worker {self.worker_id}: store unavailable: {exc}", file=sys.stderr)
                stop.wait(poll_interval)
                continue
            if claimed == 0:
                if until_empty:
                    break
                stop.wait(poll_interval)
        self.stats.elapsed = time.monotonic() - started
        return self.stats

    # -- one delivery ---------------------------------------------------------------------

    def process(self, delivery: ClaimedDelivery) -> None:
        """Send one claimed delivery and record the outcome (never raises for send failures).

        A claim lost meanwhile (lease expired, another worker took over) is counted and left to
        the new holder.
        """
        try:
            self._process(delivery)
        except ClaimLost:
            self.stats.claims_lost += 1

    def _process(self, delivery: ClaimedDelivery) -> None:
        attempt = delivery.attempt + 1
        try:
            profile, position, spec = self._channel(delivery)
            connector = self._connector(spec)
            document = self._document(delivery)
        except (_Unsendable, GatewayError) as exc:
            self._fail(delivery, None, attempt, f"cannot send: {exc}", b"")
            return
        try:
            receipt = connector.send(
                document, delivery_id=str(delivery.id), idempotency_key=delivery.idempotency_key
            )
        except DeliveryError as exc:
            self._failed_attempt(delivery, profile, position, attempt, exc)
            return
        except Exception as exc:  # a connector bug: recorded, retried, never fatal
            self.stats.connector_bugs += 1
            self._retry_or_fail(
                delivery,
                profile,
                position,
                attempt,
                text=f"connector {spec.connector!r} raised {exc!r} (a connector bug: "
                "connectors must raise DeliveryError)",
                evidence=b"",
                retry_after=None,
            )
            return
        self._succeeded(delivery, profile, attempt, receipt)

    def _channel(self, delivery: ClaimedDelivery) -> tuple[BuyerProfile, int, ChannelSpec]:
        try:
            profile = self.profiles[delivery.buyer]
        except KeyError as exc:
            raise _Unsendable(
                f"{exc.args[0]}; accepted: a profile file named after the buyer"
            ) from exc
        names = channel_names(profile)
        if delivery.channel not in names:
            raise _Unsendable(
                f"buyer profile {profile.name!r} has no channel {delivery.channel!r}; "
                f"accepted: {', '.join(names) or 'none configured'}"
            )
        position = names.index(delivery.channel)
        return profile, position, profile.channels()[position]

    def _connector(self, spec: ChannelSpec) -> Connector:
        key = spec.model_dump_json()
        connector = self._connectors.get(key)
        if connector is None:
            connector = self._factory(spec)
            self._connectors[key] = connector
        return connector

    def _document(self, delivery: ClaimedDelivery) -> Document:
        if delivery.document_id is None:
            raise _Unsendable(f"delivery {delivery.id} has no document to send")
        stored = self.store.document(delivery.document_id)
        number = delivery.invoice_number or self.store.delivery(delivery.id).invoice_number
        return Document(
            stored.content,
            stored.syntax,
            stored.format,
            number,
            stored.media_type,
            stored.extension,
        )

    def _succeeded(
        self, delivery: ClaimedDelivery, profile: BuyerProfile, attempt: int, receipt: Receipt
    ) -> None:
        now = self.clock()
        state = DeliveryState.DELIVERED if receipt.transport_proof else DeliveryState.SENT
        extra = f"; {receipt.detail}" if receipt.detail else ""
        proof = (
            f"{receipt.connector} confirmed receipt of {receipt.message_id}{extra}"
            if receipt.transport_proof
            else None
        )
        self.store.record_attempt(
            delivery.id,
            self.worker_id,
            DeliveryState.SENT,
            now=now,
            detail=f"attempt {attempt}: sent via {receipt.channel} as {receipt.message_id}"
            + ("" if receipt.transport_proof else f" (awaiting transport proof){extra}"),
            evidence=receipt.evidence or None,
            next_attempt_at=next_proof_deadline(profile, state, now),
            transport_proof=proof,
            message_id=receipt.message_id[:300] or None,
        )
        if state is DeliveryState.DELIVERED:
            self.stats.delivered += 1
        else:
            self.stats.sent += 1

    def _failed_attempt(
        self,
        delivery: ClaimedDelivery,
        profile: BuyerProfile,
        position: int,
        attempt: int,
        error: DeliveryError,
    ) -> None:
        text = f"{type(error).__name__}: {error}"
        if not error.retryable:
            self._fail(
                delivery, (profile, position), attempt, f"attempt {attempt}: {text}", error.evidence
            )
            return
        wait = error.retry_after if isinstance(error, RateLimited) else None
        self._retry_or_fail(
            delivery,
            profile,
            position,
            attempt,
            text=text,
            evidence=error.evidence,
            retry_after=wait,
        )

    def _retry_or_fail(
        self,
        delivery: ClaimedDelivery,
        profile: BuyerProfile,
        position: int,
        attempt: int,
        *,
        text: str,
        evidence: bytes,
        retry_after: float | None,
    ) -> None:
        allowed = profile.retry.attempts
        if attempt >= allowed:
            self._fail(
                delivery,
                (profile, position),
                attempt,
                f"attempt {attempt} of {allowed}: {text}; no attempts left",
                evidence,
            )
            return
        now = self.clock()
        delay = profile.retry.delay(attempt, self.random())
        if retry_after is not None:
            delay = max(delay, dt.timedelta(seconds=retry_after))
        at = now + delay
        self.store.record_attempt(
            delivery.id,
            self.worker_id,
            DeliveryState.QUEUED,
            now=now,
            level="warning",
            detail=f"attempt {attempt} of {allowed}: {text}; next attempt at "
            f"{at.isoformat(timespec='seconds')} (in {delay.total_seconds():.0f}s)",
            evidence=evidence or None,
            next_attempt_at=at,
        )
        self.stats.retried += 1

    def _fail(
        self,
        delivery: ClaimedDelivery,
        chain: tuple[BuyerProfile, int] | None,
        attempt: int,
        text: str,
        evidence: bytes,
    ) -> None:
        now = self.clock()
        fallback: AddedDelivery | None = None
        if chain is not None:
            profile, position = chain
            specs, names = profile.channels(), channel_names(profile)
            if position + 1 < len(specs):
                fallback = AddedDelivery(
                    buyer=delivery.buyer,
                    channel=names[position + 1],
                    next_attempt_at=now,
                    document_id=delivery.document_id,
                )
        switch = f"; falling back to {fallback.channel}" if fallback else "; no fallback channel"
        self.store.record_attempt(
            delivery.id,
            self.worker_id,
            DeliveryState.FAILED,
            now=now,
            level="error",
            detail=f"{text}{switch}",
            evidence=evidence or None,
            then_add=fallback,
        )
        self.stats.failed += 1
        self.stats.fallbacks += fallback is not None


@contextmanager
def stop_on_signals(stop: threading.Event) -> Iterator[None]:
    """Within the block, SIGTERM and SIGINT set ``stop`` instead of killing the process
    (main thread only); the previous handlers come back afterwards."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return

    def handler(_signum: int, _frame: FrameType | None) -> None:
        stop.set()

    previous = {sig: signal.signal(sig, handler) for sig in (signal.SIGTERM, signal.SIGINT)}
    try:
        yield
    finally:
        for sig, old in previous.items():
            signal.signal(sig, old)


def run_worker(
    store_url: str | None,
    profiles_folder: str | Path,
    *,
    until_empty: bool = False,
    worker_id: str | None = None,
    poll_interval: float = 1.0,
    batch_size: int = DEFAULT_BATCH,
    lease_seconds: float = DEFAULT_LEASE_SECONDS,
    stop: threading.Event | None = None,
    sweeps: bool = True,
    **worker_options: Any,
) -> WorkerStats:
    """Run a worker on the store at ``store_url`` (migrated first) with the buyer profiles of
    ``profiles_folder`` until SIGTERM/SIGINT (or, with ``until_empty``, until nothing is due).

    Unless ``until_empty`` or ``sweeps=False``, the apscheduler sweeps run in the same process
    (:class:`gateway.sweeps.Sweeper`); they are safe with several workers doing the same.

    Raises :class:`~gateway.errors.ConfigError` for unreadable profiles. Returns the counts.
    """
    profiles = load_profiles(profiles_folder)
    store = Store.open(store_url)
    stop = stop or threading.Event()
    try:
        store.migrate()
        worker = Worker(
            store,
            profiles,
            worker_id=worker_id,
            batch_size=batch_size,
            lease_seconds=lease_seconds,
            **worker_options,
        )
        # The sweeps (overdue proof, expired claims, polling) run beside a long-running worker;
        # a drain run (until_empty) has no proof deadlines worth waiting for.
        from gateway.sweeps import Sweeper  # sweeps import this module (channel_names)

        sweeper = None if until_empty or not sweeps else Sweeper(store, profiles)
        if sweeper is not None:
            sweeper.start()
        try:
            with stop_on_signals(stop):
                return worker.run(stop, until_empty=until_empty, poll_interval=poll_interval)
        finally:
            if sweeper is not None:
                sweeper.shutdown()
    finally:
        store.close()


def main(argv: Sequence[str] | None = None) -> int:
    """``python -m gateway.worker --store URL --profiles DIR [--until-empty]`` (tests, ops)."""
    parser = argparse.ArgumentParser(prog="python -m gateway.worker")
    parser.add_argument("--store", default=None)
    parser.add_argument("--profiles", default="config/buyers")
    parser.add_argument("--worker-id", default=None)
    parser.add_argument("--until-empty", action="store_true")
    parser.add_argument("--batch", type=int, default=DEFAULT_BATCH)
    parser.add_argument("--lease", type=float, default=DEFAULT_LEASE_SECONDS)
    args = parser.parse_args(argv)
    stats = run_worker(
        args.store,
        args.profiles,
        until_empty=args.until_empty,
        worker_id=args.worker_id,
        batch_size=args.batch,
        lease_seconds=args.lease,
    )
    print(" ".join(f"{k}={v:g}" for k, v in stats.as_dict().items()))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
