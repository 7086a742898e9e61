"""Bounces from a local Maildir (``bounce_maildir``), the bounce options refused with clear
messages, and the DSN read as an Ack (final when a recipient failed, correlated by Message-ID)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from bounce_docs import auto_reply, dsn, profile_folder, stranger, submit_one
from email_docs import T0
from harness_smtp import PASSWORD, Pki, SmtpServer, pki, smtp_server  # noqa: F401

from connectors.base import Inbound
from connectors.email import EmailConnector
from connectors.email.bounces import bounce_ack
from gateway.ack import Ack, AckLevel, AckReference, AckStatus
from gateway.delivery.acks_in import AckRouter, receive
from gateway.delivery.errors import ConfigurationInvalid
from gateway.delivery.sweeps import Sweeper, polling_connectors, sweep_poll
from gateway.delivery.worker import Worker
from gateway.profiles.load import load_profiles
from gateway.store import DeliveryState, Store

LATER = T0 + dt.timedelta(hours=2)
BASE: dict[str, Any] = {
    "host": "127.0.0.1",
    "security": "none",
    "from_address": "invoices@seller.example",
    "to": "ap@kunde.example",
}


def maildir(where: Path) -> Path:
    """An empty Maildir (new/, cur/, tmp/)."""
    for sub in ("new", "cur", "tmp"):
        (where / sub).mkdir(parents=True)
    return where


@pytest.fixture
def sqlite_store(tmp_path: Path) -> Iterator[Store]:
    """A migrated SQLite store in tmp_path."""
    opened = Store.open(f"sqlite:///{tmp_path / 'gateway.db'}")
    opened.migrate()
    yield opened
    opened.close()


def test_a_dsn_in_the_maildir_fails_the_delivery_and_the_fallback_delivers(
    sqlite_store: Store,
    smtp_server: SmtpServer,  # noqa: F811
    pki: Pki,  # noqa: F811
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Sent by e-mail, a DSN for it and an auto-reply dropped into the Maildir: one poll (the
    Sweeper's, as in `igw run`) fails the e-mail delivery (fallback queued, then delivered); the
    DSN is moved to cur/ seen, the auto-reply to cur/ flagged, unread; a second poll reads none."""
    monkeypatch.setenv("IGW_TEST_SMTP_PASSWORD", PASSWORD)
    box = maildir(tmp_path / "bounces")
    folder = profile_folder(tmp_path / "buyers", smtp_server, pki, f'bounce_maildir = "{box}"\n')
    number = submit_one(sqlite_store, folder)
    profiles = load_profiles(folder)
    Worker(sqlite_store, profiles, clock=lambda: T0, worker_id="w1").run_once()
    [sent] = smtp_server.messages
    [row] = sqlite_store.deliveries()
    (box / "new" / "1.dsn.host").write_bytes(dsn(sent.content))
    (box / "new" / "2.ooo.host").write_bytes(auto_reply(row.message_id or ""))
    connectors = polling_connectors(profiles.profiles)
    # as `igw run` polls: the Sweeper with the loaded ProfileSet
    sweeper = Sweeper(sqlite_store, profiles, connectors=connectors, clock=lambda: LATER)
    [result] = sweeper.run_poll()
    assert result.matched
    states = {d.channel: d.state for d in sqlite_store.deliveries()}
    assert states == {"email": DeliveryState.FAILED, "file": DeliveryState.QUEUED}
    assert sorted(p.name for p in (box / "cur").iterdir()) == ["1.dsn.host:2,S", "2.ooo.host:2,F"]
    assert sweep_poll(sqlite_store, connectors, AckRouter(), LATER, profiles.profiles) == []
    Worker(sqlite_store, profiles, clock=lambda: LATER, worker_id="w1").run_once()
    assert {d.channel: d.state for d in sqlite_store.deliveries()}["file"] is (
        DeliveryState.DELIVERED
    )
    assert any("DSN transport ack: rejected" in e.detail for e in sqlite_store.timeline(number))


def test_a_dsn_is_a_final_transport_rejection_naming_the_original_message_id() -> None:
    """bounce_ack: a failed DSN is a final rejected transport Ack referring to the returned
    original's Message-ID, its reasons the recipient's status and diagnostic; a delay warning
    is a received Ack, not final; an auto-reply is no Ack."""
    original = stranger("abc.igw@seller.example")
    ack = bounce_ack(dsn(original))
    assert ack is not None and ack.final and ack.status is AckStatus.REJECTED
    assert ack.level is AckLevel.TRANSPORT and ack.refers_to.message_id == "abc.igw@seller.example"
    assert [(r.code, r.location) for r in ack.reasons] == [
        ("5.1.1", "ap@kunde.example: failed 5.1.1")
    ]
    assert "User unknown" in ack.reasons[0].text
    delayed = bounce_ack(dsn(original, action="delayed", status="4.4.1"))
    assert delayed is not None and not delayed.final and delayed.status is AckStatus.RECEIVED
    assert bounce_ack(auto_reply("abc.igw@seller.example")) is None


