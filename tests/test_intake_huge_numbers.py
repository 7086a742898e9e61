"""Huge and malformed numbers in ERP records are a problem of that record; the batch goes on.

Issue 10 item 2: a 30-digit price, ``1e400``, ``1E+9999999``, NaN, Infinity or a >40-digit JSON
integer in one record used to stop ``igw submit`` / ``igw translate`` with a decimal traceback
(600 of 1,000 records committed, the rest lost). Each is now one problem naming the record, the
field, its BT id, the value as given (cut when long) and the accepted range.
"""

from __future__ import annotations

import copy
import csv
import io
import json
import subprocess
import sys
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from gateway.errors import ParseError
from gateway.intake import read_records
from gateway.model import Invoice
from gateway.totals import TotalsError, complete, complete_record

ROOT = Path(__file__).resolve().parent.parent
EXAMPLES = ROOT / "examples"
BAD_AT = 701  # 1-based position of the bad record in the 1,000-record batch
MARK = "@@BAD@@"

# JSON number tokens written into the document as they stand (not as strings)
JSON_TOKENS = {
    "30-digit price": "1" * 30,
    "1e400": "1e400",
    "1E+9999999": "1E+9999999",
    "exponent beyond any range": "1e99999999999999999999999999999",
    "tiny 1e-400": "1e-400",
    "NaN": "NaN",
    "Infinity": "Infinity",
    "-Infinity": "-Infinity",
    "45-digit integer": "9" * 45,
    "5,000-digit integer": "7" * 5000,
    "1e400 as a string": '"1e400"',
    "NaN as a string": '"NaN"',
}
CSV_CELLS = {
    "30-digit price": "1" * 30,
    "1e400": "1e400",
    "1E+9999999": "1E+9999999",
    "NaN": "NaN",
    "Infinity": "Infinity",
    "45-digit integer": "9" * 45,
    "5,000-digit integer": "7" * 5000,
}


def _record() -> dict[str, Any]:
    data: list[dict[str, Any]] = json.loads((EXAMPLES / "erp-export.json").read_text("utf-8"))
    return data[0]


def _json_batch(count: int, bad_at: int, token: str) -> bytes:
    """``count`` copies of the first example (numbers R-0001...), the price of line 1 of
    record ``bad_at`` written as the raw JSON ``token``."""
    base = _record()
    records = []
    for index in range(1, count + 1):
        record = copy.deepcopy(base)
        record["number"] = f"R-{index:04d}"
        if index == bad_at:
            record["lines"][0]["price"]["net"] = MARK
        records.append(record)
    return json.dumps(records, ensure_ascii=False).replace(f'"{MARK}"', token).encode()


def _csv_batch(count: int, bad_at: int, cell: str) -> bytes:
    """``count`` invoices made of the first example invoice's CSV rows, the net price of the
    first line of invoice ``bad_at`` set to ``cell``."""
    rows = list(csv.reader(io.StringIO((EXAMPLES / "erp-export.csv").read_text("utf-8"))))
    header, first = rows[0], [r for r in rows[1:] if r[0] == rows[1][0]]
    price = header.index("line.price.net")
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(header)
    for index in range(1, count + 1):
        for line, row in enumerate(first):
            copied = [f"R-{index:04d}", *row[1:]]
            if index == bad_at and line == 0:
                copied[price] = cell
            writer.writerow(copied)
    return out.getvalue().encode()


def _only_problem(data: bytes, fmt: str) -> tuple[int, Any]:
    results = list(read_records(data, fmt))
    rejected = [r for r in results if not r.accepted]
    assert len(rejected) == 1, [str(p) for r in rejected for p in r.problems]
    (problem,) = rejected[0].problems
    return sum(r.accepted for r in results), (rejected[0], problem)


@pytest.mark.parametrize("token", JSON_TOKENS.values(), ids=JSON_TOKENS.keys())
def test_a_bad_json_number_rejects_only_its_record_naming_field_bt_value_and_range(
    token: str,
) -> None:
    """Each huge/non-finite JSON number is one problem of its record; the records around it pass."""
    accepted, (result, problem) = _only_problem(_json_batch(3, 2, token), "json")
    assert accepted == 2
    assert result.record == "R-0002"
    assert (problem.path, problem.bt, problem.rule) == ("lines[0].price.net", "BT-146", "INPUT")
    given = token.strip('"')
    assert isinstance(problem.value, str)
    assert problem.value.startswith(given[:40])
    assert len(problem.value) < 80  # cut, with the length named
    assert "19 integer digits" in problem.accepted
    assert "19 decimals" in problem.accepted
    assert str(problem).startswith("R-0002: [INPUT] lines[0].price.net (BT-146) = ")


