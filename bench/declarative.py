"""Benchmark: the declarative buyer formats (template render + buyer-schema check).

    .venv/bin/python bench/declarative.py

For each shipped declarative format: invoices/s over the 27 examples of examples/erp-export.json
(render includes the schema check, as in production), the share of time the check takes, and
one render of the 1,000-line invoice of examples/large-1000-lines.json.
"""

from __future__ import annotations

import functools
import time
from collections.abc import Callable
from pathlib import Path

from gateway.intake import read_records
from gateway.model import Invoice
from gateway.profiles.profile import BuyerProfile
from mappings.declarative import DeclarativeMapping, load_format

ROOT = Path(__file__).resolve().parents[1]
PROFILE = BuyerProfile()


def invoices(path: Path) -> list[Invoice]:
    """The accepted invoices of an example file."""
    return [r.invoice for r in read_records(path) if r.invoice is not None]


def per_second(
    func: Callable[[Invoice], object], items: list[Invoice], window: float = 2.0
) -> float:
    """Calls of ``func(item)`` per second over at least ``window`` seconds."""
    count, start = 0, time.perf_counter()
    while time.perf_counter() - start < window:
        for item in items:
            func(item)
        count += len(items)
    return count / (time.perf_counter() - start)


def checker(mapping: DeclarativeMapping, items: list[Invoice]) -> Callable[[Invoice], object]:
    """The schema check alone for ``items`` (rendered text and dicts prepared beforehand)."""
    texts = {i.number: mapping.render(i, PROFILE).content.decode() for i in items}
    dumps = {i.number: i.model_dump(mode="json") for i in items}
    return lambda i: mapping.check(i.number, texts[i.number], dumps[i.number])


def main() -> None:
    """Print one row per format."""
    examples = invoices(ROOT / "examples" / "erp-export.json")
    large = invoices(ROOT / "examples" / "large-1000-lines.json")[0]
    print(f"{'format':<18} {'render+check/s':>15} {'check share':>12} {'1000 lines (ms)':>16}")
    for name in ("acme-portal-json", "globex-ap-csv"):
        mapping = load_format(ROOT / "config" / "formats" / f"{name}.toml")
        full = per_second(functools.partial(mapping.render, profile=PROFILE), examples)
        check = per_second(checker(mapping, examples), examples)
        start = time.perf_counter()
        mapping.render(large, PROFILE)
        big = (time.perf_counter() - start) * 1000
        print(f"{name:<18} {full:>15,.0f} {full / check:>11.0%} {big:>16,.1f}")


if __name__ == "__main__":
    main()
