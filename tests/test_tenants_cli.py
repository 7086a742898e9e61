"""igw tenants and --tenant: tenants created and listed, every store command scoped, a
tenant's own buyer profiles, and igw run --all-tenants delivering each tenant's invoices."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from gateway.cli.main import main
from gateway.store import Store

REPO = Path(__file__).resolve().parent.parent
EXAMPLES = REPO / "examples" / "erp-export.json"


def _profile(folder: Path, outbox: Path) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "everyone.toml").write_text(
        'format = "peppol-bis3"\ndefault = true\n[channel]\nconnector = "file"\n'
        f'options = {{ directory = "{outbox.as_posix()}", create = true }}\n',
        encoding="utf-8",
    )


@pytest.fixture
def env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> str:
    """A fresh SQLite store URL, cwd in tmp_path, no IGW_* defaults."""
    monkeypatch.chdir(tmp_path)
    for name in ("IGW_STORE_URL", "IGW_PROFILES", "IGW_TENANT", "IGW_SELLERS"):
        monkeypatch.delenv(name, raising=False)
    return f"sqlite:///{tmp_path / 'gateway.db'}"


def _export(tmp_path: Path, count: int) -> Path:
    path = tmp_path / "export.json"
    data = json.loads(EXAMPLES.read_text(encoding="utf-8"))[:count]
    path.write_text(json.dumps(data), encoding="utf-8")
    return path


def test_create_and_list_tenants(
    env: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """create makes the tenant and its folders and says where things go; list shows it; a
    second create, a bad id and 'default' are refused in one line."""
    assert main(["tenants", "create", "acme", "--name", "ACME GmbH", "--store", env]) == 0
    out = capsys.readouterr().out
    assert "tenant acme (ACME GmbH) created" in out and "config/tenants/acme/buyers" in out
    assert (tmp_path / "config/tenants/acme/buyers").is_dir()
    assert (tmp_path / "config/tenants/acme/sellers").is_dir()
    assert main(["tenants", "list", "--store", env, "--json"]) == 0
    listed = json.loads(capsys.readouterr().out)
    assert [t["id"] for t in listed] == ["acme", "default"]
    assert main(["tenants", "create", "acme", "--name", "x", "--store", env]) == 1
    assert "exists already" in capsys.readouterr().err
    assert main(["tenants", "create", "Bad Id", "--name", "x", "--store", env]) == 2
    err = capsys.readouterr().err
    assert "'Bad Id': not accepted" in err and "Traceback" not in err
    assert main(["tenants", "create", "default", "--name", "x", "--store", env]) == 2


def test_unknown_tenant_is_a_usage_error_naming_the_known(
    env: str, capsys: pytest.CaptureFixture[str]
) -> None:
    """Every store command with --tenant of a tenant the store lacks exits 2 naming it."""
    assert main(["tenants", "create", "acme", "--name", "ACME", "--store", env]) == 0
    capsys.readouterr()
    for command in (
        ["status"],
        ["timeline", "INV-1"],
        ["cancel", "1"],
        ["resend", "1"],
        ["inbound"],
    ):
        assert main([*command, "--store", env, "--tenant", "nope"]) == 2, command
        err = capsys.readouterr().err
        assert "tenant 'nope': unknown; known: acme, default" in err, command


def test_submit_status_and_run_per_tenant(
    env: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """A tenant's submit uses its own buyer profiles; status shows each tenant only its own
    deliveries; igw run --all-tenants delivers both tenants' invoices into their outboxes."""
    assert main(["tenants", "create", "acme", "--name", "ACME", "--store", env]) == 0
    _profile(tmp_path / "config/tenants/acme/buyers", tmp_path / "out-acme")
    _profile(tmp_path / "config/buyers", tmp_path / "out-default")
    export = _export(tmp_path, 3)
    assert main(["submit", str(export), "--store", env, "--tenant", "acme", "--no-validate"]) == 0
    assert main(["submit", str(export), "--store", env, "--no-validate"]) == 0
    capsys.readouterr()
    assert main(["status", "--store", env, "--tenant", "acme", "--json"]) == 0
    acme_rows = json.loads(capsys.readouterr().out)
    assert main(["status", "--store", env, "--json"]) == 0
    default_rows = json.loads(capsys.readouterr().out)
    assert len(acme_rows) == 3 and len(default_rows) == 3
    assert not {r["delivery"] for r in acme_rows} & {r["delivery"] for r in default_rows}
    assert main(["run", "--store", env, "--all-tenants", "--until-empty"]) == 0
    assert len(list((tmp_path / "out-acme").rglob("*.xml"))) == 3
    assert len(list((tmp_path / "out-default").rglob("*.xml"))) == 3
    store = Store.open(env)
    for scope in (store, store.for_tenant("acme")):
        assert {r.state.value for r in scope.deliveries()} == {"DELIVERED"}
    store.close()
    assert main(["run", "--store", env, "--all-tenants", "--tenant", "acme"]) == 2
    assert "--all-tenants" in capsys.readouterr().err
