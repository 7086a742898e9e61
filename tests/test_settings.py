"""config/gateway.toml: read, flags > IGW_* > file > built-in defaults, --config, bad values."""

from __future__ import annotations

import argparse
from collections.abc import Iterator
from pathlib import Path

import pytest

from gateway.cli import main as cli
from gateway.cli.main import build_parser, main
from gateway.delivery import worker
from gateway.limits import DEFAULT_INPUT_MAX
from gateway.logs import configure
from gateway.settings import SETTINGS, SettingsError, load_settings, parse_args

REPO = Path(__file__).resolve().parent.parent
SHIPPED = REPO / "config" / "gateway.toml"
EXAMPLES = REPO / "examples" / "erp-export.json"
DEMO_PROFILES = str(REPO / "config" / "demo" / "buyers")


@pytest.fixture
def here(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """tmp_path as the working folder (no config/ there), no IGW_* settings variables."""
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("IGW_DEMO_CXML_SECRET", "test-secret")
    for setting in SETTINGS:
        monkeypatch.delenv(setting.env, raising=False)
    monkeypatch.delenv("IGW_CONFIG", raising=False)
    yield tmp_path
    configure()


def _write(path: Path, text: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    return path


def _subparser(name: str) -> argparse.ArgumentParser:
    parser = build_parser()
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            found: argparse.ArgumentParser = action.choices[name]
            return found
    raise AssertionError(name)


def _default(command: str, dest: str) -> object:
    (action,) = [a for a in _subparser(command)._actions if a.dest == dest]
    return action.default


def test_the_shipped_file_holds_exactly_the_cli_defaults() -> None:
    """Every value of config/gateway.toml is the built-in default, and those are the
    commands' own defaults (store URL, profiles, worker tuning, serve address, size limit)."""
    settings = load_settings(str(SHIPPED), environ={})
    assert [v.setting.name for v in settings] == [s.name for s in SETTINGS]
    assert all(v.is_default and v.source.startswith("file") for v in settings)
    assert settings["store.url"] == cli.DEFAULT_STORE_URL
    assert settings["profiles.directory"] == cli.DEFAULT_PROFILES
    assert settings["sellers.directory"] == cli.DEFAULT_SELLERS
    assert settings["worker.batch"] == worker.DEFAULT_BATCH
    assert settings["worker.concurrency"] == worker.DEFAULT_CONCURRENCY
    assert settings["worker.lease"] == worker.DEFAULT_LEASE_SECONDS
    assert settings["limits.max_size"] == DEFAULT_INPUT_MAX == _default("translate", "max_size")
    assert settings["serve.host"] == _default("serve", "host")
    assert settings["serve.port"] == _default("serve", "port")
    assert settings["batch.jobs"] == _default("translate", "jobs")


def _submit(*extra: str) -> int:
    return main(["submit", str(EXAMPLES), "--profiles", DEMO_PROFILES, "--no-validate", *extra])


def test_store_url_precedence_flag_env_file_default(
    here: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """igw submit stores into: the built-in default, then the file's [store] url, then
    IGW_STORE_URL over the file, then --store over both."""
    assert _submit() == 0
    assert (here / "var" / "gateway.db").is_file()  # built-in default
    _write(here / "config" / "gateway.toml", '[store]\nurl = "sqlite:///from-file.db"\n')
    assert _submit() == 0
    assert (here / "from-file.db").is_file()
    monkeypatch.setenv("IGW_STORE_URL", "sqlite:///from-env.db")
    assert _submit() == 0
    assert (here / "from-env.db").is_file()
    assert _submit("--store", "sqlite:///from-flag.db") == 0
    assert (here / "from-flag.db").is_file()


def test_worker_settings_reach_igw_run_with_flags_winning(
    here: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """[worker] values become igw run's option values; IGW_WORKER_* beats the file; a flag
    beats both; durations read "2s", "10m", "500ms"."""
    config = _write(
        here / "other.toml",
        '[worker]\nbatch = 7\nconcurrency = 3\npoll_interval = "2s"\nlease = "10m"\n',
    )
    args = parse_args(build_parser(), ["run", "--config", str(config)], environ={})
    assert (args.batch, args.concurrency, args.poll_interval, args.lease) == (7, 3, 2.0, 600.0)
    environ = {"IGW_WORKER_CONCURRENCY": "5", "IGW_WORKER_POLL_INTERVAL": "500ms"}
    args = parse_args(build_parser(), ["--config", str(config), "run"], environ=environ)
    assert (args.concurrency, args.poll_interval) == (5, 0.5)
    args = parse_args(
        build_parser(), ["run", "--config", str(config), "--concurrency", "2"], environ=environ
    )
    assert args.concurrency == 2
    args = parse_args(build_parser(), ["run", "--lease", "90s", "--poll-interval", "250ms"], {})
    assert (args.lease, args.poll_interval) == (90.0, 0.25)
    args = parse_args(build_parser(), ["run"], environ={})  # no file here: built-in
    assert (args.batch, args.concurrency, args.poll_interval) == (None, None, None)


def test_igw_config_names_each_value_and_its_source(
    here: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """igw config prints every setting with where it came from: default, file, env."""
    _write(here / "config" / "gateway.toml", "[serve]\nport = 9090\n")
    monkeypatch.setenv("IGW_LOG_FORMAT", "json")
    assert main(["config"]) == 0
    out = capsys.readouterr().out
    assert "# settings file: config/gateway.toml" in out
    assert "serve.port = 9090  # file config/gateway.toml" in out
    assert "log.format = json  # env IGW_LOG_FORMAT" in out
    assert "worker.batch = 50  # default" in out


def test_config_flag_chooses_another_file(here: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """--config PATH is read instead of ./config/gateway.toml."""
    _write(here / "config" / "gateway.toml", "[serve]\nport = 9090\n")
    other = _write(here / "elsewhere.toml", "[serve]\nport = 7070\n")
    assert main(["config", "--config", str(other)]) == 0
    out = capsys.readouterr().out
    assert "serve.port = 7070" in out and "9090" not in out
    assert _default("serve", "port") == 8080  # the parser's own default is untouched


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (
            "[worker]\nconcurrency = 0\n",
            "[worker] concurrency = 0: not accepted; accepted: a whole number >= 1",
        ),
        ('[serve]\nport = "high"\n', "[serve] port = 'high': not accepted; accepted: a port"),
        ('[log]\nlevel = "loud"\n', "accepted: debug, info, warning, error"),
        ('[limits]\nmax_size = "huge"\n', "[limits] max_size = 'huge': not accepted"),
        ('[worker]\npoll_interval = "soon"\n', "accepted: a duration > 0"),
        ("[worker]\nconcurency = 3\n", "concurency: unknown key (did you mean 'concurrency'?)"),
        ('[stor]\nurl = "x"\n', "[stor]: unknown section (did you mean 'store'?)"),
        ("[store\n", "not valid TOML"),
    ],
)
def test_a_bad_file_is_one_line_naming_file_key_value_and_accepted(
    here: Path, capsys: pytest.CaptureFixture[str], text: str, expected: str
) -> None:
    """A bad value, key, section or syntax: exit 2, one line naming the file and the key,
    the value and what is accepted; no traceback."""
    path = _write(here / "bad.toml", text)
    assert main(["formats", "--config", str(path)]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and err.startswith(f"igw: {path}: ")
    assert expected in err and "Traceback" not in err


def test_a_bad_variable_or_a_missing_config_file_is_a_usage_error(
    here: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """IGW_SERVE_PORT=0 names the variable, the key and the range; --config of a missing
    file names it; both exit 2."""
    monkeypatch.setenv("IGW_SERVE_PORT", "0")
    assert main(["formats"]) == 2
    assert capsys.readouterr().err == (
        "igw: environment IGW_SERVE_PORT = '0' ([serve] port): not accepted; "
        "accepted: a port 1-65535\n"
    )
    monkeypatch.delenv("IGW_SERVE_PORT")
    assert main(["formats", "--config", "nowhere.toml"]) == 2
    assert "--config nowhere.toml: no such settings file" in capsys.readouterr().err


def test_load_settings_reports_bad_values_as_settings_errors(here: Path) -> None:
    """load_settings raises SettingsError (a ConfigError) for a bad environment value."""
    with pytest.raises(SettingsError, match="IGW_BATCH_JOBS = 'many'"):
        load_settings(environ={"IGW_BATCH_JOBS": "many"})
    assert load_settings(environ={"IGW_BATCH_JOBS": "3"})["batch.jobs"] == 3


def test_jobs_from_the_file_reach_translate(here: Path) -> None:
    """[batch] jobs = 1 in the file is translate's --jobs default; --jobs 2 wins over it."""
    config = _write(here / "jobs.toml", "[batch]\njobs = 1\n")
    base = ["translate", "x.json", "--to", "peppol-bis3", "--out", "o"]
    args = parse_args(build_parser(), [*base, "--config", str(config)], environ={})
    assert args.jobs == 1
    args = parse_args(build_parser(), [*base, "--config", str(config), "--jobs", "2"], environ={})
    assert args.jobs == 2


def test_serve_address_and_size_limit_come_from_the_settings(here: Path) -> None:
    """[serve] host/port become igw serve's --host/--port defaults, [limits] max_size the
    --max-size of translate/parse/validate; IGW_SERVE_PORT beats the file; flags win."""
    config = _write(
        here / "s.toml", '[serve]\nhost = "0.0.0.0"\nport = 9000\n[limits]\nmax_size = "2MB"\n'
    )
    args = parse_args(build_parser(), ["serve", "--config", str(config)], environ={})
    assert (args.host, args.port) == ("0.0.0.0", 9000)
    args = parse_args(
        build_parser(), ["serve", "--config", str(config)], {"IGW_SERVE_PORT": "9001"}
    )
    assert args.port == 9001
    args = parse_args(build_parser(), ["serve", "--config", str(config), "--port", "9002"], {})
    assert args.port == 9002
    for command in (["validate", "x.xml"], ["parse", "x.xml"]):
        args = parse_args(build_parser(), [*command, "--config", str(config)], environ={})
        assert args.max_size == 2_000_000
    args = parse_args(build_parser(), ["validate", "x.xml", "--max-size", "5MB"], {})
    assert args.max_size == 5_000_000
