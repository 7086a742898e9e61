"""The e-mail connector against a real SMTP server (aiosmtpd on 127.0.0.1, STARTTLS or implicit
TLS, AUTH): what arrives, what the receipt proves, and how each failure is classified."""

from __future__ import annotations

import email
import socket
from email import policy
from email.message import EmailMessage

import dkim  # type: ignore[import-untyped]
import pytest
from email_docs import T0, connector, ubl_document
from harness_smtp import (  # noqa: F401  (fixtures)
    DOMAIN,
    SELECTOR,
    DkimTestKey,
    Pki,
    SmtpServer,
    dkim_ed25519_key,
    dkim_key,
    free_port,
    pki,
    running,
    smtp_server,
)

from connectors.email.errors import reply_of
from gateway.delivery.errors import (
    AuthenticationFailed,
    ConnectionFailed,
    DeliveryError,
    HostKeyMismatch,
    PermanentDeliveryError,
    Rejected,
    RemoteUnavailable,
)
from gateway.profiles.profile import BuyerProfile
from gateway.registry import resolve_mapping


def parsed(content: bytes) -> EmailMessage:
    """The received bytes as a message."""
    message = email.message_from_bytes(content, policy=policy.default)
    assert isinstance(message, EmailMessage)
    return message


def test_the_message_arrives_signed_with_the_document_byte_identical(
    smtp_server: SmtpServer,  # noqa: F811
    pki: Pki,  # noqa: F811
    dkim_key: DkimTestKey,  # noqa: F811
) -> None:
    """Over STARTTLS + AUTH the e-mail arrives once, with the XML attachment byte-identical,
    From/To/Cc/Subject/Date/Message-ID as configured, the amount due in the body, and a DKIM
    signature that dkimpy verifies against the published key."""
    document = ubl_document()
    with connector(
        smtp_server,
        pki,
        cc="einkauf@kunde.example",
        from_name="Lieferant GmbH",
        dkim_private_key=dkim_key.pem,
        dkim_selector=SELECTOR,
        dkim_domain=DOMAIN,
    ) as sender:
        receipt = sender.send(document, delivery_id="1", idempotency_key="key-1")
    [received] = smtp_server.messages
    assert received.sender == "invoices@seller.example"
    assert received.recipients == ["ap@kunde.example", "einkauf@kunde.example"]
    assert dkim.verify(received.content, dnsfunc=dkim_key.dnsfunc)
    message = parsed(received.content)
    assert message["From"] == "Lieferant GmbH <invoices@seller.example>"
    assert message["To"] == "ap@kunde.example"
    assert message["Cc"] == "einkauf@kunde.example"
    assert message["Subject"] == "Invoice INV-1 from Lieferant GmbH"
    assert message["Date"] == "Thu, 03 Dec 2026 09:30:00 +0000"
    assert message["Message-ID"] == f"<{sender.message_id('key-1')}>"
    signed = message["DKIM-Signature"].replace(" ", "").lower()
    for header in ("from", "to", "cc", "subject", "date", "message-id", "mime-version"):
        assert header in signed.split("h=")[1].split(";")[0].split(":")
    body = message.get_body(("plain",))
    assert body is not None and "EUR 35.70" in body.get_content()
    [attachment] = list(message.iter_attachments())
    assert attachment.get_filename() == "INV-1.peppol-bis3.xml"
    assert attachment.get_content_type() == "application/xml"
    assert attachment.get_payload(decode=True) == document.content
    assert receipt.message_id == sender.message_id("key-1")
    assert receipt.transport_proof and receipt.sent_at == T0
    assert receipt.remote_name == "Q00001AB" and "queued as Q00001AB" in receipt.detail
    assert b"Message-ID: <" + receipt.message_id.encode() + b">" in receipt.evidence
    assert b"DATA reply: 250 2.0.0 Ok: queued as Q00001AB" in receipt.evidence


def test_a_tampered_message_fails_dkim_verification(
    smtp_server: SmtpServer,  # noqa: F811
    pki: Pki,  # noqa: F811
    dkim_key: DkimTestKey,  # noqa: F811
) -> None:
    """The signature covers the subject: the received message with another subject no longer
    verifies (so the verification above can fail)."""
    options = {"dkim_private_key": dkim_key.pem, "dkim_selector": SELECTOR, "dkim_domain": DOMAIN}
    with connector(smtp_server, pki, **options) as sender:
        sender.send(ubl_document(), delivery_id="1", idempotency_key="key-1")
    content = smtp_server.messages[0].content
    assert not dkim.verify(
        content.replace(b"Subject: Invoice", b"Subject: Invoic3"), dnsfunc=dkim_key.dnsfunc
    )


