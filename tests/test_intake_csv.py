"""CSV intake: one row per line item, header fields repeated, rows grouped by invoice number."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

import pytest

from gateway.errors import ParseError
from gateway.intake import RecordResult, read_records

EXAMPLES = Path(__file__).resolve().parent.parent / "examples"

HEADER = (
    "number,issue_date,currency,buyer_reference,seller.name,seller.vat_id,"
    "seller.address.country,buyer.name,buyer.address.country,"
    "line.quantity,line.unit,line.price.net,line.vat_category,line.vat_rate,line.item.name"
)
SELLER = "Lieferant GmbH,DE123456789,DE,Kunde AG,DE"


def row(number: str, quantity: str = "2", price: str = "10.00", name: str = "Artikel") -> str:
    """One CSV row of invoice ``number`` with the usual header fields."""
    return f"{number},2026-11-02,EUR,LW-1,{SELLER},{quantity},C62,{price},S,19,{name}"


def read_csv(*rows: str, header: str = HEADER) -> list[RecordResult]:
    """Read the CSV made of ``header`` and ``rows`` from bytes."""
    return list(read_records(("\n".join((header, *rows)) + "\n").encode(), "csv"))


def test_rows_with_the_same_number_make_one_invoice_with_one_line_each() -> None:
    """Two rows of C-1 and one of C-2: two invoices, lines numbered 1, 2 by default."""
    results = read_csv(row("C-1"), row("C-1", "3", "5.00"), row("C-2"))
    assert [(r.record, r.location, r.accepted) for r in results] == [
        ("C-1", "rows 2-3", True),
        ("C-2", "row 4", True),
    ]
    invoice = results[0].invoice
    assert invoice is not None and [line.id for line in invoice.lines] == ["1", "2"]
    assert invoice.totals is not None and invoice.totals.without_vat == Decimal("35.00")


def test_examples_csv_gives_the_same_invoices_as_the_json_export() -> None:
    """examples/erp-export.csv holds five invoices of erp-export.json, field for field."""
    from_json = {r.record: r.invoice for r in read_records(EXAMPLES / "erp-export.json")}
    from_csv = list(read_records(EXAMPLES / "erp-export.csv"))
    assert len(from_csv) == 5
    for result in from_csv:
        assert result.accepted, result.problems
        assert result.invoice == from_json[result.record]


def test_header_disagreement_names_the_row_and_the_column() -> None:
    """A different buyer name on the second row of C-1 rejects C-1 only."""
    second = row("C-1").replace("Kunde AG", "Kunde AG Filiale")
    results = read_csv(row("C-1"), second, row("C-2"))
    assert [r.accepted for r in results] == [False, True]
    (problem,) = results[0].problems
    assert (problem.record, problem.path, problem.bt, problem.value) == (
        "C-1",
        "buyer.name",
        "BT-44",
        "Kunde AG Filiale",
    )
    assert (
        problem.message
        == "row 3 says 'Kunde AG Filiale' but row 2 of the same invoice says 'Kunde AG'"
    )


def test_empty_header_cells_and_empty_number_continue_the_invoice_above() -> None:
    """A continuation row may leave header cells (even the number) empty."""
    continuation = ",,,,,,,,,1,C62,4.00,S,19,Mutter"
    (result,) = read_csv(row("C-1"), continuation)
    assert result.accepted and result.invoice is not None
    assert [line.item.name for line in result.invoice.lines] == ["Artikel", "Mutter"]


def test_an_invoice_split_by_other_rows_is_rejected_in_both_places() -> None:
    """Rows of C-1 must be contiguous: C-1, C-2, C-1 rejects both C-1 groups."""
    results = read_csv(row("C-1"), row("C-2"), row("C-1"))
    assert [(r.record, r.accepted) for r in results] == [
        ("C-1", False),
        ("C-2", True),
        ("C-1", False),
    ]
    assert "is split: row 2 and row 4" in results[0].problems[0].message


def test_comma_decimal_is_read_when_unambiguous() -> None:
    """'2,5' and '10,50' are 2.5 and 10.50: one comma, no dot, not three decimals."""
    (result,) = read_csv(row("C-1", quantity='"2,5"', price='"10,50"'))
    assert result.invoice is not None
    line = result.invoice.lines[0]
    assert (line.quantity, str(line.price.net)) == (Decimal("2.5"), "10.50")


def test_comma_with_three_decimals_is_ambiguous_and_rejected() -> None:
    """'1,500' may mean 1500: rejected with the row and the column."""
    (result,) = read_csv(row("C-1"), row("C-1", quantity='"1,500"'))
    (problem,) = result.problems
    assert (problem.path, problem.bt, problem.value) == ("line.quantity", "BT-129", "1,500")
    assert problem.message == (
        "row 3: ambiguous number: ',' followed by three digits may be a decimal or a "
        "thousands separator"
    )
    assert problem.accepted == "1.500 or 1500, written with '.' as decimal separator"


def test_comma_is_not_a_decimal_separator_in_text_fields() -> None:
    """A comma in a name stays a comma."""
    (result,) = read_csv(row("C-1", name='"Schrauben 4,5 mm"'))
    assert result.invoice is not None and result.invoice.lines[0].item.name == "Schrauben 4,5 mm"


def test_semicolon_delimiter_is_detected_from_the_header() -> None:
    """A German export with ';' and comma decimals reads like the comma version."""
    header = HEADER.replace(",", ";")
    line = row("C-1", price="10,50").replace(",", ";").replace("10;50", "10,50")
    (result,) = read_csv(line, header=header)
    assert result.invoice is not None and result.invoice.lines[0].price.net == Decimal("10.50")


def test_unknown_column_is_rejected_with_did_you_mean_and_row() -> None:
    """line.item.nmae suggests 'name' and names the row it was filled in."""
    header = HEADER + ",line.item.nmae"
    (result,) = read_csv(row("C-1") + ",x", header=header)
    (problem,) = result.problems
    assert problem.path == "line.item.nmae"
    assert problem.message == "row 2: unknown field 'nmae'; did you mean 'name'?"


def test_bad_date_in_header_names_the_column() -> None:
    """A bad due_date is reported under its column name and BT-9."""
    header = HEADER + ",due_date"
    (result,) = read_csv(row("C-1") + ",31.12.2026", header=header)
    (problem,) = result.problems
    assert (problem.path, problem.bt, problem.message) == ("due_date", "BT-9", "not a date")


def test_indexed_columns_build_lists() -> None:
    """notes.0.text / notes.1.text and allowances.0.* become lists in index order."""
    header = HEADER + ",notes.0.text,notes.1.text,allowances.0.amount,allowances.0.vat_category"
    header += ",allowances.0.vat_rate,allowances.0.reason_code"
    (result,) = read_csv(row("C-1") + ",Erste,Zweite,1.00,S,19,95", header=header)
    invoice = result.invoice
    assert invoice is not None
    assert [n.text for n in invoice.notes] == ["Erste", "Zweite"]
    assert invoice.allowances[0].amount == Decimal("1.00")


def test_index_gap_is_a_problem() -> None:
    """notes.1 without notes.0 is reported, not silently renumbered."""
    header = HEADER + ",notes.1.text"
    (result,) = read_csv(row("C-1") + ",Zweite", header=header)
    (problem,) = result.problems
    assert problem.path == "notes" and "indexes from 0 without gaps" in problem.accepted


def test_extra_cells_reject_the_invoice() -> None:
    """A row with more cells than the header (an unquoted comma) is reported."""
    (result,) = read_csv(row("C-1", name="Schrauben 4,5 mm"))
    assert not result.accepted
    assert "record at line 2 has 16 cells, the header has 15" in result.problems[0].message


def test_malformed_quoting_raises_parse_error_with_line() -> None:
    """An unterminated quote cannot be read: ParseError naming the line."""
    with pytest.raises(ParseError) as caught:
        read_csv(row("C-1"), row("C-2", name='"Artikel') + "x")
    assert caught.value.location.startswith("<input>: line")


@pytest.mark.parametrize(
    ("header", "message"),
    [
        (HEADER + ",number", "appears twice"),
        (HEADER + ",lines.0.quantity", "lines are rows"),
        (HEADER + ",seller", "conflicts with"),
        (HEADER + ",", "empty column name"),
    ],
)
def test_broken_header_is_a_parse_error(header: str, message: str) -> None:
    """Duplicate, 'lines.' , overlapping and empty column names are refused up front."""
    with pytest.raises(ParseError, match=message):
        read_csv(row("C-1"), header=header)


ATTACHMENT = ",supporting_documents.0.reference,supporting_documents.0.attachment.path"


def test_attachment_path_is_read_relative_to_the_csv(tmp_path: Path) -> None:
    """The file's bytes become BT-125; filename and MIME code default from the name."""
    (tmp_path / "docs").mkdir()
    (tmp_path / "docs" / "note.pdf").write_bytes(b"%PDF-1.4 x")
    csv_file = tmp_path / "export.csv"
    csv_file.write_text(HEADER + ATTACHMENT + "\n" + row("C-1") + ",LS-1,docs/note.pdf\n")
    (result,) = read_records(csv_file)
    assert result.invoice is not None
    attachment = result.invoice.supporting_documents[0].attachment
    assert attachment is not None
    assert (attachment.content, attachment.filename, attachment.mime_code) == (
        b"%PDF-1.4 x",
        "note.pdf",
        "application/pdf",
    )


