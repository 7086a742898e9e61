"""cXML acks: synchronous Response/Status (transport) and StatusUpdateRequest (business)."""

from __future__ import annotations

import datetime as dt

import pytest

from gateway.ack import AckLevel, AckParser, AckStatus
from gateway.errors import ParseError
from mappings.cxml.acks import CxmlStatusAck, CxmlStatusUpdateAck

PAYLOAD = "20261124123000.42@gateway.example"


def response(code: str, text: str, detail: str = "", in_reply_to: str | None = None) -> bytes:
    """A synchronous cXML Response as Ariba Network returns it on the invoice POST."""
    reply = f' inReplyTo="{in_reply_to}"' if in_reply_to else ""
    return f"""<?xml version="1.0" encoding="UTF-8"?>
<!DOCTYPE cXML SYSTEM "http://xml.cxml.org/schemas/cXML/1.2.037/cXML.dtd">
<cXML payloadID="1732451405123.7781@ariba.example" timestamp="2026-11-24T12:30:05+00:00"{reply}>
  <Response>
    <Status code="{code}" text="{text}" xml:lang="en-US">{detail}</Status>
  </Response>
</cXML>""".encode()


def status_update(status_body: str, code: str = "200", text: str = "OK") -> bytes:
    """An Ariba StatusUpdateRequest about our payload."""
    return f"""<?xml version="1.0" encoding="UTF-8"?>
<!DOCTYPE cXML SYSTEM "http://xml.cxml.org/schemas/cXML/1.2.037/cXML.dtd">
<cXML payloadID="1732537805000.1@buyer.example" timestamp="2026-11-25T09:10:05-08:00">
  <Header>
    <From><Credential domain="NetworkID"><Identity>AN01000000002</Identity></Credential></From>
    <To><Credential domain="NetworkID"><Identity>AN01000000001</Identity></Credential></To>
    <Sender>
      <Credential domain="NetworkID"><Identity>AN01000000002</Identity>
        <SharedSecret>abracadabra</SharedSecret></Credential>
      <UserAgent>Buyer 14s2</UserAgent>
    </Sender>
  </Header>
  <Request deploymentMode="production">
    <StatusUpdateRequest>
      <DocumentReference payloadID="{PAYLOAD}"/>
      <Status code="{code}" text="{text}" xml:lang="en-US"/>
      {status_body}
    </StatusUpdateRequest>
  </Request>
</cXML>""".encode()


def invoice_status(kind: str, comment: str = "") -> str:
    """An InvoiceStatus element of ``kind`` for invoice INV-1."""
    comments = f'<Comments xml:lang="en-US">{comment}</Comments>' if comment else ""
    return (
        f'<InvoiceStatus type="{kind}">'
        f'<InvoiceIDInfo invoiceID="INV-1" invoiceDate="2026-11-02T00:00:00+00:00"/>'
        f"{comments}</InvoiceStatus>"
    )


def test_parsers_implement_the_protocol() -> None:
    """Both are AckParsers."""
    assert isinstance(CxmlStatusAck(), AckParser)
    assert isinstance(CxmlStatusUpdateAck(), AckParser)


@pytest.mark.parametrize(
    ("code", "text"), [("200", "OK"), ("201", "Accepted"), ("204", "No Content")]
)
def test_2xx_status_is_transport_received(code: str, text: str) -> None:
    """A synchronous 2xx means taken for processing: transport level, RECEIVED, not ACCEPTED."""
    ack = CxmlStatusAck(in_reply_to=PAYLOAD).parse(response(code, text))
    assert ack is not None
    assert (ack.kind, ack.level, ack.status) == (
        "cXML-Status",
        AckLevel.TRANSPORT,
        AckStatus.RECEIVED,
    )
    assert ack.refers_to.interchange == PAYLOAD
    assert ack.reasons == ()
    assert ack.issued_at == dt.datetime(2026, 11, 24, 12, 30, 5, tzinfo=dt.UTC)


