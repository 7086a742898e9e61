"""AS2 re-sends a django-pyas2 partner accepts, over loopback HTTP through the real Worker and
store (SQLite and PostgreSQL for the sending side): a duplicate-document MDN without a MIC is
proof of receipt (nothing goes out on the fallback channel); after an error MDN the re-send is
a new transmission with a new Message-ID, which the partner accepts; an async error MDN records
its disposition and text; ``igw resend --force`` sends a DELIVERED delivery again as a new
transmission; the timeline lists each transmission with its Message-ID."""

from __future__ import annotations

import datetime as dt
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest
from as2_keys import identity, write_identity
from as2_peer import (
    DUPLICATE,
    PARTNER,
    US,
    DjangoPyas2,
    make_connector,
    running_endpoint,
    write_partner_files,
)
from builders import simple_invoice
from connector_harness import clock
from store_backends import T0, sqlite_url, store, store_url  # noqa: F401  (fixtures)

from connectors.as2.mdn import build_mdn
from connectors.as2.message import As2Identity, As2Partner, MdnRequest, Mic
from connectors.base import transmission_key
from gateway.as2.config import As2Config, PartnerConfig
from gateway.cli.main import main
from gateway.delivery.errors import Rejected
from gateway.delivery.worker import Worker
from gateway.document import Document
from gateway.profiles.load import load_profiles
from gateway.store import DeliveryRow, DeliveryState, EventRow, NewDelivery, Store
from gateway.store.inbound import find_inbound

CONNECTOR = "connectors.as2.connector:As2Connector"
UBL = (Path(__file__).parent / "golden" / "ubl" / "simple-peppol.xml").read_bytes()
WAIT = 15.0


@dataclass
class Sender:
    """ACME's gateway: its store (each backend), profile folder and a clock the test moves."""

    store: Store
    url: str
    folder: Path
    keys: dict[str, str]
    now: list[dt.datetime]

    def worker(self) -> Worker:
        """A fresh Worker (as ``igw run`` after a restart) with the profiles as they are now."""
        return Worker(
            self.store, load_profiles(self.folder), clock=lambda: self.now[0], worker_id="w1"
        )

    def later(self, hours: float = 1.0) -> None:
        self.now[0] += dt.timedelta(hours=hours)

    def timeline(self) -> list[EventRow]:
        return self.store.timeline("INV-1")


@pytest.fixture
def sender(store: Store, store_url: str, tmp_path: Path) -> Sender:  # noqa: F811
    """The sending side on the parametrized backend, with ACME's keys written out."""
    keys = write_partner_files(tmp_path / "keys")
    # the clock starts at the wall clock: ``igw resend`` makes the delivery due at the real now
    return Sender(store, store_url, tmp_path / "buyers", keys, [dt.datetime.now(dt.UTC)])


@pytest.fixture
def receiver(tmp_path: Path) -> Iterator[Store]:
    """The partner's own store (IGW behind the django-pyas2 behaviour), SQLite."""
    (tmp_path / "igw").mkdir()
    opened = Store.open(sqlite_url(tmp_path / "igw"))
    opened.migrate()
    yield opened
    opened.close()


def write_profile(
    sender: Sender, url: str, *, fallback: Path | None = None, **options: str | float
) -> None:
    """Profile 'igw' (default): AS2 to ``url``, 2 attempts, optionally a file fallback."""
    sender.folder.mkdir(exist_ok=True)
    settings: dict[str, str | float] = {
        "url": f"{url}/as2",
        "as2_from": PARTNER,
        "as2_to": US,
        **sender.keys,
        "timeout": 5.0,
        **options,
    }
    lines = [
        f"{k} = {v!r}" if isinstance(v, float) else f'{k} = "{v}"' for k, v in settings.items()
    ]
    text = f'default = true\n[channel]\nconnector = "{CONNECTOR}"\n[channel.options]\n'
    text += "\n".join(lines) + "\n"
    if fallback is not None:
        text += f'[[fallback]]\nconnector = "file"\noptions = {{ directory = "{fallback}" }}\n'
    text += '[retry]\nattempts = 3\nbackoff_base = "1m"\n[proof]\ntransport = "1h"\n'
    (sender.folder / "igw.toml").write_text(text)


def accept(sender: Sender) -> int:
    """INV-1 as UBL with one AS2 delivery to 'igw', due now; its delivery id."""
    result = sender.store.accept(
        simple_invoice(number="INV-1"),
        None,
        "DE123",
        documents=[Document(UBL, "ubl", "peppol-bis3", "INV-1")],
        deliveries=[NewDelivery("igw", CONNECTOR, sender.now[0])],
        now=sender.now[0],
    )
    return result.delivery_ids[0]


