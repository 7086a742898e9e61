"""``igw serve`` (gateway/web/serve.py): the subcommand parses, refuses a bad AS2 folder with
exit 2, and serves /health from a real process."""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest
from as2_keys import write_identity
from as2_peer import closed_port

from gateway.web.serve import add_serve_command, cmd_serve

ROOT = Path(__file__).resolve().parent.parent


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="igw")
    add_serve_command(parser.add_subparsers(dest="command", required=True))
    return parser


def _as2_folder(tmp_path: Path) -> Path:
    folder = tmp_path / "as2"
    write_identity(folder / "keys", "IGW")
    write_identity(folder / "partners", "ACME")
    (folder / "local.toml").write_text(
        'as2_id = "IGW"\nkey_file = "keys/igw.key.pem"\ncert_file = "keys/igw.pem"\n'
    )
    (folder / "partners" / "acme.toml").write_text('as2_id = "ACME"\ncert_files = ["acme.pem"]\n')
    return folder


def test_options_parse() -> None:
    """serve takes host, port, store URL, AS2 folder, profiles and rule sets."""
    args = _parser().parse_args(
        [
            "serve",
            "--host",
            "::1",
            "--port",
            "9000",
            "--store",
            "sqlite:///x.db",
            "--as2-config",
            "cfg",
            "--rules",
            "en16931,peppol",
        ]
    )
    assert (args.host, args.port, args.store, args.as2_config) == (
        "::1",
        9000,
        "sqlite:///x.db",
        "cfg",
    )
    assert args.func is cmd_serve


