"""CSV intake: the common ERP export with one row per invoice line.

* The first row names the columns by dotted model paths: ``number``, ``seller.name``,
  ``buyer.electronic_address.value``; line fields start with ``line.`` (``line.quantity``,
  ``line.price.net``, ``line.item.name``); lists are indexed from 0 (``allowances.0.amount``,
  ``notes.0.text``, ``line.allowances.0.reason_code``).
* Each row is one invoice line; header fields are repeated on each row. Consecutive rows with
  the same ``number`` (BT-1) are one invoice; a row with an empty ``number`` continues the
  invoice above. A header cell may be left empty on a continuation row; a non-empty one must
  equal the value on the invoice's first row (else a problem names the row and the column).
  The rows of one invoice must be contiguous.
* Empty cells are absent values. ``line.id`` (BT-126) defaults to the line's position (1, 2...).
* Decimal fields use ``.``; a ``,`` is accepted as the decimal separator only when unambiguous:
  one comma, no dot, and not exactly three digits after it (``12,5`` and ``12,50`` are read as
  12.5 and 12.50; ``1,500`` could be a thousands separator and is rejected).
* The delimiter is ``,``, ``;`` or a tab, whichever occurs most in the header row.
* An attachment (BT-125) is given as a file path relative to the CSV file in
  ``supporting_documents.N.attachment.path``; the file must lie inside the CSV's folder.
  ``attachment.filename`` defaults to the file's name, ``attachment.mime_code`` to the type
  implied by its extension. Reading CSV from bytes (no folder) cannot take attachment paths.
* Rows are numbered as in a spreadsheet: the header is row 1, the first invoice line row 2.
* Every row has one cell per column; a row with fewer or more is a problem of its invoice
  ("record at line 5 has 7 cells, the header has 12 (no cell for ...)"), not a list of
  missing fields.
* The text is UTF-8 (a byte-order mark is dropped) unless another encoding is named
  (``--encoding cp1252`` for Excel on Windows, :mod:`gateway.intake.encoding`).
* Numbers are held to the range :mod:`gateway.intake.numbers` checks (a ``1e400`` or a
  30-digit price is a problem of its invoice, naming row, column and BT id).
"""

from __future__ import annotations

import base64
import csv
import io
import re
from collections.abc import Iterator
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from gateway.errors import ParseError, Problem
from gateway.intake.json_records import decode
from gateway.intake.problems import Loc, input_problem, is_decimal_field
from gateway.intake.records import validate_record
from gateway.intake.results import RecordResult

LINE_PREFIX = "line."
ATTACHMENT_PATH = re.compile(r"^supporting_documents\.(\d+)\.attachment\.path$")
_COMMA_DECIMAL = re.compile(r"^[+-]?\d+,(\d+)$")
_MIME_BY_SUFFIX = {
    ".pdf": "application/pdf",
    ".png": "image/png",
    ".jpg": "image/jpeg",
    ".jpeg": "image/jpeg",
    ".csv": "text/csv",
    ".xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    ".ods": "application/vnd.oasis.opendocument.spreadsheet",
}


@dataclass
class _Group:
    """The rows of one invoice: spreadsheet row numbers and their non-empty cells."""

    number: str
    rows: list[int] = field(default_factory=list)
    cells: list[dict[str, str]] = field(default_factory=list)
    problems: list[Problem] = field(default_factory=list)
    absent: set[tuple[int, str]] = field(default_factory=set)  # (row, column) without a cell

    @property
    def position(self) -> str:
        first, last = self.rows[0], self.rows[-1]
        return f"row {first}" if first == last else f"rows {first}-{last}"

    @property
    def record(self) -> str:
        return self.number or self.position


def _delimiter(text: str) -> str:
    header = text.split("\n", 1)[0]
    return max((",", ";", "\t"), key=header.count)


def _check_header(header: list[str], source: str) -> list[str]:
    """Stripped column names; ParseError for empty, duplicate or overlapping columns."""
    columns = [c.strip() for c in header]
    seen: set[str] = set()
    for index, column in enumerate(columns, start=1):
        where = f"{source}: line 1 column {index}"
        if not column:
            raise ParseError("empty column name; accepted: a dotted model path", where)
        if column in seen:
            raise ParseError(f"column {column!r} appears twice", where)
        if column.startswith("lines.") or column == "lines":
            raise ParseError(
                f"column {column!r}: lines are rows; accepted: line.<field>, e.g. line.quantity",
                where,
            )
        seen.add(column)
    for column in columns:
        for other in columns:
            if other.startswith(column + "."):
                raise ParseError(
                    f"column {column!r} conflicts with {other!r} (a value and its parts)",
                    f"{source}: line 1",
                )
    return columns


