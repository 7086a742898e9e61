"""Acks in: CONTRL, APERAK and cXML acks correlated to their deliveries; unmatched ones kept."""

from __future__ import annotations

import datetime as dt

import pytest
from builders import simple_invoice
from store_backends import T0, store, store_url  # noqa: F401  (fixtures)

from gateway.ack import Ack, AckLevel, AckReference, AckStatus
from gateway.delivery.acks_in import AckRouter, implied_state, receive
from gateway.envelope import Envelope
from gateway.profiles.profile import BuyerIds, BuyerProfile, ProofPolicy
from gateway.store import DeliveryState, NewDelivery, Store
from mappings.edifact.contrl import build_contrl
from mappings.edifact.invoic import render_interchange

SUPPLIER = "4000001000002"
BUYER = "4012345000009"  # the retail buyer's GLN (as in config/buyers/frischmarkt-eancom.toml)
PAYLOAD = "20261124123000.42@gateway.example"
EANCOM = BuyerProfile(
    name="frischmarkt",
    format="eancom-d96a",
    options={"sender_id": SUPPLIER, "recipient_id": BUYER},
    ids=BuyerIds(glns=(BUYER,)),
    proof=ProofPolicy.model_validate({"transport": "30m", "syntax": "24h", "business": "3d"}),
)


def sent_interchange(store: Store, numbers: tuple[str, ...]) -> tuple[bytes, list[int]]:  # noqa: F811
    """Render one EANCOM interchange IC77 for ``numbers``, accept each invoice with a delivery,
    send it (SENT) and record its control references, as the worker does."""
    invoices = [simple_invoice(number=n) for n in numbers]
    refs = tuple(chr(ord("A") + i) for i in range(len(numbers)))
    envelope = Envelope("IC77", dt.datetime(2026, 11, 24, 12, 0), message_refs=refs)
    doc = render_interchange(invoices, EANCOM, envelope)
    ids = []
    for invoice, ref in zip(invoices, refs, strict=True):
        result = store.accept(
            invoice,
            None,
            "DE123",
            documents=[doc],
            deliveries=[NewDelivery("frischmarkt", "file", T0)],
            now=T0,
        )
        delivery_id = result.delivery_ids[0]
        store.claim_due("w", T0)
        store.record_attempt(
            delivery_id, "w", DeliveryState.SENT, now=T0, next_attempt_at=T0 + dt.timedelta(hours=1)
        )
        store.set_references(delivery_id, interchange_ref="IC77", message_ref=ref)
        ids.append(delivery_id)
    return doc.content, ids


def contrl_for(interchange: bytes) -> Ack:
    """The buyer's CONTRL answering ``interchange``, read back by the router."""
    envelope = Envelope("CTL1", dt.datetime(2026, 11, 24, 12, 5))
    data = build_contrl(interchange, our_id=BUYER, our_qualifier="14", envelope=envelope)
    ack = AckRouter().parse(data)
    assert ack is not None and ack.kind == "CONTRL"
    return ack


def test_accepting_contrl_marks_every_delivery_of_the_interchange(store: Store) -> None:  # noqa: F811
    """A CONTRL accepting IC77 moves both invoices' deliveries to DELIVERED with syntax level."""
    data, ids = sent_interchange(store, ("INV-1", "INV-2"))
    at = T0 + dt.timedelta(minutes=10)
    result = receive(store, contrl_for(data), now=at, profiles=[EANCOM])
    assert sorted(r.id for r in result.deliveries) == ids
    for delivery_id in ids:
        row = store.delivery(delivery_id)
        assert (row.state, row.syntax_ack) == (DeliveryState.DELIVERED, "accepted")
        # syntax proof held: the next deadline is the business answer's (3 days)
        assert row.next_attempt_at == at + dt.timedelta(days=3)
    events = [e for e in store.timeline("INV-1") if e.kind == "ack"]
    assert events[-1].ack_level == "syntax" and events[-1].evidence is not None
    assert b"CONTRL" in events[-1].evidence
    assert store.list_unmatched_acks() == []


