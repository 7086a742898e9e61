"""The simulated buyer AP portal (gateway.peers.portal) on its own, spoken to with plain httpx:
auth, Idempotency-Key, status events and acknowledgements, the cXML endpoint and the knobs."""

from __future__ import annotations

import json
from collections.abc import Iterator

import httpx
import pytest

from gateway.peers.portal import Portal, sniff_number
from gateway.peers.serve import serve_in_thread

BEARER = {"Authorization": "Bearer t"}


@pytest.fixture
def portal() -> Iterator[tuple[Portal, httpx.Client]]:
    """A bearer-protected portal and a client for its base URL."""
    peer = Portal(bearer_token="t", stall_seconds=5.0)
    with serve_in_thread(peer.app) as base, httpx.Client(base_url=base, timeout=2.0) as client:
        yield peer, client
        peer.release()


def upload(client: httpx.Client, body: bytes, key: str | None = "k-1") -> httpx.Response:
    """POST ``body`` to /invoices with the bearer token (and ``key``)."""
    headers = {**BEARER, "Content-Type": "application/xml"}
    if key is not None:
        headers["Idempotency-Key"] = key
    return client.post("/invoices", content=body, headers=headers)


UBL = b'<Invoice xmlns:cbc="urn:x"><cbc:ID>INV-5</cbc:ID></Invoice>'


def test_upload_answers_id_and_received(portal: tuple[Portal, httpx.Client]) -> None:
    """201 with {"id", "status": "received"}; the invoice and a 'received' event are kept."""
    peer, client = portal
    response = upload(client, UBL)
    assert response.status_code == 201
    assert response.json() == {"id": "inv-000001", "status": "received", "invoice_number": "INV-5"}
    assert [e["status"] for e in peer.pending_events()] == ["received"]


def test_same_key_same_answer_and_one_invoice(portal: tuple[Portal, httpx.Client]) -> None:
    """A repeated Idempotency-Key gets the identical answer and files nothing new; the key with
    another body is 422; no key files every time."""
    peer, client = portal
    first, again = upload(client, UBL), upload(client, UBL)
    assert (again.status_code, again.content) == (first.status_code, first.content)
    conflict = upload(client, UBL + b" ")
    assert conflict.status_code == 422 and "different body" in conflict.json()["error"]
    upload(client, UBL, key=None)
    upload(client, UBL, key=None)
    assert len(peer.invoices) == 3


def test_missing_or_wrong_credentials_are_401(portal: tuple[Portal, httpx.Client]) -> None:
    """No or a wrong token -> 401 with WWW-Authenticate on upload and status endpoints."""
    peer, client = portal
    refused = client.post("/invoices", content=UBL)
    assert refused.status_code == 401 and "www-authenticate" in refused.headers
    bad = {"Authorization": "Bearer nope"}
    assert client.get("/invoices/status", headers=bad).status_code == 401
    assert peer.invoices == []


def test_basic_and_api_key_portal() -> None:
    """A portal configured with basic auth and an API key takes either; nothing else."""
    peer = Portal(basic_username="u", basic_password="p", api_key="K", api_header="X-Key")
    with serve_in_thread(peer.app) as base, httpx.Client(base_url=base) as client:
        assert client.post("/invoices", content=b"x", auth=("u", "p")).status_code == 201
        assert client.post("/invoices", content=b"x", headers={"X-Key": "K"}).status_code == 201
        assert client.post("/invoices", content=b"x", auth=("u", "q")).status_code == 401
        assert client.post("/invoices", content=b"x", headers={"X-Key": "k"}).status_code == 401


def test_status_events_and_acknowledgement(portal: tuple[Portal, httpx.Client]) -> None:
    """set_status appends an event; the list shows unacknowledged events oldest first; an
    acknowledged one leaves the list; an unknown id is 404."""
    peer, client = portal
    invoice_id = upload(client, UBL).json()["id"]
    peer.set_status(invoice_id, "paid", "paid by transfer")
    items = client.get("/invoices/status", headers=BEARER).json()["items"]
    assert [(e["id"], e["status"], e["reason"]) for e in items] == [
        ("evt-000001", "received", None),
        ("evt-000002", "paid", "paid by transfer"),
    ]
    assert items[1]["invoice_number"] == "INV-5" and items[1]["object"] == "invoice_status"
    assert client.post("/invoices/status/evt-000001/ack", headers=BEARER).status_code == 204
    assert client.post("/invoices/status/evt-9/ack", headers=BEARER).status_code == 404
    left = client.get("/invoices/status", headers=BEARER).json()["items"]
    assert [e["id"] for e in left] == ["evt-000002"]
    shown = client.get(f"/invoices/{invoice_id}", headers=BEARER).json()
    assert shown["status"] == "paid"
    with pytest.raises(ValueError, match="accepted: received, accepted, rejected, paid"):
        peer.set_status(invoice_id, "lost")


def test_knobs_apply_in_order_once_each(portal: tuple[Portal, httpx.Client]) -> None:
    """fail_next / malformed_next answer the next uploads in order, then normal service."""
    peer, client = portal
    peer.fail_next(429, retry_after=3)
    peer.fail_next(418, body="teapot", media_type="text/plain")
    peer.malformed_next()
    first, second, third, fourth = (upload(client, UBL, key=f"k{i}") for i in range(4))
    assert (first.status_code, first.headers["retry-after"]) == (429, "3")
    assert (second.status_code, second.text) == (418, "teapot")
    assert third.status_code == 200
    with pytest.raises(json.JSONDecodeError):
        third.json()
    assert fourth.status_code == 201 and len(peer.invoices) == 1


def test_stall_holds_the_answer_until_released(portal: tuple[Portal, httpx.Client]) -> None:
    """stall_next: the client times out; nothing is filed unless processed=True."""
    peer, client = portal
    peer.stall_next()
    with pytest.raises(httpx.ReadTimeout):
        client.post("/invoices", content=UBL, headers=BEARER, timeout=0.3)
    peer.release()
    assert peer.invoices == []
    peer.stall_next(processed=True)
    with pytest.raises(httpx.ReadTimeout):
        client.post("/invoices", content=UBL, headers=BEARER, timeout=0.3)
    assert len(peer.invoices) == 1


def test_cxml_endpoint_answers_status_documents() -> None:
    """POST /cxml: 406 Status for a non-cXML body when strict, 200 Status when lenient."""
    strict, lenient = Portal(), Portal(cxml_strict=False)
    with serve_in_thread(strict.app) as base:
        answer = httpx.post(f"{base}/cxml", content=b"<Invoice/>")
    assert (
        answer.status_code == 406 and b'<Status code="406" text="Not Acceptable">' in answer.content
    )
    with serve_in_thread(lenient.app) as base:
        answer = httpx.post(f"{base}/cxml", content=b"<Invoice/>")
    assert answer.status_code == 200 and b'<Status code="200" text="OK">' in answer.content
    assert len(lenient.invoices) == 1


@pytest.mark.parametrize(
    ("body", "number"),
    [
        (UBL, "INV-5"),
        (b"<rsm:ExchangedDocument><ram:ID>CII-7</ram:ID></rsm:ExchangedDocument>", "CII-7"),
        (b'<InvoiceDetailRequestHeader invoiceID="CX-1"/>', "CX-1"),
        (b'{"invoice_number": "J-1"}', "J-1"),
        (b'{"number": 42}', "42"),
        (b"plain text", None),
    ],
)
def test_sniff_number(body: bytes, number: str | None) -> None:
    """The portal reads the invoice number from UBL, CII, cXML and JSON bodies."""
    assert sniff_number(body) == number
