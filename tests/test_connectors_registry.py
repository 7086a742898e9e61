"""Connector names resolve by alias or module:Class; unknown names suggest the closest."""

from __future__ import annotations

import pytest

from connectors.file import FileConnector
from connectors.memory import MemoryConnector
from gateway.errors import ConfigError
from gateway.registry import connector_names, resolve_connector


def test_aliases_and_dotted_names() -> None:
    """'file', 'memory' and 'connectors.file:FileConnector' resolve to the classes."""
    assert resolve_connector("file") is FileConnector
    assert resolve_connector("memory") is MemoryConnector
    assert resolve_connector("connectors.file:FileConnector") is FileConnector
    assert {"file", "memory"} <= set(connector_names())


def test_unknown_alias_suggests() -> None:
    """A misspelt alias fails with "did you mean" the closest known one."""
    with pytest.raises(ConfigError, match="did you mean 'memory'"):
        resolve_connector("memroy")


def test_unknown_class_names_module() -> None:
    """A module:Class that does not exist names the module and the missing attribute."""
    with pytest.raises(ConfigError, match="has no 'Nope'"):
        resolve_connector("connectors.file:Nope")
