"""Buyer-format files (declarative JSON/CSV/XML formats, ``config/formats``) under ``igw validate``.

A buyer format has no official rule set: it is checked against the buyer's own schema, which
its format file names. ``check_buyer_format`` runs that check on a file already written (the
same check ``Mapping.render`` runs on every document it renders); ``not_an_invoice`` is the
report for a JSON or CSV file given to ``validate()`` without saying which buyer format it is.
"""

from __future__ import annotations

import csv
import io
import re
import time
from dataclasses import replace
from pathlib import PurePath
from typing import Any

from gateway.errors import ConfigError, Problem
from gateway.validation.report import ValidationReport

RULE = "BUYER-FORMAT"
_DELIMITERS = (",", ";", "\t", "|")


def sniff_text_format(content: bytes) -> str | None:
    """``json`` or ``csv`` for bytes that are neither XML nor EDIFACT but look like one of them.

    JSON: the first non-blank character opens an object or array. CSV: the first line is UTF-8
    text with a delimiter (``, ; tab |``) in it. None otherwise.
    """
    text = content.removeprefix(b"\xef\xbb\xbf").lstrip()
    if not text or text[:1] == b"<":
        return None
    if text[:1] in (b"{", b"["):
        return "json"
    try:
        first = text[:4096].decode("utf-8").splitlines()[0]
    except (UnicodeDecodeError, IndexError):
        return None
    return "csv" if any(d in first for d in _DELIMITERS) else None


def buyer_formats(output: str | None = None) -> list[str]:
    """Names of the declarative buyer formats found (``config/formats``), of ``output`` if given."""
    from gateway.registry import declarative_names, resolve_mapping

    names = declarative_names()
    if output is None:
        return names
    return [n for n in names if getattr(resolve_mapping(n), "syntax", None) == output]


def format_from_name(name: str, kind: str) -> str | None:
    """The buyer format a file name says it is in: ``igw translate`` writes
    ``<invoice>.<format>.<extension>`` (``Document.filename``); None when no ``kind`` format's
    name is one of the dotted parts of the base name."""
    parts = PurePath(name).name.split(".")[1:-1]
    try:
        candidates = buyer_formats(kind)
    except ConfigError:
        return None
    return next((c for c in candidates if c in parts), None)


def check_text_file(
    content: bytes, kind: str, name: str, *, advise: bool = True
) -> ValidationReport | None:
    """A ``kind`` (json/csv/xml) file given to ``validate()`` without a format: checked against
    the buyer format its name gives (:func:`format_from_name`), else :func:`not_an_invoice`
    (None instead when not ``advise``)."""
    found = format_from_name(name, kind) if name else None
    if found is None:
        return not_an_invoice(kind, name) if advise else None
    report = check_buyer_format(content, found, name)
    note = f"buyer format {found} recognised from the file name (--format overrides)"
    return replace(report, notes=[note, *report.notes])


def not_an_invoice(kind: str, name: str) -> ValidationReport:
    """The report for a ``kind`` (json/csv) file given without a buyer format: how to check it.

    Its one fatal finding says that the file is no invoice syntax ``validate()`` checks and how a
    buyer-format file is checked instead, so such a file never passes unchecked.
    """
    try:
        candidates = buyer_formats(kind)
    except ConfigError:  # a broken format file must not hide the advice
        candidates = []
    example = candidates[0] if candidates else "FORMAT"
    label = name or "FILE"
    known = f"{', '.join(candidates)}" if candidates else "none found in the format search path"
    message = (
        f"a {kind.upper()} file, not a UBL, CII, EDIFACT or cXML invoice: a buyer-format file is "
        f"checked against the buyer's schema, with `igw validate --format {example} {label}`, "
        f"or rendered and checked from the ERP records with `igw translate RECORDS --to {example}`"
    )
    problem = Problem(
        record=label,
        path="(the whole file)",
        bt=None,
        value=None,
        rule=RULE,
        message=message,
        accepted=f"UBL 2.1, CII D16B, UN/EDIFACT or cXML; with --format, a {kind} buyer format "
        f"({known})",
        flag="fatal",
    )
    return ValidationReport(
        name=name, record=label, syntax=kind, rules=(), findings=[problem], seconds=0.0
    )


def check_buyer_format(content: bytes, format_name: str, name: str = "") -> ValidationReport:
    """``content`` checked against the schema of buyer format ``format_name``.

    Raises ConfigError when ``format_name`` is unknown or not a buyer format (UBL, CII, EDIFACT
    and cXML are recognised from the document itself). Bytes that are not UTF-8 are one fatal
    finding; every schema violation is one, with its location (JSON pointer, CSV row and column,
    XML element path).
    """
    from gateway.registry import resolve_mapping

    started = time.perf_counter()
    mapping: Any = resolve_mapping(format_name)
    definition = getattr(mapping, "definition", None)
    if definition is None or not callable(getattr(mapping, "check", None)):
        known = ", ".join(buyer_formats()) or "none found"
        raise ConfigError(
            f"--format names a buyer format ({known}); '{format_name}' is a built-in format, "
            "which igw validate recognises from the document itself"
        )
    label = name or format_name
    try:
        text = content.decode("utf-8")
    except UnicodeDecodeError as exc:
        findings = [
            Problem(
                label,
                f"byte {exc.start}",
                None,
                None,
                "ENCODING",
                f"not UTF-8: {exc.reason}",
                "UTF-8 text",
            )
        ]
    else:
        checked = mapping.check(label, text, {"lines": _lines(text, definition)})
        findings = [_about_the_file(p) for p in checked]
    return ValidationReport(
        name=name,
        record=label,
        syntax=str(mapping.syntax),
        rules=(format_name,),
        findings=findings,
        notes=[f"checked against the schema of buyer format {format_name}: {definition.schema}"],
        seconds=time.perf_counter() - started,
        rules_from="caller",
    )


_TEMPLATE_WORDS = re.compile(r"^the template produced (?:invalid|malformed) (\w+)")


def _about_the_file(problem: Problem) -> Problem:
    """A syntax error the render-time check words as the template's ("the template produced
    invalid JSON", at "output line 3") reworded for a file checked on its own."""
    match = _TEMPLATE_WORDS.match(problem.message)
    if match is None:
        return problem
    return replace(
        problem,
        path=problem.path.removeprefix("output "),
        message=f"not well-formed {match.group(1)}{problem.message[match.end() :]}",
    )


def _lines(text: str, definition: Any) -> list[dict[str, object]]:
    """Stand-in invoice lines for a file checked on its own: one per CSV data row.

    The render-time check compares a per-line CSV's rows with the invoice's lines; a file read
    back has no invoice, so each row stands for one line and only the layout and schema count.
    """
    layout = getattr(definition, "csv", None)
    if layout is None or getattr(definition, "per", "") != "line":
        return [{}]
    rows = list(csv.reader(io.StringIO(text, newline=""), delimiter=layout.delimiter))
    return [{} for _ in rows[1 if layout.header else 0 :]]
