"""Findings for people: values as people read them, the values the rule tested, causes first,
and a record's intake problems once (issue 10 item 6)."""

from __future__ import annotations

import datetime as dt
import json
import subprocess
import sys
from decimal import Decimal
from pathlib import Path
from typing import Any

from test_differential_generator import apply, variant
from test_differential_generator import base as differential_base

from gateway.display import json_value, show
from gateway.errors import Problem
from gateway.intake import read_records
from gateway.model import Identifier, Invoice, Period, VatBreakdown
from gateway.profiles.profile import BuyerProfile
from gateway.registry import resolve_mapping
from gateway.rules import check
from gateway.totals import complete
from gateway.translation.pipeline import read_inputs, translate

sys.path.insert(0, str(Path(__file__).resolve().parent / "rules"))
from helpers import ALL_SETS, base, misreported

ROOT = Path(__file__).resolve().parent.parent


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
    assert show(Period()) == "(empty)"
    assert show(Decimal("9" * 4300)) == "9" * 100 + "... (4,300 characters)"
    assert show({"note": "INV-1", "n": Decimal("1.50")}) == '{"note": "INV-1", "n": "1.50"}'


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


# -- the value a rule finding reports is the value the rule tested ------------------------------


def _o_invoice(**seller: Any) -> Invoice:
    """The rule base invoice with every line, and the breakdown, not subject to VAT (O)."""
    invoice = base()
    lines = tuple(
        line.model_copy(update={"vat_category": "O", "vat_rate": None}) for line in invoice.lines
    )
    invoice = invoice.model_copy(
        update={
            "lines": lines,
            "seller": invoice.seller.model_copy(update=seller),
            "totals": None,
            "vat_breakdown": (VatBreakdown(category="O", exemption_reason="Not subject to VAT"),),
        }
    )
    return complete(invoice)


def test_br_o_02_names_the_vat_id_that_is_there() -> None:
    """BR-O-02 on a seller with a VAT id reports seller.vat_id = that id and the O line."""
    invoice = _o_invoice()
    assert invoice.seller.vat_id
    (problem,) = [p for p in check(invoice) if p.rule == "BR-O-02"]
    assert (problem.path, problem.value) == ("seller.vat_id", invoice.seller.vat_id)
    assert f"= {invoice.seller.vat_id}:" in str(problem)
    assert f"line {invoice.lines[0].id} has Not subject to VAT (O)" in problem.message


def test_br_o_02_names_the_buyer_vat_id_when_only_the_buyer_has_one() -> None:
    """Without a seller VAT id, BR-O-02 points at the buyer's VAT id and shows it."""
    invoice = _o_invoice(vat_id=None)
    invoice = invoice.model_copy(
        update={"buyer": invoice.buyer.model_copy(update={"vat_id": "DE987654321"})}
    )
    (problem,) = [p for p in check(invoice) if p.rule == "BR-O-02"]
    assert (problem.path, problem.value) == ("buyer.vat_id", "DE987654321")


def test_br_ae_02_names_the_buyer_when_the_seller_side_is_satisfied() -> None:
    """Reverse charge with only a seller tax registration id: the missing term is the buyer's."""
    invoice = base()
    seller = invoice.seller.model_copy(update={"vat_id": None, "tax_registration_id": "27/1/2"})
    lines = tuple(
        line.model_copy(update={"vat_category": "AE", "vat_rate": Decimal(0)})
        for line in invoice.lines
    )
    invoice = complete(
        invoice.model_copy(
            update={
                "seller": seller,
                "lines": lines,
                "totals": None,
                "vat_breakdown": (
                    VatBreakdown(category="AE", rate=Decimal(0), exemption_reason="Reverse"),
                ),
            }
        )
    )
    (problem,) = [p for p in check(invoice) if p.rule == "BR-AE-02"]
    assert (problem.path, problem.value) == ("buyer.vat_id", None)


