"""HttpConnector against the simulated portal on loopback: each answer class ends in the right
delivery error (and state), auth variants, the portal's Idempotency-Key, and the real Worker
honouring Retry-After."""

from __future__ import annotations

import datetime as dt
import socket
from collections.abc import Iterator
from typing import Any

import pytest
from builders import simple_invoice
from store_backends import T0, sqlite_url

from connectors.http import HttpConnector
from gateway.delivery.errors import (
    AuthenticationFailed,
    ConfigurationInvalid,
    ConnectionFailed,
    DeliveryError,
    RateLimited,
    Rejected,
    RemoteUnavailable,
    Timeout,
)
from gateway.delivery.worker import Worker
from gateway.document import Document
from gateway.peers.portal import Portal
from gateway.peers.serve import serve_in_thread
from gateway.profiles.load import ProfileSet
from gateway.profiles.profile import BuyerProfile, ChannelSpec
from gateway.store import DeliveryState, NewDelivery, Store

TOKEN = "s3cret-token"
DOC = Document(
    b'{"invoice_number": "INV-1", "total": "119.00"}',
    "json",
    "acme",
    "INV-1",
    media_type="application/json",
    extension="json",
)


@pytest.fixture
def portal() -> Iterator[tuple[Portal, str]]:
    """A bearer-protected portal on loopback: (portal, upload URL)."""
    peer = Portal(bearer_token=TOKEN, stall_seconds=5.0)
    with serve_in_thread(peer.app) as base:
        yield peer, f"{base}/invoices"
        peer.release()


def http(url: str, **options: Any) -> HttpConnector:
    """An HttpConnector with the portal's token, a short timeout and the fixed clock."""
    options.setdefault("bearer_token", TOKEN)
    return HttpConnector(url, timeout=0.5, clock=lambda: T0, **options)


def send(connector: HttpConnector, key: str = "k-1") -> Any:
    """Send DOC under ``key``."""
    return connector.send(DOC, delivery_id="1", idempotency_key=key)


def test_2xx_is_a_receipt_with_the_portal_answer_as_evidence(
    portal: tuple[Portal, str],
) -> None:
    """201 -> Receipt: transport proof, status line + body as evidence, the portal's id."""
    peer, url = portal
    receipt = send(http(url))
    [filed] = peer.invoices
    assert receipt.message_id == filed.id == "inv-000001"
    assert receipt.evidence.startswith(b"HTTP/1.1 201 Created\r\n\r\n{")
    assert b'"status": "received"' in receipt.evidence
    assert receipt.sent_at == T0 and receipt.transport_proof
    assert (filed.invoice_number, filed.media_type, filed.content) == (
        "INV-1",
        "application/json",
        DOC.content,
    )
    assert filed.idempotency_key == "k-1"


@pytest.mark.parametrize(
    ("portal_auth", "connector_auth"),
    [
        ({"bearer_token": "t-1"}, {"bearer_token": "t-1"}),
        (
            {"basic_username": "acme", "basic_password": "pw"},
            {"basic_username": "acme", "basic_password": "pw"},
        ),
        (
            {"api_key": "k-9", "api_header": "X-Portal-Key"},
            {"api_key": "k-9", "api_header": "X-Portal-Key"},
        ),
    ],
    ids=["bearer", "basic", "api-key"],
)
def test_each_auth_kind_passes_and_a_wrong_secret_is_authentication_failed(
    portal_auth: dict[str, str], connector_auth: dict[str, str]
) -> None:
    """Bearer, basic and API key each pass; the same kind with a wrong secret is 401 ->
    AuthenticationFailed (permanent) and nothing is filed."""
    peer = Portal(**portal_auth)
    with serve_in_thread(peer.app) as base:
        assert send(HttpConnector(f"{base}/invoices", **connector_auth)).message_id
        wrong = {
            k: ("wrong" if k not in {"api_header", "basic_username"} else v)
            for k, v in connector_auth.items()
        }
        with pytest.raises(AuthenticationFailed, match="401 Unauthorized: missing or invalid"):
            send(HttpConnector(f"{base}/invoices", **wrong), "k-2")
    assert len(peer.invoices) == 1


@pytest.mark.parametrize(
    ("status", "body", "text"),
    [
        (400, {"error": "malformed invoice"}, "malformed invoice"),
        (409, {"message": "INV-1 already filed"}, "INV-1 already filed"),
        (
            422,
            {"errors": [{"message": "BT-13 missing"}, {"message": "BT-9 in the past"}]},
            "BT-13 missing; BT-9 in the past",
        ),
    ],
)
def test_4xx_with_an_error_body_is_rejected_with_the_portal_text(
    portal: tuple[Portal, str], status: int, body: dict[str, Any], text: str
) -> None:
    """400/409/422 -> Rejected (permanent, FAILED) naming the portal's own words."""
    peer, url = portal
    peer.fail_next(status, body=body)
    with pytest.raises(Rejected) as caught:
        send(http(url))
    assert text in str(caught.value)
    assert caught.value.resulting_state == "FAILED"
    assert caught.value.evidence.startswith(f"HTTP/1.1 {status} ".encode())


def test_403_is_authentication_failed(portal: tuple[Portal, str]) -> None:
    """403 (valid credentials, no right to file) -> AuthenticationFailed with the text."""
    peer, url = portal
    peer.fail_next(403, body={"error": "supplier not enabled for API upload"})
    with pytest.raises(AuthenticationFailed, match="supplier not enabled"):
        send(http(url))


