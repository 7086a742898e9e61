"""CII output judged by the independent checker (../shared/conformance/validate.py).

Every official CII sample is parsed and re-rendered (XRechnung samples with ``xrechnung-cii``,
EN 16931 samples with ``cii`` and ``facturx-en16931``), every mapping case is rendered with every
CII mapping, and validate.py runs once per rule set over the files with ``--json``.
"""

from __future__ import annotations

import json
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from builders import simple_invoice
from test_cii_cases import CASES

from mappings.cii.formats import FacturXEn16931, GenericCii, XRechnungCii

pytestmark = pytest.mark.shared

RULE_SETS = {
    "cii": "en16931",
    "xrechnung-cii": "en16931,xrechnung",
    "facturx-en16931": "en16931,facturx",
}


@dataclass(frozen=True)
class Judged:
    """validate.py's JSON verdicts by file name, plus the names written per mapping."""

    written: dict[str, list[str]]
    results: dict[str, dict[str, Any]]


def _samples(conformance: Path) -> list[Path]:
    return sorted((conformance / "samples" / "cii").rglob("*.xml"))


@pytest.fixture(scope="module")
def judged(conformance: Path, tmp_path_factory: pytest.TempPathFactory) -> Judged:
    """Render everything into one folder per mapping and run validate.py once per folder."""
    root = tmp_path_factory.mktemp("cii-conformance")
    mappings = {
        "cii": GenericCii(),
        "xrechnung-cii": XRechnungCii(),
        "facturx-en16931": FacturXEn16931(),
    }
    written: dict[str, list[str]] = {name: [] for name in mappings}

    def write(mapping_name: str, stem: str, content: bytes) -> None:
        folder = root / mapping_name
        folder.mkdir(exist_ok=True)
        (folder / f"{stem}.xml").write_bytes(content)
        written[mapping_name].append(f"{stem}.xml")

    generic = mappings["cii"]
    for sample in _samples(conformance):
        invoice = generic.parse(sample.read_bytes())
        if sample.parent.name == "xrechnung":
            write(
                "xrechnung-cii",
                f"sample-{sample.stem}",
                mappings["xrechnung-cii"].render(invoice).content,
            )
        else:
            write("cii", f"sample-{sample.stem}", generic.render(invoice).content)
            write(
                "facturx-en16931",
                f"sample-{sample.stem}",
                mappings["facturx-en16931"].render(invoice).content,
            )
    # The bare builder lacks the seller contact XRechnung requires (BR-DE-2): EN 16931 and Factur-X.
    for name in ("cii", "facturx-en16931"):
        write(name, "builder-simple_invoice", mappings[name].render(simple_invoice()).content)
    for case, build in CASES.items():
        for name, mapping in mappings.items():
            write(name, f"case-{case}", mapping.render(build()).content)

    results: dict[str, dict[str, Any]] = {}
    for name in mappings:
        proc = subprocess.run(
            [
                sys.executable,
                str(conformance / "validate.py"),
                str(root / name),
                "--format",
                "cii",
                "--rules",
                RULE_SETS[name],
                "--json",
            ],
            capture_output=True,
            text=True,
            check=False,
            timeout=600,
        )
        report = json.loads(proc.stdout)
        for entry in report["files"]:
            results[f"{name}/{Path(entry['file']).name}"] = entry
    return Judged(written, results)


def _fatal(entry: dict[str, Any]) -> list[str]:
    return [
        f"{f['id']} @ {f['location']}: {f['text']}"
        for f in entry["findings"]
        if f["flag"] == "fatal"
    ]


def test_every_sample_and_case_was_judged(judged: Judged, conformance: Path) -> None:
    """validate.py reported on every file written (no sample silently skipped)."""
    expected = {f"{m}/{f}" for m, files in judged.written.items() for f in files}
    assert expected == set(judged.results)
    samples = _samples(conformance)
    assert samples, "no official CII samples found"
    assert sum(1 for key in expected if "/sample-" in key) == len(samples) + sum(
        1 for s in samples if s.parent.name != "xrechnung"
    )


@pytest.mark.parametrize("mapping_name", list(RULE_SETS))
def test_rendered_documents_have_no_fatal_finding(judged: Judged, mapping_name: str) -> None:
    """Re-rendered samples and mapping cases pass the mapping's official rule set."""
    failures = {
        key: _fatal(entry)
        for key, entry in judged.results.items()
        if key.startswith(f"{mapping_name}/") and not entry["passed"]
    }
    assert failures == {}


def test_checker_ran_the_requested_rules(judged: Judged) -> None:
    """The checker applied exactly the rules asked for (a wrong id cannot switch rules off)."""
    for key, entry in judged.results.items():
        mapping_name = key.split("/", 1)[0]
        assert entry["format"] == "cii"
        assert sorted(entry["rules"]) == sorted(RULE_SETS[mapping_name].split(","))
