"""HttpConnector.poll() against the portal peer, the portal status ack parser, and the real
Worker + gateway.delivery.sweeps.sweep_poll recording a portal status on the delivery exactly
once."""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Iterator

import pytest
from builders import simple_invoice
from store_backends import T0, store, store_url  # noqa: F401  (fixtures)

from connectors.http import HttpConnector
from gateway.ack import AckLevel, AckStatus
from gateway.delivery.acks_in import AckRouter
from gateway.delivery.sweeps import sweep_poll
from gateway.delivery.worker import Worker
from gateway.document import Document
from gateway.errors import ParseError
from gateway.peers.portal import Portal
from gateway.peers.serve import serve_in_thread
from gateway.profiles.load import ProfileSet
from gateway.profiles.profile import BuyerProfile, ChannelSpec
from gateway.store import DeliveryState, NewDelivery, Store
from mappings.portal_status import PortalStatusAck

TOKEN = "poll-token"


@pytest.fixture
def portal() -> Iterator[tuple[Portal, str]]:
    """A portal with bearer auth on loopback: (portal, base URL)."""
    peer = Portal(bearer_token=TOKEN)
    with serve_in_thread(peer.app) as base:
        yield peer, base
    peer.release()


def connector(base: str, *, confirm: bool) -> HttpConnector:
    """An HttpConnector for the portal, polling its status list (acknowledging when ``confirm``)."""
    return HttpConnector(
        f"{base}/invoices",
        bearer_token=TOKEN,
        status_url=f"{base}/invoices/status",
        confirm_url=f"{base}/invoices/status/{{id}}/ack" if confirm else None,
        timeout=2.0,
        clock=lambda: T0,
    )


def router() -> AckRouter:
    """The default ack parsers plus the portal status parser (as the integrator will wire it)."""
    return AckRouter([PortalStatusAck(), *AckRouter().parsers])


def ubl(number: str) -> Document:
    """A small UBL-looking document whose cbc:ID the portal reads as the invoice number."""
    content = f'<Invoice xmlns:cbc="urn:cbc"><cbc:ID>{number}</cbc:ID></Invoice>'.encode()
    return Document(content, "ubl", "peppol-bis3", number)


def test_poll_yields_one_item_per_status_entry_with_a_stable_name(
    portal: tuple[Portal, str],
) -> None:
    """Each status entry is one Inbound named by its id; a re-poll yields identical bytes."""
    peer, base = portal
    http = connector(base, confirm=False)
    receipt = http.send(ubl("INV-7"), delivery_id="1", idempotency_key="k-7")
    peer.set_status(receipt.message_id, "rejected", "PO 4711 unknown")
    first, again = list(http.poll()), list(http.poll())
    assert [i.name for i in first] == ["evt-000001", "evt-000002"]
    assert [i.content for i in first] == [i.content for i in again]
    entry = json.loads(first[1].content)
    assert (entry["invoice_number"], entry["status"]) == ("INV-7", "rejected")
    assert first[0].received_at == T0 and first[0].connector == "http"


def test_confirm_acknowledges_the_entry_at_the_portal(portal: tuple[Portal, str]) -> None:
    """With confirm_url, a confirmed entry leaves the portal's list; others stay."""
    peer, base = portal
    http = connector(base, confirm=True)
    http.send(ubl("INV-1"), delivery_id="1", idempotency_key="k-1")
    http.send(ubl("INV-2"), delivery_id="2", idempotency_key="k-2")
    items = list(http.poll())
    http.confirm(items[0])
    assert [i.name for i in http.poll()] == ["evt-000002"]
    assert [e["id"] for e in peer.pending_events()] == ["evt-000002"]


def test_poll_without_status_url_yields_nothing() -> None:
    """A connector without status_url has nothing to poll (no request is made)."""
    http = HttpConnector("http://127.0.0.1:9/invoices")
    assert list(http.poll()) == []


