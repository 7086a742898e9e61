"""The web app's AS2 routes over real HTTP: refusals without an MDN, async error MDNs, crash
recovery of a stored but unfinished message, two stateless instances, /as2/mdn checks, /health."""

from __future__ import annotations

import datetime as dt
import re
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from as2_keys import identity
from as2_peer import PARTNER, US, make_connector, running_endpoint
from builders import simple_invoice
from connector_harness import clock, document
from fastapi import FastAPI, Request, Response
from store_backends import T0, sqlite_url

from connectors.as2.mdn import Disposition, build_mdn
from connectors.as2.message import As2Identity, As2Partner, MdnRequest, Mic
from gateway.as2.config import As2Config, PartnerConfig
from gateway.delivery.errors import AuthenticationFailed
from gateway.peers.serve import serve_in_thread
from gateway.store import DeliveryState, NewDelivery, Store
from gateway.store.inbound import find_inbound, list_inbound, record_inbound

MIC = Mic("q1w2e3r4t5y6u7i8o9p0q1w2e3r4t5y6u7i8o9p0abc=", "sha256")


@pytest.fixture
def store(tmp_path: Path) -> Iterator[Store]:
    """A migrated SQLite store."""
    opened = Store.open(sqlite_url(tmp_path))
    opened.migrate()
    yield opened
    opened.close()


class Collector:
    """A loopback HTTP peer collecting POSTed bodies (an async MDN recipient); the first
    ``busy`` requests are answered 503."""

    def __init__(self, busy: int = 0) -> None:
        self.posts: list[tuple[dict[str, str], bytes]] = []
        self.refused = 0
        self.arrived = threading.Event()
        self.app = FastAPI()

        @self.app.post("/mdn")
        async def mdn(request: Request) -> Response:
            if self.refused < busy:
                self.refused += 1
                return Response(b"busy", status_code=503)
            self.posts.append((dict(request.headers), await request.body()))
            self.arrived.set()
            return Response(b"thanks")


def test_health(store: Store) -> None:
    """GET /health answers ok with our AS2 id while the store answers."""
    with running_endpoint(store) as (base_url, _):
        answer = httpx.get(f"{base_url}/health")
    assert answer.status_code == 200
    assert answer.json() == {"status": "ok", "as2_id": US, "partners": 1}


def test_health_reports_an_unreachable_store() -> None:
    """GET /health (liveness) is 200 while the store does not answer; GET /ready is 503."""
    from as2_peer import closed_port

    broken = Store.open(f"postgresql+psycopg://nobody@127.0.0.1:{closed_port()}/none")
    with running_endpoint(broken) as (base_url, _):
        assert httpx.get(f"{base_url}/health").status_code == 200
        answer = httpx.get(f"{base_url}/ready")
    assert answer.status_code == 503
    assert answer.json()["status"] == "unavailable"


def test_not_as2_at_all(store: Store) -> None:
    """A POST without AS2 headers gets HTTP 400 with the reason (no MDN can be addressed)."""
    with running_endpoint(store) as (base_url, _):
        answer = httpx.post(f"{base_url}/as2", content=b"hello")
    assert answer.status_code == 400
    assert "no Message-ID" in answer.text
    assert list_inbound(store) == []


def test_unknown_partner_asking_async_gets_403(store: Store, tmp_path: Path) -> None:
    """An unknown sender asking for an async MDN is refused with 403; nothing is POSTed to the
    URL it chose."""
    collector = Collector()
    with serve_in_thread(collector.app) as mdn_url, running_endpoint(store) as (base_url, _):
        connector = make_connector(
            base_url, tmp_path, as2_from="STRANGER", mdn="async", async_mdn_url=f"{mdn_url}/mdn"
        )
        with pytest.raises(AuthenticationFailed, match="403 Forbidden: AS2 message refused"):
            connector.send(document(), delivery_id="d", idempotency_key="k")
        time.sleep(0.2)
    assert collector.posts == []


