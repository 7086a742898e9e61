"""Run the fuzz harnesses for a bounded time: ``python tests/fuzz/run.py --execs N --seconds S``.

Each target of :mod:`fuzz.targets` runs in its own process under atheris (libFuzzer, coverage-
guided over the gateway's own modules), its corpus seeded from :mod:`fuzz.seeds`, until it has
executed ``--execs`` inputs or used ``--seconds``, whichever comes first; ``--jobs`` processes run
at once. An escape (any exception a target does not allow, or an input slower than
``--timeout`` seconds) stops that target and leaves the input in ``var/fuzz/crashes/``: keep it
as a regression case under ``tests/fuzz/crashes/<target>/`` (tests/test_parsers_robust.py
replays every file there). Prints one line per target and a Markdown table; exits 1 on any
escape, 2 when atheris is not installed (``pip install -e '.[fuzz]'``).
"""

from __future__ import annotations

import argparse
import re
import shutil
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parents[1]
for _path in (str(ROOT), str(ROOT / "tests")):
    if _path not in sys.path:
        sys.path.insert(0, _path)

VAR = ROOT / "var" / "fuzz"
_STAT = re.compile(r"stat::(\w+):\s*(\d+)")
_KINDS = ("crash", "timeout", "oom", "leak")
# Slowest first, so that the two workers finish together (measured exec/s, low to high).
_ORDER = (
    "inbound",
    "edifact",
    "cxml-post",
    "as2-mdn",
    "http-answer",
    "as2-message",
    "ubl",
    "cii",
    "aperak",
    "contrl",
    "cxml",
    "cxml-status",
    "portal-status",
    "detect",
)


@dataclass(frozen=True)
class Outcome:
    """One target's bounded run."""

    name: str
    execs: int
    seconds: float
    escapes: int
    log: Path

    @property
    def rate(self) -> float:
        """Executions per second."""
        return self.execs / self.seconds if self.seconds else 0.0


def _child(name: str, argv: list[str]) -> None:
    """Fuzz ``name`` in this process (called as ``run.py --child NAME libFuzzer-args...``)."""
    import atheris

    with atheris.instrument_imports(include=["gateway", "mappings", "connectors"]):
        from fuzz.targets import TARGETS
    target = TARGETS[name]
    target.run(b"")  # build the caches (AS2 identities, clients) before counting begins
    atheris.Setup([sys.argv[0], *argv], target.run)
    atheris.Fuzz()


def _corpus(name: str) -> Path:
    from fuzz.seeds import seeds
    from fuzz.targets import TARGETS

    folder = VAR / "corpus" / name
    if folder.exists():
        shutil.rmtree(folder)
    folder.mkdir(parents=True)
    for k, data in enumerate(seeds(TARGETS[name].seeds)):
        (folder / f"seed-{k:03d}").write_bytes(data)
    return folder


def _escapes(crashes: Path, name: str) -> set[Path]:
    """The inputs libFuzzer kept for ``name``: crashes (an escaped exception), timeouts, OOMs."""
    return {p for kind in _KINDS for p in crashes.glob(f"{name}-{kind}-*")}


def _run(name: str, execs: int, seconds: int, timeout: int) -> Outcome:
    corpus = _corpus(name)
    crashes = VAR / "crashes"
    crashes.mkdir(parents=True, exist_ok=True)
    before = _escapes(crashes, name)
    log = VAR / f"{name}.log"
    args = [
        str(corpus),
        f"-runs={execs}",
        f"-max_total_time={seconds}",
        f"-timeout={timeout}",
        "-rss_limit_mb=3072",
        "-max_len=65536",
        "-print_final_stats=1",
        f"-dict={HERE / 'parsers.dict'}",
        f"-artifact_prefix={crashes}/{name}-",
    ]
    start = time.monotonic()
    with log.open("wb") as out:
        subprocess.run(
            [sys.executable, str(Path(__file__)), "--child", name, *args],
            stdout=out,
            stderr=subprocess.STDOUT,
            check=False,
            cwd=ROOT,
        )
    elapsed = time.monotonic() - start
    stats = {k: int(v) for k, v in _STAT.findall(log.read_text("utf-8", "replace"))}
    escapes = len(_escapes(crashes, name) - before)
    return Outcome(name, stats.get("number_of_executed_units", 0), elapsed, escapes, log)


def main(argv: list[str] | None = None) -> int:
    """Run the harnesses; see the module docstring."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--execs", type=int, default=100_000, help="inputs per target")
    parser.add_argument("--seconds", type=int, default=90, help="time limit per target")
    parser.add_argument("--timeout", type=int, default=20, help="seconds one input may take")
    parser.add_argument("--jobs", type=int, default=2, help="targets fuzzed at once")
    parser.add_argument("--only", nargs="*", help="target names (default: all)")
    parser.add_argument("--child", help=argparse.SUPPRESS)
    known, rest = parser.parse_known_args(argv)
    if known.child:
        _child(known.child, rest)
        return 0
    try:
        import atheris  # noqa: F401
    except ImportError:
        print("atheris is not installed: pip install -e '.[fuzz]'", file=sys.stderr)
        return 2
    from fuzz.targets import TARGETS

    names = known.only or sorted(TARGETS, key=lambda n: _ORDER.index(n) if n in _ORDER else 0)
    unknown = [n for n in names if n not in TARGETS]
    if unknown:
        print(f"unknown target(s) {unknown}; known: {', '.join(TARGETS)}", file=sys.stderr)
        return 2
    with ThreadPoolExecutor(max_workers=max(1, known.jobs)) as pool:
        futures = [pool.submit(_run, n, known.execs, known.seconds, known.timeout) for n in names]
        outcomes = []
        for future in futures:
            outcome = future.result()
            outcomes.append(outcome)
            print(
                f"fuzz {outcome.name}: {outcome.execs} execs in {outcome.seconds:.0f} s "
                f"({outcome.rate:.0f}/s), {outcome.escapes} escape(s)"
                + (f" - see {outcome.log}" if outcome.escapes else ""),
                flush=True,
            )
    print("\n| harness | executions | seconds | exec/s | escapes |")
    print("|---|---:|---:|---:|---:|")
    for o in outcomes:
        print(f"| {o.name} | {o.execs:,} | {o.seconds:.0f} | {o.rate:,.0f} | {o.escapes} |")
    total = sum(o.escapes for o in outcomes)
    short = [o.name for o in outcomes if o.execs < known.execs and not o.escapes]
    print(
        f"\n{len(outcomes)} harnesses, {sum(o.execs for o in outcomes):,} executions, "
        f"{total} escape(s)"
        + (f"; below {known.execs:,} executions in time: {', '.join(short)}" if short else "")
    )
    return 1 if total or any(o.execs == 0 for o in outcomes) else 0


if __name__ == "__main__":
    sys.exit(main())
