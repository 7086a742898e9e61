"""Bounces read from a real IMAP server (Dovecot on loopback): a DSN turns a DELIVERED e-mail
FAILED with the DSN on the timeline and the fallback delivered; an auto-reply, a DSN about a
message we never sent and a delay warning change no state; a wrong password is a clear error.
End to end through submit, the worker (aiosmtpd for the send) and the polling sweep."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from pathlib import Path

import pytest
from bounce_docs import auto_reply, dsn, profile_folder, stranger, submit_one
from dovecot_harness import PASSWORD as IMAP_PASSWORD
from dovecot_harness import USER as IMAP_USER
from dovecot_harness import ImapServer, imap_server  # noqa: F401
from email_docs import T0
from harness_smtp import PASSWORD, Pki, SmtpServer, pki, smtp_server  # noqa: F401

from connectors.email import EmailConnector
from gateway.delivery.acks_in import AckRouter, Correlation
from gateway.delivery.errors import AuthenticationFailed, HostKeyMismatch
from gateway.delivery.sweeps import polling_connectors, sweep_poll
from gateway.delivery.worker import Worker
from gateway.profiles.load import ProfileSet, load_profiles
from gateway.store import DeliveryState, Store

LATER = T0 + dt.timedelta(hours=2)


@pytest.fixture
def sqlite_store(tmp_path: Path) -> Iterator[Store]:
    """A migrated SQLite store in tmp_path."""
    opened = Store.open(f"sqlite:///{tmp_path / 'gateway.db'}")
    opened.migrate()
    yield opened
    opened.close()


def imap_options(server: ImapServer, password: str = "env:IGW_TEST_IMAP_PASSWORD") -> str:
    """The profile's bounce options for ``server`` (plain IMAP to loopback)."""
    return (
        f'bounce_host = "127.0.0.1"\nbounce_port = {server.port}\nbounce_security = "none"\n'
        f'bounce_username = "{IMAP_USER}"\nbounce_password = "{password}"\n'
    )


def delivered(
    store: Store,
    smtp: SmtpServer,
    pki: Pki,  # noqa: F811
    imap: ImapServer,
    tmp_path: Path,
) -> tuple[str, ProfileSet, bytes]:
    """Submit one invoice, send it by e-mail: (invoice number, profiles, the e-mail as sent)."""
    folder = profile_folder(tmp_path / "buyers", smtp, pki, imap_options(imap))
    number = submit_one(store, folder)
    profiles = load_profiles(folder)
    assert Worker(store, profiles, clock=lambda: T0, worker_id="w1").run_once() == 1
    [sent] = smtp.messages
    assert [d.state for d in store.deliveries()] == [DeliveryState.DELIVERED]
    return number, profiles, sent.content


def poll(store: Store, profiles: ProfileSet) -> list[Correlation]:
    """One polling sweep over the profiles' polling connectors."""
    connectors = polling_connectors(profiles.profiles)
    try:
        return sweep_poll(store, connectors, AckRouter(), LATER, profiles.profiles)
    finally:
        for connector in connectors:
            if isinstance(connector, EmailConnector):
                connector.close()


@pytest.fixture
def env(monkeypatch: pytest.MonkeyPatch) -> None:
    """The SMTP and IMAP passwords the profiles refer to."""
    monkeypatch.setenv("IGW_TEST_SMTP_PASSWORD", PASSWORD)
    monkeypatch.setenv("IGW_TEST_IMAP_PASSWORD", IMAP_PASSWORD)


