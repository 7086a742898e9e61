"""Where the receiving side of an AS2 round trip spends its time (cProfile, one process).

Builds ``--messages`` signed+encrypted messages as the bench's sender does, then opens, stores,
interprets and answers each with :func:`gateway.web.as2.endpoint.receive_message` (what ``POST
/as2``
runs), under cProfile; prints per-message milliseconds and the top functions.

    .venv/bin/python bench/as2_profile.py [--messages 200] [--top 30]
"""

from __future__ import annotations

import argparse
import cProfile
import datetime as dt
import pstats
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(REPO), str(REPO / "bench"), str(REPO / "tests")]

from as2_http import UBL, _as2_folder  # noqa: E402
from cryptography import x509  # noqa: E402
from cryptography.hazmat.primitives import serialization  # noqa: E402

from connectors.as2.message import As2Identity, As2Partner, SendOptions, build_message  # noqa: E402
from gateway.as2.config import load_as2_config  # noqa: E402
from gateway.registry import resolve_mapping  # noqa: E402
from gateway.store import Store  # noqa: E402
from gateway.web.as2.endpoint import Endpoint, receive_message  # noqa: E402


def main(argv: list[str] | None = None) -> int:
    """Profile ``receive_message`` over freshly built messages."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--messages", type=int, default=200)
    parser.add_argument("--top", type=int, default=30)
    parser.add_argument("--sort", default="cumulative")
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        files = _as2_folder(folder / "as2")
        key = serialization.load_pem_private_key(Path(files["key_file"]).read_bytes(), None)
        cert = x509.load_pem_x509_certificate(Path(files["cert_file"]).read_bytes())
        igw = x509.load_pem_x509_certificate(Path(files["partner_cert_file"]).read_bytes())
        sender = As2Identity("ACME", key, cert)  # type: ignore[arg-type]
        receiver = As2Partner("IGW", (igw,))
        messages = []
        for n in range(args.messages + 5):
            out = build_message(
                UBL,
                content_type="application/xml",
                filename="invoice.xml",
                sender=sender,
                receiver=receiver,
                options=SendOptions(),
                message_id=f"m{n}@bench",
                now=dt.datetime.now(dt.UTC),
            )
            messages.append((dict(out.headers), out.body))
        resolve_mapping("ubl")
        store = Store.open(f"sqlite:///{folder / 'gw.db'}")
        store.migrate()
        endpoint = Endpoint(
            store=store,
            config=load_as2_config(folder / "as2"),
            clock=lambda: dt.datetime.now(dt.UTC),
        )
        for headers, body in messages[:5]:  # warm-up
            assert receive_message(endpoint, headers, body).status == 200
        profile = cProfile.Profile()
        start = time.perf_counter()
        profile.enable()
        for headers, body in messages[5:]:
            receive_message(endpoint, headers, body)
        profile.disable()
        seconds = time.perf_counter() - start
        print(f"{1000 * seconds / args.messages:.2f} ms per message (under cProfile)")
        start = time.perf_counter()
        store.close()
        stats = pstats.Stats(profile)
        stats.sort_stats(args.sort).print_stats(args.top)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
