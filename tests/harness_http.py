"""Contract harness for connectors.http.HttpConnector against the simulated portal on loopback.

break_next stops the portal's server (the next send meets a refused or dropped connection,
an httpx error underneath); stall_next makes the portal hold the next upload unanswered past the
connector's 0.5 s timeout.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from pathlib import Path

import pytest
from connector_harness import Harness, clock

from connectors.http import HttpConnector
from gateway.peers.portal import Portal
from gateway.peers.serve import serve_in_thread

NAME = "http"
TOKEN = "contract-token"


@contextmanager
def harness(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Harness]:
    """An HttpConnector (bearer auth, fixed clock) uploading to a fresh portal."""
    portal = Portal(bearer_token=TOKEN, stall_seconds=5.0)
    server = ExitStack()
    base = server.enter_context(serve_in_thread(portal.app))
    connector = HttpConnector(f"{base}/invoices", bearer_token=TOKEN, timeout=0.5, clock=clock)

    def stop_server() -> None:
        portal.release()
        server.close()

    try:
        yield Harness(connector, break_next=stop_server, stall_next=portal.stall_next)
    finally:
        stop_server()
        connector.close()
