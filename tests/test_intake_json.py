"""JSON intake: one object, an array, JSON Lines; exact decimals; problems in plain words."""

from __future__ import annotations

import base64
import json
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from gateway.errors import InputError, ParseError, Problem
from gateway.intake import RecordResult, read_records

EXAMPLES = Path(__file__).resolve().parent.parent / "examples"


def good_record(number: str = "J-1") -> dict[str, Any]:
    """A small valid record in the record format (totals left out)."""
    return {
        "number": number,
        "issue_date": "2026-11-02",
        "currency": "EUR",
        "buyer_reference": "04011000-12345-34",
        "seller": {
            "name": "Lieferant GmbH",
            "vat_id": "DE123456789",
            "address": {"city": "Berlin", "post_code": "10115", "country": "DE"},
        },
        "buyer": {"name": "Kunde AG", "address": {"country": "DE"}},
        "lines": [
            {
                "id": "1",
                "quantity": 3,
                "unit": "C62",
                "price": {"net": 0.1},
                "vat_category": "S",
                "vat_rate": 19,
                "item": {"name": "Schraube"},
            }
        ],
    }


def read(data: Any) -> list[RecordResult]:
    """All results of reading ``data`` (JSON-dumped unless already bytes)."""
    raw = data if isinstance(data, bytes) else json.dumps(data).encode()
    return list(read_records(raw, "json"))


def only_problem(result: RecordResult) -> Problem:
    """The single problem of a rejected result."""
    assert result.invoice is None
    assert len(result.problems) == 1, result.problems
    return result.problems[0]


def test_single_object_is_one_completed_invoice() -> None:
    """One JSON object is one record; totals are completed by gateway.totals.complete."""
    (result,) = read(good_record())
    assert result.accepted and result.invoice is not None
    assert result.record == "J-1" and result.location == "record 1"
    assert result.invoice.totals is not None
    assert result.invoice.totals.with_vat == Decimal("0.36")


def test_json_numbers_are_read_as_exact_decimals() -> None:
    """0.1 in JSON is Decimal('0.1'), never the float 0.1000000000000000055..."""
    (result,) = read(b"[" + json.dumps(good_record()).encode().replace(b"0.1", b"0.10") + b"]")
    assert result.invoice is not None
    assert str(result.invoice.lines[0].price.net) == "0.10"


def test_array_yields_each_record_in_order_and_bad_ones_do_not_stop_the_batch() -> None:
    """A bad record between good ones is reported; the good ones still come out."""
    bad = good_record("J-2")
    bad["issue_date"] = "13.11.2017"
    results = read([good_record("J-1"), bad, good_record("J-3")])
    assert [r.record for r in results] == ["J-1", "J-2", "J-3"]
    assert [r.accepted for r in results] == [True, False, True]
    assert [r.location for r in results] == ["record 1", "record 2", "record 3"]


def test_bad_date_problem_names_record_path_bt_value_and_accepted_form() -> None:
    """issue_date '13.11.2017' -> INPUT problem with BT-2 and 'YYYY-MM-DD'."""
    record = good_record("J-9")
    record["issue_date"] = "13.11.2017"
    problem = only_problem(read(record)[0])
    assert problem == Problem(
        record="J-9",
        path="issue_date",
        bt="BT-2",
        value="13.11.2017",
        rule="INPUT",
        message="not a date",
        accepted="YYYY-MM-DD",
    )
    assert str(problem) == (
        "J-9: [INPUT] issue_date (BT-2) = 13.11.2017: not a date; accepted: YYYY-MM-DD"
    )


def test_bad_decimal_in_a_line_names_the_indexed_path() -> None:
    """A comma decimal in JSON is not a number: lines[0].quantity (BT-129)."""
    record = good_record()
    record["lines"][0]["quantity"] = "12,5"
    problem = only_problem(read(record)[0])
    assert (problem.path, problem.bt, problem.value) == ("lines[0].quantity", "BT-129", "12,5")
    assert problem.message == "not a decimal number"
    assert "'.' as decimal separator" in problem.accepted


