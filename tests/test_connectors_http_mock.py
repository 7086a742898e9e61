"""HttpConnector with httpx.MockTransport: the request it builds, the answer table cases a real
portal rarely produces (3xx, 408/504, success_field), foreign exceptions, poll() parsing and
the constructor's configuration errors."""

from __future__ import annotations

import datetime as dt
import json
import ssl
from collections.abc import Callable
from typing import Any

import httpx
import pytest

from connectors.base import Inbound
from connectors.http import HttpConnector, json_path
from connectors.http_errors import parse_retry_after
from gateway.delivery.errors import (
    AuthenticationFailed,
    ConfigurationInvalid,
    ConnectionFailed,
    HostKeyMismatch,
    IdempotencyConflict,
    Rejected,
    RemoteUnavailable,
    Timeout,
)
from gateway.document import Document
from gateway.secrets import is_secret_key

T0 = dt.datetime(2026, 11, 24, 12, 0, tzinfo=dt.UTC)
URL = "https://portal.example/api/v2/invoices"
DOC = Document(b"<Invoice>1</Invoice>", "ubl", "peppol-bis3", "INV-1")
Handler = Callable[[httpx.Request], httpx.Response]


def mocked(handler: Handler, **options: Any) -> HttpConnector:
    """An HttpConnector whose requests go to ``handler``."""
    client = httpx.Client(transport=httpx.MockTransport(handler))
    return HttpConnector(options.pop("url", URL), clock=lambda: T0, client=client, **options)


def answer(status: int, body: Any = None, **headers: str) -> Handler:
    """A handler answering ``status`` with ``body`` (dict/list as JSON, str/bytes as given)."""

    def handle(request: httpx.Request) -> httpx.Response:
        if isinstance(body, (dict, list)):
            return httpx.Response(status, json=body, headers=headers)
        content = body.encode() if isinstance(body, str) else body or b""
        return httpx.Response(status, content=content, headers=headers)

    return handle


def send(connector: HttpConnector, key: str = "k-1", document: Document = DOC) -> Any:
    """Send ``document`` under ``key``."""
    return connector.send(document, delivery_id="1", idempotency_key=key)


