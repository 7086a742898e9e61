"""Limits of the web app (gateway/web/limits.py) on a real uvicorn server on loopback, with the
protocol ``igw serve`` runs: 413 by Content-Length before the body is read and while counting a
chunked body, per route; a client that disconnects mid-upload is one log line without a
traceback; slow-header connections are closed; huge headers refused; no AS2 identity: 503."""

from __future__ import annotations

import contextlib
import logging
import socket
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import uvicorn
from as2_peer import endpoint_config
from store_backends import sqlite_url

from gateway.store import Store
from gateway.web import create_app
from gateway.web.limits import WebLimits, guarded_protocol

MiB = 1 << 20
LIMITS = WebLimits(
    header_timeout=0.5, max_header_size=16 * 1024, max_body=1 * MiB, body_timeout=1.0
)


@contextlib.contextmanager
def serve_guarded(app: Any, limits: WebLimits = LIMITS) -> Iterator[tuple[str, int]]:
    """``app`` on a free loopback port with the guarded protocol (as igw serve runs it), its
    log records going to the root logger (pytest's caplog); yields (base URL, port)."""
    sock = socket.create_server(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    config = uvicorn.Config(
        app, lifespan="off", access_log=False, log_config=None, http=guarded_protocol(limits)
    )
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not server.started and time.monotonic() < deadline:
        time.sleep(0.01)
    try:
        yield f"http://127.0.0.1:{port}", port
    finally:
        server.should_exit = True
        thread.join(10)
        sock.close()


@pytest.fixture
def store(tmp_path: Path) -> Iterator[Store]:
    """A real SQLite store."""
    opened = Store.open(sqlite_url(tmp_path))
    opened.migrate()
    yield opened
    opened.close()


@pytest.fixture
def served(store: Store) -> Iterator[tuple[str, int]]:
    """The gateway app (AS2 max_size 5 MB, other routes 1 MiB) on loopback."""
    app = create_app(store=store, as2=endpoint_config(max_size=5_000_000), limits=LIMITS)
    with serve_guarded(app) as where:
        yield where


def answer_of(sock: socket.socket, wait: float = 10.0) -> bytes:
    """What the server sends until it closes the connection (or ``wait`` seconds pass)."""
    sock.settimeout(wait)
    data = b""
    with contextlib.suppress(OSError):
        while piece := sock.recv(65536):
            data += piece
    return data


def test_declared_body_over_the_as2_limit_is_413_before_it_is_sent(
    served: tuple[str, int],
) -> None:
    """POST /as2 declaring 50 MB (over the AS2 channel's 5 MB max_size): 413 and the connection
    closed although not one byte of the body was sent."""
    _, port = served
    with socket.create_connection(("127.0.0.1", port)) as sock:
        sock.sendall(
            b"POST /as2 HTTP/1.1\r\nHost: x\r\nContent-Length: 50000000\r\n"
            b"Content-Type: application/octet-stream\r\n\r\n"
        )
        answer = answer_of(sock)
    assert answer.startswith(b"HTTP/1.1 413 ")
    assert b"50000000 bytes (Content-Length) is over the limit of 5000000 bytes" in answer
    assert b"max_size" in answer


def test_chunked_body_over_the_limit_is_413_once_it_passes(served: tuple[str, int]) -> None:
    """A chunked POST /as2 without Content-Length is counted as it arrives: 413 once it passes
    5 MB, before the client finished sending its 50 MB."""
    _, port = served
    chunk = b"%x\r\n" % MiB + b"\0" * MiB + b"\r\n"
    sent = 0
    with socket.create_connection(("127.0.0.1", port)) as sock:
        sock.sendall(b"POST /as2 HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n")
        with contextlib.suppress(OSError):
            for _ in range(50):
                sock.sendall(chunk)
                sent += MiB
        answer = answer_of(sock)
    assert answer.startswith(b"HTTP/1.1 413 ")
    assert b"more than 5000000 bytes" in answer
    assert sent < 50 * MiB


def test_other_routes_have_the_small_limit(served: tuple[str, int]) -> None:
    """POST /as2/mdn with 2 MiB (over --max-body 1 MiB): 413; /health still answers."""
    base, _ = served
    refused = httpx.post(f"{base}/as2/mdn", content=b"x" * (2 * MiB), timeout=10)
    assert refused.status_code == 413 and "igw serve --max-body" in refused.text
    assert httpx.get(f"{base}/health", timeout=10).status_code == 200


@pytest.mark.parametrize("path", ["/as2", "/as2/mdn"])
def test_disconnect_mid_upload_is_one_line(
    served: tuple[str, int], path: str, caplog: pytest.LogCaptureFixture
) -> None:
    """A client that sends 1 KB of a declared 1 MB body and goes away: one INFO line naming the
    request and the bytes received, no ERROR and no traceback anywhere."""
    base, port = served
    caplog.set_level(logging.INFO)
    with socket.create_connection(("127.0.0.1", port)) as sock:
        sock.sendall(
            f"POST {path} HTTP/1.1\r\nHost: x\r\nContent-Length: 1000000\r\n\r\n".encode()
            + b"x" * 1000
        )
        time.sleep(0.2)
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline and not any(
        "disconnected" in r.getMessage() for r in caplog.records
    ):
        time.sleep(0.05)
    lines = [r for r in caplog.records if "disconnected" in r.getMessage()]
    assert len(lines) == 1, [r.getMessage() for r in caplog.records]
    assert f"POST {path}" in lines[0].getMessage() and "after 1000 bytes" in lines[0].getMessage()
    assert all(r.exc_info is None and r.levelno < logging.ERROR for r in caplog.records)
    assert httpx.get(f"{base}/health", timeout=10).status_code == 200


def test_slow_headers_are_cut_off(
    served: tuple[str, int], caplog: pytest.LogCaptureFixture
) -> None:
    """A client dribbling its headers a byte at a time, and one that sends nothing, are both
    disconnected by the server after the header timeout (0.5 s here), with one line each."""
    _, port = served
    caplog.set_level(logging.INFO)
    with (
        socket.create_connection(("127.0.0.1", port)) as slow,
        socket.create_connection(("127.0.0.1", port)) as idle,
    ):
        slow.sendall(b"GET /health HTTP/1.1\r\nHost: x\r\n")
        closed = False
        for _ in range(100):  # up to 10 s: an upper bound, the timeout is 0.5 s
            try:
                slow.sendall(b"X")
            except OSError:
                closed = True
                break
            slow.settimeout(0.1)
            try:
                if slow.recv(1024) == b"":
                    closed = True
                    break
            except TimeoutError:
                pass
        assert closed
        assert answer_of(idle) == b""
    lines = [r.getMessage() for r in caplog.records if "not complete within" in r.getMessage()]
    assert len(lines) == 2


def test_a_stalled_body_is_answered_408(served: tuple[str, int]) -> None:
    """A client that sends 10 bytes of a declared 1,000-byte body and then nothing: 408 once no
    byte came for the body timeout (1 s here), and the connection closed."""
    _, port = served
    with socket.create_connection(("127.0.0.1", port)) as sock:
        sock.sendall(
            b"POST /as2/mdn HTTP/1.1\r\nHost: x\r\nContent-Length: 1000\r\n\r\n" + b"x" * 10
        )
        answer = answer_of(sock)
    assert answer.startswith(b"HTTP/1.1 408 ")
    assert b"no bytes for 1 s after 10 bytes" in answer


def test_huge_headers_are_refused(served: tuple[str, int]) -> None:
    """Headers over max_header_size (16 KiB here) are answered 400 and the connection closed."""
    _, port = served
    with socket.create_connection(("127.0.0.1", port)) as sock:
        sock.sendall(b"GET /health HTTP/1.1\r\nHost: x\r\nX-Big: " + b"a" * 40_000 + b"\r\n\r\n")
        answer = answer_of(sock)
    assert answer.startswith(b"HTTP/1.1 400 ")


def test_keep_alive_requests_each_get_the_header_timeout(served: tuple[str, int]) -> None:
    """Quick requests on one kept-alive connection are not cut off by the header clock."""
    base, _ = served
    with httpx.Client(timeout=10) as client:
        for _ in range(3):
            assert client.get(f"{base}/health").status_code == 200
            time.sleep(0.3)


def test_without_an_as2_identity_as2_answers_503(store: Store) -> None:
    """create_app(as2=None): /health answers (AS2 not configured), /as2 and /as2/mdn answer 503
    saying to run igw as2 identity."""
    app = create_app(store=store, as2=None, as2_missing="config/as2/local.toml: missing")
    with serve_guarded(app) as (base, _):
        health = httpx.get(f"{base}/health", timeout=10)
        as2 = httpx.post(f"{base}/as2", content=b"x", timeout=10)
        mdn = httpx.post(f"{base}/as2/mdn", content=b"x", timeout=10)
    assert health.status_code == 200 and health.json()["as2"] == "not configured"
    assert as2.status_code == 503 and mdn.status_code == 503
    assert as2.text.startswith("AS2 not configured: run `igw as2 identity --as2-id")
    assert "config/as2/local.toml: missing" in as2.text
