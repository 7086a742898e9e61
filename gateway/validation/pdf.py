"""How a PDF for people (the ``pdf`` format) is checked: its structure, not XML rules.

A PDF carries no EN 16931 syntax to validate (the invoice it shows was checked before it was
rendered); what can go wrong is a truncated or damaged file. The check: a ``%PDF-1.x`` header,
a cross-reference (``startxref`` pointing inside the file) and the ``%%EOF`` trailer marker.
"""

from __future__ import annotations

import re
import time

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
