"""Memory per MB of input: peak resident memory of render, parse and validate of UBL and CII
documents of a few sizes, each measured in a fresh child process.

    .venv/bin/python bench/memory.py [--sizes 1 10 50] [--validate-sizes 1 10]
        [--syntax ubl cii] [--timeout 600]

For each syntax (UBL: ``xrechnung-ubl``; CII: ``xrechnung-cii``) and size, a child renders a
benchmark invoice (``bench/invoices.py``) with as many lines as give a document of about that
many MB and writes it to a temporary file; then one child per operation reads that file and:

* ``render``: ``Mapping.render`` of the (already built) invoice — the input is the document
  produced;
* ``parse``: syntax detection + ``Mapping.parse`` of the bytes (what ``igw parse`` does);
* ``validate``: ``gateway.validation.validate`` (XSD + the scenario's schematron; artefacts
  loaded before the measurement starts).

Each child records its resident memory just before the operation (the input held, libraries
loaded), resets the kernel's high-water mark (``/proc/self/clear_refs``; where that is not
allowed, the peak of the process's whole life is used, an upper bound), runs the operation,
and reads the peak. Reported per run: the document size, the memory the operation added at
its peak (``added_mb``), the ratio ``added_mb / input_mb`` (MB of memory per MB of input), and
the seconds taken. The ratio is the claim: it is what the per-channel ``max_size`` and
``--max-size`` limits (``gateway/limits.py``) bound. Writes ``bench/results/memory.json``.
"""

from __future__ import annotations

import argparse
import gc
import json
import os
import platform
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(REPO), str(REPO / "bench")]

RESULTS = REPO / "bench" / "results"
FORMATS = {"ubl": "xrechnung-ubl", "cii": "xrechnung-cii"}
MB = 1000**2


def _rss_mb() -> float:
    """Resident memory now (MB), from /proc/self/statm."""
    pages = int(Path("/proc/self/statm").read_text().split()[1])
    return pages * os.sysconf("SC_PAGE_SIZE") / MB


def _reset_peak() -> bool:
    """Reset the kernel's peak-RSS mark to the current RSS (Linux >= 4.0); False if refused."""
    try:
        Path("/proc/self/clear_refs").write_text("5")
    except OSError:
        return False
    return True


def _peak_mb(reset: bool) -> float:
    """Peak resident memory (MB): VmHWM since the reset, else the whole life's ru_maxrss."""
    if reset:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) * 1024 / MB
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024 / MB


def _invoice_for(syntax: str, lines: int) -> Any:
    from invoices import invoice  # bench/invoices.py

    return invoice(lines, number=f"MEM-{syntax}-{lines}")


def _render(syntax: str, lines: int, path: str) -> dict[str, Any]:
    from gateway.profiles.profile import BuyerProfile
    from gateway.registry import resolve_mapping

    mapping = resolve_mapping(FORMATS[syntax])
    built = _invoice_for(syntax, lines)
    gc.collect()
    before, reset = _rss_mb(), _reset_peak()
    started = time.perf_counter()
    document = mapping.render(built, BuyerProfile(format=FORMATS[syntax]), None)
    seconds = time.perf_counter() - started
    peak = _peak_mb(reset)
    Path(path).write_bytes(document.content)
    return _figures(len(document.content), before, peak, seconds, reset)


def _parse(path: str) -> dict[str, Any]:
    from gateway.detect import PARSER_FOR_SYNTAX, detect_syntax
    from gateway.registry import resolve_mapping

    data = Path(path).read_bytes()
    mapping = resolve_mapping(PARSER_FOR_SYNTAX[detect_syntax(data[:4096])])
    gc.collect()
    before, reset = _rss_mb(), _reset_peak()
    started = time.perf_counter()
    parsed = mapping.parse(data)
    seconds = time.perf_counter() - started
    peak = _peak_mb(reset)
    return {**_figures(len(data), before, peak, seconds, reset), "lines": len(parsed.lines)}


def _validate(path: str, syntax: str) -> dict[str, Any]:
    from gateway.validation import validate, warm_up

    data = Path(path).read_bytes()
    warm_up(("en16931", "xrechnung"), (syntax,))
    gc.collect()
    before, reset = _rss_mb(), _reset_peak()
    started = time.perf_counter()
    report = validate(data, name=Path(path).name)
    seconds = time.perf_counter() - started
    peak = _peak_mb(reset)
    return {**_figures(len(data), before, peak, seconds, reset), "fatal": len(report.fatal)}


