"""``igw serve --workers N``: N processes answering on one listening socket.

One Python process answers AS2 messages on one core at most (the GIL): opening, storing, parsing
and answering a message is CPU work in Python. With ``--workers N`` the parent binds the socket
once, then forks N workers; each opens its own store connection and app (nothing of SQLAlchemy
or the event loop crosses a fork) and runs uvicorn on the shared socket, and the kernel hands
each new connection to one of them. The web app is stateless (everything is in the store), so
which worker answers does not matter; the async-MDN outbox is claimed per row, so every worker's
sweep may run. The parent only waits: SIGTERM or SIGINT is passed on to the workers; when one
worker ends on its own, the others are stopped and ``igw serve`` exits 1.
"""

from __future__ import annotations

import contextlib
import logging
import os
import signal
import socket
import sys
from collections.abc import Callable
from types import FrameType

log = logging.getLogger(__name__)


def bind(host: str, port: int) -> socket.socket:
    """The listening socket every worker shares (IPv6 when ``host`` is an IPv6 address)."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind((host, port))
    sock.listen(2048)
    sock.set_inheritable(True)
    return sock


def run_workers(workers: int, sock: socket.socket, serve: Callable[[socket.socket], int]) -> int:
    """Fork ``workers`` processes that each run ``serve(sock)`` (and exit with its result); wait
    for them. Returns 0 when they were stopped by a signal, 1 when one ended on its own."""
    children: list[int] = []
    for _ in range(workers):
        pid = os.fork()
        if pid == 0:  # the worker: default signal handling, serve until told to stop
            signal.signal(signal.SIGINT, signal.SIG_DFL)
            signal.signal(signal.SIGTERM, signal.SIG_DFL)
            code = 1
            try:
                code = serve(sock)
            finally:
                sys.stdout.flush()
                sys.stderr.flush()
                os._exit(code)
        children.append(pid)
    stopping = False

    def stop(signum: int, _frame: FrameType | None) -> None:
        nonlocal stopping
        stopping = True
        for child in children:
            _signal(child, signal.SIGTERM if signum == signal.SIGTERM else signal.SIGINT)

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    status = 0
    alive = set(children)
    while alive:
        try:
            pid, _ = os.wait()
        except ChildProcessError:
            break
        except InterruptedError:  # pragma: no cover - PEP 475 retries os.wait
            continue
        alive.discard(pid)
        if not stopping:
            log.error("igw serve: worker process %d ended; stopping the others", pid)
            stopping, status = True, 1
            for child in alive:
                _signal(child, signal.SIGTERM)
    sock.close()
    return status


def _signal(pid: int, signum: int) -> None:
    with contextlib.suppress(ProcessLookupError):  # it ended meanwhile
        os.kill(pid, signum)
