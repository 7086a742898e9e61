"""read_records: the one entry point of intake, for files and bytes, JSON or CSV."""

from __future__ import annotations

import difflib
from collections.abc import Iterator
from pathlib import Path

from gateway.errors import InputError
from gateway.intake.csv_records import read_csv
from gateway.intake.encoding import check_encoding, current_encoding
from gateway.intake.json_records import read_json
from gateway.intake.results import RecordResult

FORMATS = ("auto", "json", "csv")
_BY_SUFFIX = {".json": "json", ".jsonl": "json", ".ndjson": "json", ".csv": "csv", ".txt": "csv"}


def _sniff(data: bytes) -> str:
    head = data.lstrip(b"\xef\xbb\xbf \t\r\n")[:1]
    return "json" if head in (b"{", b"[") else "csv"


def read_records(
    source: str | Path | bytes,
    format: str = "auto",
    *,
    base_dir: Path | None = None,
    encoding: str | None = None,
) -> Iterator[RecordResult]:
    """Yield one :class:`RecordResult` per ERP record in ``source``, in input order.

    ``source`` is a file path or the bytes of a file. ``format`` is ``json`` (one invoice object,
    an array, or JSON Lines), ``csv`` (one row per line item, see :mod:`gateway.intake.csv_records`)
    or ``auto`` (by file extension, else by the first character). Each result holds either a
    completed :class:`gateway.model.Invoice` or the problems that rejected the record; a bad record
    never stops the batch. Unreadable input (missing file, malformed JSON document, broken CSV
    quoting) raises :class:`gateway.errors.InputError` naming the line and column. CSV attachment
    paths resolve against ``base_dir``, by default the CSV file's folder. ``encoding`` names the
    text encoding (default: the one :func:`gateway.intake.encoding.with_encoding` set, else
    UTF-8 with or without a byte-order mark); bytes that do not decode raise ParseError naming
    the line and byte offset.
    """
    encoding = encoding or current_encoding()
    check_encoding(encoding)
    if format not in FORMATS:
        close = difflib.get_close_matches(format, FORMATS, n=1)
        hint = f"; did you mean {close[0]!r}?" if close else ""
        raise InputError(f"unknown record format {format!r}{hint} (accepted: {', '.join(FORMATS)})")
    if isinstance(source, bytes):
        data, name, folder = source, "<input>", base_dir
    else:
        path = Path(source)
        try:
            data = path.read_bytes()
        except OSError as exc:
            raise InputError(f"{path}: cannot read: {exc.strerror}") from exc
        name, folder = str(path), base_dir or path.parent
        if format == "auto":
            format = _BY_SUFFIX.get(path.suffix.lower(), "auto")
    if format == "auto":
        format = _sniff(data)
    if format == "json":
        return read_json(data, name, encoding=encoding)
    return read_csv(data, name, folder, encoding=encoding)
