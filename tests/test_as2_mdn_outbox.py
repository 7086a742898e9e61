"""Durable asynchronous MDNs (gateway.store.mdn_outbox) over real HTTP and a real store on SQLite
and PostgreSQL: a partner down when the message arrives gets its MDN from the sweep once it is
back, also after the receiving process died; racing sweeps send once; the give-up is recorded;
the sync path does not touch the outbox."""

from __future__ import annotations

import asyncio
import datetime as dt
import logging
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx
import pytest
from as2_peer import PARTNER, US, closed_port, endpoint_config, make_connector, running_endpoint
from connector_harness import clock as fixed_clock
from connector_harness import document
from fastapi import FastAPI, Request, Response
from store_backends import store, store_url  # noqa: F401  (fixtures)

from gateway.peers.serve import serve_in_thread
from gateway.store import Store
from gateway.store.inbound import find_inbound, list_refusals
from gateway.store.mdn_outbox import (
    DELIVERED,
    FAILED,
    PENDING,
    AsyncMdnRow,
    MdnRetry,
    NewAsyncMdn,
    PostResult,
    claim_due_mdns,
    claim_token,
    get_async_mdn,
    list_async_mdns,
    record_async_mdn,
    record_post,
    sweep_async_mdns,
)
from gateway.web import create_app
from gateway.web.as2.endpoint import Endpoint, http_poster, receive_message, sweep_mdns

T0 = dt.datetime(2026, 11, 24, 12, 0, tzinfo=dt.UTC)
RETRY = MdnRetry(base=30.0, cap=3600.0, max_attempts=5, lease=300.0)


class Clock:
    """A settable clock for the endpoint (MDN dates, outbox times)."""

    def __init__(self, now: dt.datetime = T0) -> None:
        self.now = now

    def __call__(self) -> dt.datetime:
        return self.now


class MdnInbox:
    """The partner's async MDN receiver on loopback: collects POSTed MDNs; answers ``status``
    (e.g. 503) instead while ``status`` is set."""

    def __init__(self) -> None:
        self.posts: list[bytes] = []
        self.status: int | None = None
        self.lock = threading.Lock()
        self.app = FastAPI()

        @self.app.post("/mdn")
        async def mdn(request: Request) -> Response:
            if self.status is not None:
                return Response(b"not now", status_code=self.status)
            body = await request.body()
            with self.lock:
                self.posts.append(body)
            return Response(b"thanks")

    def count(self, message_id: str) -> int:
        """How many MDNs for ``message_id`` arrived."""
        return sum(f"<{message_id}>".encode() in body for body in self.posts)


@contextmanager
def lifespan(app: FastAPI) -> Iterator[None]:
    """Run ``app``'s lifespan (startup, then shutdown at the end of the block) on an event loop
    in a thread of its own, as uvicorn does around serving."""
    started, finish, failed = threading.Event(), threading.Event(), []

    async def run() -> None:
        async with app.router.lifespan_context(app):
            started.set()
            await asyncio.to_thread(finish.wait)

    def main() -> None:
        try:
            asyncio.run(run())
        except BaseException as exc:  # surfaced in the test thread below
            failed.append(exc)
            started.set()

    thread = threading.Thread(target=main, daemon=True)
    thread.start()
    started.wait(10)
    try:
        if failed:
            raise failed[0]
        yield
    finally:
        finish.set()
        thread.join(30)


def wait_for(check: Callable[[], bool], seconds: float = 10.0) -> bool:
    """Poll ``check`` until true or ``seconds`` passed."""
    deadline = time.monotonic() + seconds
    while not check():
        if time.monotonic() > deadline:
            return False
        time.sleep(0.02)
    return True


def only_row(store: Store, message_id: str) -> AsyncMdnRow:  # noqa: F811
    """The one outbox row answering ``message_id``."""
    rows = list_async_mdns(store, message_id=message_id)
    assert len(rows) == 1, rows
    return rows[0]


