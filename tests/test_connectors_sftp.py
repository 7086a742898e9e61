"""SftpConnector against a real paramiko SFTP server on loopback: atomic upload seen from the
server, idempotency across restarts, connection reuse, drops mid-batch, host keys, logins and
error translation."""

from __future__ import annotations

import socket
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import paramiko
import pytest
from connector_harness import NOW
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from harness_sftp import (  # noqa: F401  (fixtures)
    PASSWORD,
    USER,
    connector,
    doc,
    folder,
    local,
    server,
    sftp_server,
    visible,
)

from connectors.base import Receipt
from connectors.sftp import SftpConnector
from connectors.sftp_keys import parse_host_key
from gateway.delivery.errors import (
    AuthenticationFailed,
    ConfigurationInvalid,
    ConnectionFailed,
    HostKeyMismatch,
    IdempotencyConflict,
    Timeout,
)
from gateway.peers.sftp_server import SftpEvent, SftpServer, generate_host_key, public_line
from gateway.profiles.load import build_connector
from gateway.profiles.profile import ChannelSpec

# -- atomic upload and idempotency -----------------------------------------------------------


def test_no_partial_file_is_ever_visible_on_the_server(server: SftpServer, folder: str) -> None:  # noqa: F811
    """At every server-side step of a batch upload, each non-hidden file holds a whole document;
    the partial states exist only under hidden temporary names."""
    docs = [doc("BIG-1", 300_000), doc("S-1"), doc("BIG-2", 100_000)]
    whole = {d.content for d in docs}
    violations: list[tuple[str, str, int]] = []
    partial: list[tuple[str, int]] = []
    where = local(server, folder)

    def watch(event: SftpEvent) -> None:
        for path in where.iterdir():
            data = path.read_bytes()
            if path.name.startswith("."):
                partial.append((path.name, len(data)))
            elif data not in whole:
                violations.append((event.op, path.name, len(data)))

    server.observe(watch)
    sftp = connector(server, folder)
    receipts = [sftp.send(d, delivery_id="d", idempotency_key=d.invoice_number) for d in docs]
    assert server.errors == []
    assert violations == []
    assert any(0 < size < 300_000 for _, size in partial)  # there were partial states, hidden
    assert visible(where) == {r.message_id: d.content for r, d in zip(receipts, docs, strict=True)}
    assert [p.name for p in where.iterdir() if p.name.startswith(".")] == []


def test_an_existing_target_is_never_overwritten(server: SftpServer, folder: str) -> None:  # noqa: F811
    """A file already at the target with other bytes is an IdempotencyConflict and stays as is."""
    sftp = connector(server, folder)
    document = doc("INV-7")
    target = local(server, sftp.target_for(document, "k-7"))
    target.write_bytes(b"someone else's bytes")
    with pytest.raises(IdempotencyConflict) as caught:
        sftp.send(document, delivery_id="d", idempotency_key="k-7")
    assert caught.value.retryable is False
    assert target.read_bytes() == b"someone else's bytes"


def test_a_restarted_connector_finds_its_file_and_uploads_nothing(
    server: SftpServer,  # noqa: F811
    folder: str,  # noqa: F811
) -> None:
    """After a restart the same key finds the uploaded file: the receipt names it, sent_at is
    the file's (whole-second) modification time, and no file is opened for writing."""
    document = doc("INV-8")
    first = connector(server, folder).send(document, delivery_id="d", idempotency_key="k-8")
    opened: list[SftpEvent] = []
    server.observe(lambda e: opened.append(e) if e.op == "open" else None)
    later = connector(server, folder, clock=lambda: NOW.replace(year=2027))
    again = later.send(document, delivery_id="d", idempotency_key="k-8")
    assert (again.message_id, again.evidence) == (first.message_id, first.evidence)
    assert again.sent_at == NOW.replace(microsecond=0)
    assert first.sent_at == NOW
    assert [e.paths[0] for e in opened] == [f"{folder}/{first.message_id}"]  # read back only
    with pytest.raises(IdempotencyConflict):
        later.send(doc("INV-8-other"), delivery_id="d", idempotency_key="k-8")