def _figures(size: int, before: float, peak: float, seconds: float, reset: bool) -> dict[str, Any]:
    added = max(peak - before, 0.0)
    return {
        "input_mb": round(size / MB, 2),
        "rss_before_mb": round(before, 1),
        "peak_mb": round(peak, 1),
        "added_mb": round(added, 1),
        "mb_per_input_mb": round(added / (size / MB), 2),
        "seconds": round(seconds, 2),
        "peak_since_reset": reset,
    }


def child(argv: list[str]) -> None:
    """One measurement in this (fresh) process; prints its figures as JSON."""
    operation, syntax, path, lines = argv[0], argv[1], argv[2], int(argv[3])
    if operation == "render":
        result = _render(syntax, lines, path)
    elif operation == "parse":
        result = _parse(path)
    else:
        result = _validate(path, syntax)
    print(json.dumps(result))


def _run_child(args: list[str], timeout: float) -> dict[str, Any]:
    started = time.monotonic()
    try:
        done = subprocess.run(
            [sys.executable, __file__, "--child", *args],
            capture_output=True,
            text=True,
            timeout=timeout,
            check=False,
        )
    except subprocess.TimeoutExpired:
        return {"error": f"did not finish within {timeout:.0f} s"}
    if done.returncode != 0:
        tail = done.stderr.strip().splitlines()[-1:] or ["?"]
        return {"error": f"exit {done.returncode}: {tail[0]}"}
    result: dict[str, Any] = json.loads(done.stdout.strip().splitlines()[-1])
    result["wall_seconds"] = round(time.monotonic() - started, 1)
    return result


def _bytes_per_line(syntax: str) -> tuple[float, float]:
    """(fixed bytes, bytes per line) of a rendered document, from 100- and 300-line renders."""
    from gateway.profiles.profile import BuyerProfile
    from gateway.registry import resolve_mapping

    mapping = resolve_mapping(FORMATS[syntax])
    profile = BuyerProfile(format=FORMATS[syntax])
    small = len(mapping.render(_invoice_for(syntax, 100), profile, None).content)
    large = len(mapping.render(_invoice_for(syntax, 300), profile, None).content)
    per_line = (large - small) / 200
    return small - 100 * per_line, per_line


def main() -> None:
    """Measure every syntax, size and operation; write bench/results/memory.json."""
    if len(sys.argv) > 1 and sys.argv[1] == "--child":
        child(sys.argv[2:])
        return
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sizes", type=float, nargs="+", default=[1, 10, 50])
    parser.add_argument("--validate-sizes", type=float, nargs="*", default=[1, 10])
    parser.add_argument("--syntax", nargs="+", default=list(FORMATS), choices=list(FORMATS))
    parser.add_argument("--timeout", type=float, default=600.0)
    parser.add_argument("--out", default=str(RESULTS / "memory.json"))
    args = parser.parse_args()
    runs: list[dict[str, Any]] = []
    with tempfile.TemporaryDirectory(prefix="igw-memory-") as folder:
        for syntax in args.syntax:
            fixed, per_line = _bytes_per_line(syntax)
            for size in sorted(set(args.sizes) | set(args.validate_sizes)):
                lines = max(1, round((size * MB - fixed) / per_line))
                path = str(Path(folder) / f"{syntax}-{size:g}mb.xml")
                operations = ["render"]
                operations += ["parse"] if size in args.sizes else []
                operations += ["validate"] if size in args.validate_sizes else []
                for operation in operations:
                    result = _run_child([operation, syntax, path, str(lines)], args.timeout)
                    run = {"syntax": syntax, "operation": operation, "lines": lines, **result}
                    runs.append(run)
                    print(json.dumps(run), flush=True)
                    if operation == "render" and "error" in result:
                        break  # no document to read
                Path(path).unlink(missing_ok=True)
    summary = {
        f"{r['operation']}.{r['syntax']}.{r['input_mb']:g}mb": r["mb_per_input_mb"]
        for r in runs
        if "mb_per_input_mb" in r
    }
    report = {
        "what": "peak resident memory added per MB of input (MB/MB), fresh process per run",
        "machine": {"python": platform.python_version(), "platform": platform.platform()},
        "measured_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        "ratios": summary,
        "runs": runs,
    }
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(report, indent=2) + "\n")
    print(f"wrote {out}")


if __name__ == "__main__":
    main()
