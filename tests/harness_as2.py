"""Contract-suite harness for As2Connector: sends to the gateway's own AS2 endpoint on loopback
(signed, encrypted, signed sync MDN), over a real SQLite store."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from as2_peer import BreakableTransport, make_connector, running_endpoint
from connector_harness import Harness, clock
from store_backends import sqlite_url

from gateway.store import Store

NAME = "as2"
TIMEOUT = 0.5


@contextlib.contextmanager
def harness(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Harness]:
    """As2Connector against a live endpoint; break_next refuses the next connection, stall_next
    makes the endpoint hang past the connector's 0.5 s timeout."""
    store = Store.open(sqlite_url(tmp_path))
    store.migrate()
    transport = BreakableTransport()
    client = httpx.Client(transport=transport, timeout=TIMEOUT)
    try:
        with running_endpoint(store) as (base_url, app):
            connector = make_connector(
                base_url, tmp_path / "keys", client=client, timeout=TIMEOUT, clock=clock
            )
            yield Harness(connector, transport.break_next, app.stall)
    finally:
        client.close()
        store.close()