def test_async_error_mdn_is_posted(store: Store, tmp_path: Path) -> None:
    """A known partner's message that fails after its signature verified (signed, not
    encrypted, encryption required) is answered 200 and the signed error MDN is POSTed to its
    Receipt-Delivery-Option URL, which the partner's configuration allows."""
    collector = Collector()
    with (
        serve_in_thread(collector.app) as mdn_url,
        running_endpoint(store, mdn_urls=(mdn_url,)) as (base_url, _),
    ):
        connector = make_connector(
            base_url, tmp_path, encrypt=None, mdn="async", async_mdn_url=f"{mdn_url}/mdn"
        )
        receipt = connector.send(document(), delivery_id="d", idempotency_key="k")
        assert collector.arrived.wait(10)
    assert receipt.transport_proof is False
    headers, body = collector.posts[0]
    assert headers["as2-from"] == US and headers["as2-to"] == PARTNER
    assert headers["content-type"].startswith("multipart/signed")
    assert b"processed/error: insufficient-message-security" in body
    assert list_inbound(store) == []


def test_async_mdn_is_retried_while_the_partner_is_busy(store: Store, tmp_path: Path) -> None:
    """An async MDN the partner answers 503 is POSTed again after the configured pause."""
    collector = Collector(busy=2)
    with (
        serve_in_thread(collector.app) as mdn_url,
        running_endpoint(store, mdn_retry_delays=(0.05, 0.05), mdn_urls=(mdn_url,)) as (
            base_url,
            _,
        ),
    ):
        connector = make_connector(base_url, tmp_path, mdn="async", async_mdn_url=f"{mdn_url}/mdn")
        receipt = connector.send(document(), delivery_id="d", idempotency_key="k")
        assert collector.arrived.wait(10)
    assert collector.refused == 2 and len(collector.posts) == 1
    assert f"<{receipt.message_id}>".encode() in collector.posts[0][1]


def test_async_mdn_only_to_http(store: Store) -> None:
    """A mailto: return address is not followed: the outbox row is FAILED at the first try
    with the reason (kept, not dropped); nothing is sent."""
    from as2_peer import endpoint_config

    from gateway.store.mdn_outbox import (
        FAILED,
        NewAsyncMdn,
        claim_token,
        get_async_mdn,
        record_async_mdn,
    )
    from gateway.web.as2.endpoint import Endpoint, deliver_claimed

    config = endpoint_config()
    mdn = build_mdn(
        original_message_id="m@x",
        original_recipient=US,
        sender=config.identity,
        receiver_id=PARTNER,
        disposition=Disposition(),
        mic=MIC,
        request=None,
    )
    token = claim_token()
    mdn_id = record_async_mdn(
        store,
        NewAsyncMdn("acme", "m@x", "mailto:as2@partner.example", mdn.headers, mdn.body, T0, token),
    )
    endpoint = Endpoint(store=store, config=config, clock=clock, mdn_retry_delays=(0.01,))
    [sent] = deliver_claimed(endpoint, token)
    assert sent.outcome == "gave_up" and sent.attempts == 1
    row = get_async_mdn(store, mdn_id)
    assert row.state == FAILED and row.last_error is not None
    assert "only http(s)" in row.last_error and row.next_attempt_at is None


def test_unfinished_duplicate_is_finished(store: Store, tmp_path: Path) -> None:
    """A message stored before a crash (RECEIVED, never finished) is finished when the partner
    re-sends it, and the re-send is answered as a duplicate."""
    with running_endpoint(store) as (base_url, _):
        connector = make_connector(base_url, tmp_path, clock=clock)
        message_id = connector.message_id("crash")
        record_inbound(
            store,
            channel="as2",
            partner="acme",
            message_id=message_id,
            media_type="application/xml",
            content=(Path(__file__).parent / "golden" / "ubl" / "simple-peppol.xml").read_bytes(),
            now=T0,
        )
        receipt = connector.send(document(), delivery_id="d", idempotency_key="crash")
    assert b"duplicate-document" in receipt.evidence
    row = find_inbound(store, "acme", message_id)
    assert row is not None and row.state == "PARSED" and row.invoice_number == "INV-1"


def test_two_instances_share_one_store(store: Store, tmp_path: Path) -> None:
    """Two app instances over one store (stateless): a re-send to the second instance is
    recognised as a duplicate of what the first stored."""
    with running_endpoint(store) as (first, _), running_endpoint(store) as (second, _):
        one = make_connector(first, tmp_path, clock=clock).send(
            document(), delivery_id="d", idempotency_key="lb"
        )
        two = make_connector(second, tmp_path, clock=clock).send(
            document(), delivery_id="d", idempotency_key="lb"
        )
    assert b"duplicate-document" not in one.evidence
    assert b"duplicate-document" in two.evidence
    assert len([r for r in list_inbound(store) if r.message_id == one.message_id]) == 1


# --- POST /as2/mdn --------------------------------------------------------------------------