def tried(store: Store, message_id: str) -> Callable[[], bool]:  # noqa: F811
    """True once the receiving process recorded its first try(s) of ``message_id``'s MDN."""

    def check() -> bool:
        rows = list_async_mdns(store, message_id=message_id)
        return bool(rows) and (rows[0].attempts > 0 or rows[0].state != PENDING)

    return check


@pytest.fixture
def inbox() -> MdnInbox:
    """A fresh partner MDN receiver (not yet serving)."""
    return MdnInbox()


@pytest.fixture
def down_port() -> Iterator[int]:
    """A loopback port nobody listens on yet (the partner's server is down)."""
    yield closed_port()


def send_async(base_url: str, tmp_path: Path, mdn_url: str, key: str) -> str:
    """ACME sends one AS2 message asking for an async MDN at ``mdn_url``; its Message-ID."""
    connector = make_connector(
        base_url, tmp_path, clock=fixed_clock, mdn="async", async_mdn_url=mdn_url
    )
    receipt = connector.send(document(), delivery_id="d", idempotency_key=key)
    assert receipt.transport_proof is False
    return receipt.message_id


def test_partner_down_then_back_gets_its_mdn_once(
    store: Store,  # noqa: F811
    tmp_path: Path,
    inbox: MdnInbox,
    down_port: int,
) -> None:
    """Partner down when the message arrives: the MDN is stored PENDING with the reason and a
    backoff; not due, the sweep leaves it; once the partner is back the sweep at the due time
    delivers it exactly once, and later sweeps send nothing more."""
    now = Clock()
    mdn_url = f"http://127.0.0.1:{down_port}/mdn"
    with running_endpoint(
        store, clock=now, mdn_retry_delays=(), mdn_retry=RETRY, mdn_urls=(mdn_url,)
    ) as (url, _):
        message_id = send_async(url, tmp_path, mdn_url, "down-1")
        assert wait_for(tried(store, message_id))
    row = only_row(store, message_id)
    assert row.state == PENDING and row.attempts == 1 and row.url == mdn_url
    assert row.last_error is not None and "ConnectError" in row.last_error
    assert row.claimed_by is None and row.next_attempt_at is not None
    assert T0 + dt.timedelta(seconds=24) <= row.next_attempt_at <= T0 + dt.timedelta(seconds=30)
    inbound = find_inbound(store, "acme", message_id)
    assert inbound is not None and row.inbound_id == inbound.id
    assert inbound.answer is not None and inbound.answer.endswith(row.body)

    poster = http_poster(timeout=5.0)
    assert sweep_async_mdns(store, T0 + dt.timedelta(seconds=10), post=poster, retry=RETRY) == []
    with serve_in_thread(inbox.app, port=down_port):
        sent = sweep_async_mdns(store, row.next_attempt_at, post=poster, retry=RETRY)
        later = sweep_async_mdns(store, T0 + dt.timedelta(days=1), post=poster, retry=RETRY)
    assert [s.outcome for s in sent] == ["delivered"] and later == []
    assert inbox.count(message_id) == 1 and len(inbox.posts) == 1
    assert b"Disposition: automatic-action/MDN-sent-automatically; processed" in inbox.posts[0]
    done = get_async_mdn(store, row.id)
    assert done.state == DELIVERED and done.attempts == 2
    assert done.delivered_at == row.next_attempt_at and done.next_attempt_at is None


def test_fresh_mdn_is_delivered_at_once(
    store: Store,  # noqa: F811
    tmp_path: Path,
    inbox: MdnInbox,
) -> None:
    """With the partner up, the receiving process POSTs the MDN right after answering and the
    outbox row is DELIVERED after one try; a sweep then has nothing to do."""
    now = Clock()
    with (
        serve_in_thread(inbox.app) as partner_url,
        running_endpoint(store, clock=now, mdn_retry=RETRY, mdn_urls=(partner_url,)) as (url, _),
    ):
        message_id = send_async(url, tmp_path, f"{partner_url}/mdn", "up-1")
        assert wait_for(tried(store, message_id))
    row = only_row(store, message_id)
    assert row.state == DELIVERED and row.attempts == 1 and row.delivered_at == T0
    assert inbox.count(message_id) == 1
    endpoint = Endpoint(store=store, config=endpoint_config(), clock=now)
    assert sweep_mdns(endpoint, T0 + dt.timedelta(days=1)) == []


