"""Submit: ERP records -> route -> render + validate -> the store's outbox, in chunks.

Each accepted record becomes ONE stored invoice and ONE queued delivery on the routed profile's
primary channel (the fallback chain is left to the worker). Records are taken
:data:`CHUNK` at a time: one read finds the numbers already stored, control numbers are
allocated per profile in one call, and the chunk's invoices, documents, deliveries and events
go into the store in ONE transaction (``Store.accept_many``).

* ``per-invoice`` profiles: the invoice's own document is stored and its delivery is due now.
  EDIFACT and cXML documents get their interchange reference from the store's per-partner
  counter ``(profile name, "interchange")``; the references are kept on the delivery for ack
  matching.
* consolidating profiles (``per-interchange`` / ``per-day``, see
:mod:`gateway.delivery.consolidation`):
  the invoice is checked and rendered on its own (so a bad invoice is rejected now, not when
  its batch closes) but that document is not stored; the delivery is held in the profile's
  OPEN batch. At the end of the run every ``per-interchange`` batch it filled is closed (one
  document for the batch), and any batch that reached ``batch_limit`` is closed at once.

Re-submitting an invoice number the store already holds for the same seller is detected before
anything is rendered (no control number is spent): identical content is reported ``duplicate``,
different content ``refused`` naming both hashes. Nothing is silently duplicated.

Master data (:mod:`gateway.masterdata`): the seller's file (``sellers``) fills absent seller
terms BEFORE routing and before the seller key is taken (it may supply the VAT id); the routed
profile's ``[defaults]`` fill absent buyer terms AFTER routing; the business rules run on the
filled invoice. Conflicts (the source gives another value; it is kept) are warnings on the
outcome; the filled terms and the conflicts are ``filled`` / ``conflict`` events written with
the ``accepted`` event.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field, replace
from typing import Literal

from gateway.delivery.consolidation import (
    PER_INTERCHANGE_GRACE,
    ClosedBatch,
    close_batches,
    consolidates,
    hold_for,
)
from gateway.delivery.routing import route
from gateway.envelope import Envelope
from gateway.errors import ConfigError, GatewayError, InvoiceRejected, Problem
from gateway.intake.results import RecordResult
from gateway.masterdata.apply import apply_buyer, fill_from_sellers
from gateway.masterdata.events import provenance_events
from gateway.masterdata.load import NO_SELLERS
from gateway.masterdata.sellers import SellerSet
from gateway.model import Invoice
from gateway.ops.counters import count_submitted
from gateway.profiles.load import ProfileSet, resolve_options
from gateway.profiles.profile import BuyerProfile
from gateway.registry import resolve_mapping
from gateway.store import (
    BATCH_OPEN,
    AcceptItem,
    AcceptResult,
    DuplicateInvoice,
    NewDelivery,
    Store,
)
from gateway.translation.pipeline import translate_one
from mappings.base import Mapping

#: syntaxes whose documents carry an interchange control reference allocated by the store
ENVELOPED_SYNTAXES = frozenset({"edifact", "cxml"})

SubmitStatus = Literal["stored", "duplicate", "refused", "rejected"]
#: records per store transaction
CHUNK = 200


@dataclass(frozen=True)
class SubmitOutcome:
    """What became of one record: stored, duplicate (identical, nothing queued), refused (same
    number, different content) or rejected (problems; nothing stored)."""

    record: str
    status: SubmitStatus
    invoice_number: str | None = None
    seller_key: str | None = None
    buyer: str | None = None
    format: str | None = None
    channel: str | None = None
    delivery_ids: tuple[int, ...] = ()
    content_hash: str | None = None
    message: str = ""
    problems: tuple[Problem, ...] = field(default=())
    batch_id: int | None = None
    invoice_id: int | None = None  # the stored invoice's id (stored and duplicate outcomes)

    def as_dict(self) -> dict[str, object]:
        """A JSON-ready view (``igw submit --json``)."""
        return {
            "record": self.record,
            "status": self.status,
            "invoice": self.invoice_number,
            "seller": self.seller_key,
            "buyer": self.buyer,
            "format": self.format,
            "channel": self.channel,
            "deliveries": list(self.delivery_ids),
            "sha256": self.content_hash,
            "message": self.message,
            "problems": [p.as_dict() for p in self.problems],
            "batch": self.batch_id,
        }


@dataclass(frozen=True)
class SubmitReport:
    """Every record's outcome, in input order; the consolidation batches the run closed."""

    outcomes: tuple[SubmitOutcome, ...]
    batches: tuple[ClosedBatch, ...] = ()

    def count(self, status: SubmitStatus) -> int:
        """How many records ended with ``status``."""
        return sum(1 for o in self.outcomes if o.status == status)

    @property
    def ok(self) -> bool:
        """True when nothing was rejected or refused (duplicates are fine: idempotent)."""
        return not any(o.status in ("rejected", "refused") for o in self.outcomes)

    def summary(self) -> str:
        """One line: counts per status (and the consolidation batches closed)."""
        closed = [b for b in self.batches if b.closed]
        batches = (
            f"; {len(closed)} batch(es) closed into one document each "
            f"({sum(b.members for b in closed)} invoices)"
            if closed
            else ""
        )
        return (
            f"{self.count('stored')} stored, {self.count('duplicate')} duplicate (already "
            f"stored, nothing queued), {self.count('refused')} refused, "
            f"{self.count('rejected')} rejected{batches}"
        )


