"""examples/broken: every broken record gives exactly its expected problems; good ones pass."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from gateway.intake import RecordResult, read_records
from gateway.rules import check

BROKEN = Path(__file__).resolve().parent.parent / "examples" / "broken"
EXPECTED = json.loads((BROKEN / "expected.json").read_text(encoding="utf-8"))
RULE_SETS = tuple(EXPECTED["rule_sets"])


def checked(result: RecordResult) -> RecordResult:
    """Intake result plus the business-rule problems, as the CLI combines them."""
    if result.invoice is None:
        return result
    return result.with_problems(check(result.invoice, RULE_SETS, record=result.record))


def fatal_keys(result: RecordResult) -> set[tuple[str, str | None, str]]:
    """(rule, BT id, path) of every fatal problem of ``result``."""
    return {(p.rule, p.bt, p.path) for p in result.problems if p.flag == "fatal"}


@pytest.mark.parametrize("name", sorted(EXPECTED["files"]))
def test_broken_file_gives_the_expected_problems_per_record(name: str) -> None:
    """Each record of the file yields exactly the fatal problems listed in expected.json."""
    expected = EXPECTED["files"][name]
    results = [checked(r) for r in read_records(BROKEN / name)]
    assert [r.record for r in results] == list(expected)
    for result in results:
        want = {(e["rule"], e["bt"], e["path"]) for e in expected[result.record]}
        assert fatal_keys(result) == want, result.record
        assert result.accepted == (not want), result.record


@pytest.mark.parametrize("name", sorted(EXPECTED["files"]))
def test_broken_files_mix_good_records_that_still_come_out(name: str) -> None:
    """Good records between broken ones are accepted (a bad record never stops the batch)."""
    results = [checked(r) for r in read_records(BROKEN / name)]
    good = [r.record for r in results if r.accepted]
    bad = [r.record for r in results if not r.accepted]
    assert len(good) >= 2 and len(bad) >= 4


def test_expected_covers_format_and_business_rule_errors() -> None:
    """The sidecar exercises the errors the examples promise (format and rule ids)."""
    rules = {e["rule"] for f in EXPECTED["files"].values() for r in f.values() for e in r}
    assert {"INPUT", "BR-CO-15", "BR-CO-10", "PEPPOL-EN16931-R003", "BR-DE-15"} <= rules
    assert {"BR-S-02", "BR-CL-04", "BR-E-10", "BR-27", "BR-AE-02", "BR-O-02"} <= rules


def test_every_problem_names_record_and_what_is_accepted() -> None:
    """Each problem of a broken record says which record and what would be accepted."""
    for name in EXPECTED["files"]:
        for result in map(checked, read_records(BROKEN / name)):
            for problem in result.problems:
                assert problem.record == result.record
                assert problem.accepted, problem
