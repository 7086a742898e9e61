"""Beyond one machine: two ``igw serve`` instances and two ``igw run`` workers (separate
processes) against one PostgreSQL; invoices submitted through both instances over the REST API
are each delivered exactly once and every webhook reaches the receiver, signed."""

from __future__ import annotations

import datetime as dt
import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from pathlib import Path

import httpx
from as2_peer import closed_port
from standardwebhooks import Webhook
from store_backends import pg_schema_url
from webhook_receiver import receiver

from gateway.store import Store
from gateway.store.keys import create_key
from gateway.store.schema_webhooks import webhook_outbox

ROOT = Path(__file__).resolve().parent.parent
EXAMPLES = ROOT / "examples" / "erp-export.json"


def _igw(*args: str, cwd: Path, env: dict[str, str]) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-m", "gateway.cli", *args],
        cwd=cwd,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )


@contextmanager
def _running(process: subprocess.Popen[str]) -> Iterator[subprocess.Popen[str]]:
    try:
        yield process
    finally:
        if process.poll() is None:
            process.send_signal(signal.SIGTERM)
            try:
                process.wait(30)
            except subprocess.TimeoutExpired:
                process.kill()


def _wait_ready(port: int, process: subprocess.Popen[str]) -> None:
    deadline = time.monotonic() + 60
    while True:
        try:
            if httpx.get(f"http://127.0.0.1:{port}/ready", timeout=1).status_code == 200:
                return
        except httpx.TransportError:
            pass
        if process.poll() is not None or time.monotonic() > deadline:
            process.kill()
            raise AssertionError(process.stderr.read() if process.stderr else "not ready")
        time.sleep(0.2)


def test_two_instances_two_workers_one_postgres(tmp_path: Path) -> None:
    """Batches of records, each posted to both serve instances under one Idempotency-Key
    (the second answer a replay), end up as one delivery per invoice, delivered once by one of
    two workers (one file each); every webhook outbox row reaches the loopback receiver with a
    signature the Standard Webhooks verifier accepts."""
    records = json.loads(EXAMPLES.read_text(encoding="utf-8"))
    buyers = tmp_path / "config" / "buyers"
    buyers.mkdir(parents=True)
    outbox = tmp_path / "outbox"
    (buyers / "everyone.toml").write_text(
        'format = "peppol-bis3"\ndefault = true\n[channel]\nconnector = "file"\n'
        f'options = {{ directory = "{outbox.as_posix()}", create = true }}\n',
        encoding="utf-8",
    )
    with pg_schema_url() as url, receiver() as hooks, ExitStack() as stack:
        store = Store.open(url)
        store.migrate()
        key = create_key(store, "erp", ["submit", "read"], dt.datetime.now(dt.UTC)).key
        store.close()
        env = {
            **os.environ,
            "PYTHONPATH": str(ROOT),
            "IGW_STORE_URL": url,
            "IGW_WEBHOOKS_ALLOW_NETWORKS": "127.0.0.1/32",
        }
        env.pop("IGW_TENANT", None)
        added = subprocess.run(
            [
                sys.executable,
                "-m",
                "gateway.cli",
                "webhooks",
                "add",
                "--url",
                hooks.url,
                "--events",
                "delivery.state_changed",
                "--json",
            ],
            cwd=tmp_path,
            env=env,
            capture_output=True,
            text=True,
            check=True,
        )
        secret = json.loads(added.stdout)["secret"]
        ports = [closed_port(), closed_port()]
        for port in ports:
            serve = stack.enter_context(
                _running(
                    _igw(
                        "serve",
                        "--port",
                        str(port),
                        "--mdn-sweep-interval",
                        "3600",
                        cwd=tmp_path,
                        env=env,
                    )
                )
            )
            _wait_ready(port, serve)
        for n in range(2):
            stack.enter_context(
                _running(
                    _igw(
                        "run",
                        "--worker-id",
                        f"w{n}",
                        "--poll-interval",
                        "0.2",
                        cwd=tmp_path,
                        env=env,
                    )
                )
            )
        headers = {"Authorization": f"Bearer {key}"}
        with httpx.Client(timeout=60) as client:
            for start in range(0, len(records), 7):
                batch = records[start : start + 7]
                first, second = ports[(start // 7) % 2], ports[(start // 7 + 1) % 2]
                for port in (first, second):  # the same batch through both instances
                    answer = client.post(
                        f"http://127.0.0.1:{port}/api/v1/invoices",
                        json=batch,
                        headers={**headers, "Idempotency-Key": f"batch-{start}"},
                    )
                    assert answer.status_code in (200, 201, 207), answer.text
        deadline = time.monotonic() + 120
        store = Store.open(url)
        try:
            while True:
                rows = store.deliveries()
                with store.engine.connect() as db:
                    pending = db.execute(
                        webhook_outbox.select().where(webhook_outbox.c.state != "DELIVERED")
                    ).all()
                    total = len(db.execute(webhook_outbox.select()).all())
                done = rows and all(r.state.value == "DELIVERED" for r in rows)
                if done and not pending:
                    break
                assert time.monotonic() < deadline, (
                    f"{sum(r.state.value == 'DELIVERED' for r in rows)}/{len(rows)} delivered, "
                    f"{len(pending)} webhooks pending"
                )
                time.sleep(0.5)
            assert len(rows) == len(records)
            assert len({r.invoice_number for r in rows}) == len(records)
        finally:
            store.close()
        files = [p for p in outbox.rglob("*") if p.is_file()]
        assert len(files) == len(records)
        ids = {r.headers["webhook-id"] for r in hooks.requests}
        assert len(ids) == total > 0
        verifier = Webhook(secret)
        for got in hooks.requests:
            verifier.verify(got.body, got.headers)
