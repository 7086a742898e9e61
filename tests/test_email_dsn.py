"""The DSN parser (RFC 3464): bounces in the shapes real MTAs send, correlated to the e-mail the
connector sent by its Message-ID; auto-replies and other mail are no bounce."""

from __future__ import annotations

import base64
import datetime as dt

from email_docs import ubl_document

from connectors.email import EmailConnector
from connectors.email.dsn import parse_dsn

SENT = EmailConnector(
    host="127.0.0.1", security="none", from_address="invoices@seller.example", to="ap@kunde.example"
)


def original(key: str = "delivery-42") -> bytes:
    """The e-mail the connector sends for ``key`` (as the bounce returns it)."""
    return SENT.render(ubl_document(), key, dt.datetime(2026, 12, 3, 9, 30, tzinfo=dt.UTC))


def postfix_bounce(returned: bytes, action: str = "failed", status: str = "5.1.1") -> bytes:
    """A Postfix-style bounce: human text, delivery-status, the whole original message."""
    diagnostic = (
        "smtp; 550 5.1.1 <ap@kunde.example>: Recipient address rejected: User unknown"
        if action == "failed"
        else "smtp; 451 4.4.1 connection timed out"
    )
    return (
        b"Return-Path: <>\r\n"
        b"From: MAILER-DAEMON@mx.seller.example (Mail Delivery System)\r\n"
        b"To: invoices@seller.example\r\n"
        b"Subject: Undelivered Mail Returned to Sender\r\n"
        b"Auto-Submitted: auto-replied\r\n"
        b"MIME-Version: 1.0\r\n"
        b'Content-Type: multipart/report; report-type=delivery-status;\r\n boundary="B1"\r\n'
        b"\r\n--B1\r\n"
        b"Content-Type: text/plain; charset=us-ascii\r\n\r\n"
        b"I'm sorry to have to inform you that your message could not be delivered.\r\n"
        b"\r\n--B1\r\n"
        b"Content-Type: message/delivery-status\r\n\r\n"
        b"Reporting-MTA: dns; mx.seller.example\r\n"
        b"X-Postfix-Queue-ID: Q00001AB\r\n"
        b"Arrival-Date: Thu,  3 Dec 2026 09:30:01 +0000 (UTC)\r\n"
        b"\r\n"
        b"Final-Recipient: rfc822; ap@kunde.example\r\n"
        b"Original-Recipient: rfc822;ap@kunde.example\r\n"
        b"Action: " + action.encode() + b"\r\n"
        b"Status: " + status.encode() + b"\r\n"
        b"Remote-MTA: dns; mx.kunde.example\r\n"
        b"Diagnostic-Code: " + diagnostic.encode() + b"\r\n"
        b"\r\n--B1\r\n"
        b"Content-Type: message/rfc822\r\n\r\n" + returned + b"\r\n--B1--\r\n"
    )


def test_a_postfix_bounce_names_the_message_it_is_about() -> None:
    """A 5.1.1 bounce is failed and permanent, names recipient, diagnostic and MTA, and carries
    the Message-ID the connector derived from the delivery's key."""
    dsn = parse_dsn(postfix_bounce(original("delivery-42")))
    assert dsn is not None
    assert dsn.original_message_id == SENT.message_id("delivery-42")
    assert dsn.failed and dsn.permanent and not dsn.delayed_only
    assert dsn.reporting_mta == "mx.seller.example"
    [recipient] = dsn.recipients
    assert recipient.final_recipient == "ap@kunde.example" and recipient.status == "5.1.1"
    assert recipient.remote_mta == "mx.kunde.example"
    assert recipient.diagnostic_code is not None and "User unknown" in recipient.diagnostic_code
    assert dsn.summary().startswith("failed 5.1.1 ap@kunde.example (550 5.1.1")
    assert "could not be delivered" in dsn.human_text


def test_a_delay_warning_is_no_failure() -> None:
    """Action delayed (4.4.1) is a warning: not failed, not permanent, delayed only."""
    dsn = parse_dsn(postfix_bounce(original(), action="delayed", status="4.4.1"))
    assert dsn is not None and not dsn.failed and dsn.delayed_only