def test_crashed_process_mdn_is_sent_by_a_new_instance(
    store_url: str,  # noqa: F811
    tmp_path: Path,
    inbox: MdnInbox,
) -> None:
    """The receiving process dies after storing the message and its MDN, before any POST: the
    row stays claimed until the lease ends; then a new app instance over the same database
    (nothing in memory, its own store object) sends it from its lifespan's sweep thread."""
    first = Store.open(store_url)
    first.migrate()
    now = Clock()
    try:
        with serve_in_thread(inbox.app) as partner_url:
            endpoint = Endpoint(
                store=first,
                config=endpoint_config(),
                clock=now,
                mdn_retry=RETRY,
                async_mdn_urls={"acme": (partner_url,)},
            )
            message_id, headers, body = signed_message(tmp_path, f"{partner_url}/mdn")
            answer = receive_message(endpoint, headers, body)  # the process then "dies"
            assert answer.status == 200 and answer.mdn_claim is not None
            first.close()
            row = only_row(second_store := Store.open(store_url), message_id)
            assert row.state == PENDING and row.attempts == 0
            assert row.claimed_by == answer.mdn_claim and row.claim_expires_at is not None

            later = Clock(T0 + dt.timedelta(seconds=10))  # claim still held: nothing sent
            assert sweep_mdns(Endpoint(second_store, endpoint_config(), later)) == []
            later.now = row.claim_expires_at
            app = create_app(
                store=second_store,
                as2=endpoint_config(async_mdn_urls=(partner_url,)),
                clock=later,
                mdn_retry=RETRY,
                mdn_sweep_interval=0.05,
            )
            with lifespan(app):  # as uvicorn runs it: the sweep thread starts, then stops
                assert app.state.mdn_sweeps.running
                assert wait_for(lambda: inbox.count(message_id) == 1)
                assert wait_for(lambda: app.state.mdn_sweeps.runs >= 3)
            assert not app.state.mdn_sweeps.running
        assert inbox.count(message_id) == 1
        done = get_async_mdn(second_store, row.id)
        assert done.state == DELIVERED and done.delivered_at == row.claim_expires_at
        second_store.close()
    finally:
        first.close()


def signed_message(folder: Path, mdn_url: str) -> tuple[str, dict[str, str], bytes]:
    """ACME's signed and encrypted AS2 message asking an async MDN at ``mdn_url``, as the HTTP
    request the endpoint would get (Message-ID, headers, body); captured on a loopback peer."""
    captured: list[tuple[dict[str, str], bytes]] = []
    app = FastAPI()

    @app.post("/as2")
    async def as2(request: Request) -> Response:
        captured.append((dict(request.headers), await request.body()))
        return Response(b"ok")

    with serve_in_thread(app) as url:
        connector = make_connector(
            url, folder, clock=fixed_clock, mdn="async", async_mdn_url=mdn_url
        )
        receipt = connector.send(document(), delivery_id="d", idempotency_key="crash-1")
    headers, body = captured[0]
    hop = {"content-length", "host", "connection", "accept-encoding", "accept", "user-agent"}
    return receipt.message_id, {k: v for k, v in headers.items() if k not in hop}, body


def pending_rows(store: Store, count: int, url: str) -> list[int]:  # noqa: F811
    """``count`` async MDNs whose receiving process died at once (claims already expired)."""
    return [
        record_async_mdn(
            store,
            NewAsyncMdn(
                "acme",
                f"m{i}@ACME",
                url,
                {"Content-Type": "text/plain", "AS2-From": US, "AS2-To": PARTNER},
                f"MDN for <m{i}@ACME>".encode(),
                T0,
                claimed_by=claim_token("dead"),
                lease=0.0,
            ),
        )
        for i in range(count)
    ]


