"""The two worked declarative buyer formats, loaded from their files alone."""

from __future__ import annotations

import csv
import io
import json
from decimal import Decimal
from functools import cache
from pathlib import Path

import pytest
from golden import assert_golden

from gateway.intake import read_records
from gateway.model import Invoice
from gateway.profiles.profile import BuyerProfile
from mappings.base import Mapping
from mappings.declarative import DeclarativeMapping, find_format, format_search_path, load_format

ROOT = Path(__file__).resolve().parents[1]
FORMATS = ROOT / "config" / "formats"
EXAMPLES = ROOT / "examples" / "erp-export.json"
GOLDEN_NUMBERS = ("NB-2026-10001", "NB-2026-90001", "FV-2026-018", "RW-2026-5505", "APW-2026-0312")
PROFILE = BuyerProfile(name="test", format="x")


@cache
def examples() -> tuple[Invoice, ...]:
    """Every invoice of examples/erp-export.json, as intake completes it."""
    invoices = []
    for result in read_records(EXAMPLES):
        assert result.invoice is not None, result.problems
        invoices.append(result.invoice)
    return tuple(invoices)


def example(number: str) -> Invoice:
    """The example invoice with BT-1 ``number``."""
    return next(i for i in examples() if i.number == number)


@cache
def fmt(name: str) -> DeclarativeMapping:
    """A shipped format, loaded from its TOML file only."""
    return load_format(FORMATS / f"{name}.toml")


def test_formats_load_from_their_toml_file_and_are_mappings() -> None:
    """load_format on the TOML path gives a Mapping with the declared name, syntax and no rules."""
    acme, globex = fmt("acme-portal-json"), fmt("globex-ap-csv")
    assert isinstance(acme, Mapping) and isinstance(globex, Mapping)
    assert (acme.name, acme.syntax, acme.rules) == ("acme-portal-json", "json", ())
    assert (globex.name, globex.syntax, globex.rules) == ("globex-ap-csv", "csv", ())


@pytest.mark.parametrize("name", ["acme-portal-json", "globex-ap-csv"])
def test_every_example_renders_and_passes_the_buyer_schema(name: str) -> None:
    """All 27 examples render in both formats; render itself raises on any schema violation."""
    mapping = fmt(name)
    documents = [mapping.render(invoice, PROFILE) for invoice in examples()]
    assert len(documents) == 27
    for invoice, document in zip(examples(), documents, strict=True):
        assert document.invoice_number == invoice.number
        assert document.format == name
        assert (
            mapping.check(
                invoice.number, document.content.decode(), invoice.model_dump(mode="json")
            )
            == []
        )


@pytest.mark.parametrize("number", GOLDEN_NUMBERS)
def test_acme_json_golden(number: str) -> None:
    """acme-portal-json output equals its golden file."""
    document = fmt("acme-portal-json").render(example(number), PROFILE)
    assert (document.media_type, document.extension) == ("application/json", "json")
    assert_golden(f"declarative/acme-portal-json/{number}.json", document.content, kind="text")


@pytest.mark.parametrize("number", GOLDEN_NUMBERS)
def test_globex_csv_golden(number: str) -> None:
    """globex-ap-csv output equals its golden file."""
    document = fmt("globex-ap-csv").render(example(number), PROFILE)
    assert (document.media_type, document.extension) == ("text/csv", "csv")
    assert_golden(f"declarative/globex-ap-csv/{number}.csv", document.content, kind="text")


def test_acme_json_carries_the_invoice_amounts_as_numbers() -> None:
    """The JSON upload's totals and line amounts are JSON numbers equal to the invoice's."""
    invoice = example("NB-2026-10001")
    body = json.loads(fmt("acme-portal-json").render(invoice, PROFILE).content, parse_float=Decimal)
    assert invoice.totals is not None
    assert body["totals"]["gross"] == invoice.totals.with_vat
    assert [line["netAmount"] for line in body["lines"]] == [
        line.net_amount for line in invoice.lines
    ]
    assert body["documentType"] == "INVOICE"
    assert (
        json.loads(fmt("acme-portal-json").render(example("NB-2026-90001"), PROFILE).content)[
            "documentType"
        ]
        == "CREDIT_NOTE"
    )


