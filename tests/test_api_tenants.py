"""Tenant isolation over the whole REST API: every /api/v1 operation called with tenant B's
key on tenant A's invoices, documents and inbound messages answers 404 (or B's own, empty,
view), never A's data - exactly as for ids that do not exist."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator

import httpx
import pytest
from api_harness import (
    GOLDEN_UBL,
    T0,
    Api,
    create_api_key,
    demo_profiles,
    example_records,
    served,
)
from store_backends import store_url  # noqa: F401  (fixture)

from gateway.delivery.submit import submit
from gateway.intake import read_records
from gateway.store import Store

A, B = "acme", "bravo"


@pytest.fixture
def two_tenants(
    store_url: str,  # noqa: F811
    monkeypatch: pytest.MonkeyPatch,
) -> Iterator[Api]:
    """A store (SQLite, PostgreSQL) where tenant A has 4 invoices, tenant B nothing."""
    monkeypatch.setenv("IGW_DEMO_CXML_SECRET", "test-secret")
    store = Store.open(store_url)
    store.migrate()
    store.create_tenant(A, "Acme", T0)
    store.create_tenant(B, "Bravo", T0)
    records = read_records(json.dumps(example_records(4)).encode(), "json")
    report = submit(records, store.for_tenant(A), demo_profiles(), now=T0, run_validation=False)
    assert report.count("stored") == 4
    with served(store) as api:
        yield api
    store.close()


Call = Callable[[httpx.Client, dict[str, int]], httpx.Response]

#: (method, path template) -> a request of that operation on tenant A's ids; those of the
#: submit helper's routers run once their module is in the document
CALLS: dict[tuple[str, str], Call] = {
    ("get", "/api/v1/invoices"): lambda c, ids: c.get("/api/v1/invoices"),
    ("get", "/api/v1/invoices/{invoice_id}"): lambda c, ids: c.get(
        f"/api/v1/invoices/{ids['invoice']}"
    ),
    ("get", "/api/v1/documents/{document_id}"): lambda c, ids: c.get(
        f"/api/v1/documents/{ids['document']}"
    ),
    ("get", "/api/v1/inbound"): lambda c, ids: c.get("/api/v1/inbound"),
    ("get", "/api/v1/inbound/{inbound_id}"): lambda c, ids: c.get(
        f"/api/v1/inbound/{ids['inbound']}"
    ),
    ("get", "/api/v1/inbound/{inbound_id}/content"): lambda c, ids: c.get(
        f"/api/v1/inbound/{ids['inbound']}/content"
    ),
    # stateless: B's key works, and the answer is about the body only
    ("post", "/api/v1/translate"): lambda c, ids: c.post(
        "/api/v1/translate?format=peppol-bis3&validate=false", json=example_records(1)[0]
    ),
    ("post", "/api/v1/validate"): lambda c, ids: c.post("/api/v1/validate", content=b"<Invoice/>"),
    # A's own record again: for A a duplicate, for B never "duplicate" (no existence oracle)
    ("post", "/api/v1/invoices"): lambda c, ids: c.post(
        "/api/v1/invoices", json=[example_records(1)[0]]
    ),
    ("post", "/api/v1/deliveries/{delivery_id}/cancel"): lambda c, ids: c.post(
        f"/api/v1/deliveries/{ids['delivery']}/cancel"
    ),
    ("post", "/api/v1/deliveries/{delivery_id}/resend"): lambda c, ids: c.post(
        f"/api/v1/deliveries/{ids['delivery']}/resend"
    ),
    # the webhooks helper's admin routes: A's subscription (its URL names acme) and outbox
    ("post", "/api/v1/webhooks"): lambda c, ids: c.post(
        "/api/v1/webhooks", json={"url": "https://own.example/h", "events": ["inbound.received"]}
    ),
    ("get", "/api/v1/webhooks"): lambda c, ids: c.get("/api/v1/webhooks"),
    ("get", "/api/v1/webhooks/{subscription_id}"): lambda c, ids: c.get(
        f"/api/v1/webhooks/{ids['subscription']}"
    ),
    ("patch", "/api/v1/webhooks/{subscription_id}"): lambda c, ids: c.patch(
        f"/api/v1/webhooks/{ids['subscription']}", json={"enabled": True}
    ),
    ("get", "/api/v1/webhooks/{subscription_id}/deliveries"): lambda c, ids: c.get(
        f"/api/v1/webhooks/{ids['subscription']}/deliveries"
    ),
    ("get", "/api/v1/webhooks/{subscription_id}/attempts"): lambda c, ids: c.get(
        f"/api/v1/webhooks/{ids['subscription']}/attempts"
    ),
    ("post", "/api/v1/webhooks/{subscription_id}/redeliver"): lambda c, ids: c.post(
        f"/api/v1/webhooks/{ids['subscription']}/redeliver"
    ),
    ("post", "/api/v1/webhooks/deliveries/{outbox_id}/redeliver"): lambda c, ids: c.post(
        f"/api/v1/webhooks/deliveries/{ids['outbox']}/redeliver"
    ),
    ("delete", "/api/v1/webhooks/{subscription_id}"): lambda c, ids: c.delete(
        f"/api/v1/webhooks/{ids['subscription']}"
    ),
    # B's own inbound message: stored under B, not answered with A's copy of the same bytes
    ("post", "/api/v1/inbound"): lambda c, ids: c.post(
        "/api/v1/inbound", content=GOLDEN_UBL.read_bytes()
    ),
}


def test_every_operation_with_another_tenants_key_sees_nothing_of_it(two_tenants: Api) -> None:
    """B's key (every scope) on A's ids: 404 for each of A's resources, B's lists empty or B's
    own; no answer carries A's invoice numbers, ids or its inbound message."""
    api = two_tenants
    a = api.client(create_api_key(api.store, A, ["read", "submit", "admin"], name="a"))
    b = api.client(create_api_key(api.store, B, ["read", "submit", "admin"], name="b"))
    invoice = a.get("/api/v1/invoices").json()["items"][0]
    detail = a.get(invoice["link"]).json()
    document_ops = {(m, p) for p, item in api.app.openapi()["paths"].items() for m in item}
    ids = {"subscription": 999_999, "outbox": 999_999}
    if ("post", "/api/v1/webhooks") in document_ops:
        hook = {"url": f"https://{A}.example/hooks", "events": ["inbound.received"]}
        ids["subscription"] = a.post("/api/v1/webhooks", json=hook).json()["id"]
    inbound = a.post("/api/v1/inbound", content=GOLDEN_UBL.read_bytes()).json()
    if ("post", "/api/v1/webhooks") in document_ops:
        outbox = a.get(f"/api/v1/webhooks/{ids['subscription']}/deliveries").json()
        ids["outbox"] = outbox[0]["id"] if outbox else ids["outbox"]
    ids |= {
        "invoice": invoice["id"],
        "document": detail["documents"][0]["id"],
        "delivery": detail["deliveries"][0]["id"],
        "inbound": inbound["id"],
    }
    missing = sorted(document_ops - set(CALLS))
    assert not missing, f"operations without an isolation call: {missing}"
    calls = {op: call for op, call in CALLS.items() if op in document_ops}
    a_numbers = [r["number"] for r in example_records(4)]
    for (method, path), call in calls.items():  # B first: A's ids all exist meanwhile
        answer = call(b, ids)
        where = f"{method.upper()} {path}: {answer.status_code} {answer.text[:200]}"
        assert answer.status_code < 500, where
        if "{" in path:
            assert answer.status_code == 404, where
            assert answer.headers["content-type"].startswith("application/problem+json"), where
        for number in a_numbers[1:]:  # record 0 is posted (translate, submit): it comes back
            assert number not in answer.text, where
        if path == "/api/v1/invoices" and method == "get":
            assert answer.json()["items"] == [], where
        if path == "/api/v1/inbound" and method == "get":
            assert all(i["partner"] == "b" for i in answer.json()["items"]), where
        if path == "/api/v1/invoices" and method == "post":
            assert answer.json()["summary"]["duplicate"] == 0, where
            assert all(r["status"] != "duplicate" for r in answer.json()["records"]), where
        if path == "/api/v1/inbound" and method == "post":
            assert answer.json()["id"] != ids["inbound"] and not answer.json()["duplicate"], where
        assert f"{A}.example" not in answer.text, where
    for (method, path), call in calls.items():  # A sees its own: the calls reached real data
        answer = call(a, ids)
        if path.endswith("{outbox_id}/redeliver") and ids["outbox"] == 999_999:
            continue  # no outbox row was written for A's inbound message
        assert answer.status_code in (200, 201, 204, 207), f"{method} {path}: {answer.text[:300]}"


def test_another_tenants_id_is_answered_like_a_missing_one(two_tenants: Api) -> None:
    """The 404 of A's invoice under B's key is the 404 of an id that does not exist, byte for
    byte apart from the id (no existence oracle)."""
    api = two_tenants
    a = api.client(create_api_key(api.store, A, ["read"], name="a"))
    b = api.client(create_api_key(api.store, B, ["read"], name="b"))
    own = a.get("/api/v1/invoices").json()["items"][0]["id"]
    theirs, missing = b.get(f"/api/v1/invoices/{own}"), b.get("/api/v1/invoices/999999")
    assert theirs.status_code == missing.status_code == 404
    assert theirs.headers["content-type"] == missing.headers["content-type"]
    assert theirs.text.replace(str(own), "N") == missing.text.replace("999999", "N")
