"""Findings for people: values as people read them, the values the rule tested, causes first,
and a record's intake problems once (issue 10 item 6)."""

from __future__ import annotations

import datetime as dt
import json
from decimal import Decimal

from gateway.display import json_value, show
from gateway.errors import Problem
from gateway.model import Identifier


def test_show_prints_values_not_python_reprs() -> None:
    """Decimals plain, None as (none), dates ISO, lists joined, blanks visible, ids readable."""
    assert show(Decimal("0.00")) == "0.00"
    assert show(Decimal("1E+2")) == "100"
    assert show(Decimal("-0.00")) == "-0.00"
    assert show(None) == "(none)"
    assert show(dt.date(2026, 10, 1)) == "2026-10-01"
    assert show(["S", "E"]) == "S, E"
    assert show(()) == "(none)"
    assert show("DE123456789") == "DE123456789"
    assert show("") == "(empty)"
    assert show("  ") == '"  "'
    assert show("a\tb") == '"a\\tb"'
    assert show(True) == "true"
    assert show(3) == "3"
    assert show(b"abc") == "3 bytes"
    assert show(Identifier(value="4012345000016", scheme="0088")) == "4012345000016 (scheme 0088)"


def test_problem_text_has_no_repr_and_json_keeps_json_types() -> None:
    """str(Problem) shows 0.00 and (none); as_dict gives null, decimal strings and lists."""
    amount = Problem("INV-1", "totals.vat", "BT-110", Decimal("0.00"), "BR-CO-14", "wrong")
    missing = Problem("INV-1", "seller.vat_id", "BT-31", None, "BR-S-02", "missing")
    listed = Problem("INV-1", "vat_breakdown", "BG-23", ["S", "E"], "BR-O-11", "others")
    assert "= 0.00: wrong" in str(amount) and "Decimal" not in str(amount)
    assert "= (none): missing" in str(missing) and "None" not in str(missing)
    assert "= S, E: others" in str(listed)
    assert amount.as_dict()["value"] == "0.00"
    assert missing.as_dict()["value"] is None
    assert listed.as_dict()["value"] == ["S", "E"]
    assert json_value(dt.date(2026, 1, 2)) == "2026-01-02"
    json.dumps([amount.as_dict(), missing.as_dict(), listed.as_dict()])
