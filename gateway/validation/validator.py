"""validate(): XSD plus schematron rule sets on a UBL or CII document, as a ValidationReport."""

from __future__ import annotations

import difflib
import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any, Literal, cast

from lxml import etree

from gateway.document import Document
from gateway.errors import ConfigError, Problem
from gateway.validation.locate import value_at
from gateway.validation.report import ValidationReport, bt_from_text
from gateway.validation.scenarios import ScenarioMatch, document_scenario
from gateway.validation.schematron import SaxonDocument, SchematronError, preload_stylesheet
from gateway.validation.xsd import SchemaError, check_schema, preload_schema

NS_UBL_INVOICE = "urn:oasis:names:specification:ubl:schema:xsd:Invoice-2"
NS_UBL_CREDIT_NOTE = "urn:oasis:names:specification:ubl:schema:xsd:CreditNote-2"
NS_CII = "urn:un:unece:uncefact:data:standard:CrossIndustryInvoice:100"
_NS_CBC = "urn:oasis:names:specification:ubl:schema:xsd:CommonBasicComponents-2"
_NS_RAM = "urn:un:unece:uncefact:data:standard:ReusableAggregateBusinessInformationEntity:100"

SYNTAXES = ("ubl", "cii")


@dataclass(frozen=True)
class Check:
    """One step of a rule set: an XSD or a compiled schematron, named by its INDEX.toml entry."""

    kind: Literal["xsd", "xslt"]
    artefact: str
    role: str


# Rule set -> syntax -> check. A syntax missing from a rule set's row cannot be requested for it
# (no compiled Peppol XSLT for CII exists; Factur-X is a CII schema). The syntax's base XSD
# (UBL 2.1 or CII D16B) always runs as well; "facturx" adds the Factur-X EN16931 XSD to it.
RULE_SETS: dict[str, dict[str, Check]] = {
    "en16931": {"ubl": Check("xslt", "en16931", "ubl"), "cii": Check("xslt", "en16931", "cii")},
    "peppol": {"ubl": Check("xslt", "peppol", "ubl")},
    "xrechnung": {
        "ubl": Check("xslt", "xrechnung", "ubl"),
        "cii": Check("xslt", "xrechnung", "cii"),
    },
    "facturx": {"cii": Check("xsd", "facturx-en16931", "invoice")},
}

_BASE_XSD = {
    NS_UBL_INVOICE: Check("xsd", "ubl-2.1", "invoice"),
    NS_UBL_CREDIT_NOTE: Check("xsd", "ubl-2.1", "creditnote"),
    NS_CII: Check("xsd", "cii-d16b", "invoice"),
}
_SYNTAX_OF_NAMESPACE = {NS_UBL_INVOICE: "ubl", NS_UBL_CREDIT_NOTE: "ubl", NS_CII: "cii"}


def rule_names(rules: Iterable[str]) -> tuple[str, ...]:
    """Normalise a rule list (case, blanks, duplicates); ConfigError with a hint if unknown.

    A single string is read as a comma-separated list (``"en16931,peppol"``).
    """
    if isinstance(rules, str):
        rules = rules.split(",")
    result: list[str] = []
    for raw in rules:
        name = raw.strip().lower()
        if not name:
            continue
        if name not in RULE_SETS:
            close = difflib.get_close_matches(name, RULE_SETS, n=1)
            hint = f"; did you mean '{close[0]}'?" if close else ""
            raise ConfigError(f"unknown rule set '{raw}'{hint} (known: {', '.join(RULE_SETS)})")
        if name not in result:
            result.append(name)
    return tuple(result)


def warm_up(rules: Iterable[str] = tuple(RULE_SETS), syntaxes: Iterable[str] = SYNTAXES) -> None:
    """Load the XSDs and compile the stylesheets of ``rules`` for ``syntaxes`` now.

    A worker calls this at start so the first document does not pay the compile time.
    """
    names = rule_names(rules)
    wanted = set(syntaxes)
    for check in _BASE_XSD.values():
        if _syntax_of(check) in wanted:
            preload_schema(check.artefact, check.role)
    for name in names:
        for syntax, check in RULE_SETS[name].items():
            if syntax in wanted:
                _preload(check)


# Buyer formats (json/csv/xml templates) are checked against the buyer's schema when rendered.
RENDER_CHECKED_SYNTAXES = frozenset({"json", "csv", "xml"})


