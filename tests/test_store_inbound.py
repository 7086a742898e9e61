"""Inbound messages in the store: recorded once per (partner, message id), finished with outcome."""

from __future__ import annotations

import datetime as dt

import pytest
import sqlalchemy as sa
from store_backends import store, store_url  # noqa: F401  (fixtures)

from gateway.store import Store
from gateway.store.inbound import find_inbound, finish_inbound, list_inbound, record_inbound
from gateway.store.mdn_outbox import NewAsyncMdn, list_async_mdns

NOW = dt.datetime(2026, 11, 24, 12, 0, tzinfo=dt.UTC)


def _record(store: Store, message_id: str = "<m1@acme>", content: bytes = b"UNB+...") -> tuple:  # noqa: F811
    return record_inbound(
        store,
        channel="as2",
        partner="acme",
        message_id=message_id,
        media_type="application/edifact",
        content=content,
        now=NOW,
        filename="inv.edi",
    )


def test_first_arrival_is_new_and_received(store: Store) -> None:  # noqa: F811
    """A first arrival is stored verbatim in state RECEIVED, not finished."""
    row, is_new = _record(store)
    assert is_new and row.state == "RECEIVED" and not row.finished
    assert row.content == b"UNB+..." and row.received_at == NOW and row.filename == "inv.edi"


def test_repeat_message_id_is_recognised(store: Store) -> None:  # noqa: F811
    """The same (partner, message id) again writes nothing and returns the stored row."""
    first, _ = _record(store)
    again, is_new = _record(store, content=b"other bytes")
    assert not is_new and again.id == first.id and again.content == b"UNB+..."
    assert len(list_inbound(store)) == 1


def test_same_message_id_from_another_partner_is_separate(store: Store) -> None:  # noqa: F811
    """Message ids are unique per partner, not globally."""
    _record(store)
    _, is_new = record_inbound(
        store,
        channel="as2",
        partner="globex",
        message_id="<m1@acme>",
        media_type="text/plain",
        content=b"x",
        now=NOW,
    )
    assert is_new


def test_finish_keeps_outcome_and_answer(store: Store) -> None:  # noqa: F811
    """finish_inbound stores state, detail, parse result and our answer (the MDN)."""
    row, _ = _record(store)
    done = finish_inbound(
        store,
        row.id,
        state="PARSED",
        detail="invoice INV-1",
        syntax="edifact",
        invoice_number="INV-1",
        canonical="{}",
        answer=b"MDN",
    )
    assert done.finished and done.invoice_number == "INV-1" and done.answer == b"MDN"
    assert find_inbound(store, "acme", "<m1@acme>") == done


def test_finish_refuses_unknown_state(store: Store) -> None:  # noqa: F811
    """An outcome state outside the finished set is a programming error, said plainly."""
    row, _ = _record(store)
    with pytest.raises(ValueError, match="PARSED"):
        finish_inbound(store, row.id, state="DONE", detail="")


def _owed_mdn(now: dt.datetime) -> NewAsyncMdn:
    return NewAsyncMdn(
        "acme", "m1@acme", "https://acme.example/mdn", {"AS2-To": "ACME"}, b"MDN", now, "as2:x"
    )


def test_finish_with_async_mdn_writes_the_outbox_row(store: Store) -> None:  # noqa: F811
    """An answer owed asynchronously joins the MDN outbox with the finish: PENDING, due now,
    claimed by the receiving process, linked to the inbound row."""
    row, _ = _record(store)
    finish_inbound(
        store, row.id, state="PARSED", detail="", answer=b"MDN", async_mdn=_owed_mdn(NOW)
    )
    [owed] = list_async_mdns(store)
    assert owed.inbound_id == row.id and owed.state == "PENDING" and owed.attempts == 0
    assert owed.next_attempt_at == NOW and owed.claimed_by == "as2:x"
    assert owed.claim_expires_at == NOW + dt.timedelta(seconds=300)
    assert owed.headers == {"AS2-To": "ACME"} and owed.body == b"MDN"


def test_finish_and_outbox_row_are_one_transaction(store: Store) -> None:  # noqa: F811
    """When the outbox row cannot be written the finish is undone too: the message stays
    RECEIVED without an answer (a re-send finishes it), never answered-but-unsent."""
    row, _ = _record(store)
    naive = NOW.replace(tzinfo=None)
    with pytest.raises(sa.exc.StatementError):
        finish_inbound(
            store, row.id, state="PARSED", detail="", answer=b"MDN", async_mdn=_owed_mdn(naive)
        )
    again = find_inbound(store, "acme", "<m1@acme>")
    assert again is not None and again.state == "RECEIVED" and again.answer is None
    assert list_async_mdns(store) == []