@pytest.mark.usefixtures("env")
def test_a_dsn_fails_the_delivered_email_and_the_fallback_delivers(
    sqlite_store: Store,
    smtp_server: SmtpServer,  # noqa: F811
    pki: Pki,  # noqa: F811
    imap_server: ImapServer,  # noqa: F811
    tmp_path: Path,
) -> None:
    """A DSN for the sent e-mail in the bounce mailbox: after one poll the e-mail delivery is
    FAILED with the DSN bytes and its status/diagnostic on the timeline, the file fallback is
    queued and the next worker run delivers it; the DSN is marked seen."""
    number, profiles, sent = delivered(sqlite_store, smtp_server, pki, imap_server, tmp_path)
    bounce = dsn(sent)
    imap_server.append(bounce)
    [result] = poll(sqlite_store, profiles)
    assert result.matched
    states = {d.channel: d.state for d in sqlite_store.deliveries()}
    assert states == {"email": DeliveryState.FAILED, "file": DeliveryState.QUEUED}
    [event] = [e for e in sqlite_store.timeline(number) if e.detail.startswith("DSN")]
    assert event.evidence == bounce
    assert "5.1.1" in event.detail and "User unknown" in event.detail
    assert "falling back to file" in event.detail
    assert imap_server.flags() == [{"\\Seen"}]
    Worker(sqlite_store, profiles, clock=lambda: LATER, worker_id="w1").run_once()
    states = {d.channel: d.state for d in sqlite_store.deliveries()}
    assert states == {"email": DeliveryState.FAILED, "file": DeliveryState.DELIVERED}
    assert poll(sqlite_store, profiles) == []  # seen: not read again


@pytest.mark.usefixtures("env")
def test_an_auto_reply_changes_nothing_and_stays_for_people(
    sqlite_store: Store,
    smtp_server: SmtpServer,  # noqa: F811
    pki: Pki,  # noqa: F811
    imap_server: ImapServer,  # noqa: F811
    tmp_path: Path,
) -> None:
    """An out-of-office reply (Auto-Submitted: auto-replied) is no bounce: nothing is recorded,
    the delivery stays DELIVERED, the mail stays unread and flagged, a later poll skips it."""
    _, profiles, _ = delivered(sqlite_store, smtp_server, pki, imap_server, tmp_path)
    [row] = sqlite_store.deliveries()
    imap_server.append(auto_reply(row.message_id or ""))
    assert poll(sqlite_store, profiles) == []
    assert [d.state for d in sqlite_store.deliveries()] == [DeliveryState.DELIVERED]
    assert sqlite_store.list_unmatched_acks() == []
    [flags] = imap_server.flags()
    assert "\\Flagged" in flags and "\\Seen" not in flags
    assert poll(sqlite_store, profiles) == []


@pytest.mark.usefixtures("env")
def test_a_dsn_for_an_unknown_message_id_changes_nothing(
    sqlite_store: Store,
    smtp_server: SmtpServer,  # noqa: F811
    pki: Pki,  # noqa: F811
    imap_server: ImapServer,  # noqa: F811
    tmp_path: Path,
) -> None:
    """A DSN about a Message-ID the gateway never sent is kept as an unmatched ack (logged),
    no delivery changes, nothing crashes."""
    number, profiles, _ = delivered(sqlite_store, smtp_server, pki, imap_server, tmp_path)
    before = len(sqlite_store.timeline(number))
    imap_server.append(dsn(stranger()))
    [result] = poll(sqlite_store, profiles)
    assert not result.matched
    assert [d.state for d in sqlite_store.deliveries()] == [DeliveryState.DELIVERED]
    assert len(sqlite_store.timeline(number)) == before
    [kept] = sqlite_store.list_unmatched_acks()
    assert kept.kind == "DSN"


@pytest.mark.usefixtures("env")
def test_a_delayed_dsn_is_recorded_but_changes_no_state(
    sqlite_store: Store,
    smtp_server: SmtpServer,  # noqa: F811
    pki: Pki,  # noqa: F811
    imap_server: ImapServer,  # noqa: F811
    tmp_path: Path,
) -> None:
    """A delay warning (Action: delayed, 4.4.1) is an event on the timeline naming the status;
    the delivery stays DELIVERED and no fallback is queued."""
    number, profiles, sent = delivered(sqlite_store, smtp_server, pki, imap_server, tmp_path)
    imap_server.append(dsn(sent, action="delayed", status="4.4.1"))
    [result] = poll(sqlite_store, profiles)
    assert result.matched
    assert [d.state for d in sqlite_store.deliveries()] == [DeliveryState.DELIVERED]
    [event] = [e for e in sqlite_store.timeline(number) if e.detail.startswith("DSN")]
    assert "delayed 4.4.1" in event.detail


