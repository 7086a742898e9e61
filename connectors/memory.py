"""MemoryConnector: the shipped test double (like httpx's MockTransport, dramatiq's StubBroker).

It records every delivered document, plays a script of outcomes (one per new send: ``None`` to
succeed, an exception instance to raise), and keeps the same idempotency contract as a real
connector: a repeated key returns the first receipt and neither records nor consumes a script step.
A scripted foreign exception (``ConnectionResetError``, ``ValueError``...) is translated as a real
connector would translate it, so the worker only ever sees ``DeliveryError``s.

    memory = MemoryConnector(script=[ConnectionFailed("down"), None])
    # first send raises ConnectionFailed, the second succeeds and lands in memory.sent
"""

from __future__ import annotations

import threading
from collections import deque
from collections.abc import Iterable, Iterator
from dataclasses import dataclass

from connectors.base import Clock, Inbound, Receipt, utc_now
from gateway.delivery.errors import (
    ConnectionFailed,
    DeliveryError,
    IdempotencyConflict,
    from_os_error,
)
from gateway.document import Document


@dataclass(frozen=True)
class Sent:
    """One document the memory connector accepted."""

    document: Document
    delivery_id: str
    receipt: Receipt


class MemoryConnector:
    """Scriptable in-memory connector; ``sent`` lists accepted documents in order."""

    name = "memory"

    def __init__(
        self,
        *,
        channel: str = "memory",
        script: Iterable[BaseException | None] = (),
        clock: Clock = utc_now,
    ) -> None:
        self.channel = f"memory:{channel}" if not channel.startswith("memory") else channel
        self.clock = clock
        self.sent: list[Sent] = []
        self.attempts = 0
        self._script: deque[BaseException | None] = deque(script)
        self._receipts: dict[str, tuple[str, Receipt]] = {}
        self._inbound: deque[Inbound] = deque()
        self._lock = threading.Lock()

    def script(self, *outcomes: BaseException | None) -> None:
        """Append outcomes for the next new sends (``None`` = succeed)."""
        self._script.extend(outcomes)

    def send(self, document: Document, *, delivery_id: str, idempotency_key: str) -> Receipt:
        """Accept ``document`` (or raise the next scripted error); idempotent per key."""
        with self._lock:
            return self._send(document, delivery_id, idempotency_key)

    def _send(self, document: Document, delivery_id: str, idempotency_key: str) -> Receipt:
        previous = self._receipts.get(idempotency_key)
        if previous is not None:
            if previous[0] != document.sha256:
                raise IdempotencyConflict(
                    f"{self.channel}: key {idempotency_key!r} was sent with different content"
                )
            return previous[1]
        self.attempts += 1
        outcome = self._script.popleft() if self._script else None
        if isinstance(outcome, DeliveryError):
            raise outcome
        if isinstance(outcome, OSError):
            raise from_os_error(outcome, f"{self.channel}: send") from outcome
        if outcome is not None and not isinstance(outcome, Exception):
            raise outcome  # KeyboardInterrupt & co. are not delivery outcomes
        if outcome is not None:
            raise ConnectionFailed(f"{self.channel}: {outcome!r}") from outcome
        number = len(self.sent) + 1
        receipt = Receipt(
            connector=self.name,
            channel=self.channel,
            message_id=f"memory-{number}",
            idempotency_key=idempotency_key,
            sent_at=self.clock(),
            transport_proof=True,
            evidence=f"memory accepted {document.sha256}".encode(),
            detail=f"kept in memory as #{number}",
            remote_name=document.filename,
        )
        self._receipts[idempotency_key] = (document.sha256, receipt)
        self.sent.append(Sent(document, delivery_id, receipt))
        return receipt

    def receive(self, content: bytes, name: str = "") -> None:
        """Queue an inbound item (an ack) for the next :meth:`poll`."""
        self._inbound.append(Inbound(self.name, self.channel, content, self.clock(), name))

    def poll(self) -> Iterator[Inbound]:
        """Yield the queued inbound items not yet confirmed, oldest first (like a partner's
        folder: an item stays until :meth:`confirm`)."""
        with self._lock:
            pending = list(self._inbound)
        yield from pending

    def confirm(self, item: Inbound) -> None:
        """Forget ``item`` (the gateway recorded it); unknown items are ignored."""
        with self._lock:
            for queued in self._inbound:
                if queued is item:
                    self._inbound.remove(queued)
                    break
