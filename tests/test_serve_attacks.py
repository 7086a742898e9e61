"""The attacks of issue 10 against a running ``igw serve`` process on loopback, all at once:
compression bombs (1 MB inflating to 1 GiB), the SSRF attempt (a forged Receipt-Delivery-
Option naming a loopback listener), 30 slow-header connections and bodies over the limit.
Each is refused, the listener receives nothing, GET /health keeps answering (each within 1 s:
an upper bound for liveness, not a speed benchmark) and the server's resident memory stays
bounded (VmRSS / VmHWM from /proc/PID/status)."""

from __future__ import annotations

import contextlib
import functools
import os
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import httpx
import pytest
from as2_keys import identity, write_identity
from as2_peer import PARTNER, US, Listener, closed_port, compressed_message, compression_bomb

from connectors.as2.message import As2Identity, As2Partner, SendOptions, build_message

ROOT = Path(__file__).resolve().parent.parent
MiB = 1 << 20
RSS_BOUND_KB = 400 * 1024
SLOW_CONNECTIONS = 30
HEADER_TIMEOUT = 2.0

pytestmark = pytest.mark.skipif(
    not Path("/proc/self/status").exists(), reason="reads the server's memory from /proc"
)


def memory_kb(pid: int) -> dict[str, int]:
    """VmRSS (resident now) and VmHWM (peak resident) of process ``pid``, in kB."""
    found = {}
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        name, _, value = line.partition(":")
        if name in ("VmRSS", "VmHWM"):
            found[name] = int(value.split()[0])
    return found


def as2_folder(tmp_path: Path) -> Path:
    """Our id IGW; partner ACME requires signed and encrypted messages, partner LAX neither;
    the AS2 channel's largest document is 5 MB."""
    folder = tmp_path / "as2"
    write_identity(folder / "keys", "IGW")
    write_identity(folder / "partners", PARTNER)
    write_identity(folder / "partners", "LAX")
    (folder / "local.toml").write_text(
        'as2_id = "IGW"\nkey_file = "keys/igw.key.pem"\ncert_file = "keys/igw.pem"\n'
        'max_size = "5MB"\n'
    )
    (folder / "partners" / "acme.toml").write_text('as2_id = "ACME"\ncert_files = ["acme.pem"]\n')
    (folder / "partners" / "lax.toml").write_text(
        'as2_id = "LAX"\ncert_files = ["lax.pem"]\nrequire_signed = false\n'
        "require_encrypted = false\n"
    )
    return folder


@pytest.fixture
def server(tmp_path: Path) -> Iterator[tuple[str, subprocess.Popen[str]]]:
    """``igw serve`` in its own process (header timeout 2 s); yields (base URL, process)."""
    port = closed_port()
    script = "import sys; from gateway.cli.main import main; sys.exit(main(sys.argv[1:]))"
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
        str(as2_folder(tmp_path)),
        "--header-timeout",
        str(HEADER_TIMEOUT),
    ]
    env = {k: v for k, v in os.environ.items() if k not in ("IGW_STORE_URL", "IGW_PROFILES")}
    env["PYTHONPATH"] = str(ROOT)
    log = (tmp_path / "serve.log").open("w")
    process = subprocess.Popen(command, cwd=tmp_path, env=env, stdout=log, stderr=log, text=True)
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline and process.poll() is None:
            try:
                if httpx.get(f"{base}/health", timeout=1).status_code == 200:
                    break
            except httpx.TransportError:
                time.sleep(0.1)
        assert process.poll() is None, (tmp_path / "serve.log").read_text()
        yield base, process
    finally:
        process.terminate()
        process.wait(timeout=20)
        log.close()


def signed_message(message_id: str, async_url: str) -> tuple[dict[str, str], bytes]:
    """ACME's properly signed and encrypted message asking its MDN at ``async_url``."""
    key, cert = identity(PARTNER)
    out = build_message(
        b"<Invoice/>",
        content_type="application/xml",
        filename="invoice.xml",
        sender=As2Identity(PARTNER, key, cert),
        receiver=As2Partner(US, (identity(US)[1],)),
        options=SendOptions(mdn="async", async_mdn_url=async_url),
        message_id=message_id,
    )
    return out.headers, out.body


def slow_header_client(port: int, closed: list[float], started: threading.Event) -> None:
    """Open a connection and send the headers a byte every 0.2 s until the server hangs up
    (records when), giving up after 30 s."""
    begin = time.monotonic()
    with socket.create_connection(("127.0.0.1", port)) as sock:
        sock.sendall(b"GET /health HTTP/1.1\r\nHost: x\r\n")
        started.set()
        sock.settimeout(0.2)
        while time.monotonic() - begin < 30:
            try:
                if sock.recv(1024) == b"":
                    break
            except TimeoutError:
                pass
            except OSError:
                break
            try:
                sock.sendall(b"X")
            except OSError:
                break
        else:
            return
    closed.append(time.monotonic() - begin)