@pytest.mark.parametrize("cell", CSV_CELLS.values(), ids=CSV_CELLS.keys())
def test_a_bad_csv_number_rejects_only_its_invoice_naming_row_field_bt_and_value(
    cell: str,
) -> None:
    """Each huge/non-finite CSV cell is one problem of its invoice, naming row and column."""
    accepted, (result, problem) = _only_problem(_csv_batch(3, 2, cell), "csv")
    assert accepted == 2
    assert result.record == "R-0002"
    assert (problem.path, problem.bt) == ("line.price.net", "BT-146")
    assert problem.message.startswith("row 5: ")  # header is row 1, invoice 2 starts at row 5
    assert isinstance(problem.value, str) and problem.value.startswith(cell[:40])
    assert len(problem.value) < 80


def test_the_messages_say_what_is_wrong_with_the_number() -> None:
    """Digits are counted, non-finite values called so, the cut value gives its length."""

    def message(token: str) -> str:
        _, (_, problem) = _only_problem(_json_batch(1, 1, token), "json")
        return f"{problem.value} | {problem.message}"

    assert "has 401 integer digits" in message("1e400")
    assert "has 10,000,000 integer digits" in message("1E+9999999")
    assert "has 400 decimals" in message("1e-400")
    assert "not a finite number" in message("NaN")
    assert "not a finite number" in message("-Infinity")
    assert "(5,000 characters)" in message("7" * 5000)


@pytest.mark.parametrize(
    ("path", "value", "bt", "limit"),
    [
        (("totals", "due"), "1" * 25, "BT-115", "19 integer digits"),
        (("lines", 0, "quantity"), "1e20", "BT-129", "19 integer digits"),
        (("lines", 0, "vat_rate"), "1234567", "BT-152", "6 integer digits"),
        (("allowances", 0, "amount"), "Infinity", "BT-92", "19 integer digits"),
    ],
)
def test_every_decimal_field_is_held_to_its_range(
    path: tuple[Any, ...], value: str, bt: str, limit: str
) -> None:
    """Amounts, quantities and rates each have their limit, reported with their own BT id."""
    record = _record()
    record.setdefault("allowances", [{"amount": "1", "vat_category": "S", "vat_rate": "19"}])
    node: Any = record
    for part in path[:-1]:
        node = node.setdefault(part, {}) if isinstance(part, str) else node[part]
    node[path[-1]] = value
    (result,) = read_records(json.dumps(record).encode(), "json")
    found = [p for p in result.problems if p.bt == bt]
    assert not result.accepted
    assert found and limit in found[0].accepted, [str(p) for p in result.problems]


def test_an_amount_names_the_two_decimal_rule_in_its_accepted_range() -> None:
    """The accepted range of an amount says amounts are kept to 2 decimals (BR-DEC)."""
    record = _record()
    record["totals"] = {"prepaid": "1e30"}
    (result,) = read_records(json.dumps(record).encode(), "json")
    (problem,) = result.problems
    assert problem.bt == "BT-113"
    assert "2 decimals (BR-DEC-*)" in problem.accepted


def test_an_exponent_in_range_is_read_in_plain_form() -> None:
    """``1.5e2`` is accepted as 150 (invoice syntaxes write no exponent)."""
    data = _json_batch(1, 1, "1.5e2")
    (result,) = read_records(data, "json")
    assert result.accepted, [str(p) for p in result.problems]
    assert result.invoice is not None
    assert result.invoice.lines[0].price.net == Decimal("150")
    assert "E" not in str(result.invoice.lines[0].price.net)


def test_a_long_json_integer_in_a_text_field_is_refused_without_printing_it_whole() -> None:
    """A 5,000-digit JSON number where text belongs is named with its length, not dumped."""
    record = _record()
    record["buyer_reference"] = MARK
    data = json.dumps(record).replace(f'"{MARK}"', "8" * 5000).encode()
    (result,) = read_records(data, "json")
    (problem,) = result.problems
    assert (problem.path, problem.bt) == ("buyer_reference", "BT-10")
    assert "5,000 characters" in problem.message
    assert len(str(problem)) < 300


def _invoice(**line_changes: Any) -> Invoice:
    record = _record()
    (result,) = read_records(json.dumps(record).encode(), "json")
    assert result.invoice is not None
    line = result.invoice.lines[0]
    price = line.price.model_copy(update=line_changes.pop("price", {}))
    line = line.model_copy(update={"net_amount": None, "price": price, **line_changes})
    bare = result.invoice.model_copy(update={"lines": (line,), "totals": None, "vat_breakdown": ()})
    return bare


def test_complete_reports_a_line_amount_beyond_the_range_as_a_problem() -> None:
    """quantity 10^18 x price 10^18 (each in range) is a BT-131 problem, not an exception."""
    invoice = _invoice(quantity=Decimal(10) ** 18, price={"net": Decimal(10) ** 18})
    completed, problems = complete_record(invoice, "R-1")
    assert completed is None
    (problem,) = problems
    assert (problem.record, problem.path, problem.bt) == ("R-1", "lines[0].net_amount", "BT-131")
    assert "beyond the amount range" in problem.message