@pytest.mark.parametrize(
    ("options", "says"),
    [
        ({"bounce_host": "127.0.0.1", "bounce_security": "ssl"}, "bounce_security = 'ssl'"),
        (
            {"bounce_host": "imap.example", "bounce_security": "none"},
            "plain IMAP is allowed to loopback hosts only",
        ),
        ({"bounce_host": "127.0.0.1"}, "bounce_username and bounce_password"),
        ({"bounce_maildir": "/nonexistent/box"}, "not a Maildir"),
        (
            {"bounce_maildir": "/tmp", "bounce_host": "127.0.0.1"},
            "bounce_host and bounce_maildir both set",
        ),
    ],
)
def test_bad_bounce_options_are_refused_with_the_field_and_what_is_accepted(
    options: dict[str, Any], says: str
) -> None:
    """A bad bounce source is ConfigurationInvalid at construction, naming the option."""
    with pytest.raises(ConfigurationInvalid) as caught:
        EmailConnector(**BASE, **options)
    assert says in str(caught.value) and "accepted" in str(caught.value).lower()


def test_a_literal_bounce_password_in_a_profile_is_refused(tmp_path: Path) -> None:
    """bounce_password must be a secret reference (like the SMTP password)."""
    (tmp_path / "kunde.toml").write_text(
        'format = "peppol-bis3"\n[channel]\nconnector = "email"\n[channel.options]\n'
        'host = "127.0.0.1"\nsecurity = "none"\nfrom_address = "invoices@seller.example"\n'
        'to = "ap@kunde.example"\nbounce_host = "127.0.0.1"\nbounce_username = "b"\n'
        'bounce_password = "hunter2"\n'
    )
    with pytest.raises(Exception, match="bounce_password") as caught:
        load_profiles(tmp_path)
    assert "hunter2" not in str(caught.value)


def test_without_a_bounce_source_poll_yields_nothing() -> None:
    """An e-mail connector without bounce options polls nothing (and confirm is refused)."""
    connector = EmailConnector(**BASE)
    assert list(connector.poll()) == []
    with pytest.raises(ConfigurationInvalid, match="without a bounce mailbox"):
        connector.confirm(_item())


def _item() -> Inbound:
    """An inbound item as a bounce source would yield it."""
    return Inbound("email", "imap", b"", T0, name="x")


def test_a_bounce_without_the_profile_fails_without_fallback_and_keeps_a_final_state(
    sqlite_store: Store,
    smtp_server: SmtpServer,  # noqa: F811
    pki: Pki,  # noqa: F811
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """receive() of a DSN without the buyer's profile: FAILED, 'no fallback channel'; a DSN on
    an ACCEPTED delivery (the buyer already answered) keeps ACCEPTED and records the event."""
    monkeypatch.setenv("IGW_TEST_SMTP_PASSWORD", PASSWORD)
    box = maildir(tmp_path / "bounces")
    folder = profile_folder(tmp_path / "buyers", smtp_server, pki, f'bounce_maildir = "{box}"\n')
    number = submit_one(sqlite_store, folder)
    Worker(sqlite_store, load_profiles(folder), clock=lambda: T0, worker_id="w1").run_once()
    [sent] = smtp_server.messages
    ack = bounce_ack(dsn(sent.content))
    assert ack is not None
    [row] = receive(sqlite_store, ack, now=LATER).deliveries
    assert row.state is DeliveryState.FAILED and len(sqlite_store.deliveries()) == 1
    assert sqlite_store.timeline(number)[-1].detail.endswith("; no fallback channel")
    business = Ack("APERAK", AckLevel.BUSINESS, AckStatus.ACCEPTED, AckReference(), b"")
    sqlite_store.mark(row.id, DeliveryState.QUEUED, now=LATER, kind="requeue")
    sqlite_store.mark(row.id, DeliveryState.SENT, now=LATER, kind="attempt")
    sqlite_store.record_ack(row.id, business, now=LATER, new_state=DeliveryState.ACCEPTED)
    [kept] = receive(sqlite_store, ack, now=LATER).deliveries
    assert kept.state is DeliveryState.ACCEPTED
    assert "state kept" in sqlite_store.timeline(number)[-1].detail
