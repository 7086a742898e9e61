"""Delivery states and the transitions allowed between them, as one table.

``QUEUED → SENT → DELIVERED → ACCEPTED | REJECTED``, then ``VIEWED``, ``PAID`` or ``DISPUTED``.
A transient failure sends a delivery back to ``QUEUED`` (with a later next-attempt time); a
permanent one, or running out of attempts, ends it in ``FAILED``; an operator's ``igw cancel``
in ``CANCELLED``. The three ack levels stay
distinct: transport proof makes a delivery DELIVERED, only a business answer ACCEPTED/REJECTED
(a syntax ack is recorded on the delivery without moving it, see ``Store.record_ack``).
"""

from __future__ import annotations

from enum import StrEnum

from gateway.store.errors import IllegalTransition


class DeliveryState(StrEnum):
    """Where a delivery stands; stored as this text in ``deliveries.state``."""

    QUEUED = "QUEUED"
    SENT = "SENT"
    DELIVERED = "DELIVERED"
    ACCEPTED = "ACCEPTED"
    REJECTED = "REJECTED"
    VIEWED = "VIEWED"
    PAID = "PAID"
    DISPUTED = "DISPUTED"
    FAILED = "FAILED"
    CANCELLED = "CANCELLED"


Q, S, D = DeliveryState.QUEUED, DeliveryState.SENT, DeliveryState.DELIVERED
A, R, V = DeliveryState.ACCEPTED, DeliveryState.REJECTED, DeliveryState.VIEWED
P, X, F = DeliveryState.PAID, DeliveryState.DISPUTED, DeliveryState.FAILED
C = DeliveryState.CANCELLED

#: from-state -> the states it may move to. QUEUED -> QUEUED is a failed attempt re-queued with
#: backoff; SENT -> QUEUED a send whose transport answer says "try again"; a business answer may
#: come without transport proof (SFTP, print), hence SENT -> ACCEPTED | REJECTED; FAILED -> QUEUED
#: is an operator's manual re-queue. REJECTED is final: a corrected invoice is a new delivery.
#: CANCELLED is an operator's stop (``igw cancel``) before any business answer; only an
#: operator's re-send (-> QUEUED) leaves it.
TRANSITIONS: dict[DeliveryState, frozenset[DeliveryState]] = {
    Q: frozenset({Q, S, F, C}),
    S: frozenset({Q, D, A, R, V, P, F, C}),
    D: frozenset({A, R, V, P, X, F, C}),
    A: frozenset({V, P, X}),
    V: frozenset({A, R, P, X}),
    P: frozenset({X}),
    X: frozenset({P, A}),
    R: frozenset(),
    F: frozenset({Q, C}),
    C: frozenset({Q}),
}

#: states an operator's forced re-send (``igw resend --force``: a new transmission) may leave;
#: after a business answer (ACCEPTED, REJECTED, ...) a corrected invoice is a new delivery.
FORCED_RESEND_FROM: frozenset[DeliveryState] = frozenset({Q, S, D, F, C})

#: states in which a delivery waits for proof: overdue when its next-attempt (check) time passed.
AWAITING_PROOF: frozenset[DeliveryState] = frozenset({S, D})


def check_transition(delivery_id: int, old: DeliveryState, new: DeliveryState) -> None:
    """Return when ``old -> new`` is in :data:`TRANSITIONS`; otherwise raise IllegalTransition."""
    if new not in TRANSITIONS[old]:
        raise IllegalTransition(
            delivery_id, old.value, new.value, sorted(s.value for s in TRANSITIONS[old])
        )
