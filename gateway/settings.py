"""The gateway's settings: ``config/gateway.toml`` (or ``--config PATH`` / ``IGW_CONFIG``).

Precedence, for every setting: command-line flag > environment (``IGW_<SECTION>_<KEY>``, a few
older names kept: ``IGW_STORE_URL``, ``IGW_PROFILES``, ``IGW_SELLERS``) > the file > the
built-in default. The shipped file holds exactly the built-in defaults. A setting supplies the
default of the command-line options that carry it (:data:`SETTINGS`: which option, which
commands), so a flag always wins and each command keeps a single place that reads its options.

A value that does not parse, an unknown section or key, a file that is not TOML: one line
naming the file (or variable), the key, the value and what is accepted — ``igw`` exits 2.
``igw config`` prints every setting with its value and where it came from.
"""

from __future__ import annotations

import argparse
import difflib
import os
import re
import sys
import tomllib
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from gateway.errors import ConfigError
from gateway.limits import DEFAULT_INPUT_MAX, format_size, parse_size
from gateway.logs import DEFAULT_FORMAT, DEFAULT_LEVEL, FORMATS, LEVELS, configure
from gateway.ops import DEFAULT_ALLOW

DEFAULT_CONFIG = "config/gateway.toml"
CONFIG_ENV = "IGW_CONFIG"


class SettingsError(ConfigError):
    """A settings file or variable that cannot be used (exit 2)."""


@dataclass(frozen=True)
class Setting:
    """One setting: ``[section] key`` in the file, ``env`` in the environment; its value is
    the default of the options with these ``dests`` on these ``commands`` (None: every
    command that has such an option)."""

    section: str
    key: str
    default: object
    parse: Callable[[object], object]
    accepted: str
    dests: tuple[str, ...] = ()
    commands: tuple[str, ...] | None = None
    env_name: str = ""

    @property
    def name(self) -> str:
        """``section.key``."""
        return f"{self.section}.{self.key}"

    @property
    def env(self) -> str:
        """The environment variable that overrides the file."""
        return self.env_name or f"IGW_{self.section}_{self.key}".upper()


def _text(value: object) -> object:
    if not isinstance(value, str) or not value.strip():
        raise ValueError
    return value.strip()


def _whole(value: object) -> object:
    if isinstance(value, bool):
        raise ValueError
    number = int(value) if isinstance(value, str) and value.strip().isdigit() else value
    if not isinstance(number, int) or number < 1:
        raise ValueError
    return number


def _port(value: object) -> object:
    number = _whole(value)
    assert isinstance(number, int)
    if number > 65535:
        raise ValueError
    return number


_DURATION = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*(ms|s|m|h)?\s*$")
_SECONDS = {"ms": 0.001, "s": 1.0, "m": 60.0, "h": 3600.0, None: 1.0}


def _duration(value: object) -> object:
    if isinstance(value, bool):
        raise ValueError
    if isinstance(value, int | float):
        seconds = float(value)
    else:
        match = _DURATION.match(str(value))
        if match is None:
            raise ValueError
        seconds = float(match.group(1)) * _SECONDS[match.group(2)]
    if seconds <= 0:
        raise ValueError
    return seconds


def _size(value: object) -> object:
    return parse_size(value)


def _choice(*names: str) -> Callable[[object], object]:
    def parse(value: object) -> object:
        if not isinstance(value, str) or value.strip().lower() not in names:
            raise ValueError
        return value.strip().lower()

    return parse


def _jobs(value: object) -> object:
    if isinstance(value, str) and value.strip().lower() == "auto":
        return "auto"
    return _whole(value)


DURATION = 'a duration > 0: seconds, or a number with ms, s, m, h (e.g. "2s")'
WHOLE = "a whole number >= 1"
ENGINE = ("submit", "run", "status", "timeline", "resend", "cancel", "demo", "serve")

