"""validate_edifact: envelope errors and INVOIC D.96A structure as Problems with rule ids."""

from __future__ import annotations

import datetime as dt
import json
import subprocess
import sys
from pathlib import Path

import pytest
from builders import simple_invoice
from shared_dir import shared_path

from gateway.envelope import Envelope
from gateway.intake import read_records
from gateway.profiles.profile import BuyerProfile
from gateway.validation.edifact import validate_edifact
from mappings.edifact.invoic import EancomD96A

ROOT = Path(__file__).resolve().parent.parent
PROFILE = BuyerProfile(options={"sender_id": "4012345000016", "recipient_id": "4006381333931"})
ENVELOPE = Envelope("IC9", dt.datetime(2026, 11, 24, 9, 0))
GOOD = EancomD96A().render(simple_invoice(lines=1), PROFILE, ENVELOPE).content


def _rules(data: bytes) -> list[tuple[str, str]]:
    return [(p.rule, p.path) for p in validate_edifact(data, "x.edi").fatal]


def test_rendered_invoice_passes() -> None:
    """A rendered INVOIC has no finding; record is its BGM number; structure was checked."""
    report = validate_edifact(GOOD, "inv.edi")
    assert report.passed and report.findings == []
    assert report.record == "INV-1"
    assert report.syntax == "edifact"
    assert report.rules == ("edifact-syntax", "structure:INVOIC-D96A")


@pytest.mark.parametrize(
    ("old", "new", "rule", "path"),
    [
        (b"UNT+30+1", b"UNT+29+1", "EDI-UNT", "segment 31 UNT element 1"),
        (b"UNZ+1+IC9", b"UNZ+2+IC9", "EDI-UNZ", "segment 32 UNZ element 1"),
        (b"UNZ+1+IC9", b"UNZ+1+IC8", "EDI-UNZ", "segment 32 UNZ element 2"),
        (b"INV-1", b"INV?-1", "EDI-RELEASE", "segment 3 BGM element 2 component 1"),
        (b"UNB+", b"UNA::.? 'UNB+", "EDI-UNA", "segment 0 UNA"),
        (b"BGM+380+INV-1+9'", b"", "EDI-STRUCT", "segment 3 DTM"),
        (b"MOA+203:10.00'", b"MOA+203:10.00'PRI+AAA:1'PRI+AAA:1'" * 13, "EDI-STRUCT", ""),
        (b"CUX+2:EUR:4'", b"CUX+2:EUR:4'BGM+380+X'", "EDI-STRUCT", "segment 13 BGM"),
        (b"PAT+1'", b"PAT'", "EDI-MANDATORY", "segment 13 PAT element 1"),
        (b"PAT+1'", b"PAT+1+1+2+3+4'", "EDI-ELEMENTS", "segment 13 PAT element 4"),
    ],
    ids=[
        "unt",
        "unz-count",
        "unz-ref",
        "release",
        "una",
        "no-bgm",
        "too-many-pri",
        "misplaced-bgm",
        "empty-mandatory",
        "too-many-elements",
    ],
)
def test_faults_become_problems(old: bytes, new: bytes, rule: str, path: str) -> None:
    """Each fault is a fatal Problem with the checker's rule id at its segment position."""
    assert old in GOOD
    data = GOOD.replace(old, new, 1)
    found = _rules(data)
    assert any(r == rule and (not path or p == path) for r, p in found), found


def test_problem_carries_code_and_record() -> None:
    """The Problem value is the 0085 syntax error code; the record the invoice number."""
    report = validate_edifact(GOOD.replace(b"UNZ+1+IC9", b"UNZ+2+IC9"), "f.edi")
    problem = report.fatal[0]
    assert (problem.record, problem.value, problem.rule) == ("INV-1", 29, "EDI-UNZ")