def test_racing_sweeps_deliver_each_mdn_once(
    store_url: str,  # noqa: F811
    inbox: MdnInbox,
) -> None:
    """Two sweeps in two threads with their own store objects, started together at the same
    time: every due MDN is POSTed exactly once and recorded DELIVERED once."""
    stores = [Store.open(store_url) for _ in range(2)]
    stores[0].migrate()
    try:
        with serve_in_thread(inbox.app) as partner_url:
            ids = pending_rows(stores[0], 24, f"{partner_url}/mdn")
            start = threading.Barrier(2)
            reports: list[list[str]] = [[], []]

            def sweep(i: int) -> None:
                start.wait()
                for sent in sweep_async_mdns(
                    stores[i], T0, post=http_poster(5.0), retry=RETRY, limit=8
                ):
                    reports[i].append(sent.outcome)
                while more := sweep_async_mdns(stores[i], T0, post=http_poster(5.0), limit=3):
                    reports[i].extend(s.outcome for s in more)

            threads = [threading.Thread(target=sweep, args=(i,)) for i in range(2)]
            for thread in threads:
                thread.start()
            for thread in threads:
                thread.join(60)
        assert reports[0].count("delivered") + reports[1].count("delivered") == 24
        assert sorted(reports[0] + reports[1]) == ["delivered"] * 24
        assert sorted(inbox.posts) == sorted(f"MDN for <m{i}@ACME>".encode() for i in range(24))
        assert all(get_async_mdn(stores[0], i).state == DELIVERED for i in ids)
    finally:
        for opened in stores:
            opened.close()


def test_claims_are_disjoint_and_a_lost_claim_records_nothing(store: Store) -> None:  # noqa: F811
    """Two claims at the same time never share a row; an outcome from a holder whose claim
    expired and was taken over is not recorded (``claim_lost``)."""
    pending_rows(store, 4, "http://127.0.0.1:9/mdn")
    one = claim_due_mdns(store, "one", T0, limit=3, lease=60)
    two = claim_due_mdns(store, "two", T0, limit=3, lease=60)
    assert len(one) == 3 and len(two) == 1
    assert not {r.id for r in one} & {r.id for r in two}
    after = T0 + dt.timedelta(seconds=61)
    three = claim_due_mdns(store, "three", after, limit=10, lease=60)
    assert {r.id for r in three} == {r.id for r in one + two}
    lost = record_post(store, one[0], "one", PostResult(True, "HTTP 200"), now=after, retry=RETRY)
    assert lost.outcome == "claim_lost"
    assert get_async_mdn(store, one[0].id).state == PENDING
    won = record_post(store, three[0], "three", PostResult(True, "200"), now=after, retry=RETRY)
    assert won.outcome == "delivered"


def test_give_up_after_the_attempt_limit_is_recorded(
    store: Store,  # noqa: F811
    inbox: MdnInbox,
    caplog: pytest.LogCaptureFixture,
) -> None:
    """A partner answering 503 on every try: each sweep at the due time tries once, backing off;
    after ``max_attempts`` the row is FAILED with the last reason, an ERROR names it, and no
    sweep tries it again."""
    inbox.status = 503
    retry = MdnRetry(base=30.0, max_attempts=4)
    with serve_in_thread(inbox.app) as partner_url:
        [mdn_id] = pending_rows(store, 1, f"{partner_url}/mdn")
        now, outcomes, gaps = T0, [], []
        with caplog.at_level(logging.WARNING, logger="gateway.store.mdn_outbox"):
            for _ in range(4):
                [sent] = sweep_async_mdns(store, now, post=http_poster(5.0), retry=retry)
                outcomes.append(sent.outcome)
                if sent.next_attempt_at is not None:
                    gaps.append((sent.next_attempt_at - now).total_seconds())
                    now = sent.next_attempt_at
            after = sweep_async_mdns(store, now + dt.timedelta(days=9), post=http_poster(5.0))
    assert outcomes == ["retry", "retry", "retry", "gave_up"] and after == []
    assert 24 <= gaps[0] <= 30 and 48 <= gaps[1] <= 60 and 96 <= gaps[2] <= 120
    row = get_async_mdn(store, mdn_id)
    assert row.state == FAILED and row.attempts == 4 and row.next_attempt_at is None
    assert row.last_error is not None and "HTTP 503" in row.last_error
    assert row.delivered_at is None
    given_up = [r for r in caplog.records if r.levelno == logging.ERROR]
    assert len(given_up) == 1 and "GIVEN UP" in given_up[0].getMessage()
    assert "m0@ACME" in given_up[0].getMessage()
    assert inbox.posts == []


