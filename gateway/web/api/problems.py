"""RFC 9457 problem details for the REST API under ``/api/v1``.

An endpoint raises :class:`Problem`; :func:`install_problem_handlers` turns it, Starlette's
``HTTPException`` (unknown path 404, wrong method 405, ...) and FastAPI's
``RequestValidationError`` into ``application/problem+json`` answers for paths under the API
prefix only (``/as2``, ``/health`` keep their own answers). Example::

    raise Problem(404, "Not Found", f"invoice {invoice_id}: no such invoice", kind="not-found")

    app = FastAPI()
    install_problem_handlers(app)           # prefix "/api/v1"
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from http import HTTPStatus
from typing import Any

from fastapi import FastAPI, Request
from fastapi.encoders import jsonable_encoder
from fastapi.exception_handlers import (
    http_exception_handler,
    request_validation_exception_handler,
)
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.responses import Response

PROBLEM_MEDIA_TYPE = "application/problem+json"
PROBLEM_BASE = "https://invoice-gateway.dev/problems/"
API_PREFIX = "/api/v1"


def problem_type(kind: str) -> str:
    """The type URI of a kind of problem (``"validation"`` ->
    ``https://invoice-gateway.dev/problems/validation``)."""
    return PROBLEM_BASE + kind


class Problem(Exception):
    """A problem detail: ``status`` (HTTP), ``title`` (short, the same for every occurrence of
    the kind), ``detail`` (this occurrence, for people: what, which value, what is accepted),
    ``type`` (a URI; ``kind="forbidden"`` makes ``PROBLEM_BASE + "forbidden"``, neither makes
    ``about:blank``), ``headers`` (e.g. ``WWW-Authenticate``) and extension members
    (``errors=[...]``, ``scopes=[...]``) that go into the JSON body as they are."""

    def __init__(
        self,
        status: int,
        title: str,
        detail: str = "",
        *,
        kind: str | None = None,
        type: str | None = None,
        instance: str | None = None,
        headers: Mapping[str, str] | None = None,
        **extra: Any,
    ) -> None:
        super().__init__(f"{status} {title}: {detail}" if detail else f"{status} {title}")
        self.status = status
        self.title = title
        self.detail = detail
        self.type = type or (problem_type(kind) if kind else "about:blank")
        self.instance = instance
        self.headers = dict(headers or {})
        self.extra = extra

    def body(self) -> dict[str, Any]:
        """The JSON members: type, title, status, detail (when given), instance, extensions."""
        data: dict[str, Any] = {"type": self.type, "title": self.title, "status": self.status}
        if self.detail:
            data["detail"] = self.detail
        if self.instance:
            data["instance"] = self.instance
        data.update(self.extra)
        return data


def not_found(what: str, ident: object) -> Problem:
    """The one 404 of a resource: ``invoice 7: no such invoice``. An endpoint answers it alike
    for an id that does not exist and for an id of another tenant (no existence oracle)."""
    return Problem(404, "Not Found", f"{what} {ident}: no such {what}", kind="not-found")


def problem_response(problem: Problem) -> JSONResponse:
    """``problem`` as an ``application/problem+json`` response with its status and headers."""
    return JSONResponse(
        jsonable_encoder(problem.body()),
        status_code=problem.status,
        headers=problem.headers,
        media_type=PROBLEM_MEDIA_TYPE,
    )


def _phrase(status: int) -> str:
    try:
        return HTTPStatus(status).phrase
    except ValueError:
        return "Error"


def http_problem(exc: StarletteHTTPException, path: str) -> Problem:
    """Starlette's ``HTTPException`` (404 unknown path, 405 wrong method, ...) as a problem:
    ``about:blank`` with the status phrase as title (RFC 9457 section 4.2.1), its headers
    (``Allow`` on a 405) kept."""
    status = exc.status_code
    phrase = _phrase(status)
    detail = exc.detail if isinstance(exc.detail, str) and exc.detail != phrase else ""
    if not detail and status == 404:
        detail = f"{path}: no such resource"
    if not detail and status == 405:
        allowed = (exc.headers or {}).get("Allow", "")
        detail = f"{path}: method not allowed" + (f"; allowed: {allowed}" if allowed else "")
    return Problem(status, phrase, detail, headers=exc.headers)


def _location(loc: tuple[Any, ...] | list[Any]) -> str:
    """``("body", 0, "seller", "name")`` -> ``body[0].seller.name``."""
    text = ""
    for part in loc:
        if isinstance(part, int):
            text += f"[{part}]"
        else:
            text += f".{part}" if text else str(part)
    return text


_TOO_LARGE = object()
_VALUE_CAP = 200


def _shown_value(value: Any) -> Any:
    """The invalid value as the answer shows it: scalars as sent (text cut at 200 characters,
    bytes decoded with replacement), a list or object only while its JSON is short."""
    if isinstance(value, bytes):
        value = value.decode("utf-8", errors="replace")
    if isinstance(value, str):
        return value if len(value) <= _VALUE_CAP else value[:_VALUE_CAP] + "..."
    if value is None or isinstance(value, bool | int | float):
        return value
    try:
        text = json.dumps(jsonable_encoder(value))
    except (TypeError, ValueError):
        return _TOO_LARGE
    return value if len(text) <= _VALUE_CAP else _TOO_LARGE


def validation_problem(exc: RequestValidationError) -> Problem:
    """FastAPI's request validation error as a 422 problem whose ``errors`` member lists each
    invalid field: ``location`` (``query.limit``, ``body.records[0].number``), ``message`` and
    the ``value`` that was sent (absent for a missing field)."""
    errors: list[dict[str, Any]] = []
    for error in exc.errors():
        item: dict[str, Any] = {
            "location": _location(error.get("loc", ())),
            "message": str(error.get("msg", "invalid")),
        }
        if error.get("type") != "missing" and "input" in error:
            value = _shown_value(error["input"])
            if value is not _TOO_LARGE:
                item["value"] = value
        errors.append(item)
    fields = ", ".join(e["location"] for e in errors) or "the request"
    return Problem(
        422,
        "Invalid request",
        f"{len(errors)} invalid field(s): {fields}",
        kind="validation",
        errors=errors,
    )


def install_problem_handlers(app: FastAPI, prefix: str = API_PREFIX) -> None:
    """Answer :class:`Problem`, ``HTTPException`` and ``RequestValidationError`` as problem
    details for requests under ``prefix``; elsewhere FastAPI's own answers stay."""
    prefix = prefix.rstrip("/")

    def under(request: Request) -> bool:
        path = request.url.path
        return path == prefix or path.startswith(prefix + "/")

    async def on_problem(request: Request, exc: Exception) -> Response:
        assert isinstance(exc, Problem)
        return problem_response(exc)

    async def on_http(request: Request, exc: Exception) -> Response:
        assert isinstance(exc, StarletteHTTPException)
        if not under(request):
            return await http_exception_handler(request, exc)
        return problem_response(http_problem(exc, request.url.path))

    async def on_validation(request: Request, exc: Exception) -> Response:
        assert isinstance(exc, RequestValidationError)
        if not under(request):
            return await request_validation_exception_handler(request, exc)
        return problem_response(validation_problem(exc))

    app.add_exception_handler(Problem, on_problem)
    app.add_exception_handler(StarletteHTTPException, on_http)
    app.add_exception_handler(RequestValidationError, on_validation)
