"""Declarative buyer formats: a TOML definition, a sandboxed Jinja2 template, a buyer schema.

An integration engineer adds a buyer's AP-portal upload (JSON, CSV or XML) without Python; see
README.md in this folder ("Add a buyer format in 15 minutes").
"""

from mappings.declarative.definition import (
    CsvLayout,
    FormatDefinition,
    format_search_path,
    read_definition,
)
from mappings.declarative.mapping import (
    DeclarativeMapping,
    TemplateFailed,
    find_format,
    load_format,
)

__all__ = [
    "CsvLayout",
    "DeclarativeMapping",
    "FormatDefinition",
    "TemplateFailed",
    "find_format",
    "format_search_path",
    "load_format",
    "read_definition",
]
