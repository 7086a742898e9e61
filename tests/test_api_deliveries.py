"""POST /api/v1/deliveries/{id}/resend and /cancel over a real uvicorn server: the store
transitions igw resend and igw cancel use, 404 for a missing id or another tenant's delivery,
409 naming the state and what is allowed, the audit log; SQLite and PostgreSQL."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from api_submit_harness import (
    OTHER_TENANT,
    T0,
    Api,
    api_key,
    backend_store,
    demo_profiles,
    example_records,
    problem,
    served,
)

from gateway.delivery.submit import submit
from gateway.intake import read_records
from gateway.store import DeliveryState, Store
from gateway.store.audit import list_audit


@pytest.fixture(autouse=True)
def _cxml_secret(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("IGW_DEMO_CXML_SECRET", "test-secret")


@pytest.fixture(params=["sqlite", "postgresql"])
def api(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Api]:
    """The API on each backend, the first two examples stored for the default tenant."""
    with backend_store(request.param, tmp_path) as store:
        _submit(store, 2)
        with served(store, demo_profiles()) as running:
            yield running


@pytest.fixture
def client(api: Api) -> Iterator[httpx.Client]:
    """A client with a submit key of the default tenant."""
    with api.client(api_key(api.store, "default", ["submit"])) as opened:
        yield opened


def _submit(store: Store, count: int) -> list[int]:
    """Store ``count`` examples as igw submit does; their delivery ids."""
    data = json.dumps(example_records(count)).encode()
    report = submit(read_records(data, "json"), store, demo_profiles(), now=T0)
    assert report.count("stored") == count
    return [d for o in report.outcomes for d in o.delivery_ids]


def _move(store: Store, delivery_id: int, *states: DeliveryState) -> None:
    for state in states:
        store.mark(delivery_id, state, now=T0, kind=state.value.lower())


def _first(store: Store) -> int:
    return store.deliveries()[0].id


def test_resend_of_a_failed_delivery_queues_it_again(client: httpx.Client, api: Api) -> None:
    """FAILED -> resend: 200, QUEUED due now, a resend event, same transmission."""
    delivery = _first(api.store)
    _move(api.store, delivery, DeliveryState.FAILED)
    response = client.post(f"/api/v1/deliveries/{delivery}/resend")
    assert response.status_code == 200, response.text
    body = response.json()
    assert (body["id"], body["state"], body["previous_state"]) == (delivery, "QUEUED", "FAILED")
    assert body["new_transmission"] is False and body["transmission"] == 1
    row = api.store.delivery(delivery)
    assert row.state == DeliveryState.QUEUED and row.next_attempt_at == T0
    (event,) = [e for e in api.store.timeline(row.invoice_number) if e.kind == "resend"]
    assert "API key 'erp'" in event.detail


def test_resend_of_a_delivered_one_needs_force(client: httpx.Client, api: Api) -> None:
    """DELIVERED: resend is 409 saying force also re-sends it; force=true queues it as a new
    transmission."""
    delivery = _first(api.store)
    _move(api.store, delivery, DeliveryState.SENT, DeliveryState.DELIVERED)
    refused = problem(client.post(f"/api/v1/deliveries/{delivery}/resend"), 409)
    assert refused["state"] == "DELIVERED" and "force=true" in refused["detail"]
    assert "FAILED" in refused["allowed_from"]
    assert api.store.delivery(delivery).state == DeliveryState.DELIVERED
    forced = client.post(f"/api/v1/deliveries/{delivery}/resend", params={"force": "true"})
    assert forced.status_code == 200, forced.text
    assert forced.json()["state"] == "QUEUED" and forced.json()["previous_state"] == "DELIVERED"


def test_cancel_then_cancel_again_is_409(client: httpx.Client, api: Api) -> None:
    """QUEUED -> cancel: CANCELLED with a cancelled event; a second cancel is 409 naming the
    state CANCELLED and the states a cancel leaves."""
    delivery = _first(api.store)
    response = client.post(f"/api/v1/deliveries/{delivery}/cancel")
    assert response.status_code == 200, response.text
    assert response.json()["state"] == "CANCELLED"
    row = api.store.delivery(delivery)
    assert row.state == DeliveryState.CANCELLED
    assert any(e.kind == "cancelled" for e in api.store.timeline(row.invoice_number))
    again = problem(client.post(f"/api/v1/deliveries/{delivery}/cancel"), 409)
    assert again["state"] == "CANCELLED" and again["type"].endswith("/transition-not-allowed")
    assert "QUEUED" in again["allowed_from"] and "QUEUED" in again["detail"]


def test_resend_after_a_business_answer_is_409_even_forced(client: httpx.Client, api: Api) -> None:
    """REJECTED is final: resend (forced or not) is 409 naming the state."""
    delivery = _first(api.store)
    _move(api.store, delivery, DeliveryState.SENT, DeliveryState.REJECTED)
    for params in ({}, {"force": "true"}):
        body = problem(client.post(f"/api/v1/deliveries/{delivery}/resend", params=params), 409)
        assert body["state"] == "REJECTED" and "REJECTED" in body["detail"]
    assert api.store.delivery(delivery).state == DeliveryState.REJECTED


def test_missing_delivery_is_404(client: httpx.Client) -> None:
    """A delivery id that does not exist: 404 problem for resend and cancel."""
    for action in ("resend", "cancel"):
        body = problem(client.post(f"/api/v1/deliveries/999999/{action}"), 404)
        assert "999999" in body["detail"]


def test_another_tenants_delivery_is_404_and_untouched(api: Api) -> None:
    """A key of tenant acme cannot resend or cancel the default tenant's delivery: 404, exactly
    as for a missing id; the delivery stays as it was."""
    delivery = _first(api.store)
    _move(api.store, delivery, DeliveryState.FAILED)
    with api.client(api_key(api.store, OTHER_TENANT, ["submit"])) as other:
        for action in ("resend", "cancel"):
            mine = problem(other.post(f"/api/v1/deliveries/{delivery}/{action}"), 404)
            missing = problem(other.post(f"/api/v1/deliveries/999999/{action}"), 404)
            assert mine["detail"].replace(str(delivery), "N") == missing["detail"].replace(
                "999999", "N"
            )
    assert api.store.delivery(delivery).state == DeliveryState.FAILED


def test_read_key_is_403(api: Api) -> None:
    """A key without the submit scope cannot resend or cancel: 403."""
    delivery = _first(api.store)
    with api.client(api_key(api.store, "default", ["read"])) as reader:
        problem(reader.post(f"/api/v1/deliveries/{delivery}/cancel"), 403)
    assert api.store.delivery(delivery).state == DeliveryState.QUEUED


def test_resend_and_cancel_are_in_the_audit_log(client: httpx.Client, api: Api) -> None:
    """Each resend and cancel is an audit entry: actor the key, the delivery, from and to."""
    delivery = _first(api.store)
    assert client.post(f"/api/v1/deliveries/{delivery}/cancel").status_code == 200
    assert client.post(f"/api/v1/deliveries/{delivery}/resend").status_code == 200
    entries = sorted(list_audit(api.store), key=lambda e: e.id)
    assert [(e.action, e.target_kind, e.target_id) for e in entries] == [
        ("cancel", "delivery", str(delivery)),
        ("resend", "delivery", str(delivery)),
    ]
    assert entries[0].detail["from"] == "QUEUED" and entries[1].detail["to"] == "QUEUED"
    assert all(e.actor.startswith("key:") for e in entries)


def test_a_refused_move_writes_no_audit_entry(client: httpx.Client, api: Api) -> None:
    """A 409 changes nothing: no audit entry, no event."""
    delivery = _first(api.store)
    _move(api.store, delivery, DeliveryState.SENT, DeliveryState.REJECTED)
    events = len(api.store.timeline(api.store.delivery(delivery).invoice_number))
    problem(client.post(f"/api/v1/deliveries/{delivery}/cancel"), 409)
    assert list_audit(api.store) == []
    assert len(api.store.timeline(api.store.delivery(delivery).invoice_number)) == events


def test_bad_id_is_422(client: httpx.Client) -> None:
    """A delivery id that is not a positive number: 422 problem naming the path parameter."""
    body = problem(client.post("/api/v1/deliveries/abc/resend"), 422)
    assert "delivery_id" in json.dumps(body)
