"""The webhook API through a real uvicorn server: admin scope, CRUD, the secret answered once,
the delivery log, redelivery, 422 naming what is accepted, 404 for another tenant's ids."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from store_backends import T0, store, store_url  # noqa: F401  (fixtures)

from gateway.peers.serve import serve_in_thread
from gateway.store import Store
from gateway.store.inbound import record_inbound
from gateway.store.keys import create_key
from gateway.store.webhooks import WebhookStore
from gateway.web.api.problems import install_problem_handlers
from gateway.web.api.webhooks import router


@pytest.fixture
def served(store: Store) -> Iterator[tuple[str, Store]]:  # noqa: F811
    """The webhook router under /api/v1 on a loopback server: (base URL, store)."""
    app = FastAPI()
    app.state.store = store
    install_problem_handlers(app)
    app.include_router(router, prefix="/api/v1")
    with serve_in_thread(app) as base:
        yield f"{base}/api/v1", store


def _auth(store: Store, scopes: tuple[str, ...] = ("admin",)) -> dict[str, str]:  # noqa: F811
    key = create_key(store, "test", scopes, T0).key
    return {"Authorization": f"Bearer {key}"}


def test_create_list_change_delete(served: tuple[str, Store]) -> None:
    """POST answers the generated whsec_ secret once; GET hides it; PATCH disables; DELETE
    removes (then 404)."""
    base, opened = served
    h = _auth(opened)
    made = httpx.post(
        f"{base}/webhooks",
        json={"url": "https://erp.example/h", "events": ["delivery.state_changed"]},
        headers=h,
    )
    assert made.status_code == 201, made.text
    body: dict[str, Any] = made.json()
    assert body["secret"].startswith("whsec_")
    listed = httpx.get(f"{base}/webhooks", headers=h).json()
    assert [s["secret"] for s in listed] == ["(hidden)"]
    changed = httpx.patch(f"{base}/webhooks/{body['id']}", json={"enabled": False}, headers=h)
    assert changed.json()["enabled"] is False
    assert httpx.delete(f"{base}/webhooks/{body['id']}", headers=h).status_code == 204
    assert httpx.get(f"{base}/webhooks/{body['id']}", headers=h).status_code == 404


def test_bad_input_is_422_naming_what_is_accepted(served: tuple[str, Store]) -> None:
    """An unknown event type, a non-http URL and any given secret (references name the
    operator's files: CLI only) are 422 problems that say what is accepted."""
    base, opened = served
    h = _auth(opened)
    for payload, words in (
        ({"url": "https://x.example", "events": ["invoice.eaten"]}, "delivery.state_changed"),
        ({"url": "ftp://x.example", "events": ["inbound.received"]}, "http(s)"),
        (
            {"url": "https://x.example", "events": ["inbound.received"], "secret": "hunter2"},
            "igw webhooks add",
        ),
    ):
        answer = httpx.post(f"{base}/webhooks", json=payload, headers=h)
        assert answer.status_code == 422, answer.text
        assert words in answer.json()["detail"] and "hunter2" not in answer.text


def test_needs_admin_and_hides_other_tenants(served: tuple[str, Store]) -> None:
    """A read-only key gets 403; another tenant's subscription and delivery are 404."""
    base, opened = served
    assert httpx.get(f"{base}/webhooks", headers=_auth(opened, ("read",))).status_code == 403
    opened.create_tenant("acme", "Acme", T0)
    theirs = WebhookStore(opened.engine, "acme").add_subscription(
        "https://acme.example/h", ["inbound.received"], "env:X", T0
    )
    h = _auth(opened)
    assert httpx.get(f"{base}/webhooks/{theirs.id}", headers=h).status_code == 404
    assert httpx.post(f"{base}/webhooks/{theirs.id}/redeliver", headers=h).status_code == 404
    assert httpx.get(f"{base}/webhooks", headers=h).json() == []


def test_log_and_redeliver(served: tuple[str, Store]) -> None:
    """The deliveries list shows the message; redelivering it makes it PENDING and due."""
    base, opened = served
    h = _auth(opened)
    sub = httpx.post(
        f"{base}/webhooks",
        json={"url": "https://erp.example/h", "events": ["inbound.received"]},
        headers=h,
    ).json()
    record_inbound(
        opened, channel="as2", partner="acme", message_id="<m1>", media_type="x",
        content=b"x", now=dt.datetime.now(dt.UTC),
    )  # fmt: skip
    rows = httpx.get(f"{base}/webhooks/{sub['id']}/deliveries", headers=h).json()
    assert [(r["type"], r["state"]) for r in rows] == [("inbound.received", "PENDING")]
    again = httpx.post(f"{base}/webhooks/deliveries/{rows[0]['id']}/redeliver", headers=h)
    assert again.status_code == 200 and again.json()["msg_id"] == rows[0]["msg_id"]
    assert httpx.get(f"{base}/webhooks/{sub['id']}/attempts", headers=h).json() == []
    bad = httpx.get(f"{base}/webhooks/{sub['id']}/deliveries?state=LOST", headers=h)
    assert bad.status_code == 422 and "PENDING" in bad.json()["detail"]
