"""Full validation (XSD + schematron) of a batch spread over processes: ``--jobs N``.

SaxonC is not thread safe and keeps one processor per process
(:mod:`gateway.validation.schematron`), so the work goes to a ``ProcessPoolExecutor`` of
freshly *spawned* interpreters (never forked from a parent that may hold a SaxonC processor),
each warmed up once by its initialiser (XSDs loaded, stylesheets of the batch's rule sets
compiled). Everything else — intake, master data, business rules, rendering, the envelopes'
control numbers — stays in the calling process, in input order, so a batch yields exactly
the outcomes and reports of ``--jobs 1``, in the same order: only the validation of each
rendered document runs elsewhere, and its findings are appended where ``translate_one`` would
append them. At most ``4 × jobs`` documents are in flight, so memory stays bounded.

``--jobs auto`` (the default): every core for a batch over :data:`AUTO_THRESHOLD` invoices
(records for ``translate``, files for ``validate``), one process otherwise (starting and warming
a process costs one to two seconds of CPU).
"""

from __future__ import annotations

import dataclasses
import itertools
import multiprocessing
import os
from collections import deque
from collections.abc import Callable, Iterable, Iterator, Sequence
from concurrent.futures import Future, ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from typing import TYPE_CHECKING, TypeVar

from gateway.cli.progress import Progress
from gateway.errors import GatewayError, Problem

if TYPE_CHECKING:
    import argparse

    from gateway.document import Document
    from gateway.envelope import Envelope
    from gateway.masterdata.sellers import SellerSet
    from gateway.model import Invoice
    from gateway.profiles.load import ProfileSet
    from gateway.profiles.profile import BuyerProfile
    from gateway.translation.pipeline import Outcome
    from gateway.validation import ValidationReport
    from mappings.base import Mapping

T = TypeVar("T")
R = TypeVar("R")

#: ``--jobs auto`` uses every core for batches of more than this many invoices
AUTO_THRESHOLD = 50
#: documents in flight per process (bounds the memory of a long batch)
WINDOW_PER_JOB = 4


class ValidationProcessDied(GatewayError):
    """A validation process ended abnormally (killed, out of memory)."""


def cores() -> int:
    """The cores this process may run on."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not on Linux
        return os.cpu_count() or 1


def resolve_jobs(jobs: object, count: int) -> int:
    """The number of processes for a batch of ``count`` invoices: ``"auto"`` (or None) is
    every core for more than :data:`AUTO_THRESHOLD`, else 1; a number is capped at ``count``."""
    if jobs is None or jobs == "auto":
        return cores() if count > AUTO_THRESHOLD else 1
    if not isinstance(jobs, int) or isinstance(jobs, bool) or jobs < 1:
        raise ValueError(f"--jobs {jobs!r}; accepted: auto or a whole number >= 1")
    return max(1, min(jobs, count))


def jobs_value(text: str) -> int | str:
    """``--jobs`` on the command line: ``auto`` or a whole number >= 1."""
    import argparse

    if text.strip().lower() == "auto":
        return "auto"
    if not text.strip().isdigit() or int(text) < 1:
        raise argparse.ArgumentTypeError(f"{text!r}: accepted: auto or a whole number >= 1")
    return int(text)


def add_jobs_option(p: argparse.ArgumentParser) -> None:
    """``--jobs N`` (translate, validate)."""
    p.add_argument(
        "--jobs",
        type=jobs_value,
        default="auto",
        metavar="N",
        help="processes for full validation (env IGW_BATCH_JOBS; default auto: every core "
        f"for batches over {AUTO_THRESHOLD} invoices, else 1); results and order as with 1",
    )


def add_progress_option(p: argparse.ArgumentParser) -> None:
    """``--progress`` (translate, validate, submit)."""
    p.add_argument(
        "--progress",
        action="store_true",
        help="progress on stderr (done/total, %%, rate, ETA) even when it is not a terminal",
    )


# -- in the validation processes ------------------------------------------------------------


def _warm(rules: Sequence[str], syntaxes: Sequence[str]) -> None:
    """The initialiser: load the XSDs and compile the stylesheets the batch will need."""
    try:
        from gateway.validation import warm_up

        warm_up(rules, syntaxes)
    except Exception:  # only a head start: the first document loads what it needs anyway
        return


def _validate_document(document: Document, record: str) -> ValidationReport:
    from gateway.validation import validate

    return validate(document, name=record)


def _validate_bytes(content: bytes, rules: Sequence[str] | None, name: str) -> ValidationReport:
    from gateway.validation import validate

    return validate(content, rules, name=name)


# -- in the calling process -----------------------------------------------------------------


class ValidationPool:
    """Up to ``jobs`` spawned validation processes, each warmed up for ``rules`` on
    ``syntaxes``; a context manager (the processes end with it)."""

    def __init__(self, jobs: int, rules: Sequence[str] = (), syntaxes: Sequence[str] = ()) -> None:
        self.jobs = jobs
        self._executor = ProcessPoolExecutor(
            jobs,
            mp_context=multiprocessing.get_context("spawn"),
            initializer=_warm,
            initargs=(tuple(rules), tuple(syntaxes)),
        )

    def __enter__(self) -> ValidationPool:
        return self

    def __exit__(self, *_exc: object) -> None:
        self.close()

    def close(self) -> None:
        """End the processes (pending work is cancelled)."""
        self._executor.shutdown(wait=True, cancel_futures=True)

    def submit(self, fn: Callable[..., R], *args: object) -> Future[R]:
        """Run ``fn(*args)`` in a validation process."""
        return self._executor.submit(fn, *args)

    def ordered(
        self, items: Iterable[T], work: Callable[[T], Future[R] | None]
    ) -> Iterator[tuple[T, R | None]]:
        """``(item, result)`` in input order; ``work`` starts an item's job (None: no job for
        it, the result is None). At most ``WINDOW_PER_JOB × jobs`` jobs in flight."""
        window = WINDOW_PER_JOB * self.jobs
        pending: deque[tuple[T, Future[R] | None]] = deque()
        for item in items:
            pending.append((item, work(item)))
            while sum(f is not None for _, f in pending) > window or (
                pending and pending[0][1] is None
            ):
                head, future = pending.popleft()
                yield head, _result(future)
        while pending:
            head, future = pending.popleft()
            yield head, _result(future)


def _result(future: Future[R] | None) -> R | None:
    """The job's result (None without a job); a dead process is a :class:`GatewayError`."""
    if future is None:
        return None
    try:
        return future.result()
    except BrokenProcessPool as exc:
        raise ValidationProcessDied(
            f"a validation process ended abnormally ({exc}); run again with --jobs 1 to "
            "validate in this process"
        ) from exc


