"""``POST /as2`` is answered ahead of FastAPI's stack (gateway.web.app._GatewayApp): other
methods still get 405 from the route, and an unexpected failure is a logged 500, never a hang
or a traceback to the partner."""

from __future__ import annotations

import httpx
import pytest
from as2_peer import closed_port, running_endpoint
from test_web_as2_refusals import message

from gateway.store import Store


def test_get_as2_is_method_not_allowed(tmp_path: object) -> None:
    """GET /as2 is 405 (the route still exists for every method but POST)."""
    store = Store.open(f"sqlite:///{tmp_path}/gateway.db")
    store.migrate()
    try:
        with running_endpoint(store) as (base_url, _):
            answer = httpx.get(f"{base_url}/as2")
    finally:
        store.close()
    assert answer.status_code == 405


def test_store_failure_is_a_logged_500(caplog: pytest.LogCaptureFixture) -> None:
    """A message that opens but cannot be stored (the store is unreachable) is answered 500 with
    a plain text body, and the failure is logged with its traceback."""
    broken = Store.open(f"postgresql+psycopg://nobody@127.0.0.1:{closed_port()}/none")
    with running_endpoint(broken) as (base_url, _):
        headers, body = message("lost-1@ACME")
        answer = httpx.post(f"{base_url}/as2", headers=headers, content=body, timeout=20)
    assert answer.status_code == 500
    assert answer.text == "Internal Server Error\n"
    assert any("POST /as2 failed" in r.message and r.exc_info for r in caplog.records)


def test_a_refusal_is_answered_when_the_store_is_down(caplog: pytest.LogCaptureFixture) -> None:
    """A refused message is still answered with its error MDN when the refusal cannot be
    stored; the lost refusal is logged with its reason."""
    broken = Store.open(f"postgresql+psycopg://nobody@127.0.0.1:{closed_port()}/none")
    with running_endpoint(broken) as (base_url, _):
        headers, body = message("lost-2@S", sender="STRANGER")
        answer = httpx.post(f"{base_url}/as2", headers=headers, content=body, timeout=20)
    assert answer.status_code == 200
    assert b"processed/error: unknown-trading-partner" in answer.content
    assert any("refusal of lost-2@S" in r.getMessage() for r in caplog.records)