def seller_key(invoice: Invoice) -> str:
    """The key an invoice number is unique under: the seller's VAT id (BT-31), else its legal
    registration id (BT-30), else its name (BT-27)."""
    seller = invoice.seller
    if seller.vat_id:
        return seller.vat_id.replace(" ", "").upper()
    if seller.legal_registration is not None:
        return seller.legal_registration.value.strip()
    return seller.name.strip()


def submit(
    records: Iterable[RecordResult],
    store: Store,
    profiles: ProfileSet,
    *,
    now: dt.datetime,
    run_validation: bool = True,
    chunk: int = CHUNK,
    sellers: SellerSet = NO_SELLERS,
) -> SubmitReport:
    """Store every good record with its rendered document and one queued (or held) delivery.

    A bad record (intake problems, routing failure, rule or validation findings, missing
    profile option or secret) is reported with its problems and never stops the batch.
    The delivery goes to the profile's primary channel (``channel`` = its connector alias,
    ``buyer`` = the profile name), due at ``now``. See the module docstring for duplicates and
    consolidation. ``sellers`` is the seller master data (none by default); see the module
    docstring for where it and the profile's defaults apply.
    """
    run = _Run(store, profiles, now=now, run_validation=run_validation, sellers=sellers)
    outcomes: list[SubmitOutcome] = []
    pending: list[RecordResult] = []
    for result in records:
        pending.append(result)
        if len(pending) >= chunk:
            outcomes.extend(run.chunk(pending))
            pending = []
    if pending:
        outcomes.extend(run.chunk(pending))
    closed = run.finish()
    count_submitted(store.tenant, outcomes)  # /metrics: igw_submit_rejected_total
    return SubmitReport(tuple(_with_batches(outcomes, closed)), tuple(closed))


@dataclass
class _Prepared:
    """One record on its way into the store."""

    record: RecordResult
    invoice: Invoice
    key: str
    profile: BuyerProfile | None = None
    syntax: str = ""
    outcome: SubmitOutcome | None = None  # set when the record is settled before the store
    item: AcceptItem | None = None
    problems: tuple[Problem, ...] = ()
    filled: tuple[Problem, ...] = ()  # master-data conflicts (warnings)