def test_rejecting_contrl_rejects_the_deliveries(store: Store) -> None:  # noqa: F811
    """A CONTRL rejecting the interchange (broken UNT count) makes its deliveries REJECTED."""
    data, ids = sent_interchange(store, ("INV-1",))
    unt = data[data.index(b"UNT+") : data.index(b"+A'", data.index(b"UNT+")) + 3]
    broken = data.replace(unt, b"UNT+%d+A'" % (int(unt[4:-3]) + 1))
    ack = contrl_for(broken)
    assert ack.status is AckStatus.REJECTED
    result = receive(store, ack, now=T0 + dt.timedelta(minutes=10))
    assert [r.id for r in result.deliveries] == ids
    row = store.delivery(ids[0])
    assert (row.state, row.syntax_ack) == (DeliveryState.REJECTED, "rejected")


def test_contrl_for_one_message_matches_only_that_delivery(store: Store) -> None:  # noqa: F811
    """A CONTRL naming interchange IC77 and message B updates INV-2's delivery only."""
    _, ids = sent_interchange(store, ("INV-1", "INV-2"))
    ack = Ack(
        "CONTRL",
        AckLevel.SYNTAX,
        AckStatus.ACCEPTED,
        AckReference(interchange="IC77", message="B"),
        b"raw",
    )
    result = receive(store, ack, now=T0)
    assert [r.id for r in result.deliveries] == [ids[1]]
    assert store.delivery(ids[0]).state is DeliveryState.SENT


def aperak(number: str, verdict: str, sender: str = BUYER) -> bytes:
    """An APERAK from ``sender`` about invoice ``number`` (BGM 1225: 27 rejected, 29 accepted)."""
    return (
        f"UNB+UNOC:3+{sender}:14+{SUPPLIER}:14+261124:1300+AP1'UNH+1+APERAK:D:96A:UN'"
        f"BGM+23+AP-1+{verdict}'RFF+IV:{number}'ERC+12'FTX+AAO+++invalid product code'"
        "UNT+6+1'UNZ+1+AP1'"
    ).encode()


def test_aperak_by_invoice_number_accepts_or_rejects(store: Store) -> None:  # noqa: F811
    """An APERAK naming INV-2 (RFF+IV) gives that delivery its business verdict."""
    _, ids = sent_interchange(store, ("INV-1", "INV-2"))
    ack = AckRouter().parse(aperak("INV-2", "27"))
    assert ack is not None and ack.level is AckLevel.BUSINESS
    result = receive(store, ack, now=T0 + dt.timedelta(hours=2), profiles=[EANCOM])
    assert [r.id for r in result.deliveries] == [ids[1]]
    row = store.delivery(ids[1])
    assert (row.state, row.business_ack) == (DeliveryState.REJECTED, "rejected")
    accepted = AckRouter().parse(aperak("INV-1", "29"))
    assert accepted is not None
    receive(store, accepted, now=T0 + dt.timedelta(hours=2), profiles=[EANCOM])
    assert store.delivery(ids[0]).state is DeliveryState.ACCEPTED


def test_aperak_from_a_known_buyer_matches_only_its_deliveries(store: Store) -> None:  # noqa: F811
    """Same invoice number for two buyers: the sender's GLN picks the right delivery."""
    _, ids = sent_interchange(store, ("INV-1",))
    other = store.accept(
        simple_invoice(number="INV-1"),
        None,
        "OTHER-SELLER",
        documents=[],
        deliveries=[NewDelivery("someone-else", "print", T0, document_index=None)],
        now=T0,
    ).delivery_ids[0]
    ack = AckRouter().parse(aperak("INV-1", "29"))
    assert ack is not None
    result = receive(store, ack, now=T0, profiles=[EANCOM])
    assert [r.id for r in result.deliveries] == ids
    assert store.delivery(other).state is DeliveryState.QUEUED


