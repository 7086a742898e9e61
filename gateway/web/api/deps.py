"""What the read-side routes share: the caller's tenant store, the clock, opaque cursors and
the problem responses every operation declares.

``app.state.store`` is the default tenant's store; a request works on
``store.for_tenant(principal.tenant)`` (:mod:`gateway.tenants`), so every query of the route
is scoped by the key's tenant.
"""

from __future__ import annotations

import base64
import binascii
import datetime as dt
from collections.abc import Callable
from typing import Annotated, Any

from fastapi import HTTPException, Request, Security
from fastapi.security import HTTPAuthorizationCredentials

from connectors.base import utc_now
from gateway.store import Store
from gateway.web.api import auth
from gateway.web.api.auth import Principal
from gateway.web.api.problems import Problem

CURSOR_PREFIX = "v1:"
PROBLEM_MEDIA_TYPE = "application/problem+json"
PROBLEM_SCHEMA_REF = "#/components/schemas/Problem"

#: what every status means, for the OpenAPI document
_MEANING = {
    400: "bad request: the problem names the parameter, the value and what is accepted",
    401: "no API key, or one that is unknown or revoked",
    403: "the key lacks the scope this operation needs",
    404: "no such resource for this key's tenant",
    413: "request body over the route's limit",
    415: "unsupported media type",
    422: "the request does not match the schema (parameter, value, what is accepted)",
}


def problem_responses(*codes: int) -> dict[int | str, dict[str, Any]]:
    """The ``responses=`` of an operation: each status as RFC 9457 problem details."""
    return {
        code: {
            "description": _MEANING.get(code, "error"),
            "content": {PROBLEM_MEDIA_TYPE: {"schema": {"$ref": PROBLEM_SCHEMA_REF}}},
        }
        for code in codes
    }


READ_ERRORS = (400, 401, 403, 422)


def require_any_scope(*scopes: str) -> Callable[..., Principal]:
    """Like :func:`gateway.web.api.auth.require_scope`, satisfied by any one of ``scopes``
    (``/translate`` and ``/validate`` take a ``read`` or a ``submit`` key)."""

    def dependency(
        request: Request,
        _bearer: Annotated[HTTPAuthorizationCredentials | None, Security(auth._BEARER)],
        _api_key: Annotated[str | None, Security(auth._API_KEY)],
    ) -> Principal:
        presented = auth._presented(request)
        principal = auth.principal_for(auth._store(request), presented, dt.datetime.now(dt.UTC))
        if not any(principal.allows(scope) for scope in scopes):
            held = ", ".join(sorted(principal.scopes)) or "none"
            raise Problem(
                403,
                "Forbidden",
                f"this endpoint needs scope {' or '.join(map(repr, scopes))}; the API key "
                f"{principal.key_id} ({principal.name}) has: {held}",
                kind="forbidden",
                required_scope=list(scopes),
                key_scopes=sorted(principal.scopes),
            )
        return principal

    dependency.__name__ = "require_scope_" + "_or_".join(scopes)
    return dependency


def tenant_store(request: Request, principal: Principal) -> Store:
    """The app's store scoped to the principal's tenant."""
    store: Store = request.app.state.store
    return store.for_tenant(principal.tenant)


def now(request: Request) -> dt.datetime:
    """The app's clock (tests set ``app.state.clock``)."""
    clock = getattr(request.app.state, "clock", None) or utc_now
    value: dt.datetime = clock()
    return value


def not_found(what: str, ident: int) -> HTTPException:
    """The 404 of an id that does not exist for the caller's tenant (another tenant's id gets
    exactly this answer: no existence oracle)."""
    return HTTPException(404, f"{what} {ident}: not found")


def encode_cursor(last_id: int | None) -> str | None:
    """The opaque cursor after the row ``last_id``."""
    if last_id is None:
        return None
    raw = f"{CURSOR_PREFIX}{last_id}".encode("ascii")
    return base64.urlsafe_b64encode(raw).decode("ascii").rstrip("=")


def decode_cursor(cursor: str | None) -> int | None:
    """The row id an opaque cursor continues after; 400 naming the value when it is not one
    this API gave out."""
    if cursor is None or cursor == "":
        return None
    try:
        text = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode("ascii")
    except (binascii.Error, UnicodeDecodeError, ValueError):
        text = ""
    number = text.removeprefix(CURSOR_PREFIX)
    if not text.startswith(CURSOR_PREFIX) or not number.isdigit() or len(number) > 18:
        raise HTTPException(
            400,
            f"cursor {cursor[:80]!r}: not a cursor of this API; accepted: the next_cursor of "
            "the previous page, or no cursor for the first page",
        )
    return int(number)


def next_link(request: Request, cursor: str | None) -> str | None:
    """The URL of the next page: this request's path and query with ``cursor`` replaced."""
    if cursor is None:
        return None
    params = [(k, v) for k, v in request.query_params.multi_items() if k != "cursor"]
    params.append(("cursor", cursor))
    from urllib.parse import urlencode

    return f"{request.url.path}?{urlencode(params)}"


def known_query(request: Request) -> None:
    """Refuse a query parameter the operation does not take (400 naming it and the accepted
    ones): a mistyped filter (``?stat=QUEUED``) must not silently list everything."""
    dependant = getattr(request.scope.get("route"), "dependant", None)
    if dependant is None:
        return
    accepted = sorted(_query_names(dependant))
    unknown = [k for k in dict.fromkeys(request.query_params.keys()) if k not in accepted]
    if unknown:
        raise HTTPException(
            400,
            f"query parameter {unknown[0][:60]!r}: unknown for {request.method} "
            f"{request.url.path}; accepted: {', '.join(accepted) or 'none'}",
        )


def _query_names(dependant: Any) -> set[str]:
    """The query parameter names of a FastAPI dependant and its sub-dependencies."""
    names = {p.alias for p in dependant.query_params}
    for sub in dependant.dependencies:
        names |= _query_names(sub)
    return names


MAX_ID = 2**53
"""The largest id a path may name (JSON-safe; the store's ids are far below)."""


def ids_in_range(request: Request) -> None:
    """A numeric path id beyond :data:`MAX_ID` (either sign) names nothing: 404 like any
    missing id, before the store is asked (SQLite cannot bind an integer over 64 bits)."""
    for name, value in request.path_params.items():
        text = str(value)
        digits = text.removeprefix("-").removeprefix("+")
        if digits.isdigit() and abs(int(text)) > MAX_ID:
            raise HTTPException(404, f"{name.removesuffix('_id')} {text[:40]}: not found")