@pytest.mark.parametrize(
    ("status", "level", "ack_status"),
    [
        ("received", AckLevel.TRANSPORT, AckStatus.RECEIVED),
        ("accepted", AckLevel.BUSINESS, AckStatus.ACCEPTED),
        ("paid", AckLevel.BUSINESS, AckStatus.ACCEPTED),
        ("rejected", AckLevel.BUSINESS, AckStatus.REJECTED),
    ],
)
def test_status_entry_levels(status: str, level: AckLevel, ack_status: AckStatus) -> None:
    """received is a transport ack; accepted/paid/rejected are business acks, per the table."""
    raw = json.dumps(
        {
            "id": "evt-1",
            "invoice_number": "INV-1",
            "invoice_id": "inv-9",
            "status": status,
            "reason": "why" if status == "rejected" else None,
            "at": "2026-11-24T12:00:00+00:00",
        }
    ).encode()
    ack = PortalStatusAck().parse(raw)
    assert ack is not None
    assert (ack.kind, ack.level, ack.status) == ("portal-status", level, ack_status)
    assert ack.refers_to.document == "INV-1" and ack.refers_to.message_id is None
    assert ack.issued_at == dt.datetime(2026, 11, 24, 12, tzinfo=dt.UTC)
    assert ack.raw == raw
    if status in ("paid", "rejected"):
        assert ack.reasons[0].code == status
    if status == "rejected":
        assert ack.reasons[0].text == "why"


def test_status_parser_ignores_other_bytes_and_names_bad_entries() -> None:
    """Non-entries are None (other parsers get a turn); an unknown status is a ParseError."""
    parser = PortalStatusAck()
    assert parser.parse(b"UNB+UNOC:3+A+B'") is None
    assert parser.parse(b'{"id": "x"}') is None
    assert parser.parse(b"[1, 2]") is None
    with pytest.raises(ParseError, match="status 'lost'; expected one of received"):
        parser.parse(b'{"id": "e", "invoice_number": "INV-1", "status": "lost"}')
    with pytest.raises(ParseError, match="not ISO 8601"):
        parser.parse(b'{"invoice_number": "INV-1", "status": "paid", "at": "yesterday"}')


def test_remote_id_field_option_sets_the_message_id() -> None:
    """remote_id_field names the portal's invoice id as refers_to.message_id."""
    raw = b'{"invoice_number": "INV-1", "invoice_id": "inv-3", "status": "accepted"}'
    ack = PortalStatusAck(remote_id_field="invoice_id").parse(raw)
    assert ack is not None and ack.refers_to.message_id == "inv-3"


@pytest.mark.parametrize("confirm", [True, False], ids=["confirm-url", "no-confirm"])
def test_worker_send_then_polled_status_is_recorded_once(
    store: Store,  # noqa: F811
    portal: tuple[Portal, str],
    confirm: bool,
) -> None:
    """Real worker upload -> DELIVERED; the portal's 'accepted' polled twice -> ACCEPTED with
    exactly one ack event (confirmed entries leave the portal; unconfirmed ones are deduplicated
    by the sweep's inbound record)."""
    peer, base = portal
    http = connector(base, confirm=confirm)
    profile = BuyerProfile(name="acme", channel=ChannelSpec(connector="portal"))
    worker = Worker(
        store, ProfileSet(profiles=(profile,)), clock=lambda: T0, connectors=lambda spec: http
    )
    doc = ubl("INV-1")
    accepted = store.accept(
        simple_invoice(number="INV-1"),
        None,
        "DE123",
        documents=[doc],
        deliveries=[NewDelivery("acme", "portal", T0)],
        now=T0,
    )
    delivery = accepted.delivery_ids[0]
    assert worker.run_once() == 1
    assert store.delivery(delivery).state is DeliveryState.DELIVERED
    [filed] = peer.invoices
    peer.set_status(filed.id, "accepted")

    later = T0 + dt.timedelta(minutes=5)
    results = sweep_poll(store, [http], router(), later)
    assert [r.matched for r in results] == [True, True]  # 'received' and 'accepted'
    assert sweep_poll(store, [http], router(), later) == []
    assert store.delivery(delivery).state is DeliveryState.ACCEPTED
    acks = [e for e in store.timeline("INV-1") if e.kind == "ack"]
    assert [e.ack_level for e in acks] == ["transport", "business"]
    assert acks[1].state_to == "ACCEPTED"
    assert store.list_unmatched_acks() == []
    assert (peer.pending_events() == []) is confirm
