"""Tracking views for people: the delivery status table and an invoice's timeline.

Pure formatting over :class:`gateway.store.DeliveryRow` / :class:`gateway.store.EventRow`;
the queries themselves are :meth:`gateway.store.Store.deliveries` / ``timeline``.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Sequence
from dataclasses import dataclass

from gateway.errors import ConfigError
from gateway.store import DeliveryRow, EventRow

#: ack levels from lowest to highest proof
PROOF_LEVELS = ("transport", "syntax", "business")

_AGE = re.compile(r"^\s*(\d+)\s*([smhdw])\s*$")
_UNITS = {"s": "seconds", "m": "minutes", "h": "hours", "d": "days", "w": "weeks"}


def parse_age(text: str) -> dt.timedelta:
    """``"90s"``, ``"30m"``, ``"2h"``, ``"3d"``, ``"1w"`` as a timedelta; ConfigError otherwise."""
    match = _AGE.match(text)
    if match is None:
        raise ConfigError(
            f"--older-than {text!r}: not an age; accepted: a number with s, m, h, d or w "
            "(e.g. 2h, 30m, 3d)"
        )
    return dt.timedelta(**{_UNITS[match.group(2)]: int(match.group(1))})


def proof_reached(row: DeliveryRow) -> str:
    """The highest ack level recorded on the delivery with its status (``"business:accepted"``),
    or ``"-"`` when no ack has been recorded at any level."""
    acks = {"transport": row.transport_ack, "syntax": row.syntax_ack, "business": row.business_ack}
    for level in reversed(PROOF_LEVELS):
        if acks[level]:
            return f"{level}:{acks[level]}"
    return "-"


def held(row: DeliveryRow) -> bool:
    """True for a delivery waiting in an open consolidation batch (QUEUED, not yet due)."""
    return row.batch_id is not None and row.state.value == "QUEUED" and row.next_attempt_at is None


def _when(moment: dt.datetime | None) -> str:
    if moment is None:
        return "-"
    return moment.strftime("%Y-%m-%d %H:%M:%S")


def status_rows(rows: Sequence[DeliveryRow]) -> list[dict[str, object]]:
    """One JSON-ready dict per delivery (``igw status --json``)."""
    return [
        {
            "delivery": r.id,
            "invoice": r.invoice_number,
            "seller": r.seller_key,
            "buyer": r.buyer,
            "channel": r.channel,
            "state": r.state.value,
            "attempts": r.attempt,
            "last_event": _when(r.updated_at),
            "next_due": _when(r.next_attempt_at),
            "proof": proof_reached(r),
            "acks": {
                "transport": r.transport_ack,
                "syntax": r.syntax_ack,
                "business": r.business_ack,
            },
            "idempotency_key": r.idempotency_key,
            "transmission": r.transmission,
            "message_id": r.message_id,
            "batch": r.batch_id,
            "held": held(r),
        }
        for r in rows
    ]


def status_table(rows: Sequence[DeliveryRow]) -> str:
    """The status table: delivery id, invoice, buyer, channel, state, attempts, last event,
    proof level reached; then a count per state. ``"(no deliveries)"`` when empty."""
    if not rows:
        return "(no deliveries)\n"
    header = ("ID", "INVOICE", "BUYER", "CHANNEL", "STATE", "ATTEMPTS", "LAST EVENT", "PROOF")
    body = [
        (
            str(r.id),
            r.invoice_number,
            r.buyer,
            r.channel,
            f"{r.state.value} (held in batch {r.batch_id})" if held(r) else r.state.value,
            str(r.attempt),
            _when(r.updated_at),
            proof_reached(r),
        )
        for r in rows
    ]
    widths = [max(len(line[i]) for line in (header, *body)) for i in range(len(header))]
    lines = [
        "  ".join(cell.ljust(w) for cell, w in zip(line, widths, strict=True)).rstrip()
        for line in (header, *body)
    ]
    counts: dict[str, int] = {}
    for r in rows:
        counts[r.state.value] = counts.get(r.state.value, 0) + 1
    totals = ", ".join(f"{state} {n}" for state, n in sorted(counts.items()))
    lines.append(f"{len(rows)} deliveries: {totals}")
    return "\n".join(lines) + "\n"


def evidence_text(evidence: bytes) -> str:
    """Evidence for a terminal: the text when it decodes as UTF-8, else a hex dump line."""
    try:
        return evidence.decode("utf-8")
    except UnicodeDecodeError:
        return f"<{len(evidence)} bytes, not text> {evidence[:64].hex()}"


@dataclass(frozen=True)
class Transmission:
    """One transmission of a delivery as the timeline shows it: its number, the id the remote
    knew it by (AS2 Message-ID; None when the connector names none), the attempts it took
    (numbers as the attempt events count them), where it left the delivery, and the last ack
    recorded during it."""

    delivery_id: int
    number: int
    message_id: str | None
    first_attempt: int
    last_attempt: int
    outcome: str
    last_ack: str | None = None


_OUTCOME_KINDS = ("attempt", "transport_proof", "ack")


@dataclass
class _Building:
    """A transmission while the timeline is read."""

    first: int
    last: int
    message_id: str | None = None
    outcome: str = "-"
    last_ack: str | None = None


def transmissions(events: Sequence[EventRow]) -> list[Transmission]:
    """The transmissions of every delivery in ``events`` (one invoice's timeline), in order.

    Built from the attempt events (each names its transmission and message id; attempts from
    before transmissions were recorded count as transmission 1); the outcome is the state the
    last attempt, transport proof or ack of that transmission moved the delivery to.
    """
    found: dict[tuple[int, int], _Building] = {}
    current: dict[int, _Building] = {}
    attempts: dict[int, int] = {}
    for e in events:
        if e.delivery_id is None:
            continue
        if e.kind == "attempt":
            count = attempts[e.delivery_id] = attempts.get(e.delivery_id, 0) + 1
            group = found.setdefault((e.delivery_id, e.transmission or 1), _Building(count, count))
            group.last = count
            group.message_id = e.message_id or group.message_id
            current[e.delivery_id] = group
        group_now = current.get(e.delivery_id)
        if group_now is None or e.kind not in _OUTCOME_KINDS:
            continue
        if e.state_to:
            group_now.outcome = e.state_to
        if e.kind == "ack":
            group_now.last_ack = e.detail
    return [
        Transmission(delivery, number, g.message_id, g.first, g.last, g.outcome, g.last_ack)
        for (delivery, number), g in found.items()
    ]


def transmissions_text(found: Sequence[Transmission]) -> list[str]:
    """The timeline's closing list: one line per transmission with its Message-ID, for the
    deliveries whose connector names its messages or that were sent more than once (a
    single unnamed transmission says nothing the attempt lines do not)."""
    shown = {t.delivery_id for t in found if t.message_id or t.number > 1}
    found = [t for t in found if t.delivery_id in shown]
    if not found:
        return []
    lines = ["transmissions:"]
    for t in found:
        span = (
            f"attempt {t.first_attempt}"
            if t.first_attempt == t.last_attempt
            else f"attempts {t.first_attempt}-{t.last_attempt}"
        )
        named = f"<{t.message_id}>" if t.message_id else "(no message id)"
        ack = f"  last ack: {t.last_ack[:160]}" if t.last_ack else ""
        lines.append(
            f"  delivery {t.delivery_id:<4}  #{t.number:<3} {named}  {span}  -> {t.outcome}{ack}"
        )
    return lines


def timeline_text(events: Sequence[EventRow], *, evidence: bool = False) -> str:
    """Every event, oldest first: time, delivery, kind, ack level, state move, detail; with
    ``evidence`` the raw evidence bytes below each event that has some (decoded when text).
    Then each delivery's transmissions with their Message-IDs (:func:`transmissions`)."""
    lines: list[str] = []
    for e in events:
        move = f"{e.state_from or ''}->{e.state_to}" if e.state_to else ""
        where = f"delivery {e.delivery_id}" if e.delivery_id is not None else "invoice"
        lines.append(
            f"{_when(e.at)}  {where:12}  {e.kind:15}  {(e.ack_level or '-'):9}  "
            f"{move:22}  {e.detail}".rstrip()
        )
        if e.evidence is not None:
            if evidence:
                lines.extend("    | " + line for line in evidence_text(e.evidence).splitlines())
            else:
                lines.append(f"    ({len(e.evidence)} bytes of evidence; --evidence shows them)")
    lines.extend(transmissions_text(transmissions(events)))
    return "\n".join(lines) + "\n"


def timeline_rows(events: Sequence[EventRow], *, evidence: bool = False) -> list[dict[str, object]]:
    """JSON-ready events (``igw timeline --json``)."""
    return [
        {
            "at": _when(e.at),
            "invoice": e.invoice_number,
            "seller": e.seller_key,
            "delivery": e.delivery_id,
            "kind": e.kind,
            "level": e.level,
            "ack_level": e.ack_level,
            "from": e.state_from,
            "to": e.state_to,
            "detail": e.detail,
            "transmission": e.transmission,
            "message_id": e.message_id,
            "evidence": None
            if e.evidence is None
            else (evidence_text(e.evidence) if evidence else len(e.evidence)),
        }
        for e in events
    ]
