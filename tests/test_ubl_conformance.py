"""Official UBL samples and our golden cases, re-rendered, judged by the independent checker."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from test_ubl_golden import CASES

from gateway.registry import resolve_mapping

# Sample folder -> mapping whose rule set the sample itself was written for.
SAMPLE_MAPPING = {"en16931": "ubl", "peppol": "peppol-bis3", "xrechnung": "xrechnung-ubl"}


def _samples(conformance: Path) -> list[Path]:
    return sorted((conformance / "samples" / "ubl").glob("*/*.xml"))


@pytest.fixture(scope="module")
def checked(conformance: Path, tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """Render every sample and case into one folder per rule set; validate each folder once.

    validate.py takes one ``--rules`` list per call, so each rule set gets its own call with
    its explicit list (a wrong CustomizationID cannot switch rules off).
    """
    out = tmp_path_factory.mktemp("ubl-conformance")
    for sample in _samples(conformance):
        alias = SAMPLE_MAPPING[sample.parent.name]
        mapping = resolve_mapping(alias)
        rendered = mapping.render(mapping.parse(sample.read_bytes()))
        folder = out / alias
        folder.mkdir(exist_ok=True)
        (folder / f"sample-{sample.name}").write_bytes(rendered.content)
    for name, alias, build in CASES:
        folder = out / alias
        folder.mkdir(exist_ok=True)
        (folder / f"case-{name}.xml").write_bytes(resolve_mapping(alias).render(build()).content)
    results: dict[str, Any] = {}
    for alias in sorted(p.name for p in out.iterdir()):
        rules = ",".join(resolve_mapping(alias).rules)
        proc = subprocess.run(
            [
                sys.executable,
                str(conformance / "validate.py"),
                str(out / alias),
                "--json",
                "--rules",
                rules,
            ],
            capture_output=True,
            text=True,
            timeout=600,
            check=False,
        )
        assert proc.stdout, proc.stderr
        for entry in json.loads(proc.stdout)["files"]:
            results[f"{alias}/{Path(entry['file']).name}"] = entry
    return results


def _fatal(entry: dict[str, Any]) -> list[str]:
    return [
        f"{f['id']} @ {f['location']}: {f['text']}"
        for f in entry["findings"]
        if f["flag"] == "fatal"
    ]


def test_every_official_sample_rerenders_valid(conformance: Path, checked: dict[str, Any]) -> None:
    """Each official UBL sample, parsed and re-rendered by its own mapping, has no fatal finding."""
    samples = _samples(conformance)
    assert len(samples) >= 20
    for sample in samples:
        alias = SAMPLE_MAPPING[sample.parent.name]
        entry = checked[f"{alias}/sample-{sample.name}"]
        assert entry["rules"] == list(resolve_mapping(alias).rules), sample.name
        assert _fatal(entry) == [], f"{sample}: {_fatal(entry)}"


def test_every_golden_case_renders_valid(checked: dict[str, Any]) -> None:
    """Each mapping case passes XSD + the rule sets of its mapping with no fatal finding."""
    for name, alias, _ in CASES:
        entry = checked[f"{alias}/case-{name}.xml"]
        assert entry["rules"] == list(resolve_mapping(alias).rules), name
        assert _fatal(entry) == [], f"{name}: {_fatal(entry)}"


def test_checker_rejects_a_broken_rendering(conformance: Path, tmp_path: Path) -> None:
    """Guard: the harness as called here does report a fatal finding (wrong BT-112)."""
    mapping = resolve_mapping("peppol-bis3")
    invoice = CASES[0][2]()
    stamped = mapping.stamped(invoice)
    assert stamped.totals is not None
    broken = stamped.model_copy(
        update={
            "totals": stamped.totals.model_copy(update={"with_vat": stamped.totals.with_vat + 1})
        }
    )
    (tmp_path / "broken.xml").write_bytes(mapping.render(broken).content)
    proc = subprocess.run(
        [
            sys.executable,
            str(conformance / "validate.py"),
            str(tmp_path),
            "--json",
            "--rules",
            "en16931,peppol",
        ],
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    ids = {f["id"] for f in json.loads(proc.stdout)["files"][0]["findings"] if f["flag"] == "fatal"}
    assert "BR-CO-15" in ids