#: every setting of the file, in file order
SETTINGS: tuple[Setting, ...] = (
    Setting(
        "store",
        "url",
        "sqlite:///var/gateway.db",
        _text,
        "a store URL: sqlite:///PATH or postgresql+psycopg://user@host:5432/db",
        ("store",),
        None,
        "IGW_STORE_URL",
    ),
    Setting(
        "profiles",
        "directory",
        "config/buyers",
        _text,
        "a folder of buyer profiles (*.toml)",
        ("profiles",),
        ("submit", "run", "demo", "serve"),
        "IGW_PROFILES",
    ),
    Setting(
        "sellers",
        "directory",
        "config/sellers",
        _text,
        "a folder of seller master data (used when it exists unless named explicitly)",
        ("sellers",),
        ("translate", "submit"),
        "IGW_SELLERS",
    ),
    Setting("worker", "batch", 50, _whole, WHOLE, ("batch",), ("run",)),
    Setting("worker", "concurrency", 8, _whole, WHOLE, ("concurrency",), ("run",)),
    Setting("worker", "poll_interval", 1.0, _duration, DURATION, ("poll_interval",), ("run",)),
    Setting("worker", "lease", 300.0, _duration, DURATION, ("lease",), ("run",)),
    Setting("log", "level", DEFAULT_LEVEL, _choice(*LEVELS), ", ".join(LEVELS)),
    Setting("log", "format", DEFAULT_FORMAT, _choice(*FORMATS), ", ".join(FORMATS)),
    Setting("serve", "host", "127.0.0.1", _text, "an address to listen on", ("host",), ("serve",)),
    Setting("serve", "port", 8080, _port, "a port 1-65535", ("port",), ("serve",)),
    Setting(
        "serve",
        "metrics_allow",
        DEFAULT_ALLOW,
        _text,
        "a comma list of addresses or CIDR networks, 'any' or 'none'",
        ("metrics_allow",),
        ("serve",),
    ),
    Setting(
        "limits",
        "max_size",
        DEFAULT_INPUT_MAX,
        _size,
        'a size: bytes or a number with KB, MB, GB, KiB, MiB, GiB (e.g. "100MB")',
        ("max_size",),
        ("translate", "parse", "validate"),
    ),
    Setting(
        "batch",
        "jobs",
        "auto",
        _jobs,
        '"auto" (every core for batches over 50 invoices) or a whole number >= 1',
        ("jobs",),
        ("translate", "validate"),
    ),
)
BY_NAME = {s.name: s for s in SETTINGS}


@dataclass(frozen=True)
class Value:
    """A setting's value and where it came from (``default``, ``file PATH``, ``env NAME``)."""

    setting: Setting
    value: object
    source: str

    @property
    def is_default(self) -> bool:
        """True when the value is the built-in default (wherever it was written)."""
        return self.value == self.setting.default


@dataclass(frozen=True)
class Settings:
    """The resolved settings (environment > file > built-in default; flags come on top in
    the parser) and the file they were read from (None: no file)."""

    values: Mapping[str, Value]
    path: Path | None

    def __getitem__(self, name: str) -> object:
        return self.values[name].value

    def __iter__(self) -> Iterator[Value]:
        return iter(self.values.values())

    def apply(self, parser: argparse.ArgumentParser) -> None:
        """Make each value that is not the built-in default the default of the options that
        carry it (a flag given still wins). Built-in defaults are left to each command's own
        option defaults, so nothing changes without a file or variable."""
        for command, sub in _subcommands(parser):
            for action in sub._actions:
                for value in self:
                    setting = value.setting
                    if action.dest not in setting.dests or value.is_default:
                        continue
                    if setting.commands is None or command in setting.commands:
                        action.default = value.value


def _subcommands(
    parser: argparse.ArgumentParser, prefix: str = ""
) -> Iterator[tuple[str, argparse.ArgumentParser]]:
    """Every (sub)command parser with its command name (``inbound list`` for nested ones)."""
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for name, sub in action.choices.items():
                full = f"{prefix} {name}".strip()
                yield full.split(" ")[0], sub
                yield from _subcommands(sub, full)


def _shown(value: object) -> str:
    return repr(value) if isinstance(value, str) else str(value)


def _parse(setting: Setting, raw: object, path: Path | None) -> object:
    """The parsed value; a bad one is a one-line :class:`SettingsError` naming the file (or
    variable), the key, the value and what is accepted."""
    try:
        return setting.parse(raw)
    except (ValueError, TypeError) as exc:
        where = (
            f"environment {setting.env} = {_shown(raw)} ([{setting.section}] {setting.key})"
            if path is None
            else f"{path}: [{setting.section}] {setting.key} = {_shown(raw)}"
        )
        raise SettingsError(f"{where}: not accepted; accepted: {setting.accepted}") from exc


def read_file(path: Path) -> dict[str, object]:
    """The ``section.key -> raw value`` pairs of a settings file; unknown sections and keys
    (with a "did you mean"), a file that is not TOML or not readable: :class:`SettingsError`."""
    try:
        with path.open("rb") as handle:
            data = tomllib.load(handle)
    except tomllib.TOMLDecodeError as exc:
        raise SettingsError(f"{path}: not valid TOML: {exc}") from exc
    except OSError as exc:
        raise SettingsError(f"{path}: cannot read the settings file: {exc.strerror}") from exc
    raw: dict[str, object] = {}
    sections = sorted({s.section for s in SETTINGS})
    for section, table in data.items():
        if section not in sections or not isinstance(table, dict):
            raise SettingsError(
                f"{path}: [{section}]: unknown section{_did_you_mean(section, sections)}; "
                f"accepted: {', '.join(f'[{s}]' for s in sections)}"
            )
        keys = [s.key for s in SETTINGS if s.section == section]
        for key, value in table.items():
            if key not in keys:
                raise SettingsError(
                    f"{path}: [{section}] {key}: unknown key{_did_you_mean(key, keys)}; "
                    f"accepted: {', '.join(keys)}"
                )
            raw[f"{section}.{key}"] = value
    return raw