@pytest.mark.parametrize(
    ("path", "message"),
    [
        ("../secret.pdf", "the file lies outside the CSV's folder"),
        ("missing.pdf", "cannot read the file"),
    ],
)
def test_attachment_path_outside_or_missing_is_a_problem(
    tmp_path: Path, path: str, message: str
) -> None:
    """Paths escaping the CSV's folder and missing files reject the record, naming the column."""
    (tmp_path / "secret.pdf").write_bytes(b"x")
    folder = tmp_path / "in"
    folder.mkdir()
    csv_file = folder / "export.csv"
    csv_file.write_text(HEADER + ATTACHMENT + "\n" + row("C-1") + f",LS-1,{path}\n")
    (result,) = read_records(csv_file)
    assert not result.accepted
    problem = result.problems[0]
    assert problem.path == "supporting_documents.0.attachment.path"
    assert problem.value == path and problem.message.startswith(message)


def test_attachment_path_from_bytes_needs_a_folder() -> None:
    """CSV given as bytes has no folder to resolve attachment paths against."""
    (result,) = read_csv(row("C-1") + ",LS-1,note.pdf", header=HEADER + ATTACHMENT)
    assert result.problems[0].message == "attachment paths need a CSV file on disk"


def test_excel_style_bom_and_crlf_are_read() -> None:
    """A UTF-8 byte-order mark and CRLF line ends (Excel 'CSV UTF-8') are accepted."""
    data = ("\ufeff" + HEADER + "\r\n" + row("C-1", name="Größe M") + "\r\n").encode()
    (result,) = read_records(data, "csv")
    assert result.invoice is not None and result.invoice.lines[0].item.name == "Größe M"


def test_non_utf8_csv_names_the_byte_offset() -> None:
    """A Windows-1252 export is refused with the offset of the first bad byte."""
    data = (HEADER + "\n" + row("C-1", name="Größe")).encode("cp1252")
    with pytest.raises(ParseError) as caught:
        list(read_records(data, "csv"))
    assert caught.value.location.startswith("<input>: line 2, byte offset ")
    assert "byte 0xF6" in str(caught.value) and "--encoding cp1252" in str(caught.value)


def test_rows_without_any_number_are_one_record_named_by_rows() -> None:
    """Leading rows with no number form one rejected record 'rows 2-3'; problems say so."""
    nameless = row("", name="Schrauben 4,5 mm")
    results = read_csv(nameless, nameless, row("C-1"))
    assert [(r.record, r.accepted) for r in results] == [("rows 2-3", False), ("C-1", True)]
    assert {p.record for p in results[0].problems} == {"rows 2-3"}
    assert {p.path for p in results[0].problems} >= {"number"}