def test_an_ed25519_dkim_key_signs_verifiably(
    smtp_server: SmtpServer,  # noqa: F811
    pki: Pki,  # noqa: F811
    dkim_ed25519_key: DkimTestKey,  # noqa: F811
) -> None:
    """An Ed25519 key signs with ed25519-sha256 (RFC 8463) and dkimpy verifies it."""
    key = dkim_ed25519_key
    options = {"dkim_private_key": key.pem, "dkim_selector": SELECTOR, "dkim_domain": DOMAIN}
    with connector(smtp_server, pki, **options) as sender:
        sender.send(ubl_document(), delivery_id="1", idempotency_key="k")
    content = smtp_server.messages[0].content
    assert b"a=ed25519-sha256" in content.split(b"\r\n\r\n", 1)[0]
    assert dkim.verify(content, dnsfunc=key.dnsfunc)


def test_implicit_tls_delivers(pki: Pki) -> None:  # noqa: F811
    """``security = "tls"`` (port 465 style) delivers over a TLS socket from the first byte."""
    with running(pki, "tls") as server, connector(server, pki) as sender:
        receipt = sender.send(ubl_document(), delivery_id="1", idempotency_key="k")
    assert len(server.messages) == 1 and receipt.remote_name == "Q00001AB"


def test_plain_smtp_to_a_loopback_relay_delivers(pki: Pki) -> None:  # noqa: F811
    """``security = "none"`` works to 127.0.0.1 (a local relay), without AUTH."""
    with running(pki, "none") as server, connector(server, pki) as sender:
        sender.send(ubl_document(), delivery_id="1", idempotency_key="k")
    assert len(server.messages) == 1


def test_a_wrong_password_is_a_permanent_authentication_failure(
    smtp_server: SmtpServer,  # noqa: F811
    pki: Pki,  # noqa: F811
) -> None:
    """AUTH refused (535) is AuthenticationFailed: permanent, naming the user and the reply;
    nothing is delivered."""
    with (
        connector(smtp_server, pki, password="wrong") as sender,
        pytest.raises(AuthenticationFailed) as caught,
    ):
        sender.send(ubl_document(), delivery_id="1", idempotency_key="k")
    assert not caught.value.retryable
    text = str(caught.value)
    assert "AUTH as 'seller@seller.example' refused: 535" in text
    assert "check the password secret" in text
    assert smtp_server.messages == []


def test_550_on_rcpt_is_permanent_with_code_and_text(
    smtp_server: SmtpServer,  # noqa: F811
    pki: Pki,  # noqa: F811
) -> None:
    """A 550 to RCPT is Rejected (permanent) carrying the reply's code, text and stage."""
    with (
        connector(smtp_server, pki, to="reject550@kunde.example") as sender,
        pytest.raises(Rejected) as caught,
    ):
        sender.send(ubl_document(), delivery_id="1", idempotency_key="k")
    error, reply = caught.value, reply_of(caught.value)
    assert reply is not None and not error.retryable
    assert reply.code == 550 and "User unknown" in reply.text
    assert "RCPT TO:<reject550@kunde.example>" in reply.stage
    assert b"550 5.1.1" in error.evidence and smtp_server.messages == []


def test_451_on_rcpt_is_retryable(smtp_server: SmtpServer, pki: Pki) -> None:  # noqa: F811
    """A 451 (greylisting) to RCPT is RemoteUnavailable with its reply: retried with backoff."""
    with (
        connector(smtp_server, pki, to="defer451@kunde.example") as sender,
        pytest.raises(RemoteUnavailable) as caught,
    ):
        sender.send(ubl_document(), delivery_id="1", idempotency_key="k")
    reply = reply_of(caught.value)
    assert caught.value.retryable and reply is not None and reply.code == 451


def test_a_5xx_to_data_is_permanent_and_the_connection_stays_usable(
    smtp_server: SmtpServer,  # noqa: F811
    pki: Pki,  # noqa: F811
) -> None:
    """554 to DATA is permanent; the next send on the same connection goes through."""
    with connector(smtp_server, pki) as sender:
        smtp_server.handler.data_reply = "554 5.7.1 Message rejected as spam"
        with pytest.raises(Rejected) as caught:
            sender.send(ubl_document(), delivery_id="1", idempotency_key="k1")
        reply = reply_of(caught.value)
        assert reply is not None and (reply.code, reply.stage) == (554, "DATA")
        smtp_server.handler.data_reply = None
        sender.send(ubl_document("INV-2"), delivery_id="2", idempotency_key="k2")
        assert sender.connects == 1
    assert len(smtp_server.messages) == 1


