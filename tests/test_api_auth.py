"""API-key auth and problem details through a real uvicorn server: 401 for a missing, malformed,
wrong, unknown or revoked key, 403 for a missing scope, problem+json under /api/v1 only."""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Iterator
from pathlib import Path
from typing import Annotated, Any

import httpx
import pytest
import sqlalchemy as sa
from fastapi import Depends, FastAPI, Request
from pydantic import BaseModel
from store_backends import T0, sqlite_url, store, store_url  # noqa: F401  (fixtures)

from gateway.peers.serve import serve_in_thread
from gateway.store import Store
from gateway.store import keys as keys_module
from gateway.store.keys import create_key, revoke_key
from gateway.store.schema_keys import api_keys
from gateway.web.api.auth import Principal, require_scope, tenant_store
from gateway.web.api.problems import (
    PROBLEM_MEDIA_TYPE,
    Problem,
    install_problem_handlers,
    not_found,
)

# the key's secret is random: these tests never build one by hand but the wrong-secret one
WRONG_SECRET = "W" * 43


class Body(BaseModel):
    """A request body with two typed fields."""

    number: str
    amount: int


def _app(store: Store) -> FastAPI:  # noqa: F811
    app = FastAPI()
    app.state.store = store
    install_problem_handlers(app)

    def who(principal: Principal, request: Request) -> dict[str, Any]:
        return {
            "tenant": principal.tenant,
            "key_id": principal.key_id,
            "scopes": sorted(principal.scopes),
            "store_tenant": tenant_store(request, principal).tenant,
        }

    @app.post("/api/v1/submit")
    def submit(
        request: Request, principal: Annotated[Principal, Depends(require_scope("submit"))]
    ) -> dict[str, Any]:
        return who(principal, request)

    @app.get("/api/v1/read")
    def read(
        request: Request, principal: Annotated[Principal, Depends(require_scope("read"))]
    ) -> dict[str, Any]:
        return who(principal, request)

    @app.get("/api/v1/admin")
    def admin(
        request: Request, principal: Annotated[Principal, Depends(require_scope("admin"))]
    ) -> dict[str, Any]:
        return who(principal, request)

    @app.post("/api/v1/typed")
    def typed(body: Body, limit: int = 10) -> dict[str, Any]:
        return {"ok": True}

    @app.get("/api/v1/gone")
    def gone() -> dict[str, Any]:
        raise Problem(410, "Gone", "invoice 7: withdrawn", kind="gone", invoice=7)

    @app.get("/plain")
    def plain(limit: int) -> dict[str, Any]:
        return {"limit": limit}

    return app


@pytest.fixture
def served(store: Store) -> Iterator[tuple[str, Store]]:  # noqa: F811
    """The test app over ``store`` on a loopback uvicorn server: (base URL, store)."""
    with serve_in_thread(_app(store)) as base:
        yield base, store


@pytest.fixture
def plain_base(tmp_path: Path) -> Iterator[str]:
    """The test app over a SQLite store (problem details need no second backend): base URL."""
    opened = Store.open(sqlite_url(tmp_path))
    opened.migrate()
    try:
        with serve_in_thread(_app(opened)) as base:
            yield base
    finally:
        opened.close()


