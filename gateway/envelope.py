"""Envelope: the ids and timestamps a transmission needs, allocated outside the mapping.

Mappings are pure, so an interchange control reference (EDIFACT UNB 0020), message references
(UNH 0062), a cXML payloadID and the preparation time all come in from the caller: the store
allocates control numbers per partner, never the clock inside a mapping.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field


@dataclass(frozen=True)
class Envelope:
    """Transmission ids for one rendered document.

    ``message_refs`` gives one reference per invoice in the document (EDIFACT consolidates
    several invoices in one interchange); when empty, ``"1"``, ``"2"``, ... are used.
    ``payload_id`` is the cXML payloadID (defaults to ``interchange_ref``).
    """

    interchange_ref: str
    prepared_at: dt.datetime
    message_refs: tuple[str, ...] = field(default=())
    payload_id: str | None = None
    test: bool = False

    def message_ref(self, index: int) -> str:
        """The reference of the ``index``-th (0-based) message in the document."""
        if index < len(self.message_refs):
            return self.message_refs[index]
        return str(index + 1)


def default_envelope(sequence: int, prepared_at: dt.datetime) -> Envelope:
    """An envelope for tools without a store (CLI translate): references from a run counter."""
    return Envelope(interchange_ref=str(sequence), prepared_at=prepared_at)