def test_some_recipients_refused_sends_to_the_others_and_names_them(
    smtp_server: SmtpServer,  # noqa: F811
    pki: Pki,  # noqa: F811
) -> None:
    """With one recipient accepted and one refused the message goes to the accepted one and the
    receipt names the refused one with its reply."""
    to = "ap@kunde.example, reject550@kunde.example"
    with connector(smtp_server, pki, to=to) as sender:
        receipt = sender.send(ubl_document(), delivery_id="1", idempotency_key="k")
    assert smtp_server.messages[0].recipients == ["ap@kunde.example"]
    assert "refused recipients: reject550@kunde.example: 550" in receipt.detail
    assert b"refused: reject550@kunde.example: 550" in receipt.evidence


def test_every_recipient_refused_with_one_4xx_is_retryable(
    smtp_server: SmtpServer,  # noqa: F811
    pki: Pki,  # noqa: F811
) -> None:
    """All refused, one of them 451: the send is retried (the 4xx may pass)."""
    to = "reject550@kunde.example, defer451@kunde.example"
    with connector(smtp_server, pki, to=to) as sender, pytest.raises(RemoteUnavailable):
        sender.send(ubl_document(), delivery_id="1", idempotency_key="k")


def test_a_server_not_listening_is_retryable(pki: Pki) -> None:  # noqa: F811
    """Nobody on the port: ConnectionFailed, retryable."""
    port = free_port()
    with running(pki, "none") as server:
        server.port = port
        sender = connector(server, pki)
    with pytest.raises(ConnectionFailed) as caught:
        sender.send(ubl_document(), delivery_id="1", idempotency_key="k")
    assert caught.value.retryable and f"127.0.0.1:{port}" in str(caught.value)


def test_an_untrusted_certificate_is_refused(smtp_server: SmtpServer, pki: Pki) -> None:  # noqa: F811
    """Without the test CA the server's certificate does not verify: HostKeyMismatch
    (permanent), nothing sent."""
    sender = connector(smtp_server, pki, ca_file=None)
    with pytest.raises(HostKeyMismatch) as caught:
        sender.send(ubl_document(), delivery_id="1", idempotency_key="k")
    assert "certificate is not trusted" in str(caught.value) and smtp_server.messages == []


def test_over_max_bytes_is_refused_before_connecting(
    smtp_server: SmtpServer,  # noqa: F811
    pki: Pki,  # noqa: F811
) -> None:
    """An e-mail over ``max_bytes`` is a permanent PermanentDeliveryError naming size and limit; no
    connection is opened, nothing arrives."""
    sender = connector(smtp_server, pki, max_bytes=2000)
    with pytest.raises(PermanentDeliveryError) as caught:
        sender.send(ubl_document(), delivery_id="1", idempotency_key="k")
    assert not caught.value.retryable
    assert "over the max_bytes limit of 2000 bytes" in str(caught.value)
    assert sender.connects == 0 and smtp_server.messages == []


def test_over_the_servers_ehlo_size_is_refused_before_mail(pki: Pki) -> None:  # noqa: F811
    """The server announces SIZE 3000: a larger e-mail is refused before MAIL FROM."""
    with running(pki, "starttls", data_size_limit=3000) as server, connector(server, pki) as s:
        with pytest.raises(PermanentDeliveryError) as caught:
            s.send(ubl_document(), delivery_id="1", idempotency_key="k")
        assert "server's SIZE limit of 3000 bytes" in str(caught.value)
    assert server.messages == []


def test_one_connection_carries_many_messages(
    smtp_server: SmtpServer,  # noqa: F811
    pki: Pki,  # noqa: F811
) -> None:
    """Ten sends open one connection; a connection lost meanwhile is re-opened once."""
    with connector(smtp_server, pki) as sender:
        for n in range(10):
            sender.send(ubl_document(f"INV-{n}"), delivery_id=str(n), idempotency_key=f"k{n}")
        assert sender.connects == 1
        assert sender._session is not None
        sender._session.smtp.sock.shutdown(socket.SHUT_RDWR)  # the line drops
        sender.send(ubl_document("INV-10"), delivery_id="10", idempotency_key="k10")
        assert sender.connects == 2
    assert [m.queue_id for m in smtp_server.messages][-1] == "Q00011AB"


def test_same_key_same_message_id_and_one_delivery_per_connector(
    smtp_server: SmtpServer,  # noqa: F811
    pki: Pki,  # noqa: F811
) -> None:
    """A re-send under the same key returns the first receipt without sending again; a new
    connector (a restarted worker) sends it again under the same Message-ID."""
    document = ubl_document()
    with connector(smtp_server, pki) as first:
        one = first.send(document, delivery_id="1", idempotency_key="key-7")
        assert first.send(document, delivery_id="1", idempotency_key="key-7") == one
    with connector(smtp_server, pki) as restarted:
        again = restarted.send(document, delivery_id="1", idempotency_key="key-7")
        other = restarted.send(document, delivery_id="1", idempotency_key="key-7#t2")
    assert again.message_id == one.message_id != other.message_id
    ids = [parsed(m.content)["Message-ID"] for m in smtp_server.messages]
    assert ids == [f"<{one.message_id}>", f"<{one.message_id}>", f"<{other.message_id}>"]


