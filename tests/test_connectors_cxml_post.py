"""CxmlPostConnector against the portal peer's cXML endpoint on loopback (a rendered
InvoiceDetailRequest; each cXML Status class) and with httpx.MockTransport (HTTP-level answers
without a cXML body, the request shape)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from builders import simple_invoice
from test_cxml_golden import ENVELOPE, MAPPING, PROFILE

from connectors.cxml_post import CxmlPostConnector, payload_id
from gateway.delivery.errors import (
    AuthenticationFailed,
    ConfigurationInvalid,
    DeliveryError,
    RateLimited,
    Rejected,
    RemoteUnavailable,
    Timeout,
)
from gateway.document import Document
from gateway.peers.portal import Portal
from gateway.peers.serve import serve_in_thread
from mappings.cxml.acks import CxmlStatusAck

T0 = dt.datetime(2026, 11, 24, 12, 30, tzinfo=dt.UTC)
PAYLOAD = "20261124123000.42@gateway.example"


def rendered(number: str = "INV-1") -> Document:
    """A real cXML InvoiceDetailRequest from mappings.cxml (SharedSecret 'welcome1')."""
    return MAPPING.render(simple_invoice(number=number), PROFILE, ENVELOPE)


@pytest.fixture
def portal() -> Iterator[tuple[Portal, str]]:
    """A strict cXML portal checking the SharedSecret: (portal, cXML URL)."""
    peer = Portal(cxml_shared_secret="welcome1", stall_seconds=5.0)
    with serve_in_thread(peer.app) as base:
        yield peer, f"{base}/cxml"
        peer.release()


def cxml(url: str, **options: Any) -> CxmlPostConnector:
    """A CxmlPostConnector with a short timeout and the fixed clock."""
    return CxmlPostConnector(url, timeout=0.5, clock=lambda: T0, **options)


def send(connector: CxmlPostConnector, document: Document | None = None, key: str = "k-1") -> Any:
    """Send ``document`` (default: the rendered invoice) under ``key``."""
    return connector.send(document or rendered(), delivery_id="1", idempotency_key=key)


def test_status_200_is_a_delivered_receipt_with_the_cxml_response(
    portal: tuple[Portal, str],
) -> None:
    """A rendered invoice -> cXML Status 200: Receipt with transport proof, the cXML Response
    as evidence (the ack parser reads it as RECEIVED), our payloadID as message id."""
    peer, url = portal
    receipt = send(cxml(url))
    assert receipt.transport_proof and receipt.sent_at == T0
    assert receipt.message_id == PAYLOAD
    body = receipt.evidence.split(b"\r\n\r\n", 1)[1]
    ack = CxmlStatusAck(in_reply_to=PAYLOAD).parse(body)
    assert ack is not None and ack.status.value == "received"
    assert ack.refers_to.interchange == PAYLOAD
    assert receipt.detail.startswith("HTTP/1.1 200 OK, cXML Status received")
    [filed] = peer.invoices
    assert filed.invoice_number == "INV-1" and filed.media_type == "text/xml"


def test_wrong_shared_secret_is_authentication_failed_with_the_portal_text(
    portal: tuple[Portal, str],
) -> None:
    """The portal's cXML 401 (SharedSecret not recognised) -> AuthenticationFailed."""
    peer, url = portal
    profile = PROFILE.model_copy(update={"options": {**PROFILE.options, "shared_secret": "x"}})
    document = MAPPING.render(simple_invoice(), profile, ENVELOPE)
    with pytest.raises(AuthenticationFailed, match="cXML Status 401: Unauthorized: SharedSecret"):
        send(cxml(url), document)
    assert peer.invoices == []


def test_not_an_invoice_detail_request_is_rejected_406(portal: tuple[Portal, str]) -> None:
    """A body that is not a cXML InvoiceDetailRequest -> the portal's 406 -> Rejected."""
    peer, url = portal
    document = Document(b"<Invoice>1</Invoice>", "ubl", "peppol-bis3", "INV-1")
    with pytest.raises(Rejected, match="406: Not Acceptable: not a cXML InvoiceDetailRequest"):
        send(cxml(url), document)
    assert peer.invoices == []


