"""The translate pipeline: accepted Invoice -> master data -> business rules -> render ->
validate, per format.

One record never stops the batch: every step's problems are collected into the record's outcome.
Master data (:mod:`gateway.masterdata`) fills absent terms before the rules run: the seller's
file first, then the profile's ``[defaults]``; its conflicts are warnings.

A record's own problems (intake and master data) are the same for every target format, so they
are reported once: on the record's first outcome. Its other outcomes carry only what their
format found (a record refused at intake: one ``info`` line pointing at the first).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from gateway.delivery.routing import route
from gateway.document import Document
from gateway.envelope import Envelope
from gateway.errors import ConfigError, GatewayError, InvoiceRejected, ParseError, Problem
from gateway.limits import InputTooLarge, channel_accepts, check_input, oversize_message, read_input
from gateway.masterdata.apply import apply_buyer, fill_from_sellers
from gateway.masterdata.load import NO_SELLERS
from gateway.masterdata.sellers import SellerSet
from gateway.model import Invoice
from gateway.partner_ids import derived_options
from gateway.profiles.load import ProfileSet
from gateway.profiles.profile import BuyerProfile
from gateway.rules import check
from gateway.validation import validate
from mappings.base import Mapping

# Rule sets the in-process check knows; "facturx" is the Factur-X XSD only, checked on the output.
IN_PROCESS_RULE_SETS = frozenset({"en16931", "peppol", "xrechnung"})


@dataclass(frozen=True)
class Outcome:
    """What became of one record in one target format.

    ``problems`` are this format's findings; the record's own (intake, master data) come on the
    record's first outcome only (see the module docstring).
    """

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
    oversize = _oversize(document, profile, record)
    if oversize is not None:  # refused before validation: its memory grows with the size
        return Outcome(record, mapping.name, None, (*problems, oversize))
    if run_validation:
        report = validate(document, name=record)
        problems.extend(report.findings)
    return Outcome(record, mapping.name, document, tuple(problems))


def _oversize(document: Document, profile: BuyerProfile, record: str) -> Problem | None:
    """The refusal of a document larger than the profile's (primary) channel carries."""
    channel = profile.channel
    if channel is None:
        return None
    size, limit = len(document.content), channel.size_limit
    if size <= limit:
        return None
    message = oversize_message(
        f"invoice {document.invoice_number}",
        size,
        limit,
        channel.connector,
        explicit=channel.max_size is not None,
    )
    return Problem(
        record, "", None, size, "SIZE", message, channel_accepts(channel.connector, limit)
    )


def translate(
    invoices: Iterable[tuple[str, Invoice | None, Sequence[Problem]]],
    mappings: Sequence[Mapping],
    profile: BuyerProfile,
    *,
    envelopes: Callable[[], Envelope] | None = None,
    run_validation: bool = True,
    sellers: SellerSet = NO_SELLERS,
    buyers: ProfileSet | None = None,
) -> Iterator[Outcome]:
    """Translate every accepted record into every format; rejected records yield their problems.

    ``invoices`` yields ``(record label, invoice or None, intake problems)``; ``envelopes``
    gives a fresh envelope (control references) for each rendered document. ``sellers`` and
    the ``[defaults]`` of the profile in ``buyers`` each invoice routes to fill absent terms
    first (``profile`` gives the mapping options only).
    """
    for record, given, given_problems in invoices:
        invoice, intake_problems = given, tuple(given_problems)
        if given is not None:
            invoice, filled = fill_master_data(given, sellers, buyers, record=record)
            intake_problems += filled
        if invoice is None or any(p.flag == "fatal" for p in intake_problems):
            yield from _refused(record, mappings, intake_problems)
            continue
        for n, mapping in enumerate(mappings):
            outcome = translate_one(
                invoice,
                mapping,
                profile,
                record=record,
                envelope=envelopes() if envelopes is not None else None,
                run_validation=run_validation,
            )
            if intake_problems and n == 0:  # the record's own problems: once, on its first
                outcome = Outcome(
                    outcome.record,
                    outcome.format,
                    outcome.document,
                    tuple(intake_problems) + outcome.problems,
                )
            yield outcome


