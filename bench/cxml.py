"""cXML benchmark: render, parse and DTD validation throughput on the 10-line bench invoice.

    .venv/bin/python bench/cxml.py

Prints invoices per second (one core) and the size of the 1000-line example's document.
"""

from __future__ import annotations

import datetime as dt
import sys
import time
from collections.abc import Callable
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))
sys.path.insert(0, str(HERE))

import invoices  # noqa: E402

from gateway.envelope import Envelope  # noqa: E402
from gateway.intake import read_records  # noqa: E402
from gateway.model import Invoice  # noqa: E402
from gateway.profiles.profile import BuyerProfile  # noqa: E402
from gateway.totals import complete  # noqa: E402
from gateway.validation.cxml import validate_cxml  # noqa: E402
from mappings.cxml.format import CxmlInvoice  # noqa: E402

OPTIONS = {
    key: "bench"
    for key in (
        "from_domain",
        "from_identity",
        "to_domain",
        "to_identity",
        "sender_domain",
        "sender_identity",
        "shared_secret",
        "user_agent",
    )
}
PROFILE = BuyerProfile(name="bench", format="cxml", options=OPTIONS)
ENVELOPE = Envelope("1", dt.datetime(2026, 11, 24, 12, 0, tzinfo=dt.UTC))


def rate(action: Callable[[], object], seconds: float = 2.0) -> float:
    """Calls per second of ``action`` over about ``seconds``."""
    count, started = 0, time.perf_counter()
    while (elapsed := time.perf_counter() - started) < seconds:
        action()
        count += 1
    return count / elapsed


def ten_lines() -> Invoice:
    """The 10-line invoice of the issue 2 benchmark (bench/invoices.py), completed."""
    return complete(invoices.invoice(10))


def main() -> None:
    """Print the figures."""
    mapping = CxmlInvoice()
    invoice = ten_lines()
    content = mapping.render(invoice, PROFILE, ENVELOPE).content
    print(f"render   10 lines: {rate(lambda: mapping.render(invoice, PROFILE, ENVELOPE)):8.0f}/s")
    print(f"parse    10 lines: {rate(lambda: mapping.parse(content)):8.0f}/s")
    print(f"validate 10 lines: {rate(lambda: validate_cxml(content)):8.0f}/s")
    big = next(
        r.invoice
        for r in read_records(HERE.parent / "examples" / "large-1000-lines.json")
        if r.invoice is not None
    )
    started = time.perf_counter()
    document = mapping.render(big, PROFILE, ENVELOPE)
    middle = time.perf_counter()
    mapping.parse(document.content)
    ended = time.perf_counter()
    print(
        f"1000 lines: {len(document.content) / 1e6:.2f} MB,"
        f" render {1e3 * (middle - started):.1f} ms, parse {1e3 * (ended - middle):.1f} ms"
    )


if __name__ == "__main__":
    main()
