"""Sweeps: overdue proof, expired claims, inbound polling, consolidation batches due - pure
functions of ``(store, ..., now)``.

Tests drive them with a controllable clock; :class:`Sweeper` runs them on apscheduler intervals
with the real clock (inside ``igw run``). Several workers may sweep at once: every state change is
a compare-and-set under the delivery's row lock (``FOR UPDATE`` on PostgreSQL, ``BEGIN
IMMEDIATE`` on SQLite), so a sweep that loses the race skips the delivery and reports it.

Reading of ``proof.on_overdue`` (the escalation ladder is remind -> resend -> fallback; the
profile names the strongest step the sweep takes on its own):

- ``remind``: every overdue sweep appends a ``reminder`` event and sets the next deadline one
  proof window later. Nothing is sent.
- ``resend``: the first time a SENT delivery's proof is overdue it goes back to QUEUED with the
  SAME idempotency key (the connector deduplicates, so the buyer never gets two documents);
  overdue again, or DELIVERED (transport proof held; DELIVERED -> QUEUED is not in the state
  table), it is reminded.
- ``fallback``: resend once as above (SENT only); overdue again (or DELIVERED) the delivery
  becomes FAILED and a new delivery on the next channel of the profile's chain is queued in the
  same transaction. With no channel left it is reminded (level ``error``).

The proof awaited is the first expected level (transport, syntax, business) not yet recorded on
the delivery; when none is left the deadline is cleared with a ``proof_complete`` event.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import logging
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Literal, Protocol

from connectors.base import Inbound, Polling, utc_now
from gateway.ack import Ack, AckLevel, AckReference, AckStatus
from gateway.delivery.acks_in import AckRouter, Correlation, receive
from gateway.delivery.consolidation import ClosedBatch, close_due
from gateway.delivery.worker import channel_names
from gateway.errors import GatewayError, ParseError
from gateway.logs import log_context
from gateway.profiles.profile import BuyerProfile
from gateway.store import (
    AddedDelivery,
    DeliveryRow,
    DeliveryState,
    IllegalTransition,
    Store,
    StoreError,
)
from gateway.store.inbound import finish_inbound, record_inbound

log = logging.getLogger(__name__)

Action = Literal["reminder", "resend", "fallback", "proof_complete", "lost_race", "no_profile"]


class ProfileLookup(Protocol):
    """Profiles by name (``ProfileSet`` or a dict): the delivery's ``buyer`` names its profile."""

    def __getitem__(self, name: str) -> BuyerProfile: ...


@dataclass(frozen=True)
class SweepAction:
    """What one sweep did to one delivery (``new_delivery_id``: the fallback delivery)."""

    delivery_id: int
    invoice_number: str
    action: Action
    detail: str
    new_delivery_id: int | None = None


@dataclass(frozen=True)
class SweepReport:
    """Every action of one overdue sweep, in the order taken."""

    actions: tuple[SweepAction, ...] = field(default=())

    def of(self, action: Action) -> list[SweepAction]:
        """The actions of one kind."""
        return [a for a in self.actions if a.action == action]


# -- overdue proof ---------------------------------------------------------------------------


def awaited_proof(profile: BuyerProfile, row: DeliveryRow) -> tuple[str, dt.timedelta] | None:
    """The first expected proof level not yet on ``row`` and its window; None when complete.

    Transport proof counts as held once the delivery is DELIVERED (or any ack arrived).
    """
    held = {
        "transport": row.state is not DeliveryState.SENT or row.transport_ack is not None,
        "syntax": row.syntax_ack is not None,
        "business": row.business_ack is not None,
    }
    for level, window in profile.proof.expected().items():
        if not held[level]:
            return level, window
    return None