def chunked_upload(port: int, size: int) -> bytes:
    """POST /as2 a chunked body of ``size`` bytes; the answer's status line."""
    chunk = b"%x\r\n" % MiB + b"\0" * MiB + b"\r\n"
    with socket.create_connection(("127.0.0.1", port)) as sock:
        sock.sendall(b"POST /as2 HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n")
        with contextlib.suppress(OSError):
            for _ in range(size // MiB):
                sock.sendall(chunk)
        sock.settimeout(10)
        data = b""
        with contextlib.suppress(OSError):
            while b"\r\n" not in data and (piece := sock.recv(4096)):
                data += piece
    return data.split(b"\r\n", 1)[0]


def test_attacks_on_a_running_igw_serve(
    server: tuple[str, subprocess.Popen[str]], tmp_path: Path
) -> None:
    """Bombs (3 from ACME refused before inflating, 3 from LAX refused at the 5 MB cap), the
    SSRF attempts (unsigned and signed, Receipt-Delivery-Option at a loopback listener), 30
    slow-header connections (all closed by the server) and bodies over the 5 MB limit (413
    declared and chunked), at the same time: every one refused, the listener untouched,
    /health answering each time within 1 s, the server's peak RSS under 400 MB."""
    base, process = server
    port = int(base.rsplit(":", 1)[1])
    listener = Listener()
    bomb = compression_bomb(1024)
    before = memory_kb(process.pid)
    results: dict[str, object] = {}
    errors: list[BaseException] = []

    def run(name: str, job: Callable[[], object]) -> threading.Thread:
        def target() -> None:
            try:
                results[name] = job()
            except BaseException as exc:  # surfaced below
                errors.append(exc)

        thread = threading.Thread(target=target, daemon=True)
        thread.start()
        return thread

    def post(headers: dict[str, str], body: bytes) -> httpx.Response:
        return httpx.post(f"{base}/as2", headers=headers, content=body, timeout=60)

    closed: list[float] = []
    slow_started = [threading.Event() for _ in range(SLOW_CONNECTIONS)]
    threads = [
        threading.Thread(target=slow_header_client, args=(port, closed, event), daemon=True)
        for event in slow_started
    ]
    for thread in threads:
        thread.start()
    assert all(event.wait(10) for event in slow_started)
    jobs = [
        *(
            run(f"bomb-acme-{i}", functools.partial(post, *compressed_message(f"b{i}@ACME", bomb)))
            for i in range(3)
        ),
        *(
            run(
                f"bomb-lax-{i}",
                functools.partial(post, *compressed_message(f"l{i}@LAX", bomb, sender="LAX")),
            )
            for i in range(3)
        ),
        run(
            "ssrf-unsigned",
            lambda: post(*compressed_message("s1@ACME", bomb, async_url=f"{listener.url}/x")),
        ),
        run("ssrf-signed", lambda: post(*signed_message("s2@ACME", f"{listener.url}/x"))),
        run(
            "declared-50MB",
            lambda: httpx.post(
                f"{base}/as2",
                content=b"\0" * 50_000_000,
                headers={"Content-Type": "application/octet-stream"},
                timeout=60,
            ),
        ),
        run("chunked-8MB", lambda: chunked_upload(port, 8 * MiB)),
    ]
    health_answers = []
    samples = [before]
    with httpx.Client(timeout=1.0) as client:  # each /health must answer within 1 s
        while any(job.is_alive() for job in jobs) or any(t.is_alive() for t in threads):
            health_answers.append(client.get(f"{base}/health").status_code)
            samples.append(memory_kb(process.pid))
            time.sleep(0.1)
        health_answers.append(client.get(f"{base}/health").status_code)
    after = memory_kb(process.pid)
    listener_requests = list(listener.requests)
    listener.close()
    assert errors == []
    print(
        f"\nigw serve memory: VmRSS before {before['VmRSS'] / 1024:.1f} MB, after "
        f"{after['VmRSS'] / 1024:.1f} MB, peak (VmHWM) {after['VmHWM'] / 1024:.1f} MB; "
        f"{len(health_answers)} /health answers while attacked"
    )

    for i in range(3):
        acme = results[f"bomb-acme-{i}"]
        assert isinstance(acme, httpx.Response) and acme.status_code == 200
        assert b"processed/error: insufficient-message-security" in acme.content
        lax = results[f"bomb-lax-{i}"]
        assert isinstance(lax, httpx.Response)
        assert b"processed/error: decompression-failed" in lax.content
    unsigned, signed = results["ssrf-unsigned"], results["ssrf-signed"]
    assert isinstance(unsigned, httpx.Response) and isinstance(signed, httpx.Response)
    assert b"processed/error: insufficient-message-security" in unsigned.content
    assert signed.status_code == 200 and b"Disposition:" in signed.content  # sync MDN
    declared = results["declared-50MB"]
    assert isinstance(declared, httpx.Response) and declared.status_code == 413
    assert results["chunked-8MB"] == b"HTTP/1.1 413 Request Entity Too Large"
    assert len(closed) == SLOW_CONNECTIONS, "slow-header connections the server did not close"
    assert listener_requests == [] and not listener.arrived.is_set()
    assert health_answers and set(health_answers) == {200}
    assert max(s["VmHWM"] for s in [*samples, after]) < RSS_BOUND_KB
    log = (tmp_path / "serve.log").read_text()
    assert "Traceback" not in log and "ERROR" not in log
    assert log.count("request headers not complete within 2 s") == SLOW_CONNECTIONS
    assert "asynchronous MDN to" in log and "not sent" in log
