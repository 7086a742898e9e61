"""Refused inbound AS2 messages over real HTTP on loopback, on SQLite and PostgreSQL: each refusal
reason is stored with the raw request, the reason and the error MDN sent; the cap and pruning
bound what a flood can store; ``igw inbound`` lists and shows them; MDNs name the AS2-To the
message was sent to, for each of several AS2 ids one endpoint answers for."""

from __future__ import annotations

import json
import threading
import time
from pathlib import Path

import httpx
import pytest
from as2_keys import identity
from as2_peer import PARTNER, US, endpoint_config, running_endpoint
from fastapi import FastAPI, Request, Response
from store_backends import store, store_url  # noqa: F401  (fixtures)

from connectors.as2.message import As2Identity, As2Partner, SendOptions, build_message
from gateway.as2.config import As2Config
from gateway.cli.main import main
from gateway.peers.serve import serve_in_thread
from gateway.store import Store
from gateway.store.inbound import find_inbound, list_inbound, list_refusals
from gateway.store.mdn_outbox import list_async_mdns

PAYLOAD = (Path(__file__).parent / "golden" / "ubl" / "simple-peppol.xml").read_bytes()


def message(
    message_id: str,
    *,
    sender: str = PARTNER,
    to: str = US,
    signing_key: str = PARTNER,
    encrypt_to: str = US,
    options: SendOptions | None = None,
) -> tuple[dict[str, str], bytes]:
    """An AS2 message from ``sender`` to ``to``, signed with ``signing_key``'s key and
    encrypted to ``encrypt_to``'s certificate (defaults: a correct ACME -> IGW message)."""
    key, cert = identity(signing_key)
    out = build_message(
        PAYLOAD,
        content_type="application/xml",
        filename="invoice.xml",
        sender=As2Identity(sender, key, cert),
        receiver=As2Partner(to, (identity(encrypt_to)[1],)),
        options=options or SendOptions(),
        message_id=message_id,
    )
    return out.headers, out.body


def post(base_url: str, sent: tuple[dict[str, str], bytes]) -> httpx.Response:
    """POST one message to the endpoint's /as2."""
    return httpx.post(f"{base_url}/as2", headers=sent[0], content=sent[1], timeout=10)


CASES = [
    pytest.param({"signing_key": "MALLORY"}, "authentication-failed", id="authentication-failed"),
    pytest.param({"encrypt_to": "MALLORY"}, "decryption-failed", id="decryption-failed"),
    pytest.param({"sender": "STRANGER"}, "unknown-trading-partner", id="unknown-partner"),
    pytest.param({"to": "SOMEONE-ELSE"}, "unknown-trading-partner", id="wrong-as2-to"),
    pytest.param(
        {"options": SendOptions(encrypt=None)},
        "insufficient-message-security",
        id="insufficient-security",
    ),
]


@pytest.mark.parametrize(("change", "reason"), CASES)
def test_each_refusal_is_stored_with_request_reason_and_mdn(
    store: Store,  # noqa: F811
    change: dict[str, object],
    reason: str,
) -> None:
    """A message refused for ``reason`` is answered with a processed/error MDN and stored with
    the raw request as received, the reason and exactly the MDN sent; no inbound message row."""
    sent = message(f"refused-{reason}@ACME", **change)  # type: ignore[arg-type]
    with running_endpoint(store) as (base_url, _):
        answer = post(base_url, sent)
    assert answer.status_code == 200
    assert f"processed/error: {reason}".encode() in answer.content
    [row] = list_refusals(store)
    assert row.reason == reason and row.message_id == f"refused-{reason}@ACME"
    assert row.http_status == 200 and row.answer_kind == "sync"
    assert row.answer is not None and row.answer.endswith(answer.content)
    assert b"disposition-notification-to: " in row.request.lower()
    assert row.request.endswith(sent[1]) and row.request_size == len(row.request)
    assert not row.truncated
    sender = change.get("sender", PARTNER)
    assert row.sender == sender
    assert row.partner == ("acme" if sender == PARTNER else sender)
    assert list_inbound(store) == []


def test_unknown_partner_asking_async_is_stored_with_the_403(store: Store) -> None:  # noqa: F811
    """An unknown sender asking for an async MDN gets 403; the refusal keeps that answer and
    nothing joins the async MDN outbox."""
    options = SendOptions(mdn="async", async_mdn_url="http://127.0.0.1:9/mdn")
    with running_endpoint(store) as (base_url, _):
        answer = post(base_url, message("x-1@S", sender="STRANGER", options=options))
    assert answer.status_code == 403
    [row] = list_refusals(store)
    assert row.reason == "unknown-trading-partner" and row.http_status == 403
    assert row.answer_kind == "none" and row.answer == answer.content
    assert list_async_mdns(store) == []