def translate_batch(
    invoices: Iterable[tuple[str, Invoice | None, Sequence[Problem]]],
    mappings: Sequence[Mapping],
    profile: BuyerProfile,
    *,
    envelopes: Callable[[], Envelope] | None = None,
    run_validation: bool = True,
    sellers: SellerSet | None = None,
    buyers: ProfileSet | None = None,
    jobs: object = "auto",
    progress: Progress | None = None,
) -> Iterator[Outcome]:
    """:func:`gateway.translation.pipeline.translate` over a batch, its full validation on ``jobs``
    processes (see the module doc), counting records on ``progress``. Same outcomes, same
    order as ``jobs=1``."""
    from gateway.masterdata.load import NO_SELLERS
    from gateway.translation.pipeline import translate

    items: Iterable[tuple[str, Invoice | None, Sequence[Problem]]] = invoices
    if progress is not None and progress.enabled:
        listed = list(invoices)
        progress.total, items = len(listed), listed
        count = len(listed)
    else:  # enough to decide "auto" without reading the whole batch
        rest = iter(invoices)
        head = list(itertools.islice(rest, AUTO_THRESHOLD + 1))
        items, count = itertools.chain(head, rest), len(head)
    processes = resolve_jobs(jobs, count) if run_validation else 1
    outcomes = translate(
        items,
        mappings,
        profile,
        envelopes=envelopes,
        run_validation=run_validation and processes == 1,
        sellers=NO_SELLERS if sellers is None else sellers,
        buyers=buyers,
    )
    if processes > 1:
        outcomes = _validated(outcomes, mappings, processes)
    records: set[str] = set()
    bad: set[str] = set()
    for outcome in outcomes:
        records.add(outcome.record)
        if not outcome.ok:
            bad.add(outcome.record)
        yield outcome
        if progress is not None:
            progress.update(len(records), len(bad))


def _validated(
    outcomes: Iterable[Outcome], mappings: Sequence[Mapping], jobs: int
) -> Iterator[Outcome]:
    """Each rendered outcome with its validation findings appended (as ``translate_one``
    does in process), validated on ``jobs`` processes, in order."""
    rules = sorted({r for m in mappings for r in m.rules})
    syntaxes = sorted({m.syntax for m in mappings})
    with ValidationPool(jobs, rules, syntaxes) as pool:

        def work(outcome: Outcome) -> Future[ValidationReport] | None:
            if outcome.document is None:  # refused before validation (rules, size, render)
                return None
            return pool.submit(_validate_document, outcome.document, outcome.record)

        for outcome, report in pool.ordered(outcomes, work):
            if report is None:
                yield outcome
            else:
                problems = (*outcome.problems, *report.findings)
                yield dataclasses.replace(outcome, problems=problems)


class FileValidator:
    """``igw validate`` over many files: :meth:`validate` returns the report (one process)
    or its future (``jobs`` > 1); :meth:`results` gives the reports in the order given."""

    def __init__(self, jobs: object, count: int, progress: Progress | None = None) -> None:
        self.jobs = resolve_jobs(jobs, count)
        self.progress = progress
        if progress is not None:
            progress.total = count
        self._pool: ValidationPool | None = None
        self._done = 0

    def validate(
        self, content: bytes, rules: Sequence[str] | None, *, name: str
    ) -> ValidationReport | Future[ValidationReport]:
        """Validate ``content`` like :func:`gateway.validation.validate` (here or in a
        process)."""
        if self.jobs == 1:
            report = _validate_bytes(content, rules, name)
            self._done += 1
            if self.progress is not None:
                self.progress.update(self._done)
            return report
        if self._pool is None:
            self._pool = ValidationPool(self.jobs)
        return self._pool.submit(_validate_bytes, content, tuple(rules) if rules else None, name)

    def results(
        self, reports: Sequence[ValidationReport | Future[ValidationReport]]
    ) -> list[ValidationReport]:
        """Every report, in order (waiting for those still running); the processes end."""
        done: list[ValidationReport] = []
        failed = 0
        try:
            for number, item in enumerate(reports, 1):
                report = _result(item) if isinstance(item, Future) else item
                assert report is not None
                done.append(report)
                failed += not report.passed
                if self.progress is not None:
                    self.progress.update(number, failed)
        finally:
            if self._pool is not None:
                self._pool.close()
                self._pool = None
        return done