def test_nan_is_not_a_finite_number() -> None:
    """NaN (accepted by Python's json) is rejected as an amount."""
    raw = json.dumps(good_record()).replace('"net": 0.1', '"net": NaN').encode()
    problem = only_problem(read(raw)[0])
    assert (problem.path, problem.message) == ("lines[0].price.net", "not a finite number")


def test_unknown_key_is_rejected_with_did_you_mean() -> None:
    """'curency' is unknown, hints 'currency', and the real currency is reported missing."""
    record = good_record()
    record["curency"] = record.pop("currency")
    (result,) = read(record)
    by_path = {p.path: p for p in result.problems}
    assert set(by_path) == {"currency", "curency"}
    assert by_path["currency"].message == "missing" and by_path["currency"].bt == "BT-5"
    unknown = by_path["curency"]
    assert unknown.message == "unknown field 'curency'; did you mean 'currency'?"
    assert unknown.value == "EUR" and unknown.accepted.startswith("one of: number, issue_date")


def test_unknown_nested_key_names_its_full_path() -> None:
    """An unknown key inside seller.address suggests the field of Address it resembles."""
    record = good_record()
    record["seller"]["address"]["zip"] = "10115"
    record["seller"]["address"]["cty"] = "Berlin"
    (result,) = read(record)
    messages = {p.path: p.message for p in result.problems}
    assert messages == {
        "seller.address.zip": "unknown field 'zip'",
        "seller.address.cty": "unknown field 'cty'; did you mean 'city'?",
    }


def test_missing_mandatory_group_is_reported_with_its_bg_id() -> None:
    """A record without a seller: path 'seller', BG-4, 'missing'."""
    record = good_record()
    del record["seller"]
    problem = only_problem(read(record)[0])
    assert (problem.path, problem.bt, problem.message) == ("seller", "BG-4", "missing")


def test_failed_lines_do_not_also_report_an_empty_line_list() -> None:
    """pydantic's echo 'at least 1 item' for a list whose entries failed is dropped."""
    record = good_record()
    del record["lines"][0]["unit"]
    problem = only_problem(read(record)[0])
    assert problem.path == "lines[0].unit"


def test_record_that_is_not_an_object_is_named_by_position() -> None:
    """A string in the array is 'record 2', a rejected record with a plain message."""
    results = read([good_record(), "oops"])
    problem = only_problem(results[1])
    assert results[1].record == "record 2"
    assert problem.message == "a record must be a JSON object, not str"


def test_json_lines_reads_each_line_and_reports_a_malformed_one() -> None:
    """JSON Lines: a broken line is one rejected record naming line and column."""
    lines = [
        json.dumps(good_record("L-1")),
        '{"number": "L-2", oops}',
        json.dumps(good_record("L-3")),
    ]
    results = read("\n".join(lines).encode() + b"\n")
    assert [r.accepted for r in results] == [True, False, True]
    problem = only_problem(results[1])
    assert results[1].record == "record 2 (line 2)"
    assert problem.message.startswith("malformed JSON at line 2 column 19:")


def test_malformed_json_document_raises_parse_error_with_line_and_column() -> None:
    """A broken array cannot be read at all: ParseError naming line and column."""
    with pytest.raises(ParseError) as caught:
        read(b'[\n  {"number": "X"},\n  {"number" "Y"}\n]')
    assert caught.value.location == "<input>: line 3 column 13"


def test_top_level_scalar_is_a_parse_error() -> None:
    """A JSON document that is a number holds no record."""
    with pytest.raises(ParseError, match="expected a JSON object"):
        read(b"42")


def test_non_utf8_input_names_the_byte_offset() -> None:
    """Latin-1 bytes are rejected with the offset of the first bad byte."""
    with pytest.raises(ParseError) as caught:
        read(b'{"number": "Gr\xfc\xdfe"}')
    assert caught.value.location == "<input>: line 1, byte offset 14"
    assert "--encoding cp1252" in str(caught.value)


