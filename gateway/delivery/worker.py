"""The worker (``igw run``): claims due deliveries, sends them, records what happened.

One loop: close the consolidation batches that are due (:mod:`gateway.delivery.consolidation`),
claim a
batch of due QUEUED deliveries (``FOR UPDATE SKIP LOCKED`` on PostgreSQL, one writer at a time
on SQLite), send each stored document through the connector of its channel — the members of a
closed consolidation batch are ONE send of the batch's document — and record the outcomes of
the whole claimed batch in ONE store transaction that also releases the claims:

* a :class:`~connectors.base.Receipt` → ``SENT``, and at once ``DELIVERED`` (a
  ``transport_proof`` event carrying the receipt's evidence) when the transport proved receipt;
  the next-attempt time becomes the deadline of the next expected proof level;
* a retryable :class:`~gateway.delivery.errors.DeliveryError` with attempts left → ``QUEUED``
  again after ``profile.retry.delay(attempt, random)`` (exponential backoff with jitter);
* anything else → ``FAILED``, and the next channel of the profile's fallback chain is queued in
  the same transaction (a batch falls back as one batch, with the same document).

Transmissions: a delivery is sent under ``transmission_key(key, delivery.transmission)``
(:func:`connectors.base.transmission_key`: the delivery's own key for transmission 1), so every
retry of one transmission — after a transport failure, a worker crash, an expired claim —
carries the same remote id (AS2 Message-ID), and a partner that already holds the message
answers it as a duplicate. An error whose ``ends_transmission`` is set (the partner refused
this transmission and remembers it: an error MDN, an HTTP refusal) is recorded with the store
moving the delivery to the next transmission, so any later re-send carries a new id. Each
attempt event names its transmission and remote id (for connectors that name it up front,
:class:`connectors.base.NamesMessages`, also when the send failed).

With ``concurrency`` > 1 the sends of a claimed batch run on that many threads, so the file
connector's fsyncs and network round trips overlap. A foreign exception escaping a connector is
a connector bug: it is recorded as a retryable failure, never crashes the worker. Sends are
idempotent per key, so a worker killed mid-batch is harmless: the sends it made but did not
record are repeated once its claims are free again, and each repeat returns the first receipt
without delivering again. SIGTERM/SIGINT stop the loop after the sends in flight; claimed
deliveries not yet started are released.

After a crash (kill -9): claims are free again at once when the worker restarts under the same
``worker_id``, or when any worker finds their holder provably gone — the default worker id
names the process (:mod:`gateway.delivery.worker_identity`), so a worker on the same machine sees
that
its pid is dead or reused and takes the claims over (one log line per dead worker, a
``claim_taken_over`` event per delivery) — at start, whenever the queue looks empty, and every
``takeover_check`` seconds while idle. Otherwise the claims wait out their lease. ``until_empty``
never stops while other workers hold claims: with ``if_claimed="wait"`` (the default) it says
who holds how many until when, and waits until they are recorded, released or expired; with
``"exit"`` it stops at once and counts them in ``WorkerStats.still_claimed`` (``igw run``
exits with :data:`EXIT_NOT_EMPTY`).
"""

from __future__ import annotations

import argparse
import dataclasses
import datetime as dt
import logging
import random
import signal
import threading
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass, fields
from pathlib import Path
from types import FrameType
from typing import Any, Literal

from sqlalchemy.exc import DBAPIError

from connectors.base import Connector, NamesMessages, Receipt, transmission_key, utc_now
from gateway.delivery.errors import DeliveryError
from gateway.delivery.worker_identity import default_worker_id, gone
from gateway.document import Document
from gateway.errors import GatewayError
from gateway.limits import channel_accepts, oversize_message
from gateway.logs import log_context
from gateway.profiles.load import ProfileSet, build_connector, load_profiles
from gateway.profiles.profile import BuyerProfile, ChannelSpec
from gateway.store import AddedDelivery, Attempt, ClaimedDelivery, DeliveryState, Store
from gateway.store.records import ClaimHolder
from gateway.tenants import DEFAULT_TENANT

log = logging.getLogger(__name__)

