"""Start-up of ``igw serve`` and ``igw run`` with AS2: as2 channels whose partner (or our AS2 id)
the serving configuration does not know are reported; ``[[identities]]`` in local.toml; SQLite
checkpointed on shutdown (a real ``igw serve`` process, stopped with SIGTERM); ``igw as2
identity`` creates a usable identity and never overwrites one."""

from __future__ import annotations

import os
import signal
import stat
import subprocess
import sys
from pathlib import Path

import httpx
import pytest
from as2_keys import identity, write_identity
from as2_peer import closed_port
from cryptography.hazmat.primitives.serialization import Encoding

from connectors.as2.message import As2Identity, As2Partner, SendOptions, build_message
from gateway.as2.config import channel_problems, load_as2_config, startup_report
from gateway.cli.main import main
from gateway.errors import ConfigError
from gateway.profiles.load import load_profiles
from gateway.store import Store
from gateway.store.inbound import list_inbound

ROOT = Path(__file__).resolve().parent.parent
PAYLOAD = (Path(__file__).parent / "golden" / "ubl" / "simple-peppol.xml").read_bytes()


def as2_folder(tmp_path: Path, extra_local: str = "") -> Path:
    """An AS2 folder: our id IGW (key and certificate files), one partner ACME."""
    folder = tmp_path / "as2"
    write_identity(folder / "keys", "IGW")
    write_identity(folder / "partners", "ACME")
    (folder / "local.toml").write_text(
        'as2_id = "IGW"\nkey_file = "keys/igw.key.pem"\ncert_file = "keys/igw.pem"\n' + extra_local
    )
    (folder / "partners" / "acme.toml").write_text('as2_id = "ACME"\ncert_files = ["acme.pem"]\n')
    return folder


def profiles_folder(tmp_path: Path, *, as2_to: str, as2_from: str = "IGW") -> Path:
    """A buyer profile folder whose default profile sends over as2 to ``as2_to``, async MDN."""
    keys = tmp_path / "channel-keys"
    key, cert = write_identity(keys, "IGW")
    _, partner_cert = write_identity(keys, "ACME")
    folder = tmp_path / "buyers"
    folder.mkdir()
    (folder / "ghost.toml").write_text(
        'format = "peppol-bis3"\ndefault = true\n[channel]\nconnector = "as2"\n'
        f'options = {{ url = "http://127.0.0.1:9/as2", as2_from = "{as2_from}", '
        f'as2_to = "{as2_to}", key_file = "{key}", cert_file = "{cert}", '
        f'partner_cert_file = "{partner_cert}", mdn = "async", '
        'async_mdn_url = "http://127.0.0.1:9/as2/mdn" }\n',
        encoding="utf-8",
    )
    return folder


def test_channel_to_an_unknown_partner_is_reported(tmp_path: Path) -> None:
    """A channel whose as2_to has no partners/*.toml and whose as2_from is none of our ids is
    reported naming profile, option, value and the consequence; a known one is not."""
    config = load_as2_config(as2_folder(tmp_path))
    ghost = load_profiles(profiles_folder(tmp_path, as2_to="GHOST", as2_from="NOT-US"))
    problems = channel_problems(config, ghost)
    assert len(problems) == 2
    assert "buyer profile 'ghost', channel as2: as2_to = 'GHOST'" in problems[0]
    assert "(known: 'ACME')" in problems[0] and "stay SENT" in problems[0]
    assert "as2_from = 'NOT-US'" in problems[1]
    known = load_profiles(profiles_folder(tmp_path / "ok", as2_to="ACME"))
    assert channel_problems(config, known) == []


def test_partner_certificate_that_differs_is_reported(tmp_path: Path) -> None:
    """A channel's partner_cert_file that is not among the partner's configured certificates
    is reported (its MDNs would not verify)."""
    folder = as2_folder(tmp_path)
    write_identity(folder / "partners", "OTHER")
    (folder / "partners" / "acme.toml").write_text('as2_id = "ACME"\ncert_files = ["other.pem"]\n')
    problems = channel_problems(
        load_as2_config(folder), load_profiles(profiles_folder(tmp_path, as2_to="ACME"))
    )
    assert len(problems) == 1 and "partner_cert_file" in problems[0]


