"""``igw webhooks`` (add prints the secret once, list, log, redeliver, remove, clear errors) and
crash safety: a process SIGKILLed after writing an event, and a dispatcher SIGKILLed mid-send,
lose nothing (the resend carries the same webhook-id)."""

from __future__ import annotations

import datetime as dt
import json
import os
import signal
import subprocess
import sys
import textwrap
import threading
import time
from pathlib import Path

import pytest
from builders import simple_invoice
from standardwebhooks import Webhook
from store_backends import T0, store_url  # noqa: F401  (fixtures)
from webhook_receiver import Received, receiver

from gateway.cli.main import main
from gateway.document import Document
from gateway.store import NewDelivery, Store
from gateway.store.webhooks import WebhookStore

IGW = [sys.executable, "-m", "gateway.cli.main"]
ALLOW = ["--allow-network", "127.0.0.1/32"]


def _igw(url: str, *args: str, timeout: float = 60) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [*IGW, "webhooks", "--store", url, *args],
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )


def _secret(out: str) -> str:
    return next(line.split()[1] for line in out.splitlines() if line.startswith("secret:"))


def test_add_prints_the_secret_once(
    store_url: str,  # noqa: F811
    capsys: pytest.CaptureFixture[str],
) -> None:
    """add prints a whsec_ secret; list and list --json never show it again."""
    base = ["webhooks", "--store", store_url]
    assert (
        main([*base, "add", "--url", "https://erp.example/h", "--events", "inbound.received"]) == 0
    )
    secret = _secret(capsys.readouterr().out)
    assert secret.startswith("whsec_")
    assert main([*base, "list"]) == 0
    assert main([*base, "list", "--json"]) == 0
    listed = capsys.readouterr().out
    assert "erp.example" in listed and secret not in listed


def test_errors_are_one_line(store_url: str, capsys: pytest.CaptureFixture[str]) -> None:  # noqa: F811
    """Unknown events, a literal --secret, an unknown id: exit 2 with a line naming the value
    and what is accepted, no traceback."""
    base = ["webhooks", "--store", store_url]
    assert main([*base, "add", "--url", "https://x.example", "--events", "invoice.eaten"]) == 2
    assert main([*base, "add", "--url", "https://x.example", "--events", "inbound.received",
                 "--secret", "whsec_c2VjcmV0"]) == 2  # fmt: skip
    assert main([*base, "redeliver", "99"]) == 2
    assert main([*base, "log", "--subscription", "5"]) == 2
    err = capsys.readouterr().err
    assert "'invoice.eaten'" in err and "delivery.state_changed" in err
    assert "reference (env:NAME" in err and "c2VjcmV0" not in err
    assert "no webhook outbox row 99" in err and "no webhook subscription 5" in err
    assert "Traceback" not in err


def _accept(url: str, number: str) -> int:
    opened = Store.open(url)
    try:
        opened.migrate()
        doc = Document(b"<Invoice/>", "ubl", "peppol-bis3", number)
        result = opened.accept(
            simple_invoice(number=number), None, "DE123", documents=[doc],
            deliveries=[NewDelivery("buyer", "as2", T0)], now=T0,
        )  # fmt: skip
        return result.delivery_ids[0]
    finally:
        opened.close()


def test_killed_after_writing_the_event_loses_nothing(store_url: str) -> None:  # noqa: F811
    """A process SIGKILLed right after the transaction that wrote the event: the restarted
    dispatcher delivers the message, signed, and log/redeliver show and resend it."""
    with receiver() as got:
        added = _igw(store_url, "add", "--url", got.url, "--events", "delivery.state_changed")
        secret = _secret(added.stdout)
        delivery_id = _accept(store_url, "INV-1")
        child = textwrap.dedent(
            f"""
            import datetime as dt, os, signal
            from gateway.store import DeliveryState, Store
            store = Store.open({store_url!r})
            store.mark({delivery_id}, DeliveryState.SENT, now=dt.datetime.now(dt.UTC),
                       kind="attempt", detail="sent")
            os.kill(os.getpid(), signal.SIGKILL)
            """
        )
        killed = subprocess.run([sys.executable, "-c", child], check=False, timeout=60)
        assert killed.returncode == -signal.SIGKILL
        assert got.requests == []
        done = _igw(store_url, "dispatch", "--until-empty", *ALLOW)
        assert done.returncode == 0, done.stderr
        assert "1 delivered" in done.stdout
        assert len(got.requests) == 1
        Webhook(secret).verify(got.requests[0].body, got.requests[0].headers)
        log = _igw(store_url, "log", "--outbox")
        assert "DELIVERED" in log.stdout
        row_id = log.stdout.split()[0]
        assert _igw(store_url, "redeliver", row_id).returncode == 0
        assert _igw(store_url, "dispatch", "--until-empty", *ALLOW).returncode == 0
    assert len({r.headers["webhook-id"] for r in got.requests}) == 1 == len(got.requests) - 1


