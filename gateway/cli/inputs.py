"""The CLI's inputs and outputs: every input read (one failure never hides the rest), empty
exports and repeated invoice numbers refused as problems of their own, the output folder
checked before anything is written, JSON that reads back, and a closed pipe a quiet end.

Each helper is small and takes plain values, so ``gateway.cli.main`` keeps one line per use::

    for outcome in translate(translate_inputs(args.input, args.max_size), ...):
        ...
"""

from __future__ import annotations

import os
import sys
import tempfile
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, TypeVar

from gateway.errors import ConfigError, GatewayError, InputError, ParseError, Problem
from gateway.model import Invoice

if TYPE_CHECKING:
    from gateway.intake import RecordResult

T = TypeVar("T")
Item = tuple[str, Invoice | None, tuple[Problem, ...]]

INPUT_RULE = "INPUT"
DUPLICATE_RULE = "DUPLICATE"


class OutputError(GatewayError):
    """A document could not be written (one line naming the path and the reason)."""


def reason(exc: BaseException) -> str:
    """The human reason of an OS error (``No such file or directory``), else its text."""
    if isinstance(exc, OSError) and exc.strerror:
        return exc.strerror
    return str(exc)


def input_problem(name: str, message: str, accepted: str = "") -> Problem:
    """A fatal problem of a whole input file, labelled by the file."""
    return Problem(name, "", None, None, INPUT_RULE, message, accepted)


def each_input(
    paths: Iterable[str | Path],
    read: Callable[[str], Iterable[T]],
    failed: Callable[[str, Problem], T],
) -> Iterator[T]:
    """What ``read(path)`` yields for every path in turn; a file that cannot be read (missing,
    unreadable, not a document) or holds no record yields one ``failed(path, problem)`` item
    instead, and the next file is read all the same."""
    for path in map(str, paths):
        count = 0
        try:
            for item in read(path):
                count += 1
                yield item
        except (OSError, InputError, ParseError) as exc:
            text = f"cannot read: {reason(exc)}" if isinstance(exc, OSError) else str(exc)
            if not text.startswith(path):
                text = f"{path}: {text}"
            yield failed(path, input_problem(path, text))
            continue
        if count == 0:
            yield failed(
                path,
                input_problem(
                    path,
                    f"no records in {path}",
                    "an export with at least one invoice record (JSON object, array or lines; "
                    "CSV with a header and a row)",
                ),
            )


def refuse_duplicates(items: Iterable[tuple[str, Item]], *, several: bool) -> Iterator[Item]:
    """The items of ``(input path, item)`` pairs, every record whose invoice number (BT-1) an
    earlier record of the run already has refused as a problem of its own (its documents would
    overwrite the earlier record's). Positions count records per input (``record 3 of a.json``;
    without the file name when there is one input, ``several=False``)."""
    first: dict[str, tuple[str, str]] = {}
    counts: dict[str, int] = {}
    for path, (label, invoice, problems) in items:
        counts[path] = counts.get(path, 0) + 1
        here = f"record {counts[path]}" + (f" of {path}" if several else "")
        if invoice is None:
            yield label, invoice, problems
            continue
        key = safe_name(invoice.number)
        seen = first.get(key)
        if seen is None:
            first[key] = (here, invoice.number)
            yield label, invoice, problems
            continue
        where, number = seen
        clash = (
            f"{where} has this invoice number already"
            if number == invoice.number
            else f"{where} has invoice number {number!r}, which gives the same file names"
        )
        problem = Problem(
            f"{label} ({here})",
            "number",
            "BT-1",
            invoice.number,
            DUPLICATE_RULE,
            f"{clash}; {here} is refused (its documents would overwrite the first one's)",
            "one record per invoice number in a run",
        )
        yield problem.record, None, (*problems, problem)


def safe_name(number: str) -> str:
    """The invoice number as :attr:`gateway.document.Document.filename` writes it."""
    return "".join(c if c.isalnum() or c in "._-" else "_" for c in number)


