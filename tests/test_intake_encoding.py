"""CSV exports from Excel (cp1252), the --encoding option, and rows with the wrong cell count."""

from __future__ import annotations

import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from gateway.errors import InputError, ParseError
from gateway.intake import read_records
from gateway.intake.encoding import recode, with_encoding
from gateway.intake.results import RecordResult

ROOT = Path(__file__).resolve().parent.parent
EXAMPLES = ROOT / "examples"
HEADER = (
    "number,issue_date,currency,buyer_reference,seller.name,seller.vat_id,"
    "seller.address.country,buyer.name,buyer.address.country,"
    "line.quantity,line.unit,line.price.net,line.vat_category,line.vat_rate,line.item.name"
)
COLUMNS = len(HEADER.split(","))


def row(number: str, seller: str = "Müller Bürobedarf GmbH", name: str = "Größe 4") -> str:
    """One CSV row of invoice ``number``."""
    return (
        f"{number},2026-11-02,EUR,LW-1,{seller},DE123456789,DE,Kunde AG,DE,2,C62,10.00,S,19,{name}"
    )


def export(*rows: str, encoding: str = "cp1252", bom: bool = False) -> bytes:
    """The CSV export made of HEADER and ``rows`` in ``encoding``."""
    text = "\r\n".join((HEADER, *rows)) + "\r\n"
    return (b"\xef\xbb\xbf" if bom else b"") + text.encode(encoding)


def test_a_cp1252_export_read_as_utf8_names_line_byte_offset_byte_and_the_option() -> None:
    """Without --encoding a cp1252 file is refused naming line 2, the offset and 0xFC."""
    data = export(row("C-1"))
    with pytest.raises(ParseError) as caught:
        list(read_records(data, "csv"))
    offset = data.index("ü".encode("cp1252"))
    assert caught.value.location == f"<input>: line 2, byte offset {offset}"
    message = str(caught.value)
    assert "byte 0xFC" in message
    assert "--encoding cp1252" in message


def test_a_cp1252_export_reads_with_encoding_cp1252() -> None:
    """With encoding cp1252 the umlauts arrive as written."""
    (result,) = read_records(export(row("C-1")), "csv", encoding="cp1252")
    assert result.accepted, [str(p) for p in result.problems]
    assert result.invoice is not None
    assert result.invoice.seller.name == "Müller Bürobedarf GmbH"
    assert result.invoice.lines[0].item.name == "Größe 4"


def test_utf8_with_a_byte_order_mark_is_the_default() -> None:
    """A UTF-8 export with BOM reads without options; the BOM is not part of 'number'."""
    (result,) = read_records(export(row("C-1"), encoding="utf-8", bom=True), "csv")
    assert result.accepted, [str(p) for p in result.problems]
    assert result.record == "C-1"


def test_an_unknown_encoding_is_one_clear_error() -> None:
    """--encoding with a name Python does not know says so and names some that work."""
    with pytest.raises(InputError, match=r"unknown encoding.*cp1252"):
        list(read_records(export(row("C-1")), "csv", encoding="klingon"))


def test_with_encoding_applies_only_while_its_iterator_runs() -> None:
    """Records read through with_encoding use it; a read afterwards is UTF-8 again."""
    data = export(row("C-1"))

    def records() -> Iterator[RecordResult]:  # read lazily, as gateway.translation.pipeline does
        yield from read_records(data, "csv")

    (result,) = list(with_encoding(records(), "cp1252"))
    assert result.accepted
    with pytest.raises(ParseError):
        list(read_records(data, "csv"))


def test_a_short_row_says_how_many_cells_it_has_and_which_columns_have_none() -> None:
    """A row of 12 cells under 15 columns: one problem with both counts, no 'missing' echoes."""
    short = ",".join(row("C-1").split(",")[:12])
    (result,) = read_records(export(short, encoding="utf-8"), "csv")
    assert not result.accepted
    (problem,) = result.problems
    assert f"record at line 2 has 12 cells, the header has {COLUMNS}" in problem.message
    assert "no cell for line.vat_category, line.vat_rate, line.item.name" in problem.message


def test_a_long_row_says_how_many_cells_it_has() -> None:
    """An unquoted comma makes 16 cells under 15 columns: said with both counts."""
    (result,) = read_records(export(row("C-1", name="Schrauben 4,5 mm"), encoding="utf-8"), "csv")
    assert not result.accepted
    assert any(
        f"record at line 2 has {COLUMNS + 1} cells, the header has {COLUMNS}" in p.message
        for p in result.problems
    )