Clock = Callable[[], dt.datetime]
ConnectorFactory = Callable[[ChannelSpec], Connector]

DEFAULT_BATCH = 50
DEFAULT_LEASE_SECONDS = 300.0
#: how often the worker closes consolidation batches that are due (seconds; 0: every round)
DEFAULT_BATCH_CHECK_SECONDS = 5.0
#: sends in flight at once in ``igw run`` (threads): the file connector's fsyncs and network
#: round trips overlap instead of queueing behind each other
DEFAULT_CONCURRENCY = 8
#: how often an idle long-running worker looks for claims of dead workers to take over (s)
DEFAULT_TAKEOVER_CHECK_SECONDS = 30.0
#: exit status of ``igw run --until-empty --if-claimed exit`` when other workers hold claims
EXIT_NOT_EMPTY = 3
IfClaimed = Literal["wait", "exit"]


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
    taken_over: int = 0
    still_claimed: int = 0
    batches_closed: int = 0
    elapsed: float = 0.0

    def as_dict(self) -> dict[str, float]:
        """Every counter by name (for the CLI's summary line or JSON output)."""
        return {f.name: getattr(self, f.name) for f in fields(self)}

    def __str__(self) -> str:
        """``28 delivered, 2 retrying, 0 failed in 4.2 s`` (other counters when not zero)."""
        parts = [f"{self.delivered} delivered"]
        if self.sent:
            parts.append(f"{self.sent} sent (awaiting transport proof)")
        parts += [f"{self.retried} retrying", f"{self.failed} failed"]
        extras = (
            (self.fallbacks, "queued on a fallback channel"),
            (self.connector_bugs, "connector bug(s)"),
            (self.claims_lost, "claim(s) lost to another worker"),
            (self.released, "claim(s) released"),
            (self.taken_over, "claim(s) taken over from dead workers"),
            (self.still_claimed, "still claimed by other workers"),
            (self.batches_closed, "consolidation batch(es) closed"),
        )
        parts += [f"{count} {what}" for count, what in extras if count]
        return f"{', '.join(parts)} in {self.elapsed:.1f} s"


