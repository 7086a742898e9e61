"""Validation scenarios: rule sets chosen from the document's BT-24, as KoSIT's scenarios.xml does.

Every official sample passes ``validate()`` and ``igw validate`` without ``--rules`` and names its
scenario; a negative twin made by one mutation that only its scenario's rule set catches (Peppol,
XRechnung) fails with that rule id, through ``validate()``, the CLI and inbound processing.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pytest
from shared_dir import SHARED, shared_path

from gateway import rules as in_process
from gateway.cli.main import main
from gateway.inbound.interpret import DEFAULT_RULE_SETS, PARSED, REJECTED, interpret
from gateway.validation import RULE_SETS, validate
from gateway.validation.artefacts import artefact_path
from gateway.validation.scenarios import (
    EN16931,
    FACTURX_BASIC,
    FACTURX_EXTENDED,
    FACTURX_MINIMUM,
    PEPPOL_BIS3,
    SCENARIOS,
    XRECHNUNG_30,
    XRECHNUNG_30_EXTENSION,
    match_scenario,
)

SAMPLES = SHARED / "conformance" / "samples"
# The scenario each folder's samples name in BT-24 ...
SCENARIO_OF_FOLDER = {
    "ubl/en16931": "en16931",
    "ubl/peppol": "peppol-bis3",
    "ubl/xrechnung": "xrechnung-3.0",
    "cii/en16931": "en16931",
    "cii/xrechnung": "xrechnung-3.0",
}
# ... except two CEN CII examples, which carry the ZUGFeRD 1.0 COMFORT id
# (urn:ferd:CrossIndustryDocument:invoice:1p0:comfort), no scenario of a CII D16B document.
UNKNOWN_ID_SAMPLES = {"CII_business_example_02.xml", "CII_business_example_Z.xml"}

PEPPOL_CREDIT_NOTE = "ubl/peppol/base-creditnote-correction.xml"
XR_UBL = "ubl/xrechnung/01.01a-INVOICE_ubl.xml"
XR_CII = "cii/xrechnung/01.01a-INVOICE_uncefact.xml"
PEPPOL_INVOICE = "ubl/peppol/base-example.xml"
CII_EN16931 = "cii/en16931/CII_example1.xml"


def _official_samples() -> list[str]:
    found = [
        str(path.relative_to(SAMPLES))
        for folder in SCENARIO_OF_FOLDER
        for path in sorted((SAMPLES / folder).glob("*.xml"))
    ]
    return found or ["(../shared absent)"]


def sample(relative: str) -> bytes:
    """The bytes of an official sample (skips where ../shared is absent, fails under CI)."""
    return shared_path("conformance", "samples", *relative.split("/")).read_bytes()


def expected_scenario(relative: str) -> str:
    if Path(relative).name in UNKNOWN_ID_SAMPLES:
        return "en16931-fallback"
    return SCENARIO_OF_FOLDER[str(Path(relative).parent)]


# -- single mutations that only the scenario's rule set catches -----------------------------------
def drop_buyer_and_order_reference(content: bytes) -> bytes:
    """Peppol: neither BT-10 nor BT-13 (PEPPOL-EN16931-R003; EN 16931 requires neither)."""
    content = re.sub(rb"<cbc:BuyerReference>[^<]*</cbc:BuyerReference>", b"", content)
    return re.sub(rb"<cac:OrderReference>.*?</cac:OrderReference>", b"", content, flags=re.S)


def drop_buyer_reference(content: bytes) -> bytes:
    """XRechnung: no buyer reference BT-10 (BR-DE-15), in UBL or CII."""
    return re.sub(rb"<(cbc|ram):BuyerReference>[^<]*</(cbc|ram):BuyerReference>", b"", content)


def negative_credited_quantity(content: bytes) -> bytes:
    """Peppol: a credit note line whose quantity turns negative while its net amount stays
    positive: line net != quantity x price (PEPPOL-EN16931-R120; EN 16931 has no such rule)."""
    old = b'<cbc:CreditedQuantity unitCode="DAY">7</cbc:CreditedQuantity>'
    return content.replace(old, b'<cbc:CreditedQuantity unitCode="DAY">-7</cbc:CreditedQuantity>')


def _peppol_invoices() -> list[str]:
    found = [str(p.relative_to(SAMPLES)) for p in sorted((SAMPLES / "ubl/peppol").glob("*.xml"))]
    return found or [PEPPOL_INVOICE]


Mutation = Callable[[bytes], bytes]


@dataclass(frozen=True)
class Twin:
    """An official sample, the one mutation made to it, the rule id that catches it and the
    scenario whose rules hold that rule."""

    relative: str
    mutation: Mutation
    rule: str
    scenario: str

    @property
    def id(self) -> str:
        return f"{Path(self.relative).name}-{self.rule}"

    def content(self) -> bytes:
        original = sample(self.relative)
        mutated = self.mutation(original)
        assert mutated != original, f"the mutation did not apply to {self.relative}"
        return mutated


TWINS: list[Twin] = [
    *[
        Twin(path, drop_buyer_and_order_reference, "PEPPOL-EN16931-R003", "peppol-bis3")
        for path in _peppol_invoices()
    ],
    Twin(PEPPOL_CREDIT_NOTE, negative_credited_quantity, "PEPPOL-EN16931-R120", "peppol-bis3"),
    Twin(XR_UBL, drop_buyer_reference, "BR-DE-15", "xrechnung-3.0"),
    Twin(XR_CII, drop_buyer_reference, "BR-DE-15", "xrechnung-3.0"),
]
TWIN_IDS = [t.id for t in TWINS]


def with_identifier(content: bytes, identifier: str) -> bytes:
    """``content`` with its BT-24 (UBL CustomizationID or CII guideline ID) replaced."""
    ubl = re.sub(
        rb"<cbc:CustomizationID>[^<]*</cbc:CustomizationID>",
        b"<cbc:CustomizationID>" + identifier.encode() + b"</cbc:CustomizationID>",
        content,
    )
    if ubl != content:
        return ubl
    cii = re.sub(
        rb"(<ram:GuidelineSpecifiedDocumentContextParameter>\s*<ram:ID>)[^<]*(</ram:ID>)",
        rb"\g<1>" + identifier.encode() + rb"\g<2>",
        content,
    )
    assert cii != content, "no BT-24 to replace"
    return cii


def run_cli(argv: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, str, str]:
    status = main(argv)
    captured = capsys.readouterr()
    return status, captured.out, captured.err


# -- the scenario table ----------------------------------------------------------------------------
def test_every_scenario_asks_only_for_rule_sets_its_syntax_has() -> None:
    """No table row names an official rule set missing for its syntax or an unknown in-process
    set, so a document's scenario can never request a check that cannot run."""
    for scenario in SCENARIOS:
        for name in scenario.rules:
            assert scenario.syntax in RULE_SETS[name], (scenario.name, scenario.syntax, name)
        for name in scenario.in_process:
            assert name in in_process.RULE_SETS, (scenario.name, name)
        assert scenario.source, scenario.name
    keys = [(s.syntax, s.identifier) for s in SCENARIOS]
    assert len(keys) == len(set(keys)), "one row per syntax and identifier"