def test_wrong_path_and_method_are_configuration_errors(portal: tuple[Portal, str]) -> None:
    """404 (wrong URL) and 405 (wrong method) -> ConfigurationInvalid."""
    _, url = portal
    with pytest.raises(ConfigurationInvalid, match="404 Not Found"):
        send(http(url.replace("/invoices", "/invoice")))
    with pytest.raises(ConfigurationInvalid, match="405 Method Not Allowed"):
        send(http(url, method="PUT"))


@pytest.mark.parametrize("status", [500, 502, 503])
def test_5xx_without_retry_after_is_remote_unavailable(
    portal: tuple[Portal, str], status: int
) -> None:
    """500/502/503 -> RemoteUnavailable (retryable, QUEUED); a later send succeeds."""
    peer, url = portal
    peer.fail_next(status)
    connector = http(url)
    with pytest.raises(RemoteUnavailable) as caught:
        send(connector)
    assert caught.value.retryable and caught.value.resulting_state == "QUEUED"
    assert send(connector).message_id == "inv-000001"


@pytest.mark.parametrize(
    ("status", "header", "seconds"),
    [
        (429, "120", 120.0),
        (429, "Tue, 24 Nov 2026 12:32:00 GMT", 120.0),  # the fixed clock is 12:30:00
        (503, "30", 30.0),
        (429, None, None),
    ],
)
def test_429_and_503_with_retry_after_are_rate_limited(
    portal: tuple[Portal, str], status: int, header: str | None, seconds: float | None
) -> None:
    """429 (and 503 naming Retry-After) -> RateLimited with retry_after in seconds, read from
    delta-seconds or an HTTP-date measured against the connector's clock."""
    peer, url = portal
    peer.fail_next(status, retry_after=header, body={"error": "slow down"})
    connector = http(url)
    connector.clock = lambda: dt.datetime(2026, 11, 24, 12, 30, tzinfo=dt.UTC)
    with pytest.raises(RateLimited) as caught:
        send(connector)
    assert caught.value.retry_after == seconds
    assert f"{status} " in str(caught.value) and "slow down" in str(caught.value)


def test_stalled_portal_is_a_timeout_and_the_resend_files_nothing_twice(
    portal: tuple[Portal, str],
) -> None:
    """The portal files the upload but its answer stalls -> Timeout; the re-send with the same
    Idempotency-Key gets the first answer and the portal still holds one invoice."""
    peer, url = portal
    peer.stall_next(processed=True)
    connector = http(url)
    with pytest.raises(Timeout) as caught:
        send(connector)
    assert caught.value.retryable
    peer.release()
    receipt = send(connector)
    assert receipt.message_id == "inv-000001"
    assert len(peer.invoices) == 1
    assert peer.requests == 2


def test_2xx_with_a_malformed_body_is_remote_unavailable(portal: tuple[Portal, str]) -> None:
    """200 with a cut-off JSON body -> RemoteUnavailable (retryable: outcome unknown)."""
    peer, url = portal
    peer.malformed_next()
    connector = http(url)
    with pytest.raises(RemoteUnavailable, match="unreadable body") as caught:
        send(connector)
    assert isinstance(caught.value.__cause__, ValueError)
    assert send(connector).message_id == "inv-000001"


def test_portal_idempotency_key_answers_a_second_connector_the_same() -> None:
    """Two connector instances (a restarted worker) with one key: one invoice, one id."""
    peer = Portal()
    with serve_in_thread(peer.app) as base:
        first = send(HttpConnector(f"{base}/invoices"), "k-restart")
        again = send(HttpConnector(f"{base}/invoices"), "k-restart")
    assert first.message_id == again.message_id and len(peer.invoices) == 1


def test_refused_connection_is_connection_failed() -> None:
    """Nothing listening on the port -> ConnectionFailed (retryable), chained to httpx."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    with pytest.raises(ConnectionFailed) as caught:
        send(http(f"http://127.0.0.1:{port}/invoices"))
    assert caught.value.__cause__ is not None
    assert not isinstance(caught.value.__cause__, DeliveryError)


def test_worker_waits_at_least_retry_after(tmp_path: Any, portal: tuple[Portal, str]) -> None:
    """Real worker: a 429 with Retry-After 600 leaves the delivery QUEUED, due >= 600 s later."""
    peer, url = portal
    store = Store.open(sqlite_url(tmp_path))
    store.migrate()
    connector = http(url)
    profile = BuyerProfile(name="acme", channel=ChannelSpec(connector="portal"))
    worker = Worker(
        store, ProfileSet(profiles=(profile,)), clock=lambda: T0, connectors=lambda s: connector
    )
    accepted = store.accept(
        simple_invoice(number="INV-1"),
        None,
        "DE123",
        documents=[DOC],
        deliveries=[NewDelivery("acme", "portal", T0)],
        now=T0,
    )
    peer.fail_next(429, retry_after=600)
    assert worker.run_once() == 1
    row = store.delivery(accepted.delivery_ids[0])
    assert row.state is DeliveryState.QUEUED
    assert row.next_attempt_at is not None
    assert row.next_attempt_at - T0 >= dt.timedelta(seconds=600)
    store.close()