def _rows(text: str, source: str) -> Iterator[tuple[int, list[str], int]]:
    """(spreadsheet row, cells, file line) for every non-blank row; ParseError on bad quoting."""
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=_delimiter(text), strict=True)
    row = 0
    try:
        for cells in reader:
            row += 1
            if any(c.strip() for c in cells):
                yield row, cells, reader.line_num
    except csv.Error as exc:
        raise ParseError(f"malformed CSV: {exc}", f"{source}: line {reader.line_num}") from exc


def _group_rows(text: str, source: str) -> tuple[list[str], list[_Group]]:
    rows = _rows(text, source)
    first = next(rows, None)
    if first is None:
        return [], []
    columns = _check_header(first[1], source)
    groups: list[_Group] = []
    for row, cells, line in rows:
        values = {c: v.strip() for c, v in zip(columns, cells, strict=False) if v.strip()}
        number = values.get("number", "")
        if not groups or (number and number != groups[-1].number):
            groups.append(_Group(number))
        group = groups[-1]
        group.rows.append(row)
        group.cells.append(values)
        if len(cells) != len(columns):
            group.problems.append(_cell_count(group, columns, cells, row, line))
    _flag_split_invoices(groups)
    return columns, groups


def _cell_count(
    group: _Group, columns: list[str], cells: list[str], row: int, line: int
) -> Problem:
    """A row with fewer or more cells than the header: said as such, with the columns left
    without a cell (a short row is not a list of missing fields)."""
    message = f"record at line {line} has {len(cells)} cells, the header has {len(columns)}"
    if len(cells) < len(columns):
        absent = columns[len(cells) :]
        group.absent.update((row, column) for column in absent)
        shown = ", ".join(absent[:5]) + (f" and {len(absent) - 5} more" if len(absent) > 5 else "")
        message += f" (no cell for {shown})"
    else:
        extra = cells[len(columns) :]
        message += f" ({len(extra)} cell{'s' if len(extra) != 1 else ''} after the last column)"
    return input_problem(
        group.record,
        message,
        accepted=f"{len(columns)} cells on every row, one per column (quote cells that contain "
        "the delimiter; an empty value is an empty cell)",
    )


def _flag_split_invoices(groups: list[_Group]) -> None:
    first_at: dict[str, _Group] = {}
    for group in groups:
        if not group.number:
            continue
        earlier = first_at.setdefault(group.number, group)
        if earlier is not group:
            for culprit in (earlier, group):
                culprit.problems.append(
                    input_problem(
                        group.number,
                        f"invoice {group.number!r} is split: {earlier.position} and "
                        f"{group.position} with other invoices between them",
                        path="number",
                        value=group.number,
                        accepted="all rows of one invoice next to each other",
                    )
                )


def _decimal_text(value: str, loc: Loc) -> str:
    match = _COMMA_DECIMAL.match(value)
    if match and len(match.group(1)) != 3 and is_decimal_field(loc):
        return value.replace(",", ".")
    return value


def _loc(column: str, line: bool) -> Loc:
    parts: list[int | str] = [int(p) if p.isdigit() else p for p in column.split(".")]
    return ("lines", 0, *parts[1:]) if line else tuple(parts)


def _put(target: dict[str, Any], loc: Loc, value: Any) -> None:
    """Set ``value`` at ``loc`` in nested dicts; list indexes are kept as int keys for now."""
    node: dict[Any, Any] = target
    for part in loc[:-1]:
        node = node.setdefault(part, {})
    node[loc[-1]] = value


def _listify(node: Any, path: str, group: _Group) -> Any:
    """Turn int-keyed dicts into lists; a gap in the indexes is a problem."""
    if not isinstance(node, dict):
        return node
    if node and all(isinstance(k, int) for k in node):
        indexes = sorted(node)
        if indexes != list(range(len(indexes))):
            group.problems.append(
                input_problem(
                    group.record,
                    f"{path} uses indexes {indexes}",
                    path=path,
                    accepted="indexes from 0 without gaps (0, 1, 2, ...)",
                )
            )
        return [_listify(node[i], f"{path}.{i}", group) for i in indexes]
    return {k: _listify(v, f"{path}.{k}" if path else str(k), group) for k, v in node.items()}


def _header_values(columns: list[str], group: _Group) -> dict[str, str]:
    agreed: dict[str, str] = {}
    first_row: dict[str, int] = {}
    for row, cells in zip(group.rows, group.cells, strict=True):
        for column in columns:
            if column.startswith(LINE_PREFIX) or column not in cells:
                continue
            value = cells[column]
            if column not in agreed:
                agreed[column], first_row[column] = value, row
            elif value != agreed[column]:
                group.problems.append(
                    input_problem(
                        group.record,
                        f"row {row} says {value!r} but row {first_row[column]} of the same "
                        f"invoice says {agreed[column]!r}",
                        path=column,
                        value=value,
                        accepted="the same value on every row of one invoice (or an empty cell)",
                    )
                )
    return agreed


