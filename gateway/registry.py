"""Plug-in lookup: short aliases, ``package.module:Class`` names and entry points.

Registration is visible here (no import side effects): built-in aliases are listed below,
third-party packages add theirs through the ``invoice_gateway.mappings`` entry-point group, and
declarative buyer formats are TOML files found in the format search path (``config/formats``
and the folders in ``IGW_FORMATS_PATH``). Unknown names fail with a "did you mean".
"""

from __future__ import annotations

import difflib
import importlib
from importlib.metadata import entry_points
from typing import Any

from gateway.errors import ConfigError

BUILTIN_MAPPINGS: dict[str, str] = {
    "peppol-bis3": "mappings.ubl.formats:PeppolBis3",
    "xrechnung-ubl": "mappings.ubl.formats:XRechnungUbl",
    "xrechnung-cii": "mappings.cii.formats:XRechnungCii",
    "facturx-en16931": "mappings.cii.formats:FacturXEn16931",
    "ubl": "mappings.ubl.formats:GenericUbl",
    "cii": "mappings.cii.formats:GenericCii",
    "eancom-d96a": "mappings.edifact.invoic:EancomD96A",
    "cxml": "mappings.cxml.format:CxmlInvoice",
    "pdf": "mappings.pdf.format:PdfInvoice",
    "facturx-pdf": "mappings.pdf.facturx:FacturXPdf",
    "zugferd": "mappings.pdf.facturx:FacturXPdf",
}

MAPPING_GROUP = "invoice_gateway.mappings"

_cache: dict[str, Any] = {}


def _entry_point_names(group: str) -> dict[str, str]:
    return {ep.name: ep.value for ep in entry_points(group=group)}


def declarative_names() -> list[str]:
    """Buyer formats defined by a TOML file in the format search path (config/formats, ...)."""
    from mappings.declarative import format_search_path

    return sorted({p.stem for d in format_search_path() for p in d.glob("*.toml")})


def _declarative(name: str) -> Any:
    from mappings.declarative import find_format, format_search_path

    return find_format(name, format_search_path())


def mapping_names() -> list[str]:
    """Every mapping alias known: built in, from entry points, and declarative buyer formats."""
    names = {**BUILTIN_MAPPINGS, **_entry_point_names(MAPPING_GROUP)}
    return sorted(set(names) | set(declarative_names()))


def load_object(target: str, *, kind: str = "plug-in") -> Any:
    """Import ``package.module:Attr``; raise :class:`ConfigError` naming what failed."""
    module_name, _, attr = target.partition(":")
    if not attr:
        raise ConfigError(f"{kind} {target!r}: expected 'package.module:Class'")
    try:
        module = importlib.import_module(module_name)
    except ImportError as exc:
        raise ConfigError(f"{kind} {target!r}: cannot import {module_name!r}: {exc}") from exc
    try:
        return getattr(module, attr)
    except AttributeError as exc:
        raise ConfigError(f"{kind} {target!r}: {module_name!r} has no {attr!r}") from exc


def resolve_mapping(name: str) -> Any:
    """The mapping for an alias or ``module:Class`` name (instances are stateless, so shared)."""
    if name in _cache:
        return _cache[name]
    known = {**BUILTIN_MAPPINGS, **_entry_point_names(MAPPING_GROUP)}
    if ":" in name:
        target = name
    elif name in known:
        target = known[name]
    else:
        declarative = _declarative(name)
        if declarative is not None:
            _cache[name] = declarative
            return declarative
        candidates = list(known) + declarative_names()
        close = difflib.get_close_matches(name, candidates, n=1)
        hint = f"; did you mean {close[0]!r}?" if close else ""
        raise ConfigError(f"unknown format {name!r}{hint} (known: {', '.join(sorted(candidates))})")
    instance = load_object(target, kind="mapping")()
    _cache[name] = instance
    return instance


BUILTIN_CONNECTORS: dict[str, str] = {
    "as2": "connectors.as2.connector:As2Connector",
    "cxml-post": "connectors.cxml_post:CxmlPostConnector",
    "email": "connectors.email:EmailConnector",
    "file": "connectors.file:FileConnector",
    "http": "connectors.http:HttpConnector",
    "memory": "connectors.memory:MemoryConnector",
    "sftp": "connectors.sftp:SftpConnector",
}

CONNECTOR_GROUP = "invoice_gateway.connectors"


def connector_names() -> list[str]:
    """Every connector alias known: built in and from entry points."""
    return sorted({**BUILTIN_CONNECTORS, **_entry_point_names(CONNECTOR_GROUP)})


def resolve_connector(name: str) -> Any:
    """The connector class for an alias or ``module:Class`` name (not an instance: the profile's
    channel options are passed to it). Unknown names raise :class:`ConfigError` with a
    "did you mean"."""
    known = {**BUILTIN_CONNECTORS, **_entry_point_names(CONNECTOR_GROUP)}
    if ":" in name:
        return load_object(name, kind="connector")
    if name not in known:
        close = difflib.get_close_matches(name, list(known), n=1)
        hint = f"; did you mean {close[0]!r}?" if close else ""
        raise ConfigError(f"unknown connector {name!r}{hint} (known: {', '.join(sorted(known))})")
    return load_object(known[name], kind="connector")