def status_update(body: str = "", code: str = "200") -> bytes:
    """An Ariba StatusUpdateRequest about our payload ``PAYLOAD``."""
    return f"""<?xml version="1.0" encoding="UTF-8"?>
<cXML payloadID="1732537805000.1@buyer.example" timestamp="2026-11-25T09:10:05-08:00">
  <Header>
    <From><Credential domain="NetworkID"><Identity>AN01000000002</Identity></Credential></From>
    <To><Credential domain="NetworkID"><Identity>AN01000000001</Identity></Credential></To>
    <Sender><Credential domain="NetworkID"><Identity>AN01000000002</Identity></Credential>
      <UserAgent>Buyer</UserAgent></Sender>
  </Header>
  <Request><StatusUpdateRequest>
    <DocumentReference payloadID="{PAYLOAD}"/>
    <Status code="{code}" text="x" xml:lang="en-US"/>{body}
  </StatusUpdateRequest></Request>
</cXML>""".encode()


def cxml_delivery(store: Store) -> int:  # noqa: F811
    """An invoice CX-9 sent over cXML with payloadID ``PAYLOAD`` (SENT)."""
    delivery_id = store.accept(
        simple_invoice(number="CX-9"),
        None,
        "DE123",
        documents=[],
        deliveries=[NewDelivery("ariba", "http", T0, document_index=None)],
        now=T0,
    ).delivery_ids[0]
    store.claim_due("w", T0)
    store.record_attempt(delivery_id, "w", DeliveryState.SENT, now=T0)
    store.set_references(delivery_id, message_id=PAYLOAD)
    return delivery_id


def test_cxml_status_update_by_payload_id(store: Store) -> None:  # noqa: F811
    """A StatusUpdateRequest naming our payloadID is recorded on that delivery (business level)."""
    delivery_id = cxml_delivery(store)
    received = AckRouter().parse(status_update())
    assert received is not None and received.refers_to.document is None
    receive(store, received, now=T0)
    assert store.delivery(delivery_id).state is DeliveryState.DELIVERED
    body = (
        '<InvoiceStatus type="rejected"><InvoiceIDInfo invoiceID="UNKNOWN-NUMBER"/>'
        '<Comments xml:lang="en">wrong PO</Comments></InvoiceStatus>'
    )
    rejected = AckRouter().parse(status_update(body))
    assert rejected is not None
    result = receive(store, rejected, now=T0 + dt.timedelta(hours=1))
    assert [r.id for r in result.deliveries] == [delivery_id]
    row = store.delivery(delivery_id)
    assert (row.state, row.business_ack) == (DeliveryState.REJECTED, "rejected")


def test_unmatched_ack_is_kept_and_listed(store: Store) -> None:  # noqa: F811
    """An ack that matches no delivery is stored verbatim with what it referred to."""
    cxml_delivery(store)
    data = aperak("NO-SUCH-INVOICE", "29")
    ack = AckRouter().parse(data)
    assert ack is not None
    result = receive(store, ack, now=T0)
    assert not result.matched and result.unmatched_id is not None
    kept = store.list_unmatched_acks()
    assert [(k.id, k.kind, k.document_ref, k.raw) for k in kept] == [
        (result.unmatched_id, "APERAK", "NO-SUCH-INVOICE", data)
    ]
    assert "NO-SUCH-INVOICE" in kept[0].detail


def test_refused_transition_is_recorded_not_raised(store: Store) -> None:  # noqa: F811
    """A rejection after acceptance keeps ACCEPTED and still logs the ack as evidence."""
    _, ids = sent_interchange(store, ("INV-1",))
    first = AckRouter().parse(aperak("INV-1", "29"))
    late = AckRouter().parse(aperak("INV-1", "27"))
    assert first is not None and late is not None
    receive(store, first, now=T0)
    result = receive(store, late, now=T0 + dt.timedelta(minutes=1))
    assert result.matched
    row = store.delivery(ids[0])
    assert (row.state, row.business_ack) == (DeliveryState.ACCEPTED, "rejected")
    last = store.timeline("INV-1")[-1]
    assert (last.kind, last.state_to) == ("ack", None)
    assert "state kept" in last.detail


