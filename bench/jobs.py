"""Full validation of a batch on 1 vs N processes (``--jobs``): invoices per second and ratio.

    .venv/bin/python bench/jobs.py [--count 2000] [--jobs 1 2] [--lines 10] [--format xrechnung-ubl]

The batch: ``--count`` benchmark invoices (``bench/invoices.py``, ``--lines`` lines each)
translated to ``--format`` (default XRechnung UBL: XSD + EN 16931 + XRechnung schematron; the
benchmark invoices carry e-mail electronic addresses, which Peppol BIS 3 refuses before
rendering) through :func:`gateway.translation.parallel.translate_batch`, what
``igw translate`` runs, with full validation. Two measurements per ``--jobs`` value:

* ``translate``: rules + render in this process, validation on the processes (``jobs`` > 1);
* ``validate``: the rendered documents through :class:`gateway.translation.parallel.FileValidator`,
what
  ``igw validate`` runs over many files.

The in-process validator is warmed up before the ``jobs 1`` runs (its stylesheets compiled),
while the ``jobs`` > 1 runs include starting and warming their processes: the ratio is what a
command sees, slightly in favour of ``jobs 1``. Also checks that every run gives the same
findings. Prints a table (with the CPU milliseconds spent per invoice, this process and the
validation processes together); writes ``bench/results/jobs.json`` with the machine's load
average: other busy processes take the cores the extra processes need, so the ratio is only
meaningful on otherwise idle cores (the CPU per invoice shows the overhead either way).
"""

from __future__ import annotations

import argparse
import datetime as dt
import itertools
import json
import os
import platform
import resource
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path[:0] = [str(HERE.parent), str(HERE)]

import invoices  # noqa: E402

from gateway.envelope import default_envelope  # noqa: E402
from gateway.errors import Problem  # noqa: E402
from gateway.model import Invoice  # noqa: E402
from gateway.profiles.profile import BuyerProfile  # noqa: E402
from gateway.registry import resolve_mapping  # noqa: E402
from gateway.translation.parallel import FileValidator, cores, translate_batch  # noqa: E402
from gateway.translation.pipeline import Outcome  # noqa: E402
from gateway.validation import ValidationReport, warm_up  # noqa: E402

RESULTS = HERE / "results"


def _cpu() -> float:
    """CPU seconds of this process and of its children that ended (the pools' processes)."""
    own = resource.getrusage(resource.RUSAGE_SELF)
    children = resource.getrusage(resource.RUSAGE_CHILDREN)
    return own.ru_utime + own.ru_stime + children.ru_utime + children.ru_stime


Batch = list[tuple[str, Invoice | None, tuple[Problem, ...]]]


def _translate(batch: Batch, fmt: str, jobs: int) -> list[Outcome]:
    mapping = resolve_mapping(fmt)
    at = dt.datetime(2026, 12, 1, 12, 0, tzinfo=dt.UTC)
    sequence = itertools.count(1)
    outcomes = translate_batch(
        batch,
        [mapping],
        BuyerProfile(name="bench"),
        envelopes=lambda: default_envelope(next(sequence), at),
        jobs=jobs,
    )
    return list(outcomes)


def _validate(contents: list[bytes], jobs: int) -> list[ValidationReport]:
    checker = FileValidator(jobs, len(contents))
    pending = [checker.validate(c, None, name=f"doc-{n}") for n, c in enumerate(contents)]
    return list(checker.results(pending))


def main() -> int:
    """Measure and print; write bench/results/jobs.json."""
    parser = argparse.ArgumentParser()
    parser.add_argument("--count", type=int, default=2000)
    parser.add_argument("--lines", type=int, default=10)
    parser.add_argument("--jobs", type=int, nargs="+", default=[1, 2])
    parser.add_argument("--format", default="xrechnung-ubl")
    args = parser.parse_args()
    batch: Batch = [
        (f"BENCH-{n}", invoices.invoice(args.lines, f"BENCH-{n:05d}"), ())
        for n in range(args.count)
    ]
    mapping = resolve_mapping(args.format)
    warm_up(mapping.rules, [mapping.syntax])
    rates: dict[str, dict[int, float]] = {"translate": {}, "validate": {}}
    cpu_ms: dict[str, dict[int, float]] = {"translate": {}, "validate": {}}
    findings: dict[str, list[tuple[Problem, ...]]] = {}
    contents: list[bytes] = []
    for jobs in args.jobs:
        started, cpu = time.perf_counter(), _cpu()
        outcomes = _translate(batch, args.format, jobs)
        rates["translate"][jobs] = args.count / (time.perf_counter() - started)
        cpu_ms["translate"][jobs] = (_cpu() - cpu) * 1000 / args.count
        found = [o.problems for o in outcomes]
        assert findings.setdefault("translate", found) == found, "jobs changed the findings"
        contents = [o.document.content for o in outcomes if o.document is not None]
        assert len(contents) == args.count, "some invoices were not rendered: nothing to measure"
    for jobs in args.jobs:
        started, cpu = time.perf_counter(), _cpu()
        reports = _validate(contents, jobs)
        rates["validate"][jobs] = args.count / (time.perf_counter() - started)
        cpu_ms["validate"][jobs] = (_cpu() - cpu) * 1000 / args.count
        found = [tuple(r.findings) for r in reports]
        assert findings.setdefault("validate", found) == found, "jobs changed the findings"
    base = args.jobs[0]
    load = os.getloadavg()
    print(
        f"{args.count} invoices, {args.lines} lines, {args.format}; {cores()} cores; "
        f"load average {load[0]:.2f}"
    )
    print(f"{'what':10} {'jobs':>4} {'invoices/s':>11} {'ratio':>6} {'CPU ms/invoice':>15}")
    for what, by_jobs in rates.items():
        for jobs, value in by_jobs.items():
            print(
                f"{what:10} {jobs:>4} {value:>11,.1f} {value / by_jobs[base]:>5.2f}x "
                f"{cpu_ms[what][jobs]:>15.1f}"
            )
    RESULTS.mkdir(parents=True, exist_ok=True)
    (RESULTS / "jobs.json").write_text(
        json.dumps(
            {
                "count": args.count,
                "lines": args.lines,
                "format": args.format,
                "cores": cores(),
                "load_average": load,
                "python": platform.python_version(),
                "invoices_per_second": rates,
                "cpu_ms_per_invoice": cpu_ms,
                "ratio": {
                    what: {j: v / by_jobs[base] for j, v in by_jobs.items()}
                    for what, by_jobs in rates.items()
                },
            },
            indent=2,
        )
        + "\n",
        encoding="utf-8",
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
