"""API-key authentication and scopes for the REST API.

A request names its key in ``Authorization: Bearer igw_<prefix>_<secret>`` (or
``X-API-Key: igw_...``). :func:`require_scope` makes the FastAPI dependency an endpoint declares;
it answers, as problem details (:mod:`gateway.web.api.problems`):

- 401 with ``WWW-Authenticate: Bearer`` when the key is missing, malformed, unknown, has a
  wrong secret or was revoked (the answer does not say which of the last three);
- 403 naming the scope needed and the key's scopes when the key lacks the scope (``admin``
  implies every scope).

Example::

    @router.get("/invoices/{invoice_id}")
    def get_invoice(
        invoice_id: int, request: Request, principal: Principal = Depends(require_scope("read"))
    ) -> ...:
        store = tenant_store(request, principal)   # app.state.store.for_tenant(principal.tenant)
        ...

The store comes from ``request.app.state.store`` (the default tenant's Store); an endpoint
works on ``request.app.state.store.for_tenant(principal.tenant)`` - :func:`tenant_store`.
Tenant isolation is the endpoints' job: they query with the key's tenant only, so a key of
tenant A used on tenant B's invoice gets exactly the 404 of an invoice that does not exist
(no existence oracle); this module never looks at the resource.

The dependency is declared with FastAPI's ``HTTPBearer`` and ``APIKeyHeader`` security
objects, so the OpenAPI document lists both schemes (``components.securitySchemes``:
``bearerAuth``, ``apiKeyHeader``) and each protected operation names them as alternatives.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Annotated

import sqlalchemy as sa
from fastapi import Request, Security
from fastapi.security import APIKeyHeader, HTTPAuthorizationCredentials, HTTPBearer

from gateway.store.audit import key_actor
from gateway.store.engine import StoreUnavailable
from gateway.store.keys import SCOPES, authenticate, parse_key
from gateway.web.api.problems import Problem

if TYPE_CHECKING:
    from gateway.store import Store

log = logging.getLogger(__name__)

ADMIN = "admin"
_BEARER = HTTPBearer(
    scheme_name="bearerAuth",
    bearerFormat="igw_<prefix>_<secret>",
    description="An API key (igw keys create) as a bearer token: Authorization: Bearer igw_...",
    auto_error=False,
)
_API_KEY = APIKeyHeader(
    name="X-API-Key",
    scheme_name="apiKeyHeader",
    description="The same API key in the X-API-Key header",
    auto_error=False,
)
_CHALLENGE = {"WWW-Authenticate": 'Bearer realm="invoice-gateway"'}


@dataclass(frozen=True)
class Principal:
    """Who a request acts as: a key (``key_id``, ``name``) of ``tenant`` with ``scopes``."""

    tenant: str
    key_id: int
    name: str
    scopes: frozenset[str]

    def allows(self, scope: str) -> bool:
        """Whether the key holds ``scope`` (``admin`` holds every scope)."""
        return scope in self.scopes or ADMIN in self.scopes

    @property
    def actor(self) -> str:
        """The audit log's actor: ``key:<id>:<name>``."""
        return key_actor(self.key_id, self.name)


def _unauthorized(detail: str) -> Problem:
    return Problem(401, "Unauthorized", detail, kind="unauthorized", headers=_CHALLENGE)


def _presented(request: Request) -> str:
    """The key the request carries: the bearer token, else ``X-API-Key`` (a proxy's Basic
    credentials in ``Authorization`` do not hide it); a 401 problem when there is none. The key
    itself never goes into an answer or a log line."""
    authorization = (request.headers.get("authorization") or "").strip()
    api_key = (request.headers.get("x-api-key") or "").strip()
    scheme, _, token = authorization.partition(" ")
    if scheme.lower() == "bearer" and token.strip():
        return token.strip()
    if api_key:
        return api_key
    if authorization:
        shown = f"scheme {scheme[:20]!r}" if scheme.lower() != "bearer" else "no token"
        raise _unauthorized(
            f"Authorization header: {shown}; accepted: 'Authorization: Bearer "
            "igw_<prefix>_<secret>' or 'X-API-Key: igw_<prefix>_<secret>'"
        )
    raise _unauthorized(
        "no API key: send 'Authorization: Bearer igw_<prefix>_<secret>' or "
        "'X-API-Key: igw_<prefix>_<secret>' (create one with igw keys create)"
    )


def _store(request: Request) -> Store:
    store = getattr(request.app.state, "store", None)
    if store is None:
        raise Problem(
            503, "Service Unavailable", "the API has no store configured", kind="unavailable"
        )
    return store  # type: ignore[no-any-return]


def tenant_store(request: Request, principal: Principal) -> Store:
    """The app's store scoped to the principal's tenant (``store.for_tenant``)."""
    return _store(request).for_tenant(principal.tenant)


def principal_for(store: Store, presented: str, now: dt.datetime) -> Principal:
    """The principal of ``presented``; a 401 problem when the key does not authenticate."""
    if parse_key(presented) is None:
        raise _unauthorized(
            "API key malformed; accepted: igw_<prefix>_<secret> as igw keys create prints it "
            "(prefix: 8 of a-z 0-9; secret: 43 of A-Z a-z 0-9 - _)"
        )
    try:
        row = authenticate(store, presented, now)
    except (sa.exc.SQLAlchemyError, StoreUnavailable) as exc:
        log.warning("API key check failed: store unavailable: %s", type(exc).__name__)
        raise Problem(
            503, "Service Unavailable", "the store is unavailable; retry later", kind="unavailable"
        ) from exc
    if row is None:
        prefix = presented[4:12]
        log.info("API key refused (unknown, wrong secret or revoked): prefix %s", prefix)
        raise _unauthorized("API key not accepted (unknown or revoked)")
    return Principal(tenant=row.tenant, key_id=row.id, name=row.name, scopes=row.scopes)


def require_scope(scope: str) -> Callable[..., Principal]:
    """A FastAPI dependency that authenticates the request's API key and requires ``scope``
    (``submit``, ``read`` or ``admin``); it returns the :class:`Principal`. A plain ``def``:
    FastAPI runs it in its thread pool, the store lookup does not block the event loop."""
    if scope not in SCOPES:
        raise ValueError(f"scope {scope!r}: unknown; accepted: {', '.join(SCOPES)}")

    def dependency(
        request: Request,
        _bearer: Annotated[HTTPAuthorizationCredentials | None, Security(_BEARER)],
        _api_key: Annotated[str | None, Security(_API_KEY)],
    ) -> Principal:
        # the security objects are declared for OpenAPI; the headers are read here, so that
        # a malformed Authorization header is a 401 saying so, not "no key"
        presented = _presented(request)
        now = dt.datetime.now(dt.UTC)
        principal = principal_for(_store(request), presented, now)
        if not principal.allows(scope):
            held = ", ".join(sorted(principal.scopes)) or "none"
            raise Problem(
                403,
                "Forbidden",
                f"this endpoint needs scope {scope!r}; the API key {principal.key_id} "
                f"({principal.name}) has: {held} (admin implies every scope)",
                kind="forbidden",
                required_scope=scope,
                key_scopes=sorted(principal.scopes),
            )
        return principal

    dependency.__name__ = f"require_scope_{scope}"
    return dependency
