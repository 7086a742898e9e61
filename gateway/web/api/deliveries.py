"""``POST /deliveries/{id}/resend`` and ``POST /deliveries/{id}/cancel`` (scope ``submit``): the
operator's ``igw resend`` and ``igw cancel`` over HTTP, through the same store transitions.

* resend: queued again, due now, under the same idempotency key; without ``force`` the
  transmission stays unless the partner refused the last one (FAILED, CANCELLED, SENT, QUEUED);
  ``force=true`` also re-sends a DELIVERED one, always as a new transmission (new message id).
* cancel: CANCELLED with a ``cancelled`` event (a resend queues it again).

Both answer the delivery's new state. A delivery of another tenant, or none with the id, is a
404 problem (the same answer, no existence oracle); a move the state table does not allow is a
409 problem naming the current state and what is allowed from it. Each change is in the audit
log with the API key as actor.
"""

from __future__ import annotations

import datetime as dt
from typing import Annotated

from fastapi import APIRouter, Depends, Path, Query, Request
from pydantic import BaseModel, ConfigDict, Field
from starlette.concurrency import run_in_threadpool

from gateway.store import DeliveryRow, DeliveryState, IllegalTransition, Store, UnknownDelivery
from gateway.store.states import FORCED_RESEND_FROM, TRANSITIONS
from gateway.web.api.auth import Principal, require_scope
from gateway.web.api.deps import now, problem_responses, tenant_store
from gateway.web.api.problems import Problem as ApiProblem
from gateway.web.api.problems import not_found

router = APIRouter(tags=["deliveries"])

Submitter = Annotated[Principal, Depends(require_scope("submit"))]
DeliveryId = Annotated[int, Path(ge=1, le=2**63 - 1, description="the delivery's id")]


class DeliveryChange(BaseModel):
    """A delivery after a resend or cancel."""

    model_config = ConfigDict(frozen=True)

    id: int
    invoice_id: int
    invoice: str = Field(description="invoice number (BT-1)")
    buyer: str = Field(description="buyer profile")
    channel: str
    state: DeliveryState = Field(description="the state now")
    previous_state: DeliveryState
    transmission: int = Field(description="the transmission the next send uses")
    new_transmission: bool = Field(
        description="true when the next send is a new transmission with a new message id"
    )
    idempotency_key: str
    next_attempt_at: dt.datetime | None

    @classmethod
    def of(cls, row: DeliveryRow, previous: DeliveryState, fresh: bool) -> DeliveryChange:
        """The change from ``previous`` to ``row``."""
        return cls(
            id=row.id,
            invoice_id=row.invoice_id,
            invoice=row.invoice_number,
            buyer=row.buyer,
            channel=row.channel,
            state=row.state,
            previous_state=previous,
            transmission=row.transmission,
            new_transmission=fresh,
            idempotency_key=row.idempotency_key,
            next_attempt_at=row.next_attempt_at,
        )


_ERRORS = problem_responses(401, 403, 404, 409, 422)


@router.post(
    "/deliveries/{delivery_id}/resend",
    response_model=DeliveryChange,
    summary="Queue a delivery again (igw resend)",
    responses=_ERRORS,
)
async def resend_delivery(
    request: Request,
    principal: Submitter,
    delivery_id: DeliveryId,
    force: Annotated[
        bool,
        Query(description="also from DELIVERED; always a new transmission with a new message id"),
    ] = False,
) -> DeliveryChange:
    """Queue the delivery again, due now (``igw resend [--force]``)."""
    return await run_in_threadpool(_resend, request, principal, delivery_id, force)


@router.post(
    "/deliveries/{delivery_id}/cancel",
    response_model=DeliveryChange,
    summary="Stop a delivery (igw cancel)",
    responses=_ERRORS,
)
async def cancel_delivery(
    request: Request, principal: Submitter, delivery_id: DeliveryId
) -> DeliveryChange:
    """Move the delivery to CANCELLED with a ``cancelled`` event (``igw cancel``)."""
    return await run_in_threadpool(_cancel, request, principal, delivery_id)


def _row(store: Store, delivery_id: int) -> DeliveryRow:
    try:
        return store.delivery(delivery_id)
    except UnknownDelivery:
        raise not_found("delivery", delivery_id) from None


def _resend(
    request: Request, principal: Principal, delivery_id: int, force: bool
) -> DeliveryChange:
    store = tenant_store(request, principal)
    row = _row(store, delivery_id)
    when = now(request)
    try:
        new, fresh = store.resend(
            delivery_id, now=when, force=force, reason=f"re-queued by API key {principal.name!r}"
        )
    except UnknownDelivery:
        raise not_found("delivery", delivery_id) from None
    except IllegalTransition as exc:
        old = DeliveryState(exc.old)
        if force:
            allowed = sorted(s.value for s in FORCED_RESEND_FROM)
            hint = f"a forced resend leaves {', '.join(allowed)}"
        else:
            allowed = sorted(
                s.value for s in FORCED_RESEND_FROM if DeliveryState.QUEUED in TRANSITIONS[s]
            )
            hint = f"a resend leaves {', '.join(allowed)}" + (
                "; force=true also re-sends DELIVERED (a new transmission)"
                if old is DeliveryState.DELIVERED
                else ""
            )
        raise _conflict(delivery_id, old, "resend", hint, allowed) from None
    _audit(store, principal, "resend", new, when=when, previous=row.state, force=force)
    return DeliveryChange.of(new, row.state, fresh)


def _cancel(request: Request, principal: Principal, delivery_id: int) -> DeliveryChange:
    store = tenant_store(request, principal)
    row = _row(store, delivery_id)
    when = now(request)
    try:
        new = store.mark(
            delivery_id,
            DeliveryState.CANCELLED,
            now=when,
            kind="cancelled",
            level="warning",
            detail=f"cancelled by API key {principal.name!r} in state {row.state.value}",
        )
    except UnknownDelivery:
        raise not_found("delivery", delivery_id) from None
    except IllegalTransition as exc:
        old = DeliveryState(exc.old)
        allowed = sorted(
            s.value for s in DeliveryState if DeliveryState.CANCELLED in TRANSITIONS[s]
        )
        hint = f"a cancel leaves {', '.join(allowed)}"
        raise _conflict(delivery_id, old, "cancel", hint, allowed) from None
    _audit(store, principal, "cancel", new, when=when, previous=row.state)
    return DeliveryChange.of(new, row.state, False)


def _conflict(
    delivery_id: int, state: DeliveryState, action: str, hint: str, allowed: list[str]
) -> ApiProblem:
    moves = sorted(s.value for s in TRANSITIONS[state])
    return ApiProblem(
        409,
        "Transition not allowed",
        f"delivery {delivery_id} is {state.value}: {action} is not allowed; {hint} "
        f"(from {state.value} the state table allows: {', '.join(moves) or 'nothing, final'})",
        kind="transition-not-allowed",
        state=state.value,
        allowed_from=allowed,
    )


def _audit(
    store: Store,
    principal: Principal,
    action: str,
    row: DeliveryRow,
    *,
    when: dt.datetime,
    previous: DeliveryState,
    force: bool = False,
) -> None:
    from gateway.store.audit import record_audit

    detail: dict[str, object] = {
        "invoice_id": row.invoice_id,
        "invoice": row.invoice_number,
        "from": previous.value,
        "to": row.state.value,
        "transmission": row.transmission,
    }
    if action == "resend":
        detail["force"] = force
    record_audit(
        store,
        actor=principal.actor,
        action=action,
        target_kind="delivery",
        target_id=str(row.id),
        detail=detail,
        now=when,
    )
