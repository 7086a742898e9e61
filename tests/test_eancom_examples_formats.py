"""examples/eancom through the CLI as a user runs it: EANCOM in, Peppol/XRechnung/Factur-X out.

The seven interchanges (nine INVOICs written as other implementations write them) with the
seller files and buyer profiles beside them (examples/eancom/sellers, examples/eancom/buyers)
translate into Peppol BIS 3, XRechnung UBL and CII and Factur-X, and the independent checker
(../shared/conformance/validate.py, explicit rule sets) finds zero fatal in every document.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from shared_dir import shared_path

pytestmark = pytest.mark.shared

ROOT = Path(__file__).resolve().parent.parent
EXAMPLES = ROOT / "examples" / "eancom"
FORMATS = {
    "peppol-bis3": ("ubl", "en16931,peppol"),
    "xrechnung-ubl": ("ubl", "en16931,xrechnung"),
    "xrechnung-cii": ("cii", "en16931,xrechnung"),
    "facturx-en16931": ("cii", "en16931,facturx"),
}
MESSAGES = 9


def _igw(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "gateway.cli.main", *args],
        cwd=ROOT, capture_output=True, text=True, timeout=600, check=False,
    )


def test_examples_translate_to_four_formats_and_pass_validate_py(tmp_path: Path) -> None:
    """Every INVOIC of examples/eancom, filled from its master data, passes validate.py in all
    four formats with zero fatal findings."""
    conformance = shared_path("conformance")
    out = tmp_path / "out"
    run = _igw(
        "translate", *sorted(str(p) for p in EXAMPLES.glob("*.edi")),
        "--to", ",".join(FORMATS), "--out", str(out),
        "--sellers", str(EXAMPLES / "sellers"), "--profiles", str(EXAMPLES / "buyers"),
    )
    assert run.returncode == 0, run.stdout + run.stderr
    failures: list[str] = []
    for name, (syntax, rules) in FORMATS.items():
        files = sorted((out / name).glob("*.xml"))
        assert len(files) == MESSAGES, name
        checked = subprocess.run(
            [sys.executable, str(conformance / "validate.py"), str(out / name),
             "--format", syntax, "--rules", rules, "--json"],
            capture_output=True, text=True, timeout=900, check=False,
        )
        report = json.loads(checked.stdout)
        assert len(report["files"]) == MESSAGES
        for file in report["files"]:
            fatal = sorted({f["id"] for f in file["findings"] if f["flag"] == "fatal"})
            if fatal:
                failures.append(f"{name} {Path(file['file']).name}: {fatal}")
    assert failures == []


def test_without_master_data_the_same_examples_are_refused(tmp_path: Path) -> None:
    """Without the seller files and buyer profiles the Peppol translation is refused for the
    missing endpoints (BT-34, BT-49): the master data is what makes the documents valid."""
    empty = tmp_path / "none"
    empty.mkdir()
    run = _igw(
        "translate", str(EXAMPLES / "01-unoa-no-una-pieces.edi"), "--to", "peppol-bis3",
        "--out", str(tmp_path / "out"), "--sellers", str(empty),
    )
    assert run.returncode == 1
    assert "PEPPOL-EN16931-R020" in run.stdout + run.stderr  # BT-34 seller electronic address
    assert "PEPPOL-EN16931-R010" in run.stdout + run.stderr  # BT-49 buyer electronic address


def test_parse_with_sellers_names_the_filled_terms() -> None:
    """igw parse --sellers shows the filled seller endpoint and says it came from master data."""
    run = _igw(
        "parse", str(EXAMPLES / "06-sap-idoc-style.edi"), "--sellers", str(EXAMPLES / "sellers")
    )
    assert run.returncode == 0, run.stderr
    invoice = json.loads(run.stdout)
    assert invoice["seller"]["electronic_address"] == {"scheme": "9930", "value": "DE811907980"}
    filled = {(t["bt"], t["source"]) for t in invoice["provenance"]}
    assert ("BT-34", "master-data") in filled
    assert ("BT-41", "master-data") in filled
