"""The demo's loopback SMTP peer (gateway.peers.smtp_server), spoken to with smtplib."""

from __future__ import annotations

import smtplib
import ssl
from collections.abc import Iterator
from pathlib import Path

import pytest

from gateway.peers.smtp_server import SmtpServer, make_tls_files

USER, PASSWORD = "igw", "peer-test-password"
MESSAGE = b"From: a@seller.example\r\nTo: ap@buyer.example\r\nSubject: hi\r\n\r\nbody\r\n"


@pytest.fixture
def server(tmp_path: Path) -> Iterator[SmtpServer]:
    with SmtpServer(
        tmp_path / "mailbox", users={USER: PASSWORD}, tls=make_tls_files(tmp_path / "keys")
    ) as running:
        yield running


def _client(server: SmtpServer, tmp_path: Path) -> smtplib.SMTP:
    client = smtplib.SMTP("127.0.0.1", server.port, timeout=10)
    client.starttls(context=ssl.create_default_context(cafile=tmp_path / "keys" / "smtp-ca.pem"))
    return client


def test_stores_each_message_under_its_recipient_named_by_queue_id(
    server: SmtpServer, tmp_path: Path
) -> None:
    """After STARTTLS (certificate verified against the demo CA) and AUTH, a message is stored
    as mailbox/<recipient>/<queue id>.eml and the DATA reply names that queue id."""
    with _client(server, tmp_path) as client:
        client.login(USER, PASSWORD)
        client.mail("a@seller.example")
        client.rcpt("ap@buyer.example")
        code, reply = client.data(MESSAGE)
    assert code == 250 and reply.startswith(b"OK queued as ")
    queue_id = reply.decode().rsplit(" ", 1)[-1]
    stored = tmp_path / "mailbox" / "ap@buyer.example" / f"{queue_id}.eml"
    assert stored.read_bytes().replace(b"\r\n", b"\n") == MESSAGE.replace(b"\r\n", b"\n")
    assert server.received == 1


def test_refuses_mail_before_starttls_and_a_wrong_password(
    server: SmtpServer, tmp_path: Path
) -> None:
    """Without STARTTLS the server refuses MAIL (530); after it, a wrong password is refused
    (535) and nothing is stored."""
    with smtplib.SMTP("127.0.0.1", server.port, timeout=10) as plain:
        plain.ehlo()
        assert plain.mail("a@seller.example")[0] == 530
    with _client(server, tmp_path) as client, pytest.raises(smtplib.SMTPAuthenticationError):
        client.login(USER, "wrong")
    assert server.received == 0 and not list((tmp_path / "mailbox").rglob("*.eml"))


def test_keeps_its_certificate_files_across_runs(tmp_path: Path) -> None:
    """The CA and certificate are made once; a second call reuses the same files."""
    first = make_tls_files(tmp_path)
    ca = first.ca_file.read_bytes()
    assert make_tls_files(tmp_path).ca_file.read_bytes() == ca
