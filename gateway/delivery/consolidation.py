"""Consolidation: several invoices of one buyer sent as ONE document (an EDIFACT interchange).

A profile with ``consolidation = "per-interchange"`` or ``"per-day"`` gets its invoices accepted
with their deliveries *held* in an OPEN batch (``Store.accept`` with a :class:`BatchHold`):
QUEUED, but without a next-attempt time, so no worker claims them. Members share one envelope
(same sender and recipient ids: :func:`envelope_key`). A batch closes

* ``per-interchange``: at the end of the submit run that filled it (``gateway.delivery.submit``), or
  after :data:`PER_INTERCHANGE_GRACE` when that run died before closing it;
* ``per-day``: at the profile's ``cut_off`` (UTC), by the sweep or the worker;
* either: as soon as it holds ``batch_limit`` invoices.

Closing (:func:`close_batch`) renders the members into ONE document with the mapping's
``render_interchange`` (a fresh interchange control number from the store's per-partner counter,
UNH references ``1..n``), and stores it with every member made due in one compare-and-set
transaction (``Store.close_batch``). A crash before that commit leaves the batch OPEN with every
member held (closed again later: nothing lost); a concurrent closer or a member joining
meanwhile makes the commit refuse, and the batch is rendered again or left to the winner
(nothing sent twice). The worker then sends the batch document ONCE for all its members
(``gateway.delivery.worker``); each member keeps its own timeline.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import logging
import sys
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import Any, Protocol

from gateway.document import Document
from gateway.envelope import Envelope
from gateway.errors import ConfigError, GatewayError
from gateway.model import Invoice
from gateway.partner_ids import derived_options
from gateway.profiles.profile import BuyerProfile
from gateway.registry import resolve_mapping
from gateway.store import BATCH_OPEN, BatchHold, Store

log = logging.getLogger(__name__)

#: a per-interchange batch whose submit run died unclosed is closed by the sweep after this
PER_INTERCHANGE_GRACE = dt.timedelta(minutes=15)
#: how often a close is retried when members keep joining meanwhile
CLOSE_ATTEMPTS = 5

InterchangeRenderer = Callable[[Sequence[Invoice], BuyerProfile, Envelope | None], Document]


class ProfileLookup(Protocol):
    """Profiles by name (``ProfileSet`` or a dict)."""

    def __getitem__(self, name: str) -> BuyerProfile: ...


def interchange_renderer(mapping: Any) -> InterchangeRenderer | None:
    """The mapping's ``render_interchange(invoices, profile, envelope)``: a method of the
    mapping, or a function of the module that defines it; None when the format carries one
    invoice per document."""
    method = getattr(mapping, "render_interchange", None)
    if callable(method):
        renderer: InterchangeRenderer = method
        return renderer
    module = sys.modules.get(type(mapping).__module__)
    function = getattr(module, "render_interchange", None)
    return function if callable(function) else None


def consolidates(profile: BuyerProfile) -> bool:
    """True when the profile batches its invoices."""
    return profile.consolidation != "per-invoice"


def next_cut_off(profile: BuyerProfile, now: dt.datetime) -> dt.datetime:
    """The first cut-off (``profile.cut_off``, UTC) after ``now``."""
    today = dt.datetime.combine(now.astimezone(dt.UTC).date(), profile.cut_off, tzinfo=dt.UTC)
    return today if today > now else today + dt.timedelta(days=1)


def envelope_options(profile: BuyerProfile, invoice: Invoice, syntax: str) -> dict[str, str]:
    """The options the document's envelope is rendered with: ids derived from the invoice's
    parties, overridden by the profile's own options."""
    return {**derived_options(invoice, syntax), **profile.options}


