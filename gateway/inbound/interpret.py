"""Inbound processing: a received payload (an AS2 message, a polled file) into the canonical model.

The payload is already in the store (:func:`gateway.store.inbound.record_inbound`) before this
runs, so nothing is lost whatever happens here; :func:`process_inbound` only records the outcome
with :func:`~gateway.store.inbound.finish_inbound`:

===========  ===============================================================================
state        when
===========  ===============================================================================
PARSED       the syntax was recognised, the document parsed and no fatal rule failed
             (canonical JSON and the invoice number BT-1 are stored; warnings in the detail)
REJECTED     it parsed, but fatal business rules failed (each named with field, BT id, value)
UNREADABLE   not a recognised invoice syntax, or it does not parse (the location is named)
===========  ===============================================================================

:func:`interpret` is the pure part (bytes in, verdict out), so the AS2 endpoint can build its MDN
text from the verdict and store verdict and MDN in one step.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass, field

from gateway.detect import PARSER_FOR_SYNTAX, detect_syntax
from gateway.errors import ConfigError, ParseError, Problem
from gateway.model import Invoice
from gateway.registry import resolve_mapping
from gateway.rules import check
from gateway.store import Store, canonical_json
from gateway.store.inbound import InboundRow, finish_inbound
from gateway.store.mdn_outbox import NewAsyncMdn
from gateway.totals import complete_record
from gateway.validation.scenarios import match_scenario

log = logging.getLogger(__name__)

PARSED, REJECTED, UNREADABLE = "PARSED", "REJECTED", "UNREADABLE"
DEFAULT_RULE_SETS: tuple[str, ...] = ("en16931",)
"""The in-process rule sets every inbound invoice is checked with; the rule sets of its
scenario (Peppol, XRechnung ..., found from its BT-24 as ``igw validate`` finds them) are added."""
MAX_LISTED = 20
"""At most this many problems are spelled out in the stored detail (all are counted)."""


@dataclass(frozen=True)
class Verdict:
    """What became of one payload: the state for the store, a detail line for people, and what
    was learnt (syntax, invoice, problems, the validation scenario its BT-24 selected and the
    in-process rule sets that ran)."""

    state: str
    detail: str
    syntax: str | None = None
    invoice: Invoice | None = None
    problems: tuple[Problem, ...] = field(default=())
    scenario: str | None = None
    rule_sets: tuple[str, ...] = field(default=())

    @property
    def invoice_number(self) -> str | None:
        """The invoice number (BT-1) when the payload parsed."""
        return self.invoice.number if self.invoice is not None else None

    @property
    def canonical(self) -> str | None:
        """The parsed invoice as canonical JSON (as the outbound side stores it)."""
        return canonical_json(self.invoice) if self.invoice is not None else None


def interpret(
    content: bytes, *, rule_sets: Sequence[str] = DEFAULT_RULE_SETS, label: str = "payload"
) -> Verdict:
    """:func:`judge` behind a last-resort boundary: never raises.

    The parsers and rules raise only the gateway's own errors (the fuzz harnesses in
    tests/fuzz hold them to it); should anything else escape, the payload (already stored)
    gets an UNREADABLE verdict naming the failure, and the traceback goes to the log, so the
    sender still gets an answer and the message never stays RECEIVED.
    """
    try:
        return judge(content, rule_sets=rule_sets, label=label)
    except Exception as exc:
        log.exception(
            "inbound %s: unexpected %s while interpreting",
            label,
            type(exc).__name__,
            extra={"inbound": label},
        )
        detail = (
            f"{label}: the gateway failed on this document: {type(exc).__name__}: {exc} "
            "(a gateway bug: please report it with the stored payload)"
        )
        return Verdict(UNREADABLE, detail[:2000])


def judge(
    content: bytes, *, rule_sets: Sequence[str] = DEFAULT_RULE_SETS, label: str = "payload"
) -> Verdict:
    """Detect the syntax of ``content``, parse it with that syntax's mapping and run the
    in-process business rules; ``label`` names the payload in messages (e.g. the message id).

    The rules are ``rule_sets`` plus those of the document's validation scenario, selected from
    its specification identifier (BT-24) with :func:`gateway.validation.scenarios.match_scenario`,
    the table ``igw validate`` uses: a Peppol BIS 3 invoice is checked with the Peppol rules,
    an XRechnung one with the XRechnung rules. The verdict names the scenario and rule sets.

    Raises nothing for bad content (anything else is a gateway bug, which :func:`interpret`
    contains): an unrecognised or unparsable payload is UNREADABLE, fatal
    rule failures REJECTED. The rules run on the invoice completed with
    :func:`gateway.totals.complete` (they are written for completed invoices; every amount the
    document gave is kept and checked as given).
    """
    try:
        syntax = detect_syntax(content)
    except ParseError as exc:
        return Verdict(UNREADABLE, f"{label}: {exc}")
    try:
        mapping = resolve_mapping(PARSER_FOR_SYNTAX[syntax])
        invoice = mapping.parse(content)
    except (ParseError, ConfigError) as exc:
        return Verdict(UNREADABLE, f"{label}: {syntax} document does not parse: {exc}", syntax)
    scenario = match_scenario(syntax, invoice.specification_id).scenario
    selected = tuple(dict.fromkeys([*rule_sets, *scenario.in_process]))
    completed, refused = complete_record(invoice)
    if completed is None:  # amounts that cannot be computed within EN 16931's ranges
        detail = f"{label}: invoice {invoice.number} ({syntax}) cannot be completed"
        return Verdict(
            REJECTED,
            _listed(detail, refused),
            syntax,
            invoice,
            tuple(refused),
            scenario.name,
            selected,
        )
    problems = tuple(check(completed, selected, record=invoice.number, syntax=syntax))
    fatal = [p for p in problems if p.flag == "fatal"]
    warnings = [p for p in problems if p.flag != "fatal"]
    checked = f"scenario {scenario.name}, rules {','.join(selected) or 'none'}"
    if fatal:
        detail = (
            f"{label}: invoice {invoice.number} ({syntax}) breaks {len(fatal)} rule(s) ({checked})"
        )
        return Verdict(
            REJECTED, _listed(detail, fatal), syntax, invoice, problems, scenario.name, selected
        )
    detail = f"{label}: invoice {invoice.number} ({syntax}) parsed ({checked})"
    if warnings:
        detail = _listed(f"{detail}, {len(warnings)} warning(s)", warnings)
    return Verdict(PARSED, detail, syntax, invoice, problems, scenario.name, selected)


def _listed(head: str, problems: Sequence[Problem]) -> str:
    lines = [head + ":"] + [f"  {p}" for p in problems[:MAX_LISTED]]
    if len(problems) > MAX_LISTED:
        lines.append(f"  ... and {len(problems) - MAX_LISTED} more")
    return "\n".join(lines)


def finish(
    store: Store,
    row: InboundRow,
    verdict: Verdict,
    *,
    answer: bytes | None = None,
    async_mdn: NewAsyncMdn | None = None,
) -> InboundRow:
    """Record ``verdict`` (and our ``answer``, e.g. the MDN bytes, with ``async_mdn`` its place in
    the outbox when it is to be POSTed) on the stored ``row``, in one transaction."""
    return finish_inbound(
        store,
        row.id,
        state=verdict.state,
        detail=verdict.detail,
        syntax=verdict.syntax,
        invoice_number=verdict.invoice_number,
        canonical=verdict.canonical,
        answer=answer,
        async_mdn=async_mdn,
    )


def process_inbound(
    store: Store,
    row: InboundRow,
    *,
    rule_sets: Sequence[str] = DEFAULT_RULE_SETS,
    answer: bytes | None = None,
) -> tuple[InboundRow, Verdict]:
    """Interpret the stored payload of ``row`` and record the outcome; returns the finished
    row and the verdict. Safe to repeat on an unfinished row (after a crash)."""
    verdict = interpret(row.content, rule_sets=rule_sets, label=f"{row.partner} {row.message_id}")
    return finish(store, row, verdict, answer=answer), verdict