def test_igw_run_reports_unknown_partner(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """``igw run`` warns at start about an as2 channel the AS2 folder does not know, and still
    runs."""
    url = f"sqlite:///{tmp_path / 'gateway.db'}"
    buyers = profiles_folder(tmp_path, as2_to="GHOST")
    args = ["run", "--store", url, "--profiles", str(buyers), "--until-empty"]
    assert main([*args, "--as2-config", str(as2_folder(tmp_path))]) == 0
    err = capsys.readouterr().err
    assert "igw run: warning: buyer profile 'ghost', channel as2: as2_to = 'GHOST'" in err
    assert main([*args, "--as2-config", str(tmp_path / "nowhere")]) == 0
    assert "there is no AS2 configuration at" in capsys.readouterr().err


def test_more_identities_in_local_toml(tmp_path: Path) -> None:
    """``[[identities]]`` add AS2 ids: with their own key, or the main key when none is given;
    one that repeats an id of ours is a problem naming it."""
    write_identity(tmp_path / "as2" / "keys", "IGW-EU")
    folder = as2_folder(
        tmp_path,
        '[[identities]]\nas2_id = "IGW-EU"\nkey_file = "keys/igw-eu.key.pem"\n'
        'cert_file = "keys/igw-eu.pem"\n[[identities]]\nas2_id = "IGW-US"\n',
    )
    config = load_as2_config(folder)
    assert [i.as2_id for i in config.identities] == ["IGW", "IGW-EU", "IGW-US"]
    eu, us = config.identity_for("IGW-EU"), config.identity_for("IGW-US")
    assert eu is not None and eu.cert == identity("IGW-EU")[1]
    assert us is not None and us.cert == identity("IGW")[1]
    (folder / "local.toml").write_text(
        (folder / "local.toml").read_text() + '[[identities]]\nas2_id = "IGW-EU"\n'
    )
    with pytest.raises(Exception, match=r"identities\[3\] \(as2_id = 'IGW-EU'\): that AS2 id"):
        load_as2_config(folder)


def _serve(tmp_path: Path, *extra: str) -> tuple[subprocess.Popen[str], str, list[str]]:
    """``igw serve`` in its own process; (process, base URL, the stderr lines up to listening)."""
    port = closed_port()
    command = [
        sys.executable,
        "-m",
        "gateway.cli.main",
        "serve",
        "--port",
        str(port),
        "--store",
        f"sqlite:///{tmp_path / 'gateway.db'}",
        "--as2-config",
        str(as2_folder(tmp_path)),
        *extra,
    ]
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    process = subprocess.Popen(command, env=env, stderr=subprocess.PIPE, text=True, cwd=tmp_path)
    lines: list[str] = []
    assert process.stderr is not None
    for line in process.stderr:
        lines.append(line)
        if "Uvicorn running" in line or process.poll() is not None:
            break
    return process, f"http://127.0.0.1:{port}", lines


def test_serve_reports_unknown_partner_and_checkpoints_on_shutdown(tmp_path: Path) -> None:
    """A real ``igw serve`` warns about the as2 channel to an unknown partner before it
    listens; what it stored is in the .db file after SIGTERM (the WAL is checkpointed and
    empty)."""
    buyers = profiles_folder(tmp_path, as2_to="GHOST")
    process, base_url, lines = _serve(tmp_path, "--profiles", str(buyers))
    try:
        assert any("warning: buyer profile 'ghost'" in line and "GHOST" in line for line in lines)
        key, cert = identity("ACME")
        out = build_message(
            PAYLOAD,
            content_type="application/xml",
            filename="invoice.xml",
            sender=As2Identity("ACME", key, cert),
            receiver=As2Partner("IGW", (identity("IGW")[1],)),
            options=SendOptions(),
            message_id="ckpt-1@ACME",
        )
        answer = httpx.post(f"{base_url}/as2", headers=out.headers, content=out.body, timeout=20)
        assert answer.status_code == 200
        wal = tmp_path / "gateway.db-wal"
        assert wal.exists() and wal.stat().st_size > 0  # what the checkpoint has to move
    finally:
        process.send_signal(signal.SIGTERM)
        process.wait(timeout=20)
    assert not wal.exists() or wal.stat().st_size == 0
    store = Store.open(f"sqlite:///{tmp_path / 'gateway.db'}")
    try:
        assert [row.message_id for row in list_inbound(store)] == ["ckpt-1@ACME"]
    finally:
        store.close()


def test_as2_identity_creates_a_usable_identity(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """``igw as2 identity`` writes PKCS#12, key (both 0600) and the certificate to hand out;
    local.toml pointing at the PKCS#12 with the password reference loads; a second run refuses
    and leaves the files untouched."""
    monkeypatch.setenv("IGW_TEST_AS2_PASSWORD", "correct horse battery")
    keys = tmp_path / "as2" / "keys"
    args = ["as2", "identity", "--as2-id", "ACME GW", "--out", str(keys), "--key-size", "2048"]
    assert main([*args, "--password", "env:IGW_TEST_AS2_PASSWORD"]) == 0
    out = capsys.readouterr().out
    p12, key, cert = keys / "acme-gw.p12", keys / "acme-gw.key.pem", keys / "acme-gw.cert.pem"
    assert stat.S_IMODE(p12.stat().st_mode) == 0o600 and stat.S_IMODE(key.stat().st_mode) == 0o600
    assert (
        b"BEGIN CERTIFICATE" in cert.read_bytes() and b"ENCRYPTED PRIVATE KEY" in key.read_bytes()
    )
    assert "SHA-256 fingerprint" in out and 'key_password = "env:IGW_TEST_AS2_PASSWORD"' in out
    (tmp_path / "as2" / "local.toml").write_text(
        'as2_id = "ACME GW"\nkey_file = "keys/acme-gw.p12"\n'
        'key_password = "env:IGW_TEST_AS2_PASSWORD"\n'
    )
    config = load_as2_config(tmp_path / "as2")
    assert config.identity.as2_id == "ACME GW"
    assert config.identity.cert.public_bytes(Encoding.PEM) == cert.read_bytes()
    before = p12.read_bytes()
    assert main([*args, "--password", "env:IGW_TEST_AS2_PASSWORD"]) == 1
    assert "already exist" in capsys.readouterr().err and p12.read_bytes() == before


def test_as2_identity_refuses_a_literal_password(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """A password written on the command line is refused (a reference is asked for) and not
    repeated; nothing is written."""
    keys = tmp_path / "keys"
    status = main(["as2", "identity", "--as2-id", "X", "--out", str(keys), "--password", "s3cr3t!"])
    assert status == 2
    err = capsys.readouterr().err
    assert "env:VARIABLE" in err and "s3cr3t!" not in err
    assert not keys.exists()


def test_identity_password_must_be_a_reference(tmp_path: Path) -> None:
    """A literal key_password in [[identities]] is a problem that does not repeat the value."""
    folder = as2_folder(
        tmp_path,
        '[[identities]]\nas2_id = "IGW-EU"\nkey_file = "keys/igw.key.pem"\n'
        'key_password = "hunter22"\n',
    )
    with pytest.raises(ConfigError) as raised:
        load_as2_config(folder)
    assert "identities[1]" in str(raised.value) and "env:VARIABLE" in str(raised.value)
    assert "hunter22" not in str(raised.value)


def test_startup_report_names_a_broken_as2_folder(tmp_path: Path) -> None:
    """With as2 channels and an AS2 folder that does not load, the report says so once, with
    the folder's problems; without as2 channels there is nothing to report."""
    folder = as2_folder(tmp_path)
    (folder / "partners" / "acme.toml").write_text('as2_id = "ACME"\ncert_file = ["x"]\n')
    profiles = load_profiles(profiles_folder(tmp_path, as2_to="ACME"))
    [report] = startup_report(profiles, folder)
    assert "cannot be loaded" in report and "did you mean 'cert_files'" in report
    assert startup_report([], folder) == []