def sender_config(buyer: str = "igw") -> As2Config:
    """ACME's gateway: identity ACME, partner IGW (whose MDNs it receives)."""
    key, cert = identity(PARTNER)
    partner = As2Partner(as2_id=US, certs=(identity(US)[1],))
    return As2Config(As2Identity(PARTNER, key, cert), {"igw": PartnerConfig("igw", partner, buyer)})


def sent_delivery(store: Store, message_id: str, mic: Mic | None = MIC, signed: bool = True) -> int:
    """A delivery SENT as AS2 ``message_id`` whose attempt recorded the expected MIC."""
    result = store.accept(
        simple_invoice(),
        None,
        "DE123",
        documents=[document()],
        deliveries=[NewDelivery("igw", "as2", T0)],
        now=T0,
    )
    delivery_id = result.delivery_ids[0]
    store.claim_due("w", T0)
    evidence = f"Message-ID: <{message_id}>\nMDN-Signed: {'yes' if signed else 'no'}\n"
    if mic is not None:
        evidence += f"Expected-MIC: {mic}\n"
    store.record_attempt(
        delivery_id,
        "w",
        DeliveryState.SENT,
        now=T0,
        evidence=evidence.encode(),
        next_attempt_at=T0 + dt.timedelta(hours=1),
        message_id=message_id,
    )
    return delivery_id


def igw_mdn(
    message_id: str,
    *,
    mic: Mic | None = MIC,
    signed: bool = True,
    sender: str = US,
    disposition: Disposition | None = None,
) -> tuple[dict[str, str], bytes]:
    """IGW's MDN for ``message_id`` (signed with IGW's key when ``signed``)."""
    key, cert = identity(US)
    mdn = build_mdn(
        original_message_id=message_id,
        original_recipient=US,
        sender=As2Identity(sender, key, cert),
        receiver_id=PARTNER,
        disposition=disposition or Disposition(),
        mic=mic,
        request=MdnRequest(signed, "sha256", None, PARTNER),
        text="MDN",
    )
    return mdn.headers, mdn.body


def post_mdn(store: Store, mdn: tuple[dict[str, str], bytes], **config: Any) -> httpx.Response:
    """POST ``mdn`` to ACME's /as2/mdn."""
    with running_endpoint(store, sender_config(**config), mdn_match_wait=0.2) as (base_url, _):
        return httpx.post(f"{base_url}/as2/mdn", headers=mdn[0], content=mdn[1])


def test_mdn_with_expected_mic_delivers(store: Store) -> None:
    """A signed MDN with the MIC recorded at sending moves the delivery to DELIVERED."""
    delivery_id = sent_delivery(store, "m-1@ACME")
    answer = post_mdn(store, igw_mdn("m-1@ACME"))
    assert answer.status_code == 200 and answer.json()["matched"] is True
    assert store.delivery(delivery_id).state is DeliveryState.DELIVERED


def test_mdn_with_other_mic_is_a_rejected_ack(store: Store) -> None:
    """A positive MDN whose MIC differs is recorded as a rejected transport ack naming both
    MICs; the delivery stays SENT (the overdue sweep acts)."""
    delivery_id = sent_delivery(store, "m-2@ACME")
    other = Mic("zzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzz=", "sha256")
    answer = post_mdn(store, igw_mdn("m-2@ACME", mic=other))
    assert answer.status_code == 200
    assert "differs from the MIC sent" in answer.json()["detail"]
    row = store.delivery(delivery_id)
    assert row.state is DeliveryState.SENT and row.transport_ack == "rejected"


def test_unsigned_mdn_where_signed_was_asked(store: Store) -> None:
    """An unsigned MDN for a message that asked for a signed one is a rejected ack."""
    delivery_id = sent_delivery(store, "m-3@ACME")
    answer = post_mdn(store, igw_mdn("m-3@ACME", signed=False))
    assert "this one is unsigned" in answer.json()["detail"]
    assert store.delivery(delivery_id).transport_ack == "rejected"


def test_mdn_from_the_wrong_partner(store: Store) -> None:
    """An MDN for a delivery of another buyer than the partner's is a rejected ack."""
    delivery_id = sent_delivery(store, "m-4@ACME")
    answer = post_mdn(store, igw_mdn("m-4@ACME"), buyer="someone-else")
    assert "was sent to buyer 'igw'" in answer.json()["detail"]
    assert store.delivery(delivery_id).transport_ack == "rejected"


