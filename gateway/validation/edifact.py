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

import bisect
import time
from collections.abc import Sequence
from dataclasses import replace
from typing import overload

from gateway.errors import Problem
from gateway.validation.report import ValidationReport
from mappings.edifact.directory import check_segment
from mappings.edifact.findings import PER_KIND, Capped, more_text, rule_of
from mappings.edifact.interchange import InterchangeError, read_messages_for_validation
from mappings.edifact.structure import match
from mappings.edifact.syntax import RawSegment

__all__ = ["rule_of", "validate_edifact"]  # rule_of lives with the cap in mappings.edifact


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
    findings: Capped[Problem] = Capped(_rule)
    summaries = [_problem(e, record) for e in errors if e.omitted]
    findings.extend(_problem(e, record) for e in errors if not e.omitted)
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
        for kind_, position, text in match(_TagsAndPositions(message)):
            tag = _tag_at(message, position)
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
    kept = sorted(findings, key=lambda p: _position_key(p.path))
    for rule, count in findings.omitted.items():
        first = findings.first_omitted[rule]
        summaries.append(replace(first, message=more_text(count, rule), accepted=""))
    left_out = sum(findings.omitted.values()) + sum(e.omitted for e in errors)
    if left_out:
        notes.append(
            f"{left_out:,} findings beyond the first {PER_KIND} of each kind are counted, "
            "not listed"
        )
    return ValidationReport(
        name=name,
        record=record,
        syntax="edifact",
        rules=tuple(rules),
        findings=[*kept, *summaries],
        notes=notes,
        seconds=time.perf_counter() - start,
    )


class _TagsAndPositions(Sequence[tuple[str, int]]):
    """``(tag, position)`` of each segment of a message, made when asked (a flood of 400,000
    segments would otherwise be copied once more)."""

    def __init__(self, message: Sequence[RawSegment]) -> None:
        self.message = message

    def __len__(self) -> int:
        return len(self.message)

    @overload
    def __getitem__(self, index: int) -> tuple[str, int]: ...
    @overload
    def __getitem__(self, index: slice) -> Sequence[tuple[str, int]]: ...
    def __getitem__(self, index: int | slice) -> tuple[str, int] | Sequence[tuple[str, int]]:
        if isinstance(index, slice):
            return [(s.tag, s.position) for s in self.message[index]]
        segment = self.message[index]
        return segment.tag, segment.position


def _tag_at(message: Sequence[RawSegment], position: int) -> str:
    """The tag of the segment at ``position`` (positions rise through a message), else ""."""
    index = bisect.bisect_left(message, position, key=lambda s: s.position)
    return (
        message[index].tag if index < len(message) and message[index].position == position else ""
    )


def _rule(problem: Problem) -> str:
    return problem.rule


def _problem(error: InterchangeError, record: str) -> Problem:
    return Problem(
        record,
        _where(error.segment_position, error.tag, error.element, error.component),
        None,
        error.code,
        rule_of(error),
        error.message,
    )


def _position_key(path: str) -> int:
    parts = path.split()
    return int(parts[1]) if len(parts) > 1 and parts[1].isdigit() else 0
