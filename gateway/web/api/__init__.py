"""The REST API under ``/api/v1``: JSON, API keys with scopes, errors as RFC 9457 problem
details, the OpenAPI 3.1 document at ``/api/v1/openapi.json`` and interactive docs at
``/docs`` (Swagger UI) and ``/redoc``, served from installed files.

One router per face of the API, each module exporting ``router``; :data:`ROUTERS` names them in
the order they appear in the document (a module not installed yet is left out)::

    app = FastAPI(openapi_url=OPENAPI_URL, docs_url=None, redoc_url=None)
    install_api(app, store=store)
"""

from __future__ import annotations

import importlib
import json
import re
from collections.abc import Sequence
from typing import Any

from fastapi import APIRouter, Depends, FastAPI, Request, Response
from fastapi.openapi.utils import get_openapi

from gateway import __version__
from gateway.web.api.deps import PROBLEM_MEDIA_TYPE, ids_in_range, known_query
from gateway.web.api.docs import install_docs
from gateway.web.api.models import API_PREFIX, ProblemOut

OPENAPI_URL = f"{API_PREFIX}/openapi.json"
TITLE = "invoice-gateway API"

#: the modules of gateway.web.api whose ``router`` is mounted under /api/v1, in document order
ROUTERS: tuple[str, ...] = (
    "submit",
    "invoices",
    "documents",
    "deliveries",
    "stateless",
    "inbound",
    "webhooks",
    "keys",
)

DESCRIPTION = """\
The invoice-gateway as a service: submit ERP records, follow invoices and deliveries, download
the rendered documents, translate and validate without storing, receive inbound invoices.

Every request carries an API key (`Authorization: Bearer <key>`); each key belongs to one
tenant and has scopes (`read`, `submit`, `admin`). A key of another tenant gets 404 for
everything it cannot see, exactly as for an id that does not exist. Errors are
`application/problem+json` (RFC 9457): `title`, `status`, `detail` naming what was wrong, the
value and what is accepted. Lists are pages, oldest first: follow `next` (an opaque cursor)
until it is null; a page never repeats or skips an item while new ones arrive.
"""


def build_api(names: Sequence[str] = ROUTERS) -> APIRouter:
    """One router with every API module's routes under ``/api/v1`` (modules of ``names`` that
    are not there are skipped: they arrive with their own branch)."""
    api = APIRouter(prefix=API_PREFIX, dependencies=[Depends(known_query), Depends(ids_in_range)])
    for name in names:
        try:
            module = importlib.import_module(f"gateway.web.api.{name}")
        except ModuleNotFoundError as exc:
            if exc.name != f"gateway.web.api.{name}":
                raise
            continue
        api.include_router(module.router)
    return api


def install_api(app: FastAPI, *, docs: bool = True) -> None:
    """Mount the API on ``app`` (whose ``openapi_url`` is :data:`OPENAPI_URL`): problem
    handlers, every router, the OpenAPI document of the API routes only, and the docs."""
    from gateway.web.api.problems import install_problem_handlers

    install_problem_handlers(app)
    app.include_router(build_api())

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            app.openapi_schema = api_document(app)
        return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign]
    app.add_exception_handler(405, _method_not_allowed)  # before the class handlers
    if docs:
        install_docs(app, OPENAPI_URL, TITLE)


def api_document(app: FastAPI) -> dict[str, Any]:
    """The OpenAPI 3.1 document of the app's ``/api/v1`` routes (the AS2 endpoint, health and
    metrics routes are the operators', not the API's)."""
    document = get_openapi(
        title=TITLE,
        version=__version__,
        openapi_version="3.1.0",
        description=DESCRIPTION,
        routes=app.routes,
    )
    document["paths"] = {
        path: item
        for path, item in document.get("paths", {}).items()
        if path.startswith(API_PREFIX + "/")
    }
    _problem_schema(document)
    return document


_BAD_REQUEST = "bad request (e.g. an unknown query parameter): what, which value, what is accepted"
_UNPROCESSABLE = "the request does not match the schema: each invalid field with its value"


def _problem_schema(document: dict[str, Any]) -> None:
    """Put the RFC 9457 problem schema into the components (the routes name it by reference)
    and make every declared error a problem+json response."""
    components = document.setdefault("components", {})
    schemas = components.setdefault("schemas", {})
    if "Problem" not in schemas:
        schemas["Problem"] = ProblemOut.model_json_schema()
    for template, path in document.get("paths", {}).items():
        for operation in path.values():
            responses = operation.setdefault("responses", {})
            # every API route refuses unknown query parameters (known_query) and answers a
            # request that does not match its schema with a problem; a keyed one 401/403,
            # one with an id in its path 404
            responses.setdefault("400", {"description": _BAD_REQUEST})
            responses.setdefault("422", {"description": _UNPROCESSABLE})
            if operation.get("security"):
                responses.setdefault("401", {"description": "no valid API key"})
                responses.setdefault("403", {"description": "the key lacks the scope"})
            if "{" in template:
                responses.setdefault("404", {"description": "no such resource for the tenant"})
            for status, response in responses.items():
                if not str(status).startswith(("4", "5")):
                    continue
                # FastAPI's own 422 names HTTPValidationError: ours answer problem details
                response["content"] = {
                    PROBLEM_MEDIA_TYPE: {"schema": {"$ref": "#/components/schemas/Problem"}}
                }
    for unused in ("HTTPValidationError", "ValidationError"):
        if unused not in json.dumps(document.get("paths", {})):
            schemas.pop(unused, None)


async def _method_not_allowed(request: Request, exc: Exception) -> Response:
    """405 as problem details with an ``Allow`` that names every method of the path (routing
    alone names only those of the last route matching it: ``/inbound`` has GET and POST)."""
    from gateway.web.api.problems import Problem, problem_response

    path = request.url.path
    allowed: set[str] = set()
    for template, item in request.app.openapi().get("paths", {}).items():
        pattern = re.sub(r"\\{[^/]+?\\}", "[^/]+", re.escape(template))
        if re.fullmatch(pattern, path):
            allowed |= {m.upper() for m in item if m.upper() in _METHODS}
    if not allowed:  # not an API path: what routing found
        given = (getattr(exc, "headers", None) or {}).get("Allow", "")
        allowed = {m.strip() for m in given.split(",") if m.strip()}
    allow = ", ".join(sorted(allowed))
    detail = f"{request.method} {path}: method not allowed; accepted: {allow or 'none'}"
    return problem_response(Problem(405, "Method Not Allowed", detail, headers={"Allow": allow}))


_METHODS = frozenset({"GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS"})