def test_error_mdn_is_a_rejected_ack(store: Store) -> None:
    """processed/error MDNs are recorded as rejected transport acks (no MIC check needed)."""
    delivery_id = sent_delivery(store, "m-5@ACME")
    error = Disposition("processed", "decryption-failed", "error")
    answer = post_mdn(store, igw_mdn("m-5@ACME", mic=None, disposition=error))
    assert answer.status_code == 200 and answer.json()["matched"] is True
    assert store.delivery(delivery_id).transport_ack == "rejected"


def test_mdn_for_nothing_we_sent_is_kept_unmatched(store: Store) -> None:
    """An MDN whose Original-Message-ID matches no delivery is kept as an unmatched ack."""
    answer = post_mdn(store, igw_mdn("never-sent@ACME"))
    assert answer.status_code == 200 and answer.json()["matched"] is False
    kept = store.list_unmatched_acks()
    assert len(kept) == 1 and kept[0].kind == "MDN"


def test_mdn_from_unknown_sender_is_refused(store: Store) -> None:
    """An MDN from an AS2 name that is not a partner is refused with 403, nothing recorded."""
    answer = post_mdn(store, igw_mdn("m-6@ACME", sender="NOBODY"))
    assert answer.status_code == 403
    assert store.list_unmatched_acks() == []


def test_mdn_with_bad_signature_is_refused(store: Store) -> None:
    """An MDN whose signature does not verify is refused with 400 naming the reason."""
    headers, body = igw_mdn("m-7@ACME")
    tampered = body.replace(b"processed", b"processex", 1)
    answer = post_mdn(store, (headers, tampered))
    assert answer.status_code == 400
    assert "refused" in answer.json()["detail"]
    assert store.list_unmatched_acks() == []


# --- messages from other AS2 products -------------------------------------------------------

CAPTURES = [
    "mecas2_encrypted.as2",
    "mecas2_signed.as2",
    "mecas2_signed_encrypted.as2",
    "mecas2_compressed.as2",
    "mecas2_compressed_signed_encrypted.as2",
]
HOP_BY_HOP = {"content-length", "host", "expect", "connection", "transfer-encoding"}


def mendelson_receiver() -> As2Config:
    """The receiving side of the mendelson captures: AS2 name pyas2lib, partner mecas2."""
    from shared_dir import shared_path

    from connectors.as2.certs import load_certificates, load_private_key

    folder = shared_path("interop", "as2")
    key, certs = load_private_key((folder / "cert_test.p12").read_bytes(), b"test")
    partner = As2Partner(
        as2_id="mecas2",
        certs=tuple(load_certificates((folder / "cert_mecas2_public.pem").read_bytes())),
        require_signed=False,
        require_encrypted=False,
    )
    return As2Config(
        As2Identity("pyas2lib", key, certs[0]), {"mecas2": PartnerConfig("mecas2", partner)}
    )


@pytest.mark.parametrize("capture", CAPTURES)
def test_mendelson_messages_are_received(store: Store, capture: str) -> None:
    """Messages captured from mendelson AS2 POSTed to the endpoint are opened, their payload
    stored byte for byte (an ORDERS interchange: judged UNREADABLE as an invoice, with the
    reason) and answered with a processed MDN carrying the MIC."""
    from shared_dir import shared_path

    folder = shared_path("interop", "as2")
    raw = (folder / capture).read_bytes()
    blank = re.search(rb"\r?\n\r?\n", raw)
    assert blank is not None
    head, body = raw[: blank.start()], raw[blank.end() :]
    headers = {}
    for line in head.decode("latin-1").splitlines():
        name, _, value = line.partition(":")
        if name.strip().lower() not in HOP_BY_HOP:
            headers[name.strip()] = value.strip()
    with running_endpoint(store, mendelson_receiver()) as (base_url, _):
        answer = httpx.post(f"{base_url}/as2", headers=headers, content=body)
    assert answer.status_code == 200
    assert b"Disposition: automatic-action/MDN-sent-automatically; processed\r\n" in answer.content
    assert b"Received-Content-MIC: " in answer.content
    message_id = headers["message-id"].strip("<>")
    row = find_inbound(store, "mecas2", message_id)
    assert row is not None
    assert row.content.replace(b"\r\n", b"\n") == (folder / "payload.txt").read_bytes().replace(
        b"\r\n", b"\n"
    )
    assert row.state == "UNREADABLE" and row.syntax == "edifact"
