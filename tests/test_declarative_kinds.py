"""Declarative formats written from scratch in a test folder: per-invoice CSV, envelope, options."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import pytest
from builders import simple_invoice

from gateway.envelope import Envelope
from gateway.errors import ConfigError, ValidationFailed
from gateway.profiles.profile import BuyerProfile
from gateway.totals import complete
from mappings.declarative import load_format

INVOICE = complete(simple_invoice())

ROW_SCHEMA = {
    "$schema": "https://json-schema.org/draft/2020-12/schema",
    "type": "object",
    "additionalProperties": False,
    "required": ["NO", "GROSS", "LINES"],
    "properties": {
        "NO": {"type": "string"},
        "GROSS": {"type": "number", "minimum": 0},
        "LINES": {"type": "integer", "minimum": 1},
    },
}


def write_format(folder: Path, toml: str, template: str, schema: object) -> Path:
    """A format made of three files in ``folder`` (``toml`` without template/schema keys)."""
    (folder / "t.j2").write_text(template, encoding="utf-8")
    (folder / "s.json").write_text(json.dumps(schema), encoding="utf-8")
    path = folder / "f.toml"
    # template/schema first: keys after a [table] header would belong to that table.
    path.write_text('template = "t.j2"\nschema = "s.json"\n' + toml, encoding="utf-8")
    return path


def per_invoice_csv(folder: Path, template: str) -> Path:
    """A one-row-per-invoice CSV format with dot decimals and a ',' delimiter."""
    toml = (
        'name = "summary"\noutput = "csv"\nper = "invoice"\n'
        '[csv]\ndelimiter = ","\ndecimal = "."\ncolumns = ["NO", "GROSS", "LINES"]\n'
    )
    return write_format(folder, toml, template, ROW_SCHEMA)


def test_per_invoice_csv_renders_one_row(tmp_path: Path) -> None:
    """per = "invoice": one data row with dot decimals passes the row schema."""
    template = (
        "NO,GROSS,LINES\n"
        "{{ invoice.number }},{{ invoice.totals.with_vat | amount(2) }},"
        "{{ invoice.lines | length }}\n"
    )
    mapping = load_format(per_invoice_csv(tmp_path, template))
    text = mapping.render(INVOICE, BuyerProfile()).content.decode()
    assert INVOICE.totals is not None
    assert text.splitlines()[1] == f"INV-1,{INVOICE.totals.with_vat:.2f},{len(INVOICE.lines)}"


def test_per_invoice_csv_with_a_row_per_line_is_caught(tmp_path: Path) -> None:
    """per = "invoice" but a row per line: the row count finding names what was expected."""
    template = (
        "NO,GROSS,LINES\n{% for line in invoice.lines %}"
        "{{ invoice.number }},{{ line.net_amount | amount(2) }},1\n{% endfor %}"
    )
    mapping = load_format(per_invoice_csv(tmp_path, template))
    with pytest.raises(ValidationFailed) as caught:
        mapping.render(INVOICE, BuyerProfile())
    (problem,) = caught.value.findings
    assert (problem.path, problem.value, problem.accepted) == ("rows", 2, "1 data row(s)")


def test_envelope_and_options_reach_the_template(tmp_path: Path) -> None:
    """The template sees the envelope's references and the merged options, never the clock."""
    schema = {"type": "object", "required": ["batch", "at", "portal"]}
    template = (
        '{"batch": {{ envelope.interchange_ref }}, "at": {{ envelope.prepared_at }}, '
        '"portal": {{ options.portal }}}\n'
    )
    toml = 'name = "env"\noutput = "json"\n[options]\nportal = "default"\n'
    mapping = load_format(write_format(tmp_path, toml, template, schema))
    envelope = Envelope("B-77", dt.datetime(2026, 11, 2, 9, 30, tzinfo=dt.UTC))
    profile = BuyerProfile(options={"portal": "eu-1"})
    body = json.loads(mapping.render(INVOICE, profile, envelope).content)
    assert body == {"batch": "B-77", "at": "2026-11-02T09:30:00+00:00", "portal": "eu-1"}


def test_csv_options_on_a_json_format_are_refused(tmp_path: Path) -> None:
    """'per' (and [csv]) apply to CSV only; on a JSON format they are a ConfigError."""
    path = write_format(tmp_path, 'name = "x"\noutput = "json"\nper = "line"\n', "{}", {})
    with pytest.raises(ConfigError, match="apply only to output"):
        load_format(path)