def test_request_carries_body_type_key_and_every_credential() -> None:
    """The upload is METHOD url with the bytes, media type, Idempotency-Key, bearer token, API
    key header, basic auth, extra headers and the optional invoice number header."""
    seen: list[httpx.Request] = []

    def handle(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return httpx.Response(201, json={"id": "r-1"})

    connector = mocked(
        handle,
        method="put",
        bearer_token="tok",
        api_key="key",
        api_header="X-Portal-Key",
        headers={"X-Supplier": "DE123"},
        invoice_number_header="X-Invoice-Number",
    )
    send(connector)
    [request] = seen
    assert (request.method, str(request.url), request.content) == ("PUT", URL, DOC.content)
    assert request.headers["content-type"] == "application/xml"
    assert request.headers["idempotency-key"] == "k-1"
    assert request.headers["authorization"] == "Bearer tok"
    assert request.headers["x-portal-key"] == "key"
    assert request.headers["x-invoice-number"] == "INV-1"
    assert request.headers["x-supplier"] == "DE123"
    seen.clear()
    send(mocked(handle, basic_username="acme", basic_password="pw"))
    assert seen[0].headers["authorization"] == "Basic YWNtZTpwdw=="


def test_secret_options_are_recognised_as_secrets() -> None:
    """Token, password and API key options are secrets (resolved from references); the header
    name, user name and certificate paths are plain options."""
    assert all(is_secret_key(k) for k in ("bearer_token", "basic_password", "api_key"))
    assert not any(
        is_secret_key(k)
        for k in ("api_header", "basic_username", "client_cert", "client_key", "ca_bundle")
    )


def test_channel_hides_user_info_and_query() -> None:
    """The channel names scheme, host and path, never a user:password or a query string."""
    connector = HttpConnector("https://u:pw@portal.example/up?token=abc")
    assert connector.channel == "http:https://portal.example/up"


def test_receipt_message_id_from_id_field_else_the_key() -> None:
    """id_field (a dotted path) gives the message id; without it the idempotency key does."""
    nested = mocked(answer(200, {"data": {"invoice": {"ref": 77}}}), id_field="data.invoice.ref")
    assert send(nested).message_id == "77"
    empty = mocked(answer(204))
    receipt = send(empty, "k-204")
    assert receipt.message_id == "k-204" and receipt.remote_name is None
    assert receipt.evidence == b"HTTP/1.1 204 No Content\r\n\r\n"
    plain = mocked(answer(200, "OK", **{"content-type": "text/plain"}))
    assert send(plain).detail == "HTTP/1.1 200 OK; no portal id in the answer"


def test_same_key_returns_first_receipt_and_other_bytes_conflict() -> None:
    """A repeated key makes no request; other bytes under it are IdempotencyConflict."""
    calls: list[int] = []

    def handle(request: httpx.Request) -> httpx.Response:
        calls.append(1)
        return httpx.Response(201, json={"id": f"r-{len(calls)}"})

    connector = mocked(handle)
    assert send(connector) == send(connector)
    with pytest.raises(IdempotencyConflict, match="'k-1' was sent with different content"):
        send(connector, document=Document(b"<Invoice>2</Invoice>", "ubl", "x", "INV-1"))
    assert len(calls) == 1


@pytest.mark.parametrize(
    ("body", "outcome"),
    [
        ({"result": {"status": "OK"}}, None),
        ({"result": {"status": True}}, None),
        ({"result": {"status": "failed"}, "error": "duplicate invoice"}, Rejected),
        ({"result": {}}, RemoteUnavailable),
        ("<html>maintenance</html>", RemoteUnavailable),
    ],
    ids=["ok", "true", "failure-value", "field-missing", "not-json"],
)
def test_success_field_decides_a_2xx(body: Any, outcome: type[Exception] | None) -> None:
    """With success_field a 2xx is a receipt only when it holds a success value; another value
    is Rejected (the portal said no), a missing field or non-JSON body RemoteUnavailable."""
    connector = mocked(answer(200, body), success_field="result.status")
    if outcome is None:
        assert send(connector).transport_proof
        return
    with pytest.raises(outcome) as caught:
        send(connector)
    if outcome is Rejected:
        assert "duplicate invoice" in str(caught.value)


@pytest.mark.parametrize(
    ("status", "error", "text"),
    [
        (301, ConfigurationInvalid, "points to https://new.example/"),
        (401, AuthenticationFailed, "token expired"),
        (404, ConfigurationInvalid, "check the channel's url"),
        (408, Timeout, "408"),
        (418, Rejected, "token expired"),
        (504, Timeout, "504"),
        (507, RemoteUnavailable, "507"),
    ],
)
def test_status_table(status: int, error: type[Exception], text: str) -> None:
    """Rarer statuses follow the table: 3xx/404 configuration, 408/504 timeout, other 4xx
    rejected, other 5xx unavailable; the portal text and status line are kept."""
    headers = {"location": "https://new.example/"} if status == 301 else {}
    connector = mocked(answer(status, {"detail": "token expired"}, **headers))
    with pytest.raises(error, match=text) as caught:
        send(connector)
    assert caught.value.evidence.startswith(f"HTTP/1.1 {status}".encode())  # type: ignore[attr-defined]


def test_nginx_client_certificate_answer_is_authentication_failed() -> None:
    """nginx's 400 "No required SSL certificate was sent" is AuthenticationFailed, not a
    rejected document; a plain 400 stays Rejected."""
    page = "<html><center><h1>400 Bad Request</h1></center><center>No required SSL certificate"
    with pytest.raises(AuthenticationFailed, match="No required SSL certificate"):
        send(mocked(answer(400, page + " was sent</center></html>")))
    with pytest.raises(Rejected):
        send(mocked(answer(400, {"error": "bad invoice"})))


def raising(exc: Exception) -> Handler:
    """A handler raising ``exc`` (as the transport would)."""

    def handle(request: httpx.Request) -> httpx.Response:
        raise exc

    return handle


def _tls(kind: type[ssl.SSLError], text: str) -> httpx.ConnectError:
    try:
        try:
            raise kind(1, text)
        except ssl.SSLError as inner:
            raise httpx.ConnectError(str(inner)) from inner
    except httpx.ConnectError as outer:
        return outer


@pytest.mark.parametrize(
    ("exc", "error"),
    [
        (httpx.ReadTimeout("read timed out"), Timeout),
        (httpx.WriteTimeout("write timed out"), Timeout),
        (httpx.ConnectTimeout("connect timed out"), ConnectionFailed),
        (httpx.ConnectError("[Errno 111] Connection refused"), ConnectionFailed),
        (httpx.RemoteProtocolError("illegal status line"), ConnectionFailed),
        (httpx.UnsupportedProtocol("ftp"), ConfigurationInvalid),
        (_tls(ssl.SSLCertVerificationError, "certificate verify failed"), HostKeyMismatch),
        (
            _tls(ssl.SSLError, "[SSL: TLSV13_ALERT_CERTIFICATE_REQUIRED] tlsv13 alert"),
            AuthenticationFailed,
        ),
        (_tls(ssl.SSLEOFError, "EOF occurred in violation of protocol"), AuthenticationFailed),
    ],
    ids=lambda v: type(v).__name__ if isinstance(v, Exception) else v.__name__,
)
def test_transport_exceptions_are_translated(exc: Exception, error: type[Exception]) -> None:
    """Each httpx failure becomes the table's delivery error, raised from the original."""
    with pytest.raises(error) as caught:
        send(mocked(raising(exc)))
    assert caught.value.__cause__ is exc


def test_retry_after_forms() -> None:
    """Retry-After: delta-seconds, an HTTP-date against now (past -> 0), junk -> None."""
    now = dt.datetime(2026, 11, 24, 12, 0, tzinfo=dt.UTC)
    assert parse_retry_after("90", now) == 90.0
    assert parse_retry_after("Tue, 24 Nov 2026 12:01:30 GMT", now) == 90.0
    assert parse_retry_after("Tue, 24 Nov 2026 11:00:00 GMT", now) == 0.0
    assert parse_retry_after("soon", now) is None
    assert parse_retry_after(None, now) is None


def test_poll_reads_items_and_names_entries() -> None:
    """poll() GETs status_url with the credentials; entries become canonical JSON Inbounds
    named by status_id_field, or by a content hash when an entry has no id."""
    seen: list[httpx.Request] = []

    def handle(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return httpx.Response(
            200, json={"page": {"entries": [{"ref": "e1", "b": 2, "a": 1}, {"status": "paid"}]}}
        )

    connector = mocked(
        handle,
        bearer_token="tok",
        status_url="https://portal.example/api/v2/status",
        status_items_field="page.entries",
        status_id_field="ref",
    )
    items = list(connector.poll())
    assert seen[0].method == "GET" and seen[0].headers["authorization"] == "Bearer tok"
    assert items[0].name == "e1"
    assert items[0].content == b'{"a":1,"b":2,"ref":"e1"}'
    assert len(items[1].name) == 64 and items[1].received_at == T0


def test_poll_failures_are_delivery_errors() -> None:
    """A status list that is not JSON or has no list, or a 5xx, raises a DeliveryError."""
    status_url = "https://portal.example/status"
    with pytest.raises(RemoteUnavailable, match="unreadable status list"):
        list(mocked(answer(200, "<html/>"), status_url=status_url).poll())
    with pytest.raises(RemoteUnavailable, match="no list at 'items'"):
        list(mocked(answer(200, {"items": {}}), status_url=status_url).poll())
    with pytest.raises(RemoteUnavailable, match="500"):
        list(mocked(answer(500), status_url=status_url).poll())
    top_level = mocked(answer(200, [{"id": "x"}]), status_url=status_url)
    assert [i.name for i in top_level.poll()] == ["x"]


def test_confirm_posts_to_confirm_url_with_the_item_name() -> None:
    """confirm() POSTs to confirm_url with {id} replaced; without confirm_url it sends nothing."""
    seen: list[httpx.Request] = []

    def handle(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return httpx.Response(204)

    item = Inbound("http", "http:x", b"{}", T0, "evt 1/2")
    mocked(handle, confirm_url="https://portal.example/status/{id}/ack").confirm(item)
    mocked(handle).confirm(item)
    assert [(r.method, r.url.raw_path) for r in seen] == [("POST", b"/status/evt%201%2F2/ack")]


@pytest.mark.parametrize(
    ("options", "text"),
    [
        ({"url": "ftp://portal.example/in"}, "accepted: an absolute http:// or https:// URL"),
        ({"url": "/relative"}, "accepted: an absolute"),
        ({"url": URL, "method": "GET"}, "accepted: POST, PUT, PATCH"),
        ({"url": URL, "client_key": "/k.pem"}, "client_key without client_cert"),
        ({"url": URL, "status_url": "nope"}, "status_url"),
    ],
)
def test_bad_options_are_configuration_errors(options: dict[str, Any], text: str) -> None:
    """Wrong URL, method or half a TLS pair fail at construction with ConfigurationInvalid."""
    with pytest.raises(ConfigurationInvalid, match=text):
        HttpConnector(**options)


def test_json_path() -> None:
    """Dotted paths walk objects and list indexes; a missing step is not None but absent."""
    data = json.loads('{"a": [{"b": null}]}')
    assert json_path(data, "a.0.b") is None
    assert json_path(data, "a.1.b") is not None
    assert json_path(data, "a.x") is not None
