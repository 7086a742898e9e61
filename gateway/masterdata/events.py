"""The timeline's account of master data: which terms were filled, which conflicts were kept.

Written by submit as invoice events in the accept transaction (``AcceptItem.events``):

* ``filled`` (info): ``filled from master data: BT-34 seller.electronic_address
  (config/sellers/acme.toml); ...``, the evidence is the JSON list of the invoice's
  ``provenance`` entries of that source;
* ``conflict`` (warning): ``kept the source's value: BT-41 seller.contact.name = 'A' (master data
  config/sellers/acme.toml says 'B'); ...``.

Terms filled by other means (``derived``, ``code-list``) get a ``filled`` event of their own.
"""

from __future__ import annotations

import json
from collections.abc import Sequence

from gateway.errors import Problem
from gateway.masterdata.apply import KEPT, RULE
from gateway.model import Invoice
from gateway.store import InvoiceEvent

_SOURCE_WORDS = {
    "master-data": "filled from master data",
    "derived": "derived",
    "code-list": "translated from the source's code list",
}
#: terms named in one event's detail; the evidence lists them all
DETAIL_LIMIT = 20


def provenance_events(
    invoice: Invoice, problems: Sequence[Problem] = ()
) -> tuple[InvoiceEvent, ...]:
    """One ``filled`` event per source kind in ``invoice.provenance``, then one ``conflict``
    event for the master-data conflicts among ``problems`` (none when there is nothing)."""
    events: list[InvoiceEvent] = []
    for kind, words in _SOURCE_WORDS.items():
        terms = [t for t in invoice.provenance if t.source == kind]
        if not terms:
            continue
        named = [f"{t.bt or '-'} {t.path} ({t.detail})" for t in terms[:DETAIL_LIMIT]]
        more = len(terms) - len(named)
        tail = f"; and {more} more (--evidence lists all)" if more > 0 else ""
        evidence = json.dumps([t.model_dump(mode="json") for t in terms], ensure_ascii=False)
        events.append(
            InvoiceEvent(
                "filled", f"{words}: " + "; ".join(named) + tail, evidence=evidence.encode()
            )
        )
    conflicts = [p for p in problems if p.rule == RULE and p.flag == "warning"]
    if conflicts:
        events.append(
            InvoiceEvent(
                "conflict",
                "kept the source's value: "
                + "; ".join(
                    f"{p.bt or '-'} {p.path} = {p.value!r} ({p.message.removesuffix(KEPT)})"
                    for p in conflicts
                ),
                level="warning",
            )
        )
    return tuple(events)
