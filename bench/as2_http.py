"""AS2 end to end over HTTP on loopback: As2Connector -> the gateway's own /as2 endpoint.

Each message is built (SHA-256 signature + AES-256 encryption), POSTed, opened by the endpoint
(decrypt, verify), stored in SQLite, parsed into the model and answered with a signed sync MDN,
which the connector verifies (signature, MIC). Measured sequentially and with 4 sending threads,
in one run; JSON into bench/results/as2_http.json.

    .venv/bin/python bench/as2_http.py [--messages 300]
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(REPO), str(REPO / "tests")]

from as2_peer import make_connector, running_endpoint  # noqa: E402
from store_backends import sqlite_url  # noqa: E402

from gateway.document import Document  # noqa: E402
from gateway.store import Store  # noqa: E402

UBL = (REPO / "tests" / "golden" / "ubl" / "simple-peppol.xml").read_bytes()


def _document() -> Document:
    return Document(content=UBL, syntax="ubl", format="peppol-bis3", invoice_number="INV-1")


def _rate(count: int, threads: int, base_url: str, keys: Path, tag: str) -> float:
    connector = make_connector(base_url, keys)
    document = _document()

    def send(i: int) -> None:
        receipt = connector.send(document, delivery_id=str(i), idempotency_key=f"{tag}-{i}")
        assert receipt.transport_proof

    start = time.perf_counter()
    if threads == 1:
        for i in range(count):
            send(i)
    else:
        with ThreadPoolExecutor(max_workers=threads) as pool:
            list(pool.map(send, range(count)))
    return count / (time.perf_counter() - start)


def main(argv: list[str] | None = None) -> int:
    """Run the measurement and print messages/s."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--messages", type=int, default=300)
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        store = Store.open(sqlite_url(folder))
        store.migrate()
        try:
            with running_endpoint(store) as (base_url, _):
                keys = folder / "keys"
                _rate(20, 1, base_url, keys, "warm")  # imports, TLS-free connection pool, caches
                sequential = _rate(args.messages, 1, base_url, keys, "seq")
                threaded = _rate(args.messages, 4, base_url, keys, "par")
        finally:
            store.close()
    result = {
        "payload_bytes": len(UBL),
        "messages": args.messages,
        "sequential_per_second": round(sequential, 1),
        "four_threads_per_second": round(threaded, 1),
        "ratio_four_threads_to_sequential": round(threaded / sequential, 2),
    }
    print(f"AS2 over HTTP, signed+encrypted, {len(UBL)} B payload, signed sync MDN, SQLite store")
    print(f"  sequential        {sequential:8.1f} messages/s")
    print(f"  4 sending threads {threaded:8.1f} messages/s  ({threaded / sequential:.2f}x)")
    out = REPO / "bench" / "results"
    out.mkdir(exist_ok=True)
    (out / "as2_http.json").write_text(json.dumps(result, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
