"""The webhook endpoints of the REST API (mounted under ``/api/v1``; every one needs scope
``admin``): subscriptions (create, list, show, change, delete), their outbox and attempt log,
and redelivery. A subscription of another tenant is a 404 like one that does not exist.

``POST /webhooks`` answers the generated ``whsec_`` signing secret once (201). A secret by
reference (``env:NAME`` / ``file:/path``) names the operator's environment and files, so only
the CLI (``igw webhooks add --secret``) sets one. Changes are audited.
"""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query, Request, Response
from pydantic import BaseModel, Field

from gateway.errors import ConfigError
from gateway.store.audit import record_audit
from gateway.store.webhooks import (
    EVENT_TYPES,
    OUTBOX_STATES,
    Subscription,
    UnknownSubscription,
    WebhookStore,
    check_event_types,
)
from gateway.web.api.auth import Principal, require_scope, tenant_store
from gateway.web.api.problems import Problem, not_found
from gateway.webhooks.secrets import generate_secret
from gateway.webhooks.urls import check_url

router = APIRouter(tags=["webhooks"])
Admin = Annotated[Principal, Depends(require_scope("admin"))]


class NewSubscription(BaseModel):
    """A subscription to create."""

    url: str = Field(
        description="where to POST (http or https)", examples=["https://erp.example/h"]
    )
    events: list[str] = Field(description="event types: " + ", ".join(EVENT_TYPES), min_length=1)
    secret: str | None = Field(
        default=None,
        description="leave out: a whsec_ key is generated and answered once (references "
        "env:/file: are for the operator's CLI only)",
    )


class SubscriptionChange(BaseModel):
    """What to change of a subscription (omitted: unchanged)."""

    url: str | None = None
    events: list[str] | None = None
    enabled: bool | None = None


def _bad(exc: ConfigError) -> Problem:
    return Problem(422, "Unprocessable Content", str(exc), kind="invalid-webhook")


def _hooks(request: Request, principal: Principal) -> WebhookStore:
    return WebhookStore.of(tenant_store(request, principal))


def _now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


def _audit(
    request: Request, principal: Principal, action: str, ident: int, detail: dict[str, Any]
) -> None:
    record_audit(
        tenant_store(request, principal),
        principal.actor,
        action,
        "webhook_subscription",
        str(ident),
        detail,
        _now(),
    )


def _found(hooks: WebhookStore, subscription_id: int) -> Subscription:
    sub = hooks.subscription(subscription_id)
    if sub is None:
        raise not_found("webhook subscription", subscription_id)
    return sub


@router.post("/webhooks", status_code=201)
def create_subscription(
    body: NewSubscription, request: Request, principal: Admin
) -> dict[str, Any]:
    """Subscribe a URL to event types; the generated secret is in this answer only."""
    try:
        url = check_url(body.url)
        events = check_event_types(body.events)
        if body.secret is not None:
            # env:/file: name the operator's environment and files, not the tenant's
            raise ConfigError(
                "secret: omit it to have a whsec_ key generated (answered once); a secret by "
                "reference (env:NAME or file:/path) is set by the operator with "
                "`igw webhooks add --secret`"
            )
        secret = generate_secret()
    except ConfigError as exc:
        raise _bad(exc) from None
    sub = _hooks(request, principal).add_subscription(url, events, secret, _now())
    _audit(request, principal, "webhook.create", sub.id, {"url": url, "events": list(events)})
    answer = sub.as_dict()
    answer["secret"] = secret
    return answer


@router.get("/webhooks")
def list_subscriptions(request: Request, principal: Admin) -> list[dict[str, Any]]:
    """The tenant's subscriptions (secrets hidden)."""
    return [s.as_dict() for s in _hooks(request, principal).subscriptions()]


@router.get("/webhooks/{subscription_id}")
def get_subscription(subscription_id: int, request: Request, principal: Admin) -> dict[str, Any]:
    """One subscription."""
    return _found(_hooks(request, principal), subscription_id).as_dict()


@router.patch("/webhooks/{subscription_id}")
def change_subscription(
    subscription_id: int, body: SubscriptionChange, request: Request, principal: Admin
) -> dict[str, Any]:
    """Change URL, event types or the enabled flag (enable again after a 410, say)."""
    hooks = _hooks(request, principal)
    _found(hooks, subscription_id)
    try:
        url = None if body.url is None else check_url(body.url)
        events = None if body.events is None else check_event_types(body.events)
    except ConfigError as exc:
        raise _bad(exc) from None
    sub = hooks.update_subscription(
        subscription_id, _now(), url=url, events=events, enabled=body.enabled,
        reason="disabled through the API",
    )  # fmt: skip
    _audit(request, principal, "webhook.change", sub.id, body.model_dump(exclude_none=True))
    return sub.as_dict()


@router.delete("/webhooks/{subscription_id}", status_code=204)
def delete_subscription(subscription_id: int, request: Request, principal: Admin) -> Response:
    """Delete a subscription with its outbox and attempt log."""
    try:
        _hooks(request, principal).remove_subscription(subscription_id)
    except UnknownSubscription:
        raise not_found("webhook subscription", subscription_id) from None
    _audit(request, principal, "webhook.delete", subscription_id, {})
    return Response(status_code=204)


@router.get("/webhooks/{subscription_id}/deliveries")
def list_deliveries(
    subscription_id: int,
    request: Request,
    principal: Admin,
    state: Annotated[str | None, Query(description=", ".join(OUTBOX_STATES))] = None,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
) -> list[dict[str, Any]]:
    """The subscription's messages (outbox rows), the newest ``limit``, oldest first."""
    if state is not None and state not in OUTBOX_STATES:
        raise Problem(
            422,
            "Unprocessable Content",
            f"state {state!r}: accepted: {', '.join(OUTBOX_STATES)}",
            kind="invalid-webhook",
        )
    hooks = _hooks(request, principal)
    _found(hooks, subscription_id)
    return [r.as_dict() for r in hooks.outbox(subscription_id, state, limit)]


@router.get("/webhooks/{subscription_id}/attempts")
def list_attempts(
    subscription_id: int,
    request: Request,
    principal: Admin,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
) -> list[dict[str, Any]]:
    """The delivery log: every attempt (status, duration, error, response excerpt)."""
    hooks = _hooks(request, principal)
    _found(hooks, subscription_id)
    return [a.as_dict() for a in hooks.attempts(subscription_id, limit=limit)]


@router.post("/webhooks/{subscription_id}/redeliver")
def redeliver_failed(subscription_id: int, request: Request, principal: Admin) -> dict[str, Any]:
    """Every FAILED message of the subscription is due again (same webhook-id)."""
    hooks = _hooks(request, principal)
    _found(hooks, subscription_id)
    count = hooks.redeliver(_now(), subscription_id=subscription_id)
    _audit(request, principal, "webhook.redeliver", subscription_id, {"rows": count})
    return {"redelivered": count}


@router.post("/webhooks/deliveries/{outbox_id}/redeliver")
def redeliver_one(outbox_id: int, request: Request, principal: Admin) -> dict[str, Any]:
    """One message (any state) is due again (same webhook-id)."""
    hooks = _hooks(request, principal)
    try:
        hooks.redeliver(_now(), outbox_id=outbox_id)
    except UnknownSubscription:
        raise not_found("webhook delivery", outbox_id) from None
    row = hooks.outbox_row(outbox_id)
    assert row is not None
    _audit(request, principal, "webhook.redeliver", row.subscription_id, {"outbox": outbox_id})
    return row.as_dict()