def test_errors_raised_are_only_delivery_errors(pki: Pki) -> None:  # noqa: F811
    """A server that closes at once (a port speaking nothing) gives a DeliveryError, never a
    foreign exception."""
    with running(pki, "tls") as server:
        sender = connector(
            server, pki, security="starttls", timeout=1.0
        )  # TLS server, plain client
        with pytest.raises(DeliveryError) as caught:
            sender.send(ubl_document(), delivery_id="1", idempotency_key="k")
    assert isinstance(caught.value.__cause__, Exception)


def test_a_format_named_in_attachments_is_rendered_from_the_same_invoice(
    smtp_server: SmtpServer,  # noqa: F811
    pki: Pki,  # noqa: F811
) -> None:
    """``attachments = "document, cii"``: the UBL document byte-identical, then the same invoice
    rendered as CII (how the PDF joins once its mapping exists)."""
    document = ubl_document()
    with connector(smtp_server, pki, attachments="document, cii") as sender:
        sender.send(document, delivery_id="1", idempotency_key="k")
    first, second = parsed(smtp_server.messages[0].content).iter_attachments()
    assert first.get_payload(decode=True) == document.content
    assert second.get_filename() == "INV-1.cii.xml"
    invoice = resolve_mapping("cii").parse(second.get_payload(decode=True))
    assert invoice.number == "INV-1" and invoice.buyer.name == "Kunde AG"


def test_a_421_on_a_kept_connection_reconnects_once(
    smtp_server: SmtpServer,  # noqa: F811
    pki: Pki,  # noqa: F811
) -> None:
    """The server says 421 (closing: idle timeout) to MAIL on the kept connection: the send is
    made on a new connection; a 421 on a fresh connection is retryable."""
    with connector(smtp_server, pki) as sender:
        sender.send(ubl_document("INV-1"), delivery_id="1", idempotency_key="k1")
        smtp_server.handler.mail_reply_once = "421 4.4.2 smtp.test Error: timeout exceeded"
        sender.send(ubl_document("INV-2"), delivery_id="2", idempotency_key="k2")
        assert sender.connects == 2 and len(smtp_server.messages) == 2
    with connector(smtp_server, pki) as fresh:
        smtp_server.handler.mail_reply_once = "421 4.3.2 shutting down"
        with pytest.raises(RemoteUnavailable) as caught:
            fresh.send(ubl_document("INV-3"), delivery_id="3", idempotency_key="k3")
    reply = reply_of(caught.value)
    assert caught.value.retryable and reply is not None and reply.code == 421


def test_the_invoice_pdf_named_in_attachments_arrives_as_application_pdf(
    smtp_server: SmtpServer,  # noqa: F811
    pki: Pki,  # noqa: F811
) -> None:
    """``attachments = "document, pdf"``: the invoice PDF rendered from the same invoice arrives
    as an application/pdf attachment whose bytes equal the ``pdf`` mapping's own rendering."""
    document = ubl_document()
    with connector(smtp_server, pki, attachments="document, pdf") as sender:
        sender.send(document, delivery_id="1", idempotency_key="k")
    first, second = parsed(smtp_server.messages[0].content).iter_attachments()
    assert first.get_payload(decode=True) == document.content
    assert second.get_content_type() == "application/pdf"
    assert (second.get_filename() or "").endswith(".pdf")
    body = second.get_payload(decode=True)
    invoice = resolve_mapping("ubl").parse(document.content)
    own = resolve_mapping("pdf").render(invoice, BuyerProfile(name="email", format="pdf"))
    assert body.startswith(b"%PDF-") and body == own.content  # the e-mail's language: en


def test_the_invoice_pdf_attached_is_in_the_emails_language(
    smtp_server: SmtpServer,  # noqa: F811
    pki: Pki,  # noqa: F811
) -> None:
    """An e-mail with ``language = "de"`` attaches the German invoice PDF (the pdf mapping's
    ``language`` option), not the English default."""
    document = ubl_document()
    with connector(smtp_server, pki, attachments="pdf", language="de") as sender:
        sender.send(document, delivery_id="1", idempotency_key="k")
    [attached] = parsed(smtp_server.messages[0].content).iter_attachments()
    invoice = resolve_mapping("ubl").parse(document.content)
    german = BuyerProfile(name="email", format="pdf", options={"language": "de"})
    english = BuyerProfile(name="email", format="pdf")
    body = attached.get_payload(decode=True)
    assert body == resolve_mapping("pdf").render(invoice, german).content
    assert body != resolve_mapping("pdf").render(invoice, english).content
