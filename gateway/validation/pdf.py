"""How a PDF for people (the ``pdf`` format) is checked: its structure, not XML rules.

A PDF carries no EN 16931 syntax to validate (the invoice it shows was checked before it was
rendered); what can go wrong is a truncated or damaged file. The check: a ``%PDF-1.x`` header,
a cross-reference (``startxref`` pointing inside the file) and the ``%%EOF`` trailer marker.
A hybrid PDF (Factur-X, ZUGFeRD) is checked for that structure and its embedded XML is
validated like the XML on its own (:func:`check_pdf`).
"""

from __future__ import annotations

import re
import time
from dataclasses import replace

from gateway.errors import Problem
from gateway.validation.report import ValidationReport

_HEADER = re.compile(rb"%PDF-(\d\.\d)")
_STARTXREF = re.compile(rb"startxref\s+(\d+)\s+%%EOF\s*$")


def check_pdf_structure(content: bytes, name: str = "") -> ValidationReport:
    """A report with a fatal ``PDF-STRUCTURE`` finding when ``content`` is not a whole PDF."""
    started = time.perf_counter()
    findings: list[Problem] = []
    header = _HEADER.match(content.lstrip()[:16])
    tail = _STARTXREF.search(content[-1024:])
    problem = ""
    if header is None:
        problem = "no %PDF-1.x header at the start"
    elif tail is None:
        problem = "no 'startxref ... %%EOF' at the end (truncated?)"
    elif int(tail.group(1)) >= len(content):
        problem = f"startxref {int(tail.group(1))} points beyond the end of the file"
    if problem:
        findings.append(
            Problem(
                name, "", None, None, "PDF-STRUCTURE", f"not a complete PDF: {problem}",
                "a PDF file with header, cross-reference and %%EOF", "fatal",
            )
        )  # fmt: skip
    return ValidationReport(
        name=name,
        record=name,
        syntax="pdf",
        rules=(),
        findings=findings,
        notes=["pdf: a document for people, checked for its structure (header, xref, %%EOF)"],
        seconds=time.perf_counter() - started,
    )


# The rule sets of the embedded XML by its file name; others (xrechnung.xml) by their BT-24.
_RULES_BY_NAME = {
    "factur-x.xml": ("en16931", "facturx"),
    "zugferd-invoice.xml": ("en16931", "facturx"),
}


def check_pdf(content: bytes, name: str = "") -> ValidationReport:
    """:func:`check_pdf_structure`, and for a PDF embedding invoice XML (``factur-x.xml``,
    ``ZUGFeRD-invoice.xml``, ``xrechnung.xml``) that XML's validation (XSD + schematron,
    EN 16931 + Factur-X for the Factur-X names) merged into the report."""
    from gateway.errors import ParseError
    from gateway.registry import resolve_mapping
    from gateway.validation.validator import validate

    structure = check_pdf_structure(content, name)
    if not structure.passed:
        return structure
    try:
        xml_name, xml = resolve_mapping("facturx-pdf").embedded_xml(content)
    except ParseError:
        return structure
    inner = validate(xml, _RULES_BY_NAME.get(xml_name.lower()), syntax="cii", name=name)
    return replace(
        inner,
        findings=[*inner.findings, *structure.findings],
        notes=[*inner.notes, f"pdf: structure checked; the embedded {xml_name} validated as CII"],
    )