def test_give_up_after_the_age_limit(store: Store) -> None:  # noqa: F811
    """A failed try after ``max_age`` since the MDN was made is final even below the attempt
    limit."""
    [mdn_id] = pending_rows(store, 1, "http://127.0.0.1:9/mdn")
    retry = MdnRetry(max_attempts=100, max_age=3600.0)
    late = T0 + dt.timedelta(hours=2)
    [sent] = sweep_async_mdns(store, late, post=lambda *_: PostResult(False, "down"), retry=retry)
    assert sent.outcome == "gave_up"
    assert get_async_mdn(store, mdn_id).state == FAILED


def test_a_refusal_for_good_is_final_at_once(store: Store, inbox: MdnInbox) -> None:  # noqa: F811
    """A 4xx answer (not 408/429) is not retried: FAILED after one try, with the status."""
    inbox.status = 404
    with serve_in_thread(inbox.app) as partner_url:
        [mdn_id] = pending_rows(store, 1, f"{partner_url}/mdn")
        [sent] = sweep_async_mdns(store, T0, post=http_poster(5.0), retry=RETRY)
    assert sent.outcome == "gave_up" and sent.attempts == 1
    row = get_async_mdn(store, mdn_id)
    assert row.state == FAILED and row.last_error is not None and "HTTP 404" in row.last_error


def test_backoff_grows_is_capped_and_jittered() -> None:
    """The pause doubles per try up to the cap, shortened by at most the jitter fraction, the
    same for the same row and try, different between rows."""
    retry = MdnRetry(base=30.0, factor=2.0, cap=3600.0, jitter=0.2)
    for attempts in range(1, 15):
        raw = min(3600.0, 30.0 * 2 ** (attempts - 1))
        pause = retry.delay(7, attempts).total_seconds()
        assert raw * 0.8 <= pause <= raw
        assert retry.delay(7, attempts) == retry.delay(7, attempts)
    assert retry.delay(20, 14).total_seconds() <= 3600.0
    assert len({retry.delay(row, 3) for row in range(20)}) > 10


def test_sync_mdn_path_leaves_the_outbox_alone(store: Store, tmp_path: Path) -> None:  # noqa: F811
    """A sync MDN request is answered in the HTTP response as before and writes no outbox row;
    no MDN requested, none either."""
    with running_endpoint(store, clock=Clock()) as (url, _):
        receipt = make_connector(url, tmp_path, clock=fixed_clock).send(
            document(), delivery_id="d", idempotency_key="sync-1"
        )
        plain = make_connector(url, tmp_path, clock=fixed_clock, mdn="none").send(
            document(), delivery_id="d", idempotency_key="none-1"
        )
    assert receipt.transport_proof is True
    assert b"processed" in receipt.evidence
    assert plain.message_id != receipt.message_id
    assert list_async_mdns(store) == []
    stored = find_inbound(store, "acme", receipt.message_id)
    assert stored is not None and stored.answer is not None


