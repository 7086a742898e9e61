"""Connectors: one module per channel, each with ``send(document) -> Receipt`` (see base.py).

Built in: ``file`` (connectors.file.FileConnector), ``memory`` (connectors.memory.MemoryConnector,
the test double). Aliases are listed in ``gateway.registry.BUILTIN_CONNECTORS``.
"""
