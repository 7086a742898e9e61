"""E-mails per second through EmailConnector over one SMTP connection (STARTTLS + AUTH), with and
without DKIM signing (RSA 2048, Ed25519), and with a new connection per e-mail for comparison.

    .venv/bin/python bench/email_send.py [--emails 300] [--per-email 60] [--rounds 3]

The server is aiosmtpd on 127.0.0.1 (tests/harness_smtp.py: a test CA, AUTH PLAIN/LOGIN) in a
process of its own, so the client does not share its interpreter lock. Every e-mail is a full
EmailConnector.send of a real Peppol BIS 3 document (3.6 kB): read back for the template
variables, rendered, base64 attachment, optionally DKIM-signed (RSA 2048 or Ed25519),
MAIL/RCPT/DATA, the 250 reply parsed for the queue id. Each rate is the median of the rounds.
Writes bench/results/email.json. dkimpy signs RSA in pure Python (about 7 ms for 2048 bits):
that, not SMTP, bounds the RSA-signed rate.

What it cannot show: a real MTA's cost per message (queue file fsync, content filters) and the
network round trips (three per message on one connection, plus TLS and AUTH per connection).
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
sys.path[:0] = [str(REPO), str(REPO / "tests")]

from email_docs import ubl_document  # noqa: E402
from harness_smtp import DOMAIN, PASSWORD, SELECTOR, USER, make_pki, running  # noqa: E402

from connectors.email import EmailConnector  # noqa: E402
from gateway.document import Document  # noqa: E402


def serve(folder: str, pipe: Connection) -> None:
    """Child process: a STARTTLS + AUTH server until the parent says stop."""
    with running(make_pki(Path(folder)), "starttls") as server:
        pipe.send(server.port)
        pipe.recv()
        pipe.send(len(server.messages))


def dkim_pem(kind: str) -> str:
    """A fresh DKIM key (PEM): RSA 2048 or Ed25519."""
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import ed25519, rsa

    key = (
        rsa.generate_private_key(public_exponent=65537, key_size=2048)
        if kind == "rsa"
        else ed25519.Ed25519PrivateKey.generate()
    )
    return key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    ).decode()


def rate(factory: Callable[[], EmailConnector], docs: list[Document], reuse: bool) -> float:
    """E-mails per second: one connector for all (``reuse``) or a new one per e-mail."""
    tag = uuid.uuid4().hex[:8]
    started = time.perf_counter()
    if reuse:
        with factory() as connector:
            for n, document in enumerate(docs):
                connector.send(document, delivery_id=str(n), idempotency_key=f"{tag}-{n}")
            assert connector.connects == 1
    else:
        for n, document in enumerate(docs):
            with factory() as connector:
                connector.send(document, delivery_id=str(n), idempotency_key=f"{tag}-{n}")
    return len(docs) / (time.perf_counter() - started)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--emails", type=int, default=300, help="e-mails per round, reused")
    parser.add_argument("--per-email", type=int, default=60, help="e-mails per round, new each")
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    docs = [ubl_document(f"BENCH-{n:05d}") for n in range(args.emails)]
    rsa_pem, ed_pem = dkim_pem("rsa"), dkim_pem("ed25519")
    with tempfile.TemporaryDirectory() as folder:
        ours, theirs = multiprocessing.Pipe()
        child = multiprocessing.get_context("spawn").Process(target=serve, args=(folder, theirs))
        child.start()
        port = ours.recv()
        ca_file = str(Path(folder) / "ca.pem")

        def factory(**extra: str) -> Callable[[], EmailConnector]:
            return lambda: EmailConnector(
                host="127.0.0.1",
                port=port,
                username=USER,
                password=PASSWORD,
                ca_file=ca_file,
                from_address="invoices@seller.example",
                to="ap@kunde.example",
                **extra,
            )

        dkim = {"dkim_selector": SELECTOR, "dkim_domain": DOMAIN}
        rsa_signed = factory(dkim_private_key=rsa_pem, **dkim)
        ed_signed = factory(dkim_private_key=ed_pem, **dkim)
        rates: dict[str, list[float]] = {
            "one_connection": [],
            "one_connection_dkim_rsa2048": [],
            "one_connection_dkim_ed25519": [],
            "connection_per_email": [],
        }
        for _ in range(args.rounds):
            rates["one_connection"].append(rate(factory(), docs, True))
            rates["one_connection_dkim_rsa2048"].append(rate(rsa_signed, docs, True))
            rates["one_connection_dkim_ed25519"].append(rate(ed_signed, docs, True))
            rates["connection_per_email"].append(rate(factory(), docs[: args.per_email], False))
        ours.send("stop")
        received = ours.recv()
        child.join(timeout=10)
    expected = args.rounds * (3 * args.emails + args.per_email)
    assert received == expected, f"server received {received}, expected {expected}"
    medians = {name: round(statistics.median(r), 1) for name, r in rates.items()}
    result = {
        "what": "EmailConnector.send over STARTTLS + AUTH to aiosmtpd on loopback (own process)",
        "document_bytes": len(docs[0].content),
        "rounds": args.rounds,
        "emails_per_round": {"one_connection": args.emails, "connection_per_email": args.per_email},
        "emails_per_second": medians,
        "rounds_emails_per_second": {n: [round(v, 1) for v in r] for n, r in rates.items()},
        "target_one_connection": 100,
        "python": platform.python_version(),
        "machine": platform.machine(),
        "measured_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
    }
    out = REPO / "bench" / "results" / "email.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(result, indent=2) + "\n")
    for name, value in medians.items():
        rounds = result["rounds_emails_per_second"][name]  # type: ignore[index]
        print(f"{name:28} {value:8.1f} e-mails/s  (rounds: {rounds})")


if __name__ == "__main__":
    main()