def _attach_files(record: dict[str, Any], group: _Group, base_dir: Path | None) -> None:
    for index, document in enumerate(record.get("supporting_documents") or []):
        attachment = document.get("attachment") if isinstance(document, dict) else None
        if not isinstance(attachment, dict) or "path" not in attachment:
            continue
        column = f"supporting_documents.{index}.attachment.path"
        given = attachment.pop("path")
        content = _read_attachment(given, column, group, base_dir)
        if content is None:
            continue
        name = Path(given).name
        attachment["content"] = base64.b64encode(content).decode("ascii")
        attachment.setdefault("filename", name)
        mime = _MIME_BY_SUFFIX.get(Path(name).suffix.lower())
        if mime:
            attachment.setdefault("mime_code", mime)


def _read_attachment(given: str, column: str, group: _Group, base_dir: Path | None) -> bytes | None:
    def problem(message: str, accepted: str) -> None:
        group.problems.append(
            input_problem(group.record, message, path=column, value=given, accepted=accepted)
        )

    if base_dir is None:
        problem("attachment paths need a CSV file on disk", "base64 in attachment.content")
        return None
    folder = base_dir.resolve()
    target = (folder / given).resolve()
    if not target.is_relative_to(folder):
        problem("the file lies outside the CSV's folder", f"a path inside {folder}")
        return None
    try:
        return target.read_bytes()
    except OSError as exc:
        problem(f"cannot read the file: {exc.strerror}", f"a readable file inside {folder}")
        return None


def _build(columns: list[str], group: _Group, base_dir: Path | None) -> dict[str, Any]:
    record: dict[str, Any] = {}
    for column, value in _header_values(columns, group).items():
        loc = _loc(column, line=False)
        _put(record, loc, _decimal_text(value, loc))
    lines: dict[int, Any] = {}
    for position, cells in enumerate(group.cells):
        line: dict[str, Any] = {}
        for column, value in cells.items():
            if column.startswith(LINE_PREFIX):
                loc = _loc(column, line=True)
                _put(line, loc[2:], _decimal_text(value, loc))
        line.setdefault("id", str(position + 1))
        lines[position] = line
    listed: dict[str, Any] = _listify(record, "", group)
    listed["lines"] = [_listify(lines[i], LINE_PREFIX.rstrip("."), group) for i in sorted(lines)]
    _attach_files(listed, group, base_dir)
    return listed


def _describer(group: _Group) -> Any:
    def describe(loc: Loc) -> tuple[str, str]:
        if loc and loc[0] == "lines":
            if len(loc) > 1 and isinstance(loc[1], int) and loc[1] < len(group.rows):
                rest = ".".join(str(p) for p in loc[2:])
                return LINE_PREFIX + rest if rest else "line", f"row {group.rows[loc[1]]}: "
            return "line", ""
        return ".".join(str(p) for p in loc), ""

    return describe


def read_csv(
    data: bytes,
    source: str = "<input>",
    base_dir: Path | None = None,
    *,
    encoding: str | None = None,
) -> Iterator[RecordResult]:
    """Yield one :class:`RecordResult` per invoice (group of rows) of a CSV export.

    Malformed CSV (bad quoting, a broken header) or bytes not in ``encoding`` (default UTF-8)
    raise :class:`ParseError` with the line; a problem inside one invoice's rows rejects that
    invoice only.
    """
    columns, groups = _group_rows(decode(data, source, encoding), source)
    for group in groups:
        record = _build(columns, group, base_dir)
        result = validate_record(record, group.position, _describer(group), tuple(group.problems))
        # a row problem found before the group was complete named the group by its first rows
        problems = (
            replace(_explain_comma(p), record=result.record)
            for p in result.problems
            if not _echo_of_short_row(p, group)
        )
        yield replace(result, problems=tuple(problems))


def _echo_of_short_row(problem: Problem, group: _Group) -> bool:
    """A field reported missing only because its row was short: the cell count says it."""
    if not problem.message.endswith("missing") or not problem.path:
        return False
    prefix = problem.path + "."
    return any(
        (column == problem.path or column.startswith(prefix))
        and (not column.startswith(LINE_PREFIX) or problem.message.startswith(f"row {row}: "))
        for row, column in group.absent
    )


def _explain_comma(problem: Problem) -> Problem:
    """Say why '1,500' was refused: it may be 1.5 or 1500."""
    match = _COMMA_DECIMAL.match(problem.value) if isinstance(problem.value, str) else None
    if not match or not problem.message.endswith("not a decimal number"):
        return problem
    whole = str(problem.value).replace(",", "")
    return replace(
        problem,
        message=problem.message.replace(
            "not a decimal number",
            "ambiguous number: ',' followed by three digits may be a decimal or a thousands "
            "separator",
        ),
        accepted=f"{str(problem.value).replace(',', '.')} or {whole}, written with '.' "
        "as decimal separator",
    )