class _Run:
    """One submit call: caches per profile (mapping, resolved options) and the batches held."""

    def __init__(
        self,
        store: Store,
        profiles: ProfileSet,
        *,
        now: dt.datetime,
        run_validation: bool,
        sellers: SellerSet = NO_SELLERS,
    ) -> None:
        self.store = store
        self.profiles = profiles
        self.sellers = sellers
        self.now = now
        self.run_validation = run_validation
        self.resolved: dict[str, tuple[Mapping, BuyerProfile] | GatewayError] = {}
        self.held_buyers: set[str] = set()
        self.closed: list[ClosedBatch] = []

    def chunk(self, results: Sequence[RecordResult]) -> list[SubmitOutcome]:
        """Settle a chunk of records: route, render, then one store transaction."""
        prepared: list[_Prepared] = []
        outcomes: dict[int, SubmitOutcome] = {}
        for position, result in enumerate(results):
            invoice = result.invoice
            if invoice is None or not result.accepted:
                outcomes[position] = SubmitOutcome(
                    result.record, "rejected", message="not read", problems=result.problems
                )
                continue
            invoice, filled = fill_from_sellers(invoice, self.sellers, record=result.record)
            if any(p.flag == "fatal" for p in filled):
                outcomes[position] = SubmitOutcome(
                    result.record,
                    "rejected",
                    invoice.number,
                    seller_key(invoice),
                    problems=result.problems + filled,
                )
                continue
            prepared.append(_Prepared(result, invoice, seller_key(invoice), filled=filled))
        stored = self.store.existing_invoices([(p.key, p.invoice.number) for p in prepared])
        seen: set[tuple[str, str]] = set()
        fresh: list[_Prepared] = []
        for entry in prepared:
            pair = (entry.key, entry.invoice.number)
            if pair in stored or pair in seen:
                # a re-submission: answered by the store without rendering anything (the
                # profile's defaults still apply, so identical input gives identical content)
                self._buyer_defaults(entry)
                entry.item = AcceptItem(entry.invoice, None, entry.key, (), ())
            else:
                seen.add(pair)
                self._route(entry)
                if entry.outcome is None:
                    fresh.append(entry)
        self._render(fresh)
        to_store = [e for e in prepared if e.outcome is None and e.item is not None]
        results_ = self.store.accept_many([e.item for e in to_store if e.item], now=self.now)
        for entry, accepted in zip(to_store, results_, strict=True):
            entry.outcome = self._outcome(entry, accepted)
        self._note_batches([e for e in to_store if e.item and e.item.deliveries])
        self._close_full()
        settled = iter(e.outcome for e in prepared)
        return [
            outcomes[position] if position in outcomes else _settled(next(settled))
            for position in range(len(results))
        ]

    def _route(self, entry: _Prepared) -> None:
        record, number, key = entry.record.record, entry.invoice.number, entry.key
        try:
            profile = route(entry.invoice, self.profiles)
        except InvoiceRejected as exc:
            entry.outcome = SubmitOutcome(
                record, "rejected", number, key, problems=tuple(exc.problems)
            )
            return
        except ConfigError as exc:
            entry.outcome = _rejected(record, number, key, "ROUTING", str(exc))
            return
        entry.profile = profile
        if not self._apply_defaults(entry, profile):
            return
        if profile.channel is None:
            entry.outcome = _rejected(
                record,
                number,
                key,
                "CONFIG",
                f"buyer profile {profile.name!r} has no [channel]; accepted: a [channel] table "
                "with connector = ... in its file",
                buyer=profile.name,
            )
            return
        resolved = self._resolved(profile)
        if isinstance(resolved, GatewayError):
            entry.outcome = _rejected(
                record, number, key, "CONFIG", str(resolved), buyer=profile.name
            )
            return
        entry.syntax = resolved[0].syntax

    def _buyer_defaults(self, entry: _Prepared) -> None:
        """Apply the defaults of the profile the invoice routes to, if it routes at all."""
        try:
            profile = route(entry.invoice, self.profiles)
        except (InvoiceRejected, ConfigError):
            return
        self._apply_defaults(entry, profile)

    def _apply_defaults(self, entry: _Prepared, profile: BuyerProfile) -> bool:
        """Fill absent buyer terms from ``profile.defaults``; False (rejected) when they do not
        fit the invoice."""
        source = str(self.profiles.sources.get(profile.name, f"buyer profile {profile.name}"))
        invoice, found = apply_buyer(
            entry.invoice, profile, source=source, record=entry.record.record
        )
        entry.invoice, entry.filled = invoice, entry.filled + found
        if any(p.flag == "fatal" for p in found):
            entry.outcome = SubmitOutcome(
                entry.record.record,
                "rejected",
                invoice.number,
                entry.key,
                profile.name,
                problems=entry.record.problems + entry.filled,
            )
            return False
        return True

    def _resolved(self, profile: BuyerProfile) -> tuple[Mapping, BuyerProfile] | GatewayError:
        """The profile's mapping and its options with secrets resolved, once per run."""
        cached = self.resolved.get(profile.name)
        if cached is None:
            try:
                cached = (resolve_mapping(profile.format), resolve_options(profile))
            except GatewayError as exc:
                cached = exc
            self.resolved[profile.name] = cached
        return cached

    def _render(self, fresh: Sequence[_Prepared]) -> None:
        """Render every routed record; control numbers for each profile in one allocation."""
        numbers = self._allocate(fresh)
        for entry in fresh:
            profile = entry.profile
            assert profile is not None and profile.channel is not None
            resolved = self._resolved(profile)
            assert not isinstance(resolved, GatewayError)
            mapping, options = resolved
            hold = hold_for(profile, entry.invoice, mapping.syntax, self.now)
            envelope = None
            if mapping.syntax in ENVELOPED_SYNTAXES:
                # a held invoice is rendered for its checks only, under a provisional reference
                reference = "0" if hold is not None else str(numbers[profile.name].pop(0))
                envelope = Envelope(interchange_ref=reference, prepared_at=self.now)
            outcome = translate_one(
                entry.invoice,
                mapping,
                options,
                record=entry.record.record,
                envelope=envelope,
                run_validation=self.run_validation,
            )
            entry.problems = entry.record.problems + entry.filled + outcome.problems
            if not outcome.ok or outcome.document is None:
                entry.outcome = SubmitOutcome(
                    entry.record.record,
                    "rejected",
                    entry.invoice.number,
                    entry.key,
                    profile.name,
                    profile.format,
                    problems=entry.problems,
                )
                continue
            delivery = NewDelivery(
                buyer=profile.name,
                channel=profile.channel.connector,
                next_attempt_at=self.now,
                document_index=None if hold is not None else 0,
                hold=hold,
                **({} if hold is not None else _references(mapping.syntax, envelope)),
            )
            if hold is not None:
                self.held_buyers.add(profile.name)
            documents = () if hold is not None else (outcome.document,)
            entry.item = AcceptItem(
                entry.invoice,
                None,
                entry.key,
                documents,
                (delivery,),
                provenance_events(entry.invoice, entry.filled),
            )

    def _allocate(self, fresh: Sequence[_Prepared]) -> dict[str, list[int]]:
        wanted: dict[str, int] = {}
        for entry in fresh:
            profile = entry.profile
            if profile is None or entry.syntax not in ENVELOPED_SYNTAXES or consolidates(profile):
                continue
            wanted[profile.name] = wanted.get(profile.name, 0) + 1
        return {
            name: self.store.allocate(name, "interchange", count) for name, count in wanted.items()
        }

    def _outcome(
        self, entry: _Prepared, accepted: AcceptResult | DuplicateInvoice
    ) -> SubmitOutcome:
        record, number, key = entry.record.record, entry.invoice.number, entry.key
        if isinstance(accepted, DuplicateInvoice):
            return SubmitOutcome(
                record,
                "refused",
                number,
                key,
                entry.profile.name if entry.profile else None,
                entry.profile.format if entry.profile else None,
                content_hash=accepted.new_hash,
                message=str(accepted),
            )
        if accepted.duplicate:
            return SubmitOutcome(
                record,
                "duplicate",
                number,
                key,
                delivery_ids=accepted.delivery_ids,
                content_hash=accepted.content_hash,
                message="identical invoice already stored; nothing queued",
                invoice_id=accepted.invoice_id,
            )
        profile = entry.profile
        assert profile is not None and profile.channel is not None
        return SubmitOutcome(
            record,
            "stored",
            number,
            key,
            profile.name,
            profile.format,
            profile.channel.connector,
            delivery_ids=accepted.delivery_ids,
            content_hash=accepted.content_hash,
            problems=entry.problems,
            invoice_id=accepted.invoice_id,
        )

    def _note_batches(self, entries: Sequence[_Prepared]) -> None:
        """Put the batch id on the outcome of each stored, held delivery (one read)."""
        held = {
            e.outcome.delivery_ids[0]: e
            for e in entries
            if e.outcome is not None
            and e.outcome.status == "stored"
            and e.item is not None
            and e.item.deliveries[0].hold is not None
        }
        if not held:
            return
        for row in self.store.deliveries(ids=list(held)):
            entry = held[row.id]
            assert entry.outcome is not None
            entry.outcome = replace(entry.outcome, batch_id=row.batch_id)

    def _close_full(self) -> None:
        """Close the batches of this run that reached their limit."""
        for buyer in sorted(self.held_buyers):
            full = [
                b.id
                for b in self.store.batches(state=BATCH_OPEN, buyer=buyer)
                if b.size >= b.capacity
            ]
            self.closed.extend(close_batches(self.store, self.profiles, full, self.now))

    def finish(self) -> list[ClosedBatch]:
        """Close every per-interchange batch this run filled; every batch closed in the run."""
        mine = self.now + PER_INTERCHANGE_GRACE
        for buyer in sorted(self.held_buyers):
            batches = self.store.batches(state=BATCH_OPEN, buyer=buyer)
            ours = [
                b.id for b in batches if b.consolidation == "per-interchange" and b.due_at == mine
            ]
            self.closed.extend(close_batches(self.store, self.profiles, ours, self.now))
        return self.closed


