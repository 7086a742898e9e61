"""gateway.validation agrees with the independent checker (shared/conformance/validate.py).

The checker runs as a subprocess with ``--json``, once per rule list over many files (it compiles
its XSLTs per call); our validator compiles each stylesheet once per test process. Agreement
means: the same verdict, the same set of fatal rule ids, and the same schematron assertions
(id, flag, location, text) for every file.
"""

from __future__ import annotations

import json
import subprocess
import sys
from collections import Counter
from collections.abc import Callable
from pathlib import Path

import pytest
from lxml import etree

from gateway.validation import ValidationReport, validate

pytestmark = pytest.mark.shared

UBL_NS = {
    "cbc": "urn:oasis:names:specification:ubl:schema:xsd:CommonBasicComponents-2",
    "cac": "urn:oasis:names:specification:ubl:schema:xsd:CommonAggregateComponents-2",
}
CII_NS = {
    "rsm": "urn:un:unece:uncefact:data:standard:CrossIndustryInvoice:100",
    "ram": "urn:un:unece:uncefact:data:standard:ReusableAggregateBusinessInformationEntity:100",
    "udt": "urn:un:unece:uncefact:data:standard:UnqualifiedDataType:100",
}
NON_RULE_IDS = {"XSD", "XML-PARSE", "DOCTYPE", "ROOT", "FORMAT", "XSLT-ERROR"}

CheckerFile = dict[str, object]


class Checker:
    """Runs validate.py --json once per (rule list, file set) and keeps the answers."""

    def __init__(self, conformance: Path) -> None:
        self.script = conformance / "validate.py"
        self._results: dict[tuple[str, Path], CheckerFile] = {}

    def results(self, files: list[Path], rules: str) -> dict[Path, CheckerFile]:
        """The checker's JSON entry for each file under ``rules`` (one subprocess per new batch)."""
        todo = [f for f in files if (rules, f) not in self._results]
        if todo:
            proc = subprocess.run(
                [sys.executable, str(self.script), *map(str, todo), "--rules", rules, "--json"],
                capture_output=True,
                text=True,
                timeout=600,
                check=False,
            )
            assert proc.returncode in (0, 1), proc.stderr
            entries = json.loads(proc.stdout)["files"]
            assert len(entries) == len(todo)
            for path, entry in zip(todo, entries, strict=True):
                assert Path(str(entry["file"])) == path
                self._results[(rules, path)] = entry
        return {f: self._results[(rules, f)] for f in files}


@pytest.fixture(scope="session")
def checker(conformance: Path) -> Checker:
    """The independent checker, with a session-wide cache of its answers."""
    return Checker(conformance)


def fatal_ids_of_checker(entry: CheckerFile) -> set[str]:
    findings = entry["findings"]
    assert isinstance(findings, list)
    return {f["id"] for f in findings if f["flag"] == "fatal"}


def assertions_of_checker(entry: CheckerFile) -> Counter[tuple[str, str, str, str]]:
    findings = entry["findings"]
    assert isinstance(findings, list)
    return Counter(
        (f["id"], f["flag"], f["location"], f["text"])
        for f in findings
        if f["source"] in {"en16931", "peppol", "xrechnung"} and f["id"] not in NON_RULE_IDS
    )


def assertions_of_report(report: ValidationReport) -> Counter[tuple[str, str, str, str]]:
    return Counter(
        (p.rule, p.flag, p.path, p.message) for p in report.findings if p.rule not in NON_RULE_IDS
    )


def disagreements(files: list[Path], rules: str, checker: Checker) -> list[str]:
    """Every file where our report and the checker's differ, described."""
    theirs = checker.results(files, rules)
    problems = []
    for path in files:
        ours = validate(path.read_bytes(), rules.split(","), name=path.name)
        entry = theirs[path]
        our_fatal = {p.rule for p in ours.fatal}
        if ours.passed != entry["passed"] or our_fatal != fatal_ids_of_checker(entry):
            problems.append(
                f"{path.name} [{rules}]: ours passed={ours.passed} fatal={sorted(our_fatal)}; "
                f"checker passed={entry['passed']} fatal={sorted(fatal_ids_of_checker(entry))}"
            )
        elif assertions_of_report(ours) != assertions_of_checker(entry):
            problems.append(f"{path.name} [{rules}]: same verdict, different assertions")
    return problems


SAMPLE_CASES = [
    ("ubl", "en16931"),
    ("ubl", "en16931,peppol"),
    ("ubl", "en16931,xrechnung"),
    ("ubl", "en16931,peppol,xrechnung"),
    ("cii", "en16931"),
    ("cii", "en16931,xrechnung"),
    ("cii", "en16931,facturx"),
    ("cii", "en16931,xrechnung,facturx"),
]


