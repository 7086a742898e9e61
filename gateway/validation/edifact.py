"""Validation of EDIFACT interchanges: syntax and envelope, then INVOIC D.96A structure.

Rule ids follow the independent checker (``/work/shared/conformance/validate.py``): EDI-UNA,
EDI-RELEASE, EDI-TRAILING, EDI-TAG, EDI-UNB, EDI-UNH, EDI-UNT, EDI-UNE, EDI-UNZ, EDI-OUTSIDE,
EDI-STRUCT (segment order, mandatory segments, repetitions), EDI-ELEMENTS (too many data
elements), EDI-COMPONENTS, EDI-MANDATORY (a mandatory data element empty), EDI-NUMERIC,
EDI-LENGTH, EDI-DECIMAL (a warning, as in the checker). The Problem ``path`` is
``segment <position> <tag>[ element <n>[ component <m>]]``, positions counted from UNB = 1, and
``value`` the UN/EDIFACT syntax error code (0085) where one applies.
"""

from __future__ import annotations

import time

from gateway.errors import Problem
from gateway.validation.report import ValidationReport
from mappings.edifact.directory import check_segment
from mappings.edifact.interchange import InterchangeError, read_messages_for_validation
from mappings.edifact.structure import match
from mappings.edifact.syntax import RawSegment

_ENVELOPE_RULES = {
    "UNA": "EDI-UNA",
    "UNB": "EDI-UNB",
    "UNH": "EDI-UNH",
    "UNT": "EDI-UNT",
    "UNG": "EDI-UNE",
    "UNE": "EDI-UNE",
    "UNZ": "EDI-UNZ",
}


def rule_of(error: InterchangeError) -> str:
    """The checker's rule id for an interchange error."""
    if error.tag == "UNA":
        return "EDI-UNA"
    if error.code == 21:
        return "EDI-RELEASE"
    if error.message.startswith(("segment terminator", "data after UNZ", "segments after UNZ")):
        return "EDI-TRAILING"
    if error.message.startswith("invalid segment tag"):
        return "EDI-TAG"
    if error.code == 33:
        return "EDI-OUTSIDE"
    return _ENVELOPE_RULES.get(error.tag, "EDI-SYNTAX")


def _where(
    position: int, tag: str, element: int | None = None, component: int | None = None
) -> str:
    text = f"segment {position} {tag}".rstrip()
    if element is not None:
        text += f" element {element}"
        if component is not None:
            text += f" component {component}"
    return text


def _directory(seg: RawSegment, record: str, decimal: str) -> list[Problem]:
    return [
        Problem(
            record,
            _where(seg.position, seg.tag, element or None, component),
            None,
            seg.get(element - 1, (component or 1) - 1) if element else seg.tag,
            rule,
            text,
            "the D.96A segment directory",
            "warning" if rule == "EDI-DECIMAL" else "fatal",
        )
        for rule, element, component, text in check_segment(seg, decimal)
    ]


def validate_edifact(data: bytes, name: str = "") -> ValidationReport:
    """Validate an interchange: every ``check_interchange`` error, then for each INVOIC D.96A
    message its structure (segment order, mandatory segments and groups, repetitions) and each
    segment against the D.96A directory (element and component counts, mandatory elements,
    numeric values, lengths), as fatal Problems (EDI-DECIMAL: warning). ``record`` is the first
    BGM document number, else ``name``.
    """
    start = time.perf_counter()
    errors, messages, decimal = read_messages_for_validation(data)
    record = name
    for message in messages:
        bgm = next((s for s in message if s.tag == "BGM"), None)
        if bgm is not None and bgm.get(1):
            record = bgm.get(1)
            break
    findings = [
        Problem(
            record,
            _where(e.segment_position, e.tag, e.element, e.component),
            None,
            e.code,
            rule_of(e),
            e.message,
        )
        for e in errors
    ]
    notes: list[str] = []
    rules = ["edifact-syntax"]
    for message in messages:
        kind = message[0].elements[1] if len(message[0].elements) > 1 else ()
        if tuple(kind[:4]) != ("INVOIC", "D", "96A", "UN"):
            notes.append(
                f"message {message[0].get(0)!r}: {':'.join(kind)} structure not checked "
                "(only INVOIC D.96A is known)"
            )
            continue
        if "structure:INVOIC-D96A" not in rules:
            rules.append("structure:INVOIC-D96A")
        for kind_, position, text in match([(s.tag, s.position) for s in message]):
            tag = next((s.tag for s in message if s.position == position), "")
            code = {"missing": 13, "repeated": 35, "unexpected": 15}[kind_]
            findings.append(
                Problem(
                    record,
                    _where(position, tag),
                    None,
                    code,
                    "EDI-STRUCT",
                    f"{text} (INVOIC D.96A)",
                    "the D.96A INVOIC segment table",
                )
            )
        for seg in message:
            findings.extend(_directory(seg, record, decimal))
    findings.sort(key=lambda p: _position_key(p.path))
    return ValidationReport(
        name=name,
        record=record,
        syntax="edifact",
        rules=tuple(rules),
        findings=findings,
        notes=notes,
        seconds=time.perf_counter() - start,
    )


def _position_key(path: str) -> int:
    parts = path.split()
    return int(parts[1]) if len(parts) > 1 and parts[1].isdigit() else 0
