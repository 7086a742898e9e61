"""RecordResult: what intake made of one ERP record (an Invoice, or why not)."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field, replace

from gateway.errors import InvoiceRejected, Problem
from gateway.model import Invoice


@dataclass(frozen=True)
class RecordResult:
    """One record of an ERP export after intake.

    ``record`` names the record for people: its invoice number (BT-1) when it has one, else its
    position (``"record 3"``, ``"rows 12-15"``). ``location`` always gives the position in the
    input. ``invoice`` is the completed :class:`Invoice` (totals filled by
    :func:`gateway.totals.complete`) or ``None`` when the record could not be read into the model.
    Later stages (business rules) add their findings with :meth:`with_problems`; a record is
    accepted only while it has an invoice and no fatal problem.
    """

    record: str
    location: str
    invoice: Invoice | None
    problems: tuple[Problem, ...] = field(default=())

    @property
    def accepted(self) -> bool:
        """True when there is an invoice and no problem flagged ``fatal``."""
        return self.invoice is not None and not any(p.flag == "fatal" for p in self.problems)

    def with_problems(self, problems: Iterable[Problem]) -> RecordResult:
        """A new result with ``problems`` appended (e.g. from ``gateway.rules.check``)."""
        return replace(self, problems=self.problems + tuple(problems))

    def rejection(self) -> InvoiceRejected:
        """The :class:`InvoiceRejected` error listing every problem of this record."""
        return InvoiceRejected(self.record, list(self.problems))
