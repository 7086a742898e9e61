"""Read receipts (RFC 8098 MDNs): asked for only with ``read_receipt = true``; a ``displayed``
receipt in the bounce mailbox moves the delivered e-mail to VIEWED; other dispositions, DSNs and
ordinary mail are no read receipt."""

from __future__ import annotations

import datetime as dt
import email
from collections.abc import Iterator
from email import policy
from pathlib import Path

import pytest
from bounce_docs import auto_reply, dsn, profile_folder, stranger, submit_one
from email_docs import T0, connector, ubl_document
from harness_smtp import PASSWORD, Pki, SmtpServer, pki, smtp_server  # noqa: F401

from connectors.email.read_receipts import parse_read_receipt, read_ack
from gateway.ack import AckLevel, AckStatus
from gateway.delivery.errors import ConfigurationInvalid
from gateway.delivery.sweeps import Sweeper, polling_connectors
from gateway.delivery.worker import Worker
from gateway.profiles.load import load_profiles
from gateway.store import DeliveryState, Store

LATER = T0 + dt.timedelta(hours=3)


def receipt(message_id: str, disposition: str = "displayed") -> bytes:
    """A read receipt as Thunderbird writes one, about the e-mail ``message_id``."""
    return (
        "From: ap@kunde.example\r\nTo: invoices@seller.example\r\n"
        "Subject: Return Receipt (displayed) - Rechnung\r\nMIME-Version: 1.0\r\n"
        'Content-Type: multipart/report; report-type="disposition-notification";\r\n'
        ' boundary="R1"\r\n\r\n--R1\r\nContent-Type: text/plain; charset=UTF-8\r\n\r\n'
        "The message was displayed on the recipient's computer.\r\n\r\n--R1\r\n"
        "Content-Type: message/disposition-notification\r\n\r\n"
        "Reporting-UA: mail.kunde.example; Thunderbird 128\r\n"
        "Final-Recipient: rfc822;ap@kunde.example\r\n"
        f"Original-Message-ID: <{message_id}>\r\n"
        f"Disposition: manual-action/MDN-sent-manually; {disposition}\r\n"
        "\r\n--R1--\r\n"
    ).encode()


def test_a_displayed_receipt_is_a_viewed_ack_naming_the_original_message_id() -> None:
    """read_ack: 'displayed' is VIEWED for the Original-Message-ID; 'deleted' only RECEIVED;
    a DSN, an auto-reply, bytes that are no message are no read receipt."""
    ack = read_ack(receipt("abc.igw@seller.example"))
    assert ack is not None and ack.status is AckStatus.VIEWED
    assert ack.level is AckLevel.TRANSPORT and ack.refers_to.message_id == "abc.igw@seller.example"
    assert ack.note == "ap@kunde.example: displayed (manual-action/mdn-sent-manually)"
    deleted = read_ack(receipt("abc.igw@seller.example", "deleted"))
    assert deleted is not None and deleted.status is AckStatus.RECEIVED
    assert read_ack(dsn(stranger("abc.igw@seller.example"))) is None
    assert read_ack(auto_reply("abc.igw@seller.example")) is None
    for junk in (b"", b"\xff\xfe\x00", b"Content-Type: multipart/report\r\n\r\n--x--"):
        assert parse_read_receipt(junk) is None


def test_a_read_receipt_is_asked_for_only_when_the_profile_says_so(
    smtp_server: SmtpServer,  # noqa: F811
    pki: Pki,  # noqa: F811
) -> None:
    """Without read_receipt no Disposition-Notification-To header; with it, the sender's address
    (or read_receipt_to); read_receipt_to alone or a non-boolean is a configuration error."""
    with connector(smtp_server, pki) as plain:
        plain.send(ubl_document(), delivery_id="1", idempotency_key="k1")
    with connector(smtp_server, pki, read_receipt=True) as asking:
        asking.send(ubl_document(), delivery_id="2", idempotency_key="k2")
    first, second = (
        email.message_from_bytes(m.content, policy=policy.default) for m in smtp_server.messages
    )
    assert first["Disposition-Notification-To"] is None
    assert second["Disposition-Notification-To"] == "invoices@seller.example"
    with pytest.raises(ConfigurationInvalid, match=r"read_receipt_to = 'x@y\.example' without"):
        connector(smtp_server, pki, read_receipt_to="x@y.example")
    refused = r"read_receipt = 'yes': accepted: true or false"
    with pytest.raises(ConfigurationInvalid, match=refused):
        connector(smtp_server, pki, read_receipt="yes")


@pytest.fixture
def sqlite_store(tmp_path: Path) -> Iterator[Store]:
    """A migrated SQLite store in tmp_path."""
    opened = Store.open(f"sqlite:///{tmp_path / 'gateway.db'}")
    opened.migrate()
    yield opened
    opened.close()


def test_a_displayed_receipt_in_the_bounce_mailbox_marks_the_delivery_viewed(
    sqlite_store: Store,
    smtp_server: SmtpServer,  # noqa: F811
    pki: Pki,  # noqa: F811
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Sent with read_receipt = true; the buyer's 'displayed' receipt dropped into the Maildir:
    the Sweeper's poll moves the DELIVERED e-mail to VIEWED with the receipt on the timeline,
    and marks the receipt seen."""
    monkeypatch.setenv("IGW_TEST_SMTP_PASSWORD", PASSWORD)
    box = tmp_path / "bounces"
    for sub in ("new", "cur", "tmp"):
        (box / sub).mkdir(parents=True)
    options = f'bounce_maildir = "{box}"\nread_receipt = true\n'
    folder = profile_folder(tmp_path / "buyers", smtp_server, pki, options)
    number = submit_one(sqlite_store, folder)
    profiles = load_profiles(folder)
    Worker(sqlite_store, profiles, clock=lambda: T0, worker_id="w1").run_once()
    [row] = sqlite_store.deliveries()
    assert row.state is DeliveryState.DELIVERED
    (box / "new" / "1.mdn.host").write_bytes(receipt(row.message_id or ""))
    sweeper = Sweeper(
        sqlite_store,
        profiles,
        connectors=polling_connectors(profiles.profiles),
        clock=lambda: LATER,
    )
    [result] = sweeper.run_poll()
    assert result.matched
    [row] = sqlite_store.deliveries()
    assert row.state is DeliveryState.VIEWED
    viewed = [e for e in sqlite_store.timeline(number) if "read-receipt" in (e.detail or "")]
    assert viewed and "viewed; ap@kunde.example: displayed" in viewed[-1].detail
    assert [p.name for p in (box / "cur").iterdir()] == ["1.mdn.host:2,S"]
