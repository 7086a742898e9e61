"""``/health`` is liveness, ``/ready`` is the store reachable and migrated to the code's head
(gateway/ops/ready.py, gateway/ops/install.py), over a real uvicorn server."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx
import pytest
from as2_peer import closed_port
from store_backends import pg_schema_url, sqlite_url

from gateway.ops.ready import code_heads, readiness
from gateway.peers.serve import serve_in_thread
from gateway.store import Store
from gateway.web import create_app

ROOT = Path(__file__).resolve().parent.parent


@contextmanager
def _served(store: Store) -> Iterator[str]:
    """The app over ``store`` (no AS2 identity) on loopback."""
    with serve_in_thread(create_app(store=store, as2=None)) as base:
        yield base


@pytest.fixture
def current(tmp_path: Path) -> Iterator[Store]:
    """A SQLite store migrated to head."""
    store = Store.open(sqlite_url(tmp_path))
    store.migrate()
    yield store
    store.close()


def test_ready_when_the_store_is_current(current: Store) -> None:
    """/ready is 200 naming the store's revision, which is the code's head."""
    with _served(current) as base:
        answer = httpx.get(f"{base}/ready")
    assert answer.status_code == 200, answer.text
    body = answer.json()
    assert body["status"] == "ready"
    assert body["migrations"] == {"current": list(code_heads()), "head": list(code_heads())}


def test_unreachable_store_is_503_with_the_password_masked() -> None:
    """A store URL nobody answers: /health stays 200, /ready is 503 'store unreachable' with
    the driver's reason and the URL, its password never shown."""
    broken = Store.open(f"postgresql+psycopg://igw:s3cret-pw@127.0.0.1:{closed_port()}/none")
    try:
        with _served(broken) as base:
            health = httpx.get(f"{base}/health")
            answer = httpx.get(f"{base}/ready", timeout=10)
    finally:
        broken.close()
    assert health.status_code == 200
    assert answer.status_code == 503
    body = answer.json()
    assert body["reason"] == "store unreachable"
    assert "127.0.0.1" in body["detail"] and "***" in body["detail"]
    assert "s3cret-pw" not in answer.text


def test_store_one_migration_behind_is_503_naming_current_and_head(tmp_path: Path) -> None:
    """A store migrated to the revision before head: /ready is 503 'migrations behind' naming
    the store's revision and the code's head; after migrating, 200."""
    store = Store.open(sqlite_url(tmp_path))
    try:
        head = code_heads()
        from alembic.script import ScriptDirectory

        from gateway.store.core import MIGRATIONS

        previous = ScriptDirectory(str(MIGRATIONS)).get_revision(head[0]).down_revision
        assert isinstance(previous, str)
        store.migrate(previous)
        with _served(store) as base:
            behind = httpx.get(f"{base}/ready")
            store.migrate()
            after = httpx.get(f"{base}/ready")
    finally:
        store.close()
    assert behind.status_code == 503
    body = behind.json()
    assert body["reason"] == "migrations behind"
    assert body["migrations"] == {"current": [previous], "head": list(head)}
    assert previous in body["detail"] and head[0] in body["detail"]
    assert after.status_code == 200


def test_never_migrated_store_is_not_ready(tmp_path: Path) -> None:
    """An empty database (no Alembic version table) is 'migrations behind' with no revision."""
    store = Store.open(sqlite_url(tmp_path))
    try:
        verdict = readiness(store)
    finally:
        store.close()
    assert not verdict.ready
    assert verdict.reason == "migrations behind"
    assert verdict.current == ()
    assert "never migrated" in (verdict.detail or "")


def test_ready_on_postgresql() -> None:
    """On PostgreSQL: 503 before the migration, 200 after it."""
    with pg_schema_url() as url:
        store = Store.open(url)
        try:
            with _served(store) as base:
                before = httpx.get(f"{base}/ready")
                store.migrate()
                after = httpx.get(f"{base}/ready")
        finally:
            store.close()
    assert before.status_code == 503 and before.json()["reason"] == "migrations behind"
    assert after.status_code == 200, after.text


@pytest.mark.parametrize("level", ["info", "warning"])
def test_igw_serve_honours_the_settings_file(tmp_path: Path, level: str) -> None:
    """`igw serve --config gateway.toml` with [log] format json and a level, and [serve]
    metrics_allow naming another network: /metrics is 403 for loopback, and uvicorn's own
    lines go through the igw handler — at info its access line for /health is a JSON line,
    at warning there is none."""
    settings = tmp_path / "gateway.toml"
    settings.write_text(
        f'[log]\nlevel = "{level}"\nformat = "json"\n[serve]\nmetrics_allow = "10.0.0.0/8"\n'
    )
    port = closed_port()
    script = "import sys; from gateway.cli.main import main; sys.exit(main(sys.argv[1:]))"
    env = {k: v for k, v in os.environ.items() if not k.startswith("IGW_")}
    env["PYTHONPATH"] = str(ROOT)
    command = [sys.executable, "-c", script, "serve", "--config", str(settings)]
    command += ["--port", str(port), "--store", sqlite_url(tmp_path)]
    process = subprocess.Popen(command, cwd=tmp_path, env=env, stderr=subprocess.PIPE, text=True)
    try:
        deadline = time.monotonic() + 30
        health = None
        while time.monotonic() < deadline and process.poll() is None:
            try:
                health = httpx.get(f"http://127.0.0.1:{port}/health", timeout=1)
                break
            except httpx.TransportError:
                time.sleep(0.1)
        assert health is not None and health.status_code == 200
        assert httpx.get(f"http://127.0.0.1:{port}/metrics", timeout=5).status_code == 403
        assert httpx.get(f"http://127.0.0.1:{port}/ready", timeout=5).status_code == 200
    finally:
        process.terminate()
        _, err = process.communicate(timeout=10)
    logged = [json.loads(line) for line in err.splitlines() if line.startswith("{")]
    access = [e for e in logged if e["logger"] == "uvicorn.access" and "/health" in e["message"]]
    if level == "info":
        assert access, err
    else:
        assert not access, err
    assert all(not line.startswith("INFO:") for line in err.splitlines()), err
    assert "Traceback" not in err


def test_a_store_that_never_answers_is_503_within_the_timeout() -> None:
    """A store host that accepts the connection but never speaks: /ready answers 503 'store
    unreachable ... no answer within 3 s' in about 3 s, instead of hanging."""
    import socket

    silent = socket.socket()
    silent.bind(("127.0.0.1", 0))
    silent.listen(8)
    port = silent.getsockname()[1]
    broken = Store.open(f"postgresql+psycopg://igw:pw@127.0.0.1:{port}/none")
    try:
        with _served(broken) as base:
            started = time.monotonic()
            answer = httpx.get(f"{base}/ready", timeout=20)
            took = time.monotonic() - started
    finally:
        silent.close()
        broken.close()
    assert answer.status_code == 503
    assert answer.json()["reason"] == "store unreachable"
    assert "no answer within 3 s" in answer.json()["detail"]
    assert 2.5 < took < 10
