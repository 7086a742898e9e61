"""Differential test: the in-process rules (gateway.rules.check) against the official artefacts.

Generated ERP records (:mod:`test_differential_generator`: blank strings, control characters,
empty groups, far dates, lower-case codes, the seller copied as payee ...) go the way a user's
records go: ``gateway.intake`` reads them, then for every format pair the in-process rules judge
the Invoice and the mapping renders it, and the official XSD + schematron
(:func:`gateway.validation.validate` with explicit rule sets) judge the document.

Per format pair it counts variants, pass/fail agreement, false accepts (in process passes,
official rejects), false rejects, and among the official rejects those whose fatal rule-id
sets are equal. A record intake refuses (a character XML cannot carry, a blank mandatory
text) or a mapping refuses is counted apart: the gateway never lets it through, so it can be
no false accept. The figures are printed and written to ``var/differential.json``; every
disagreement is printed as a case ready for ``tests/test_differential_cases.py``.

Fails on any false accept, agreement below 99.9 % or rule-id equality below 99 %. The count is
``IGW_DIFF_VARIANTS`` compared variants per pair, default 1,000 (10,000 under ``CI=true``);
variants are generated until every pair has that many, refusals come on top. Both cores are used
(each worker compiles the XSLTs once; nothing is cached across runs). ``IGW_DIFF_SEED`` picks
another deterministic sequence.
"""

from __future__ import annotations

import json
import multiprocessing
import os
import time
from collections.abc import Iterable
from dataclasses import asdict, dataclass, field, replace

import pytest
from shared_dir import IN_CI, ROOT
from test_differential_generator import SEED, Edit, apply, base, variant

from gateway.errors import Problem

pytestmark = [pytest.mark.slow]

# format pair -> (in-process rule sets, official rule sets, syntax)
TARGETS: dict[str, tuple[tuple[str, ...], tuple[str, ...], str]] = {
    "peppol-bis3": (("en16931", "peppol"), ("en16931", "peppol"), "ubl"),
    "xrechnung-ubl": (("en16931", "xrechnung"), ("en16931", "xrechnung"), "ubl"),
    "xrechnung-cii": (("en16931", "xrechnung"), ("en16931", "xrechnung"), "cii"),
    # Factur-X EN 16931: the CEN rules; officially the Factur-X XSD runs as well.
    "facturx-en16931": (("en16931",), ("en16931", "facturx"), "cii"),
}
VARIANTS = int(os.environ.get("IGW_DIFF_VARIANTS", "10000" if IN_CI else "1000"))
DIFF_SEED = os.environ.get("IGW_DIFF_SEED", SEED)
RESULTS = ROOT / "var" / "differential.json"
MIN_AGREEMENT = 99.9
MIN_RULE_IDS_EQUAL = 99.0


@dataclass(frozen=True)
class Outcome:
    """One variant judged for one format pair (``status``: compared, intake or mapping)."""

    n: int
    target: str
    status: str
    ours: tuple[str, ...] = ()
    official: tuple[str, ...] = ()


def judge(record: dict[str, object], target: str) -> Outcome:
    """The fatal rule ids of ``record`` in process and officially for ``target``.

    A record refused at intake or by the mapping is an Outcome with that status and the ids of
    the problems that refused it (in ``ours``).
    """
    from gateway.errors import InvoiceRejected
    from gateway.intake import read_records
    from gateway.profiles.profile import BuyerProfile
    from gateway.registry import resolve_mapping
    from gateway.rules import check
    from gateway.validation import validate

    result = next(iter(read_records(json.dumps(record).encode("utf-8"), "json")))
    if result.invoice is None:
        return Outcome(-1, target, "intake", _ids(result.problems))
    ours_rules, official_rules, syntax = TARGETS[target]
    ours = _ids(p for p in check(result.invoice, ours_rules, syntax=syntax) if p.flag == "fatal")
    try:
        document = resolve_mapping(target).render(result.invoice, BuyerProfile(format=target))
    except InvoiceRejected as exc:
        return Outcome(-1, target, "mapping", _ids(exc.problems))
    report = validate(document, official_rules)
    official = _ids(p for p in report.findings if p.flag == "fatal")
    return Outcome(-1, target, "compared", ours, official)


def _ids(problems: Iterable[Problem]) -> tuple[str, ...]:
    return tuple(sorted({p.rule for p in problems}))


def evaluate(n: int, seed: str = DIFF_SEED) -> list[Outcome]:
    """Variant ``n`` judged for every format pair."""
    name, _, edits = variant(n, seed)
    record = apply(base(name), edits)
    found: list[Outcome] = []
    for target in TARGETS:
        outcome = replace(judge(record, target), n=n)
        if outcome.status == "intake":  # the same for every pair
            return [replace(outcome, target=t) for t in TARGETS]
        found.append(outcome)
    return found


def _chunk(bounds: tuple[int, int]) -> list[Outcome]:
    return [o for n in range(*bounds) for o in evaluate(n)]


def _warm_up() -> None:
    from gateway.validation import warm_up

    warm_up(("en16931", "peppol", "xrechnung", "facturx"))


def run(count: int, processes: int = 2, chunk: int = 25) -> list[Outcome]:
    """Variants judged until every pair has ``count`` compared ones (refusals come on top).

    The work runs in ``processes`` fresh processes (spawned: nothing is shared with this one or
    kept from an earlier run); each compiles the XSLTs once.
    """
    context = multiprocessing.get_context("spawn")
    outcomes: list[Outcome] = []
    start, wanted = 0, count
    with context.Pool(processes, initializer=_warm_up) as pool:
        while wanted > 0:
            # Refused records (about a tenth) are not compared: ask for that much more.
            end = start + wanted + wanted // 8 + 1
            bounds = [(n, min(end, n + chunk)) for n in range(start, end, chunk)]
            outcomes += [o for part in pool.imap_unordered(_chunk, bounds) for o in part]
            start = end
            wanted = count - min(
                sum(o.status == "compared" for o in outcomes if o.target == t) for t in TARGETS
            )
    return outcomes


