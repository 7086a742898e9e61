"""Declarative formats: what a broken format file, template or schema is reported as."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from builders import simple_invoice

from gateway.errors import ConfigError, ValidationFailed
from gateway.model import Invoice
from gateway.profiles.profile import BuyerProfile
from gateway.totals import complete
from mappings.declarative import DeclarativeMapping, TemplateFailed, load_format

ROOT = Path(__file__).resolve().parents[1]
BUYERS = ROOT / "mappings" / "buyers"
FORMATS = ROOT / "config" / "formats"
PROFILE = BuyerProfile()
INVOICE: Invoice = complete(simple_invoice())

ACME = ("acme-portal-json", "acme-portal", "invoice.json.j2")
GLOBEX = ("globex-ap-csv", "globex-ap", "invoice-lines.csv.j2")


def copy_format(tmp_path: Path, which: tuple[str, str, str], old: str = "", new: str = "") -> Path:
    """A copy of a shipped format in ``tmp_path`` with ``old`` replaced by ``new`` in its template.

    Returns the TOML path; the template and schema sit next to it.
    """
    name, folder, template = which
    target = tmp_path / folder
    shutil.copytree(BUYERS / folder, target)
    if old:
        text = (target / template).read_text(encoding="utf-8")
        assert text.count(old) == 1, f"{old!r} must occur once in {template}"
        (target / template).write_text(text.replace(old, new), encoding="utf-8")
    toml = (FORMATS / f"{name}.toml").read_text(encoding="utf-8")
    toml = toml.replace(f"../../mappings/buyers/{folder}/", f"{folder}/")
    path = tmp_path / f"{name}.toml"
    path.write_text(toml, encoding="utf-8")
    return path


def broken(tmp_path: Path, which: tuple[str, str, str], old: str, new: str) -> DeclarativeMapping:
    """The copied format with one template change, loaded from its files."""
    return load_format(copy_format(tmp_path, which, old, new))


def findings(mapping: DeclarativeMapping, invoice: Invoice = INVOICE) -> list[str]:
    """The findings ValidationFailed reports for ``invoice``, as text."""
    with pytest.raises(ValidationFailed) as caught:
        mapping.render(invoice, PROFILE)
    return [str(f) for f in caught.value.findings]


def test_unchanged_copy_renders(tmp_path: Path) -> None:
    """The copy helper itself yields a working format (so the failures below are the edits')."""
    for which in (ACME, GLOBEX):
        assert load_format(copy_format(tmp_path / which[0], which)).render(INVOICE, PROFILE)


def test_json_number_rendered_as_string_names_pointer_value_line_and_bt(tmp_path: Path) -> None:
    """A unit price written as a string is reported at its JSON pointer with value, line, BT-146."""
    mapping = broken(
        tmp_path,
        ACME,
        '"unitPrice": {{ line.price.net | amount(4) }}',
        '"unitPrice": {{ line.price.net | amount(4) | string }}',
    )
    with pytest.raises(ValidationFailed) as caught:
        mapping.render(INVOICE, PROFILE)
    first = caught.value.findings[0]
    assert first.record == "INV-1"
    assert first.path == "/lines/0/unitPrice"
    assert first.value == "10.0000"
    assert first.bt == "BT-146"
    assert first.accepted == "type number"
    assert "template invoice.json.j2 line 46" in first.message
    assert "fed by lines[0].price.net" in first.message
    assert len(caught.value.findings) == len(INVOICE.lines)


def test_missing_required_json_field_is_named(tmp_path: Path) -> None:
    """A required field the template no longer writes is reported by its pointer."""
    mapping = broken(tmp_path, ACME, '  "currency": {{ invoice.currency }},\n', "")
    (problem,) = findings(mapping)
    assert "/currency" in problem and "required property" in problem
    assert "INV-1" in problem


def test_json_pattern_violation_names_value_and_pattern(tmp_path: Path) -> None:
    """A date in the wrong format is reported with its value and the pattern accepted."""
    mapping = broken(
        tmp_path,
        ACME,
        '"invoiceDate": {{ invoice.issue_date }}',
        '"invoiceDate": {{ invoice.issue_date | date("%d.%m.%Y") }}',
    )
    problems = findings(mapping)
    assert len(problems) == 2  # the pattern and the "format": "date" keyword both fail
    assert all(
        p.startswith("INV-1: [BUYER-SCHEMA] /invoiceDate (BT-2) = 02.11.2026") for p in problems
    )
    assert any(
        p.endswith("accepted: a string matching ^[0-9]{4}-[0-9]{2}-[0-9]{2}$") for p in problems
    )


def test_invalid_json_from_template_is_reported_with_output_line(tmp_path: Path) -> None:
    """A template producing malformed JSON (a stray comma) is a finding naming the output line."""
    mapping = broken(tmp_path, ACME, '"schemaVersion": "2.1",', '"schemaVersion": "2.1",,')
    (problem,) = findings(mapping)
    assert "output line 2" in problem and "invalid JSON" in problem


def test_csv_number_with_wrong_decimal_separator_names_row_and_column(tmp_path: Path) -> None:
    """A CSV amount written with a dot (decimal comma declared) is reported by row and column."""
    mapping = broken(
        tmp_path,
        GLOBEX,
        "{{ line.net_amount | amount(2) }}",
        "{{ line.net_amount | amount(2) | string }}",
    )
    with pytest.raises(ValidationFailed) as caught:
        mapping.render(INVOICE, PROFILE)
    first = caught.value.findings[0]
    assert first.path == "row 2, column LINE_NET"
    assert first.value == "10.00"
    assert first.bt == "BT-131"
    assert "fed by lines[0].net_amount" in first.message
    assert "template invoice-lines.csv.j2 line 6" in first.message


def test_csv_empty_required_cell_is_reported(tmp_path: Path) -> None:
    """An empty cell in a required column is reported as a missing required property."""
    mapping = broken(tmp_path, GLOBEX, "{{ line.unit }}", "{{ none }}")
    problems = findings(mapping)
    assert len(problems) == len(INVOICE.lines)
    assert "row 2, column UOM" in problems[0] and "required property" in problems[0]


def test_csv_row_count_must_match_per_line(tmp_path: Path) -> None:
    """per = "line": a template that writes one row per invoice is caught by the row count."""
    mapping = broken(
        tmp_path, GLOBEX, "{% for line in invoice.lines %}", "{% for line in invoice.lines[:1] %}"
    )
    (problem,) = findings(mapping)
    assert "rows" in problem and "2 data row(s)" in problem


def test_undefined_variable_names_template_line(tmp_path: Path) -> None:
    """A typo in a template (undefined name) is a TemplateFailed naming file, line and name."""
    mapping = broken(tmp_path, ACME, '"unit": {{ line.unit }}', '"unit": {{ line.unti }}')
    with pytest.raises(TemplateFailed) as caught:
        mapping.render(INVOICE, PROFILE)
    assert caught.value.line == 45
    assert "invoice.json.j2:45" in str(caught.value) and "unti" in str(caught.value)
    assert "INV-1" in str(caught.value)


@pytest.mark.parametrize(
    ("expression", "reason"),
    [("range(10**9) | list", "Range too big"), ("1 / 0", "division by zero")],
)
def test_runaway_or_failing_expressions_are_template_failures(
    tmp_path: Path, expression: str, reason: str
) -> None:
    """A huge range or a runtime error in an expression is reported with the template line."""
    mapping = broken(tmp_path, ACME, '"unit": {{ line.unit }}', f'"unit": {{{{ {expression} }}}}')
    with pytest.raises(TemplateFailed, match=rf"invoice\.json\.j2:45: {reason}"):
        mapping.render(INVOICE, PROFILE)


def test_template_syntax_error_is_reported_at_load(tmp_path: Path) -> None:
    """A template that does not compile fails at load time with its line."""
    with pytest.raises(TemplateFailed, match=r"invoice\.json\.j2:4"):
        broken(tmp_path, ACME, '"schemaVersion": "2.1",', '"schemaVersion": {{ "2.1" + }},')


@pytest.mark.parametrize(
    "expression",
    [
        "''.__class__.__mro__",
        "line.__class__",
        "cycler.__init__.__globals__",
        "lipsum.__globals__",
        "invoice.lines.append(1)",
        "invoice.update(x=1)",
        '"{0.__class__}".format(line)',
        'line | attr("__class__")',
        "self.__init__",
    ],
)
def test_sandbox_refuses_escapes(tmp_path: Path, expression: str) -> None:
    """Dunder access, globals of functions and mutating methods are refused by the sandbox."""
    mapping = broken(tmp_path, ACME, '"unit": {{ line.unit }}', f'"unit": {{{{ {expression} }}}}')
    with pytest.raises(TemplateFailed, match="unsafe"):
        mapping.render(INVOICE, PROFILE)


@pytest.mark.parametrize(
    "tag",
    [
        "{% import 'os' as os %}",
        "{% include '/etc/passwd' %}",
        "{% from 'os' import system %}",
        "{% extends '../../../config/formats/acme-portal-json.toml' %}",
    ],
)
def test_templates_cannot_load_other_files(tmp_path: Path, tag: str) -> None:
    """import / include / extends find nothing: the loader holds only the template itself."""
    mapping = broken(tmp_path, ACME, '"schemaVersion": "2.1",', f'"schemaVersion": "2.1",{tag}')
    with pytest.raises(TemplateFailed, match=r"invoice\.json\.j2:4: templates cannot load other"):
        mapping.render(INVOICE, PROFILE)


def test_bare_import_statement_is_refused(tmp_path: Path) -> None:
    """Python-style ``{% import os %}`` is not a statement Jinja accepts: refused at load."""
    with pytest.raises(TemplateFailed):
        broken(tmp_path, ACME, '"schemaVersion": "2.1",', '"schemaVersion": "2.1",{% import os %}')


def test_unknown_toml_key_suggests_the_right_one(tmp_path: Path) -> None:
    """A misspelt key is a ConfigError naming the file, the key and the likely intended key."""
    path = copy_format(tmp_path, ACME)
    path.write_text(path.read_text().replace("media_type", "media_typ"), encoding="utf-8")
    with pytest.raises(ConfigError) as caught:
        load_format(path)
    text = str(caught.value)
    assert str(path) in text and "'media_typ'" in text and "did you mean 'media_type'?" in text


def test_unknown_csv_key_suggests_the_right_one(tmp_path: Path) -> None:
    """A misspelt key in the [csv] table is reported with the table and a suggestion."""
    path = copy_format(tmp_path, GLOBEX)
    path.write_text(path.read_text().replace("delimiter", "delimeter"), encoding="utf-8")
    with pytest.raises(ConfigError, match=r"\[csv\]: unknown key 'delimeter'; did you mean"):
        load_format(path)


def test_bad_output_kind_and_missing_file_are_config_errors(tmp_path: Path) -> None:
    """An output kind not offered, or a template path that does not exist, fail at load."""
    path = copy_format(tmp_path, ACME)
    original = path.read_text()
    path.write_text(original.replace('output = "json"', 'output = "yaml"'), encoding="utf-8")
    with pytest.raises(ConfigError, match="accepted: json, csv, xml"):
        load_format(path)
    path.write_text(original.replace("invoice.json.j2", "nope.j2"), encoding="utf-8")
    with pytest.raises(ConfigError, match="no such file"):
        load_format(path)


def test_invalid_json_schema_is_a_config_error(tmp_path: Path) -> None:
    """A buyer schema that is not itself a valid JSON Schema fails at load, naming the file."""
    path = copy_format(tmp_path, ACME)
    schema = tmp_path / "acme-portal" / "invoice.schema.json"
    schema.write_text(schema.read_text().replace('"minItems": 1', '"minItems": "one"', 1))
    with pytest.raises(ConfigError, match=r"invoice\.schema\.json: not a valid JSON Schema"):
        load_format(path)


def test_find_format_refuses_a_file_whose_name_differs(tmp_path: Path) -> None:
    """A copied TOML not renamed inside is caught rather than registered under two names."""
    from mappings.declarative import find_format

    path = copy_format(tmp_path, ACME)
    path.rename(tmp_path / "other-portal.toml")
    with pytest.raises(ConfigError, match="'name' = 'acme-portal-json'"):
        find_format("other-portal", [tmp_path])


def test_extra_json_field_is_reported_by_name(tmp_path: Path) -> None:
    """A field the buyer schema does not allow (additionalProperties false) is named with value."""
    mapping = broken(
        tmp_path,
        ACME,
        '"schemaVersion": "2.1",',
        '"schemaVersion": "2.1", "note": {{ invoice.number }},',
    )
    (problem,) = findings(mapping)
    assert problem.startswith("INV-1: [BUYER-SCHEMA] /note (BT-1) = {\"note\": \"INV-1\"}")
    assert "only the properties" in problem and "supplierId" in problem


def test_one_of_violation_lists_the_accepted_branches(tmp_path: Path) -> None:
    """A value failing every branch of a oneOf names each branch and the canonical field."""
    mapping = broken(
        tmp_path,
        ACME,
        '"rate": {{ tax.rate | amount(2) }}',
        '"rate": {{ tax.rate | amount(2) | string }}',
    )
    (problem,) = findings(mapping)
    assert "/taxLines/0/rate (BT-119) = 19.00" in problem
    assert "fed by vat_breakdown[0].rate (BT-119)" in problem
    assert problem.endswith("accepted: one of: rate | null")
