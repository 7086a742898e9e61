"""Contract harness for connectors.cxml_post.CxmlPostConnector against the simulated portal's
cXML endpoint on loopback.

The contract suite sends small non-cXML documents, so the portal runs with ``cxml_strict=False``
(it files any body and answers a cXML Status 200); its strict checks are tested in
tests/test_connectors_cxml_post.py. break_next stops the server; stall_next holds the next post
past the connector's 0.5 s timeout.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from pathlib import Path

import pytest
from connector_harness import Harness, clock

from connectors.cxml_post import CxmlPostConnector
from gateway.peers.portal import Portal
from gateway.peers.serve import serve_in_thread

NAME = "cxml-post"


@contextmanager
def harness(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Harness]:
    """A CxmlPostConnector (fixed clock) posting to a fresh, lenient portal."""
    portal = Portal(cxml_strict=False, stall_seconds=5.0)
    server = ExitStack()
    base = server.enter_context(serve_in_thread(portal.app))
    connector = CxmlPostConnector(f"{base}/cxml", timeout=0.5, clock=clock)

    def stop_server() -> None:
        portal.release()
        server.close()

    try:
        yield Harness(connector, break_next=stop_server, stall_next=portal.stall_next)
    finally:
        stop_server()
        connector.close()
