"""Acks in: correlate every inbound :class:`~gateway.ack.Ack` to its delivery and record it.

Correlation tries the most specific reference first (see :func:`find_deliveries`); an ack that
matches nothing is kept with :meth:`Store.record_unmatched_ack` - never dropped - and listed by
``Store.list_unmatched_acks``. The state change an ack implies:

============  ======================  =============================================
level         status                  delivery
============  ======================  =============================================
transport     received / accepted     SENT -> DELIVERED (deadline: next proof level)
transport     rejected                recorded, state kept (the overdue sweep acts)
transport     rejected, ``final``     -> FAILED, the profile's next channel queued
syntax        received / accepted     SENT -> DELIVERED, else state kept; deadline next
syntax        rejected                -> REJECTED
business      accepted / rejected     -> ACCEPTED / REJECTED
business      received                SENT -> DELIVERED, else state kept
============  ======================  =============================================

``final`` (an e-mail bounce, :mod:`connectors.email.bounces`): the remote gave up after the
transport proof; the delivery fails exactly as after a permanent send error, with the ack as the
event's evidence and the fallback delivery added in the same transaction (none without the
buyer's profile or with no channel left).

"deadline next": the proof deadline becomes the next expected level's (business after syntax)
or none, per the buyer's profile; without the profile (``receive`` called without
``profiles``) the deadline already set is kept, so the overdue sweep still acts.

A move the state table refuses (e.g. an ACCEPTED delivery rejected later) is recorded as an ack
event without a state change; :func:`receive` never raises it to the caller.

A rejecting ack's event names what it says: each reason's code or disposition and its text
(an AS2 MDN: ``processed/error: <modifier>`` and the partner's explanation). ``receive(...,
ends_transmission=True)`` (an asynchronous error MDN) also ends the delivery's current
transmission: the partner will not take that message id again, so a re-send (the overdue
sweep's, or ``igw resend``) goes out as a new transmission with a new one.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from gateway.ack import Ack, AckLevel, AckParser, AckStatus, FirstAck
from gateway.logs import log_context
from gateway.profiles.profile import BuyerProfile
from gateway.store import AddedDelivery, DeliveryRow, DeliveryState, IllegalTransition, Store
from gateway.store.schema import deliveries

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Correlation:
    """What became of one ack: the deliveries it was recorded on (with their new rows), or the
    id it is kept under as unmatched."""

    ack: Ack
    deliveries: tuple[DeliveryRow, ...]
    unmatched_id: int | None
    detail: str

    @property
    def matched(self) -> bool:
        """Whether the ack was recorded on at least one delivery."""
        return bool(self.deliveries)


class AckRouter(FirstAck):
    """Tries ack parsers in turn: CONTRL, APERAK, cXML Response/Status, cXML StatusUpdate,
    buyer-portal JSON status items.

    ``parse`` returns the first parser's Ack, None when no parser claims the bytes, and lets a
    :class:`~gateway.errors.ParseError` through (the bytes are that parser's kind but malformed).
    """

    def __init__(self, parsers: Sequence[AckParser] | None = None) -> None:
        if parsers is None:
            # the DSN parser lives beside the e-mail connector that polls the bounce mailbox
            from connectors.email.bounces import DsnAck
            from mappings.cxml.acks import CxmlStatusAck, CxmlStatusUpdateAck
            from mappings.edifact.aperak import AperakParser
            from mappings.edifact.contrl import ContrlParser
            from mappings.portal_status import PortalStatusAck

            parsers = (
                ContrlParser(),
                AperakParser(),
                CxmlStatusAck(),
                CxmlStatusUpdateAck(),
                PortalStatusAck(),
                DsnAck(),
            )
        super().__init__(parsers)


def partner_of(ack: Ack, profiles: Iterable[BuyerProfile]) -> str | None:
    """The name of the profile whose GLN, Peppol id or VAT id is the ack's sender, if any."""
    if not ack.sender:
        return None
    sender = ack.sender.strip()
    for profile in profiles:
        ids = profile.ids
        if sender in ids.glns or sender.lower() in ids.peppol_ids or sender.upper() in ids.vat_ids:
            return profile.name
    return None


def find_deliveries(store: Store, ack: Ack, partner: str | None = None) -> list[DeliveryRow]:
    """The deliveries ``ack`` answers, most specific reference first; [] when none.

    1. interchange + message reference (a CONTRL answering one message),
    2. document id (invoice number BT-1) + message reference, then document id alone
       (APERAK RFF+IV, cXML InvoiceIDInfo), limited to ``partner`` when known,
    3. interchange reference alone: every in-flight delivery of that buyer carried in the same
       interchange (a consolidated EANCOM interchange holds several invoices),
    4. the reference as a message id / payloadID (cXML inReplyTo / DocumentReference),
    0. before all of these: the transport message id (an AS2 MDN's Original-Message-ID).
    """
    ref = ack.refers_to
    if ref.message_id:
        found = store.find_delivery(message_id=ref.message_id, partner=partner)
        if found is not None:
            return [found]
    if ref.interchange and ref.message:
        found = store.find_delivery(
            interchange_ref=ref.interchange, message_ref=ref.message, partner=partner
        )
        if found is not None:
            return [found]
    if ref.document:
        found = None
        if ref.message:
            found = store.find_delivery(
                document=ref.document, message_ref=ref.message, partner=partner
            )
        found = found or store.find_delivery(document=ref.document, partner=partner)
        if found is not None:
            return [found]
    if ref.interchange:
        found = store.find_delivery(interchange_ref=ref.interchange, partner=partner)
        if found is not None:
            return _same_interchange(store, found)
        found = store.find_delivery(message_id=ref.interchange, partner=partner)
        if found is not None:
            return [found]
    return []


def _same_interchange(store: Store, found: DeliveryRow) -> list[DeliveryRow]:
    siblings = [
        row
        for row in store.deliveries(buyer=found.buyer)
        if row.interchange_ref == found.interchange_ref and row.id != found.id
    ]
    return [found, *siblings]


def receive(
    store: Store,
    ack: Ack,
    *,
    now: dt.datetime,
    profiles: Iterable[BuyerProfile] = (),
    ends_transmission: bool = False,
) -> Correlation:
    """Correlate ``ack`` and record it on each delivery it answers, with the state change the
    module table gives; unmatched acks are kept. Never raises for a refused state change.

    ``profiles``: when given, an ack whose sender is a profile's GLN/Peppol id/VAT id is only
    matched to that buyer's deliveries (invoice numbers are unique per seller, not globally).
    ``ends_transmission``: the ack is a refusal the remote remembers (see the module docstring).
    """
    profiles = list(profiles)
    partner = partner_of(ack, profiles)
    rows = find_deliveries(store, ack, partner)
    if not rows:
        ref = ack.refers_to
        detail = (
            f"{ack.kind} {ack.level.value} {ack.status.value} from {ack.sender or '?'}: "
            f"no delivery with interchange {ref.interchange!r}, message {ref.message!r}, "
            f"document {ref.document!r}" + (f" for buyer {partner!r}" if partner else "")
        )
        kept = store.record_unmatched_ack(ack, now, detail)
        log.info("ack kept as unmatched %d: %s", kept, detail, extra={"tenant": store.tenant})
        return Correlation(ack, (), kept, detail)
    by_name = {p.name: p for p in profiles}
    recorded = []
    for row in rows:
        with log_context(tenant=store.tenant, invoice=row.invoice_number, delivery=row.id):
            new = _record(
                store, row, ack, now, by_name.get(row.buyer), ends_transmission=ends_transmission
            )
            log.info(
                "delivery %d (%s): %s %s ack %s, now %s",
                row.id,
                row.invoice_number,
                ack.kind,
                ack.level.value,
                ack.status.value,
                new.state.value,
                extra={
                    "tenant": store.tenant,
                    "invoice": row.invoice_number,
                    "delivery": row.id,
                    "ack_level": ack.level.value,
                    "ack_status": ack.status.value,
                },
            )
        recorded.append(new)
    return Correlation(ack, tuple(recorded), None, f"recorded on {len(recorded)} delivery(ies)")


def implied_state(ack: Ack, current: DeliveryState) -> DeliveryState | None:
    """The state ``ack`` moves a delivery in ``current`` to (None: keep it), per the table."""
    if ack.status is AckStatus.REJECTED:
        return None if ack.level is AckLevel.TRANSPORT else DeliveryState.REJECTED
    if ack.status is AckStatus.VIEWED:  # kept when the state cannot move (PAID, FAILED, ...)
        return DeliveryState.VIEWED if current is not DeliveryState.VIEWED else None
    if ack.level is AckLevel.BUSINESS and ack.status is AckStatus.ACCEPTED:
        return DeliveryState.ACCEPTED
    return DeliveryState.DELIVERED if current is DeliveryState.SENT else None


def ack_detail(ack: Ack) -> str:
    """The event text for ``ack``: kind, level, status and, when it rejects, each reason's code
    (or the disposition it came with) and text, e.g. ``MDN transport ack: rejected;
    processed/error: decryption-failed (The AS2 message could not be processed: ...)``."""
    text = f"{ack.kind} {ack.level.value} ack: {ack.status.value}"
    if ack.status is not AckStatus.REJECTED:
        return f"{text}; {ack.note[:500]}" if ack.note else text
    for reason in ack.reasons:
        what = _disposition_value(reason.location) or reason.code
        said = " ".join(reason.text.split())
        text += f"; {what}" + (f" ({said[:500]})" if said else "")
    return text


def _disposition_value(location: str) -> str:
    """An MDN Disposition field without its action-mode prefix (``processed/error: x``)."""
    _, sep, rest = location.partition(";")
    return rest.strip() if sep and "/" in location.split(";", 1)[0] else location.strip()


def _record(
    store: Store,
    row: DeliveryRow,
    ack: Ack,
    now: dt.datetime,
    profile: BuyerProfile | None,
    *,
    ends_transmission: bool = False,
) -> DeliveryRow:
    target = implied_state(ack, row.state)
    detail = ack_detail(ack)
    if ack.final and ack.status is AckStatus.REJECTED:
        return _fail(store, row, ack, now=now, profile=profile, detail=detail)
    if target is None:
        recorded = store.record_ack(
            row.id, ack, now=now, detail=detail, ends_transmission=ends_transmission
        )
        if (
            profile is not None
            and ack.level is not AckLevel.TRANSPORT
            and ack.status is not AckStatus.REJECTED
            and recorded.state is DeliveryState.DELIVERED
        ):
            return _advance_deadline(store, recorded, _next_deadline(profile, ack, now))
        return recorded
    deadline = None
    if target is DeliveryState.DELIVERED:
        # without the buyer's profile the deadline already set stays (the sweep still acts)
        deadline = row.next_attempt_at if profile is None else _next_deadline(profile, ack, now)
    try:
        return store.record_ack(
            row.id,
            ack,
            now=now,
            new_state=target,
            next_attempt_at=deadline,
            detail=detail,
            ends_transmission=ends_transmission,
        )
    except IllegalTransition as exc:
        return store.record_ack(row.id, ack, now=now, detail=f"{detail}; state kept ({exc})")


def _fail(
    store: Store,
    row: DeliveryRow,
    ack: Ack,
    *,
    now: dt.datetime,
    profile: BuyerProfile | None,
    detail: str,
) -> DeliveryRow:
    """A final rejection: FAILED and the next channel of the chain queued, in one transaction;
    a state the table does not let fail (ACCEPTED, FAILED already) keeps it, with the event."""
    from gateway.delivery.worker import channel_names  # the worker names the chain's channels

    names = channel_names(profile) if profile is not None else []
    following = None
    if row.channel in names and names.index(row.channel) + 1 < len(names):
        following = names[names.index(row.channel) + 1]
    switch = f"; falling back to {following}" if following else "; no fallback channel"
    try:
        return store.mark(
            row.id,
            DeliveryState.FAILED,
            now=now,
            kind="ack",
            level="error",
            detail=detail + switch,
            evidence=ack.raw,
            ack_level=ack.level,
            ack_status=ack.status.value,
            then_add=None
            if following is None
            else AddedDelivery(
                buyer=row.buyer,
                channel=following,
                next_attempt_at=now,
                document_id=row.document_id,
            ),
        )
    except IllegalTransition as exc:
        return store.record_ack(row.id, ack, now=now, detail=f"{detail}; state kept ({exc})")


def _advance_deadline(store: Store, row: DeliveryRow, deadline: dt.datetime | None) -> DeliveryRow:
    """Move the proof deadline of a delivery whose state an ack kept (a positive CONTRL on a
    DELIVERED delivery: the syntax deadline becomes the business one, or none).

    ``Store.record_ack`` keeps the deadline when it keeps the state, and the store has no
    public call for the deadline alone, so this is a guarded update on the store's table: it
    only applies while the row still has the state and deadline just recorded.
    """
    if deadline == row.next_attempt_at:
        return row
    with store.engine.connect() as db, db.begin():
        db.execute(
            deliveries.update()
            .where(
                deliveries.c.id == row.id,
                deliveries.c.tenant_id == store.tenant,
                deliveries.c.state == row.state.value,
                deliveries.c.next_attempt_at == row.next_attempt_at
                if row.next_attempt_at is not None
                else deliveries.c.next_attempt_at.is_(None),
            )
            .values(next_attempt_at=deadline)
        )
    return store.delivery(row.id)


def _next_deadline(profile: BuyerProfile, ack: Ack, now: dt.datetime) -> dt.datetime | None:
    """Deadline of the next proof level expected after this one (None: nothing more)."""
    order = ["transport", "syntax", "business"]
    after = order[order.index(ack.level.value) + 1 :]
    expected = profile.proof.expected()
    windows = [expected[level] for level in after if level in expected]
    return now + windows[0] if windows else None