@pytest.mark.parametrize(
    ("code", "text"),
    [
        ("400", "Bad Request"),
        ("401", "Unauthorized"),
        ("403", "Forbidden"),
        ("406", "Not Acceptable"),
        ("409", "Conflict"),
        ("417", "Expectation Failed"),
        ("475", "Signature Required"),
        ("500", "Internal Server Error"),
    ],
)
def test_error_status_is_rejected_with_code_and_text(code: str, text: str) -> None:
    """4xx/5xx are REJECTED at transport level with the code and text as the reason."""
    ack = CxmlStatusAck().parse(response(code, text, "Invoice INV-1 was rejected"))
    assert ack is not None
    assert (ack.level, ack.status) == (AckLevel.TRANSPORT, AckStatus.REJECTED)
    assert ack.reasons[0].code == code
    assert ack.reasons[0].text == f"{text}: Invoice INV-1 was rejected"


def test_in_reply_to_attribute_wins_over_the_exchange() -> None:
    """inReplyTo on the Response names the payloadID answered."""
    ack = CxmlStatusAck(in_reply_to="other").parse(response("200", "OK", in_reply_to=PAYLOAD))
    assert ack is not None and ack.refers_to.interchange == PAYLOAD


def test_status_parser_ignores_other_documents() -> None:
    """Non-cXML bytes and a StatusUpdateRequest are not the synchronous Status parser's kind."""
    assert CxmlStatusAck().parse(b"UNA:+.? 'UNB+UNOC:3'") is None
    assert CxmlStatusAck().parse(status_update(invoice_status("paid"))) is None
    assert CxmlStatusUpdateAck().parse(response("200", "OK")) is None


def test_malformed_status_is_a_parse_error() -> None:
    """A non-numeric Status code is a ParseError with the element path."""
    with pytest.raises(ParseError, match="not a number") as caught:
        CxmlStatusAck().parse(response("OK", "OK"))
    assert "/cXML/Response/Status" in caught.value.location


@pytest.mark.parametrize(
    ("kind", "expected"),
    [
        ("processing", AckStatus.RECEIVED),
        ("reconciled", AckStatus.ACCEPTED),
        ("paying", AckStatus.ACCEPTED),
        ("paid", AckStatus.ACCEPTED),
        ("rejected", AckStatus.REJECTED),
        ("canceled", AckStatus.REJECTED),
    ],
)
def test_invoice_status_maps_to_business_ack(kind: str, expected: AckStatus) -> None:
    """InvoiceStatus type maps to a business-level ack about our payloadID and BT-1."""
    ack = CxmlStatusUpdateAck().parse(status_update(invoice_status(kind)))
    assert ack is not None
    assert (ack.kind, ack.level, ack.status) == ("cXML-StatusUpdate", AckLevel.BUSINESS, expected)
    assert (ack.refers_to.interchange, ack.refers_to.document) == (PAYLOAD, "INV-1")
    assert (ack.sender, ack.recipient) == ("AN01000000002", "AN01000000001")
    assert [(r.code, r.text) for r in ack.reasons] == [(kind, "OK")]


def test_rejection_comments_are_reasons() -> None:
    """Comments of a rejected InvoiceStatus become the reasons."""
    body = invoice_status("rejected", "PO line 2 quantity exceeds\n received quantity")
    ack = CxmlStatusUpdateAck().parse(status_update(body))
    assert ack is not None and ack.status is AckStatus.REJECTED
    assert [(r.code, r.text) for r in ack.reasons] == [
        ("rejected", "PO line 2 quantity exceeds received quantity")
    ]


def test_status_update_without_invoice_status_uses_the_code() -> None:
    """A bare StatusUpdateRequest with a 4xx Status is REJECTED with that code."""
    ack = CxmlStatusUpdateAck().parse(status_update("", "406", "Not Acceptable"))
    assert ack is not None and ack.status is AckStatus.REJECTED
    assert ack.reasons[0].code == "406"
    ok = CxmlStatusUpdateAck().parse(status_update("", "200", "OK"))
    assert ok is not None and ok.status is AckStatus.RECEIVED


def test_status_update_errors_name_the_location() -> None:
    """Unknown InvoiceStatus types and a missing DocumentReference are ParseErrors."""
    with pytest.raises(ParseError, match="archived") as caught:
        CxmlStatusUpdateAck().parse(status_update(invoice_status("archived")))
    assert "StatusUpdateRequest/InvoiceStatus" in caught.value.location
    data = status_update(invoice_status("paid")).replace(
        f'<DocumentReference payloadID="{PAYLOAD}"/>'.encode(), b""
    )
    with pytest.raises(ParseError, match="DocumentReference"):
        CxmlStatusUpdateAck().parse(data)