def _variants(count: int) -> list[Invoice]:
    """The first ``count`` differential variants that intake accepts."""
    found = []
    for n in range(count):
        name, _, edits = variant(n)
        record = apply(differential_base(name), edits)
        result = next(iter(read_records(json.dumps(record).encode("utf-8"), "json")))
        if result.invoice is not None:
            found.append(result.invoice)
    return found


def test_every_rule_finding_reports_the_value_at_its_path() -> None:
    """Over 2,500 mutated ERP records, all rule sets, UBL and CII: every finding's path names a
    field, a finding on a field reports that field's value, and none says (none) for a group
    that is there."""
    wrong: list[str] = []
    seen: set[str] = set()
    for invoice in _variants(2500):
        for syntax in ("ubl", "cii"):
            problems = check(invoice, ALL_SETS, syntax=syntax)
            seen.update(p.rule for p in problems)
            wrong += misreported(invoice, problems)
    assert len(seen) >= 200
    assert wrong == [], "\n".join(wrong[:20])


# -- a finding that follows from another says to fix the cause first ----------------------------


def _exempt(rate: str, breakdown_rate: str | None = None) -> Invoice:
    """The base invoice with line 1 exempt (E) at ``rate`` and the breakdown computed."""
    invoice = base()
    first = invoice.lines[0].model_copy(update={"vat_category": "E", "vat_rate": Decimal(rate)})
    breakdown: tuple[VatBreakdown, ...] = ()
    if breakdown_rate is not None:
        breakdown = (
            VatBreakdown(
                category="E",
                rate=Decimal(breakdown_rate),
                taxable_amount=first.quantity * first.price.net,
                tax_amount=Decimal("0.00"),
                exemption_reason="Exempt",
            ),
        )
    invoice = invoice.model_copy(
        update={"lines": (first, *invoice.lines[1:]), "totals": None, "vat_breakdown": breakdown}
    )
    return complete(invoice)


def test_br_co_17_after_br_e_05_says_first_fix_br_e_05() -> None:
    """An exempt line at 19 %: BR-CO-17 names BR-E-05 as its cause, asks for no VAT, and comes
    after it."""
    problems = check(_exempt("19"))
    rules = [p.rule for p in problems]
    assert "BR-E-05" in rules and "BR-CO-17" in rules
    assert rules.index("BR-E-05") < rules.index("BR-CO-17")
    co17 = problems[rules.index("BR-CO-17")]
    assert "first fix BR-E-05" in co17.accepted
    assert "follows from BR-E-05 (lines[0].vat_rate = 19)" in co17.message
    assert "+-1" not in co17.accepted  # no VAT amount to charge on an exempt line


def test_br_co_17_on_an_exempt_breakdown_rate_says_fix_the_rate() -> None:
    """Exempt lines at 0 % but a breakdown at 19 %: BR-CO-17 says to fix BT-119 first."""
    problems = [p for p in check(_exempt("0", "19")) if p.rule == "BR-CO-17"]
    assert problems, "the breakdown rate 19 makes BR-CO-17 fire"
    assert all("first fix the VAT category rate" in p.accepted for p in problems)


def test_br_co_17_on_a_standard_rate_still_suggests_the_amount() -> None:
    """A standard-rated breakdown with a wrong VAT amount keeps the computed suggestion."""
    invoice = base()
    vat = invoice.vat_breakdown[0]
    assert vat.tax_amount is not None
    wrong = vat.model_copy(update={"tax_amount": vat.tax_amount + 5})
    invoice = invoice.model_copy(update={"vat_breakdown": (wrong, *invoice.vat_breakdown[1:])})
    (co17,) = [p for p in check(invoice) if p.rule == "BR-CO-17"]
    assert co17.accepted.startswith("VAT category tax amount = ")


# -- a record's intake problems are reported once, not once per target format ------------------

FORMATS = ("peppol-bis3", "xrechnung-cii", "ubl")


