"""igw keys create/list/revoke and igw audit: the key shown once, never listed, scoped by
tenant, every change in the audit log; bad input is exit 2 naming what is accepted."""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Iterator
from pathlib import Path

import pytest

from gateway.cli.main import main
from gateway.logs import configure
from gateway.store import Store
from gateway.store.audit import cli_actor
from gateway.store.keys import authenticate, hash_secret, parse_key

T0 = dt.datetime(2026, 12, 2, 9, 0, tzinfo=dt.UTC)


@pytest.fixture
def url(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    """A migrated SQLite store in tmp_path with a second tenant ``acme``; no IGW_* variables."""
    monkeypatch.chdir(tmp_path)
    for name in ("IGW_STORE_URL", "IGW_TENANT", "IGW_LOG_LEVEL", "IGW_LOG_FORMAT", "IGW_CONFIG"):
        monkeypatch.delenv(name, raising=False)
    location = f"sqlite:///{tmp_path / 'gateway.db'}"
    store = Store.open(location)
    store.migrate()
    store.create_tenant("acme", "Acme Ltd", T0)
    store.close()
    yield location
    configure()


def _create(url: str, capsys: pytest.CaptureFixture[str], *args: str) -> str:
    capsys.readouterr()
    assert main(["keys", "create", "--store", url, *args]) == 0
    out = capsys.readouterr().out
    return out.strip()


def _stored_hashes(url: str) -> list[str]:
    import sqlalchemy as sa

    from gateway.store.schema_keys import api_keys

    store = Store.open(url)
    try:
        with store.engine.connect() as db:
            return list(db.scalars(sa.select(api_keys.c.secret_hash)))
    finally:
        store.close()


def test_create_prints_the_key_once_and_says_so(
    url: str, capsys: pytest.CaptureFixture[str]
) -> None:
    """stdout is the key alone (for scripts); stderr says it will not be shown again and names
    id, tenant and scopes; the key authenticates with those scopes."""
    capsys.readouterr()
    assert main(["keys", "create", "--store", url, "--scope", "submit,read", "--name", "erp"]) == 0
    captured = capsys.readouterr()
    key = captured.out.strip()
    assert captured.out.count("igw_") == 1 and parse_key(key) is not None
    assert "will not be shown again" in captured.err
    assert "tenant default" in captured.err and "read, submit" in captured.err
    assert key not in captured.err
    store = Store.open(url)
    try:
        row = authenticate(store, key, T0)
    finally:
        store.close()
    assert row is not None and row.scopes == {"submit", "read"} and row.name == "erp"


def test_list_never_shows_the_key_its_secret_or_hash(
    url: str, capsys: pytest.CaptureFixture[str]
) -> None:
    """keys list (text and json) shows id, prefix, name, scopes, times; not the key, the
    secret or the stored hash."""
    key = _create(url, capsys, "--scope", "read", "--name", "erp")
    parsed = parse_key(key)
    assert parsed is not None
    assert main(["keys", "list", "--store", url]) == 0
    text = capsys.readouterr().out
    assert main(["keys", "list", "--store", url, "--format", "json"]) == 0
    listed = json.loads(capsys.readouterr().out)
    assert listed[0]["prefix"] == parsed.prefix and listed[0]["name"] == "erp"
    assert set(listed[0]) == {
        "id",
        "tenant",
        "prefix",
        "name",
        "scopes",
        "created_at",
        "last_used_at",
        "revoked_at",
    }
    assert "PREFIX" in text and parsed.prefix in text and "erp" in text
    for output in (text, json.dumps(listed)):
        assert key not in output and parsed.secret not in output
        assert hash_secret(parsed.secret) not in output
    assert _stored_hashes(url) == [hash_secret(parsed.secret)]


def test_an_unknown_scope_is_exit_2_naming_the_accepted_ones(
    url: str, capsys: pytest.CaptureFixture[str]
) -> None:
    """--scope read,write: exit 2, 'write' unknown, accepted submit, read, admin; no key made."""
    assert main(["keys", "create", "--store", url, "--scope", "read,write"]) == 2
    err = capsys.readouterr().err
    assert "scope 'write': unknown; accepted: submit, read, admin" in err
    assert _stored_hashes(url) == []


def test_an_unknown_tenant_is_exit_2_naming_the_known_ones(
    url: str, capsys: pytest.CaptureFixture[str]
) -> None:
    """--tenant nobody: exit 2 naming the known tenants; a malformed tenant id too."""
    assert main(["keys", "create", "--store", url, "--tenant", "nobody", "--scope", "read"]) == 2
    err = capsys.readouterr().err
    assert "tenant 'nobody': unknown" in err and "acme, default" in err
    assert main(["keys", "list", "--store", url, "--tenant", "Bad Tenant"]) == 2
    assert "accepted:" in capsys.readouterr().err


def test_keys_are_listed_and_revoked_per_tenant(
    url: str, capsys: pytest.CaptureFixture[str]
) -> None:
    """acme's key is not in the default tenant's list; revoking it as default is 'no such
    key' (exit 1) and it still works; revoked as acme it stops working."""
    key = _create(url, capsys, "--tenant", "acme", "--scope", "read", "--name", "acme-erp")
    assert main(["keys", "list", "--store", url, "--format", "json"]) == 0
    assert json.loads(capsys.readouterr().out) == []
    assert main(["keys", "list", "--store", url, "--tenant", "acme", "--format", "json"]) == 0
    (row,) = json.loads(capsys.readouterr().out)
    assert row["tenant"] == "acme"
    assert main(["keys", "revoke", "--store", url, str(row["id"])]) == 1
    assert "no such key in tenant 'default'" in capsys.readouterr().err
    store = Store.open(url)
    try:
        assert authenticate(store, key, T0) is not None
        assert main(["keys", "revoke", "--store", url, "--tenant", "acme", str(row["id"])]) == 0
        assert f"revoked API key {row['id']}" in capsys.readouterr().out
        assert authenticate(store, key, T0) is None
    finally:
        store.close()
    assert main(["keys", "revoke", "--store", url, "--tenant", "acme", str(row["id"])]) == 0
    assert "already revoked" in capsys.readouterr().out


def test_create_and_revoke_are_in_the_audit_log(
    url: str, capsys: pytest.CaptureFixture[str]
) -> None:
    """igw audit lists key.revoke then key.create by cli:<user>, with name and prefix; the json
    form carries the same; another tenant's log is empty."""
    key = _create(url, capsys, "--scope", "admin", "--name", "ops")
    assert main(["keys", "revoke", "--store", url, "1"]) == 0
    capsys.readouterr()
    assert main(["audit", "--store", url, "--format", "json"]) == 0
    entries = json.loads(capsys.readouterr().out)
    assert [e["action"] for e in entries] == ["key.revoke", "key.create"]
    assert {e["actor"] for e in entries} == {cli_actor()}
    parsed = parse_key(key)
    assert parsed is not None
    assert entries[1]["detail"] == {"name": "ops", "prefix": parsed.prefix, "scopes": ["admin"]}
    assert (entries[1]["target_kind"], entries[1]["target_id"]) == ("api_key", "1")
    assert main(["audit", "--store", url]) == 0
    text = capsys.readouterr().out
    assert "key.create" in text and cli_actor() in text and key not in text
    assert main(["audit", "--store", url, "--tenant", "acme"]) == 0
    assert "no audit entries in tenant acme" in capsys.readouterr().out


def test_audit_since_and_limit(url: str, capsys: pytest.CaptureFixture[str]) -> None:
    """--limit 1 keeps the newest; --since in the future shows none; a date-only --since
    (UTC) before today shows all."""
    _create(url, capsys, "--scope", "read")
    _create(url, capsys, "--scope", "read")
    assert main(["audit", "--store", url, "--limit", "1", "--format", "json"]) == 0
    assert [e["target_id"] for e in json.loads(capsys.readouterr().out)] == ["2"]
    future = (dt.datetime.now(dt.UTC) + dt.timedelta(days=1)).isoformat()
    assert main(["audit", "--store", url, "--since", future, "--format", "json"]) == 0
    assert json.loads(capsys.readouterr().out) == []
    assert main(["audit", "--store", url, "--since", "2026-01-01", "--format", "json"]) == 0
    assert len(json.loads(capsys.readouterr().out)) == 2


def test_bad_audit_options_are_exit_2(url: str, capsys: pytest.CaptureFixture[str]) -> None:
    """--since yesterday and --limit 0 are exit 2 naming what is accepted; no traceback."""
    assert main(["audit", "--store", url, "--since", "yesterday"]) == 2
    err = capsys.readouterr().err
    assert "--since 'yesterday': accepted: an ISO 8601 date or time" in err
    assert main(["audit", "--store", url, "--limit", "0"]) == 2
    err = capsys.readouterr().err
    assert "--limit 0: accepted: a whole number >= 1" in err and "Traceback" not in err


def test_reading_commands_create_no_store(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """keys list, keys revoke and audit on a missing SQLite file: one line, exit 2, no file."""
    missing = tmp_path / "none.db"
    for argv in (["keys", "list"], ["keys", "revoke", "1"], ["audit"]):
        assert main([*argv, "--store", f"sqlite:///{missing}"]) == 2
        assert "no store" in capsys.readouterr().err
    assert not missing.exists()


def test_a_key_never_appears_in_debug_logs(url: str, capsys: pytest.CaptureFixture[str]) -> None:
    """With --log-level debug, create, list and audit write the key to stdout once, never to
    the log (stderr)."""
    capsys.readouterr()
    argv = ["keys", "create", "--store", url, "--scope", "read", "--log-level", "debug"]
    assert main(argv) == 0
    captured = capsys.readouterr()
    key = captured.out.strip()
    assert parse_key(key) is not None and key not in captured.err
    for argv in (["keys", "list"], ["audit"]):
        assert main([*argv, "--store", url, "--log-level", "debug"]) == 0
        captured = capsys.readouterr()
        assert key not in captured.out + captured.err
        assert key.split("_", 2)[2] not in captured.out + captured.err


def test_the_store_setting_applies_to_keys(
    url: str, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """IGW_STORE_URL names the store of keys create and keys list, as for the other commands."""
    monkeypatch.setenv("IGW_STORE_URL", url)
    assert main(["keys", "create", "--scope", "read", "--name", "env"]) == 0
    capsys.readouterr()
    assert main(["keys", "list", "--format", "json"]) == 0
    assert [k["name"] for k in json.loads(capsys.readouterr().out)] == ["env"]


def test_igw_tenant_chooses_the_tenant(
    url: str, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """IGW_TENANT=acme without --tenant: the key is acme's and acme's list shows it."""
    monkeypatch.setenv("IGW_TENANT", "acme")
    _create(url, capsys, "--scope", "read", "--name", "acme-env")
    assert main(["keys", "list", "--store", url, "--format", "json"]) == 0
    assert [(k["tenant"], k["name"]) for k in json.loads(capsys.readouterr().out)] == [
        ("acme", "acme-env")
    ]
    assert main(["keys", "list", "--store", url, "--tenant", "default"]) == 0
    assert "no API keys in tenant default" in capsys.readouterr().out