def sweep_overdue(
    store: Store, profiles: ProfileLookup, now: dt.datetime, limit: int | None = 500
) -> SweepReport:
    """Act on every delivery whose proof deadline passed at ``now`` (see the module docstring).

    Returns what was done; deliveries another sweep changed meanwhile are ``lost_race`` and
    untouched. Never raises for one delivery's trouble (an unknown profile is ``no_profile``).
    """
    actions: list[SweepAction] = []
    for row in store.deliveries(overdue_at=now, limit=limit):
        try:
            profile = profiles[row.buyer]
        except KeyError as exc:
            actions.append(SweepAction(row.id, row.invoice_number, "no_profile", str(exc)))
            continue
        with log_context(tenant=store.tenant, invoice=row.invoice_number, delivery=row.id):
            action = _overdue_one(store, profile, row, now)
        actions.append(action)
        if action.action != "lost_race":
            log.info(
                "delivery %d (%s -> %s via %s): overdue check: %s: %s",
                row.id,
                row.invoice_number,
                row.buyer,
                row.channel,
                action.action,
                action.detail,
                extra={
                    "tenant": store.tenant,
                    "invoice": row.invoice_number,
                    "delivery": row.id,
                    "buyer": row.buyer,
                    "channel": row.channel,
                    "outcome": action.action,
                    "new_delivery": action.new_delivery_id,
                },
            )
    return SweepReport(tuple(actions))


def _overdue_one(
    store: Store, profile: BuyerProfile, row: DeliveryRow, now: dt.datetime
) -> SweepAction:
    awaited = awaited_proof(profile, row)
    if awaited is None:
        return _cas(
            store,
            row,
            now,
            kind="proof_complete",
            detail="every expected proof held",
            new_state=None,
            deadline=None,
        )
    level, window = awaited
    late = f"no {level} proof by {row.next_attempt_at:%Y-%m-%d %H:%M}Z"
    resent = _resends(store, row) > 0
    policy = profile.proof.on_overdue
    if policy in ("resend", "fallback") and row.state is DeliveryState.SENT and not resent:
        return _cas(
            store,
            row,
            now,
            kind="resend",
            detail=f"{late}; re-sending with the same idempotency key {row.idempotency_key}",
            new_state=DeliveryState.QUEUED,
            deadline=now,
        )
    if policy == "fallback":
        following = _next_channel(profile, row.channel)
        if following is not None:
            return _fallback(store, row, now, late, following)
        detail = f"{late}; no fallback channel left after {row.channel} - needs a person"
        return _cas(
            store,
            row,
            now,
            kind="reminder",
            detail=detail,
            new_state=None,
            deadline=now + window,
            level="error",
        )
    return _cas(
        store,
        row,
        now,
        kind="reminder",
        detail=f"{late}; reminder",
        new_state=None,
        deadline=now + window,
    )


def _resends(store: Store, row: DeliveryRow) -> int:
    timeline = store.timeline(row.invoice_number, row.seller_key)
    return sum(1 for e in timeline if e.delivery_id == row.id and e.kind == "resend")


def _next_channel(profile: BuyerProfile, current: str) -> str | None:
    """The channel name after ``current`` in the profile's chain (names as the worker gives
    them: :func:`gateway.delivery.worker.channel_names`); None at the end or for an unknown
    channel."""
    names = channel_names(profile)
    if current not in names:
        return None
    position = names.index(current)
    return names[position + 1] if position + 1 < len(names) else None


def _fallback(
    store: Store, row: DeliveryRow, now: dt.datetime, late: str, following: str
) -> SweepAction:
    if not _still(store, row):
        return SweepAction(row.id, row.invoice_number, "lost_race", "changed by another sweep")
    added = AddedDelivery(
        buyer=row.buyer,
        channel=following,
        next_attempt_at=now,
        document_id=row.document_id,
    )
    try:
        store.mark(
            row.id,
            DeliveryState.FAILED,
            now=now,
            kind="proof_overdue",
            level="warning",
            detail=f"{late}; falling back to {following}",
            then_add=added,
        )
    except (IllegalTransition, StoreError) as exc:
        return SweepAction(row.id, row.invoice_number, "lost_race", str(exc))
    new = store.find_delivery(document=row.invoice_number, partner=row.buyer)
    new_id = new.id if new is not None and new.id != row.id else None
    return SweepAction(
        row.id, row.invoice_number, "fallback", f"FAILED, queued on {following}", new_id
    )