INTAKE_RULE = "INTAKE"


def _refused(
    record: str, mappings: Sequence[Mapping], problems: tuple[Problem, ...]
) -> Iterator[Outcome]:
    """One outcome per format for a record refused before any format was tried: the first
    carries its problems, the others one ``info`` line that points there."""
    if not mappings:
        return
    first = mappings[0].name
    yield Outcome(record, first, None, problems)
    for mapping in mappings[1:]:
        note = Problem(
            record,
            "",
            None,
            None,
            INTAKE_RULE,
            f"not translated into {mapping.name}: the record was refused "
            f"(its problems are reported once, with {first})",
            flag="info",
        )
        yield Outcome(record, mapping.name, None, (note,))


def fill_master_data(
    invoice: Invoice, sellers: SellerSet, buyers: ProfileSet | None, *, record: str
) -> tuple[Invoice, tuple[Problem, ...]]:
    """The seller's master data, then the ``[defaults]`` of the profile in ``buyers`` that
    routing picks for the filled invoice (none when no profile matches): the filled invoice
    and the problems (conflict warnings; a fatal one when the seller's ids lead to several
    files)."""
    invoice, found = fill_from_sellers(invoice, sellers, record=record)
    if any(p.flag == "fatal" for p in found) or buyers is None:
        return invoice, found
    try:
        profile = route(invoice, buyers)
    except (InvoiceRejected, ConfigError):  # no profile for this buyer: nothing to fill
        return invoice, found
    source = str(buyers.sources.get(profile.name, f"buyer profile {profile.name}"))
    invoice, more = apply_buyer(invoice, profile, source=source, record=record)
    return invoice, found + more


RECORD_SUFFIXES = frozenset({".json", ".jsonl", ".ndjson", ".csv", ".txt"})


def read_inputs(
    paths: Iterable[str | Path],
    max_size: int | None = None,
) -> Iterator[tuple[str, Invoice | None, tuple[Problem, ...]]]:
    """``(record label, invoice or None, problems)`` for each file: ERP records (JSON / CSV, by
    :func:`gateway.intake.read_records`) or invoices in UBL, CII, EDIFACT INVOIC (every message
    of the interchange) or cXML, recognised by their content and parsed like inbound documents
    (totals the document leaves out completed). A document that does not parse is one rejected
    record naming the file and the location. A file over ``max_size`` bytes is one rejected
    record (rule ``SIZE``), refused by its size before anything is read."""
    from gateway.intake import read_records

    for name in paths:
        path = Path(name)
        try:
            check_input(path, max_size)
            if path.suffix.lower() in RECORD_SUFFIXES:
                for result in read_records(path):
                    yield result.record, result.invoice, result.problems
                continue
            data = read_input(path, max_size)
        except InputTooLarge as exc:
            yield str(path), None, (exc.problem(),)
            continue
        yield from read_content(data, str(path), path)


def read_content(
    data: bytes, name: str, source: str | Path | bytes | None = None
) -> Iterator[tuple[str, Invoice | None, tuple[Problem, ...]]]:
    """:func:`read_inputs` on the bytes of one input called ``name``: an invoice document
    (recognised by its content) or ERP records (read from ``source``, default ``data``).
    Unreadable records raise :class:`gateway.errors.InputError` as ``read_records`` does."""
    from gateway.detect import PARSER_FOR_SYNTAX, detect_syntax
    from gateway.intake import read_records
    from gateway.registry import resolve_mapping
    from gateway.totals import complete_record

    try:
        syntax = detect_syntax(data)
    except ParseError:
        for result in read_records(data if source is None else source):  # a CSV/JSON export
            yield result.record, result.invoice, result.problems
        return
    mapping = resolve_mapping(PARSER_FOR_SYNTAX[syntax])
    try:
        parse_all = getattr(mapping, "parse_all", None)
        parsed = parse_all(data) if parse_all is not None else [mapping.parse(data)]
    except ParseError as exc:
        problem = Problem(name, "", None, None, "INPUT", f"{name}: {exc}")
        yield name, None, (problem,)
        return
    for invoice in parsed:
        completed, problems = complete_record(invoice)
        yield invoice.number, completed, tuple(problems)