def test_known_partner_async_error_mdn_is_stored_and_posted(store: Store) -> None:  # noqa: F811
    """A known partner's message refused after its signature verified (not encrypted) asking for
    an async MDN at an allowed URL: the refusal and its outbox row are written together, and the
    MDN POSTed is the one stored."""
    posted: list[bytes] = []
    arrived = threading.Event()
    peer = FastAPI()

    @peer.post("/mdn")
    async def mdn(request: Request) -> Response:
        posted.append(await request.body())
        arrived.set()
        return Response(b"ok")

    with (
        serve_in_thread(peer) as peer_url,
        running_endpoint(store, mdn_urls=(peer_url,)) as (base_url, _),
    ):
        options = SendOptions(encrypt=None, mdn="async", async_mdn_url=f"{peer_url}/mdn")
        answer = post(base_url, message("a-1@ACME", options=options))
        assert arrived.wait(10)
    assert answer.status_code == 200
    [row] = list_refusals(store)
    assert row.reason == "insufficient-message-security" and row.answer_kind == "async"
    assert row.answer is not None and row.answer.endswith(posted[0])
    [outbox] = list_async_mdns(store)
    assert outbox.message_id == "a-1@ACME" and outbox.inbound_id is None


def test_igw_inbound_shows_what_became_of_an_async_error_mdn(
    store: Store,  # noqa: F811
    store_url: str,  # noqa: F811
    capsys: pytest.CaptureFixture[str],
) -> None:
    """``--show`` of a refusal answered asynchronously names the outbox state of its MDN (here
    FAILED: the partner's URL answers 404, which is final)."""
    peer = FastAPI()
    with (
        serve_in_thread(peer) as peer_url,
        running_endpoint(store, mdn_urls=(peer_url,)) as (base_url, _),
    ):
        options = SendOptions(encrypt=None, mdn="async", async_mdn_url=f"{peer_url}/nowhere")
        post(base_url, message("a-2@ACME", options=options))
        deadline = time.monotonic() + 10
        while list_async_mdns(store)[0].state == "PENDING" and time.monotonic() < deadline:
            time.sleep(0.05)
    [refusal] = list_refusals(store)
    assert main(["inbound", "--store", store_url, "--show", f"R{refusal.id}"]) == 0
    shown = capsys.readouterr().out
    assert "async MDN:  FAILED after 1 attempt(s)" in shown and "404" in shown


def test_not_as2_is_stored_with_the_400(store: Store) -> None:  # noqa: F811
    """A POST without AS2 headers is answered 400 and kept as a refusal without Message-ID."""
    with running_endpoint(store) as (base_url, _):
        answer = httpx.post(f"{base_url}/as2", content=b"hello")
    assert answer.status_code == 400
    [row] = list_refusals(store)
    assert row.message_id is None and row.sender is None and row.partner == ""
    assert row.reason == "unexpected-processing-error" and row.request.endswith(b"hello")


def test_a_large_refused_request_is_cut_at_the_cap(store: Store) -> None:  # noqa: F811
    """Only the first ``refusal_request_cap`` bytes of a refused request are kept; its size as
    received is recorded."""
    headers, _ = message("big-1@S", sender="STRANGER")
    junk = b"\x00" * 300_000
    with running_endpoint(store, refusal_request_cap=4096) as (base_url, _):
        answer = httpx.post(f"{base_url}/as2", headers=headers, content=junk)
    assert answer.status_code == 200
    [row] = list_refusals(store)
    assert len(row.request) == 4096 and row.truncated
    assert row.request_size > 300_000


def test_refusals_beyond_the_limit_are_pruned(store: Store) -> None:  # noqa: F811
    """With ``refusals_kept=3``, five refusals leave the newest three."""
    with running_endpoint(store, refusals_kept=3) as (base_url, _):
        for number in range(5):
            post(base_url, message(f"flood-{number}@S", sender="STRANGER"))
    kept = [row.message_id for row in list_refusals(store)]
    assert kept == ["flood-2@S", "flood-3@S", "flood-4@S"]