def test_a_bounce_with_headers_only_is_correlated_too() -> None:
    """Exim-style: the original returned as text/rfc822-headers, several recipients, one
    failed; the Original-Envelope-Id is kept."""
    headers = original("k-9").split(b"\r\n\r\n", 1)[0] + b"\r\n"
    data = (
        b"From: Mail Delivery System <Mailer-Daemon@mx.example>\r\n"
        b"Subject: Mail delivery failed\r\nMIME-Version: 1.0\r\n"
        b"Content-Type: multipart/report; report-type=delivery-status; boundary=X\r\n\r\n"
        b"--X\r\nContent-Type: text/plain\r\n\r\nA message could not be delivered.\r\n"
        b"--X\r\nContent-Type: message/delivery-status\r\n\r\n"
        b"Reporting-MTA: dns; mx.example\r\nOriginal-Envelope-Id: env-77\r\n\r\n"
        b"Final-Recipient: rfc822;ok@kunde.example\r\nAction: delivered\r\nStatus: 2.0.0\r\n\r\n"
        b"Final-Recipient: rfc822;gone@kunde.example\r\nAction: failed\r\nStatus: 5.2.1\r\n"
        b"Diagnostic-Code: smtp; 550 mailbox disabled\r\n\r\n"
        b"--X\r\nContent-Type: text/rfc822-headers\r\n\r\n" + headers + b"--X--\r\n"
    )
    dsn = parse_dsn(data)
    assert dsn is not None and dsn.original_message_id == SENT.message_id("k-9")
    assert dsn.original_envelope_id == "env-77"
    assert [(r.final_recipient, r.action) for r in dsn.recipients] == [
        ("ok@kunde.example", "delivered"),
        ("gone@kunde.example", "failed"),
    ]
    assert dsn.permanent


def test_an_auto_reply_is_no_bounce() -> None:
    """An out-of-office answer (Auto-Submitted: auto-replied, text/plain) is not a DSN."""
    data = (
        b"From: ap@kunde.example\r\nTo: invoices@seller.example\r\n"
        b"Subject: Abwesenheitsnotiz: Rechnung INV-1\r\nAuto-Submitted: auto-replied\r\n"
        b"In-Reply-To: <" + SENT.message_id("delivery-42").encode() + b">\r\n"
        b"Content-Type: text/plain; charset=utf-8\r\n\r\nIch bin bis zum 10.12. nicht im Haus.\r\n"
    )
    assert parse_dsn(data) is None


def test_other_reports_and_garbage_are_no_bounce() -> None:
    """A read receipt (report-type disposition-notification), a report without a
    delivery-status part, and random bytes all give None, never an exception."""
    mdn = (
        b"Content-Type: multipart/report; report-type=disposition-notification; boundary=M\r\n"
        b"\r\n--M\r\nContent-Type: message/disposition-notification\r\n\r\n"
        b"Disposition: manual-action/MDN-sent-manually; displayed\r\n--M--\r\n"
    )
    empty = (
        b"Content-Type: multipart/report; report-type=delivery-status; boundary=E\r\n\r\n"
        b"--E\r\nContent-Type: text/plain\r\n\r\nnothing here\r\n--E--\r\n"
    )
    for data in (mdn, empty, bytes(range(256)) * 4, b""):
        assert parse_dsn(data) is None


def test_a_base64_encoded_status_part_is_read() -> None:
    """Some MTAs base64-encode the message/delivery-status part: its fields are still read."""
    fields = (
        b"Reporting-MTA: dns; mx.example\r\n\r\n"
        b"Final-Recipient: rfc822; ap@kunde.example\r\nAction: failed\r\nStatus: 5.7.1\r\n"
    )
    data = (
        b"Content-Type: multipart/report; report-type=delivery-status; boundary=Z\r\n\r\n"
        b"--Z\r\nContent-Type: message/delivery-status\r\n"
        b"Content-Transfer-Encoding: base64\r\n\r\n"
        + base64.encodebytes(fields)
        + b"--Z\r\nContent-Type: message/rfc822\r\n\r\n"
        + original("b64")
        + b"\r\n--Z--\r\n"
    )
    dsn = parse_dsn(data)
    assert dsn is not None and dsn.permanent and dsn.reporting_mta == "mx.example"
    assert dsn.original_message_id == SENT.message_id("b64")