def test_a_field_missing_on_a_full_row_is_still_reported_missing() -> None:
    """Only the short row's columns are explained by the cell count: others stay 'missing'."""
    short = ",".join(row("C-1").split(",")[:12])
    full_without_name = row("C-1", name="")
    (result,) = read_records(export(short, full_without_name, encoding="utf-8"), "csv")
    messages = [p.message for p in result.problems]
    assert any("record at line 2 has 12 cells" in m for m in messages)
    assert any(m.startswith("row 3: ") and m.endswith("missing") for m in messages), messages


def test_recode_leaves_xml_and_edifact_alone_and_reports_bytes_that_do_not_decode() -> None:
    """recode re-encodes text exports only; bytes not in the encoding are one ENCODING problem."""
    assert recode(b"<?xml version='1.0'?><a/>", "cp1252", "a.xml") == (
        b"<?xml version='1.0'?><a/>",
        None,
    )
    assert recode(b"UNB+UNOC:3'", "cp1252", "a.edi")[1] is None
    assert recode(export(row("C-1")), "cp1252", "x.csv")[0] == export(row("C-1"), encoding="utf-8")
    _, problem = recode(export(row("C-1")), "utf-8", "x.csv")
    assert problem is not None and problem.rule == "ENCODING"
    assert "line 2, byte offset" in problem.message


def _igw(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "gateway.cli.main", *args],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )


@pytest.fixture
def excel_csv(tmp_path: Path) -> Path:
    """examples/erp-export.csv (5 invoices, umlauts, a dash, a superscript two) saved as cp1252
    the way Excel does, with the attachment it refers to."""
    path = tmp_path / "excel.csv"
    text = (EXAMPLES / "erp-export.csv").read_text("utf-8")
    path.write_bytes(text.encode("cp1252"))
    shutil.copytree(EXAMPLES / "attachments", tmp_path / "attachments")
    return path


def test_igw_translate_reads_a_cp1252_export_with_encoding(excel_csv: Path, tmp_path: Path) -> None:
    """translate --encoding cp1252 writes all 5 invoices; without it one line names the fix."""
    out = tmp_path / "out"
    args = ("translate", str(excel_csv), "--to", "peppol-bis3", "--out", str(out), "--no-validate")
    result = _igw(*args, "--encoding", "cp1252")
    assert "Traceback" not in result.stderr
    assert "5 records ok, 0 rejected" in result.stderr, result.stderr
    plain = _igw(*args)
    assert "Traceback" not in plain.stderr
    assert plain.returncode != 0
    assert "--encoding cp1252" in plain.stderr and "line 2, byte offset" in plain.stderr


def test_igw_submit_reads_a_cp1252_export_with_encoding(excel_csv: Path, tmp_path: Path) -> None:
    """submit --encoding cp1252 stores all 5; without it the file is one rejected record."""
    store = f"sqlite:///{tmp_path / 'gateway.db'}"
    base = ("submit", str(excel_csv), "--profiles", "config/buyers", "--no-validate")
    plain = _igw(*base, "--store", store)
    assert "Traceback" not in plain.stderr
    assert "0 stored" in plain.stderr and "1 rejected" in plain.stderr
    assert "--encoding cp1252" in plain.stderr
    result = _igw(*base, "--store", store, "--encoding", "cp1252")
    assert "Traceback" not in result.stderr
    assert "5 stored" in result.stderr, result.stderr


def test_igw_validate_decodes_a_csv_with_the_encoding_given(excel_csv: Path) -> None:
    """validate --encoding utf-8 of a cp1252 file: one ENCODING finding with line and offset."""
    result = _igw("validate", str(excel_csv), "--encoding", "utf-8")
    assert "Traceback" not in result.stderr
    assert result.returncode == 1
    assert "ENCODING" in result.stdout and "line 2, byte offset" in result.stdout
    recoded = _igw("validate", str(excel_csv), "--encoding", "cp1252")
    assert "Traceback" not in recoded.stderr
    assert "ENCODING" not in recoded.stdout


@pytest.mark.parametrize("command", ["translate", "submit", "validate"])
def test_an_unknown_encoding_on_the_command_line_is_a_usage_error(
    command: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """``--encoding klingon`` is refused when the command line is read: exit 2, one line naming
    the option and what is accepted, nothing read or stored."""
    from gateway.cli.main import main

    extra = {
        "translate": ["--to", "peppol-bis3", "--out", str(tmp_path / "out")],
        "submit": ["--store", f"sqlite:///{tmp_path / 'g.db'}"],
        "validate": [],
    }[command]
    with pytest.raises(SystemExit) as stopped:
        main([command, str(tmp_path / "any.csv"), "--encoding", "klingon", *extra])
    assert stopped.value.code == 2
    err = capsys.readouterr().err
    assert "argument --encoding: unknown encoding; accepted:" in err and "cp1252" in err
    assert "Traceback" not in err
    assert not (tmp_path / "g.db").exists() and not (tmp_path / "out").exists()