def test_other_message_types_are_noted_not_failed() -> None:
    """A message type without a known structure is noted, not failed."""
    report = validate_edifact(GOOD.replace(b"INVOIC:D:96A", b"ORDERS:D:96A"), "o.edi")
    assert report.passed
    assert any("ORDERS" in note for note in report.notes)


def test_garbage_never_raises() -> None:
    """Bytes that are no interchange give findings, not an exception."""
    report = validate_edifact(b"\x00\x01 not edifact", "junk")
    assert not report.passed


@pytest.mark.parametrize(
    "name",
    [
        "bots-dutchic-invoic1.edi",
        "bots-invoic01.edi",
        "bots-invoic1-una.edi",
        "bots-invoic3-una.edi",
    ],
)
def test_field_samples_pass(name: str) -> None:
    """The EANCOM samples the independent checker accepts pass here too."""
    data = shared_path("conformance", "samples", "edifact", "eancom-d96a", name).read_bytes()
    assert validate_edifact(data, name).passed


@pytest.mark.parametrize(
    ("old", "new", "rule", "path"),
    [
        (
            b"RFF+CR:04011000-12345-34",
            b"RFF+CR:" + b"X" * 36,
            "EDI-LENGTH",
            "segment 6 RFF element 1 component 2",
        ),
        (b"QTY+47:1:C62", b"QTY+47:one:C62", "EDI-NUMERIC", "segment 17 QTY element 1 component 2"),
        (
            b"CUX+2:EUR:4",
            b"CUX+2:EUR:4:1:2",
            "EDI-COMPONENTS",
            "segment 12 CUX element 1 component 5",
        ),
        (
            b"DTM+137:20261102:102",
            b"DTM+:20261102:102",
            "EDI-MANDATORY",
            "segment 4 DTM element 1 component 1",
        ),
        (b"PAT+1'", b"XYZ+1'", "EDI-SEGMENT", "segment 13 XYZ"),
    ],
    ids=["length", "numeric", "components", "mandatory-component", "unknown-segment"],
)
def test_directory_faults(old: bytes, new: bytes, rule: str, path: str) -> None:
    """Segment directory checks: lengths, numbers, component counts, mandatory, unknown tags."""
    assert old in GOOD
    assert (rule, path) in _rules(GOOD.replace(old, new, 1))


def test_other_decimal_mark_is_a_warning() -> None:
    """A ',' in a numeric element under UNA '.' is a warning (EDI-DECIMAL), not fatal."""
    report = validate_edifact(GOOD.replace(b"MOA+203:10.00", b"MOA+203:10,00"), "d.edi")
    assert report.passed
    assert [w.rule for w in report.warnings] == ["EDI-DECIMAL"]


def test_agrees_with_the_independent_checker_on_shared_files(tmp_path: Path) -> None:
    """Pass/fail of validate_edifact equals the checker's on every shared EDIFACT file."""
    validate = shared_path("conformance", "validate.py")
    folders = [shared_path("conformance", "samples", "edifact"), shared_path("interop", "edifact")]
    proc = subprocess.run(
        [sys.executable, str(validate), *map(str, folders), "--format", "edifact", "--json"],
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    files = json.loads(proc.stdout)["files"]
    assert len(files) >= 10
    verdicts = {
        f["file"]: (f["passed"], validate_edifact(Path(f["file"]).read_bytes(), f["file"]).passed)
        for f in files
    }
    assert {k: v for k, v in verdicts.items() if v[0] != v[1]} == {}
    assert {v[0] for v in verdicts.values()} == {True, False}


def test_every_example_rendering_passes() -> None:
    """Every example rendered to EANCOM has no finding at all."""
    for source in ("erp-export.json", "large-1000-lines.json"):
        for result in read_records(ROOT / "examples" / source):
            assert result.invoice is not None
            content = EancomD96A().render(result.invoice, PROFILE, ENVELOPE).content
            report = validate_edifact(content, result.record)
            assert report.findings == [], report.findings[:3]