def channel_names(profile: BuyerProfile) -> list[str]:
    """The delivery ``channel`` name of each entry of ``profile.channels()``, in order.

    The connector alias (what ``gateway.delivery.submit`` stores for the primary channel); an alias
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
    :func:`gateway.profiles.load.build_connector`); each spec is built once and reused.
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
        batch_check: float = DEFAULT_BATCH_CHECK_SECONDS,
        concurrency: int = 1,
        if_claimed: IfClaimed = "wait",
        takeover_check: float = DEFAULT_TAKEOVER_CHECK_SECONDS,
    ) -> None:
        self.store = store
        self.if_claimed = if_claimed
        self.takeover_check = takeover_check
        self._takeover_checked = -float("inf")
        self._reported: tuple[tuple[str, int], ...] = ()
        self.concurrency = max(1, concurrency)
        self._pool: ThreadPoolExecutor | None = None
        self._lock = threading.Lock()
        self.profiles = profiles
        self.clock = clock
        self.worker_id = worker_id or default_worker_id()
        self.random = random
        self.batch_size = batch_size
        self.lease_seconds = lease_seconds
        self.stats = WorkerStats()
        self._factory = connectors or _default_factory(clock)
        self._connectors: dict[int, Connector] = {}
        self._specs: list[ChannelSpec] = []
        self._names: dict[str, list[str]] = {}
        self._stopping = threading.Event()
        self.batch_check = batch_check
        self._batches_checked = -float("inf")

    # -- the loop -------------------------------------------------------------------------

    def run_once(self, limit: int | None = None, stop: threading.Event | None = None) -> int:
        """Claim one batch (at most ``limit``, default ``batch_size``) and process it.

        Returns how many deliveries were claimed. The outcomes of the whole batch are recorded
        in one store transaction after the sends (a crash in between repeats those sends: the
        connectors are idempotent per key, so nothing is delivered twice). When ``stop`` is set
        between two sends, the rest of the batch is released unprocessed (the current send
        always finishes). Members of a consolidation batch are one send.
        """
        self._close_due_batches()
        now = self.clock()
        claimed = self.store.claim_due(
            self.worker_id, now, limit or self.batch_size, self.lease_seconds
        )
        self.stats.claimed += len(claimed)
        if not claimed:
            return 0
        units = _units(claimed)
        documents = self._documents(claimed)

        def send(unit: list[ClaimedDelivery]) -> list[_Outcome] | None:
            if stop is not None and stop.is_set():
                return None  # not started: released below
            return self._send(unit, documents)

        if self.concurrency > 1 and len(units) > 1:
            results = list(self._executor().map(send, units))
        else:
            results = [send(unit) for unit in units]
        self._record(
            [o for result in results if result is not None for o in result],
            {d.id: d for d in claimed},
        )
        rest = [d.id for unit, r in zip(units, results, strict=True) if r is None for d in unit]
        if rest:
            self.stats.released += self.store.release(rest, self.worker_id, now=self.clock())
        return len(claimed)

    def _executor(self) -> ThreadPoolExecutor:
        """The threads sends run on when ``concurrency`` > 1 (fsync and network waits overlap)."""
        if self._pool is None:
            self._pool = ThreadPoolExecutor(self.concurrency, thread_name_prefix="igw-send")
        return self._pool

    def close(self) -> None:
        """Stop the send threads (if any were started)."""
        if self._pool is not None:
            self._pool.shutdown(wait=True)
            self._pool = None

    def run(
        self,
        stop: threading.Event,
        *,
        until_empty: bool = False,
        poll_interval: float = 1.0,
    ) -> WorkerStats:
        """Process batches until ``stop`` is set (or, with ``until_empty``, nothing is due).

        Claims this ``worker_id`` still holds from an earlier life (a restart after a crash)
        are released first, then those of provably dead workers (:meth:`take_over_gone`).
        ``until_empty`` stops only when nothing is due AND no other worker holds a claim (see
        ``if_claimed``). A database outage is waited out (``poll_interval``), not fatal.
        """
        started = time.monotonic()
        self.stats.released += self.store.release(None, self.worker_id, now=self.clock())
        self.take_over_gone()
        while not stop.is_set():
            try:
                if self.run_once(stop=stop):
                    continue
                if until_empty:
                    if self.take_over_gone():
                        continue
                    if not self._claims_pending() or self.stats.still_claimed:
                        break
                elif self._takeover_due() and self.take_over_gone():
                    continue
            except DBAPIError as exc:
                log.warning(
                    "igw worker %s: store unavailable: %s",
                    self.worker_id,
                    exc,
                    extra={"worker": self.worker_id, "tenant": self.store.tenant},
                )
            stop.wait(poll_interval)
        self.stats.elapsed = time.monotonic() - started
        self.close()
        return self.stats

    def take_over_gone(self) -> int:
        """Free the claims of every worker that is provably gone (same machine, its pid dead
        or reused: :func:`gateway.delivery.worker_identity.gone`); one log line per worker. Claims
        of
        live workers, of other machines and of ids that name no process are left alone.
        Returns how many claims were freed."""
        self._takeover_checked = time.monotonic()
        now = self.clock()
        freed = 0
        for holder in self.store.claim_holders(now):
            if holder.worker_id == self.worker_id:
                continue
            reason = gone(holder.worker_id)
            if reason is None:
                continue
            count = self.store.take_over(holder.worker_id, self.worker_id, now=now, reason=reason)
            if count:
                log.warning(
                    "igw worker %s: took over %d claim(s) of worker %s (%s; lease was until %s)",
                    self.worker_id,
                    count,
                    holder.worker_id,
                    reason,
                    holder.until.isoformat(timespec="seconds"),
                    extra={"worker": self.worker_id, "tenant": self.store.tenant},
                )
            freed += count
        self.stats.taken_over += freed
        return freed

    def _takeover_due(self) -> bool:
        return time.monotonic() - self._takeover_checked >= self.takeover_check

    def _claims_pending(self) -> bool:
        """With nothing due: do other workers still hold claims (the queue is not empty)?

        Says so once per change of who holds how many; with ``if_claimed="exit"`` counts them
        in ``stats.still_claimed`` (the caller stops)."""
        holders = [
            h for h in self.store.claim_holders(self.clock()) if h.worker_id != self.worker_id
        ]
        if not holders:
            return False
        seen = tuple((h.worker_id, h.count) for h in holders)
        if self.if_claimed == "exit":
            self.stats.still_claimed = sum(h.count for h in holders)
        if seen != self._reported or self.if_claimed == "exit":
            self._reported = seen
            then = (
                "stopping (--if-claimed exit)"
                if self.if_claimed == "exit"
                else "waiting until they are recorded, released or expire"
            )
            log.warning(
                "igw worker %s: not empty: %s; %s",
                self.worker_id,
                "; ".join(_describe_holder(h) for h in holders),
                then,
                extra={"worker": self.worker_id, "tenant": self.store.tenant},
            )
        return True

    def _close_due_batches(self) -> None:
        """Close the consolidation batches that are due (at most once a ``batch_check``)."""
        tick = time.monotonic()
        if tick - self._batches_checked < self.batch_check:
            return
        self._batches_checked = tick
        from gateway.delivery.consolidation import close_due  # consolidation imports the store only

        for closed in close_due(self.store, self.profiles, self.clock()):
            self.stats.batches_closed += closed.closed

    def _documents(self, claimed: Sequence[ClaimedDelivery]) -> dict[tuple[str, int], Document]:
        """Every document the claimed deliveries send, in two reads: ("doc", id) / ("batch", id)."""
        numbers = {d.document_id: d.invoice_number for d in claimed if d.batch_id is None}
        stored = self.store.documents([i for i in numbers if i is not None])
        found: dict[tuple[str, int], Document] = {
            ("doc", i): Document(
                s.content, s.syntax, s.format, numbers[i], s.media_type, s.extension
            )
            for i, s in stored.items()
        }
        batch_ids = [d.batch_id for d in claimed if d.batch_id is not None]
        for batch_id, document in self.store.batch_documents(batch_ids).items():
            found[("batch", batch_id)] = document
        return found

    def _record(
        self, outcomes: Sequence[_Outcome], about: Mapping[int, ClaimedDelivery] | None = None
    ) -> None:
        """Record the outcomes in one transaction; count what was recorded; one log line per
        delivery (``about``: the claimed deliveries by id, for the invoice and buyer)."""
        if not outcomes:
            return
        lost = self.store.record_attempts(
            [o.attempt for o in outcomes], self.worker_id, now=self.clock()
        )
        self.stats.claims_lost += len(lost)
        for outcome in outcomes:
            if outcome.attempt.delivery_id in lost:
                continue
            setattr(self.stats, outcome.counter, getattr(self.stats, outcome.counter) + 1)
            self.stats.fallbacks += outcome.attempt.then_add is not None
            delivery = (about or {}).get(outcome.attempt.delivery_id)
            _log_outcome(outcome, delivery, self.worker_id, self.store.tenant)

    # -- one delivery (or one consolidation batch) -------------------------------------------

    def process(self, delivery: ClaimedDelivery) -> None:
        """Send one claimed delivery and record the outcome (never raises for send failures).

        A claim lost meanwhile (lease expired, another worker took over) is counted and left to
        the new holder.
        """
        self._record(self._send([delivery], self._documents([delivery])), {delivery.id: delivery})

    def _send(
        self, unit: Sequence[ClaimedDelivery], documents: dict[tuple[str, int], Document]
    ) -> list[_Outcome]:
        """Send one unit (a delivery, or the members of one batch: ONE send for all of them);
        every log line of the send (the connector's too) carries the tenant, invoice and
        delivery (the lead's, for a batch)."""
        lead = unit[0]
        with log_context(
            tenant=self.store.tenant,
            invoice=lead.invoice_number,
            delivery=lead.id,
            batch=lead.batch_id,
        ):
            return self._send_unit(unit, documents)

    def _send_unit(
        self, unit: Sequence[ClaimedDelivery], documents: dict[tuple[str, int], Document]
    ) -> list[_Outcome]:
        lead = unit[0]
        attempt = lead.attempt + 1
        try:
            profile, position, spec = self._channel(lead)
        except (_Unsendable, GatewayError) as exc:
            return self._fail(unit, None, attempt, f"cannot send: {exc}", b"")
        try:  # the channel is known: a channel that cannot be used falls back to the next one
            connector = self._connector(spec)
            document = self._document(lead, documents)
        except (_Unsendable, GatewayError) as exc:
            return self._fail(unit, (profile, position), attempt, f"cannot send: {exc}", b"")
        if len(document.content) > spec.size_limit:  # refused unsent; the fallback may carry it
            what = (
                f"batch {lead.batch_id}"
                if lead.batch_id is not None
                else f"invoice {lead.invoice_number or document.invoice_number}"
            )
            text = oversize_message(
                what,
                len(document.content),
                spec.size_limit,
                lead.channel,
                explicit=spec.max_size is not None,
            )
            accepted = channel_accepts(lead.channel, spec.size_limit)
            return self._fail(
                unit, (profile, position), attempt, f"not sent: {text}; accepted: {accepted}", b""
            )
        key = lead.idempotency_key
        if lead.batch_id is not None:
            key = f"{lead.buyer}/batch{lead.batch_id}/{lead.channel}"
        key = transmission_key(key, lead.transmission)
        remote_id = _remote_id(connector, key)
        try:
            receipt = connector.send(document, delivery_id=str(lead.id), idempotency_key=key)
        except DeliveryError as exc:
            outcomes = self._failed_attempt(unit, profile, position, attempt, exc)
            return _in_transmission(outcomes, lead.transmission, remote_id, exc.ends_transmission)
        except Exception as exc:  # a connector bug: recorded, retried, never fatal
            with self._lock:
                self.stats.connector_bugs += 1
            outcomes = self._retry_or_fail(
                unit,
                profile,
                position,
                attempt,
                text=f"connector {spec.connector!r} raised {exc!r} (a connector bug: "
                "connectors must raise DeliveryError)",
                evidence=b"",
                retry_after=None,
            )
            return _in_transmission(outcomes, lead.transmission, remote_id, False)
        outcomes = self._succeeded(unit, profile, attempt, receipt)
        return _in_transmission(outcomes, lead.transmission, remote_id, False)

    def _channel(self, delivery: ClaimedDelivery) -> tuple[BuyerProfile, int, ChannelSpec]:
        try:
            profile = self.profiles[delivery.buyer]
        except KeyError as exc:
            raise _Unsendable(
                f"{exc.args[0]}; accepted: a profile file named after the buyer"
            ) from exc
        names = self._names.get(profile.name)
        if names is None:
            names = channel_names(profile)
            self._names[profile.name] = names
        if delivery.channel not in names:
            raise _Unsendable(
                f"buyer profile {profile.name!r} has no channel {delivery.channel!r}; "
                f"accepted: {', '.join(names) or 'none configured'}"
            )
        position = names.index(delivery.channel)
        return profile, position, profile.channels()[position]

    def _connector(self, spec: ChannelSpec) -> Connector:
        key = id(spec)
        connector = self._connectors.get(key)
        if connector is None:
            with self._lock:  # send threads: one connector per spec
                connector = self._connectors.get(key)
                if connector is None:
                    connector = self._factory(spec)
                    self._connectors[key] = connector
                    self._specs.append(spec)  # keeps id(spec) from being reused while cached
        return connector

    def _document(
        self, delivery: ClaimedDelivery, documents: dict[tuple[str, int], Document]
    ) -> Document:
        if delivery.batch_id is not None:
            found = documents.get(("batch", delivery.batch_id))
            if found is None:
                raise _Unsendable(f"batch {delivery.batch_id} has no document (not closed)")
            return found
        if delivery.document_id is None:
            raise _Unsendable(f"delivery {delivery.id} has no document to send")
        found = documents.get(("doc", delivery.document_id))
        if found is None:
            raise _Unsendable(f"document {delivery.document_id}: not in the store")
        return found

    def _succeeded(
        self,
        unit: Sequence[ClaimedDelivery],
        profile: BuyerProfile,
        attempt: int,
        receipt: Receipt,
    ) -> list[_Outcome]:
        now = self.clock()
        state = DeliveryState.DELIVERED if receipt.transport_proof else DeliveryState.SENT
        extra = f"; {receipt.detail}" if receipt.detail else ""
        proof = (
            f"{receipt.connector} confirmed receipt of {receipt.message_id}{extra}"
            if receipt.transport_proof
            else None
        )
        shared = _shared(unit)
        detail = (
            f"attempt {attempt}: sent via {receipt.channel} as {receipt.message_id}{shared}"
            + ("" if receipt.transport_proof else f" (awaiting transport proof){extra}")
        )
        deadline = next_proof_deadline(profile, state, now)
        counter = "delivered" if state is DeliveryState.DELIVERED else "sent"
        return [
            _Outcome(
                Attempt(
                    d.id,
                    DeliveryState.SENT,
                    detail=detail,
                    evidence=receipt.evidence or None,
                    next_attempt_at=deadline,
                    transport_proof=proof,
                    message_id=receipt.message_id[:300] or None,
                ),
                counter,
            )
            for d in unit
        ]

    def _failed_attempt(
        self,
        unit: Sequence[ClaimedDelivery],
        profile: BuyerProfile,
        position: int,
        attempt: int,
        error: DeliveryError,
    ) -> list[_Outcome]:
        text = f"{type(error).__name__}: {error}"
        if not error.retryable:
            return self._fail(
                unit, (profile, position), attempt, f"attempt {attempt}: {text}", error.evidence
            )
        # RateLimited carries the remote's Retry-After; any other error class may too
        wait = getattr(error, "retry_after", None)
        return self._retry_or_fail(
            unit,
            profile,
            position,
            attempt,
            text=text,
            evidence=error.evidence,
            retry_after=wait,
        )

    def _retry_or_fail(
        self,
        unit: Sequence[ClaimedDelivery],
        profile: BuyerProfile,
        position: int,
        attempt: int,
        *,
        text: str,
        evidence: bytes,
        retry_after: float | None,
    ) -> list[_Outcome]:
        allowed = profile.retry.attempts
        if attempt >= allowed:
            return self._fail(
                unit,
                (profile, position),
                attempt,
                f"attempt {attempt} of {allowed}: {text}; no attempts left",
                evidence,
            )
        now = self.clock()
        delay = profile.retry.delay(attempt, self.random())
        if retry_after is not None:
            delay = max(delay, dt.timedelta(seconds=retry_after))
        at = now + delay
        detail = (
            f"attempt {attempt} of {allowed}: {text}{_shared(unit)}; next attempt at "
            f"{at.isoformat(timespec='seconds')} (in {delay.total_seconds():.0f}s)"
        )
        return [
            _Outcome(
                Attempt(
                    d.id,
                    DeliveryState.QUEUED,
                    level="warning",
                    detail=detail,
                    evidence=evidence or None,
                    next_attempt_at=at,
                ),
                "retried",
            )
            for d in unit
        ]

    def _fail(
        self,
        unit: Sequence[ClaimedDelivery],
        chain: tuple[BuyerProfile, int] | None,
        attempt: int,
        text: str,
        evidence: bytes,
    ) -> list[_Outcome]:
        now = self.clock()
        lead = unit[0]
        next_channel: str | None = None
        if chain is not None:
            profile, position = chain
            names = channel_names(profile)
            if position + 1 < len(names):
                next_channel = names[position + 1]
        switch = f"; falling back to {next_channel}" if next_channel else "; no fallback channel"
        return [
            _Outcome(
                Attempt(
                    d.id,
                    DeliveryState.FAILED,
                    level="error",
                    detail=f"{text}{_shared(unit)}{switch}",
                    evidence=evidence or None,
                    then_add=None
                    if next_channel is None
                    else AddedDelivery(
                        buyer=d.buyer,
                        channel=next_channel,
                        next_attempt_at=now,
                        document_id=d.document_id,
                        batch_of=lead.batch_id,
                    ),
                ),
                "failed",
            )
            for d in unit
        ]


@dataclass(frozen=True)
class _Outcome:
    """One attempt to record and the stats counter it adds to once recorded."""

    attempt: Attempt
    counter: str


#: how each outcome reads in the per-delivery log line
_SAID = {"delivered": "DELIVERED", "sent": "SENT", "retried": "retrying", "failed": "FAILED"}


def _log_outcome(
    outcome: _Outcome, delivery: ClaimedDelivery | None, worker_id: str, tenant: str
) -> None:
    """``delivery 7 (INV-1 -> acme via as2): DELIVERED: attempt 1: sent via ...`` at INFO
    (a failure at WARNING), with the ids as structured fields for ``--log-format json``."""
    attempt = outcome.attempt
    said = _SAID.get(outcome.counter, outcome.counter)
    about = (
        f" ({delivery.invoice_number} -> {delivery.buyer} via {delivery.channel})"
        if delivery is not None
        else ""
    )
    log.log(
        logging.WARNING if outcome.counter == "failed" else logging.INFO,
        "delivery %d%s: %s: %s",
        attempt.delivery_id,
        about,
        said,
        attempt.detail,
        extra={
            "tenant": tenant,
            "delivery": attempt.delivery_id,
            "invoice": delivery.invoice_number if delivery is not None else None,
            "batch": delivery.batch_id if delivery is not None else None,
            "buyer": delivery.buyer if delivery is not None else None,
            "channel": delivery.channel if delivery is not None else None,
            "outcome": outcome.counter,
            "attempt": delivery.attempt + 1 if delivery is not None else None,
            "message_id": attempt.message_id,
            "next_attempt_at": attempt.next_attempt_at,
            "worker": worker_id,
        },
    )


def _remote_id(connector: Connector, key: str) -> str | None:
    """The remote id a send under ``key`` will carry, when the connector can name it up front
    (AS2: the Message-ID), so failed sends are listed with it too."""
    if not isinstance(connector, NamesMessages):
        return None
    try:
        return connector.message_id(key)[:300] or None
    except Exception:  # naming is a courtesy for the timeline; the send decides
        return None


def _in_transmission(
    outcomes: list[_Outcome], transmission: int, remote_id: str | None, ends: bool
) -> list[_Outcome]:
    """The outcomes of one send, marked with the transmission they belong to and its remote
    id; ``ends``: the remote refused this transmission for good (an error MDN, a refusal), so
    the next send of these deliveries is a new transmission with a new id."""
    named = f" <{remote_id}>" if remote_id else ""
    note = (
        f"; transmission {transmission}{named} refused: a re-send is transmission "
        f"{transmission + 1} with a new message id"
        if ends
        else f"; transmission {transmission}{named}"
        if transmission > 1
        else ""
    )
    return [
        _Outcome(
            dataclasses.replace(
                o.attempt,
                detail=o.attempt.detail + note,
                transmission=transmission,
                message_id=o.attempt.message_id or remote_id,
                ends_transmission=ends,
            ),
            o.counter,
        )
        for o in outcomes
    ]


def _describe_holder(holder: ClaimHolder) -> str:
    """``350 deliveries are claimed by worker W until T (alive or not provably gone)``."""
    return (
        f"{holder.count} deliveries are claimed by worker {holder.worker_id} until "
        f"{holder.until.isoformat(timespec='seconds')} (running, or not provably gone: another "
        "machine or an id that names no process)"
    )


def _units(claimed: Sequence[ClaimedDelivery]) -> list[list[ClaimedDelivery]]:
    """Claimed deliveries grouped into sends: one per delivery, one per consolidation batch."""
    units: list[list[ClaimedDelivery]] = []
    batches: dict[int, list[ClaimedDelivery]] = {}
    for delivery in claimed:
        if delivery.batch_id is None:
            units.append([delivery])
        elif delivery.batch_id in batches:
            batches[delivery.batch_id].append(delivery)
        else:
            batches[delivery.batch_id] = [delivery]
            units.append(batches[delivery.batch_id])
    return units


def _shared(unit: Sequence[ClaimedDelivery]) -> str:
    """How a consolidated send is described on each member's timeline."""
    lead = unit[0]
    if lead.batch_id is None:
        return ""
    return f" (batch {lead.batch_id}: one document, sent once for its {len(unit)} due member(s))"


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
    concurrency: int = DEFAULT_CONCURRENCY,
    if_claimed: IfClaimed = "wait",
    tenant: str = DEFAULT_TENANT,
    **worker_options: Any,
) -> WorkerStats:
    """Run a worker on the store at ``store_url`` (migrated first) with the buyer profiles of
    ``profiles_folder`` until SIGTERM/SIGINT (or, with ``until_empty``, until nothing is due).

    ``if_claimed``: what ``until_empty`` does while other live workers hold claims (see
    :class:`Worker`). Unless ``until_empty`` or ``sweeps=False``, the apscheduler sweeps run
    in the same process (:class:`gateway.delivery.sweeps.Sweeper`); they are safe with several
    workers
    doing the same.

    ``tenant``: the tenant whose deliveries this worker sends (``profiles_folder`` holds its
    buyer profiles; :func:`gateway.delivery.tenants.run_tenant_workers` runs one per tenant).

    Raises :class:`~gateway.errors.ConfigError` for unreadable profiles. Returns the counts.
    """
    profiles = load_profiles(profiles_folder)
    store = Store.open(store_url, tenant=tenant)
    stop = stop or threading.Event()
    try:
        store.migrate()
        worker = Worker(
            store,
            profiles,
            worker_id=worker_id,
            batch_size=batch_size,
            lease_seconds=lease_seconds,
            concurrency=concurrency,
            if_claimed=if_claimed,
            **worker_options,
        )
        # The sweeps (overdue proof, expired claims, polling) run beside a long-running worker;
        # a drain run (until_empty) has no proof deadlines worth waiting for.
        from gateway.delivery.sweeps import Sweeper, polling_connectors  # sweeps import this module

        sweeper = (
            None
            if until_empty or not sweeps
            else Sweeper(store, profiles, connectors=polling_connectors(profiles.profiles))
        )
        if sweeper is not None:
            sweeper.start()
        from gateway.webhooks.dispatch import start_dispatcher  # webhooks: beside the sweeps

        webhooks = None if sweeper is None else start_dispatcher(store.engine, poll_interval)
        try:
            with stop_on_signals(stop):
                return worker.run(stop, until_empty=until_empty, poll_interval=poll_interval)
        finally:
            if webhooks is not None:
                webhooks.stop()
            if sweeper is not None:
                sweeper.shutdown()
    finally:
        store.close()


def main(argv: Sequence[str] | None = None) -> int:
    """``python -m gateway.delivery.worker --store URL --profiles DIR [--until-empty]`` (tests,
    ops)."""
    parser = argparse.ArgumentParser(prog="python -m gateway.delivery.worker")
    parser.add_argument("--store", default=None)
    parser.add_argument("--profiles", default="config/buyers")
    parser.add_argument("--worker-id", default=None)
    parser.add_argument("--until-empty", action="store_true")
    parser.add_argument("--batch", type=int, default=DEFAULT_BATCH)
    parser.add_argument("--lease", type=float, default=DEFAULT_LEASE_SECONDS)
    parser.add_argument("--concurrency", type=int, default=DEFAULT_CONCURRENCY)
    parser.add_argument("--poll-interval", type=float, default=1.0)
    parser.add_argument("--if-claimed", choices=("wait", "exit"), default="wait")
    args = parser.parse_args(argv)
    stats = run_worker(
        args.store,
        args.profiles,
        until_empty=args.until_empty,
        worker_id=args.worker_id,
        batch_size=args.batch,
        lease_seconds=args.lease,
        concurrency=args.concurrency,
        poll_interval=args.poll_interval,
        if_claimed=args.if_claimed,
    )
    print(" ".join(f"{k}={v:g}" for k, v in stats.as_dict().items()))
    return EXIT_NOT_EMPTY if stats.still_claimed else 0


if __name__ == "__main__":
    raise SystemExit(main())