def test_identifiers_are_the_ones_the_shipped_artefacts_test() -> None:
    """The Peppol and XRechnung identifiers are spelled as the shipped schematron tests them."""
    peppol = artefact_path("peppol", "ubl").read_text(encoding="utf-8")
    assert f"'{PEPPOL_BIS3}'" in peppol
    for role in ("ubl", "cii"):
        xr = artefact_path("xrechnung", role).read_text(encoding="utf-8")
        assert f"'{XRECHNUNG_30.removesuffix('3.0')}'" in xr
        assert 'XR-MAJOR-MINOR-VERSION" select="\'3.0\'"' in xr
        assert "'#conformant#urn:xeinkauf.de:kosit:extension:xrechnung_'" in xr
    assert XRECHNUNG_30_EXTENSION.startswith(XRECHNUNG_30 + "#conformant#")


@pytest.mark.parametrize(
    ("syntax", "identifier", "scenario", "rules"),
    [
        ("ubl", PEPPOL_BIS3, "peppol-bis3", ("en16931", "peppol")),
        ("cii", PEPPOL_BIS3, "peppol-bis3", ("en16931",)),
        ("ubl", XRECHNUNG_30, "xrechnung-3.0", ("en16931", "xrechnung")),
        ("cii", XRECHNUNG_30_EXTENSION, "xrechnung-3.0-extension", ("en16931", "xrechnung")),
        ("ubl", f"  {EN16931}\n", "en16931", ("en16931",)),
        ("cii", EN16931, "en16931", ("en16931", "facturx")),
        ("cii", FACTURX_BASIC, "facturx-basic", ("en16931", "facturx")),
        ("cii", FACTURX_EXTENDED, "facturx-extended", ("en16931",)),
        ("cii", FACTURX_MINIMUM, "facturx-minimum", ()),
        ("ubl", FACTURX_BASIC, "en16931-fallback", ("en16931",)),
        ("ubl", "urn:example:unknown", "en16931-fallback", ("en16931",)),
        ("cii", None, "en16931-fallback", ("en16931",)),
    ],
)
def test_identifier_selects_scenario(
    syntax: str, identifier: str | None, scenario: str, rules: tuple[str, ...]
) -> None:
    """BT-24 and syntax select the scenario exactly (white space aside); a Factur-X id means
    nothing in UBL; unknown or missing ids fall back to EN 16931."""
    found = match_scenario(syntax, identifier)
    assert (found.scenario.name, found.scenario.rules) == (scenario, rules)