def test_two_connectors_racing_on_one_key_deliver_once(server: SftpServer, folder: str) -> None:  # noqa: F811
    """Two workers' connectors sending one key at once: one file, every receipt names it."""
    pair = [connector(server, folder), connector(server, folder)]
    document = doc("INV-9")

    def send(i: int) -> Receipt:
        return pair[i % 2].send(document, delivery_id="d", idempotency_key="k-9")

    with ThreadPoolExecutor(max_workers=4) as pool:
        names = {r.message_id for r in pool.map(send, range(8))}
    assert len(names) == 1
    assert visible(local(server, folder)) == {names.pop(): document.content}
    assert [p for p in local(server, folder).iterdir() if p.name.startswith(".")] == []


# -- one connection, drops -------------------------------------------------------------------


def test_one_connection_serves_a_whole_batch(server: SftpServer, folder: str) -> None:  # noqa: F811
    """Twenty sends through one connector open one SSH connection."""
    before = server.connections
    sftp = connector(server, folder)
    for i in range(20):
        sftp.send(doc(f"B-{i}"), delivery_id=str(i), idempotency_key=f"b-{i}")
    assert server.connections - before == 1
    assert sftp.connects == 1
    assert len(visible(local(server, folder))) == 20


def _requests_per_upload(server: SftpServer, folder: str) -> int:  # noqa: F811
    probe = connector(server, f"{folder}")
    probe.send(doc("PROBE"), delivery_id="p", idempotency_key="probe")  # connect first
    before = server.operations
    probe.send(doc("PROBE-2"), delivery_id="p", idempotency_key="probe-2")
    probe.close()
    return server.operations - before


@pytest.mark.parametrize("phase", ["before", "after"])
def test_a_drop_at_any_request_mid_batch_loses_and_duplicates_nothing(
    server: SftpServer,  # noqa: F811
    folder: str,  # noqa: F811
    phase: str,
) -> None:
    """The connection cut at each SFTP request of the second upload of a batch - before the
    server runs it, or after (the answer lost) - is re-opened once and the batch delivers each
    document exactly once, with no temporary file left and the same receipts on re-send."""
    per_upload = _requests_per_upload(server, folder)
    assert per_upload >= 5  # stat, open, write, setstat, close, rename
    for position in range(1, per_upload + 1):
        remote = f"{folder}/{phase}-{position}"
        local(server, remote).mkdir()
        sftp = connector(server, remote)
        docs = [doc(f"D{position}-{i}") for i in range(3)]
        receipts = [sftp.send(docs[0], delivery_id="0", idempotency_key=f"{remote}-0")]
        server.drop_after(position, phase)  # type: ignore[arg-type]
        receipts += [
            sftp.send(d, delivery_id=str(i), idempotency_key=f"{remote}-{i}")
            for i, d in enumerate(docs[1:], start=1)
        ]
        assert sftp.connects == 2, (phase, position)
        files = sorted(p.name for p in local(server, remote).iterdir())
        assert files == sorted(r.message_id for r in receipts), (phase, position)
        assert visible(local(server, remote)) == {
            r.message_id: d.content for r, d in zip(receipts, docs, strict=True)
        }
        assert all(r.sent_at == NOW for r in receipts)
        again = [
            sftp.send(d, delivery_id=str(i), idempotency_key=f"{remote}-{i}")
            for i, d in enumerate(docs)
        ]
        assert again == receipts
        sftp.close()


def test_a_closed_sftp_channel_on_a_live_connection_is_reopened(
    server: SftpServer,  # noqa: F811
    folder: str,  # noqa: F811
) -> None:
    """The server ending the SFTP session but keeping the SSH connection: the next send opens a
    new session and delivers."""
    sftp = connector(server, folder)
    sftp.send(doc("C-0"), delivery_id="0", idempotency_key="c-0")
    server.drop_after(1, channel_only=True)
    receipt = sftp.send(doc("C-1"), delivery_id="1", idempotency_key="c-1")
    assert sftp.connects == 2
    assert receipt.message_id in visible(local(server, folder))