def translate_inputs(paths: Sequence[str], max_size: int | None) -> Iterator[Item]:
    """The records of ``igw translate``'s inputs
    (:func:`gateway.translation.pipeline.read_inputs`), every
    input read although one fails, empty inputs and repeated invoice numbers refused."""
    from gateway.translation.pipeline import read_inputs

    def read(path: str) -> Iterator[tuple[str, Item]]:
        return ((path, item) for item in read_inputs([path], max_size))

    def failed(path: str, problem: Problem) -> tuple[str, Item]:
        return path, (path, None, (problem,))

    return refuse_duplicates(each_input(paths, read, failed), several=len(paths) > 1)


def check_out_folder(out: Path) -> None:
    """Create ``out`` (parents too) and prove a file can be written there; ConfigError naming
    the folder and the reason otherwise."""
    try:
        out.mkdir(parents=True, exist_ok=True)
        with tempfile.TemporaryFile(dir=out):
            pass
    except OSError as exc:
        raise ConfigError(f"--out {out}: cannot write there: {reason(exc)}") from exc


def write_output(target: Path, content: bytes) -> None:
    """Write ``content`` to ``target`` (folder created); :class:`OutputError` naming the path
    and the reason."""
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(content)
    except OSError as exc:
        raise OutputError(f"{target}: cannot write: {reason(exc)}") from exc


class JsonList:
    """Several JSON texts written as one JSON array (one text alone as it is), so that the
    output reads back with one ``json.load``."""

    def __init__(self, stream: Callable[[str], object], *, array: bool) -> None:
        self.write = stream
        self.array = array
        self.count = 0

    def add(self, text: str) -> None:
        """Write one JSON text (an element of the array)."""
        if self.array:
            self.write("[\n" if self.count == 0 else ",\n")
        self.write(text)
        if not self.array:
            self.write("\n")
        self.count += 1

    def close(self) -> None:
        """End the array (``[]`` when nothing was added)."""
        if self.array:
            self.write("[]\n" if self.count == 0 else "\n]\n")


def unread_record(path: str, problem: Problem) -> RecordResult:
    """The rejected record ``igw submit`` reports for an input it could not read."""
    from gateway.intake import RecordResult

    return RecordResult(path, path, None, (problem,))


#: commands that only read or change what is stored: they never create a store, whichever
#: module opens it (:func:`gateway.store.store.store_creation`)
NO_CREATE = frozenset({"status", "timeline", "inbound", "resend", "cancel"})
#: commands whose module opens the store deep inside: connected once first, so that an
#: unreachable store is one line, not a traceback from the worker or the web app
CONNECT_FIRST = frozenset({"run", "serve", "demo"})


@contextmanager
def store_rules(command: str, url: str | None) -> Iterator[None]:
    """Run ``command`` (whose store is at ``url``; None: it has none) under the store rules:
    no store created by a :data:`NO_CREATE` command, a :data:`CONNECT_FIRST` command's store
    reachable before it starts (else :class:`gateway.store.engine.StoreUnavailable`)."""
    if url is None:  # no store: no SQLAlchemy import for igw schema & co.
        yield
        return
    from gateway.store.store import Store, store_creation

    if command in CONNECT_FIRST:
        store = Store.open(url)
        try:
            store.ping()
        finally:
            store.close()
    with store_creation(command not in NO_CREATE):
        yield


def quiet_broken_pipe(run: Callable[[], int]) -> int:
    """``run()``, with stdout flushed inside; a reader that went away (``igw schema | head``)
    ends the command quietly with exit 0. stdout is pointed at /dev/null then, so that Python's
    own flush at exit does not fail again (the recipe of the Python docs, "Note on SIGPIPE")."""
    try:
        try:
            status = run()
        except SystemExit:  # argparse's --help and usage errors: their output flushed here too
            sys.stdout.flush()
            raise
        sys.stdout.flush()
    except BrokenPipeError:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        os.close(devnull)
        return 0
    return status
