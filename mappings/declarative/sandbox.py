"""The sandboxed Jinja2 environment buyer templates run in.

Templates cannot read files (the loader holds only the template itself, so ``include``/``import``
find nothing), cannot reach ``__class__`` and friends (``ImmutableSandboxedEnvironment``) and
cannot mutate what they see. Every ``{{ value }}`` is encoded for the output kind by the
environment's ``finalize`` hook, so a template cannot produce broken quoting by forgetting a
filter: in JSON a string becomes a JSON string (quotes included), a number from ``amount`` a
JSON number, ``None`` ``null``; in CSV a cell is quoted when it contains the delimiter, a quote
or a line break; in XML text is escaped.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Callable
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from typing import Any

from jinja2 import FunctionLoader, StrictUndefined, Undefined
from jinja2.sandbox import ImmutableSandboxedEnvironment

from mappings.xmltext import esc, num


class Raw(str):
    """Text a template marks as already encoded (the ``raw`` filter): written as is."""

    __slots__ = ()


def _decimal(value: object, what: str) -> Decimal:
    try:
        return Decimal(str(value))
    except InvalidOperation:
        raise ValueError(f"{what}: {value!r} is not a number") from None


def amount(value: object, places: int = 2) -> Decimal | None:
    """``value`` as a Decimal rounded half-up to ``places`` decimals; ``None`` stays ``None``."""
    if value is None:
        return None
    quantum = Decimal(1).scaleb(-places)
    return _decimal(value, "amount").quantize(quantum, rounding=ROUND_HALF_UP)


def number(value: object) -> Decimal | None:
    """``value`` as a Decimal exactly as given (``"19"`` -> 19); ``None`` stays ``None``."""
    return None if value is None else _decimal(value, "number")


def date(value: object, pattern: str = "%Y-%m-%d") -> str | None:
    """An ISO date (``2026-10-01``) reformatted with a strftime ``pattern``; ``None`` stays."""
    if value is None:
        return None
    return dt.date.fromisoformat(str(value)).strftime(pattern)


def raw(value: object) -> Raw:
    """Mark text as already encoded for the output (use sparingly: it bypasses escaping)."""
    return Raw(str(value))


def _plain(value: Decimal) -> str:
    return num(value)


def _defined(value: Any) -> Any:
    """Raise the StrictUndefined error for an undefined value (finalize sees it first)."""
    if isinstance(value, Undefined):
        str(value)
    return value


def json_finalize(value: Any) -> str:
    """Encode one ``{{ }}`` value as JSON text."""
    value = _defined(value)
    if isinstance(value, Raw):
        return str(value)
    if isinstance(value, Decimal):
        return _plain(value)
    return json.dumps(value, ensure_ascii=False)


def csv_finalize(delimiter: str, decimal: str) -> Callable[[Any], str]:
    """A finalize hook writing one CSV cell (quoted only when it must be)."""

    def finalize(value: Any) -> str:
        value = _defined(value)
        if isinstance(value, Raw):
            return str(value)
        if value is None:
            return ""
        if isinstance(value, bool):
            return "true" if value else "false"
        if isinstance(value, Decimal):
            text = _plain(value)
            return text.replace(".", decimal) if decimal != "." else text
        text = str(value)
        if any(c in text for c in (delimiter, '"', "\n", "\r")) or text != text.strip():
            return '"' + text.replace('"', '""') + '"'
        return text

    return finalize


def xml_finalize(value: Any) -> str:
    """Escape one ``{{ }}`` value as XML text or attribute content."""
    value = _defined(value)
    if isinstance(value, Raw):
        return str(value)
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, Decimal):
        return _plain(value)
    return esc(str(value))


def make_environment(
    template_name: str, source: str, finalize: Callable[[Any], str]
) -> ImmutableSandboxedEnvironment:
    """A sandbox that knows only ``template_name`` and encodes every value with ``finalize``.

    The template's file name is ``template_name`` too, so tracebacks carry its line numbers.
    """

    def load(name: str) -> tuple[str, str, Callable[[], bool]] | None:
        return (source, template_name, lambda: True) if name == template_name else None

    env = ImmutableSandboxedEnvironment(
        loader=FunctionLoader(load),
        undefined=StrictUndefined,
        autoescape=False,
        finalize=finalize,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
    )
    env.filters.update(amount=amount, number=number, date=date, raw=raw)
    # Filters and globals reachable from a template are exactly these plus Jinja's built-ins.
    return env