def test_complete_reports_a_zero_base_quantity_as_a_problem() -> None:
    """A net price per a base quantity (BT-149) of 0 is a problem: no division by zero."""
    invoice = _invoice(price={"base_quantity": Decimal(0)})
    completed, problems = complete_record(invoice)
    assert completed is None
    assert [(p.path, p.bt) for p in problems] == [("lines[0].price.base_quantity", "BT-149")]


def test_complete_reports_non_finite_values_and_raises_only_its_typed_error() -> None:
    """A NaN quantity built in code is a problem; complete() raises TotalsError, a ParseError."""
    invoice = _invoice(quantity=Decimal("NaN"))
    _, problems = complete_record(invoice)
    assert [(p.bt, p.message) for p in problems] == [("BT-129", "not a finite number")]
    with pytest.raises(TotalsError) as caught:
        complete(invoice)
    assert isinstance(caught.value, ParseError)
    assert caught.value.problems == problems


def test_complete_of_sums_beyond_the_range_is_a_problem() -> None:
    """Many lines whose sum leaves the range: the total (BT-106) is named, nothing raises."""
    invoice = _invoice(quantity=Decimal(1), price={"net": Decimal("9" * 19)})
    many = invoice.model_copy(update={"lines": invoice.lines * 20})
    completed, problems = complete_record(many)
    assert completed is None
    assert "BT-106" in {p.bt for p in problems}


# -- the must-show: 1,000 records, one huge number at position 701, through the CLI -----------


def _igw(*args: str, cwd: Path = ROOT) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "gateway.cli.main", *args],
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=900,
        check=False,
    )


@pytest.fixture(params=["json", "csv"])
def batch(request: pytest.FixtureRequest, tmp_path: Path) -> Path:
    """1,000 ERP records (JSON or CSV) with a 30-digit price in record 701."""
    fmt = str(request.param)
    make = _json_batch if fmt == "json" else _csv_batch
    path = tmp_path / f"batch.{fmt}"
    path.write_bytes(make(1000, BAD_AT, "1" * 30))
    return path


def _no_traceback(result: subprocess.CompletedProcess[str]) -> None:
    assert "Traceback" not in result.stdout + result.stderr
    assert "InvalidOperation" not in result.stdout + result.stderr


def test_submit_of_1000_records_stores_999_and_reports_the_one_with_a_huge_number(
    batch: Path, tmp_path: Path
) -> None:
    """igw submit: 999 stored, record 701 rejected naming field, BT id and value; no traceback."""
    store = f"sqlite:///{tmp_path / 'gateway.db'}"
    result = _igw(
        "submit", str(batch), "--store", store, "--profiles", "config/buyers", "--no-validate"
    )
    _no_traceback(result)
    assert result.returncode == 1
    assert "999 stored" in result.stderr and "1 rejected" in result.stderr
    assert result.stdout.count(": stored for ") == 999
    rejected = [line for line in result.stderr.splitlines() if "BT-146" in line]
    assert len(rejected) == 1, result.stderr[-2000:]
    assert rejected[0].lstrip().startswith("R-0701: [INPUT]")
    assert "price.net (BT-146) = 111111111111111111111111111111:" in rejected[0]
    assert "has 30 integer digits" in rejected[0]
    status = _igw("status", "--store", store)
    assert "999 deliveries: QUEUED 999" in status.stdout
    assert "R-0701" not in status.stdout and "R-1000" in status.stdout


def test_translate_of_1000_records_writes_999_and_reports_the_one_with_a_huge_number(
    batch: Path, tmp_path: Path
) -> None:
    """igw translate: 999 documents written, record 701 reported once; no traceback."""
    out = tmp_path / "out"
    result = _igw(
        "translate", str(batch), "--to", "peppol-bis3", "--out", str(out), "--no-validate"
    )
    _no_traceback(result)
    assert result.returncode == 1
    assert "999 records ok, 1 rejected" in result.stderr
    written = sorted(p.name for p in (out / "peppol-bis3").iterdir())
    assert len(written) == 999
    assert not any("R-0701" in name for name in written)
    assert any("R-1000" in name for name in written)
    (line,) = [line for line in result.stderr.splitlines() if "R-0701" in line]
    assert "price.net (BT-146) = 111111111111111111111111111111:" in line


def test_a_huge_json_number_as_invoice_number_does_not_become_the_record_name() -> None:
    """A 5,000-digit BT-1 is refused, and the record is named by its position instead."""
    record = _record()
    record["number"] = MARK
    data = json.dumps([record]).replace(f'"{MARK}"', "5" * 5000).encode()
    (result,) = read_records(data, "json")
    assert result.record == "record 1"
    (problem,) = result.problems
    assert (problem.path, problem.bt) == ("number", "BT-1")