def test_refused_message_error_mdn_is_durable_too(
    store: Store,  # noqa: F811
    tmp_path: Path,
    down_port: int,
) -> None:
    """A known partner's message that is refused after its signature verified (signed, not
    encrypted, encryption required) asking async at an allowed URL: the error MDN joins the
    outbox (no inbound row) and waits for the partner like any other."""
    mdn_url = f"http://127.0.0.1:{down_port}/mdn"
    with running_endpoint(
        store, clock=Clock(), mdn_retry_delays=(), mdn_retry=RETRY, mdn_urls=(mdn_url,)
    ) as (url, _):
        connector = make_connector(url, tmp_path, encrypt=None, mdn="async", async_mdn_url=mdn_url)
        receipt = connector.send(document(), delivery_id="d", idempotency_key="bad-1")
        assert wait_for(tried(store, receipt.message_id))
    row = only_row(store, receipt.message_id)
    assert row.inbound_id is None and row.partner == "acme"
    assert row.state == PENDING and row.attempts == 1
    assert b"processed/error: insufficient-message-security" in row.body


def test_unverified_refusal_is_answered_synchronously(
    store: Store,  # noqa: F811
    tmp_path: Path,
    down_port: int,
) -> None:
    """A known partner's message whose signature does not verify (wrong signing key) asking
    async, even at an allowed URL: the error MDN is the HTTP response; the outbox stays empty."""
    from as2_keys import write_identity

    key, cert = write_identity(tmp_path / "mallory", "MALLORY")
    mdn_url = f"http://127.0.0.1:{down_port}/mdn"
    with running_endpoint(store, clock=Clock(), mdn_urls=(mdn_url,)) as (url, _):
        connector = make_connector(
            url,
            tmp_path,
            key_file=str(key),
            cert_file=str(cert),
            mdn="async",
            async_mdn_url=mdn_url,
        )
        receipt = connector.send(document(), delivery_id="d", idempotency_key="bad-2")
    assert receipt.transport_proof is False
    assert list_async_mdns(store) == []
    (refusal,) = list_refusals(store)
    assert refusal.reason == "authentication-failed" and refusal.answer_kind == "sync"
    assert b"processed/error: authentication-failed" in refusal.answer


def test_serve_command_sweeps_by_default() -> None:
    """``igw serve`` has --mdn-sweep-interval (default 30 s) and passes it to the app."""
    import argparse

    from gateway.web.serve import add_serve_command

    parser = argparse.ArgumentParser()
    add_serve_command(parser.add_subparsers())
    assert parser.parse_args(["serve"]).mdn_sweep_interval == 30.0
    assert parser.parse_args(["serve", "--mdn-sweep-interval", "5"]).mdn_sweep_interval == 5.0


def test_health_still_answers_with_a_sweep_thread(store: Store) -> None:  # noqa: F811
    """The app with its sweep thread serves as before (the thread does not block requests)."""
    app = create_app(store=store, as2=endpoint_config(), mdn_sweep_interval=0.05)
    with lifespan(app), serve_in_thread(app) as url:
        assert httpx.get(f"{url}/health").status_code == 200
        assert wait_for(lambda: app.state.mdn_sweeps.runs >= 2)
    assert not app.state.mdn_sweeps.running


def test_postgresql_claim_skips_rows_another_sweep_holds() -> None:
    """PostgreSQL: rows another sweep's open claim transaction has locked are skipped, not
    waited for (FOR UPDATE SKIP LOCKED); the free ones are claimed."""
    import sqlalchemy as sa
    from store_backends import pg_schema_url

    from gateway.store.schema import async_mdns

    with pg_schema_url() as url:
        holder = Store.open(url)
        holder.migrate()
        # lock_timeout: a claim that waited for the lock would fail here instead of hanging
        claimer = Store.open(url + "%20-clock_timeout%3D2000")
        try:
            ids = pending_rows(holder, 5, "http://127.0.0.1:9/mdn")
            with holder.engine.connect() as db, db.begin():
                locked = db.scalars(
                    sa.select(async_mdns.c.id).where(async_mdns.c.id.in_(ids[:3])).with_for_update()
                ).all()
                claimed = claim_due_mdns(claimer, "other", T0, limit=10)
            assert sorted(locked) == ids[:3]
            assert sorted(r.id for r in claimed) == ids[3:]
        finally:
            claimer.close()
            holder.close()
