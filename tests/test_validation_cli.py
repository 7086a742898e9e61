"""Terminal and JSON formatting of validation reports (gateway.validation.cli_support)."""

from __future__ import annotations

import json

from gateway.errors import Problem
from gateway.validation import ValidationReport
from gateway.validation.cli_support import exit_code, format_json, format_text, short_location

LOCATION = (
    "/*:Invoice[namespace-uri()='urn:oasis:names:specification:ubl:schema:xsd:Invoice-2'][1]"
    "/*:LegalMonetaryTotal[namespace-uri()='urn:oasis:names:specification:ubl:schema:xsd:"
    "CommonAggregateComponents-2'][1]"
)


def failed_report() -> ValidationReport:
    return ValidationReport(
        name="out/INV-1.xml",
        record="INV-1",
        syntax="ubl",
        rules=("en16931", "peppol"),
        findings=[
            Problem(
                "INV-1", LOCATION, "BT-112", None, "BR-CO-15", "[BR-CO-15]-Total ...", "", "fatal"
            ),
            Problem(
                "INV-1", "/x", None, None, "PEPPOL-EN16931-R002", "One note only", "", "warning"
            ),
        ],
        notes=["rule set 'facturx' does not apply to ubl; skipped"],
        seconds=0.012,
    )


def passed_report() -> ValidationReport:
    return ValidationReport(name="out/INV-2.xml", record="INV-2", syntax="cii", rules=("en16931",))


def test_short_location_drops_namespace_tests() -> None:
    """SVRL locations are shown without namespace-uri() predicates and '*:' prefixes."""
    assert short_location(LOCATION) == "/Invoice[1]/LegalMonetaryTotal[1]"
    assert short_location("line 12") == "line 12"


def test_text_lists_each_failed_assertion_with_rule_location_text_and_bt() -> None:
    """The text report has a FAIL/PASS line per document, each finding, notes and a summary."""
    text = format_text([failed_report(), passed_report()])
    lines = text.splitlines()
    assert lines[0] == "FAIL out/INV-1.xml (invoice INV-1) [ubl; en16931,peppol] (12 ms)"
    assert lines[1] == (
        "  [fatal] BR-CO-15 BT-112 @ /Invoice[1]/LegalMonetaryTotal[1] : [BR-CO-15]-Total ..."
    )
    assert lines[2] == "  [warning] PEPPOL-EN16931-R002 @ /x : One note only"
    assert lines[3] == "  note: rule set 'facturx' does not apply to ubl; skipped"
    assert lines[4].startswith("PASS out/INV-2.xml (invoice INV-2) [cii; en16931]")
    assert lines[-1] == "1 passed, 1 failed"


def test_text_fatal_only_hides_warnings_and_notes() -> None:
    """fatal_only keeps the fatal findings and drops warnings and notes."""
    text = format_text([failed_report()], fatal_only=True)
    assert "BR-CO-15" in text and "R002" not in text and "note:" not in text


def test_json_holds_every_report_and_counts() -> None:
    """The JSON output has each report's as_dict() and the pass/fail counts."""
    data = json.loads(format_json([failed_report(), passed_report()]))
    assert (data["passed"], data["failed"]) == (1, 1)
    first = data["reports"][0]
    assert first["passed"] is False and first["record"] == "INV-1"
    assert first["findings"][0] == {
        "record": "INV-1",
        "path": LOCATION,
        "bt": "BT-112",
        "value": None,
        "rule": "BR-CO-15",
        "message": "[BR-CO-15]-Total ...",
        "accepted": "",
        "flag": "fatal",
    }


def test_exit_code_is_zero_only_when_all_passed() -> None:
    """exit_code is 0 when every report passed, else 1 (a warning alone does not fail)."""
    assert exit_code([passed_report()]) == 0
    assert exit_code([passed_report(), failed_report()]) == 1
    assert exit_code([]) == 0