def test_scenario_that_cannot_check_everything_says_what_is_not_checked() -> None:
    """Peppol in CII and the Factur-X profiles without shipped artefacts carry a 'not checked'
    note naming what is missing; plain EN 16931 CII says why the Factur-X XSD runs."""
    assert "Peppol BIS 3 schematron for CII" in match_scenario("cii", PEPPOL_BIS3).notes[0]
    assert "EXTENDED XSD" in match_scenario("cii", FACTURX_EXTENDED).notes[0]
    assert "only the CII D16B XSD" in match_scenario("cii", FACTURX_MINIMUM).notes[0]
    assert match_scenario("ubl", PEPPOL_BIS3).notes == ()
    [why] = match_scenario("cii", EN16931).notes
    assert "also the Factur-X / ZUGFeRD EN 16931 profile's" in why


def test_unknown_version_of_a_known_specification_is_named_in_the_note() -> None:
    """An XRechnung 2.3 id (not shipped) falls back to EN 16931; the note says it names
    XRechnung, so the user knows why the XRechnung rules did not run."""
    found = match_scenario(
        "ubl", "urn:cen.eu:en16931:2017#compliant#urn:xoev-de:kosit:standard:xrechnung_2.3"
    )
    assert (found.scenario.name, found.matched) == ("en16931-fallback", False)
    assert "it names XRechnung, but no version or syntax" in found.notes[0]


def test_peppol_identifier_with_a_suffix_is_still_peppol() -> None:
    """Peppol R004 says BT-24 MUST *begin with* the BIS 3 id: a longer one is still Peppol."""
    found = match_scenario("ubl", PEPPOL_BIS3 + "#conformant#urn:example:extension")
    assert found.scenario.name == "peppol-bis3" and found.matched
    assert match_scenario("ubl", PEPPOL_BIS3 + "x").scenario.name == "en16931-fallback"


# -- official samples and their negative twins ------------------------------------------------
@pytest.mark.parametrize("relative", _official_samples())
def test_official_sample_passes_by_its_scenario(relative: str) -> None:
    """Every official sample passes validate() without rules and the report names its scenario,
    with the scenario's rule sets run."""
    report = validate(sample(relative), name=relative)
    assert report.passed, [str(p) for p in report.fatal]
    assert report.scenario == expected_scenario(relative)
    assert report.rules_from == "scenario"
    assert report.rules == match_scenario(report.syntax, report.specification_id).scenario.rules


