"""The Connector interface: one method, ``send(document) -> Receipt``.

A connector moves a rendered :class:`~gateway.document.Document` to a buyer over one channel and
returns a :class:`Receipt` (what the transport proved). It raises only
:class:`~gateway.delivery.errors.DeliveryError` subclasses: foreign exceptions are translated here,
at the boundary, with ``raise ... from exc``. A send with an ``idempotency_key`` already delivered
must not deliver twice; it returns the receipt of the first send.

Example — a connector that hands documents to a callable::

    from connectors.base import Receipt, utc_now
    from gateway.delivery.errors import ConnectionFailed

    class CallbackConnector:
        name = "callback"

        def __init__(self, target, clock=utc_now):
            self.target, self.clock, self.channel, self.done = target, clock, "callback", {}

        def send(self, document, *, delivery_id, idempotency_key):
            if idempotency_key in self.done:
                return self.done[idempotency_key]
            try:
                remote_id = self.target(document.content)
            except OSError as exc:
                raise ConnectionFailed(f"callback: {exc}") from exc
            receipt = Receipt(connector=self.name, channel=self.channel, message_id=remote_id,
                              idempotency_key=idempotency_key, sent_at=self.clock(),
                              transport_proof=True)
            self.done[idempotency_key] = receipt
            return receipt

Connectors that can also receive (acks, inbound invoices) implement :class:`Polling`.

A delivery may be sent in several *transmissions* (a new one after the partner refused the
previous one, or an operator's forced re-send); the worker passes each its own key,
:func:`transmission_key`, so a connector needs nothing more than the key to tell a retry (same
key: deduplicate) from a new transmission (new key: send again, under a new remote id).
Connectors whose remote id follows from the key alone (AS2 Message-ID) implement
:class:`NamesMessages`, so the timeline names the id also for sends that failed.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Protocol, runtime_checkable

from gateway.document import Document

Clock = Callable[[], datetime]


def utc_now() -> datetime:
    """The current time, timezone-aware UTC (the default clock; tests pass their own)."""
    return datetime.now(UTC)


@dataclass(frozen=True)
class Receipt:
    """What one successful send proved.

    ``connector`` is the connector alias (``file``), ``channel`` a description of the destination
    without secrets (``file:/srv/outbox/acme``), ``message_id`` the id the remote knows the
    document by (AS2 Message-ID, remote file name), ``transport_proof`` whether the transport
    itself confirmed receipt (an MDN, a 2xx, a completed rename), ``evidence`` the raw proof bytes
    kept in the event log, ``detail`` a line for people.
    """

    connector: str
    channel: str
    message_id: str
    idempotency_key: str
    sent_at: datetime
    transport_proof: bool
    evidence: bytes = b""
    detail: str = ""
    remote_name: str | None = None


@dataclass(frozen=True)
class Inbound:
    """One item received on a channel (an ack, an inbound invoice), not yet parsed."""

    connector: str
    channel: str
    content: bytes
    received_at: datetime
    name: str = ""


@runtime_checkable
class Connector(Protocol):
    """Sends a document over one channel; see the module docstring for an example."""

    name: str
    channel: str

    def send(self, document: Document, *, delivery_id: str, idempotency_key: str) -> Receipt:
        """Deliver ``document`` once per ``idempotency_key``; raise only ``DeliveryError``s."""
        ...


def transmission_key(idempotency_key: str, transmission: int) -> str:
    """The key a delivery's ``transmission`` (1, 2, ...) is sent under: the delivery's own key
    for the first (so deliveries queued before transmissions existed keep their remote ids),
    ``"<key>#t<n>"`` from the second on."""
    return idempotency_key if transmission <= 1 else f"{idempotency_key}#t{transmission}"


@runtime_checkable
class NamesMessages(Protocol):
    """A connector whose remote message id follows from the idempotency key alone."""

    def message_id(self, idempotency_key: str) -> str:
        """The id a send with ``idempotency_key`` carries (AS2: the Message-ID, no ``<>``)."""
        ...


@runtime_checkable
class Polling(Protocol):
    """A connector that can also receive: ``poll()`` yields what waits on the channel;
    ``confirm(item)`` is called once the gateway has recorded it (only then may it go)."""

    def poll(self) -> Iterator[Inbound]:
        """Items waiting on the channel (an item stays there, and may be yielded again by a later
        poll, until :meth:`confirm` is called for it)."""
        ...

    def confirm(self, item: Inbound) -> None:
        """``item`` is recorded in the store: the connector may now move or delete the partner's
        copy. Raises only ``DeliveryError``s."""
        ...
