"""ValidationReport: the verdict on one document, with every finding as a Problem."""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from gateway.errors import Problem, ValidationFailed

# EN 16931 business terms (BT-n) and groups (BG-n) as the rule texts cite them: "(BT-112)",
# "BG-16", but not inside longer tokens such as "IBT-112" or "BT-1120x".
_BT = re.compile(r"(?<![A-Za-z0-9-])(B[TG]-\d+)(?![0-9])")


def bt_from_text(text: str) -> str | None:
    """The first BT/BG id a rule text mentions (``"... with VAT (BT-112) = ..."`` -> ``"BT-112"``).

    The rule id at the start of a text (``[BR-CO-15]``) is not a BT id; None when none is named.
    """
    match = _BT.search(text)
    return match.group(1) if match else None


@dataclass(frozen=True)
class ValidationReport:
    """The result of validating one document.

    ``name`` is what the caller called the document (file name, delivery id), ``record`` the
    invoice number found in it (else ``name``), ``syntax`` ``ubl``/``cii`` (or ``""`` when it could
    not be told), ``rules`` the rule sets applied, ``notes`` what was not checked and why.
    ``scenario`` (with ``scenario_title``) is the validation scenario the document's
    specification identifier ``specification_id`` (BT-24) matched, ``""`` when none was looked
    up (EDIFACT, cXML, unreadable XML); ``rules_from`` says whether ``rules`` came from that
    scenario (``"scenario"``) or were given by the caller (``"caller"``). ``passed`` is true
    when no finding is fatal.
    """

    name: str
    record: str
    syntax: str
    rules: tuple[str, ...]
    findings: list[Problem] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    seconds: float = 0.0
    scenario: str = ""
    scenario_title: str = ""
    specification_id: str | None = None
    rules_from: str = ""

    @property
    def fatal(self) -> list[Problem]:
        """The findings that fail the document."""
        return [p for p in self.findings if p.flag == "fatal"]

    @property
    def warnings(self) -> list[Problem]:
        """The findings that do not fail it."""
        return [p for p in self.findings if p.flag != "fatal"]

    @property
    def passed(self) -> bool:
        """True when no finding is fatal."""
        return not self.fatal

    def raise_for_fatal(self) -> None:
        """Raise ValidationFailed listing the fatal findings, if there are any."""
        if not self.passed:
            raise ValidationFailed(self.name or self.record, self.fatal)

    def as_dict(self) -> dict[str, object]:
        """A JSON-ready dict: the fields above plus ``passed`` and each finding's ``as_dict()``."""
        return {
            "name": self.name,
            "record": self.record,
            "syntax": self.syntax,
            "rules": list(self.rules),
            "scenario": self.scenario,
            "scenario_title": self.scenario_title,
            "specification_id": self.specification_id,
            "rules_from": self.rules_from,
            "passed": self.passed,
            "seconds": round(self.seconds, 4),
            "notes": list(self.notes),
            "findings": [p.as_dict() for p in self.findings],
        }