def test_a_connection_lost_twice_is_connection_failed(server: SftpServer, folder: str) -> None:  # noqa: F811
    """When the re-opened connection drops too, the send fails as ConnectionFailed (retryable)."""
    sftp = connector(server, folder)
    sftp.send(doc("T-0"), delivery_id="0", idempotency_key="t-0")
    server.drop_after(1, times=2)
    with pytest.raises(ConnectionFailed) as caught:
        sftp.send(doc("T-1"), delivery_id="1", idempotency_key="t-1")
    assert caught.value.retryable is True
    assert caught.value.__cause__ is not None
    server.reset()
    assert sftp.send(doc("T-1"), delivery_id="1", idempotency_key="t-1").message_id


def test_a_stall_is_a_timeout_and_the_next_send_reconnects(server: SftpServer, folder: str) -> None:  # noqa: F811
    """An unanswered request gives Timeout; the stuck connection is dropped, the next send
    opens a new one and delivers."""
    sftp = connector(server, folder, timeout=1.0)
    sftp.send(doc("S-0"), delivery_id="0", idempotency_key="s-0")
    server.stall_next()
    with pytest.raises(Timeout) as caught:
        sftp.send(doc("S-1"), delivery_id="1", idempotency_key="s-1")
    assert caught.value.__cause__ is not None
    server.release()
    receipt = sftp.send(doc("S-1"), delivery_id="1", idempotency_key="s-1")
    assert sftp.connects == 2
    assert receipt.message_id in visible(local(server, folder))


# -- host keys -------------------------------------------------------------------------------


def test_a_changed_host_key_is_refused_before_login(server: SftpServer, folder: str) -> None:  # noqa: F811
    """A server showing another key than the pinned one: HostKeyMismatch naming both
    fingerprints, permanent, and no credentials were offered to it."""
    other = generate_host_key()
    sftp = connector(server, folder, host_key=public_line(other))
    logins = len(server.logins)
    with pytest.raises(HostKeyMismatch) as caught:
        sftp.send(doc("H-1"), delivery_id="1", idempotency_key="h-1")
    message = str(caught.value)
    assert server.fingerprint in message and other.fingerprint in message
    assert "mismatch" in message
    assert caught.value.retryable is False
    assert len(server.logins) == logins
    assert visible(local(server, folder)) == {}


def test_no_pinned_host_key_is_refused_and_names_the_offered_key(
    server: SftpServer,  # noqa: F811
    folder: str,  # noqa: F811
) -> None:
    """Without host_key nothing is auto-accepted: HostKeyMismatch says no key is pinned and
    shows the offered fingerprint to confirm with the partner."""
    sftp = connector(server, folder, host_key=None)
    with pytest.raises(HostKeyMismatch) as caught:
        sftp.send(doc("H-2"), delivery_id="1", idempotency_key="h-2")
    assert "no host key pinned" in str(caught.value)
    assert server.fingerprint in str(caught.value)


@pytest.mark.parametrize("form", ["fingerprint", "known_hosts", "line with comment"])
def test_host_key_pinned_in_each_accepted_form(
    server: SftpServer,  # noqa: F811
    folder: str,  # noqa: F811
    form: str,
) -> None:
    """The pin may be a SHA256 fingerprint, a known_hosts line or a key line with a comment."""
    pin = {
        "fingerprint": server.fingerprint,
        "known_hosts": f"[127.0.0.1]:{server.port} {server.host_key_line}",
        "line with comment": f"{server.host_key_line} partner@example",
    }[form]
    receipt = connector(server, folder, host_key=pin).send(
        doc("H-3"), delivery_id="1", idempotency_key="h-3"
    )
    assert server.fingerprint in receipt.evidence.decode()


@pytest.mark.parametrize("pin", ["", "ssh-ed25519", "ssh-ed25519 not-base64!", "hello world"])
def test_an_unreadable_host_key_is_a_configuration_error(pin: str) -> None:
    """A host_key that is no key is refused when the connector is built, saying what is
    accepted."""
    with pytest.raises(ConfigurationInvalid, match="host_key"):
        connector_for_port(1, host_key=pin)