def test_a_corrected_resend_after_a_refusal_is_received(store: Store) -> None:  # noqa: F811
    """A refusal does not hold the Message-ID: the partner's corrected re-send with the same
    Message-ID is received and parsed (not answered as a duplicate)."""
    with running_endpoint(store) as (base_url, _):
        first = post(base_url, message("again-1@ACME", signing_key="MALLORY"))
        second = post(base_url, message("again-1@ACME"))
    assert b"processed/error: authentication-failed" in first.content
    assert b"duplicate-document" not in second.content and b"processed" in second.content
    row = find_inbound(store, "acme", "again-1@ACME")
    assert row is not None and row.state == "PARSED"
    assert len(list_refusals(store)) == 1


def test_mdn_names_the_as2_to_of_each_of_our_ids(store: Store) -> None:  # noqa: F811
    """One endpoint answers for IGW and IGW-EU: each message is opened with the identity its
    AS2-To names, and its MDN names that AS2-To as Original-Recipient and is signed by it."""
    from connectors.as2.mdn import parse_mdn

    base = endpoint_config()
    key, cert = identity("IGW-EU")
    config = As2Config(base.identity, base.partners, also=(As2Identity("IGW-EU", key, cert),))
    with running_endpoint(store, config) as (base_url, _):
        answers = {
            to: post(base_url, message(f"multi-{to}@ACME", to=to, encrypt_to=to))
            for to in (US, "IGW-EU")
        }
    for to, answer in answers.items():
        assert f"Original-Recipient: rfc822; {to}".encode() in answer.content
        mdn = parse_mdn(answer.headers, answer.content, partner=As2Partner(to, (identity(to)[1],)))
        assert mdn.disposition.kind == "processed" and mdn.disposition.severity != "error"
        assert answer.headers["as2-from"] == to
        row = find_inbound(store, "acme", f"multi-{to}@ACME")
        assert row is not None and row.state == "PARSED"
    assert list_refusals(store) == []


def test_refused_message_names_the_as2_to_it_was_sent_to(store: Store) -> None:  # noqa: F811
    """An error MDN for a message to an AS2 id that is not ours names that AS2-To as
    Original-Recipient (not our own id)."""
    with running_endpoint(store) as (base_url, _):
        answer = post(base_url, message("elsewhere-1@ACME", to="SOMEONE-ELSE"))
    assert b"Original-Recipient: rfc822; SOMEONE-ELSE" in answer.content
    [row] = list_refusals(store)
    assert row.recipient == "SOMEONE-ELSE"


def test_igw_inbound_lists_and_shows_refusals(
    store: Store,  # noqa: F811
    store_url: str,  # noqa: F811
    capsys: pytest.CaptureFixture[str],
    tmp_path: Path,
) -> None:
    """``igw inbound`` lists received messages and refusals with state, partner, Message-ID and
    reason; ``--state REFUSED --json`` only the refusals; ``--show R<n>`` the MDN we sent and
    the request headers, ``--raw`` the request bytes as kept."""
    with running_endpoint(store) as (base_url, _):
        post(base_url, message("good-1@ACME"))
        post(base_url, message("bad-1@ACME", encrypt_to="MALLORY"))
    assert main(["inbound", "--store", store_url]) == 0
    table = capsys.readouterr().out
    assert "PARSED" in table and "<good-1@ACME>" in table
    assert "REFUSED" in table and "<bad-1@ACME>" in table and "decryption-failed" in table
    assert main(["inbound", "--store", store_url, "--state", "refused", "--json"]) == 0
    [listed] = json.loads(capsys.readouterr().out)
    assert listed["message_id"] == "bad-1@ACME" and listed["reason"] == "decryption-failed"
    assert listed["partner"] == "acme" and listed["answer"] == "sync"
    raw = tmp_path / "request.bin"
    assert main(["inbound", "--store", store_url, "--show", listed["ref"], "--raw", str(raw)]) == 0
    shown = capsys.readouterr().out
    assert "processed/error: decryption-failed" in shown
    assert "as2-from: acme" in shown.lower()
    [refusal] = list_refusals(store)
    assert raw.read_bytes() == refusal.request


def test_igw_inbound_refuses_an_unknown_state(
    store_url: str,  # noqa: F811
    capsys: pytest.CaptureFixture[str],
) -> None:
    """An unknown --state is a usage error naming the accepted states."""
    assert main(["inbound", "--store", store_url, "--state", "REFUSD"]) == 2
    err = capsys.readouterr().err
    assert "did you mean REFUSED?" in err and "PARSED" in err