def _still(store: Store, row: DeliveryRow) -> bool:
    """Whether the delivery is still as the sweep saw it (state and deadline)."""
    now_row = store.delivery(row.id)
    return now_row.state is row.state and now_row.next_attempt_at == row.next_attempt_at


def _cas(
    store: Store,
    row: DeliveryRow,
    now: dt.datetime,
    *,
    kind: Action,
    detail: str,
    new_state: DeliveryState | None,
    deadline: dt.datetime | None,
    level: str = "info",
) -> SweepAction:
    """Compare-and-set: when the row still has the state and deadline the sweep saw, move it
    (or keep the state) with ``deadline`` and append a ``kind`` event, in one transaction
    (:meth:`gateway.store.Store.move_if_unchanged`); without it two sweeps could both re-send
    one delivery.
    """
    moved = store.move_if_unchanged(
        row.id,
        seen_state=row.state,
        seen_next_attempt_at=row.next_attempt_at,
        new_state=new_state,
        next_attempt_at=deadline,
        now=now,
        kind=kind,
        detail=detail,
        level=level,
    )
    if not moved:
        return SweepAction(row.id, row.invoice_number, "lost_race", "changed by another sweep")
    return SweepAction(row.id, row.invoice_number, kind, detail)


# -- claims and polling ----------------------------------------------------------------------


def sweep_batches(store: Store, profiles: ProfileLookup, now: dt.datetime) -> list[ClosedBatch]:
    """Close every consolidation batch due at ``now`` (per-day cut-off, or a per-interchange
    batch whose submit run died): one document per batch, its members due at once. Safe with
    several sweepers: closing is a compare-and-set
    (:func:`gateway.delivery.consolidation.close_batch`).
    """
    return close_due(store, profiles, now)


def sweep_claims(store: Store, now: dt.datetime) -> int:
    """Release every claim expired at ``now`` (a worker died); returns how many."""
    return store.release_expired(now)


def sweep_poll(
    store: Store,
    connectors: Iterable[object],
    router: AckRouter,
    now: dt.datetime,
    profiles: Iterable[BuyerProfile] = (),
) -> list[Correlation]:
    """Poll every connector that implements ``poll()``; read each item as an ack and correlate
    it (:func:`gateway.delivery.acks_in.receive`), then ``confirm`` it to the connector.

    Exactly once: each item is first recorded in ``inbound_messages`` under (channel, name +
    content hash); an item already finished there (recorded earlier, the confirm was lost) is only
    confirmed again, never correlated twice. Nothing is dropped: an item no parser claims, or one
    that is malformed, is kept as an unmatched ack of kind ``unknown`` / ``unreadable``.
    """
    results: list[Correlation] = []
    for connector in connectors:
        if not isinstance(connector, Polling):
            continue
        for item in connector.poll():
            digest = hashlib.sha256(item.content).hexdigest()
            row, _ = record_inbound(
                store,
                channel=item.connector,
                partner=item.channel,
                message_id=f"{item.name}#{digest}",
                media_type="application/octet-stream",
                content=item.content,
                now=now,
                filename=item.name or None,
            )
            if not row.finished:
                result = _read_item(store, router, item, now, profiles)
                state = "RECORDED" if result.matched else "UNREADABLE"
                finish_inbound(store, row.id, state=state, detail=result.detail)
                results.append(result)
            connector.confirm(item)
    return results


def polling_connectors(profiles: Iterable[BuyerProfile]) -> list[object]:
    """One connector per distinct channel (main and fallback) of ``profiles`` that can poll
    (:class:`connectors.base.Polling`), for :func:`sweep_poll`; built from the profiles' options
    with their secret references resolved."""
    from gateway.profiles.load import build_connector

    found: dict[str, object] = {}
    for profile in profiles:
        for spec in profile.channels():
            connector = build_connector(spec)
            channel = str(getattr(connector, "channel", ""))
            if isinstance(connector, Polling) and channel not in found:
                found[channel] = connector
    return list(found.values())