@dataclass
class Figures:
    """The figures of one format pair."""

    target: str
    variants: int = 0
    compared: int = 0
    refused_at_intake: int = 0
    refused_by_mapping: int = 0
    agreement_percent: float = 0.0
    false_accepts: int = 0
    false_rejects: int = 0
    official_rejects: int = 0
    rule_ids_equal: int = 0
    rule_ids_equal_percent: float = 0.0
    disagreements: list[dict[str, object]] = field(default_factory=list)


def figures(outcomes: list[Outcome], target: str) -> Figures:
    """Agreement figures of ``target`` over ``outcomes``."""
    mine = [o for o in outcomes if o.target == target]
    result = Figures(target, variants=len(mine))
    compared = [o for o in mine if o.status == "compared"]
    result.compared = len(compared)
    result.refused_at_intake = sum(o.status == "intake" for o in mine)
    result.refused_by_mapping = sum(o.status == "mapping" for o in mine)
    agree = sum(bool(o.ours) == bool(o.official) for o in compared)
    result.agreement_percent = round(100 * agree / max(1, len(compared)), 3)
    result.false_accepts = sum(bool(o.official) and not o.ours for o in compared)
    result.false_rejects = sum(bool(o.ours) and not o.official for o in compared)
    rejects = [o for o in compared if o.official]
    result.official_rejects = len(rejects)
    result.rule_ids_equal = sum(o.ours == o.official for o in rejects)
    result.rule_ids_equal_percent = round(100 * result.rule_ids_equal / max(1, len(rejects)), 3)
    for o in sorted(compared, key=lambda o: o.n):
        if o.ours != o.official:
            name, kinds, edits = variant(o.n, DIFF_SEED)
            result.disagreements.append(
                {
                    "variant": o.n,
                    "base": name,
                    "kinds": kinds,
                    "edits": _printable(edits),
                    "ours": list(o.ours),
                    "official": list(o.official),
                }
            )
    return result


def _printable(edits: list[Edit]) -> list[list[object]]:
    return [
        [path, repr(value) if not isinstance(value, str | dict | list) else value]
        for path, value in edits
    ]


def test_in_process_rules_agree_with_official_artefacts(
    capsys: pytest.CaptureFixture[str],
) -> None:
    """No false accept, ≥ 99.9 % pass/fail agreement, ≥ 99 % equal rule ids on rejects."""
    started = time.perf_counter()
    outcomes = run(VARIANTS)
    seconds = time.perf_counter() - started
    table = [figures(outcomes, target) for target in TARGETS]
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(
        json.dumps(
            {
                "seed": DIFF_SEED,
                "variants_per_pair": VARIANTS,
                "seconds": round(seconds, 1),
                "pairs": [asdict(f) for f in table],
            },
            indent=1,
            ensure_ascii=False,
        )
        + "\n",
        encoding="utf-8",
    )
    with capsys.disabled():
        print(
            f"\ndifferential ({VARIANTS} variants per pair, seed {DIFF_SEED!r}, "
            f"{seconds:.0f} s) -> {RESULTS.relative_to(ROOT)}"
        )
        print(
            f"  {'pair':16} {'variants':>8} {'compared':>8} {'intake':>6} {'agree %':>8} "
            f"{'f.acc':>5} {'f.rej':>5} {'rejects':>7} {'ids= %':>7}"
        )
        for f in table:
            print(
                f"  {f.target:16} {f.variants:8} {f.compared:8} {f.refused_at_intake:6} "
                f"{f.agreement_percent:8.3f} {f.false_accepts:5} {f.false_rejects:5} "
                f"{f.official_rejects:7} {f.rule_ids_equal_percent:7.2f}"
            )
        for f in table:
            for d in f.disagreements:
                print(
                    f"  DISAGREE {f.target} variant {d['variant']} {d['base']} {d['kinds']}\n"
                    f"    edits={d['edits']}\n    ours={d['ours']} official={d['official']}"
                )
    assert all(f.compared >= VARIANTS for f in table)
    failures = [
        f"{f.target}: {f.false_accepts} false accepts, agreement {f.agreement_percent} %, "
        f"rule ids equal {f.rule_ids_equal_percent} %"
        for f in table
        if f.false_accepts
        or f.agreement_percent < MIN_AGREEMENT
        or f.rule_ids_equal_percent < MIN_RULE_IDS_EQUAL
    ]
    assert not failures, "\n".join(failures)


def test_figures_count_false_accepts_and_equal_rule_ids() -> None:
    """The comparison counts a variant the official rejects and we pass as a false accept."""
    outcomes = [
        Outcome(0, "peppol-bis3", "compared", (), ("BR-52",)),
        Outcome(1, "peppol-bis3", "compared", ("BR-01",), ("BR-01",)),
        Outcome(2, "peppol-bis3", "intake", ("INPUT",)),
    ]
    f = figures(outcomes, "peppol-bis3")
    assert (f.false_accepts, f.compared, f.refused_at_intake, f.agreement_percent) == (
        1,
        2,
        1,
        50.0,
    )
    assert (f.official_rejects, f.rule_ids_equal) == (2, 1)