def test_dispatcher_killed_mid_send_resends_with_the_same_id(store_url: str) -> None:  # noqa: F811
    """The dispatcher is SIGKILLed while the receiver holds its POST: the next dispatcher
    takes over the dead one's claim and sends again with the same webhook-id; DELIVERED."""
    hold = threading.Event()
    seen = threading.Event()

    def answer(_r: Received) -> int:
        seen.set()
        hold.wait(30)
        return 200

    with receiver() as got:
        got.answer = answer
        _igw(store_url, "add", "--url", got.url, "--events", "delivery.state_changed")
        delivery_id = _accept(store_url, "INV-1")
        opened = Store.open(store_url)
        from gateway.store import DeliveryState

        opened.mark(delivery_id, DeliveryState.SENT, now=T0, kind="attempt", detail="sent")
        opened.close()
        env = {**os.environ, "PYTHONUNBUFFERED": "1"}
        child = subprocess.Popen(
            [*IGW, "webhooks", "--store", store_url, "dispatch", *ALLOW, "--poll-interval", "0.1"],
            env=env,
        )
        try:
            assert seen.wait(30), "the dispatcher never sent"
            child.send_signal(signal.SIGKILL)
            child.wait(30)
        finally:
            if child.poll() is None:
                child.kill()
        got.answer = lambda _r: 200
        hold.set()
        time.sleep(0.2)
        done = _igw(store_url, "dispatch", "--until-empty", *ALLOW)
        assert done.returncode == 0, done.stderr
    ids = [r.headers["webhook-id"] for r in got.requests]
    assert len(ids) == 2 and ids[0] == ids[1]
    opened = Store.open(store_url)
    try:
        rows = WebhookStore.of(opened).outbox()
        assert [(r.state, r.attempts) for r in rows] == [("DELIVERED", 1)]
    finally:
        opened.close()


def test_igw_run_dispatches_webhooks(
    store_url: str,  # noqa: F811
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The worker loop (``igw run``) runs the dispatcher beside the sweeps: an inbound message
    recorded while it runs reaches the subscribed receiver."""
    from gateway.delivery.worker import run_worker
    from gateway.store.inbound import record_inbound

    monkeypatch.setenv("IGW_WEBHOOKS_ALLOW_NETWORKS", "127.0.0.1/32")
    (tmp_path / "buyers").mkdir()
    (tmp_path / "buyers" / "b.toml").write_text(
        'default = true\nformat = "peppol-bis3"\n[channel]\nconnector = "file"\n'
        f'options = {{ directory = "{tmp_path / "out"}", create = true }}\n',
        encoding="utf-8",
    )
    stop = threading.Event()
    with receiver() as got:
        _igw(store_url, "add", "--url", got.url, "--events", "inbound.received")
        worker = threading.Thread(
            target=run_worker,
            args=(store_url, tmp_path / "buyers"),
            kwargs={"stop": stop, "poll_interval": 0.1},
        )
        worker.start()
        try:
            opened = Store.open(store_url)
            record_inbound(
                opened, channel="as2", partner="acme", message_id="<m1>", media_type="x",
                content=b"x", now=dt.datetime.now(dt.UTC),
            )  # fmt: skip
            opened.close()
            deadline = time.monotonic() + 20
            while not got.requests and time.monotonic() < deadline:
                time.sleep(0.05)
        finally:
            stop.set()
            worker.join(30)
    assert [json.loads(r.body)["type"] for r in got.requests] == ["inbound.received"]


def test_an_unknown_tenant_is_one_line(
    store_url: str,  # noqa: F811
    capsys: pytest.CaptureFixture[str],
) -> None:
    """--tenant of a tenant the store does not hold: exit 2 naming it and the known ones."""
    assert main(["webhooks", "--store", store_url, "--tenant", "acme", "list"]) == 2
    err = capsys.readouterr().err
    assert "'acme'" in err and "default" in err and "Traceback" not in err