@pytest.mark.parametrize(("folder", "rules"), SAMPLE_CASES)
def test_official_samples_agree_with_checker(
    folder: str, rules: str, conformance: Path, checker: Checker
) -> None:
    """Every official sample gets the checker's verdict, fatal ids and assertions."""
    files = sorted((conformance / "samples" / folder).rglob("*.xml"))
    assert len(files) >= 10
    assert disagreements(files, rules, checker) == []


def test_scenario_selection_agrees_with_checker_auto(conformance: Path, checker: Checker) -> None:
    """With no rules given, our scenario selection reaches the checker's ``--rules auto`` verdict
    and fatal ids on every official UBL and CII sample (the checker adds no Factur-X XSD for a
    plain EN 16931 CII id, we do; that XSD passes them all)."""
    files = sorted((conformance / "samples" / "ubl").rglob("*.xml"))
    files += sorted((conformance / "samples" / "cii").rglob("*.xml"))
    theirs = checker.results(files, "auto")
    problems = []
    for path in files:
        ours = validate(path.read_bytes(), name=path.name)
        entry = theirs[path]
        if ours.passed != entry["passed"] or {p.rule for p in ours.fatal} != fatal_ids_of_checker(
            entry
        ):
            problems.append(
                f"{path.name}: ours {ours.rules} passed={ours.passed}; "
                f"checker {entry['rules']} passed={entry['passed']}"
            )
        assert set(entry["rules"]) - {"facturx"} <= set(ours.rules), path.name
    assert problems == []


def test_samples_cover_both_verdicts(conformance: Path, checker: Checker) -> None:
    """The sample agreement is not vacuous: some samples pass and some fail their rule list."""
    files = sorted((conformance / "samples" / "ubl").rglob("*.xml"))
    verdicts = {bool(e["passed"]) for e in checker.results(files, "en16931,peppol").values()}
    assert verdicts == {True, False}


# -- corrupted copies ---------------------------------------------------------------------------
Corruption = Callable[[etree._ElementTree], None]


def drop(xpath: str, ns: dict[str, str]) -> Corruption:
    def apply(tree: etree._ElementTree) -> None:
        found = tree.xpath(xpath, namespaces=ns)
        assert isinstance(found, list) and found, xpath
        for el in found:
            assert isinstance(el, etree._Element)
            parent = el.getparent()
            assert parent is not None
            parent.remove(el)

    return apply


def set_text(xpath: str, value: str, ns: dict[str, str]) -> Corruption:
    def apply(tree: etree._ElementTree) -> None:
        found = tree.xpath(xpath, namespaces=ns)
        assert isinstance(found, list) and found, xpath
        for el in found:
            assert isinstance(el, etree._Element)
            el.text = value

    return apply


UBL_PEPPOL = "samples/ubl/peppol/Vat-category-S.xml"
UBL_XR = "samples/ubl/xrechnung/01.01a-INVOICE_ubl.xml"
CII_XR = "samples/cii/xrechnung/01.01a-INVOICE_uncefact.xml"

