"""Tracing a finding in the output back to the template line and the canonical field.

Two ways, best first: the expression the template line writes (``line.price.net``, resolved
through the template's ``{% for x in invoice.y %}`` loops), else the invoice field whose value
equals the offending value (a hint: the first equal field wins).
"""

from __future__ import annotations

import re
from decimal import Decimal, InvalidOperation
from typing import Any

_INDEXED = re.compile(r"^lines\[(\d+)\]")
_EXPRESSION = re.compile(r"\{\{-?\s*([A-Za-z_][\w.]*)")
_FOR = re.compile(r"\{%-?\s*for\s+(\w+)\s+in\s+invoice\.([\w.]+)\s*-?%\}")


def _leaves(value: Any, path: str = "") -> list[tuple[str, Any]]:
    if isinstance(value, dict):
        out = []
        for key, item in value.items():
            out.extend(_leaves(item, f"{path}.{key}" if path else key))
        return out
    if isinstance(value, list):
        return [leaf for i, item in enumerate(value) for leaf in _leaves(item, f"{path}[{i}]")]
    return [(path, value)]


def _same(a: object, b: object) -> bool:
    if a is None or b is None or isinstance(a, bool) or isinstance(b, bool):
        return False
    if isinstance(a, str) and isinstance(b, str) and a == b:
        return True
    try:
        # A CSV cell may carry a decimal comma: "976,71" was fed by 976.71.
        return Decimal(str(a).replace(",", ".")) == Decimal(str(b))
    except InvalidOperation:
        return False


def trace_value(value: object, data: dict[str, Any], index: int | None) -> str | None:
    """The canonical field path whose value equals ``value`` (on line ``index`` if given).

    A best-effort hint: values are matched, not followed through the template, so a value
    computed in the template (or present in several fields) is traced to the first match.
    """
    if value is None or isinstance(value, dict | list):
        return None
    matches = [path for path, leaf in _leaves(data) if _same(value, leaf)]
    if index is not None:
        on_line = [p for p in matches if (m := _INDEXED.match(p)) and int(m.group(1)) == index]
        matches = on_line or matches
    return matches[0] if matches else None


def expression_source(text: str, source_lines: list[str], index: int | None) -> str | None:
    """The canonical path a template expression reads: ``line.price.net`` -> BT-146's path.

    Loop variables are resolved through the template's ``{% for x in invoice.y %}`` tags;
    ``index`` (the first list position in the output location) fills in the list index.
    """
    match = _EXPRESSION.search(text)
    if match is None:
        return None
    parts = match.group(1).split(".")
    if parts[0] == "invoice":
        return ".".join(parts[1:]) or None
    if parts[0] == "options":
        return ".".join(parts)
    loops = dict(_FOR.findall("\n".join(source_lines)))
    if parts[0] in loops:
        base = loops[parts[0]]
        base += f"[{index}]" if index is not None else ""
        return ".".join([base, *parts[1:]])
    return None