def _read_item(
    store: Store,
    router: AckRouter,
    item: Inbound,
    now: dt.datetime,
    profiles: Iterable[BuyerProfile],
) -> Correlation:
    where = f"{item.channel} {item.name}".strip()
    try:
        ack = router.parse(item.content)
    except ParseError as exc:
        return _keep(store, item.content, "unreadable", f"{where}: {exc}", now)
    if ack is None:
        return _keep(store, item.content, "unknown", f"{where}: no ack parser recognised it", now)
    return receive(store, ack, now=now, profiles=profiles)


def _keep(store: Store, raw: bytes, kind: str, detail: str, now: dt.datetime) -> Correlation:
    placeholder = Ack(kind, AckLevel.TRANSPORT, AckStatus.RECEIVED, AckReference(), raw)
    kept = store.record_unmatched_ack(placeholder, now, detail)
    return Correlation(placeholder, (), kept, detail)


# -- scheduler -------------------------------------------------------------------------------


@dataclass(frozen=True)
class SweepIntervals:
    """Seconds between runs of each sweep."""

    overdue: float = 60.0
    claims: float = 60.0
    poll: float = 30.0
    batches: float = 30.0


class Sweeper:
    """Runs the sweeps on apscheduler intervals with the real clock (``igw run``).

    Each job runs at most once at a time in this process (``max_instances=1``, missed runs
    coalesced); across processes the compare-and-set above keeps them safe. A failing run is
    logged and the next one runs as planned.
    """

    def __init__(
        self,
        store: Store,
        profiles: ProfileLookup,
        *,
        connectors: Iterable[object] = (),
        router: AckRouter | None = None,
        intervals: SweepIntervals = SweepIntervals(),
        clock: Callable[[], dt.datetime] = utc_now,
        blocking: bool = False,
    ) -> None:
        from apscheduler.schedulers.background import (  # type: ignore[import-untyped]
            BackgroundScheduler,
        )
        from apscheduler.schedulers.blocking import (  # type: ignore[import-untyped]
            BlockingScheduler,
        )

        self.store = store
        self.profiles = profiles
        self.connectors = list(connectors)
        self.router = router or AckRouter()
        self.clock = clock
        self.scheduler = (BlockingScheduler if blocking else BackgroundScheduler)(timezone="UTC")
        jobs: list[tuple[str, Callable[[], object], float]] = [
            ("overdue", self.run_overdue, intervals.overdue),
            ("claims", self.run_claims, intervals.claims),
            ("poll", self.run_poll, intervals.poll),
            ("batches", self.run_batches, intervals.batches),
        ]
        for name, job, seconds in jobs:
            self.scheduler.add_job(
                _logged(name, job),
                "interval",
                seconds=seconds,
                id=name,
                max_instances=1,
                coalesce=True,
            )

    def run_overdue(self) -> SweepReport:
        """One overdue sweep now."""
        return sweep_overdue(self.store, self.profiles, self.clock())

    def run_claims(self) -> int:
        """One claims sweep now."""
        return sweep_claims(self.store, self.clock())

    def run_poll(self) -> list[Correlation]:
        """One polling sweep now."""
        known = self.profiles.values() if isinstance(self.profiles, Mapping) else self.profiles
        listed = list(known) if isinstance(known, Iterable) else []
        return sweep_poll(self.store, self.connectors, self.router, self.clock(), listed)

    def run_batches(self) -> list[ClosedBatch]:
        """One consolidation sweep now: close every batch whose cut-off has come."""
        return sweep_batches(self.store, self.profiles, self.clock())

    def start(self) -> None:
        """Start the jobs (returns at once; a blocking Sweeper runs until :meth:`shutdown`)."""
        self.scheduler.start()

    def shutdown(self, wait: bool = True) -> None:
        """Stop the jobs; ``wait`` lets a running sweep finish."""
        self.scheduler.shutdown(wait=wait)


def _logged(name: str, job: Callable[[], object]) -> Callable[[], None]:
    def run() -> None:
        try:
            job()
        except GatewayError as exc:  # a peer's or the configuration's fault: one line, no traceback
            log.error("sweep %s failed: %s", name, exc, extra={"sweep": name})
        except Exception:  # a sweep failure must not stop the scheduler; it is logged
            log.exception("sweep %s failed", name, extra={"sweep": name})

    return run
