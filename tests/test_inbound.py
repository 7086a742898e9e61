"""Inbound processing (gateway/inbound/interpret.py): payload -> syntax -> Invoice -> rules ->
outcome."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from store_backends import T0, store, store_url  # noqa: F401 - pytest fixtures

from gateway.inbound.interpret import PARSED, REJECTED, UNREADABLE, interpret, process_inbound
from gateway.store import Store
from gateway.store.inbound import find_inbound, record_inbound

GOLDEN = Path(__file__).parent / "golden"
UBL = (GOLDEN / "ubl" / "simple-peppol.xml").read_bytes()
CII = (GOLDEN / "cii" / "simple_invoice.cii.xml").read_bytes()


def test_ubl_parses_into_canonical_json() -> None:
    """A valid UBL invoice is PARSED with its syntax, number and canonical JSON."""
    verdict = interpret(UBL, label="msg-1")
    assert verdict.state == PARSED
    assert verdict.syntax == "ubl"
    assert verdict.invoice_number == "INV-1"
    assert verdict.canonical is not None
    assert json.loads(verdict.canonical)["number"] == "INV-1"
    assert verdict.detail.startswith("msg-1: invoice INV-1 (ubl) parsed")


def test_cii_parses() -> None:
    """A CII invoice is recognised and parsed too."""
    verdict = interpret(CII)
    assert verdict.state == PARSED
    assert verdict.syntax == "cii"


def test_rule_failure_is_rejected_naming_field_and_bt() -> None:
    """A document breaking a business rule is REJECTED; the detail names rule, field and BT id."""
    broken = UBL.replace(
        b'<cbc:PayableAmount currencyID="EUR">35.70', b'<cbc:PayableAmount currencyID="EUR">99.70'
    )
    verdict = interpret(broken)
    assert verdict.state == REJECTED
    assert "BR-CO-16" in verdict.detail
    assert "totals.due (BT-115)" in verdict.detail
    assert "99.70" in verdict.detail
    assert verdict.invoice_number == "INV-1"


def test_unknown_syntax_is_unreadable() -> None:
    """Bytes that are no invoice syntax are UNREADABLE with what was found."""
    verdict = interpret(b"hello, world")
    assert verdict.state == UNREADABLE
    assert "not an invoice" in verdict.detail
    assert verdict.invoice is None


def test_malformed_document_is_unreadable_with_location() -> None:
    """A UBL document that does not parse is UNREADABLE naming where it failed."""
    verdict = interpret(UBL.replace(b"<cbc:IssueDate>", b"<cbc:IssueDate>x", 1))
    assert verdict.state == UNREADABLE
    assert verdict.syntax == "ubl"
    assert "/Invoice/cbc:IssueDate" in verdict.detail


def test_problem_list_is_capped_but_counted(monkeypatch: pytest.MonkeyPatch) -> None:
    """Beyond MAX_LISTED problems the detail says how many more; the verdict keeps them all."""
    monkeypatch.setattr("gateway.inbound.interpret.MAX_LISTED", 0)
    broken = UBL.replace(
        b'<cbc:PayableAmount currencyID="EUR">35.70', b'<cbc:PayableAmount currencyID="EUR">99.70'
    )
    verdict = interpret(broken)
    assert verdict.state == REJECTED
    assert "BR-CO-16" not in verdict.detail
    assert verdict.detail.endswith(f"... and {len(verdict.problems)} more")
    assert any(p.rule == "BR-CO-16" for p in verdict.problems)


def test_process_records_outcome_and_keeps_payload(store: Store) -> None:  # noqa: F811
    """process_inbound finishes the stored row with state, invoice and canonical JSON; the
    payload stays byte for byte."""
    row, new = record_inbound(
        store,
        channel="as2",
        partner="acme",
        message_id="m-1",
        media_type="application/xml",
        content=UBL,
        now=T0,
    )
    assert new
    finished, verdict = process_inbound(store, row, answer=b"MDN")
    assert verdict.state == PARSED
    again = find_inbound(store, "acme", "m-1")
    assert again is not None and again == finished
    assert again.state == PARSED and again.finished
    assert again.invoice_number == "INV-1"
    assert again.canonical == verdict.canonical
    assert again.content == UBL
    assert again.answer == b"MDN"


@pytest.mark.parametrize("content", [b"garbage", b"<x/>"])
def test_unreadable_payload_is_kept(store: Store, content: bytes) -> None:  # noqa: F811
    """An unreadable payload is finished UNREADABLE and its bytes are still in the store."""
    row, _ = record_inbound(
        store,
        channel="as2",
        partner="acme",
        message_id="m-2",
        media_type="application/octet-stream",
        content=content,
        now=T0,
    )
    finished, _ = process_inbound(store, row)
    assert finished.state == UNREADABLE
    assert finished.content == content
    assert "acme m-2" in finished.detail
