"""Benchmarks for issue 2, measured in one run on one core; results as ratios.

    .venv/bin/python bench/run.py            # full run (about a minute)
    .venv/bin/python bench/run.py --quick    # shorter timing windows

Prints a table and writes bench/results/latest.json. Targets (10-line invoices, one core):
render >= 5,000 invoices/s, in-process rule check >= 5,000/s.
"""

from __future__ import annotations

import argparse
import json
import platform
import sys
import time
import xml.etree.ElementTree as ET
from collections.abc import Callable
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

import drafthorse_model  # noqa: E402
import invoices  # noqa: E402

from gateway.profiles.profile import BuyerProfile  # noqa: E402
from gateway.registry import resolve_mapping  # noqa: E402
from gateway.rules import check  # noqa: E402
from gateway.validation import validate  # noqa: E402

PROFILE = BuyerProfile(name="bench")


def rate(fn: Callable[[], object], window: float) -> float:
    """Calls per second: best of three windows of ``window`` seconds each."""
    fn()  # warm-up (imports, caches, compiled XSLTs)
    best = 0.0
    for _ in range(3):
        count, start = 0, time.perf_counter()
        while True:
            fn()
            count += 1
            elapsed = time.perf_counter() - start
            if elapsed >= window:
                break
        best = max(best, count / elapsed)
    return best


def main() -> int:
    """Run every measurement and print/write the results."""
    parser = argparse.ArgumentParser()
    parser.add_argument("--quick", action="store_true")
    parser.add_argument(
        "--metrics-overhead", action="store_true", help="also bench/metrics_overhead.py (~40 s)"
    )
    args = parser.parse_args()
    window = 0.3 if args.quick else 1.0
    results: dict[str, float] = {}
    rows: list[tuple[str, str]] = []

    for lines in (10, 100):
        inv = invoices.invoice(lines)
        for name in ("peppol-bis3", "xrechnung-ubl", "xrechnung-cii", "facturx-en16931"):
            mapping = resolve_mapping(name)
            results[f"render.{name}.{lines}"] = rate(
                lambda m=mapping, i=inv: m.render(i, PROFILE), window
            )
        facturx = resolve_mapping("facturx-en16931")
        # Like for like with drafthorse's serialize(), which always checks its output against the
        # Factur-X XSD: our render followed by the same XSD check (no schematron).
        results[f"render+xsd.facturx-en16931.{lines}"] = rate(
            lambda f=facturx, i=inv: validate(f.render(i, PROFILE), ["facturx"]), window
        )
        dh = drafthorse_model.build(inv)
        results[f"drafthorse.serialize_xsd.{lines}"] = rate(
            lambda i=inv: drafthorse_model.build(i).serialize(schema="FACTUR-X_EN16931"), window
        )
        results[f"drafthorse.tostring.{lines}"] = rate(
            lambda d=dh: ET.tostring(d.to_etree(), "utf-8"), window
        )
        ours = results[f"render.facturx-en16931.{lines}"]
        ours_xsd = results[f"render+xsd.facturx-en16931.{lines}"]
        rows.append(
            (
                f"{lines}-line CII: ours render+XSD / drafthorse build+serialize (XSD)",
                f"{ours_xsd / results[f'drafthorse.serialize_xsd.{lines}']:.1f}x",
            )
        )
        rows.append(
            (
                f"{lines}-line CII: ours / drafthorse (serialize only, no XSD)",
                f"{ours / results[f'drafthorse.tostring.{lines}']:.1f}x",
            )
        )

    inv10 = invoices.invoice(10)
    results["check.en16931+peppol.10"] = rate(
        lambda: check(inv10, ("en16931", "peppol"), record="bench"), window
    )
    results["check.en16931+xrechnung.10"] = rate(
        lambda: check(inv10, ("en16931", "xrechnung"), record="bench"), window
    )
    ubl = resolve_mapping("peppol-bis3").render(inv10, PROFILE)
    cii = resolve_mapping("xrechnung-cii").render(inv10, PROFILE)
    results["validate.ubl.en16931+peppol.10"] = rate(lambda: validate(ubl), window)
    results["validate.cii.en16931+xrechnung.10"] = rate(lambda: validate(cii), window)
    rows.append(
        (
            "in-process check / official schematron (EN 16931 + Peppol, 10 lines)",
            f"{results['check.en16931+peppol.10'] / results['validate.ubl.en16931+peppol.10']:.0f}"
            "x",
        )
    )

    if args.metrics_overhead:  # /metrics middleware on vs off (bench/results/metrics_overhead.json)
        import metrics_overhead

        share = metrics_overhead.main(["--rounds", "8"])["asgi_direct"]["share_of_loopback_request"]
        rows.append(("/metrics middleware: CPU share of a loopback request", f"{share:.1%}"))

    print(f"Python {platform.python_version()} on {platform.machine()}, one core\n")
    print(f"{'measurement':58} {'per second':>12}")
    for key, value in results.items():
        print(f"{key:58} {value:12,.0f}")
    print()
    for label, ratio in rows:
        print(f"{label:72} {ratio:>8}")
    for key in ("validate.ubl.en16931+peppol.10", "validate.cii.en16931+xrechnung.10"):
        print(f"full validation cost, {key.split('.', 1)[1]}: {1000 / results[key]:.1f} ms/invoice")
    out = HERE / "results"
    out.mkdir(exist_ok=True)
    (out / "latest.json").write_text(
        json.dumps({"per_second": results, "ratios": dict(rows)}, indent=2)
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
