"""gateway.validation: verdicts, findings as Problems, rule selection and failure modes."""

from __future__ import annotations

import json
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from gateway.document import Document
from gateway.errors import ConfigError, ValidationFailed
from gateway.validation import bt_from_text, rule_names, validate
from gateway.validation.schematron import parse_svrl

PEPPOL_SAMPLE = "samples/ubl/peppol/Vat-category-S.xml"
CII_SAMPLE = "samples/cii/xrechnung/01.01a-INVOICE_uncefact.xml"
UBL_XR_SAMPLE = "samples/ubl/xrechnung/01.01a-INVOICE_ubl.xml"


# -- BT extraction and SVRL reading (no artefacts needed) -----------------------------------------
@pytest.mark.parametrize(
    ("text", "bt"),
    [
        (
            "[BR-CO-15]-Invoice total amount with VAT (BT-112) = Invoice total amount without VAT "
            "(BT-109) + Invoice total VAT amount (BT-110).",
            "BT-112",
        ),
        ('[BR-DE-2] Die Gruppe "SELLER CONTACT" (BG-6) muss übermittelt werden.', "BG-6"),
        ('[BR-DE-15] Das Element "Buyer reference" (BT-10) muss übermittelt werden.', "BT-10"),
        ('Wenn BT-81 "Payment means type code" ... BG-18', "BT-81"),
        (
            "[PEPPOL-EN16931-R003]-A buyer reference or purchase order reference MUST be provided.",
            None,
        ),
        ("IBT-112 is not an EN 16931 id, nor is BT-", None),
    ],
)
def test_bt_id_is_first_bt_or_bg_in_text(text: str, bt: str | None) -> None:
    """The BT/BG of a finding is the first one its text names, and None when it names none."""
    assert bt_from_text(text) == bt


def test_svrl_flags_map_to_fatal_or_warning() -> None:
    """SVRL flags error/fatal (or none on a failed assert) are fatal; others are warnings."""
    asserts = [
        ('failed-assert id="R-ERR" flag="error"', "e"),
        ('failed-assert id="R-FAT" flag="FATAL"', "f"),
        ('failed-assert id="R-WARN" flag="warning"', "w"),
        ('failed-assert id="R-INFO" flag="information"', "i"),
        ('failed-assert id="R-NOFLAG"', "  two\n   lines "),
        ('successful-report id="R-REPORT"', "r"),
    ]
    body = "".join(
        f'<svrl:{head} location="/{text.strip()[0]}"><svrl:text>{text}</svrl:text>'
        f"</svrl:{head.split()[0]}>"
        for head, text in asserts
    )
    svrl = (
        '<svrl:schematron-output xmlns:svrl="http://purl.oclc.org/dsdl/svrl">'
        f'{body}<svrl:fired-rule context="/"/></svrl:schematron-output>'
    ).encode()
    found = {a.rule: (a.flag, a.location, a.text) for a in parse_svrl(svrl)}
    assert found == {
        "R-ERR": ("fatal", "/e", "e"),
        "R-FAT": ("fatal", "/f", "f"),
        "R-WARN": ("warning", "/w", "w"),
        "R-INFO": ("warning", "/i", "i"),
        "R-NOFLAG": ("fatal", "/t", "two lines"),
        "R-REPORT": ("warning", "/r", "r"),
    }


# -- documents that cannot be checked -----------------------------------------------------------
@pytest.mark.parametrize("content", [b"", b"<Invoice>", b"not xml at all", b"<a></b>"])
def test_not_well_formed_is_a_fatal_finding(content: bytes) -> None:
    """Bytes that are not well-formed XML give one fatal XML-PARSE finding, never an exception."""
    report = validate(content, ["en16931"], name="upload-7.xml")
    assert not report.passed
    [problem] = report.findings
    assert (problem.rule, problem.flag, problem.record) == ("XML-PARSE", "fatal", "upload-7.xml")
    assert problem.path.startswith("line ")


def test_unknown_root_is_a_format_finding() -> None:
    """A well-formed document of another kind fails with FORMAT, naming its root element."""
    report = validate(b"<Order xmlns='urn:x'/>", name="o.xml")
    assert [p.rule for p in report.fatal] == ["FORMAT"]
    assert "{urn:x}Order" in report.fatal[0].message


def test_root_of_other_syntax_than_requested_is_a_root_finding() -> None:
    """Asking for CII on a UBL document fails with ROOT instead of running the wrong rules."""
    ubl = b"<Invoice xmlns='urn:oasis:names:specification:ubl:schema:xsd:Invoice-2'/>"
    report = validate(ubl, ["en16931"], syntax="cii")
    assert [p.rule for p in report.fatal] == ["ROOT"]