def test_globex_csv_has_one_row_per_line_with_decimal_comma() -> None:
    """The CSV upload has a header plus one row per invoice line, amounts with a decimal comma."""
    invoice = example("NB-2026-10001")
    text = fmt("globex-ap-csv").render(invoice, PROFILE).content.decode()
    rows = list(csv.reader(io.StringIO(text), delimiter=";"))
    assert len(rows) == 1 + len(invoice.lines)
    header = rows[0]
    for row, line in zip(rows[1:], invoice.lines, strict=True):
        cells = dict(zip(header, row, strict=True))
        assert cells["INVOICE_NO"] == invoice.number
        assert Decimal(cells["LINE_NET"].replace(",", ".")) == line.net_amount
        assert "." not in cells["LINE_NET"]


def test_profile_options_override_format_options() -> None:
    """A buyer profile's options win over the [options] defaults of the TOML file."""
    profile = BuyerProfile(
        name="acme", format="acme-portal-json", options={"supplier_id": "ACME-SUP-123456"}
    )
    body = json.loads(fmt("acme-portal-json").render(example("NB-2026-10001"), profile).content)
    assert body["supplierId"] == "ACME-SUP-123456"


def test_csv_cells_with_delimiter_quote_or_newline_are_quoted() -> None:
    """Text holding ';', '"' or a line break is quoted so the row still has every column."""
    base = example("NB-2026-10001")
    tricky = 'Papier; "extra weiß"\nzweite Zeile'
    line = base.lines[0].model_copy(
        update={"item": base.lines[0].item.model_copy(update={"name": tricky})}
    )
    invoice = base.model_copy(update={"lines": (line, *base.lines[1:])})
    text = fmt("globex-ap-csv").render(invoice, PROFILE).content.decode()
    rows = list(csv.reader(io.StringIO(text, newline=""), delimiter=";"))
    assert rows[1][rows[0].index("ITEM_TEXT")] == tricky
    assert len(rows) == 1 + len(invoice.lines)


def test_json_strings_are_escaped() -> None:
    """Quotes, backslashes and control characters in text come out as valid JSON strings."""
    base = example("NB-2026-10001")
    tricky = 'A "quoted" \\ name\twith\ncontrol'
    invoice = base.model_copy(update={"seller": base.seller.model_copy(update={"name": tricky})})
    body = json.loads(fmt("acme-portal-json").render(invoice, PROFILE).content)
    assert body["supplier"]["name"] == tricky


def test_find_format_looks_up_name_toml_in_search_dirs(tmp_path: Path) -> None:
    """find_format returns the format from <dir>/<name>.toml, None for an unknown name."""
    found = find_format("globex-ap-csv", [tmp_path, FORMATS])
    assert found is not None and found.name == "globex-ap-csv"
    assert find_format("no-such-format", [tmp_path, FORMATS]) is None
    assert find_format("../formats/globex-ap-csv", [FORMATS]) is None


def test_format_search_path_puts_env_dirs_before_the_shipped_folder(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    """IGW_FORMATS_PATH folders are searched first, config/formats last."""
    monkeypatch.setenv("IGW_FORMATS_PATH", str(tmp_path))
    assert format_search_path() == [tmp_path, FORMATS]


def test_parse_is_refused() -> None:
    """Declarative formats are outbound only: parse raises ParseError."""
    from gateway.errors import ParseError

    with pytest.raises(ParseError, match="outbound only"):
        fmt("acme-portal-json").parse(b"{}")


def test_csv_read_back_reports_a_header_that_differs_from_the_columns() -> None:
    """A header row that is not the declared column list is a finding on row 1."""
    mapping = fmt("globex-ap-csv")
    invoice = example("NB-2026-10001")
    text = mapping.render(invoice, PROFILE).content.decode()
    wrong = text.replace("ITEM_TEXT", "ITEM_DESC", 1)
    (problem,) = mapping.check(invoice.number, wrong, invoice.model_dump(mode="json"))
    assert problem.path == "row 1"
    assert "header row differs" in problem.message
    assert "ITEM_TEXT" in problem.accepted
