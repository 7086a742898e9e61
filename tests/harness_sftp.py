"""The SFTP connector in the contract suite, against a real paramiko SFTP server on loopback,
and the pieces the SFTP tests share (tests/test_connectors_sftp*.py): one server per test module,
a folder per test, connectors pinned to the server's host key, documents of a chosen size.

In the contract suite ``break_next`` makes the server refuse writes in the upload folder (the
connector meets a ``PermissionError`` underneath); ``stall_next`` makes the server stop answering
(the connector's 1-second timeout fires).
"""

from __future__ import annotations

import contextlib
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from connector_harness import Harness, clock

from connectors.sftp import SftpConnector
from gateway.document import Document
from gateway.peers.sftp_server import SftpServer

NAME = "sftp"
USER, PASSWORD = "gw", "s3cret-for-tests"


@contextlib.contextmanager
def harness(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Harness]:
    """A fresh server serving ``tmp_path/sftp`` with an ``in`` folder, and its connector."""
    with SftpServer(tmp_path / "sftp", users={USER: PASSWORD}) as server:
        (server.root / "in").mkdir()
        built = connector(server, "/in", timeout=1.0)
        try:
            yield Harness(built, lambda: server.deny_writes("/in"), server.stall_next)
        finally:
            built.close()


@pytest.fixture(scope="module")
def sftp_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SftpServer]:
    """A real SFTP server on 127.0.0.1 for the whole test module."""
    with SftpServer(tmp_path_factory.mktemp("sftp"), users={USER: PASSWORD}) as server:
        yield server


@pytest.fixture
def server(sftp_server: SftpServer) -> Iterator[SftpServer]:
    """The module's server with every knob and observer cleared before and after the test."""
    sftp_server.reset()
    sftp_server.errors.clear()
    yield sftp_server
    sftp_server.reset()


@pytest.fixture
def folder(server: SftpServer) -> str:
    """A fresh folder on the server for this test, as the client names it (``/t-...``)."""
    name = f"t-{uuid.uuid4().hex[:10]}"
    (server.root / name).mkdir()
    return f"/{name}"


def local(server: SftpServer, remote: str) -> Path:
    """The server-side path of a client path."""
    return server.root / remote.lstrip("/")


def connector(server: SftpServer, remote_dir: str, **options: Any) -> SftpConnector:
    """A password connector for ``server`` with its host key pinned and the fixed clock."""
    settings: dict[str, Any] = {
        "host": "127.0.0.1",
        "port": server.port,
        "username": USER,
        "password": PASSWORD,
        "host_key": server.host_key_line,
        "remote_dir": remote_dir,
        "timeout": 2.0,
        "clock": clock,
        **options,
    }
    return SftpConnector(**settings)


def doc(number: str, size: int = 64) -> Document:
    """A UBL-looking document of about ``size`` bytes, different per ``number``."""
    head = f"<Invoice><ID>{number}</ID>".encode()
    filler = (number.encode() * (size // max(len(number), 1) + 1))[: max(size - len(head) - 10, 0)]
    return Document(head + filler + b"</Invoice>", "ubl", "peppol-bis3", number)


def visible(folder: Path) -> dict[str, bytes]:
    """The files a buyer polling ``folder`` would pick up (hidden temp files excluded)."""
    return {p.name: p.read_bytes() for p in sorted(folder.iterdir()) if not p.name.startswith(".")}
