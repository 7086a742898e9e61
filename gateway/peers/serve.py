"""Serve an ASGI app (FastAPI) with uvicorn on loopback in a background thread.

Example::

    with serve_in_thread(app) as base_url:      # e.g. "http://127.0.0.1:40123"
        httpx.get(f"{base_url}/health")

Port 0 picks a free port; the context waits until the server accepts connections and stops it
(finishing open requests) on exit.
"""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import uvicorn


def _bound_socket(host: str, port: int) -> socket.socket:
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    # IPPROTO_TCP explicitly: asyncio only sets TCP_NODELAY on accepted sockets of a listener
    # created with it (else Nagle + delayed ACK add ~45 ms to every request on loopback)
    sock = socket.socket(family, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind((host, port))
    return sock


@contextmanager
def serve_in_thread(
    app: Any,
    host: str = "127.0.0.1",
    port: int = 0,
    *,
    ssl_options: dict[str, Any] | None = None,
    startup_timeout: float = 10.0,
) -> Iterator[str]:
    """Run ``app`` on ``host:port`` until the block ends; yields the base URL.

    ``ssl_options`` are passed to uvicorn (``ssl_keyfile``, ``ssl_certfile``, ``ssl_ca_certs``,
    ``ssl_cert_reqs``) for HTTPS / mutual TLS.
    """
    sock = _bound_socket(host, port)
    bound_port = sock.getsockname()[1]
    config = uvicorn.Config(
        app, log_level="warning", lifespan="off", access_log=False, **(ssl_options or {})
    )
    server = uvicorn.Server(config)
    thread = threading.Thread(
        target=server.run, kwargs={"sockets": [sock]}, name=f"uvicorn:{bound_port}", daemon=True
    )
    thread.start()
    deadline = time.monotonic() + startup_timeout
    while not server.started:
        if not thread.is_alive() or time.monotonic() > deadline:
            sock.close()
            raise RuntimeError(f"ASGI server on {host}:{bound_port} did not start")
        time.sleep(0.01)
    scheme = "https" if ssl_options else "http"
    shown = f"[{host}]" if ":" in host else host
    try:
        yield f"{scheme}://{shown}:{bound_port}"
    finally:
        server.should_exit = True
        thread.join(timeout=10)
        sock.close()