def test_doctype_is_refused_without_resolving_entities() -> None:
    """A DOCTYPE (entity injection risk) is a fatal finding; the entity is never expanded."""
    content = (
        b'<?xml version="1.0"?><!DOCTYPE Invoice [<!ENTITY x SYSTEM "file:///etc/passwd">]>'
        b"<Invoice xmlns='urn:oasis:names:specification:ubl:schema:xsd:Invoice-2'>&x;</Invoice>"
    )
    report = validate(content)
    assert [p.rule for p in report.fatal] == ["DOCTYPE"]
    assert "root:" not in report.fatal[0].message


def test_unknown_rule_set_is_a_config_error_with_suggestion() -> None:
    """A misspelt rule set fails before any work, suggesting the closest known name."""
    with pytest.raises(ConfigError, match="did you mean 'peppol'"):
        validate(b"<x/>", ["en16931", "pepol"])


def test_unsupported_syntax_is_a_config_error() -> None:
    """A syntax validate() does not know is a ConfigError, not a finding."""
    with pytest.raises(ConfigError, match="x12"):
        validate(b"<a/>", syntax="x12")


def test_cxml_and_edifact_are_dispatched_to_their_validators() -> None:
    """cXML goes to the DTD check and EDIFACT to the interchange check, by syntax or by sniffing."""
    cxml = validate(b"<cXML/>", syntax="cxml")
    assert not cxml.passed
    assert any(f.rule in {"DTD", "XML-PARSE"} for f in cxml.findings)
    edifact = validate(b"UNB+UNOC:3+A:14+B:14+260101:1200+1'UNZ+0+2'")
    assert not edifact.passed
    assert any("UNZ" in f.rule for f in edifact.findings), edifact.findings


def test_rule_names_are_normalised() -> None:
    """Rule lists ignore case, blanks and repeats, keep order; a string is a comma list."""
    assert rule_names([" EN16931", "peppol", "", "en16931"]) == ("en16931", "peppol")
    assert rule_names("en16931, XRechnung") == ("en16931", "xrechnung")


# -- documents checked with the shipped artefacts -----------------------------------------------
@pytest.fixture
def peppol_invoice(conformance: Path) -> bytes:
    """An official Peppol BIS 3 UBL invoice that passes en16931 + peppol."""
    return (conformance / PEPPOL_SAMPLE).read_bytes()


def test_valid_document_passes_with_record_and_rules(peppol_invoice: bytes) -> None:
    """A valid invoice passes; the report names its invoice number, syntax and rules."""
    report = validate(peppol_invoice, ["en16931", "peppol"], name="s.xml")
    assert report.passed and report.fatal == []
    assert (report.record, report.syntax, report.rules) == (
        "Snippet1",
        "ubl",
        ("en16931", "peppol"),
    )


def test_document_rules_are_the_default(peppol_invoice: bytes) -> None:
    """Without a rules argument, a Document is checked with its own rules; one without rules of
    its own by its scenario (a Peppol BT-24 brings the Peppol rules either way)."""
    broken = peppol_invoice.replace(b"<cbc:BuyerReference>0150abc</cbc:BuyerReference>", b"")
    broken = broken.replace(b"<cac:OrderReference>", b"<cac:OrderReferenceX>", 0)
    assert broken != peppol_invoice
    doc = Document(broken, "ubl", "peppol-bis3", "Snippet1", rules=("en16931", "peppol"))
    with_doc_rules = validate(doc)
    by_scenario = validate(Document(broken, "ubl", "ubl", "Snippet1"))
    en_only = validate(Document(broken, "ubl", "ubl", "Snippet1", rules=("en16931",)))
    assert with_doc_rules.rules == ("en16931", "peppol")
    assert with_doc_rules.rules_from == "caller"
    assert "PEPPOL-EN16931-R003" in {p.rule for p in with_doc_rules.fatal}
    assert (by_scenario.rules, by_scenario.rules_from) == (("en16931", "peppol"), "scenario")
    assert "PEPPOL-EN16931-R003" in {p.rule for p in by_scenario.fatal}
    assert en_only.rules == ("en16931",) and en_only.passed
    assert en_only.scenario == "peppol-bis3"


def test_finding_carries_record_location_bt_and_text(peppol_invoice: bytes) -> None:
    """A schematron failure names the invoice, the SVRL location, the BT id and the rule text."""
    broken = peppol_invoice.replace(
        b'<cbc:TaxInclusiveAmount currencyID="EUR">8550</cbc:TaxInclusiveAmount>',
        b'<cbc:TaxInclusiveAmount currencyID="EUR">8551</cbc:TaxInclusiveAmount>',
    )
    assert broken != peppol_invoice
    report = validate(broken, ["en16931"])
    [problem] = [p for p in report.fatal if p.rule == "BR-CO-15"]
    assert problem.record == "Snippet1"
    assert problem.bt == "BT-112"
    assert problem.path.startswith("/*:Invoice")
    assert problem.message.startswith("[BR-CO-15]")


