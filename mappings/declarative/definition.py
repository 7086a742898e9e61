"""The format definition file: ``config/formats/<name>.toml`` read into a FormatDefinition.

Paths in the file are relative to the file itself. Unknown keys are refused with a "did you
mean", naming the file and the key, so a typo never silently falls back to a default.
"""

from __future__ import annotations

import difflib
import os
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from gateway.errors import ConfigError

OUTPUT_KINDS = ("json", "csv", "xml")
PER_VALUES = ("invoice", "line")

_TOP_KEYS = (
    "name",
    "description",
    "output",
    "template",
    "schema",
    "media_type",
    "extension",
    "per",
    "csv",
    "options",
)
_REQUIRED = ("name", "output", "template", "schema")
_CSV_KEYS = ("delimiter", "decimal", "columns", "header")
_DEFAULT_MEDIA = {"json": "application/json", "csv": "text/csv", "xml": "application/xml"}

ENV_PATH = "IGW_FORMATS_PATH"


@dataclass(frozen=True)
class CsvLayout:
    """How a CSV output is read back for its per-row schema check.

    ``columns`` is the declared column order (the header row must equal it when ``header``);
    ``decimal`` is the decimal separator amounts are written with (``"."`` or ``","``).
    """

    columns: tuple[str, ...]
    delimiter: str = ";"
    decimal: str = "."
    header: bool = True


@dataclass(frozen=True)
class FormatDefinition:
    """One declarative buyer format as its TOML file states it (paths resolved, values checked)."""

    name: str
    output: str
    template: Path
    schema: Path
    source: Path
    description: str = ""
    media_type: str = "application/json"
    extension: str = "json"
    per: str = "invoice"
    csv: CsvLayout | None = None
    options: dict[str, str] = field(default_factory=dict)


def _unknown(keys: Any, known: tuple[str, ...], where: str) -> None:
    for key in keys:
        if key not in known:
            close = difflib.get_close_matches(key, known, n=1)
            hint = f"; did you mean {close[0]!r}?" if close else ""
            raise ConfigError(f"{where}: unknown key {key!r}{hint} (known: {', '.join(known)})")


def _text(data: dict[str, Any], key: str, where: str, default: str | None = None) -> str:
    value = data.get(key, default)
    if value is None:
        raise ConfigError(f"{where}: missing required key {key!r}")
    if not isinstance(value, str) or not value:
        raise ConfigError(f"{where}: {key!r} = {value!r}: expected a non-empty string")
    return value


def _choice(value: str, accepted: tuple[str, ...], key: str, where: str) -> str:
    if value not in accepted:
        raise ConfigError(f"{where}: {key!r} = {value!r}; accepted: {', '.join(accepted)}")
    return value


def _file(base: Path, value: str, key: str, where: str) -> Path:
    path = (base / value).resolve()
    if not path.is_file():
        raise ConfigError(f"{where}: {key!r} = {value!r}: no such file {path}")
    return path


def _csv_layout(data: object, where: str) -> CsvLayout:
    where = f"{where} [csv]"
    if not isinstance(data, dict):
        raise ConfigError(f"{where}: expected a table with 'columns'")
    _unknown(data, _CSV_KEYS, where)
    columns = data.get("columns")
    if (
        not isinstance(columns, list)
        or not columns
        or not all(isinstance(c, str) and c for c in columns)
    ):
        raise ConfigError(f"{where}: 'columns' must be a non-empty list of column names")
    delimiter = _text(data, "delimiter", where, ";")
    if len(delimiter) != 1:
        raise ConfigError(f"{where}: 'delimiter' = {delimiter!r}: expected one character")
    decimal = _choice(_text(data, "decimal", where, "."), (".", ","), "decimal", where)
    if decimal == delimiter:
        raise ConfigError(f"{where}: 'decimal' and 'delimiter' are both {decimal!r}")
    header = data.get("header", True)
    if not isinstance(header, bool):
        raise ConfigError(f"{where}: 'header' = {header!r}: expected true or false")
    return CsvLayout(tuple(columns), delimiter, decimal, header)


def read_definition(path: Path) -> FormatDefinition:
    """Read and check ``path``; raise :class:`ConfigError` naming the file and the bad key."""
    where = str(path)
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise ConfigError(f"{where}: cannot read: {exc.strerror}") from exc
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise ConfigError(f"{where}: not valid TOML: {exc}") from exc
    _unknown(data, _TOP_KEYS, where)
    for key in _REQUIRED:
        _text(data, key, where)
    output = _choice(data["output"], OUTPUT_KINDS, "output", where)
    base = path.resolve().parent
    per = _choice(_text(data, "per", where, "invoice"), PER_VALUES, "per", where)
    options = data.get("options", {})
    if not isinstance(options, dict) or not all(isinstance(v, str) for v in options.values()):
        raise ConfigError(f"{where}: [options] must be a table of strings")
    if output == "csv":
        layout: CsvLayout | None = _csv_layout(data.get("csv"), where)
    elif "csv" in data or "per" in data:
        raise ConfigError(f"{where}: 'csv' and 'per' apply only to output = \"csv\"")
    else:
        layout = None
    return FormatDefinition(
        name=data["name"],
        output=output,
        template=_file(base, data["template"], "template", where),
        schema=_file(base, data["schema"], "schema", where),
        source=path.resolve(),
        description=str(data.get("description", "")),
        media_type=_text(data, "media_type", where, _DEFAULT_MEDIA[output]),
        extension=_text(data, "extension", where, output),
        per=per,
        csv=layout,
        options=dict(options),
    )


def format_search_path() -> list[Path]:
    """Folders searched for ``<name>.toml``: ``$IGW_FORMATS_PATH`` entries, ``./config/formats``
    of the working directory, then the shipped ``config/formats`` (the examples; package data in
    a wheel install).

    ``IGW_FORMATS_PATH`` is a list of folders separated by ``os.pathsep``; a site's own folders
    come first so they can shadow a shipped format.
    """
    extra = [Path(p) for p in os.environ.get(ENV_PATH, "").split(os.pathsep) if p]
    local = Path.cwd() / "config" / "formats"
    from gateway.shipped import shipped as shipped_path  # wheel: package data; else the repo

    shipped = shipped_path("config/formats")
    folders = [*extra, local, shipped]
    unique: list[Path] = []
    for folder in folders:
        if folder.is_dir() and folder.resolve() not in {u.resolve() for u in unique}:
            unique.append(folder)
    return unique
