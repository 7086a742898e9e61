"""Portal status entries (JSON) as Acks: what connectors.http.HttpConnector.poll() yields from a
buyer portal's status list (the shape gateway.peers.portal serves).

One entry is a JSON object with (at least) an invoice number and a status::

    {"id": "evt-000002", "object": "invoice_status", "invoice_id": "inv-000001",
     "invoice_number": "INV-1", "status": "rejected", "reason": "PO number unknown",
     "at": "2026-11-24T12:00:00+00:00"}

==========  =========  ========  ===============================================
status      level      status    note
==========  =========  ========  ===============================================
received    transport  received  the portal filed it (what the upload's 2xx said)
accepted    business   accepted  approved by the buyer's AP team
paid        business   accepted  reason ``paid`` keeps it visible (Ack has 3
                                 statuses; a PAID delivery state is not set here)
rejected    business   rejected  reason: the portal's text
==========  =========  ========  ===============================================

``refers_to.document`` = the invoice number (BT-1, unique per seller). The portal's own invoice
id (what the upload's Receipt recorded as message id) becomes ``refers_to.message_id`` only when
``remote_id_field`` is given: such ids are unique per portal only (``inv-000001``) and an entry
names no sender to limit the match to one buyer, so by default it could hit another portal's
delivery. ``parse`` returns None for anything that is not a JSON object with both fields (so the
other parsers get their turn) and raises ParseError for such an object with an unknown status,
a missing number or an unreadable time. Field names are options for portals that name them
otherwise.
"""

from __future__ import annotations

import datetime as dt
import json
from typing import Any

from gateway.ack import Ack, AckLevel, AckReason, AckReference, AckStatus
from gateway.errors import ParseError

LEVELS: dict[str, tuple[AckLevel, AckStatus]] = {
    "received": (AckLevel.TRANSPORT, AckStatus.RECEIVED),
    "accepted": (AckLevel.BUSINESS, AckStatus.ACCEPTED),
    "paid": (AckLevel.BUSINESS, AckStatus.ACCEPTED),
    "rejected": (AckLevel.BUSINESS, AckStatus.REJECTED),
}


class PortalStatusAck:
    """Reads one portal status entry; see the module docstring."""

    def __init__(
        self,
        *,
        number_field: str = "invoice_number",
        status_field: str = "status",
        remote_id_field: str | None = None,
        reason_field: str = "reason",
        time_field: str = "at",
    ) -> None:
        self.number_field = number_field
        self.status_field = status_field
        self.remote_id_field = remote_id_field
        self.reason_field = reason_field
        self.time_field = time_field

    def parse(self, inbound: bytes) -> Ack | None:
        """The Ack in a portal status entry, None for anything else."""
        entry = self._entry(inbound)
        if entry is None:
            return None
        where = f"status entry {entry.get('id', '?')}"
        raw_status = entry[self.status_field]
        status = str(raw_status).strip().lower() if raw_status is not None else ""
        if status not in LEVELS:
            raise ParseError(
                f"{self.status_field} {raw_status!r}; expected one of {', '.join(LEVELS)}", where
            )
        number = entry[self.number_field]
        if not isinstance(number, (str, int)) or not str(number).strip():
            raise ParseError(f"{self.number_field} {number!r}; expected an invoice number", where)
        level, ack_status = LEVELS[status]
        reason = entry.get(self.reason_field)
        reasons: tuple[AckReason, ...] = ()
        if status in ("paid", "rejected") or reason:
            reasons = (AckReason(status, str(reason or ""), where),)
        remote = entry.get(self.remote_id_field) if self.remote_id_field else None
        return Ack(
            kind="portal-status",
            level=level,
            status=ack_status,
            refers_to=AckReference(
                document=str(number).strip(),
                message_id=str(remote) if remote not in (None, "") else None,
            ),
            raw=bytes(inbound),
            issued_at=self._time(entry, where),
            reasons=reasons,
        )

    def _entry(self, inbound: bytes) -> dict[str, Any] | None:
        if not inbound.lstrip().startswith(b"{"):
            return None
        try:
            data = json.loads(inbound)
        except (ValueError, UnicodeDecodeError, RecursionError):
            # not JSON, an integer of more than 4,300 digits, or nested beyond ~1,000 levels
            return None
        if not isinstance(data, dict):
            return None
        if self.number_field not in data or self.status_field not in data:
            return None
        return data

    def _time(self, entry: dict[str, Any], where: str) -> dt.datetime | None:
        value = entry.get(self.time_field)
        if value in (None, ""):
            return None
        try:
            return dt.datetime.fromisoformat(str(value))
        except ValueError:
            raise ParseError(f"{self.time_field} {value!r} is not ISO 8601", where) from None