def attempts(sender: Sender) -> list[EventRow]:
    return [e for e in sender.timeline() if e.kind == "attempt"]


def wait_for(check: Callable[[], bool]) -> None:
    deadline = time.monotonic() + WAIT
    while not check() and time.monotonic() < deadline:
        time.sleep(0.05)


def timeline_text(sender: Sender, capsys: pytest.CaptureFixture[str]) -> str:
    assert main(["timeline", "INV-1", "--store", sender.url]) == 0
    return capsys.readouterr().out


def peer_of(app: object) -> DjangoPyas2:
    partner = getattr(app, "partner", None)
    assert isinstance(partner, DjangoPyas2)
    return partner


def test_duplicate_without_mic_is_delivered_and_nothing_goes_on_the_fallback(
    sender: Sender, receiver: Store, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """The partner processed the first send but its answer was lost (timeout); the retry
    carries the same Message-ID and django-pyas2 answers duplicate-document without a
    Received-Content-MIC: DELIVERED, one transmission, nothing on the fallback channel."""
    manual = tmp_path / "manual"
    with running_endpoint(receiver, behave_as="django-pyas2") as (url, app):
        peer = peer_of(app)
        write_profile(sender, url, fallback=manual, timeout=1.0)
        delivery_id = accept(sender)
        peer.lose_next_answer()
        worker = sender.worker()
        assert worker.run_once() == 1
        assert sender.store.delivery(delivery_id).state is DeliveryState.QUEUED
        sender.later()
        assert worker.run_once() == 1
    row = sender.store.delivery(delivery_id)
    assert row.state is DeliveryState.DELIVERED and row.transport_ack == "received"
    assert row.message_id is not None and row.transmission == 1
    assert peer.answers == [(row.message_id, "processed"), (row.message_id, "duplicate-document")]
    first, second = attempts(sender)
    assert "Timeout" in first.detail and first.state_to == "QUEUED"
    assert first.message_id == second.message_id == row.message_id
    assert first.transmission == second.transmission == 1
    proof = [e for e in sender.timeline() if e.kind == "transport_proof"]
    assert len(proof) == 1 and "duplicate-document" in proof[0].detail
    assert b"Received-Content-MIC" not in (proof[0].evidence or b"")
    assert [r.id for r in sender.store.deliveries()] == [delivery_id]
    assert not manual.exists() or list(manual.iterdir()) == []
    stored = find_inbound(receiver, "acme", row.message_id)
    assert stored is not None and stored.state == "PARSED"
    text = timeline_text(sender, capsys)
    assert f"#1   <{row.message_id}>  attempts 1-2  -> DELIVERED" in text


def test_error_mdn_then_resend_is_a_new_transmission_the_partner_accepts(
    sender: Sender, receiver: Store, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """We encrypted to a stale certificate: processed/error: decryption-failed, FAILED. Once
    the certificate is fixed, ``igw resend`` sends transmission 2 with a new Message-ID (the
    first one, remembered as failed, would be answered duplicate-document); the partner
    processes and stores it, the delivery is DELIVERED, the timeline lists both."""
    _, stale = write_identity(tmp_path / "stale", "OTHER")
    bundle = tmp_path / "bundle.pem"
    bundle.write_bytes(stale.read_bytes() + Path(sender.keys["partner_cert_file"]).read_bytes())
    with running_endpoint(receiver, behave_as="django-pyas2") as (url, app):
        peer = peer_of(app)
        write_profile(sender, url, partner_cert_file=str(bundle))
        delivery_id = accept(sender)
        assert sender.worker().run_once() == 1
        failed = sender.store.delivery(delivery_id)
        assert failed.state is DeliveryState.FAILED and failed.transmission == 2
        first_id = failed.message_id
        assert first_id is not None and peer.seen[(PARTNER, first_id)] == "error"
        (attempt,) = attempts(sender)
        assert "decryption-failed" in attempt.detail and attempt.message_id == first_id
        assert "a re-send is transmission 2 with a new message id" in attempt.detail
        write_profile(sender, url)  # the operator fixes partner_cert_file
        assert main(["resend", str(delivery_id), "--store", sender.url]) == 0
        assert "transmission 2 (a new message id)" in capsys.readouterr().out
        sender.later(0.1)
        assert sender.worker().run_once() == 1
    row = sender.store.delivery(delivery_id)
    assert row.state is DeliveryState.DELIVERED and row.transmission == 2
    assert row.message_id is not None and row.message_id != first_id
    assert peer.answers == [(first_id, "error"), (row.message_id, "processed")]
    stored = find_inbound(receiver, "acme", row.message_id)
    assert stored is not None and stored.state == "PARSED" and stored.content == UBL
    text = timeline_text(sender, capsys)
    assert f"#1   <{first_id}>  attempt 1  -> FAILED" in text
    assert f"#2   <{row.message_id}>  attempt 2  -> DELIVERED" in text


def test_worker_crash_in_a_later_transmission_reuses_its_message_id(
    sender: Sender, receiver: Store
) -> None:
    """After a refusal the delivery is in transmission 2; a worker that sent it and died
    before recording is repeated under the same (second) Message-ID, answered as a duplicate,
    and the delivery is DELIVERED without a third Message-ID."""
    with running_endpoint(receiver, behave_as="django-pyas2") as (url, app):
        peer = peer_of(app)
        write_profile(sender, url)
        delivery_id = accept(sender)
        peer.fail_next("unexpected-processing-error", "the partner's disk is full")
        assert sender.worker().run_once() == 1
        row = sender.store.delivery(delivery_id)
        assert row.state is DeliveryState.FAILED and row.transmission == 2
        sender.store.resend(delivery_id, now=sender.now[0])
        # the crashed worker: it sent transmission 2 and died before recording the receipt
        crashed = make_connector(url, Path(sender.keys["key_file"]).parent)
        key = transmission_key(row.idempotency_key, 2)
        sent = crashed.send(
            Document(UBL, "ubl", "peppol-bis3", "INV-1"), delivery_id="x", idempotency_key=key
        )
        assert sender.worker().run_once() == 1
    done = sender.store.delivery(delivery_id)
    assert done.state is DeliveryState.DELIVERED and done.message_id == sent.message_id
    assert [what for _, what in peer.answers] == [
        "error: unexpected-processing-error",
        "processed",
        "duplicate-document",
    ]
    assert len({mid for mid, _ in peer.answers}) == 2


def test_forced_resend_of_a_delivered_delivery_is_a_new_transmission(
    sender: Sender, receiver: Store, capsys: pytest.CaptureFixture[str]
) -> None:
    """``igw resend`` refuses a DELIVERED delivery without --force (naming --force); with it
    the delivery goes out again as transmission 2 under a new Message-ID, which the partner
    processes as a new message."""
    with running_endpoint(receiver, behave_as="django-pyas2") as (url, app):
        peer = peer_of(app)
        write_profile(sender, url)
        delivery_id = accept(sender)
        assert sender.worker().run_once() == 1
        first = sender.store.delivery(delivery_id)
        assert first.state is DeliveryState.DELIVERED
        assert main(["resend", str(delivery_id), "--store", sender.url]) == 1
        assert "--force" in capsys.readouterr().err
        assert main(["resend", str(delivery_id), "--force", "--store", sender.url]) == 0
        assert "transmission 2 (a new message id)" in capsys.readouterr().out
        sender.later(0.1)
        assert sender.worker().run_once() == 1
    again = sender.store.delivery(delivery_id)
    assert again.state is DeliveryState.DELIVERED and again.transmission == 2
    assert again.message_id != first.message_id
    assert peer.answers == [(first.message_id, "processed"), (again.message_id, "processed")]
    resend = [e for e in sender.timeline() if e.kind == "resend"]
    assert len(resend) == 1 and "(forced)" in resend[0].detail


def _sender_config() -> As2Config:
    """ACME's own AS2 configuration (where IGW's async MDNs arrive): partner IGW = buyer igw."""
    key, cert = identity(PARTNER)
    igw = As2Partner(as2_id=US, certs=(identity(US)[1],))
    return As2Config(As2Identity(PARTNER, key, cert), {"igw": PartnerConfig("igw", igw, "igw")})


def test_async_error_mdn_records_its_disposition_and_text_and_ends_the_transmission(
    sender: Sender, receiver: Store, capsys: pytest.CaptureFixture[str]
) -> None:
    """mdn = "async": the partner's MDN says processed/error with a reason; the delivery's
    timeline records the disposition and the text, and the transmission ends, so the re-send
    carries a new Message-ID and its async MDN makes the delivery DELIVERED."""
    with (
        running_endpoint(sender.store, _sender_config()) as (acme_url, _),
        running_endpoint(receiver, behave_as="django-pyas2", mdn_urls=(acme_url,)) as (url, app),
    ):
        peer = peer_of(app)
        write_profile(sender, url, mdn="async", async_mdn_url=f"{acme_url}/as2/mdn")
        delivery_id = accept(sender)
        peer.fail_next("unexpected-processing-error", "post-receive command failed: disk full")
        assert sender.worker().run_once() == 1

        def acked() -> bool:
            return sender.store.delivery(delivery_id).transport_ack is not None

        wait_for(acked)
        row = sender.store.delivery(delivery_id)
        assert row.state is DeliveryState.SENT and row.transport_ack == "rejected"
        assert row.transmission == 2
        (ack,) = [e for e in sender.timeline() if e.kind == "ack"]
        assert "processed/error: unexpected-processing-error" in ack.detail
        assert "post-receive command failed: disk full" in ack.detail
        assert "a re-send is transmission 2 with a new message id" in ack.detail
        assert main(["resend", str(delivery_id), "--store", sender.url]) == 0
        assert "transmission 2 (a new message id)" in capsys.readouterr().out
        sender.later(0.1)
        assert sender.worker().run_once() == 1
        wait_for(lambda: sender.store.delivery(delivery_id).state is DeliveryState.DELIVERED)
    done = sender.store.delivery(delivery_id)
    assert done.state is DeliveryState.DELIVERED and done.message_id != row.message_id
    assert peer.answers == [
        (row.message_id, "error: unexpected-processing-error"),
        (done.message_id, "processed"),
    ]
    assert sender.store.list_unmatched_acks() == []


# --- the MDN checks on their own -----------------------------------------------------------


def _sent(db: Store, message_id: str, mic: Mic) -> DeliveryRow:
    """A delivery SENT as ``message_id`` whose attempt recorded ``mic`` as expected."""
    delivery_id = db.accept(
        simple_invoice(number="INV-1"),
        None,
        "DE123",
        documents=[Document(UBL, "ubl", "peppol-bis3", "INV-1")],
        deliveries=[NewDelivery("igw", "as2", T0)],
        now=T0,
    ).delivery_ids[0]
    db.claim_due("w", T0)
    evidence = f"Message-ID: <{message_id}>\nExpected-MIC: {mic}\nMDN-Signed: yes\n".encode()
    return db.record_attempt(
        delivery_id,
        "w",
        DeliveryState.SENT,
        now=T0,
        evidence=evidence,
        next_attempt_at=T0 + dt.timedelta(hours=1),
        message_id=message_id,
    )


def _duplicate_mdn(message_id: str, mic: Mic | None) -> tuple[dict[str, str], bytes]:
    key, cert = identity(US)
    mdn = build_mdn(
        original_message_id=message_id,
        original_recipient=US,
        sender=As2Identity(US, key, cert),
        receiver_id=PARTNER,
        disposition=DUPLICATE,
        mic=mic,
        request=MdnRequest(True, "sha256", None, PARTNER),
        text="Duplicate message received, message with this ID already processed.",
    )
    return mdn.headers, mdn.body


OURS = Mic("q1w2e3r4t5y6u7i8o9p0q1w2e3r4t5y6u7i8o9p0abc=", "sha256")
OTHER = Mic("zzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzz=", "sha256")


@pytest.mark.parametrize(
    ("mic", "state", "ack"),
    [(None, DeliveryState.DELIVERED, "received"), (OTHER, DeliveryState.SENT, "rejected")],
)
def test_async_duplicate_mdn_counts_without_a_mic_and_is_compared_with_one(
    tmp_path: Path, mic: Mic | None, state: DeliveryState, ack: str
) -> None:
    """An async duplicate-document MDN without a MIC is proof of receipt; one whose MIC
    differs from the MIC sent is a rejected ack naming the difference, and ends the
    transmission."""
    db = Store.open(sqlite_url(tmp_path))
    db.migrate()
    try:
        row = _sent(db, "dup-1@ACME", OURS)
        headers, body = _duplicate_mdn("dup-1@ACME", mic)
        with running_endpoint(db, _sender_config(), mdn_match_wait=0.2) as (url, _):
            answer = httpx.post(f"{url}/as2/mdn", headers=headers, content=body)
        assert answer.status_code == 200 and answer.json()["matched"] is True
        after = db.delivery(row.id)
        assert after.state is state and after.transport_ack == ack
        assert after.transmission == (1 if mic is None else 2)
    finally:
        db.close()


def test_sync_duplicate_mdn_with_another_mic_is_rejected(tmp_path: Path) -> None:
    """A sync duplicate-document MDN that does carry a MIC must carry ours: another one is
    Rejected (the partner holds other bytes under this Message-ID) and ends the transmission."""
    db = Store.open(sqlite_url(tmp_path))
    db.migrate()
    try:
        with running_endpoint(db) as (url, app):
            connector = make_connector(url, tmp_path / "keys", clock=clock)
            message_id = connector.message_id("dup-mic")
            headers, body = _duplicate_mdn(message_id, OTHER)
            app.answer_next(200, headers, body)
            with pytest.raises(Rejected, match="differs from ours") as caught:
                connector.send(
                    Document(UBL, "ubl", "peppol-bis3", "INV-1"),
                    delivery_id="d",
                    idempotency_key="dup-mic",
                )
        assert caught.value.ends_transmission is True
    finally:
        db.close()
