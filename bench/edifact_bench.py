"""EDIFACT INVOIC D.96A throughput, ours against pydifact's own serializer and parser.

    .venv/bin/python bench/edifact_bench.py           # about half a minute
    .venv/bin/python bench/edifact_bench.py --quick

For 10-line and 1,000-line invoices (bench/invoices.py), in messages per second on one core:

* render: Invoice -> interchange bytes (``render_interchange``: segments + serializer + envelope);
* serialize: the same pydifact segment list -> text, with our FastSerializer vs pydifact's
  ``Serializer`` (like for like);
* tokenize: interchange text -> segments, our ``split_segments`` vs pydifact's ``Parser``;
* parse: interchange bytes -> Invoice (``EancomD96A.parse``: tokenize, envelope checks, model).

Ratios are ours / pydifact. Target: parse >= 2,000 10-line INVOIC messages/s per core.
Writes bench/results/edifact.json.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import platform
import sys
import time
import warnings
from collections.abc import Callable
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

import invoices  # noqa: E402
from pydifact.parser import Parser  # noqa: E402
from pydifact.serializer import Serializer  # noqa: E402

from gateway.envelope import Envelope  # noqa: E402
from gateway.profiles.profile import BuyerProfile  # noqa: E402
from gateway.totals import complete  # noqa: E402
from mappings.edifact.interchange import build_interchange, decode  # noqa: E402
from mappings.edifact.invoic import EancomD96A, render_interchange  # noqa: E402
from mappings.edifact.invoic_render import render_message  # noqa: E402
from mappings.edifact.syntax import DEFAULT_SEPARATORS, FastSerializer, split_segments  # noqa: E402

PROFILE = BuyerProfile(options={"sender_id": "4012345000016", "recipient_id": "4006381333931"})
ENVELOPE = Envelope("1", dt.datetime(2026, 11, 24, 12, 0))


def rate(fn: Callable[[], object], window: float) -> float:
    """Calls per second: best of three windows of ``window`` seconds."""
    fn()
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


def measure(lines: int, window: float) -> dict[str, float]:
    """All rates for one invoice size (messages per second)."""
    invoice = complete(invoices.invoice(lines))
    mapping = EancomD96A()
    segments = render_message(invoice, "1")
    data = build_interchange([segments], PROFILE, ENVELOPE)
    text = decode(data)
    body = text[9:]  # after the UNA
    assert mapping.parse(data).number == invoice.number
    ours_serializer = FastSerializer(DEFAULT_SEPARATORS)
    their_serializer = Serializer(DEFAULT_SEPARATORS.characters())
    result = {
        "render": rate(lambda: render_interchange([invoice], PROFILE, ENVELOPE), window),
        "serialize_ours": rate(lambda: ours_serializer.serialize(segments), window),
        "serialize_pydifact": rate(lambda: their_serializer.serialize(segments), window),
        "tokenize_ours": rate(lambda: split_segments(body, DEFAULT_SEPARATORS), window),
        "tokenize_pydifact": rate(lambda: list(Parser().parse(text)), window),
        "parse": rate(lambda: mapping.parse(data), window),
    }
    result["serialize_ratio"] = result["serialize_ours"] / result["serialize_pydifact"]
    result["tokenize_ratio"] = result["tokenize_ours"] / result["tokenize_pydifact"]
    result["segments"] = float(len(segments))
    return result


def main() -> None:
    """Run, print a table, write bench/results/edifact.json."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--quick", action="store_true", help="shorter timing windows")
    args = parser.parse_args()
    # pydifact warns once per segment that it has no service-segment directory to validate with
    warnings.simplefilter("ignore")
    results: dict[str, dict[str, float]] = {}
    for lines, window in ((10, 1.0), (1000, 2.0)):
        results[f"{lines} lines"] = measure(lines, window / 4 if args.quick else window)
    print(
        f"{'':12}{'render':>10}{'parse':>10}{'ser ours':>11}{'ser pyd':>10}{'ratio':>7}"
        f"{'tok ours':>11}{'tok pyd':>10}{'ratio':>7}   (messages/s, one core)"
    )
    for name, r in results.items():
        print(
            f"{name:12}{r['render']:10.0f}{r['parse']:10.0f}{r['serialize_ours']:11.0f}"
            f"{r['serialize_pydifact']:10.0f}{r['serialize_ratio']:7.1f}"
            f"{r['tokenize_ours']:11.0f}{r['tokenize_pydifact']:10.1f}{r['tokenize_ratio']:7.1f}"
        )
    target = results["10 lines"]["parse"] >= 2000
    print(f"target parse >= 2,000 10-line messages/s: {'met' if target else 'NOT met'}")
    out = HERE / "results" / "edifact.json"
    out.parent.mkdir(exist_ok=True)
    out.write_text(
        json.dumps(
            {
                "python": platform.python_version(),
                "machine": platform.machine(),
                "results": results,
            },
            indent=2,
        )
        + "\n"
    )


if __name__ == "__main__":
    main()