def _validate_other_syntax(
    content: bytes, syntax: str | None, name: str
) -> ValidationReport | None:
    """EDIFACT and cXML have their own validators; buyer formats were checked at render.

    Bytes of no invoice syntax that are JSON or CSV are checked against the buyer format their
    file name names (``INV-1.acme-portal-json.json``, as ``igw translate`` writes them), else
    get a report saying how a buyer-format file is checked (never a PASS, and no XML-PARSE
    error about a file that is not meant as XML).
    """
    if syntax == "pdf" or (syntax is None and content[:1024].lstrip().startswith(b"%PDF-")):
        from gateway.validation.pdf import check_pdf

        return check_pdf(content, name)
    if syntax is None:
        from gateway.detect import detect_syntax
        from gateway.errors import ParseError

        try:
            sniffed = detect_syntax(content)
        except ParseError:
            from gateway.validation.buyer_format import check_text_file, sniff_text_format

            kind = sniff_text_format(content)
            if kind is None:
                # XML of no invoice syntax: a buyer's own XML format when its name says so
                # (the XML path below reports any other root element as FORMAT).
                return check_text_file(content, "xml", name, advise=False)
            return check_text_file(content, kind, name)
        if sniffed in SYNTAXES:
            return None
        syntax = sniffed
    if syntax == "edifact":
        from gateway.validation.edifact import validate_edifact

        return validate_edifact(content, name)
    if syntax == "cxml":
        from gateway.validation.cxml import validate_cxml

        return validate_cxml(content, name)
    if syntax in RENDER_CHECKED_SYNTAXES:
        return ValidationReport(
            name=name,
            record=name,
            syntax=syntax,
            rules=(),
            findings=[],
            notes=[f"{syntax}: checked against the buyer's schema when rendered"],
            seconds=0.0,
        )
    return None


def require_for_syntax(names: Sequence[str], syntax: str, label: str = "") -> None:
    """ConfigError (a usage error) when a rule set in ``names`` has no artefact for ``syntax``.

    A requested check that cannot run is refused rather than skipped, so that no report can
    PASS with a requested rule set silently left out (there is no compiled Peppol XSLT for CII).
    """
    missing = [n for n in names if syntax not in RULE_SETS[n]]
    if not missing:
        return
    available = [n for n, by_syntax in RULE_SETS.items() if syntax in by_syntax]
    where = f"{label}: " if label else ""
    detail = "; ".join(
        f"rule set '{n}' does not exist for {syntax} (the shipped artefacts have it for "
        f"{', '.join(RULE_SETS[n]) or 'no syntax'} only)"
        for n in missing
    )
    raise ConfigError(
        f"{where}{detail}. Rule sets for {syntax}: {', '.join(available)}; or leave --rules out "
        "to check the document by its specification identifier (BT-24)"
    )