def _did_you_mean(name: str, names: Sequence[str]) -> str:
    close = difflib.get_close_matches(name, names, n=1)
    return f" (did you mean {close[0]!r}?)" if close else ""


def config_path(named: str | None, environ: Mapping[str, str]) -> tuple[Path | None, bool]:
    """The settings file and whether it was named (``--config``, else ``IGW_CONFIG``; both
    must exist), else ./config/gateway.toml when it exists (else none: built-in defaults)."""
    chosen = named or environ.get(CONFIG_ENV)
    if chosen:
        return Path(chosen), True
    default = Path(DEFAULT_CONFIG)
    return (default if default.is_file() else None), False


def load_settings(named: str | None = None, environ: Mapping[str, str] | None = None) -> Settings:
    """Resolve every setting: environment > file > built-in default (see the module doc)."""
    environ = os.environ if environ is None else environ
    path, explicit = config_path(named, environ)
    if path is not None and explicit and not path.is_file():
        source = "--config" if named else CONFIG_ENV
        raise SettingsError(f"{source} {path}: no such settings file; accepted: a TOML file")
    raw = read_file(path) if path is not None else {}
    values: dict[str, Value] = {}
    for setting in SETTINGS:
        env = environ.get(setting.env)
        if env is not None and env != "":
            value = Value(setting, _parse(setting, env, None), f"env {setting.env}")
        elif setting.name in raw:
            parsed = _parse(setting, raw[setting.name], path)
            value = Value(setting, parsed, f"file {path}")
        else:
            value = Value(setting, setting.default, "default")
        values[setting.name] = value
    return Settings(values, path)


def _written(value: object) -> str:
    if isinstance(value, float):
        return f"{value:g}s"
    if isinstance(value, int) and not isinstance(value, bool) and value >= 10_000:
        return format_size(value)
    return str(value)


def cmd_config(args: argparse.Namespace) -> int:
    """``igw config``: every setting, its value and where it came from (flags aside)."""
    settings: Settings = args.settings
    where = settings.path if settings.path is not None else "none (built-in defaults)"
    print(f"# settings file: {where}")
    for value in settings:
        print(f"{value.setting.name} = {_written(value.value)}  # {value.source}")
    sys.stdout.flush()
    return 0


def add_config_command(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add ``igw config`` (the effective settings and their sources)."""
    p = subparsers.add_parser(
        "config", help="show the effective settings (gateway.toml, IGW_* variables, defaults)"
    )
    p.set_defaults(func=cmd_config)


def add_global_options(parser: argparse.ArgumentParser) -> None:
    """``--config``, ``--log-level``, ``--log-format`` on ``igw`` and on every subcommand
    (before or after the command name; unset unless given, so the settings decide)."""
    for target in [parser, *(sub for _command, sub in _subcommands(parser))]:
        group = target.add_argument_group("global options")
        group.add_argument(
            "--config",
            metavar="PATH",
            default=argparse.SUPPRESS,
            help=f"settings file (env {CONFIG_ENV}; default {DEFAULT_CONFIG} when it exists)",
        )
        group.add_argument(
            "--log-level",
            choices=LEVELS,
            default=argparse.SUPPRESS,
            help=f"log records at this level and above on stderr (env IGW_LOG_LEVEL; default "
            f"{DEFAULT_LEVEL})",
        )
        group.add_argument(
            "--log-format",
            choices=FORMATS,
            default=argparse.SUPPRESS,
            help="text lines, or one JSON object per line (env IGW_LOG_FORMAT; default "
            f"{DEFAULT_FORMAT})",
        )


def parse_args(
    parser: argparse.ArgumentParser,
    argv: Sequence[str] | None = None,
    environ: Mapping[str, str] | None = None,
) -> argparse.Namespace:
    """Read the settings (``--config`` wherever it is on the line), make them the options'
    defaults, parse ``argv``, and set up logging (flag > IGW_LOG_* > file > default).

    The namespace carries the settings as ``settings``. Raises :class:`SettingsError`."""
    pre = argparse.ArgumentParser(add_help=False, allow_abbrev=False)
    pre.add_argument("--config", default=None)
    known, _rest = pre.parse_known_args(argv)
    settings = load_settings(known.config, environ)
    settings.apply(parser)
    args = parser.parse_args(argv)
    args.settings = settings
    level = str(getattr(args, "log_level", None) or settings["log.level"])
    fmt = str(getattr(args, "log_format", None) or settings["log.format"])
    configure(level, fmt)
    return args


def duration_arg(text: str) -> float:
    """A duration on the command line (``igw run --poll-interval 2s``, ``--lease 10m``):
    seconds, or a number with ms, s, m, h."""
    try:
        seconds = _duration(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(f"{text!r}: accepted: {DURATION}") from exc
    assert isinstance(seconds, float)
    return seconds
