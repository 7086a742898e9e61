"""AS2 end to end over HTTP on loopback: As2Connector -> ``igw serve`` (the gateway's /as2).

Each message is built (SHA-256 signature + AES-256 encryption), POSTed, opened by the endpoint
(decrypt, verify), stored in SQLite, parsed into the model and answered with a signed sync MDN,
which the connector verifies (signature, MIC). The receiving side is a real ``igw serve``
process with an AS2 folder the bench writes (as deployed: the sender is the worker's process,
the receiver another process or machine); ``--server thread`` runs the app in a thread of the
bench process instead (both ends then share one interpreter and its GIL).

Every figure is also a ratio to RSA-2048 PKCS#1 v1.5 signing alone, measured in the same run in
interleaved rounds (each round: signing, then a batch sent one at a time, then a batch from 4
threads), so load from other processes moves reference and round trip alike. The round trip
costs three RSA-2048 private-key operations (sender signs, receiver decrypts and signs the
MDN), so 0.33 is the ceiling of the sequential ratio. JSON into bench/results/as2_http.json.

    .venv/bin/python bench/as2_http.py [--messages 300] [--rounds 5] [--server process|thread]
                                       [--serve-workers N]
                                       [--sender-nodelay]
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(REPO), str(REPO / "tests")]

import httpx  # noqa: E402
from cryptography.hazmat.primitives import hashes, serialization  # noqa: E402
from cryptography.hazmat.primitives.asymmetric import padding  # noqa: E402

from connectors.as2.certs import make_test_identity  # noqa: E402
from connectors.as2.connector import As2Connector  # noqa: E402
from gateway.document import Document  # noqa: E402

UBL = (REPO / "tests" / "golden" / "ubl" / "simple-peppol.xml").read_bytes()
THREADS = 4


def _pem_files(folder: Path, name: str) -> tuple[Path, Path]:
    """A fresh RSA-2048 identity for ``name`` as PEM key and certificate files."""
    key, cert = make_test_identity(name)
    folder.mkdir(parents=True, exist_ok=True)
    key_path, cert_path = folder / f"{name.lower()}.key.pem", folder / f"{name.lower()}.pem"
    key_path.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    return key_path, cert_path


def _as2_folder(folder: Path) -> dict[str, str]:
    """The receiver's AS2 folder (IGW, partner ACME); the sender's connector file options."""
    _pem_files(folder / "keys", "IGW")
    acme_key, acme_cert = _pem_files(folder / "partners", "ACME")
    (folder / "local.toml").write_text(
        'as2_id = "IGW"\nkey_file = "keys/igw.key.pem"\ncert_file = "keys/igw.pem"\n'
    )
    (folder / "partners" / "acme.toml").write_text('as2_id = "ACME"\ncert_files = ["acme.pem"]\n')
    return {
        "key_file": str(acme_key),
        "cert_file": str(acme_cert),
        "partner_cert_file": str(folder / "keys" / "igw.pem"),
    }


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@contextlib.contextmanager
def _igw_serve(folder: Path, store_url: str, workers: int = 1) -> Iterator[str]:
    """``igw serve`` in its own process until the block ends; yields its base URL."""
    port = _free_port()
    log = (folder / "serve.log").open("w")
    command = [
        sys.executable,
        "-m",
        "gateway.cli.main",
        "serve",
        "--port",
        str(port),
        "--store",
        store_url,
        "--as2-config",
        str(folder / "as2"),
        "--workers",
        str(workers),
        "--mdn-sweep-interval",
        "3600",
    ]
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    process = subprocess.Popen(command, env=env, stderr=log, stdout=log, cwd=folder)
    base_url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                if httpx.get(f"{base_url}/health", timeout=1).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            if process.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError((folder / "serve.log").read_text())
            time.sleep(0.1)
        yield base_url
    finally:
        process.terminate()
        process.wait(timeout=30)
        log.close()


@contextlib.contextmanager
def _in_thread(folder: Path, store_url: str) -> Iterator[str]:
    """The same app in a thread of this process (as the tests run it)."""
    from gateway.as2.config import load_as2_config
    from gateway.peers.serve import serve_in_thread
    from gateway.registry import resolve_mapping
    from gateway.store import Store
    from gateway.web import create_app

    resolve_mapping("ubl")
    store = Store.open(store_url)
    store.migrate()
    try:
        app = create_app(store=store, as2=load_as2_config(folder / "as2"))
        with serve_in_thread(app) as base_url:
            yield base_url
    finally:
        store.close()


def _sender(base_url: str, files: dict[str, str], nodelay: bool) -> Callable[[str], None]:
    options: dict[str, Any] = {}
    if nodelay:  # what As2Connector's own client would gain with TCP_NODELAY
        nodelay_option = [(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)]
        transport = httpx.HTTPTransport(socket_options=nodelay_option)
        options["client"] = httpx.Client(timeout=30.0, transport=transport)
    connector = As2Connector(
        url=f"{base_url}/as2", as2_from="ACME", as2_to="IGW", timeout=30.0, **files, **options
    )
    document = Document(content=UBL, syntax="ubl", format="peppol-bis3", invoice_number="INV-1")

    def send(key: str) -> None:
        receipt = connector.send(document, delivery_id=key, idempotency_key=key)
        assert receipt.transport_proof, receipt.detail

    return send


def _rate(send: Callable[[str], None], keys: list[str], threads: int) -> float:
    start = time.perf_counter()
    if threads == 1:
        for key in keys:
            send(key)
    else:
        with ThreadPoolExecutor(max_workers=threads) as pool:
            list(pool.map(send, keys))
    return len(keys) / (time.perf_counter() - start)


def _rsa_rate(seconds: float) -> float:
    key, _ = make_test_identity("REFERENCE")
    digest = os.urandom(32)
    count, start = 0, time.perf_counter()
    while (elapsed := time.perf_counter() - start) < seconds:
        key.sign(digest, padding.PKCS1v15(), hashes.SHA256())
        count += 1
    return count / elapsed


def main(argv: list[str] | None = None) -> int:
    """Run the measurement, print messages/s and ratios, write bench/results/as2_http.json."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--messages", type=int, default=300, help="per mode, over all rounds")
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--server", choices=("process", "thread"), default="process")
    parser.add_argument(
        "--serve-workers", type=int, default=1, help="igw serve --workers (process server only)"
    )
    parser.add_argument(
        "--sender-nodelay",
        action="store_true",
        help="give the connector an HTTP client with TCP_NODELAY (its default client has none)",
    )
    args = parser.parse_args(argv)
    per_round = max(args.messages // args.rounds, 1)
    runs: dict[str, list[float]] = {"rsa": [], "sequential": [], "threads": []}
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        files = _as2_folder(folder / "as2")
        store_url = f"sqlite:///{folder / 'gateway.db'}"
        serving = (
            _igw_serve(folder, store_url, args.serve_workers)
            if args.server == "process"
            else _in_thread(folder, store_url)
        )
        with serving as base_url:
            send = _sender(base_url, files, args.sender_nodelay)
            _rate(send, [f"warm-{i}" for i in range(20)], 1)  # imports, connection, caches
            for number in range(args.rounds):
                runs["rsa"].append(_rsa_rate(0.5))
                keys = [f"seq-{number}-{i}" for i in range(per_round)]
                runs["sequential"].append(_rate(send, keys, 1))
                keys = [f"par-{number}-{i}" for i in range(per_round)]
                runs["threads"].append(_rate(send, keys, THREADS))
    ratio = {
        name: statistics.median(v / r for v, r in zip(runs[name], runs["rsa"], strict=True))
        for name in ("sequential", "threads")
    }
    best = {name: max(values) for name, values in runs.items()}
    result = {
        "payload_bytes": len(UBL),
        "messages_per_mode": per_round * args.rounds,
        "rounds": args.rounds,
        "server": (
            f"igw serve, {args.serve_workers} process(es)"
            if args.server == "process"
            else "thread of the sender"
        ),
        "sender_tcp_nodelay": args.sender_nodelay,
        "rsa2048_sign_per_second": round(best["rsa"], 1),
        "sequential_per_second": round(best["sequential"], 1),
        "four_threads_per_second": round(best["threads"], 1),
        "sequential_ratio_to_rsa2048_sign": round(ratio["sequential"], 3),
        "four_threads_ratio_to_rsa2048_sign": round(ratio["threads"], 3),
        "target_ratio": 0.1,
    }
    where = result["server"]
    print(
        f"AS2 over HTTP, signed+encrypted, {len(UBL)} B payload, signed sync MDN, SQLite store, "
        f"receiver: {where}"
    )
    print(f"  RSA-2048 sign (reference)  {best['rsa']:8.1f} /s")
    print(
        f"  round trip, sequential     {best['sequential']:8.1f} messages/s  "
        f"{ratio['sequential']:.3f}x RSA sign (target >= 0.1: "
        f"{'met' if ratio['sequential'] >= 0.1 else 'NOT met'})"
    )
    print(
        f"  round trip, {THREADS} threads      {best['threads']:8.1f} messages/s  "
        f"{ratio['threads']:.3f}x RSA sign"
    )
    out = REPO / "bench" / "results"
    out.mkdir(exist_ok=True)
    (out / "as2_http.json").write_text(json.dumps(result, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