def _bearer(key: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {key}"}


def _assert_401(response: httpx.Response) -> dict[str, Any]:
    assert response.status_code == 401, response.text
    assert response.headers["content-type"] == PROBLEM_MEDIA_TYPE
    assert response.headers["www-authenticate"].startswith("Bearer")
    body: dict[str, Any] = response.json()
    assert body["type"].endswith("/problems/unauthorized") and body["status"] == 401
    return body


def test_no_key_is_401_with_a_bearer_challenge(served: tuple[str, Store]) -> None:
    """Without any key: 401 problem+json, WWW-Authenticate: Bearer, saying how to send one."""
    base, _ = served
    body = _assert_401(httpx.get(f"{base}/api/v1/read"))
    assert "Authorization: Bearer" in body["detail"] and "X-API-Key" in body["detail"]


def test_a_malformed_key_or_scheme_is_401(served: tuple[str, Store]) -> None:
    """Bearer with a token that is no igw key, Basic auth, and a bare 'Bearer' are 401 saying
    what is accepted."""
    base, _ = served
    body = _assert_401(httpx.get(f"{base}/api/v1/read", headers=_bearer("abc")))
    assert "malformed" in body["detail"]
    body = _assert_401(httpx.get(f"{base}/api/v1/read", headers={"Authorization": "Basic eDp5"}))
    assert "'Basic'" in body["detail"] and "Bearer" in body["detail"]
    _assert_401(httpx.get(f"{base}/api/v1/read", headers={"Authorization": "Bearer"}))


def test_x_api_key_wins_over_a_proxys_basic_credentials(served: tuple[str, Store]) -> None:
    """Authorization: Basic (set by a proxy) beside a valid X-API-Key: the key authenticates."""
    base, store = served  # noqa: F811
    key = create_key(store, "erp", ["read"], T0).key
    headers = {"Authorization": "Basic eDp5", "X-API-Key": key}
    assert httpx.get(f"{base}/api/v1/read", headers=headers).status_code == 200


def test_wrong_secret_unknown_and_revoked_keys_get_the_same_401(
    served: tuple[str, Store],
) -> None:
    """A right prefix with a wrong secret, an unknown prefix and a revoked key are one and the
    same 401 answer (no oracle telling which)."""
    base, store = served  # noqa: F811
    good = create_key(store, "erp", ["read"], T0)
    revoked = create_key(store, "old", ["read"], T0)
    revoke_key(store, revoked.row.id, T0)
    presented = [
        f"igw_{good.row.prefix}_{WRONG_SECRET}",
        f"igw_zzzzzzzz_{WRONG_SECRET}",
        revoked.key,
    ]
    answers = [httpx.get(f"{base}/api/v1/read", headers=_bearer(k)) for k in presented]
    bodies = [_assert_401(answer) for answer in answers]
    assert bodies[0] == bodies[1] == bodies[2]
    for key, answer in zip(presented, answers, strict=True):
        assert key.split("_", 2)[2] not in answer.text + str(answer.headers)
    assert httpx.get(f"{base}/api/v1/read", headers=_bearer(good.key)).status_code == 200


def test_a_key_without_the_scope_is_403_naming_both(served: tuple[str, Store]) -> None:
    """A read key on a submit endpoint: 403 problem naming the scope needed and the key's."""
    base, store = served  # noqa: F811
    key = create_key(store, "reader", ["read"], T0).key
    response = httpx.post(f"{base}/api/v1/submit", headers=_bearer(key))
    assert response.status_code == 403
    assert response.headers["content-type"] == PROBLEM_MEDIA_TYPE
    body = response.json()
    assert body["required_scope"] == "submit" and body["key_scopes"] == ["read"]
    assert "'submit'" in body["detail"] and "read" in body["detail"]
    assert httpx.get(f"{base}/api/v1/admin", headers=_bearer(key)).status_code == 403


def test_the_right_scope_passes_with_the_keys_tenant(served: tuple[str, Store]) -> None:
    """A submit,read key of tenant acme passes /submit and /read; the principal and the store
    the endpoint gets are acme's."""
    base, store = served  # noqa: F811
    store.create_tenant("acme", "Acme Ltd", T0)
    new = create_key(store.for_tenant("acme"), "acme-erp", ["submit", "read"], T0)
    for method, path in (("POST", "submit"), ("GET", "read")):
        response = httpx.request(method, f"{base}/api/v1/{path}", headers=_bearer(new.key))
        assert response.status_code == 200, response.text
        assert response.json() == {
            "tenant": "acme",
            "key_id": new.row.id,
            "scopes": ["read", "submit"],
            "store_tenant": "acme",
        }


def test_admin_implies_every_scope(served: tuple[str, Store]) -> None:
    """An admin key passes the submit, read and admin endpoints."""
    base, store = served  # noqa: F811
    key = create_key(store, "ops", ["admin"], T0).key
    for method, path in (("POST", "submit"), ("GET", "read"), ("GET", "admin")):
        assert httpx.request(method, f"{base}/api/v1/{path}", headers=_bearer(key)).is_success


def test_x_api_key_header_is_accepted(served: tuple[str, Store]) -> None:
    """The key in X-API-Key authenticates like the bearer token; a wrong one there is 401."""
    base, store = served  # noqa: F811
    key = create_key(store, "erp", ["read"], T0)
    assert httpx.get(f"{base}/api/v1/read", headers={"X-API-Key": key.key}).status_code == 200
    wrong = f"igw_{key.row.prefix}_{WRONG_SECRET}"
    _assert_401(httpx.get(f"{base}/api/v1/read", headers={"X-API-Key": wrong}))


def test_a_request_compares_the_secret_in_constant_time(
    served: tuple[str, Store], monkeypatch: pytest.MonkeyPatch
) -> None:
    """The server checks a presented secret with hmac.compare_digest against the stored hash."""
    base, store = served  # noqa: F811
    key = create_key(store, "erp", ["read"], T0)
    compared: list[tuple[str, str]] = []
    real = keys_module.hmac.compare_digest

    def spy(a: str, b: str) -> bool:
        compared.append((a, b))
        return real(a, b)

    monkeypatch.setattr(keys_module.hmac, "compare_digest", spy)
    assert httpx.get(f"{base}/api/v1/read", headers=_bearer(key.key)).status_code == 200
    with store.engine.connect() as db:
        stored = db.scalar(sa.select(api_keys.c.secret_hash).where(api_keys.c.id == key.row.id))
    assert compared and compared[-1][1] == stored


def test_requests_record_last_used_once_a_minute(served: tuple[str, Store]) -> None:
    """Ten requests in a row set last_used_at once (one UPDATE), not once per request."""
    base, store = served  # noqa: F811
    key = create_key(store, "erp", ["read"], T0)
    updates: list[str] = []

    def count(conn: object, cursor: object, statement: str, *args: object) -> None:
        if statement.lstrip().upper().startswith("UPDATE API_KEYS"):
            updates.append(statement)

    sa.event.listen(store.engine, "before_cursor_execute", count)
    try:
        with httpx.Client(base_url=base, headers=_bearer(key.key)) as client:
            for _ in range(10):
                assert client.get("/api/v1/read").status_code == 200
    finally:
        sa.event.remove(store.engine, "before_cursor_execute", count)
    assert len(updates) == 1
    with store.engine.connect() as db:
        used = db.scalar(sa.select(api_keys.c.last_used_at).where(api_keys.c.id == key.row.id))
    assert used is not None and abs(used - dt.datetime.now(dt.UTC)) < dt.timedelta(minutes=1)


def test_a_key_never_appears_in_the_logs(
    served: tuple[str, Store], caplog: pytest.LogCaptureFixture
) -> None:
    """Good, wrong-secret, revoked and wrong-scope requests log nothing of any key's secret."""
    base, store = served  # noqa: F811
    caplog.set_level(logging.DEBUG)
    good = create_key(store, "erp", ["read"], T0)
    revoked = create_key(store, "old", ["read"], T0)
    revoke_key(store, revoked.row.id, T0)
    wrong = f"igw_{good.row.prefix}_{WRONG_SECRET}"
    for key in (good.key, wrong, revoked.key):
        httpx.get(f"{base}/api/v1/read", headers=_bearer(key))
        httpx.post(f"{base}/api/v1/submit", headers={"X-API-Key": key})
    logged = caplog.text + "".join(str(r.args) for r in caplog.records)
    assert "API key refused" in logged  # the refusals are logged, by prefix only
    for key in (good.key, wrong, revoked.key):
        assert key not in logged and key.split("_", 2)[2] not in logged


def test_a_store_failure_is_a_503_problem(
    served: tuple[str, Store], monkeypatch: pytest.MonkeyPatch
) -> None:
    """When the key cannot be looked up (store away), the answer is a 503 problem, not a 500
    traceback."""
    base, store = served  # noqa: F811
    key = create_key(store, "erp", ["read"], T0).key

    def away(*args: object) -> None:
        raise sa.exc.OperationalError("SELECT", {}, Exception("connection refused"))

    monkeypatch.setattr("gateway.web.api.auth.authenticate", away)
    response = httpx.get(f"{base}/api/v1/read", headers=_bearer(key))
    assert response.status_code == 503
    assert response.json()["type"].endswith("/problems/unavailable")


def test_openapi_lists_both_security_schemes(store: Store) -> None:  # noqa: F811
    """components.securitySchemes has the bearer and X-API-Key schemes; each protected
    operation names them as alternatives, an open one names none."""
    document = _app(store).openapi()
    schemes = document["components"]["securitySchemes"]
    assert schemes["bearerAuth"]["type"] == "http" and schemes["bearerAuth"]["scheme"] == "bearer"
    assert schemes["apiKeyHeader"] == {
        "type": "apiKey",
        "in": "header",
        "name": "X-API-Key",
        "description": schemes["apiKeyHeader"]["description"],
    }
    read = document["paths"]["/api/v1/read"]["get"]
    assert read["security"] == [{"bearerAuth": []}, {"apiKeyHeader": []}]
    assert "security" not in document["paths"]["/api/v1/typed"]["post"]


def test_require_scope_refuses_an_unknown_scope() -> None:
    """require_scope('write') is a programming error naming the accepted scopes."""
    with pytest.raises(ValueError, match="accepted: submit, read, admin"):
        require_scope("write")


# -- problem details ---------------------------------------------------------------------------


def test_a_validation_error_lists_every_invalid_field(plain_base: str) -> None:
    """A bad query value, a wrong body type and a missing body field: one 422 problem whose
    errors name each location, message and (where sent) value."""
    base = plain_base
    response = httpx.post(f"{base}/api/v1/typed?limit=many", json={"amount": "ten"})
    assert response.status_code == 422
    assert response.headers["content-type"] == PROBLEM_MEDIA_TYPE
    body = response.json()
    assert body["type"].endswith("/problems/validation")
    errors = {e["location"]: e for e in body["errors"]}
    assert set(errors) == {"query.limit", "body.number", "body.amount"}
    assert errors["query.limit"]["value"] == "many"
    assert errors["body.amount"]["value"] == "ten"
    assert "value" not in errors["body.number"] and errors["body.number"]["message"]
    assert "query.limit" in body["detail"]


def test_unknown_paths_and_methods_under_the_prefix_are_problems(plain_base: str) -> None:
    """GET /api/v1/nothing is a 404 problem naming the path; DELETE on a GET route is a 405
    problem keeping the Allow header."""
    base = plain_base
    missing = httpx.get(f"{base}/api/v1/nothing")
    assert missing.status_code == 404
    assert missing.headers["content-type"] == PROBLEM_MEDIA_TYPE
    assert missing.json() == {
        "type": "about:blank",
        "title": "Not Found",
        "status": 404,
        "detail": "/api/v1/nothing: no such resource",
    }
    wrong = httpx.delete(f"{base}/api/v1/read")
    assert wrong.status_code == 405 and wrong.headers["allow"] == "GET"
    assert wrong.json()["title"] == "Method Not Allowed" and "GET" in wrong.json()["detail"]


def test_routes_outside_the_prefix_keep_fastapis_answers(plain_base: str) -> None:
    """/nothing and /plain?limit=x answer as FastAPI does (application/json, detail)."""
    base = plain_base
    missing = httpx.get(f"{base}/nothing")
    assert missing.status_code == 404 and missing.json() == {"detail": "Not Found"}
    assert missing.headers["content-type"] == "application/json"
    invalid = httpx.get(f"{base}/plain?limit=x")
    assert invalid.status_code == 422 and invalid.headers["content-type"] == "application/json"
    assert isinstance(invalid.json()["detail"], list)


def test_a_raised_problem_carries_its_type_and_extension_members(plain_base: str) -> None:
    """Problem(410, ..., kind='gone', invoice=7) is answered with exactly those members."""
    base = plain_base
    response = httpx.get(f"{base}/api/v1/gone")
    assert response.status_code == 410
    assert response.json() == {
        "type": "https://invoice-gateway.dev/problems/gone",
        "title": "Gone",
        "status": 410,
        "detail": "invoice 7: withdrawn",
        "invoice": 7,
    }


def test_not_found_reads_the_same_for_every_id() -> None:
    """not_found('invoice', 7) is the 404 problem 'invoice 7: no such invoice', whatever the
    reason the id is not there."""
    problem = not_found("invoice", 7)
    assert problem.body() == {
        "type": "https://invoice-gateway.dev/problems/not-found",
        "title": "Not Found",
        "status": 404,
        "detail": "invoice 7: no such invoice",
    }


def test_a_huge_invalid_value_is_cut(plain_base: str) -> None:
    """An invalid 10,000-character value is echoed cut to 200 characters and '...'."""
    base = plain_base
    response = httpx.post(
        f"{base}/api/v1/typed", json={"number": "1", "amount": "9" * 10_000 + "x"}
    )
    value = response.json()["errors"][0]["value"]
    assert value == "9" * 200 + "..."