def test_a_wrong_imap_password_is_a_clear_error(
    imap_server: ImapServer,  # noqa: F811
) -> None:
    """Login refused: AuthenticationFailed naming the mailbox and the user, one line."""
    connector = EmailConnector(
        host="127.0.0.1",
        security="none",
        from_address="invoices@seller.example",
        to="ap@kunde.example",
        bounce_host="127.0.0.1",
        bounce_port=imap_server.port,
        bounce_security="none",
        bounce_username=IMAP_USER,
        bounce_password="not-the-password",
    )
    with pytest.raises(AuthenticationFailed) as caught:
        list(connector.poll())
    text = str(caught.value)
    assert "IMAP login as 'bounces@seller.example' refused" in text and "\n" not in text
    assert f"127.0.0.1:{imap_server.port}" in text


def test_bounces_are_read_over_implicit_tls_and_moved_to_a_folder(
    imap_server: ImapServer,  # noqa: F811
    pki: Pki,  # noqa: F811
) -> None:
    """IMAPS (the test CA): the DSN is yielded once; confirmed, it is moved to bounce_move_to."""
    imap_server.create("Handled")
    imap_server.append(dsn(stranger()))
    connector = EmailConnector(
        host="127.0.0.1",
        security="none",
        from_address="invoices@seller.example",
        to="ap@kunde.example",
        bounce_host="127.0.0.1",
        bounce_port=imap_server.tls_port,
        bounce_security="tls",
        bounce_ca_file=str(pki.ca_file),
        bounce_username=IMAP_USER,
        bounce_password=IMAP_PASSWORD,
        bounce_move_to="Handled",
    )
    with connector:
        items = []
        for item in connector.poll():
            items.append(item)
            connector.confirm(item)
        assert len(items) == 1 and items[0].channel.startswith("imap+tls://")
        assert list(connector.poll()) == []
    assert imap_server.flags() == []
    assert imap_server.flags("Handled") == [{"\\Seen"}]


def test_bounces_are_read_over_starttls(
    imap_server: ImapServer,  # noqa: F811
    pki: Pki,  # noqa: F811
) -> None:
    """STARTTLS on the plain port (the test CA verified): the DSN is read and marked seen."""
    bounce = dsn(stranger())
    imap_server.append(bounce)
    connector = EmailConnector(
        host="127.0.0.1",
        security="none",
        from_address="invoices@seller.example",
        to="ap@kunde.example",
        bounce_host="127.0.0.1",
        bounce_port=imap_server.port,
        bounce_security="starttls",
        bounce_ca_file=str(pki.ca_file),
        bounce_username=IMAP_USER,
        bounce_password=IMAP_PASSWORD,
    )
    with connector:
        items = list(connector.poll())
        assert [i.content for i in items] == [bounce]
        assert items[0].channel.startswith("imap+starttls://")
        connector.confirm(items[0])
    assert imap_server.flags() == [{"\\Seen"}]


def test_an_untrusted_imap_certificate_is_refused(
    imap_server: ImapServer,  # noqa: F811
) -> None:
    """Implicit TLS without the test CA: HostKeyMismatch (no traceback, nothing read)."""
    connector = EmailConnector(
        host="127.0.0.1",
        security="none",
        from_address="invoices@seller.example",
        to="ap@kunde.example",
        bounce_host="127.0.0.1",
        bounce_port=imap_server.tls_port,
        bounce_security="tls",
        bounce_username=IMAP_USER,
        bounce_password=IMAP_PASSWORD,
    )
    with pytest.raises(HostKeyMismatch, match="certificate not trusted"):
        list(connector.poll())