def envelope_key(profile: BuyerProfile, invoice: Invoice, syntax: str) -> str:
    """Invoices with the same key can share one envelope (same sender and recipient ids)."""
    options = envelope_options(profile, invoice, syntax)
    text = json.dumps(options, sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(text.encode()).hexdigest()


def hold_for(
    profile: BuyerProfile, invoice: Invoice, syntax: str, now: dt.datetime
) -> BatchHold | None:
    """How a delivery of ``invoice`` on ``profile`` is held (None: per-invoice, sent at once)."""
    if profile.consolidation == "per-invoice":
        return None
    due = (
        next_cut_off(profile, now)
        if profile.consolidation == "per-day"
        else now + PER_INTERCHANGE_GRACE
    )
    return BatchHold(
        profile.consolidation, profile.batch_limit, due, envelope_key(profile, invoice, syntax)
    )


@dataclass(frozen=True)
class ClosedBatch:
    """What closing one batch did: ``closed`` with its interchange reference and member count,
    or not (``detail`` says why: already closed by another, nothing held, render failed)."""

    batch_id: int
    buyer: str
    closed: bool
    interchange_ref: str | None = None
    members: int = 0
    detail: str = ""


def close_batch(
    store: Store, profiles: ProfileLookup, batch_id: int, now: dt.datetime
) -> ClosedBatch:
    """Render OPEN batch ``batch_id`` into one document and close it (see the module docstring).

    Never raises for the batch's own trouble (unknown profile, a format without
    ``render_interchange``, a render error): the batch stays OPEN and the answer says why.
    """
    found = store.batches(ids=[batch_id])
    if not found:
        return ClosedBatch(batch_id, "?", False, detail=f"batch {batch_id}: no such batch")
    batch = found[0]
    for _ in range(CLOSE_ATTEMPTS):
        if batch.state != BATCH_OPEN:
            return ClosedBatch(batch_id, batch.buyer, False, detail="already closed")
        members = store.batch_members(batch_id)
        if not members:
            return ClosedBatch(batch_id, batch.buyer, False, detail="no member held")
        invoices = [Invoice.model_validate_json(m.canonical) for m in members]
        try:
            document, envelope = _render(store, profiles, batch.buyer, invoices, now)
        except (GatewayError, KeyError) as exc:
            log.error(
                "batch %s of %s cannot be closed: %s",
                batch_id,
                batch.buyer,
                exc,
                extra={"tenant": store.tenant, "batch": batch_id, "buyer": batch.buyer},
            )
            return ClosedBatch(batch_id, batch.buyer, False, detail=f"cannot render: {exc}")
        refs = tuple(envelope.message_ref(i) for i in range(len(members)))
        if store.close_batch(
            batch_id,
            [m.delivery_id for m in members],
            document,
            interchange_ref=envelope.interchange_ref,
            message_refs=refs,
            now=now,
        ):
            return ClosedBatch(batch_id, batch.buyer, True, envelope.interchange_ref, len(members))
        batch = store.batches(ids=[batch_id])[0]
    return ClosedBatch(
        batch_id, batch.buyer, False, detail=f"members kept changing ({CLOSE_ATTEMPTS} tries)"
    )


def _render(
    store: Store,
    profiles: ProfileLookup,
    buyer: str,
    invoices: Sequence[Invoice],
    now: dt.datetime,
) -> tuple[Document, Envelope]:
    from gateway.profiles.load import resolve_options  # profiles imports this module

    profile = profiles[buyer]
    mapping = resolve_mapping(profile.format)
    renderer = interchange_renderer(mapping)
    if renderer is None:
        raise ConfigError(
            f"buyer profile {profile.name!r}: format {profile.format!r} carries one invoice "
            "per document; accepted: consolidation = 'per-invoice'"
        )
    (number,) = store.allocate(profile.name, "interchange")
    refs = tuple(str(i) for i in range(1, len(invoices) + 1))
    envelope = Envelope(interchange_ref=str(number), prepared_at=now, message_refs=refs)
    options = envelope_options(profile, invoices[0], mapping.syntax)
    resolved = resolve_options(profile.model_copy(update={"options": options}))
    return renderer(invoices, resolved, envelope), envelope


def close_batches(
    store: Store, profiles: ProfileLookup, batch_ids: Iterable[int], now: dt.datetime
) -> list[ClosedBatch]:
    """Close each of these batches (those still OPEN)."""
    return [close_batch(store, profiles, batch_id, now) for batch_id in batch_ids]


def close_due(store: Store, profiles: ProfileLookup, now: dt.datetime) -> list[ClosedBatch]:
    """Close every OPEN batch whose ``due_at`` has come (per-day cut-off, or a per-interchange
    batch whose submit run died): the consolidation sweep, also run by the worker."""
    due = store.batches(state=BATCH_OPEN, due_at=now)
    return close_batches(store, profiles, [b.id for b in due], now)
