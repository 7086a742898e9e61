"""A loopback webhook receiver for the webhook tests: a real HTTP server in a thread that
keeps every request (headers, body) and answers with the status ``answer`` gives."""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


@dataclass
class Received:
    """One request as received."""

    headers: dict[str, str]
    body: bytes


@dataclass
class Receiver:
    """What the server saw; ``answer(received) -> status`` decides the reply (default 200)."""

    url: str = ""
    requests: list[Received] = field(default_factory=list)
    answer: Callable[[Received], int] = lambda _r: 200
    lock: threading.Lock = field(default_factory=threading.Lock)


@contextmanager
def receiver(port: int = 0) -> Iterator[Receiver]:
    """A running receiver on 127.0.0.1 (``port`` 0: any free one), stopped afterwards."""
    state = Receiver()

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            length = int(self.headers.get("content-length", "0"))
            got = Received({k.lower(): v for k, v in self.headers.items()}, self.rfile.read(length))
            with state.lock:
                state.requests.append(got)
            status = state.answer(got)
            self.send_response(status)
            self.send_header("content-length", "2")
            self.end_headers()
            self.wfile.write(b"ok")

        def log_message(self, *_args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", port), Handler)
    server.daemon_threads = True
    state.url = f"http://127.0.0.1:{server.server_address[1]}/hooks"
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield state
    finally:
        server.shutdown()
        server.server_close()
