"""XSD validation with lxml; each schema is loaded once per process and shared by all threads."""

from __future__ import annotations

import threading
from collections.abc import Iterable
from dataclasses import dataclass
from typing import cast

from lxml import etree

from gateway.errors import ConfigError
from gateway.validation.artefacts import artefact_path


@dataclass(frozen=True)
class SchemaError:
    """One XSD violation: line, XPath of the offending element (may be empty) and libxml2's text."""

    line: int
    path: str
    message: str


class _CachedSchema:
    # lxml keeps the error log of the last validate() on the schema object, so validating and
    # reading that log must not interleave across threads: one lock per schema.
    def __init__(self, schema: etree.XMLSchema) -> None:
        self.schema = schema
        self.lock = threading.Lock()


_schemas: dict[tuple[str, str], _CachedSchema] = {}
_schemas_lock = threading.Lock()


def _schema(artefact: str, role: str) -> _CachedSchema:
    key = (artefact, role)
    with _schemas_lock:
        cached = _schemas.get(key)
        if cached is None:
            path = artefact_path(artefact, role)
            parser = etree.XMLParser(no_network=True, resolve_entities=False)
            try:
                cached = _CachedSchema(etree.XMLSchema(etree.parse(str(path), parser)))
            except (etree.XMLSchemaParseError, etree.XMLSyntaxError) as exc:
                raise ConfigError(f"cannot load XSD {path}: {exc}") from exc
            _schemas[key] = cached
    return cached


def check_schema(tree: etree._ElementTree, artefact: str, role: str) -> list[SchemaError]:
    """Validate ``tree`` against the indexed XSD ``artefact``/``role``; [] when it is valid."""
    cached = _schema(artefact, role)
    with cached.lock:
        if cached.schema.validate(tree):
            return []
        return [
            SchemaError(line=entry.line, path=entry.path or "", message=entry.message)
            for entry in cast(Iterable[etree._LogEntry], cached.schema.error_log)
        ]


def preload_schema(artefact: str, role: str) -> None:
    """Load (and cache) an XSD now rather than on first use."""
    _schema(artefact, role)
