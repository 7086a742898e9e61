"""Where the files the gateway ships beside its code are: the demo's configuration, the buyer
formats and their templates, the example ERP exports.

In a source checkout (and an editable install) they are the repository's own folders
(``config/demo``, ``config/formats``, ``mappings/buyers``, ``examples``). A wheel carries copies
of the same tree as package data under ``gateway/_shipped/`` (``setup.py`` copies them at build
time), found with :mod:`importlib.resources`. Same relative layout in both, so a format file's
``template = "../../mappings/buyers/..."`` resolves either way.
"""

from __future__ import annotations

from importlib.resources import files
from pathlib import Path

#: the folders (and files) copied into a wheel, relative to the repository root
SHIPPED = (
    "config/demo",
    "config/formats",
    "config/gateway.toml",
    "mappings/buyers",
    "examples/erp-export.json",
    "examples/large-1000-lines.json",
)
PACKAGE_FOLDER = "_shipped"
REPO = Path(__file__).resolve().parent.parent


def shipped_root() -> Path:
    """The folder that holds the shipped tree: ``gateway/_shipped`` in a wheel install, else
    the repository root."""
    packaged = Path(str(files("gateway").joinpath(PACKAGE_FOLDER)))
    return packaged if packaged.is_dir() else REPO


def shipped(relative: str) -> Path:
    """The shipped file or folder ``relative`` (one of :data:`SHIPPED`, or below one), e.g.
    ``shipped("config/demo/buyers")``."""
    return shipped_root() / relative
