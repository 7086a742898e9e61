"""The SFTP connector in the contract suite, against a real paramiko SFTP server on loopback.

``break_next`` makes the server refuse writes in the upload folder (the connector meets a
``PermissionError`` underneath); ``stall_next`` makes the server stop answering (the connector's
1-second timeout fires).
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from pathlib import Path

import pytest
from connector_harness import Harness, clock

from connectors.sftp import SftpConnector
from gateway.peers.sftp_server import SftpServer

NAME = "sftp"


@contextlib.contextmanager
def harness(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Harness]:
    """A fresh server serving ``tmp_path/sftp`` with an ``in`` folder, and its connector."""
    with SftpServer(tmp_path / "sftp", users={"gw": "contract"}) as server:
        (server.root / "in").mkdir()
        connector = SftpConnector(
            host="127.0.0.1",
            port=server.port,
            username="gw",
            password="contract",
            host_key=server.host_key_line,
            remote_dir="/in",
            timeout=1.0,
            clock=clock,
        )
        try:
            yield Harness(connector, lambda: server.deny_writes("/in"), server.stall_next)
        finally:
            connector.close()
