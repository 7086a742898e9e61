"""SFTP upload rate: one connection reused across a batch vs a new connection per file.

    .venv/bin/python bench/sftp.py [--files 300] [--per-file 60] [--size 10240] [--rounds 5]

Both run in the same run against the loopback SFTP server (gateway.peers.sftp_server, in a
process of its own so the client does not share its interpreter lock), interleaved round by
round; each rate is the median of the rounds. Every file is a real upload through
SftpConnector.send (idempotency check, temp name, mtime, rename). Writes bench/results/sftp.json.

What it cannot show: a production server's cost per login (process fork, PAM, audit logging) and
the network round trips of the handshake, which make a new connection per file far dearer there
than against this in-process paramiko server on loopback.
"""

from __future__ import annotations

import argparse
import json
import multiprocessing
import platform
import statistics
import sys
import tempfile
import time
import uuid
from collections.abc import Callable
from multiprocessing.connection import Connection
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(REPO)]

from connectors.sftp import SftpConnector  # noqa: E402
from gateway.document import Document  # noqa: E402
from gateway.peers.sftp_server import SftpServer  # noqa: E402


def serve(root: str, pipe: Connection) -> None:
    """Child process: serve ``root`` until the parent says stop."""
    with SftpServer(root, users={"b": "b"}) as server:
        pipe.send((server.port, server.host_key_line))
        pipe.recv()


def documents(count: int, size: int, tag: str) -> list[Document]:
    """``count`` distinct documents of ``size`` bytes."""
    found = []
    for i in range(count):
        number = f"{tag}-{i:05d}"
        body = (number.encode() + b" ") * (size // (len(number) + 1) + 1)
        found.append(Document(body[:size], "ubl", "peppol-bis3", number))
    return found


def reused(factory: Callable[[], SftpConnector], docs: list[Document]) -> float:
    """Files per second through one connector (one connection)."""
    connector = factory()
    started = time.perf_counter()
    for document in docs:
        connector.send(document, delivery_id="b", idempotency_key=document.invoice_number)
    elapsed = time.perf_counter() - started
    assert connector.connects == 1
    connector.close()
    return len(docs) / elapsed


def per_file(factory: Callable[[], SftpConnector], docs: list[Document]) -> float:
    """Files per second with a new connector (connect, key exchange, login) for each file."""
    started = time.perf_counter()
    for document in docs:
        with factory() as connector:
            connector.send(document, delivery_id="b", idempotency_key=document.invoice_number)
    return len(docs) / (time.perf_counter() - started)


def _rounded(rates: list[float]) -> list[float]:
    return [round(r, 1) for r in rates]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--files", type=int, default=300, help="files per round, reused")
    parser.add_argument("--per-file", type=int, default=60, help="files per round, new each")
    parser.add_argument("--size", type=int, default=10 * 1024)
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as root:
        ours, theirs = multiprocessing.Pipe()
        child = multiprocessing.get_context("spawn").Process(target=serve, args=(root, theirs))
        child.start()
        port, host_key = ours.recv()

        def factory_for(folder: str) -> Callable[[], SftpConnector]:
            (Path(root) / folder).mkdir()
            return lambda: SftpConnector(
                host="127.0.0.1",
                port=port,
                username="b",
                password="b",
                host_key=host_key,
                remote_dir=f"/{folder}",
            )

        reuse_rates, fresh_rates = [], []
        for _ in range(args.rounds):
            tag = uuid.uuid4().hex[:6]
            reuse_rates.append(
                reused(factory_for(f"r-{tag}"), documents(args.files, args.size, tag))
            )
            fresh_rates.append(
                per_file(factory_for(f"n-{tag}"), documents(args.per_file, args.size, tag))
            )
        ours.send("stop")
        child.join(timeout=10)
    reuse, fresh = statistics.median(reuse_rates), statistics.median(fresh_rates)
    result = {
        "what": "SftpConnector.send of files to the loopback paramiko SFTP server (own process)",
        "file_size": args.size,
        "rounds": args.rounds,
        "files_per_round": {"reused_connection": args.files, "connection_per_file": args.per_file},
        "files_per_second": {
            "reused_connection": round(reuse, 1),
            "connection_per_file": round(fresh, 1),
        },
        "rounds_files_per_second": {
            "reused_connection": _rounded(reuse_rates),
            "connection_per_file": _rounded(fresh_rates),
        },
        "ratio_reused_to_per_file": round(reuse / fresh, 1),
        "ratio_per_round": [round(r / f, 1) for r, f in zip(reuse_rates, fresh_rates, strict=True)],
        "python": platform.python_version(),
        "machine": platform.machine(),
        "measured_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
    }
    out = REPO / "bench" / "results" / "sftp.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(result, indent=2) + "\n")
    print(f"reused connection:   {reuse:8.1f} files/s  (rounds: {_rounded(reuse_rates)})")
    print(f"connection per file: {fresh:8.1f} files/s  (rounds: {_rounded(fresh_rates)})")
    print(f"ratio: {reuse / fresh:.1f}x (per round: {result['ratio_per_round']})")
    print(f"-> {out.relative_to(REPO)}")


if __name__ == "__main__":
    main()
