"""Terminal and JSON output of ValidationReports, for ``igw validate``.

``igw validate`` calls ``validate()`` per file, then prints ``format_text(reports)`` (or
``format_json(reports)`` with ``--json``) and exits with ``exit_code(reports)``.
"""

from __future__ import annotations

import json
import re
from collections.abc import Sequence

from gateway.display import show
from gateway.errors import Problem
from gateway.validation.report import ValidationReport

_NAMESPACE_TEST = re.compile(r"\[namespace-uri\(\)='[^']*'\]")


def short_location(location: str) -> str:
    """An SVRL XPath without namespace tests, for people.

    ``/*:Invoice[namespace-uri()='urn:...Invoice-2'][1]/*:ID[namespace-uri()='...'][1]``
    -> ``/Invoice[1]/ID[1]``; anything else is returned unchanged.
    """
    return _NAMESPACE_TEST.sub("", location).replace("*:", "")


def format_finding(problem: Problem) -> str:
    """One finding on one line: flag, rule id, BT id, location (= value found there), text."""
    bt = f" {problem.bt}" if problem.bt else ""
    value = f" = {show(problem.value)}" if problem.value is not None else ""
    return (
        f"  [{problem.flag}] {problem.rule}{bt} @ {short_location(problem.path)}{value} : "
        f"{problem.message}"
    )


def format_text(reports: Sequence[ValidationReport], *, fatal_only: bool = False) -> str:
    """A terminal report: per document a PASS/FAIL line, its findings and notes, then a summary.

    The PASS/FAIL line names the syntax, the rule sets run and the scenario the document's
    specification identifier matched (``[ubl; en16931,peppol; scenario peppol-bis3]``).

    ``fatal_only`` leaves out warnings and notes. The last line is ``N passed, M failed``.
    """
    lines: list[str] = []
    for report in reports:
        status = "PASS" if report.passed else "FAIL"
        label = report.name or report.record
        record = f" (invoice {report.record})" if report.record and report.record != label else ""
        rules = ",".join(report.rules) or ("xsd only" if report.scenario else "not checked")
        lines.append(
            f"{status} {label}{record} [{report.syntax or '?'}; {rules}{_scenario(report)}] "
            f"({report.seconds * 1000:.0f} ms)"
        )
        for problem in report.findings:
            if fatal_only and problem.flag != "fatal":
                continue
            lines.append(format_finding(problem))
        if not fatal_only:
            lines.extend(f"  note: {note}" for note in report.notes)
    passed = sum(r.passed for r in reports)
    lines.append(f"{passed} passed, {len(reports) - passed} failed")
    return "\n".join(lines) + "\n"


def _scenario(report: ValidationReport) -> str:
    """``; scenario NAME`` (rules from it) or ``; rules given, scenario NAME``; empty if none."""
    if not report.scenario:
        return ""
    if report.rules_from == "caller":
        return f"; rules given, document scenario {report.scenario}"
    return f"; scenario {report.scenario}"


def format_json(reports: Sequence[ValidationReport]) -> str:
    """A JSON document: ``{"reports": [report.as_dict()...], "passed": n, "failed": m}``."""
    passed = sum(r.passed for r in reports)
    payload = {
        "reports": [r.as_dict() for r in reports],
        "passed": passed,
        "failed": len(reports) - passed,
    }
    return json.dumps(payload, indent=1, ensure_ascii=False) + "\n"


def exit_code(reports: Sequence[ValidationReport]) -> int:
    """0 when every document passed, 1 otherwise."""
    return 0 if all(r.passed for r in reports) else 1