def test_xsd_finding_names_line_and_element(peppol_invoice: bytes) -> None:
    """An XSD violation is a fatal XSD finding with the element path and libxml2's reason."""
    broken = peppol_invoice.replace(b"<cbc:IssueDate>2017-11-13<", b"<cbc:IssueDate>13.11.2017<")
    report = validate(broken, ["en16931"])
    [problem] = [p for p in report.fatal if p.rule == "XSD"]
    assert "IssueDate" in problem.path
    assert "13.11.2017" in problem.message and "line 9" in problem.message


def test_rule_set_not_for_syntax_is_a_usage_error(conformance: Path) -> None:
    """peppol on CII (no compiled Peppol CII rules exist) is refused, never skipped into a PASS."""
    with pytest.raises(ConfigError, match="rule set 'peppol' does not exist for cii"):
        validate((conformance / CII_SAMPLE).read_bytes(), ["en16931", "peppol"])
    with pytest.raises(ConfigError, match="rule set 'facturx' does not exist for ubl"):
        validate((conformance / UBL_XR_SAMPLE).read_bytes(), ["facturx"], syntax="ubl")


def test_facturx_adds_the_facturx_schema(conformance: Path) -> None:
    """facturx checks CII against the Factur-X EN16931 XSD as well as CII D16B."""
    content = (conformance / CII_SAMPLE).read_bytes()
    # an element CII D16B allows but the Factur-X EN16931 profile does not
    extra = b"<ram:Name>x</ram:Name>"
    broken = content.replace(b"<ram:ID>123456XX</ram:ID>", b"<ram:ID>123456XX</ram:ID>" + extra)
    assert broken != content
    assert validate(broken, ["en16931"]).passed is validate(content, ["en16931"]).passed
    facturx = validate(broken, ["en16931", "facturx"])
    assert [p.rule for p in facturx.fatal] == ["XSD"]
    assert "facturx schema" in facturx.fatal[0].message


def test_report_as_dict_is_json_and_raise_for_fatal(peppol_invoice: bytes) -> None:
    """as_dict() is JSON-serialisable; raise_for_fatal raises ValidationFailed with the fatals."""
    broken = peppol_invoice.replace(b"<cbc:IssueDate>2017-11-13<", b"<cbc:IssueDate>2017-13-13<")
    report = validate(broken, ["en16931", "peppol"], name="x.xml")
    data = json.loads(json.dumps(report.as_dict()))
    assert data["passed"] is False and data["name"] == "x.xml"
    assert {f["rule"] for f in data["findings"]} >= {"XSD"}
    with pytest.raises(ValidationFailed) as caught:
        report.raise_for_fatal()
    assert caught.value.findings == report.fatal
    validate(peppol_invoice, ["en16931", "peppol"]).raise_for_fatal()


def test_concurrent_validation_matches_sequential(conformance: Path) -> None:
    """Validating from several threads at once gives the same findings as one at a time."""
    paths = [conformance / p for p in (PEPPOL_SAMPLE, UBL_XR_SAMPLE, CII_SAMPLE)]
    paths += sorted((conformance / "samples" / "ubl" / "en16931").glob("*.xml"))[:5]
    rules = ["en16931", "xrechnung"]
    expected = [validate(p.read_bytes(), rules).findings for p in paths]
    with ThreadPoolExecutor(max_workers=4) as pool:
        got = list(pool.map(lambda p: validate(p.read_bytes(), rules).findings, paths * 3))
    assert got == expected * 3


def test_findings_carry_the_value_found_at_their_location(peppol_invoice: bytes) -> None:
    """A finding on a leaf (code, date) carries its value; one on a group carries none."""
    broken = peppol_invoice.replace(b"<cbc:IssueDate>2017-11-13<", b"<cbc:IssueDate>13.11.2017<")
    broken = broken.replace(b"<cbc:ID>S</cbc:ID>", b"<cbc:ID>X</cbc:ID>", 1)
    broken = broken.replace(b'currencyID="EUR">8550<', b'currencyID="EUR">8551<')
    report = validate(broken, ["en16931", "peppol"])
    values = {(p.rule, p.value) for p in report.fatal}
    assert ("XSD", "13.11.2017") in values
    assert ("PEPPOL-EN16931-F001", "13.11.2017") in values
    assert ("BR-CL-17", "X") in values
    assert ("BR-CO-15", None) in values