def _broken_export(tmp_path: Path) -> Path:
    """An export of two records: one with an impossible issue date, one good."""
    good = json.loads((ROOT / "examples" / "erp-export.json").read_text(encoding="utf-8"))[0]
    bad = {**good, "number": "BAD-1", "issue_date": "2024-13-45"}
    path = tmp_path / "export.json"
    path.write_text(json.dumps([bad, good]), encoding="utf-8")
    return path


def test_translate_reports_a_refused_records_problems_once(tmp_path: Path) -> None:
    """Into three formats, the refused record has three outcomes (none ok) and its intake
    problem is on the first only; the others point at it."""
    mappings = [resolve_mapping(name) for name in FORMATS]
    outcomes = [
        o
        for o in translate(
            read_inputs([_broken_export(tmp_path)]),
            mappings,
            BuyerProfile(),
            run_validation=False,
        )
        if o.record == "BAD-1"
    ]
    assert [o.format for o in outcomes] == list(FORMATS)
    assert not any(o.ok for o in outcomes)
    intake = [p for o in outcomes for p in o.problems if p.rule == "INPUT"]
    assert len(intake) == 1 and intake[0].path == "issue_date"
    assert [p.rule for p in outcomes[1].problems] == ["INTAKE"]
    assert "reported once, with peppol-bis3" in outcomes[2].problems[0].message


def test_igw_translate_prints_an_intake_problem_once(tmp_path: Path) -> None:
    """igw translate --to three formats prints the bad issue date once, as 2024-13-45."""
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "gateway.cli.main",
            "translate",
            str(_broken_export(tmp_path)),
            "--to",
            ",".join(FORMATS),
            "--out",
            str(tmp_path / "out"),
            "--no-validate",
        ],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    assert "Traceback" not in result.stderr
    lines = [line for line in result.stderr.splitlines() if "[INPUT]" in line]
    assert len(lines) == 1, result.stderr
    assert "issue_date (BT-2) = 2024-13-45: not a date" in lines[0]
    assert "1 records ok, 1 rejected" in result.stderr


def test_a_wrong_exempt_rate_that_splits_the_breakdown_is_named_as_the_cause() -> None:
    """Exempt lines at 0 % and 19 %: BR-E-01 (one breakdown) and BR-E-08 (taxable amounts)
    say to fix BR-E-05 first, not to merge breakdowns or give each the whole category."""
    invoice = base()
    lines = tuple(
        line.model_copy(update={"vat_category": "E", "vat_rate": Decimal(rate)})
        for line, rate in zip(invoice.lines, ("0", "19", "0"), strict=True)
    )
    invoice = complete(
        invoice.model_copy(update={"lines": lines, "totals": None, "vat_breakdown": ()})
    )
    for syntax in ("ubl", "cii"):
        problems = check(invoice, syntax=syntax)
        rules = [p.rule for p in problems]
        assert rules[0] == "BR-E-05", rules
        follow_ons = [p for p in problems if p.rule in ("BR-E-01", "BR-E-08", "BR-CO-17")]
        assert follow_ons and all("first fix BR-E-05" in p.accepted for p in follow_ons)


def test_igw_translate_of_the_broken_examples_prints_no_python_repr(tmp_path: Path) -> None:
    """Every problem line of the broken example exports shows values as people read them: no
    Decimal('...'), no None, no quoted repr after '='."""
    empty = tmp_path / "no-sellers"
    empty.mkdir()
    broken = ROOT / "examples" / "broken"
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "gateway.cli.main",
            "translate",
            str(broken / "broken.json"),
            str(broken / "broken.csv"),
            "--to",
            "peppol-bis3,xrechnung-cii",
            "--out",
            str(tmp_path / "out"),
            "--no-validate",
            "--sellers",
            str(empty),
        ],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    lines = [line for line in result.stderr.splitlines() if "] " in line]
    assert len(lines) >= 20, result.stderr
    for needle in ("Decimal(", "= None", "= '", "= ()", "= ["):
        assert not [line for line in lines if needle in line], needle
