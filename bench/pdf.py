"""Invoice PDF and Factur-X PDF renders per second (HTML + WeasyPrint), 1 and 2 processes.

    .venv/bin/python bench/pdf.py           # about a minute
    .venv/bin/python bench/pdf.py --quick

For a 1-page and a 10-page invoice (bench/invoices.py; the line counts, the most that fit on
one page and the fewest that make ten, are found by rendering), ``Mapping.render`` to PDF
bytes in a process pool of 1 and of 2 workers (each warmed up: stylesheet parsed, fonts
loaded); the ratio is 2 processes / 1. The same for ``facturx-pdf`` (PDF/A-3b plus the
CII XML rendered and embedded with the factur-x library).
Target (issue 12): >= 10 one-page PDFs/s per core.
Writes bench/results/pdf.json.
"""

from __future__ import annotations

import argparse
import io
import json
import os
import platform
import time
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

HERE = Path(__file__).resolve().parent

import invoices  # noqa: E402
import pikepdf  # noqa: E402

from gateway.profiles.profile import BuyerProfile  # noqa: E402
from mappings.pdf import PdfInvoice  # noqa: E402
from mappings.pdf.facturx import FacturXPdf  # noqa: E402

PROFILE = BuyerProfile(options={"language": "de"})
MAPPING = PdfInvoice()
MAPPINGS = {"pdf": MAPPING, "facturx-pdf": FacturXPdf()}


def render(lines: int, format_name: str = "pdf") -> int:
    """Render the benchmark invoice with ``lines`` lines in ``format_name``; its size in bytes."""
    return len(MAPPINGS[format_name].render(invoices.invoice(lines), PROFILE).content)


def pages(lines: int) -> int:
    """Pages of the PDF of a ``lines``-line invoice."""
    with pikepdf.open(io.BytesIO(MAPPING.render(invoices.invoice(lines), PROFILE).content)) as p:
        return len(p.pages)


def lines_for(target: int) -> int:
    """The smallest line count whose PDF has ``target`` pages (bisection)."""
    low, high = 1, 40 * target
    while low < high:
        middle = (low + high) // 2
        if pages(middle) < target:
            low = middle + 1
        else:
            high = middle
    return low


def _warm() -> None:
    for format_name in MAPPINGS:
        render(3, format_name)


def rate(lines: int, workers: int, seconds: float, format_name: str = "pdf") -> float:
    """PDFs per second with ``workers`` processes, over batches of at least ``seconds``."""
    with ProcessPoolExecutor(workers, initializer=_warm) as pool:
        list(pool.map(render, [lines] * workers, [format_name] * workers))  # all warm
        done, start = 0, time.perf_counter()
        while time.perf_counter() - start < seconds:
            list(pool.map(render, [lines] * (workers * 2), [format_name] * (workers * 2)))
            done += workers * 2
        return done / (time.perf_counter() - start)


def main() -> None:
    """Run, print a table, write bench/results/pdf.json."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--quick", action="store_true", help="shorter timing windows")
    args = parser.parse_args()
    window = 3.0 if args.quick else 10.0
    one_page = lines_for(2) - 1  # the most lines that still fit on one page
    ten_pages = lines_for(10)
    results: dict[str, dict[str, float]] = {}
    cases = [
        (f"{prefix}{label}", lines, format_name)
        for format_name, prefix in (("pdf", ""), ("facturx-pdf", "facturx "))
        for label, lines in (("1 page", one_page), ("10 pages", ten_pages))
    ]
    for label, lines, format_name in cases:
        single = rate(lines, 1, window, format_name)
        double = rate(lines, 2, window, format_name)
        results[label] = {
            "lines": float(lines),
            "pages": float(pages(lines)),
            "1 process": single,
            "2 processes": double,
            "ratio": double / single,
        }
    print(f"{'':18}{'lines':>7}{'pages':>7}{'1 proc':>10}{'2 procs':>10}{'ratio':>7}   (PDFs/s)")
    for name, r in results.items():
        print(
            f"{name:18}{r['lines']:7.0f}{r['pages']:7.0f}{r['1 process']:10.1f}"
            f"{r['2 processes']:10.1f}{r['ratio']:7.2f}"
        )
    met = results["1 page"]["1 process"] >= 10
    print(f"target >= 10 one-page PDFs/s per core: {'met' if met else 'NOT met'}")
    out = HERE / "results" / "pdf.json"
    out.parent.mkdir(exist_ok=True)
    out.write_text(
        json.dumps(
            {
                "python": platform.python_version(),
                "machine": platform.machine(),
                "cpus": os.cpu_count(),
                "results": results,
            },
            indent=2,
        )
        + "\n"
    )


if __name__ == "__main__":
    main()