# (case id, source sample, corruption, rule list, rule id expected among the fatal ids)
CORRUPTIONS: list[tuple[str, str, Corruption, str, str]] = [
    (
        "ubl-no-buyer-reference-peppol",
        UBL_PEPPOL,
        drop("/*/cbc:BuyerReference | /*/cac:OrderReference", UBL_NS),
        "en16931,peppol",
        "PEPPOL-EN16931-R003",
    ),
    (
        "ubl-no-buyer-reference-xrechnung",
        UBL_XR,
        drop("/*/cbc:BuyerReference", UBL_NS),
        "en16931,xrechnung",
        "BR-DE-15",
    ),
    (
        "ubl-wrong-tax-inclusive",
        UBL_PEPPOL,
        set_text("//cac:LegalMonetaryTotal/cbc:TaxInclusiveAmount", "9999.99", UBL_NS),
        "en16931,peppol",
        "BR-CO-15",
    ),
    (
        "ubl-vat-category-x-cl17",
        UBL_PEPPOL,
        set_text("//cac:TaxCategory/cbc:ID | //cac:ClassifiedTaxCategory/cbc:ID", "X", UBL_NS),
        "en16931,peppol",
        "BR-CL-17",
    ),
    (
        "ubl-vat-category-x-cl18",
        UBL_PEPPOL,
        set_text("//cac:TaxCategory/cbc:ID | //cac:ClassifiedTaxCategory/cbc:ID", "X", UBL_NS),
        "en16931",
        "BR-CL-18",
    ),
    (
        "ubl-bad-issue-date-xsd",
        UBL_PEPPOL,
        set_text("/*/cbc:IssueDate", "13.11.2017", UBL_NS),
        "en16931,peppol",
        "XSD",
    ),
    (
        "ubl-bad-issue-date-peppol",
        UBL_PEPPOL,
        set_text("/*/cbc:IssueDate", "13.11.2017", UBL_NS),
        "en16931,peppol",
        "PEPPOL-EN16931-F001",
    ),
    (
        "ubl-no-seller-vat-id",
        UBL_XR,
        drop("//cac:AccountingSupplierParty//cac:PartyTaxScheme", UBL_NS),
        "en16931,xrechnung",
        "BR-S-02",
    ),
    (
        "cii-wrong-grand-total",
        CII_XR,
        set_text(
            "//ram:SpecifiedTradeSettlementHeaderMonetarySummation/ram:GrandTotalAmount",
            "999.99",
            CII_NS,
        ),
        "en16931,xrechnung",
        "BR-CO-15",
    ),
    (
        "cii-vat-category-x",
        CII_XR,
        set_text("//ram:CategoryCode", "X", CII_NS),
        "en16931",
        "BR-CL-18",
    ),
    (
        "cii-issue-date-format-102",
        CII_XR,
        set_text(
            "/*/rsm:ExchangedDocument/ram:IssueDateTime/udt:DateTimeString", "2016-04-04", CII_NS
        ),
        "en16931,xrechnung,facturx",
        "CII-DT-097",
    ),
    (
        "cii-no-seller-vat-id",
        CII_XR,
        drop("//ram:SellerTradeParty/ram:SpecifiedTaxRegistration", CII_NS),
        "en16931",
        "BR-S-02",
    ),
]


def corrupted_file(
    folder: Path, conformance: Path, case: tuple[str, str, Corruption, str, str]
) -> Path:
    case_id, source, corrupt, _, _ = case
    tree = etree.parse(str(conformance / source))
    corrupt(tree)
    path = folder / f"{case_id}.xml"
    path.write_bytes(etree.tostring(tree, xml_declaration=True, encoding="UTF-8"))
    return path


@pytest.fixture(scope="session")
def corrupted(conformance: Path, tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """The corrupted copies, written once per session, by case id."""
    folder = tmp_path_factory.mktemp("corrupted")
    files = {case[0]: corrupted_file(folder, conformance, case) for case in CORRUPTIONS}
    (folder / "not-well-formed.xml").write_bytes(
        b'<Invoice xmlns="urn:oasis:names:specification:ubl:schema:xsd:Invoice-2"><ID>1</Invoice>'
    )
    files["not-well-formed"] = folder / "not-well-formed.xml"
    (folder / "doctype.xml").write_bytes(
        b'<?xml version="1.0"?><!DOCTYPE Invoice [<!ENTITY x "y">]>'
        b'<Invoice xmlns="urn:oasis:names:specification:ubl:schema:xsd:Invoice-2">&x;</Invoice>'
    )
    files["doctype"] = folder / "doctype.xml"
    return files


@pytest.mark.parametrize("case", CORRUPTIONS, ids=[c[0] for c in CORRUPTIONS])
def test_corrupted_copy_fails_with_expected_rule_like_checker(
    case: tuple[str, str, Corruption, str, str], corrupted: dict[str, Path], checker: Checker
) -> None:
    """A corrupted sample fails with the expected rule id, and agrees with the checker."""
    case_id, _, _, rules, expected = case
    path = corrupted[case_id]
    # batch every corrupted file of this rule list into one checker call
    same_rules = [corrupted[c[0]] for c in CORRUPTIONS if c[3] == rules]
    checker.results(same_rules, rules)
    report = validate(path.read_bytes(), rules.split(","), name=path.name)
    assert not report.passed
    assert expected in {p.rule for p in report.fatal}
    assert disagreements([path], rules, checker) == []


@pytest.mark.parametrize(
    ("case_id", "rule"), [("not-well-formed", "XML-PARSE"), ("doctype", "DOCTYPE")]
)
def test_unreadable_documents_agree_with_checker(
    case_id: str, rule: str, corrupted: dict[str, Path], checker: Checker
) -> None:
    """Not well-formed XML and a DOCTYPE are single fatal findings here and in the checker."""
    path = corrupted[case_id]
    report = validate(path.read_bytes(), ["en16931"], name=path.name)
    assert [p.rule for p in report.fatal] == [rule]
    assert disagreements([path], "en16931", checker) == []