@pytest.mark.parametrize(
    ("code", "error"),
    [
        (401, AuthenticationFailed),
        (403, AuthenticationFailed),
        (475, AuthenticationFailed),
        (406, Rejected),
        (409, Rejected),
        (417, Rejected),
        (450, ConfigurationInvalid),
        (500, RemoteUnavailable),
        (550, RemoteUnavailable),
        (551, RemoteUnavailable),
        (560, RemoteUnavailable),
    ],
)
@pytest.mark.parametrize("http_status", ["same", 200], ids=["coupa-style", "http-200"])
def test_cxml_status_codes(
    portal: tuple[Portal, str], code: int, error: type[DeliveryError], http_status: Any
) -> None:
    """Each cXML Status code maps to its delivery error with the portal's text, whether the
    HTTP status repeats the code (Coupa) or is 200."""
    peer, url = portal
    peer.cxml_status_next(
        code, f"scripted detail {code}", http_status=None if http_status == "same" else 200
    )
    with pytest.raises(error) as caught:
        send(cxml(url))
    assert f"cXML Status {code}: " in str(caught.value)
    assert f"scripted detail {code}" in str(caught.value)
    assert b"<Status code=" in caught.value.evidence
    assert caught.value.retryable is (code >= 500)


def test_201_accepted_is_a_receipt(portal: tuple[Portal, str]) -> None:
    """cXML Status 201 Accepted (forwarded for processing) is a 2xx -> Receipt."""
    peer, url = portal
    peer.cxml_status_next(201, "queued")
    assert send(cxml(url)).transport_proof


def test_http_429_with_retry_after_is_rate_limited(portal: tuple[Portal, str]) -> None:
    """An HTTP 429 before any cXML -> RateLimited with the Retry-After seconds."""
    peer, url = portal
    peer.fail_next(429, retry_after=45, body="busy", media_type="text/plain")
    with pytest.raises(RateLimited) as caught:
        send(cxml(url))
    assert caught.value.retry_after == 45.0


def test_stall_is_timeout_and_resend_is_answered_from_the_first_filing(
    portal: tuple[Portal, str],
) -> None:
    """The portal files the post but the answer stalls -> Timeout; the re-send is answered
    by the first filing (same payloadID): one invoice."""
    peer, url = portal
    peer.stall_next(processed=True)
    connector = cxml(url)
    with pytest.raises(Timeout):
        send(connector)
    peer.release()
    assert send(connector).message_id == PAYLOAD
    assert len(peer.invoices) == 1


def test_http_200_without_cxml_is_remote_unavailable(portal: tuple[Portal, str]) -> None:
    """HTTP 200 whose body is no cXML Response -> RemoteUnavailable (outcome unknown)."""
    peer, url = portal
    peer.fail_next(200, body="<html>hello</html>", media_type="text/html")
    with pytest.raises(RemoteUnavailable, match="no cXML Response"):
        send(cxml(url))


def mocked(handler: Any) -> CxmlPostConnector:
    """A CxmlPostConnector whose requests go to ``handler``."""
    client = httpx.Client(transport=httpx.MockTransport(handler))
    return CxmlPostConnector("https://network.example/cxml", clock=lambda: T0, client=client)


def test_request_is_text_xml_with_the_idempotency_key() -> None:
    """The post carries the document bytes as text/xml and the Idempotency-Key header."""
    seen: list[httpx.Request] = []
    ok = (
        b'<cXML payloadID="r@n" timestamp="2026-11-24T12:00:00+00:00">'
        b'<Response><Status code="200" text="OK"/></Response></cXML>'
    )

    def handle(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return httpx.Response(200, content=ok)

    document = rendered()
    receipt = send(mocked(handle), document)
    assert seen[0].content == document.content
    assert seen[0].headers["content-type"].startswith("text/xml")
    assert seen[0].headers["idempotency-key"] == "k-1"
    assert receipt.remote_name == "r@n"


@pytest.mark.parametrize(
    ("status", "body", "error"),
    [
        (404, b"<html>Not Found</html>", ConfigurationInvalid),
        (500, b"<cXML><Response>", RemoteUnavailable),
        (401, b"", AuthenticationFailed),
        (200, b'<cXML><Response><Status code="x"/></Response></cXML>', RemoteUnavailable),
    ],
    ids=["404-html", "500-broken-cxml", "401-empty", "200-bad-code"],
)
def test_http_answers_without_a_readable_cxml_status(
    status: int, body: bytes, error: type[DeliveryError]
) -> None:
    """Without a readable cXML Status the HTTP status decides (2xx: RemoteUnavailable)."""
    connector = mocked(lambda request: httpx.Response(status, content=body))
    with pytest.raises(error):
        send(connector)


def test_payload_id() -> None:
    """payloadID is read from the cXML root; other documents have none."""
    assert payload_id(rendered().content) == PAYLOAD
    assert payload_id(b"<Invoice payloadID='x'/>") is None
