"""AS2 message layer benchmark: build (sign + encrypt) and open + MDN throughput.

    .venv/bin/python bench/as2.py [--seconds 2]

One process, one core. Payloads of 10 KB and 1 MB; default options (SHA-256 PKCS#1 v1.5
signature, AES-256-CBC with RSA PKCS#1 v1.5 key transport, signed MDN requested), RSA-2048
keys. Every figure is also given as a ratio to RSA-2048 PKCS#1 v1.5 signing alone, measured in
the same run, so the numbers compare across machines. pyas2lib is not measured: 1.4.x needs
oscrypto 1.3.0, which does not load on OpenSSL >= 3.0.10 (wbond/oscrypto#75, #78), so it
cannot be installed here. Writes bench/results/as2.json.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import platform
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))

import cryptography  # noqa: E402
from cryptography.hazmat.backends.openssl.backend import backend  # noqa: E402
from cryptography.hazmat.primitives import hashes  # noqa: E402
from cryptography.hazmat.primitives.asymmetric import padding  # noqa: E402

from connectors.as2.certs import make_test_identity  # noqa: E402
from connectors.as2.mdn import Disposition, build_mdn, parse_mdn  # noqa: E402
from connectors.as2.message import (  # noqa: E402
    As2Identity,
    As2Partner,
    SendOptions,
    build_message,
    open_message,
)

NOW = dt.datetime(2026, 11, 24, 12, 0, tzinfo=dt.UTC)


def measure(
    actions: dict[str, Callable[[], object]], seconds: float, rounds: int = 5
) -> tuple[dict[str, float], dict[str, float]]:
    """Calls per second of each action (best round) and its ratio to ``actions["rsa2048_sign"]``
    (median over rounds of the per-round ratio). Each round runs every action for
    ``seconds / rounds``, so the reference and the action see the machine at nearly the same
    moment: load from other processes moves both."""
    for action in actions.values():
        action()
    runs: dict[str, list[float]] = {name: [] for name in actions}
    for _ in range(rounds):
        for name, action in actions.items():
            count, started = 0, time.perf_counter()
            while (elapsed := time.perf_counter() - started) < seconds / rounds:
                action()
                count += 1
            runs[name].append(count / elapsed)
    reference = runs["rsa2048_sign"]
    best = {name: max(values) for name, values in runs.items()}
    ratio = {
        name: statistics.median(v / r for v, r in zip(values, reference, strict=True))
        for name, values in runs.items()
    }
    return best, ratio


def main() -> None:
    """Measure (5 interleaved rounds), print a table, write bench/results/as2.json."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=2.0, help="time per measurement")
    seconds = parser.parse_args().seconds

    sender_key, sender_cert = make_test_identity("SENDER", now=NOW)
    receiver_key, receiver_cert = make_test_identity("RECEIVER", now=NOW)
    sender = As2Identity("SENDER", sender_key, sender_cert)
    receiver = As2Identity("RECEIVER", receiver_key, receiver_cert)
    to_receiver = As2Partner("RECEIVER", (receiver_cert,))
    from_sender = As2Partner("SENDER", (sender_cert,))
    options = SendOptions()

    digest = os.urandom(32)
    actions: dict[str, Callable[[], object]] = {
        "rsa2048_sign": lambda: sender_key.sign(digest, padding.PKCS1v15(), hashes.SHA256())
    }
    counter = iter(range(10**9))
    for label, size in (("10KB", 10 * 1024), ("1MB", 1024 * 1024)):
        payload = (b"UNH+1+INVOIC:D:96A:UN'BGM+380+4711+9'" * (size // 37 + 1))[:size]

        def build(payload: bytes = payload) -> object:
            return build_message(
                payload,
                content_type="application/EDIFACT",
                filename="invoice.edi",
                sender=sender,
                receiver=to_receiver,
                options=options,
                message_id=f"bench-{next(counter)}@sender",
                now=NOW,
            )

        out = build_message(
            payload,
            content_type="application/EDIFACT",
            filename="invoice.edi",
            sender=sender,
            receiver=to_receiver,
            options=options,
            message_id="bench@sender",
            now=NOW,
        )

        def open_and_mdn(headers: dict[str, str] = out.headers, body: bytes = out.body) -> object:
            opened = open_message(
                headers, body, local=receiver, partner_for=lambda _name: from_sender
            )
            return build_mdn(
                original_message_id=opened.message_id,
                original_recipient=receiver.as2_id,
                sender=receiver,
                receiver_id=opened.sender_id,
                disposition=Disposition(),
                mic=opened.mic,
                request=opened.mdn_request,
                now=NOW,
            )

        built_mdn = build_mdn(
            original_message_id="bench@sender",
            original_recipient="RECEIVER",
            sender=receiver,
            receiver_id="SENDER",
            disposition=Disposition(),
            mic=out.mic,
            request=open_message(
                out.headers, out.body, local=receiver, partner_for=lambda _n: from_sender
            ).mdn_request,
            now=NOW,
        )

        actions[f"build_sign_encrypt_{label}"] = build
        actions[f"open_and_mdn_{label}"] = open_and_mdn
        if label == "10KB":
            actions["parse_signed_mdn"] = lambda m=built_mdn: parse_mdn(
                m.headers, m.body, partner=to_receiver
            )

    results, ratios = measure(actions, seconds * len(actions))
    rows = [
        ("RSA-2048 sign alone (reference)", "rsa2048_sign"),
        ("build: sign+encrypt, 10 KB", "build_sign_encrypt_10KB"),
        ("open (decrypt+verify) + signed MDN, 10 KB", "open_and_mdn_10KB"),
        ("build: sign+encrypt, 1 MB", "build_sign_encrypt_1MB"),
        ("open (decrypt+verify) + signed MDN, 1 MB", "open_and_mdn_1MB"),
        ("parse + verify a signed MDN", "parse_signed_mdn"),
    ]
    print(
        f"AS2 message layer, one core (cryptography {cryptography.__version__}, "
        f"{backend.openssl_version_text()})"
    )
    print(f"{'what':<44} {'msgs/s':>10} {'x RSA sign':>11}")
    for title, key in rows:
        print(f"{title:<44} {results[key]:>10,.0f} {ratios[key]:>11.2f}")
    print(
        "pyas2lib: not measured - it cannot be installed here (1.4.x pins oscrypto 1.3.0, "
        "which refuses OpenSSL >= 3.0.10; wbond/oscrypto#75, #78)"
    )
    target = results["build_sign_encrypt_10KB"]
    print(
        f"target >= 1,000 signed+encrypted 10 KB messages/s: {target:,.0f}/s "
        f"({'met' if target >= 1000 else 'NOT met'})"
    )

    out_dir = HERE / "results"
    out_dir.mkdir(exist_ok=True)
    report = {
        "measured_at": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        "machine": platform.platform(),
        "python": platform.python_version(),
        "cryptography": cryptography.__version__,
        "openssl": backend.openssl_version_text(),
        "per_second": {k: round(v, 1) for k, v in results.items()},
        "ratio_to_rsa2048_sign": {k: round(v, 3) for k, v in ratios.items()},
        "pyas2lib": "not measured: cannot be installed (oscrypto 1.3.0 vs OpenSSL >= 3.0.10)",
    }
    (out_dir / "as2.json").write_text(json.dumps(report, indent=2) + "\n")


if __name__ == "__main__":
    main()