def test_bad_as2_folder_exits_2(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """A missing local.toml is reported on stderr with exit code 2, before anything listens."""
    args = _parser().parse_args(["serve", "--as2-config", str(tmp_path), "--store", "sqlite://"])
    assert cmd_serve(args) == 2
    assert "local.toml: missing" in capsys.readouterr().err


def test_unknown_rule_set_exits_2(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """An unknown inbound rule set is refused at start-up naming the accepted ones."""
    args = _parser().parse_args(
        [
            "serve",
            "--as2-config",
            str(_as2_folder(tmp_path)),
            "--rules",
            "en16931,pepol",
            "--store",
            f"sqlite:///{tmp_path / 'gateway.db'}",
        ]
    )
    assert cmd_serve(args) == 2
    assert "'pepol': unknown; accepted: en16931, peppol, xrechnung" in capsys.readouterr().err


def test_serves_health_in_a_real_process(tmp_path: Path) -> None:
    """The command in its own process listens on loopback and answers /health."""
    port = closed_port()
    script = (
        "import sys; from gateway.web.serve import add_serve_command; import argparse;"
        "p = argparse.ArgumentParser(); add_serve_command(p.add_subparsers(dest='c'));"
        "a = p.parse_args(sys.argv[1:]); sys.exit(a.func(a))"
    )
    command = [
        sys.executable,
        "-c",
        script,
        "serve",
        "--port",
        str(port),
        "--store",
        f"sqlite:///{tmp_path / 'gateway.db'}",
        "--as2-config",
        str(_as2_folder(tmp_path)),
    ]
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    process = subprocess.Popen(command, env=env, stderr=subprocess.PIPE, text=True)
    try:
        deadline = time.monotonic() + 20
        answer = None
        while time.monotonic() < deadline and process.poll() is None:
            try:
                answer = httpx.get(f"http://127.0.0.1:{port}/health", timeout=1)
                break
            except httpx.TransportError:
                time.sleep(0.1)
        assert answer is not None, process.stderr.read() if process.stderr else ""
        assert answer.status_code == 200
        assert answer.json()["as2_id"] == "IGW"
    finally:
        process.terminate()
        process.wait(timeout=10)


def test_starts_with_no_arguments_on_the_embedded_default(tmp_path: Path) -> None:
    """`igw serve` with no arguments (but a free --port) in a folder holding the shipped
    config/as2, whose key file under /etc does not exist: it starts on the default store
    (var/gateway.db, created), /health answers, /as2 answers 503 saying to run
    `igw as2 identity`, and stderr says so in one warning line."""
    shutil.copytree(ROOT / "config" / "as2", tmp_path / "config" / "as2")
    port = closed_port()
    script = "import sys; from gateway.cli.main import main; sys.exit(main(sys.argv[1:]))"
    env = {k: v for k, v in os.environ.items() if k not in ("IGW_STORE_URL", "IGW_PROFILES")}
    env["PYTHONPATH"] = str(ROOT)
    process = subprocess.Popen(
        [sys.executable, "-c", script, "serve", "--port", str(port)],
        cwd=tmp_path,
        env=env,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        deadline = time.monotonic() + 30
        health = None
        while time.monotonic() < deadline and process.poll() is None:
            try:
                health = httpx.get(f"http://127.0.0.1:{port}/health", timeout=1)
                break
            except httpx.TransportError:
                time.sleep(0.1)
        assert health is not None, process.stderr.read() if process.stderr else ""
        assert health.status_code == 200 and health.json()["as2"] == "not configured"
        as2 = httpx.post(f"http://127.0.0.1:{port}/as2", content=b"x", timeout=5)
        assert as2.status_code == 503
        assert as2.text.startswith("AS2 not configured: run `igw as2 identity")
        assert "/etc/invoice-gateway/as2/gateway.p12" in as2.text
        assert (tmp_path / "var" / "gateway.db").is_file()
    finally:
        process.terminate()
        _, err = process.communicate(timeout=10)
    warnings = [line for line in err.splitlines() if "AS2 not configured" in line]
    assert len(warnings) == 2  # the warning, then the "listening" line
    assert "Traceback" not in err


def _children(pid: int) -> list[int]:
    """The pids whose parent is ``pid`` (from /proc)."""
    found = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(fields[1]) == pid:
            found.append(int(stat.parent.name))
    return found


def _serve_workers(tmp_path: Path, workers: int) -> tuple[subprocess.Popen[str], int, Path]:
    """``igw serve --workers N`` in its own process, answering /health; (process, port, AS2 dir)."""
    port = closed_port()
    folder = _as2_folder(tmp_path)
    command = [sys.executable, "-m", "gateway.cli", "serve", "--port", str(port)]
    command += ["--store", f"sqlite:///{tmp_path / 'gateway.db'}", "--as2-config", str(folder)]
    command += ["--workers", str(workers), "--mdn-sweep-interval", "3600"]
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    process = subprocess.Popen(command, env=env, stderr=subprocess.PIPE, text=True, cwd=tmp_path)
    deadline = time.monotonic() + 30
    while len(_children(process.pid)) < workers or not _healthy(port):
        if process.poll() is not None or time.monotonic() > deadline:
            process.kill()
            raise AssertionError(process.stderr.read() if process.stderr else "no stderr")
        time.sleep(0.1)
    return process, port, folder


def _healthy(port: int) -> bool:
    try:
        return httpx.get(f"http://127.0.0.1:{port}/health", timeout=1).status_code == 200
    except httpx.TransportError:
        return False


def test_workers_answer_as2_messages_on_one_port_and_stop_together(tmp_path: Path) -> None:
    """``--workers 2``: two worker processes answer on one port; 24 signed and encrypted AS2
    messages from 4 threads each get their signed MDN and are stored once; SIGTERM stops every
    worker and igw serve exits 0."""
    from concurrent.futures import ThreadPoolExecutor

    from connectors.as2.connector import As2Connector
    from gateway.document import Document
    from gateway.store import Store
    from gateway.store.inbound import list_inbound

    process, port, folder = _serve_workers(tmp_path, 2)
    workers = _children(process.pid)
    try:
        assert len(workers) == 2
        connector = As2Connector(
            url=f"http://127.0.0.1:{port}/as2",
            as2_from="ACME",
            as2_to="IGW",
            key_file=str(folder / "partners" / "acme.key.pem"),
            cert_file=str(folder / "partners" / "acme.pem"),
            partner_cert_file=str(folder / "keys" / "igw.pem"),
            timeout=30.0,
        )
        golden = (ROOT / "tests" / "golden" / "ubl" / "simple-peppol.xml").read_bytes()
        document = Document(content=golden, syntax="ubl", format="peppol-bis3", invoice_number="X")

        def send(n: int) -> bool:
            key = f"workers-{n}"
            return connector.send(document, delivery_id=key, idempotency_key=key).transport_proof

        with ThreadPoolExecutor(max_workers=4) as pool:
            proofs = list(pool.map(send, range(24)))
        assert all(proofs)
    finally:
        process.terminate()
        status = process.wait(timeout=20)
    assert status == 0, process.stderr.read() if process.stderr else ""
    assert not [pid for pid in workers if Path(f"/proc/{pid}").exists()]
    store = Store.open(f"sqlite:///{tmp_path / 'gateway.db'}")
    try:
        rows = list_inbound(store)
    finally:
        store.close()
    assert len(rows) == 24 and len({r.message_id for r in rows}) == 24
    assert {r.state for r in rows} == {"PARSED"}


def test_a_worker_that_dies_stops_the_others_and_serve_exits_1(tmp_path: Path) -> None:
    """When one worker process dies (kill -9), igw serve stops the other one and exits 1 with
    one log line naming the worker, so a supervisor restarts the whole service."""
    import signal

    process, _, _ = _serve_workers(tmp_path, 2)
    first, second = _children(process.pid)
    os.kill(first, signal.SIGKILL)
    try:
        status = process.wait(timeout=20)
    finally:
        if process.poll() is None:
            process.kill()
    err = process.stderr.read() if process.stderr else ""
    assert status == 1, err
    assert f"worker process {first} ended; stopping the others" in err
    assert "Traceback" not in err
    assert not Path(f"/proc/{second}").exists() or _zombie(second)


def _zombie(pid: int) -> bool:
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0] == "Z"
    except OSError:
        return True
