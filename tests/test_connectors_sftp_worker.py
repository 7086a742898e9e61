"""The real Worker delivering over SFTP to the loopback server from a buyer profile file: a whole
batch over one connection, a drop mid-batch recovered with every invoice delivered once."""

from __future__ import annotations

from pathlib import Path

import pytest
from builders import simple_invoice
from harness_sftp import PASSWORD, USER, folder, local, server, sftp_server  # noqa: F401
from store_backends import T0, store, store_url  # noqa: F401  (fixtures)

from gateway.delivery.worker import Worker
from gateway.document import Document
from gateway.peers.sftp_server import SftpServer
from gateway.profiles.load import load_profiles
from gateway.store import DeliveryState, NewDelivery, Store

CONNECTOR = "connectors.sftp:SftpConnector"


def profiles_for(server: SftpServer, remote_dir: str, where: Path) -> Path:  # noqa: F811
    """A buyer profile folder whose default profile delivers over SFTP to ``server``."""
    where.mkdir()
    (where / "acme.toml").write_text(
        "default = true\n"
        "[channel]\n"
        f'connector = "{CONNECTOR}"\n'
        "[channel.options]\n"
        'host = "127.0.0.1"\n'
        f"port = {server.port}\n"
        f'username = "{USER}"\n'
        'password = "env:IGW_TEST_SFTP_PASSWORD"\n'
        f'host_key = "{server.host_key_line}"\n'
        f'remote_dir = "{remote_dir}"\n'
    )
    return where


def accept(store: Store, numbers: range) -> list[int]:  # noqa: F811
    """Accept one invoice per number with one delivery to 'acme' over SFTP, due at T0."""
    ids: list[int] = []
    for n in numbers:
        number = f"INV-{n}"
        doc = Document(f"<Invoice>{number}</Invoice>".encode(), "ubl", "peppol-bis3", number)
        result = store.accept(
            simple_invoice(number=number),
            None,
            "DE123",
            documents=[doc],
            deliveries=[NewDelivery("acme", CONNECTOR, T0)],
            now=T0,
        )
        ids.extend(result.delivery_ids)
    return ids


def test_the_worker_delivers_a_batch_over_one_connection_through_a_drop(
    server: SftpServer,  # noqa: F811
    folder: str,  # noqa: F811
    store: Store,  # noqa: F811
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Twelve invoices in one worker batch use one SSH connection; a second batch with the
    connection cut mid-way reconnects once; all 24 are DELIVERED, each file once on the server."""
    monkeypatch.setenv("IGW_TEST_SFTP_PASSWORD", PASSWORD)
    profiles = load_profiles(profiles_for(server, folder, tmp_path / "buyers"))
    worker = Worker(store, profiles, clock=lambda: T0, worker_id="w1", batch_size=50)
    first = accept(store, range(12))
    connections = server.connections
    assert worker.run_once() == 12
    assert server.connections - connections == 1
    second = accept(store, range(12, 24))
    server.drop_after(30, "after")  # inside the fifth or sixth upload of the batch
    assert worker.run_once() == 12
    assert server.connections - connections == 2
    for delivery_id in first + second:
        assert store.delivery(delivery_id).state is DeliveryState.DELIVERED
    files = sorted(p.name for p in local(server, folder).iterdir())
    assert len(files) == 24 and not any(name.startswith(".") for name in files)
    assert {f.split(".")[0] for f in files} == {f"INV-{n}" for n in range(24)}
