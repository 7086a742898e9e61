"""The translate pipeline: accepted Invoice -> business rules -> render -> validate, per format.

One record never stops the batch: every step's problems are collected into the record's outcome.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field

from gateway.document import Document
from gateway.envelope import Envelope
from gateway.errors import GatewayError, Problem
from gateway.model import Invoice
from gateway.partner_ids import derived_options
from gateway.profile import BuyerProfile
from gateway.rules import check
from gateway.validation import validate
from mappings.base import Mapping

# Rule sets the in-process check knows; "facturx" is the Factur-X XSD only, checked on the output.
IN_PROCESS_RULE_SETS = frozenset({"en16931", "peppol", "xrechnung"})


@dataclass(frozen=True)
class Outcome:
    """What became of one record in one target format."""

    record: str
    format: str
    document: Document | None = None
    problems: tuple[Problem, ...] = field(default=())

    @property
    def ok(self) -> bool:
        """True when a document was produced and nothing fatal was found."""
        return self.document is not None and not any(p.flag == "fatal" for p in self.problems)


def translate_one(
    invoice: Invoice,
    mapping: Mapping,
    profile: BuyerProfile,
    *,
    record: str,
    envelope: Envelope | None = None,
    run_validation: bool = True,
) -> Outcome:
    """Check ``invoice`` with the mapping's rule sets, render it, and validate the document.

    ``envelope`` carries the control references and time for syntaxes that need them."""
    rule_sets = [r for r in mapping.rules if r in IN_PROCESS_RULE_SETS]
    problems = check(invoice, rule_sets, record=record, syntax=mapping.syntax)
    if any(p.flag == "fatal" for p in problems):
        return Outcome(record, mapping.name, None, tuple(problems))
    derived = derived_options(invoice, mapping.syntax)
    if derived:
        profile = profile.model_copy(update={"options": {**derived, **profile.options}})
    try:
        document = mapping.render(invoice, profile, envelope)
    except GatewayError as exc:  # e.g. a profile option the format needs is missing
        problem = Problem(record, "", None, None, "CONFIG", str(exc))
        return Outcome(record, mapping.name, None, (*problems, problem))
    except Exception as exc:  # a mapping bug must not take the rest of the batch down with it
        problem = Problem(
            record=record,
            path="",
            bt=None,
            value=None,
            rule="INTERNAL",
            message=f"{mapping.name} could not render this invoice: {exc!r} (a gateway bug: "
            "please report it with the record)",
        )
        return Outcome(record, mapping.name, None, (*problems, problem))
    if run_validation:
        report = validate(document, name=record)
        problems.extend(report.findings)
    return Outcome(record, mapping.name, document, tuple(problems))


def translate(
    invoices: Iterable[tuple[str, Invoice | None, Sequence[Problem]]],
    mappings: Sequence[Mapping],
    profile: BuyerProfile,
    *,
    envelopes: Callable[[], Envelope] | None = None,
    run_validation: bool = True,
) -> Iterator[Outcome]:
    """Translate every accepted record into every format; rejected records yield their problems.

    ``invoices`` yields ``(record label, invoice or None, intake problems)``; ``envelopes``
    gives a fresh envelope (control references) for each rendered document.
    """
    for record, invoice, intake_problems in invoices:
        if invoice is None or any(p.flag == "fatal" for p in intake_problems):
            for mapping in mappings:
                yield Outcome(record, mapping.name, None, tuple(intake_problems))
            continue
        for mapping in mappings:
            outcome = translate_one(
                invoice,
                mapping,
                profile,
                record=record,
                envelope=envelopes() if envelopes is not None else None,
                run_validation=run_validation,
            )
            if intake_problems:
                outcome = Outcome(
                    outcome.record,
                    outcome.format,
                    outcome.document,
                    tuple(intake_problems) + outcome.problems,
                )
            yield outcome