def connector_for_port(port: int, **options: Any) -> SftpConnector:
    """A connector for ``port`` on 127.0.0.1 (no server needed to build one)."""
    settings: dict[str, Any] = {"host": "127.0.0.1", "port": port, "username": USER}
    settings.update({"password": PASSWORD, "remote_dir": "/", **options})
    return SftpConnector(**settings)


def test_the_pinned_key_type_is_asked_for(tmp_path: Path) -> None:
    """A server holding an Ed25519 and an RSA key shows the one pinned; another RSA key is
    refused."""
    rsa = paramiko.RSAKey.generate(2048)
    with SftpServer(tmp_path, users={USER: PASSWORD}, extra_host_keys=[rsa]) as both:
        for pin in (public_line(rsa), both.host_key_line):
            receipt = connector(both, "/", host_key=pin).send(
                doc("R"), delivery_id="1", idempotency_key="r"
            )
            assert parse_host_key(pin).fingerprint in receipt.evidence.decode()
        with pytest.raises(HostKeyMismatch):
            connector(both, "/", host_key=public_line(paramiko.RSAKey.generate(1024))).send(
                doc("R"), delivery_id="1", idempotency_key="r2"
            )


def test_a_host_key_file_keeps_the_key_across_restarts(tmp_path: Path) -> None:
    """A server started twice on the same key file shows the same key (the pin holds); one on
    a new key file is refused by the old pin."""
    key_file = tmp_path / "keys" / "host_ed25519"
    with SftpServer(tmp_path / "root", users={USER: PASSWORD}, host_key=key_file) as first:
        pin = first.host_key_line
    with SftpServer(tmp_path / "root", users={USER: PASSWORD}, host_key=key_file) as second:
        assert second.host_key_line == pin
        connector(second, "/", host_key=pin).send(doc("K"), delivery_id="1", idempotency_key="k")
    changed = SftpServer(tmp_path / "root", host_key=tmp_path / "keys" / "new")
    with changed, pytest.raises(HostKeyMismatch):
        connector(changed, "/", host_key=pin).send(doc("K"), delivery_id="1", idempotency_key="k")


# -- logins ----------------------------------------------------------------------------------


def test_a_wrong_password_is_authentication_failed(server: SftpServer, folder: str) -> None:  # noqa: F811
    """A refused password is AuthenticationFailed (permanent), never retried silently."""
    sftp = connector(server, folder, password="wrong")
    with pytest.raises(AuthenticationFailed) as caught:
        sftp.send(doc("A-1"), delivery_id="1", idempotency_key="a-1")
    assert caught.value.retryable is False
    assert "wrong" not in str(caught.value)


def _key_text(passphrase: bytes | None) -> tuple[str, paramiko.PKey]:
    key = Ed25519PrivateKey.generate()
    encryption: serialization.KeySerializationEncryption = (
        serialization.BestAvailableEncryption(passphrase)
        if passphrase
        else serialization.NoEncryption()
    )
    text = key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.OpenSSH, encryption
    ).decode()
    public = key.public_key().public_bytes(
        serialization.Encoding.OpenSSH, serialization.PublicFormat.OpenSSH
    )
    pinned = parse_host_key(public.decode())
    assert pinned.key is not None
    return text, pinned.key


