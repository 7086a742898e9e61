"""The gateway's own exception hierarchy; every error a user can cause names what and where."""

from __future__ import annotations

from dataclasses import dataclass

from gateway.display import json_value, show


class GatewayError(Exception):
    """Root of every error the gateway raises on purpose."""


@dataclass(frozen=True)
class Problem:
    """One thing wrong with one record, in words a person can act on.

    ``record`` is the invoice number (BT-1) or the row/position of the input record,
    ``path`` the field path in the record format, ``bt`` its EN 16931 id, ``rule`` the rule id
    (``BR-CO-10``, ``PEPPOL-EN16931-R003``, ``INPUT`` for format errors), ``accepted`` what would
    have been accepted. ``value`` is what the rule tested, shown for people by
    :func:`gateway.display.show` (``0.00``, ``(none)``, ``2026-10-01``; cut past 120
    characters), never as a repr.
    """

    record: str
    path: str
    bt: str | None
    value: object
    rule: str
    message: str
    accepted: str = ""
    flag: str = "fatal"

    def __str__(self) -> str:
        where = f"{self.path} ({self.bt})" if self.bt else self.path
        if where:
            text = f"{self.record}: [{self.rule}] {where} = {show(self.value)}: {self.message}"
        else:
            text = f"{self.record}: [{self.rule}] {self.message}"
        return f"{text}; accepted: {self.accepted}" if self.accepted else text

    def as_dict(self) -> dict[str, object]:
        """A JSON-ready dict: ``value`` keeps JSON types (:func:`gateway.display.json_value`:
        null, amounts as decimal strings, lists as lists)."""
        return {
            "record": self.record,
            "path": self.path,
            "bt": self.bt,
            "value": json_value(self.value),
            "rule": self.rule,
            "message": self.message,
            "accepted": self.accepted,
            "flag": self.flag,
        }


class InvoiceRejected(GatewayError):
    """A record could not be accepted; ``problems`` lists every reason found."""

    def __init__(self, record: str, problems: list[Problem]) -> None:
        self.record = record
        self.problems = problems
        super().__init__("\n".join(str(p) for p in problems))


class InputError(GatewayError):
    """Input that cannot be read at all (file, syntax, encoding), with its location."""


class ParseError(InputError):
    """An inbound document that does not parse into the model; names the location in it."""

    def __init__(self, message: str, location: str = "") -> None:
        self.location = location
        super().__init__(f"{location}: {message}" if location else message)


class ConfigError(GatewayError):
    """Bad configuration (unknown plug-in name, malformed profile), raised at start-up."""


class ValidationFailed(GatewayError):
    """A rendered document failed its schema or schematron validation."""

    def __init__(self, document_name: str, findings: list[Problem]) -> None:
        self.findings = findings
        super().__init__(
            f"{document_name}: {len(findings)} validation finding(s)\n"
            + "\n".join(str(f) for f in findings)
        )