def test_cli_passes_every_official_sample_naming_its_scenario(
    capsys: pytest.CaptureFixture[str],
) -> None:
    """`igw validate` with no --rules exits 0 for all official samples; each PASS line names
    the scenario of that file."""
    relatives = _official_samples()
    paths = [str(shared_path("conformance", "samples", *r.split("/"))) for r in relatives]
    status, out, _ = run_cli(["validate", *paths], capsys)
    assert status == 0, out
    lines = [line for line in out.splitlines() if line.startswith(("PASS", "FAIL"))]
    assert len(lines) == len(paths)
    for relative, path, line in zip(relatives, paths, lines, strict=True):
        assert line.startswith(f"PASS {path} ")
        assert f"; scenario {expected_scenario(relative)}]" in line


@pytest.mark.parametrize("case", TWINS, ids=TWIN_IDS)
def test_negative_twin_fails_by_its_scenario_only(case: Twin) -> None:
    """A twin that only its scenario's rules catch fails validate() without rules with that
    rule id, while EN 16931 alone (the old default) passes it."""
    content = case.content()
    report = validate(content, name=case.relative)
    assert report.scenario == case.scenario
    assert not report.passed
    assert case.rule in {p.rule for p in report.fatal}
    assert validate(content, ["en16931"]).passed