def test_key_login_from_secret_references(
    server: SftpServer,  # noqa: F811
    folder: str,  # noqa: F811
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A profile channel with private_key = "file:..." and the passphrase from "env:..." logs in
    with the (encrypted) key through build_connector."""
    text, public = _key_text(b"open sesame")
    key_file = tmp_path / "id_ed25519"
    key_file.write_text(text)
    monkeypatch.setenv("IGW_TEST_SFTP_PASSPHRASE", "open sesame")
    server.authorized_keys["keyuser"] = [public]
    try:
        spec = ChannelSpec(
            connector="connectors.sftp:SftpConnector",
            options={
                "host": "127.0.0.1",
                "port": server.port,
                "username": "keyuser",
                "private_key": f"file:{key_file}",
                "private_key_passphrase": "env:IGW_TEST_SFTP_PASSPHRASE",
                "host_key": server.host_key_line,
                "remote_dir": folder,
            },
        )
        sftp = build_connector(spec, clock=lambda: NOW)
        receipt = sftp.send(doc("K-1"), delivery_id="1", idempotency_key="k-1")
        assert receipt.message_id in visible(local(server, folder))
        assert server.logins[-1] == ("keyuser", "publickey")
    finally:
        del server.authorized_keys["keyuser"]


def test_an_unauthorised_key_is_authentication_failed(server: SftpServer, folder: str) -> None:  # noqa: F811
    """A key the server does not list for the user is AuthenticationFailed."""
    text, _ = _key_text(None)
    sftp = connector(server, folder, password=None, private_key=text)
    with pytest.raises(AuthenticationFailed):
        sftp.send(doc("K-2"), delivery_id="1", idempotency_key="k-2")


@pytest.mark.parametrize(
    ("passphrase", "given"),
    [(b"right", "wrong"), (b"right", None), (None, None)],
    ids=["wrong passphrase", "missing passphrase", "not a key"],
)
def test_an_unreadable_private_key_is_a_configuration_error(
    passphrase: bytes | None, given: str | None
) -> None:
    """A key that cannot be read (wrong/missing passphrase, not a key) is ConfigurationInvalid
    at construction, and the message never repeats the secret."""
    text = _key_text(passphrase)[0] if passphrase else "/home/me/.ssh/id_ed25519"
    with pytest.raises(ConfigurationInvalid, match="private_key") as caught:
        connector_for_port(1, private_key=text, private_key_passphrase=given)
    assert "right" not in str(caught.value) and "BEGIN" not in str(caught.value)


def test_no_credentials_is_a_configuration_error() -> None:
    """A channel with neither password nor private_key is refused when built."""
    with pytest.raises(ConfigurationInvalid, match="no credentials"):
        connector_for_port(1, password=None)


# -- error translation -----------------------------------------------------------------------


def test_a_missing_remote_folder_is_a_configuration_error(server: SftpServer) -> None:  # noqa: F811
    """Uploading into a folder the server does not have is ConfigurationInvalid (permanent)."""
    with pytest.raises(ConfigurationInvalid) as caught:
        connector(server, "/no-such-folder").send(doc("E-1"), delivery_id="1", idempotency_key="e")
    assert "/no-such-folder" in str(caught.value)
    assert isinstance(caught.value.__cause__, FileNotFoundError)


def test_permission_denied_is_authentication_failed(server: SftpServer, folder: str) -> None:  # noqa: F811
    """The server refusing the write is AuthenticationFailed chained to the PermissionError."""
    server.deny_writes(folder)
    with pytest.raises(AuthenticationFailed) as caught:
        connector(server, folder).send(doc("E-2"), delivery_id="1", idempotency_key="e")
    assert isinstance(caught.value.__cause__, PermissionError)


def test_a_closed_port_is_connection_failed() -> None:
    """Nobody listening is ConnectionFailed (retryable)."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    sftp = connector_for_port(port, host_key=public_line(generate_host_key()), timeout=1.0)
    with pytest.raises(ConnectionFailed) as caught:
        sftp.send(doc("E-3"), delivery_id="1", idempotency_key="e")
    assert caught.value.retryable is True


def test_the_channel_names_the_destination_without_secrets() -> None:
    """channel is sftp://user@host:port/folder (relative folders under ~), never a password."""
    absolute = connector_for_port(2222, remote_dir="/in/./orders")
    relative = connector_for_port(2222, remote_dir="in", ack_dir=".")
    assert absolute.channel == f"sftp://{USER}@127.0.0.1:2222/in/orders"
    assert (relative.channel, relative.ack_channel) == (
        f"sftp://{USER}@127.0.0.1:2222/~/in",
        f"sftp://{USER}@127.0.0.1:2222/~",
    )
    assert PASSWORD not in absolute.channel + repr(absolute.endpoint.where)