@pytest.mark.parametrize(
    ("level", "status", "current", "expected"),
    [
        (AckLevel.TRANSPORT, AckStatus.RECEIVED, DeliveryState.SENT, DeliveryState.DELIVERED),
        (AckLevel.TRANSPORT, AckStatus.REJECTED, DeliveryState.SENT, None),
        (AckLevel.SYNTAX, AckStatus.ACCEPTED, DeliveryState.SENT, DeliveryState.DELIVERED),
        (AckLevel.SYNTAX, AckStatus.ACCEPTED, DeliveryState.DELIVERED, None),
        (AckLevel.SYNTAX, AckStatus.REJECTED, DeliveryState.DELIVERED, DeliveryState.REJECTED),
        (AckLevel.BUSINESS, AckStatus.ACCEPTED, DeliveryState.DELIVERED, DeliveryState.ACCEPTED),
        (AckLevel.BUSINESS, AckStatus.REJECTED, DeliveryState.SENT, DeliveryState.REJECTED),
        (AckLevel.BUSINESS, AckStatus.RECEIVED, DeliveryState.DELIVERED, None),
    ],
)
def test_implied_state_table(
    level: AckLevel, status: AckStatus, current: DeliveryState, expected: DeliveryState | None
) -> None:
    """Each ack level/status moves a delivery as the module's table says."""
    ack = Ack("X", level, status, AckReference(document="1"), b"")
    assert implied_state(ack, current) is expected


def test_router_tells_ack_kinds_apart() -> None:
    """The router reads CONTRL, APERAK and cXML StatusUpdate, and returns None for an INVOIC."""
    router = AckRouter()
    contrl = b"UNB+UNOC:3+B+A+250322:1200+5'UNH+1+CONTRL:D:3:UN'UCI+9+A+B+7'UNT+3+1'UNZ+1+5'"
    kinds = [router.parse(d) for d in (contrl, aperak("X", "29"), status_update())]
    assert [a.kind if a else None for a in kinds] == ["CONTRL", "APERAK", "cXML-StatusUpdate"]
    invoic = render_interchange(
        [simple_invoice()], EANCOM, Envelope("I1", dt.datetime(2026, 1, 1), message_refs=("1",))
    )
    assert router.parse(invoic.content) is None


def test_syntax_ack_on_delivered_moves_the_deadline_to_business(store: Store) -> None:  # noqa: F811
    """A CONTRL for a DELIVERED delivery keeps the state and sets the business deadline."""
    data, ids = sent_interchange(store, ("INV-1",))
    syntax_deadline = T0 + dt.timedelta(hours=24)
    store.mark(ids[0], DeliveryState.DELIVERED, now=T0, kind="mdn", next_attempt_at=syntax_deadline)
    at = T0 + dt.timedelta(hours=2)
    receive(store, contrl_for(data), now=at, profiles=[EANCOM])
    row = store.delivery(ids[0])
    assert (row.state, row.syntax_ack) == (DeliveryState.DELIVERED, "accepted")
    assert row.next_attempt_at == at + dt.timedelta(days=3)
    no_business = EANCOM.model_copy(
        update={"proof": ProofPolicy.model_validate({"transport": "30m", "syntax": "24h"})}
    )
    receive(store, contrl_for(data), now=at, profiles=[no_business])
    assert store.delivery(ids[0]).next_attempt_at is None


def test_without_profiles_the_deadline_is_kept(store: Store) -> None:  # noqa: F811
    """receive() without profiles moves SENT -> DELIVERED but keeps the deadline already set."""
    data, ids = sent_interchange(store, ("INV-1",))
    receive(store, contrl_for(data), now=T0 + dt.timedelta(minutes=5))
    row = store.delivery(ids[0])
    assert (row.state, row.next_attempt_at) == (
        DeliveryState.DELIVERED,
        T0 + dt.timedelta(hours=1),
    )
