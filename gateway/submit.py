"""Submit: ERP records -> route -> render + validate -> the store's outbox, one record at a time.

Each accepted record becomes ONE stored invoice with ONE document (rendered in the routed
profile's format) and ONE queued delivery on the profile's primary channel; the fallback chain
is left to the worker. Consolidation (``per-interchange`` / ``per-day``) is NOT done here yet:
every invoice is its own document, also for EDIFACT profiles that ask for batching.

Re-submitting an invoice number the store already holds for the same seller is detected before
anything is rendered (no control number is spent): identical content is reported ``duplicate``,
different content ``refused`` naming both hashes. Nothing is silently duplicated.

EDIFACT and cXML documents get their interchange reference from the store's per-partner counter
``(profile name, "interchange")``; the references are then kept on the delivery
(``Store.set_references``) for ack matching — in a second transaction right after ``accept``.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Literal

from gateway.envelope import Envelope
from gateway.errors import ConfigError, GatewayError, InvoiceRejected, Problem
from gateway.intake.results import RecordResult
from gateway.model import Invoice
from gateway.pipeline import translate_one
from gateway.profile import BuyerProfile
from gateway.profiles import ProfileSet, resolve_options
from gateway.registry import resolve_mapping
from gateway.routing import route
from gateway.store import DuplicateInvoice, NewDelivery, Store

#: syntaxes whose documents carry an interchange control reference allocated by the store
ENVELOPED_SYNTAXES = frozenset({"edifact", "cxml"})

SubmitStatus = Literal["stored", "duplicate", "refused", "rejected"]


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
        }


@dataclass(frozen=True)
class SubmitReport:
    """Every record's outcome, in input order."""

    outcomes: tuple[SubmitOutcome, ...]

    def count(self, status: SubmitStatus) -> int:
        """How many records ended with ``status``."""
        return sum(1 for o in self.outcomes if o.status == status)

    @property
    def ok(self) -> bool:
        """True when nothing was rejected or refused (duplicates are fine: idempotent)."""
        return not any(o.status in ("rejected", "refused") for o in self.outcomes)

    def summary(self) -> str:
        """One line: counts per status."""
        return (
            f"{self.count('stored')} stored, {self.count('duplicate')} duplicate (already "
            f"stored, nothing queued), {self.count('refused')} refused, "
            f"{self.count('rejected')} rejected"
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
) -> SubmitReport:
    """Store every good record with its rendered document and one queued delivery.

    A bad record (intake problems, routing failure, rule or validation findings, missing
    profile option or secret) is reported with its problems and never stops the batch.
    The delivery goes to the profile's primary channel (``channel`` = its connector alias,
    ``buyer`` = the profile name), due at ``now``. See the module docstring for duplicates.
    """
    outcomes = [
        _submit_one(result, store, profiles, now=now, run_validation=run_validation)
        for result in records
    ]
    return SubmitReport(tuple(outcomes))