def _settled(outcome: SubmitOutcome | None) -> SubmitOutcome:
    assert outcome is not None
    return outcome


def _with_batches(
    outcomes: Sequence[SubmitOutcome], closed: Sequence[ClosedBatch]
) -> list[SubmitOutcome]:
    """Say on each stored, held outcome which batch holds it and whether it closed."""
    by_id = {c.batch_id: c for c in closed if c.closed}
    noted: list[SubmitOutcome] = []
    for outcome in outcomes:
        if outcome.batch_id is None:
            noted.append(outcome)
            continue
        batch = by_id.get(outcome.batch_id)
        message = (
            f"held in batch {outcome.batch_id}, which stays open until it is due"
            if batch is None
            else f"batch {batch.batch_id} closed: interchange {batch.interchange_ref} with "
            f"{batch.members} invoice(s), sent once for all"
        )
        noted.append(replace(outcome, message=message))
    return noted


def _rejected(
    record: str, number: str, key: str, rule: str, message: str, *, buyer: str | None = None
) -> SubmitOutcome:
    problem = Problem(record, "", None, None, rule, message)
    return SubmitOutcome(record, "rejected", number, key, buyer, problems=(problem,))


def _references(syntax: str, envelope: Envelope | None) -> dict[str, str | None]:
    """The control references a per-invoice document carries, kept on its delivery for ack
    matching (EDIFACT: UNB 0020 + UNH 0062 of the one message; cXML: the payloadID)."""
    if envelope is None:
        return {}
    if syntax == "edifact":
        return {
            "interchange_ref": envelope.interchange_ref,
            "message_ref": envelope.message_ref(0),
        }
    return {
        "interchange_ref": envelope.interchange_ref,
        "message_id": envelope.payload_id or envelope.interchange_ref,
    }