def validate(
    document: Document | bytes,
    rules: Sequence[str] | None = None,
    *,
    syntax: str | None = None,
    name: str = "",
) -> ValidationReport:
    """Validate a UBL 2.1 Invoice/CreditNote or CII D16B document with the official artefacts.

    ``syntax`` (``ubl``/``cii``) defaults to the Document's syntax, else to the one the root
    namespace names. ``rules`` defaults to the Document's ``rules``; when neither gives any,
    the rule sets are those of the document's scenario, found from its specification
    identifier BT-24 (:mod:`gateway.validation.scenarios`; an unknown one is checked against
    EN 16931 with a note naming the known ones). Known sets: en16931, peppol (UBL only),
    xrechnung, facturx (CII: Factur-X EN16931 XSD in addition to the CII D16B XSD). The
    syntax's XSD always runs. The report names the scenario the document matched either way.

    Never raises for a bad document: not well-formed XML, a DOCTYPE, a root of the wrong syntax,
    XSD and schematron failures all become fatal findings. Raises ConfigError for an unknown
    rule set or syntax, for a given rule set that does not exist for the document's syntax,
    or when the shipped artefacts cannot be loaded.
    """
    started = time.perf_counter()
    if isinstance(document, Document):
        content = document.content
        given = rules or document.rules or None
        syntax = syntax or document.syntax
        name = name or document.filename
        fallback_record = document.invoice_number or name
    else:
        content = document
        given = rules or None
        fallback_record = name
    dispatched = _validate_other_syntax(content, syntax, name)
    if dispatched is not None:
        if rules:
            where = f"{name}: " if name else ""
            raise ConfigError(
                f"{where}rule sets ({', '.join(rule_names(rules))}) apply to UBL and CII only; "
                f"this is {dispatched.syntax or 'no invoice syntax'}, which is checked by its "
                "own validator (EDIFACT: ISO 9735 syntax and the message structure; cXML: the "
                "DTD; a buyer format: its schema, with --format). Leave --rules out"
            )
        return dispatched
    names = rule_names(given) if given is not None else ()
    if syntax is not None and syntax not in SYNTAXES:
        raise ConfigError(f"validate() handles syntax {' and '.join(SYNTAXES)}, not '{syntax}'")
    if syntax is not None:
        require_for_syntax(names, syntax, name)

    findings: list[Problem] = []
    notes: list[str] = []
    match: ScenarioMatch | None = None

    def report(record: str, found: str) -> ValidationReport:
        scenario = match.scenario if match is not None else None
        return ValidationReport(
            name=name,
            record=record,
            syntax=found,
            rules=names,
            findings=findings,
            notes=notes,
            seconds=time.perf_counter() - started,
            scenario=scenario.name if scenario else "",
            scenario_title=scenario.title if scenario else "",
            specification_id=match.identifier if match is not None else None,
            rules_from="caller" if given is not None else ("scenario" if scenario else ""),
        )

    def fail(record: str, rule: str, path: str, message: str, accepted: str = "") -> None:
        findings.append(Problem(record, path, None, None, rule, message, accepted, "fatal"))

    parser = etree.XMLParser(
        load_dtd=False, no_network=True, resolve_entities=False, huge_tree=True
    )
    try:
        root = etree.fromstring(content, parser)
    except etree.XMLSyntaxError as exc:
        fail(fallback_record, "XML-PARSE", f"line {exc.lineno}", str(exc), "well-formed XML")
        return report(fallback_record, syntax or "")
    tree = root.getroottree()
    namespace = etree.QName(root).namespace or ""
    record = _invoice_number(root, namespace) or fallback_record
    doctype = str(cast(Any, tree.docinfo).doctype or "")
    if doctype:
        fail(
            record,
            "DOCTYPE",
            "/",
            f"a DOCTYPE is not allowed in UBL/CII invoices: {doctype[:200]}",
            "no DOCTYPE (entity declarations are an injection risk)",
        )
        return report(record, syntax or "")
    found = _SYNTAX_OF_NAMESPACE.get(namespace)
    if found is None or (syntax is not None and found != syntax):
        expected = syntax or "UBL 2.1 Invoice/CreditNote or CII CrossIndustryInvoice"
        rule = "ROOT" if syntax else "FORMAT"
        hint = "" if syntax else " (a buyer's own XML format: igw validate --format NAME)"
        message = f"root element {root.tag} is not {expected}{hint}"
        fail(record, rule, "/", message, _ACCEPTED_ROOTS)
        return report(record, syntax or "")

    match = document_scenario(root, found)
    if given is None:
        names = match.scenario.rules
        notes.extend(match.notes)
    else:
        require_for_syntax(names, found, name)
        if set(names) != set(match.scenario.rules):
            notes.append(
                f"checked with the rule sets given ({','.join(names)}); the document's "
                f"scenario {match.scenario.name} ({match.scenario.title}) would run "
                f"{','.join(match.scenario.rules) or 'the XSD only'}"
            )

    for error in check_schema(tree, _BASE_XSD[namespace].artefact, _BASE_XSD[namespace].role):
        findings.append(_schema_problem(record, error, found, root))
    saxon_doc: SaxonDocument | None = None
    for rule_set in names:
        check = RULE_SETS[rule_set][found]
        if check.kind == "xsd":
            for error in check_schema(tree, check.artefact, check.role):
                findings.append(_schema_problem(record, error, rule_set, root))
            continue
        try:
            if saxon_doc is None:
                saxon_doc = SaxonDocument(root)
            assertions = saxon_doc.run(check.artefact, check.role)
        except SchematronError as exc:
            fail(record, "XSLT-ERROR", "", f"{rule_set}: {str(exc)[:500]}")
            continue
        findings.extend(
            Problem(
                record=record,
                path=a.location,
                bt=bt_from_text(a.text),
                value=value_at(root, a.location),
                rule=a.rule,
                message=a.text,
                flag=a.flag,
            )
            for a in assertions
        )
    return report(record, found)


_ACCEPTED_ROOTS = f"a root element in {NS_UBL_INVOICE}, {NS_UBL_CREDIT_NOTE} or {NS_CII}"


def _schema_problem(record: str, error: SchemaError, source: str, root: etree._Element) -> Problem:
    return Problem(
        record=record,
        path=error.path or f"line {error.line}",
        bt=None,
        value=value_at(root, error.path) if error.path else None,
        rule="XSD",
        message=f"line {error.line}: {error.message} ({source} schema)",
        accepted=f"a document valid against the {source} XSD",
    )


def _invoice_number(root: etree._Element, namespace: str) -> str:
    if namespace in (NS_UBL_INVOICE, NS_UBL_CREDIT_NOTE):
        el = root.find(f"{{{_NS_CBC}}}ID")
    elif namespace == NS_CII:
        el = root.find(f"{{{NS_CII}}}ExchangedDocument/{{{_NS_RAM}}}ID")
    else:
        return ""
    return (el.text or "").strip() if el is not None else ""


def _syntax_of(check: Check) -> str:
    return "cii" if check.artefact == "cii-d16b" else "ubl"


def _preload(check: Check) -> None:
    if check.kind == "xsd":
        preload_schema(check.artefact, check.role)
    else:
        preload_stylesheet(check.artefact, check.role)