def _submit_one(
    result: RecordResult,
    store: Store,
    profiles: ProfileSet,
    *,
    now: dt.datetime,
    run_validation: bool,
) -> SubmitOutcome:
    invoice = result.invoice
    if invoice is None or not result.accepted:
        return SubmitOutcome(
            result.record, "rejected", message="not read", problems=result.problems
        )
    key = seller_key(invoice)
    number = invoice.number
    if store.timeline(invoice.number, key):
        return _resubmit(result.record, invoice, store, key, now)
    try:
        profile = route(invoice, profiles)
    except InvoiceRejected as exc:
        return SubmitOutcome(result.record, "rejected", number, key, problems=tuple(exc.problems))
    except ConfigError as exc:
        return _rejected(result.record, number, key, "ROUTING", str(exc))
    if profile.channel is None:
        return _rejected(
            result.record,
            number,
            key,
            "CONFIG",
            f"buyer profile {profile.name!r} has no [channel]; accepted: a [channel] table "
            "with connector = ... in its file",
            buyer=profile.name,
        )
    try:
        mapping = resolve_mapping(profile.format)
        resolved = resolve_options(profile)
    except GatewayError as exc:
        return _rejected(result.record, number, key, "CONFIG", str(exc), buyer=profile.name)
    envelope = _envelope(store, profile, mapping.syntax, now)
    outcome = translate_one(
        invoice,
        mapping,
        resolved,
        record=result.record,
        envelope=envelope,
        run_validation=run_validation,
    )
    problems = result.problems + outcome.problems
    buyer, fmt = profile.name, profile.format
    if not outcome.ok or outcome.document is None:
        return SubmitOutcome(result.record, "rejected", number, key, buyer, fmt, problems=problems)
    channel = profile.channel.connector
    delivery = NewDelivery(buyer=profile.name, channel=channel, next_attempt_at=now)
    try:
        accepted = store.accept(
            invoice,
            None,
            key,
            documents=[outcome.document],
            deliveries=[delivery],
            now=now,
        )
    except DuplicateInvoice as exc:
        return SubmitOutcome(
            result.record,
            "refused",
            number,
            key,
            buyer,
            fmt,
            content_hash=exc.new_hash,
            message=str(exc),
        )
    if envelope is not None and not accepted.duplicate:
        _record_references(store, accepted.delivery_ids[0], mapping.syntax, envelope)
    status: SubmitStatus = "duplicate" if accepted.duplicate else "stored"
    return SubmitOutcome(
        result.record,
        status,
        number,
        key,
        buyer,
        fmt,
        channel,
        delivery_ids=accepted.delivery_ids,
        content_hash=accepted.content_hash,
        message=_stored_note(profile)
        if status == "stored"
        else "identical invoice already stored; nothing queued",
        problems=problems,
    )


def _stored_note(profile: BuyerProfile) -> str:
    """Say so when the profile asks for consolidation this release does not do yet."""
    if profile.consolidation == "per-invoice":
        return ""
    return (
        f"profile {profile.name!r} asks for consolidation {profile.consolidation!r}; "
        "not done yet: stored as one document per invoice"
    )


def _resubmit(
    record: str, invoice: Invoice, store: Store, key: str, now: dt.datetime
) -> SubmitOutcome:
    """The number is already stored for this seller: identical -> duplicate, else refused."""
    try:
        accepted = store.accept(invoice, None, key, documents=[], deliveries=[], now=now)
    except DuplicateInvoice as exc:
        return SubmitOutcome(
            record,
            "refused",
            invoice.number,
            key,
            content_hash=exc.new_hash,
            message=str(exc),
        )
    if not accepted.duplicate:  # the earlier invoice's events exist but it did not: impossible
        raise RuntimeError(f"{invoice.number}: store accepted a number its timeline already had")
    return SubmitOutcome(
        record,
        "duplicate",
        invoice.number,
        key,
        delivery_ids=accepted.delivery_ids,
        content_hash=accepted.content_hash,
        message="identical invoice already stored; nothing queued",
    )


def _rejected(
    record: str, number: str, key: str, rule: str, message: str, *, buyer: str | None = None
) -> SubmitOutcome:
    problem = Problem(record, "", None, None, rule, message)
    return SubmitOutcome(record, "rejected", number, key, buyer, problems=(problem,))


def _record_references(store: Store, delivery_id: int, syntax: str, envelope: Envelope) -> None:
    """Keep the control references the document carries on its delivery, for ack matching
    (EDIFACT: UNB 0020 + UNH 0062 of the one message; cXML: the payloadID)."""
    if syntax == "edifact":
        store.set_references(
            delivery_id,
            interchange_ref=envelope.interchange_ref,
            message_ref=envelope.message_ref(0),
        )
    else:
        store.set_references(
            delivery_id,
            interchange_ref=envelope.interchange_ref,
            message_id=envelope.payload_id or envelope.interchange_ref,
        )


def _envelope(
    store: Store, profile: BuyerProfile, syntax: str, now: dt.datetime
) -> Envelope | None:
    """Control reference from the store's per-partner counter where the syntax needs one."""
    if syntax not in ENVELOPED_SYNTAXES:
        return None
    (number,) = store.allocate(profile.name, "interchange")
    return Envelope(interchange_ref=str(number), prepared_at=now)
