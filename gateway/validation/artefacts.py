"""Where the shipped validation artefacts are: ``schemas/INDEX.toml``, read via importlib.resources.

The files live in the data package ``schemas`` (installed next to ``gateway``); the index names
each artefact and its entry files (``en16931`` -> ``{"ubl": ..., "cii": ...}``), so no path to an
artefact is written anywhere else in the code.
"""

from __future__ import annotations

import importlib
import tomllib
from dataclasses import dataclass
from functools import cache
from importlib.resources import files
from pathlib import Path

from gateway.errors import ConfigError

SCHEMAS_PACKAGE = "schemas"


@dataclass(frozen=True)
class Artefact:
    """One indexed artefact; ``entry`` maps a role (``ubl``, ``invoice``...) to a package path."""

    name: str
    version: str
    kind: str
    licence: str
    entry: dict[str, str]
    files: tuple[str, ...]


@cache
def schemas_root() -> Path:
    """The folder of the ``schemas`` package on disk, found with importlib.resources.

    XSD imports and XSLT includes are resolved relative to files, so the package must be a real
    folder (a normal or editable install, or the source tree); a zipped install raises ConfigError.
    """
    try:
        root: object = files(SCHEMAS_PACKAGE)
    except OSError:
        # An editable install made while schemas/ had no __init__.py maps it as a namespace
        # package whose path includes a non-folder hook entry, which files() rejects.
        root = None
    if isinstance(root, Path) and root.is_dir():
        return root
    module = importlib.import_module(SCHEMAS_PACKAGE)
    for entry in getattr(module, "__path__", []):
        candidate = Path(entry)
        if (candidate / "INDEX.toml").is_file():
            return candidate
    raise ConfigError(
        f"the '{SCHEMAS_PACKAGE}' package is not a folder on disk ({root!r}); "
        "install invoice-gateway unzipped (pip install, not a zipapp)"
    )


@cache
def index() -> dict[str, Artefact]:
    """The artefacts listed in ``schemas/INDEX.toml``, by name."""
    path = schemas_root() / "INDEX.toml"
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except (OSError, tomllib.TOMLDecodeError) as exc:
        raise ConfigError(f"cannot read the artefact index {path}: {exc}") from exc
    result: dict[str, Artefact] = {}
    for item in data.get("artefact", []):
        result[item["name"]] = Artefact(
            name=item["name"],
            version=item["version"],
            kind=item["kind"],
            licence=item["licence"],
            entry=dict(item.get("entry", {})),
            files=tuple(f["path"] for f in item.get("file", [])),
        )
    return result


def artefact_path(name: str, role: str) -> Path:
    """The file on disk for artefact ``name``'s entry ``role`` (e.g. ``("en16931", "ubl")``).

    Raises ConfigError naming what is known when the artefact, the role or the file is missing.
    """
    known = index()
    if name not in known:
        raise ConfigError(f"no artefact '{name}' in schemas/INDEX.toml; known: {sorted(known)}")
    artefact = known[name]
    if role not in artefact.entry:
        raise ConfigError(
            f"artefact '{name}' has no '{role}' entry; it has {sorted(artefact.entry)}"
        )
    path = schemas_root() / artefact.entry[role]
    if not path.is_file():
        raise ConfigError(f"artefact file missing from the installed package: {path}")
    return path
