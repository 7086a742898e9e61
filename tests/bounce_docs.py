"""Bounce mail for the bounce tests: a Postfix-style DSN returning a sent message, an auto-reply,
and the e-mail-channel profile whose bounce source is given (tests/test_email_bounces_*.py)."""

from __future__ import annotations

import json
from pathlib import Path

from email_docs import T0
from harness_smtp import USER, Pki, SmtpServer

from gateway.delivery.submit import submit
from gateway.intake import read_records
from gateway.profiles.load import load_profiles
from gateway.store import Store

EXAMPLES = Path(__file__).resolve().parent.parent / "examples" / "erp-export.json"


def dsn(returned: bytes, action: str = "failed", status: str = "5.1.1") -> bytes:
    """A Postfix-style DSN about ``returned`` (the whole original message attached)."""
    diagnostic = (
        b"smtp; 550 5.1.1 <ap@kunde.example>: Recipient address rejected: User unknown"
        if action == "failed"
        else b"smtp; 451 4.4.1 connection timed out"
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
        b"Your message could not be delivered.\r\n"
        b"\r\n--B1\r\n"
        b"Content-Type: message/delivery-status\r\n\r\n"
        b"Reporting-MTA: dns; mx.seller.example\r\n"
        b"\r\n"
        b"Final-Recipient: rfc822; ap@kunde.example\r\n"
        b"Action: " + action.encode() + b"\r\n"
        b"Status: " + status.encode() + b"\r\n"
        b"Remote-MTA: dns; mx.kunde.example\r\n"
        b"Diagnostic-Code: " + diagnostic + b"\r\n"
        b"\r\n--B1\r\n"
        b"Content-Type: message/rfc822\r\n\r\n" + returned + b"\r\n--B1--\r\n"
    )


def auto_reply(message_id: str) -> bytes:
    """An out-of-office answer to the e-mail ``message_id`` (RFC 3834 Auto-Submitted)."""
    return (
        b"From: ap@kunde.example\r\nTo: invoices@seller.example\r\n"
        b"Subject: Out of office: Rechnung\r\nAuto-Submitted: auto-replied\r\n"
        b"In-Reply-To: <" + message_id.encode() + b">\r\n"
        b"Content-Type: text/plain; charset=utf-8\r\n\r\nBack on 10 December.\r\n"
    )


def stranger(returned_id: str = "0123456789abcdef.igw@elsewhere.example") -> bytes:
    """A minimal original with a Message-ID the gateway never sent."""
    return (
        f"Message-ID: <{returned_id}>\r\nFrom: someone@elsewhere.example\r\n"
        "To: ap@kunde.example\r\nSubject: not ours\r\n\r\nhello\r\n"
    ).encode()


def profile_folder(where: Path, server: SmtpServer, pki: Pki, bounce_options: str) -> Path:
    """A default buyer profile: Peppol BIS 3 by e-mail (STARTTLS + AUTH to ``server``) with the
    bounce source ``bounce_options`` (TOML lines), a file drop as fallback."""
    where.mkdir()
    (where / "kunde.toml").write_text(
        'default = true\nformat = "peppol-bis3"\n'
        '[channel]\nconnector = "email"\n[channel.options]\n'
        f'host = "127.0.0.1"\nport = {server.port}\nsecurity = "starttls"\n'
        f'username = "{USER}"\npassword = "env:IGW_TEST_SMTP_PASSWORD"\n'
        f'ca_file = "{pki.ca_file}"\nfrom_address = "invoices@seller.example"\n'
        f'to = "ap@kunde.example"\nlanguage = "de"\ntimeout = 5\n{bounce_options}'
        f'[[fallback]]\nconnector = "file"\n'
        f'options = {{ directory = "{where / "manual"}", create = true }}\n'
    )
    return where


def submit_one(store: Store, folder: Path) -> str:
    """Submit the first ERP example for the profiles in ``folder``; its invoice number."""
    record = json.loads(EXAMPLES.read_text(encoding="utf-8"))[:1]
    records = read_records(json.dumps(record).encode(), "json")
    report = submit(records, store, load_profiles(folder), now=T0)
    assert report.count("stored") == 1, [o.problems for o in report.outcomes]
    number: str = record[0]["number"]
    return number