@pytest.mark.parametrize("case", TWINS, ids=TWIN_IDS)
def test_negative_twin_fails_through_the_cli(
    case: Twin, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """`igw validate FILE` (text and --json) fails the twin with its rule id and scenario."""
    path = tmp_path / Path(case.relative).name
    path.write_bytes(case.content())
    status, out, _ = run_cli(["validate", str(path)], capsys)
    assert status == 1
    assert out.startswith(f"FAIL {path}") and f"; scenario {case.scenario}]" in out
    assert f"] {case.rule}" in out
    status, out, _ = run_cli(["validate", "--json", str(path)], capsys)
    [data] = json.loads(out)["reports"]
    assert (status, data["passed"], data["scenario"], data["rules_from"]) == (
        1,
        False,
        case.scenario,
        "scenario",
    )
    assert case.rule in {f["rule"] for f in data["findings"] if f["flag"] == "fatal"}


def test_rules_option_overrides_the_scenario(capsys: pytest.CaptureFixture[str]) -> None:
    """--rules en16931 runs only EN 16931 on a Peppol twin (it passes) and says which scenario
    the document names and what that would have run."""
    path = shared_path("conformance", "samples", *PEPPOL_INVOICE.split("/"))
    content = drop_buyer_and_order_reference(path.read_bytes())
    report = validate(content, ["en16931"], name="twin.xml")
    assert report.passed and report.rules == ("en16931",) and report.rules_from == "caller"
    assert report.scenario == "peppol-bis3"
    assert any("would run en16931,peppol" in note for note in report.notes)


def test_unknown_identifier_is_en16931_with_a_note_listing_the_known(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    """An unknown BT-24 is checked against EN 16931 only, with a note naming it and the known
    identifiers; text and JSON output name the fallback scenario."""
    content = with_identifier(
        drop_buyer_and_order_reference(sample(PEPPOL_INVOICE)), "urn:example:my-cius"
    )
    report = validate(content)
    assert report.passed  # R003 is a Peppol rule, and this is no longer a Peppol document
    assert (report.scenario, report.rules) == ("en16931-fallback", ("en16931",))
    [note] = report.notes
    assert "'urn:example:my-cius' names no known scenario" in note
    assert PEPPOL_BIS3 in note and XRECHNUNG_30 in note
    path = tmp_path / "unknown.xml"
    path.write_bytes(content)
    status, out, _ = run_cli(["validate", str(path)], capsys)
    assert status == 0 and "scenario en16931-fallback]" in out and "names no known" in out


def test_factur_x_profile_ids_select_what_can_be_checked() -> None:
    """A CII invoice saying Factur-X BASIC runs EN 16931 and the Factur-X XSD; EXTENDED runs
    EN 16931 alone; each says what is not checked."""
    content = sample(CII_EN16931)
    basic = validate(with_identifier(content, FACTURX_BASIC))
    assert (basic.scenario, basic.rules, basic.passed) == (
        "facturx-basic",
        ("en16931", "facturx"),
        True,
    )
    assert any(n.startswith("not checked: the Factur-X BASIC") for n in basic.notes)
    extended = validate(with_identifier(content, FACTURX_EXTENDED))
    assert (extended.scenario, extended.rules) == ("facturx-extended", ("en16931",))
    assert any("EXTENDED XSD" in n for n in extended.notes)


# -- rule sets that do not exist for the syntax --------------------------------------------------
@pytest.mark.parametrize(
    ("rules", "relative", "message"),
    [
        ("en16931,peppol", XR_CII, "rule set 'peppol' does not exist for cii"),
        ("facturx", PEPPOL_INVOICE, "rule set 'facturx' does not exist for ubl"),
        ("peppol", "edifact/eancom-d96a/bots-invoic01.edi", "apply to UBL and CII only"),
    ],
)
def test_rule_set_missing_for_syntax_is_usage_error(
    rules: str, relative: str, message: str, capsys: pytest.CaptureFixture[str]
) -> None:
    """--rules naming a set the document's syntax has no artefact for exits 2 with a message
    naming the set, the syntax and what exists; no PASS is printed."""
    path = shared_path("conformance", "samples", *relative.split("/"))
    status, out, err = run_cli(["validate", "--rules", rules, str(path)], capsys)
    assert status == 2
    assert message in err and str(path) in err
    assert "PASS" not in out


# -- buyer formats, EDIFACT, cXML -----------------------------------------------------------------
@pytest.fixture(scope="module")
def buyer_files(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """One ACME JSON and one Globex CSV file as `igw translate` writes them."""
    out = tmp_path_factory.mktemp("buyer")
    examples = Path(__file__).resolve().parent.parent / "examples" / "erp-export.json"
    status = main(
        [
            "translate",
            str(examples),
            "--to",
            "acme-portal-json,globex-ap-csv",
            "--out",
            str(out),
            "--quiet",
        ]
    )
    assert status == 0
    return {
        "json": sorted((out / "acme-portal-json").glob("*.json"))[0],
        "csv": sorted((out / "globex-ap-csv").glob("*.csv"))[0],
    }


@pytest.mark.parametrize(
    ("kind", "format_name"), [("json", "acme-portal-json"), ("csv", "globex-ap-csv")]
)
def test_buyer_format_file_without_format_says_how_it_is_checked(
    kind: str,
    format_name: str,
    buyer_files: dict[str, Path],
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    """A JSON/CSV buyer-format file whose name does not say its format FAILs with advice naming
    --format and igw translate, not an XML-PARSE error."""
    path = tmp_path / f"upload.{kind}"
    path.write_bytes(buyer_files[kind].read_bytes())
    status, out, _ = run_cli(["validate", str(path)], capsys)
    assert status == 1
    assert "XML-PARSE" not in out
    assert "BUYER-FORMAT" in out
    assert f"igw validate --format {format_name} {path}" in out
    assert f"igw translate RECORDS --to {format_name}" in out


@pytest.mark.parametrize("kind", ["json", "csv"])
def test_buyer_format_file_is_checked_against_the_buyer_schema(
    kind: str, buyer_files: dict[str, Path], capsys: pytest.CaptureFixture[str]
) -> None:
    """A file named as igw translate names it is checked against its buyer's schema and passes."""
    status, out, _ = run_cli(["validate", str(buyer_files[kind])], capsys)
    assert status == 0, out
    assert "recognised from the file name" in out and "checked against the schema" in out


def test_format_option_finds_buyer_schema_violations(
    buyer_files: dict[str, Path], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """--format checks any file against that buyer's schema: a currency the CSV schema refuses
    fails with BUYER-SCHEMA at its row and column, with its BT id."""
    text = buyer_files["csv"].read_text(encoding="utf-8")
    assert ";EUR;" in text
    path = tmp_path / "changed.csv"
    path.write_text(text.replace(";EUR;", ";EURO;"), encoding="utf-8")
    status, out, _ = run_cli(["validate", "--format", "globex-ap-csv", str(path)], capsys)
    assert status == 1
    assert "BUYER-SCHEMA BT-5 @ row 2, column CURRENCY = EURO" in out


def test_format_option_names_a_broken_file_not_a_template(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """A JSON file that does not parse is reported as the file's syntax error with its line and
    column, not as something a template produced."""
    path = tmp_path / "broken.json"
    path.write_text('{"invoiceNumber": "X",,}', encoding="utf-8")
    status, out, _ = run_cli(["validate", "--format", "acme-portal-json", str(path)], capsys)
    assert status == 1
    assert "@ line 1, column 23" in out and "not well-formed JSON" in out
    assert "template produced" not in out


def test_format_option_with_a_builtin_format_is_usage_error(
    buyer_files: dict[str, Path], capsys: pytest.CaptureFixture[str]
) -> None:
    """--format peppol-bis3 is refused (exit 2): built-in formats are recognised by content."""
    status, _, err = run_cli(
        ["validate", "--format", "peppol-bis3", str(buyer_files["json"])], capsys
    )
    assert status == 2 and "'peppol-bis3' is a built-in format" in err


def test_edifact_and_cxml_are_validated_as_before(capsys: pytest.CaptureFixture[str]) -> None:
    """EDIFACT and cXML files keep their own validators under `igw validate` (no scenario)."""
    edi = shared_path("conformance", "samples", "edifact", "eancom-d96a", "bots-invoic01.edi")
    cxml = shared_path("conformance", "samples", "cxml", "invoice-detail-minimal.xml")
    status, out, _ = run_cli(["validate", str(edi), str(cxml)], capsys)
    assert status == 0, out
    assert "[edifact; edifact-syntax,structure:INVOIC-D96A]" in out
    assert "[cxml; dtd:InvoiceDetail-1.2.037]" in out
    assert "scenario" not in out


def test_scenarios_option_lists_the_table(capsys: pytest.CaptureFixture[str]) -> None:
    """`igw validate --scenarios` prints every scenario with its identifier and source."""
    status, out, _ = run_cli(["validate", "--scenarios"], capsys)
    assert status == 0
    for scenario in SCENARIOS:
        assert f"{scenario.name} [{scenario.syntax}]" in out
        assert scenario.identifier in out
    assert "en16931-fallback [ubl, cii]" in out


# -- inbound ---------------------------------------------------------------------------------------
@pytest.mark.parametrize("case", TWINS, ids=TWIN_IDS)
def test_inbound_rejects_twin_by_its_scenario(case: Twin) -> None:
    """A received invoice breaking a rule of its scenario only is REJECTED with that rule, with
    the serve default rule sets (en16931); the untouched sample is PARSED. Both name the
    scenario."""
    assert DEFAULT_RULE_SETS == ("en16931",)
    verdict = interpret(case.content(), label="msg-9")
    assert verdict.state == REJECTED, verdict.detail
    assert case.rule in {p.rule for p in verdict.problems if p.flag == "fatal"}
    assert verdict.scenario == case.scenario and f"scenario {case.scenario}" in verdict.detail
    clean = interpret(sample(case.relative), label="msg-8")
    assert clean.state == PARSED, clean.detail
    assert clean.scenario == case.scenario


def test_inbound_unknown_identifier_runs_the_configured_rules_only() -> None:
    """An inbound Peppol twin relabelled with an unknown BT-24 gets the configured rules alone
    (the scenario adds nothing), so the Peppol-only R003 does not fire."""
    content = with_identifier(
        drop_buyer_and_order_reference(sample(PEPPOL_INVOICE)), "urn:example:my-cius"
    )
    verdict = interpret(content)
    assert verdict.scenario == "en16931-fallback" and verdict.rule_sets == ("en16931",)
    assert "PEPPOL-EN16931-R003" not in {p.rule for p in verdict.problems}


# -- our own output ----------------------------------------------------------------------------
OWN_FORMATS = {
    "peppol-bis3": "peppol-bis3",
    "xrechnung-ubl": "xrechnung-3.0",
    "xrechnung-cii": "xrechnung-3.0",
    "facturx-en16931": "en16931",
}


@pytest.fixture(scope="module")
def own_output(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The ERP examples rendered to every EN 16931 format by `igw translate`."""
    out = tmp_path_factory.mktemp("own")
    examples = Path(__file__).resolve().parent.parent / "examples" / "erp-export.json"
    formats = ",".join(OWN_FORMATS)
    assert main(["translate", str(examples), "--to", formats, "--out", str(out), "--quiet"]) == 0
    return out


@pytest.mark.parametrize("format_name", list(OWN_FORMATS))
def test_own_output_selects_the_rules_its_mapping_declares(
    format_name: str, own_output: Path
) -> None:
    """What each EN 16931 mapping writes selects, by its BT-24, the scenario of that format,
    whose rule sets are the ones the mapping validates with; the documents pass by scenario."""
    from gateway.registry import resolve_mapping

    files = sorted((own_output / format_name).glob("*.xml"))[:3]
    assert files, f"igw translate wrote no {format_name} file"
    declared = set(resolve_mapping(format_name).rules)
    for path in files:
        report = validate(path.read_bytes(), name=path.name)
        assert report.scenario == OWN_FORMATS[format_name], path.name
        assert set(report.rules) == declared, path.name
        assert report.passed, [str(p) for p in report.fatal]


TINY_XSD = """<?xml version="1.0" encoding="UTF-8"?>
<xs:schema xmlns:xs="http://www.w3.org/2001/XMLSchema" elementFormDefault="qualified">
  <xs:element name="Upload"><xs:complexType><xs:sequence>
    <xs:element name="Number" type="xs:string"/><xs:element name="Seller" type="xs:string"/>
  </xs:sequence></xs:complexType></xs:element>
</xs:schema>
"""


def test_buyer_xml_format_is_checked_by_name_or_format_option(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """A buyer's own XML format is checked against its XSD when the file name or --format
    names it; otherwise the FORMAT finding points to --format."""
    formats = tmp_path / "formats"
    formats.mkdir()
    (formats / "upload.xsd").write_text(TINY_XSD, encoding="utf-8")
    (formats / "upload.xml.j2").write_text(
        "<Upload><Number>{{ invoice.number }}</Number><Seller>{{ invoice.seller.name }}"
        "</Seller></Upload>",
        encoding="utf-8",
    )
    (formats / "tiny-xml.toml").write_text(
        'name = "tiny-xml"\noutput = "xml"\ntemplate = "upload.xml.j2"\nschema = "upload.xsd"\n',
        encoding="utf-8",
    )
    monkeypatch.setenv("IGW_FORMATS_PATH", str(formats))
    broken = b"<Upload><Number>INV-1</Number></Upload>"
    named = tmp_path / "INV-1.tiny-xml.xml"
    named.write_bytes(broken)
    plain = tmp_path / "upload.xml"
    plain.write_bytes(b"<Upload><Number>INV-1</Number><Seller>ACME</Seller></Upload>")
    status, out, _ = run_cli(["validate", str(named)], capsys)
    assert status == 1 and "BUYER-SCHEMA" in out and "recognised from the file name" in out
    status, out, _ = run_cli(["validate", str(plain)], capsys)
    assert status == 1 and "[fatal] FORMAT" in out
    assert "igw validate --format NAME" in out
    status, out, _ = run_cli(["validate", "--format", "tiny-xml", str(plain)], capsys)
    assert status == 0, out