def test_attachment_is_base64_in_json_and_bytes_in_the_model() -> None:
    """BT-125 content travels as base64 and arrives as the original bytes."""
    record = good_record()
    content = b"%PDF-1.4 tiny"
    record["supporting_documents"] = [
        {
            "reference": "LS-1",
            "attachment": {
                "content": base64.b64encode(content).decode(),
                "mime_code": "application/pdf",
                "filename": "ls.pdf",
            },
        }
    ]
    (result,) = read(record)
    assert result.invoice is not None
    attachment = result.invoice.supporting_documents[0].attachment
    assert attachment is not None and attachment.content == content


def test_auto_format_uses_the_extension_and_reads_paths(tmp_path: Path) -> None:
    """A .jsonl file is read as JSON Lines from its path."""
    path = tmp_path / "export.jsonl"
    path.write_text(json.dumps(good_record("P-1")) + "\n" + json.dumps(good_record("P-2")))
    assert [r.record for r in read_records(path)] == ["P-1", "P-2"]


def test_auto_format_sniffs_bytes() -> None:
    """Bytes starting with '{' are JSON."""
    assert [r.record for r in read_records(json.dumps(good_record()).encode())] == ["J-1"]


def test_unknown_format_and_missing_file_are_input_errors(tmp_path: Path) -> None:
    """format='jsn' suggests 'json'; a missing file names its path."""
    with pytest.raises(InputError, match="did you mean 'json'"):
        list(read_records(b"{}", "jsn"))
    with pytest.raises(InputError, match="cannot read"):
        list(read_records(tmp_path / "nope.json"))


def test_rule_problems_can_be_added_to_a_result() -> None:
    """with_problems returns a new result; a fatal rule problem makes it not accepted."""
    (result,) = read(good_record())
    rule = Problem("J-1", "buyer_reference", "BT-10", None, "BR-DE-15", "missing")
    checked = result.with_problems([rule])
    assert result.accepted and not checked.accepted
    assert checked.invoice == result.invoice
    assert checked.rejection().problems == [rule]
    warned = result.with_problems([Problem("J-1", "", None, None, "X", "w", flag="warning")])
    assert warned.accepted


def test_duplicate_keys_are_rejected_not_silently_overwritten() -> None:
    """{"currency": "EUR", ..., "currency": "USD"} is a problem naming the key and path."""
    text = json.dumps(good_record()).replace(
        '"currency": "EUR"', '"currency": "EUR", "currency": "USD"'
    )
    text = text.replace('"unit": "C62"', '"unit": "C62", "unit": "H87"')
    (result,) = read(text.encode())
    assert not result.accepted and result.invoice is None
    assert [(p.path, p.bt, p.message) for p in result.problems] == [
        ("currency", "BT-5", "key 'currency' appears more than once in the same object"),
        ("lines[0].unit", "BT-130", "key 'unit' appears more than once in the same object"),
    ]


@pytest.mark.parametrize(
    ("change", "path", "message", "accepted"),
    [
        ({"number": 4711}, "number", "not text", "a JSON string"),
        # A blank mandatory text is missing (intake treats blank as absent, issue 9 item 5).
        ({"number": "  "}, "number", "missing", "a value (this field is mandatory)"),
        ({"seller": "Lieferant GmbH"}, "seller", "not an object", "an object with fields name,"),
        ({"lines": {"id": "1"}}, "lines", "not a list", "a JSON array"),
        ({"lines": []}, "lines", "empty list", "at least 1 entry"),
        (
            {"payment": {"means_code": "54", "card": {"pan_last_digits": "12AB"}}},
            "payment.card.pan_last_digits",
            "wrong form",
            "text matching ^[0-9]+$",
        ),
        (
            {"payment": {"means_code": "54", "card": {"pan_last_digits": "4111111111111111"}}},
            "payment.card.pan_last_digits",
            "too long",
            "at most 6 character(s)",
        ),
    ],
)
def test_each_kind_of_type_error_is_explained(
    change: dict[str, Any], path: str, message: str, accepted: str
) -> None:
    """Wrong JSON types, empty text, patterns and lengths get a plain message and form."""
    record = good_record()
    record.update(change)
    problem = only_problem(read(record)[0])
    assert (problem.path, problem.message) == (path, message)
    assert problem.accepted.startswith(accepted)
