"""``igw translate --option KEY=VALUE``: the keys each format reads, and a refusal of any other.

A mistyped key (``sender-id``) used to be ignored silently, and the format then complained about
a missing ``sender_id`` or, worse, used its default. The keys per syntax are the ones the
built-in mappings read from ``BuyerProfile.options``; a declarative buyer format reads its own
``[options]`` and whatever its template names as ``options.KEY``; a plug-in mapping may list
its keys in an ``option_keys`` attribute (without one, its keys are not checked).
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Iterable, Mapping
from typing import Any

from gateway.errors import ConfigError, Problem
from gateway.registry import BUILTIN_MAPPINGS
from mappings.cxml.render import HEADER_OPTIONS

#: option keys the built-in mappings read, per syntax (mappings.edifact.interchange and
#: .charset; mappings.cxml.render.HEADER_OPTIONS); UBL and CII read none.
SYNTAX_OPTION_KEYS: Mapping[str, tuple[str, ...]] = {
    "ubl": (),
    "cii": (),
    "edifact": (
        "sender_id",
        "sender_qualifier",
        "recipient_id",
        "recipient_qualifier",
        "application_ref",
        "una",
        "line_breaks",
        "syntax",
        "transliterate",
    ),
    "cxml": HEADER_OPTIONS,
}

OPTION_HINT = "give them with --option KEY=VALUE (or in the [options] of --profile FILE)"
# gateway.translation.pipeline.translate_one: the mapping refused its configuration
CONFIG_RULE = "CONFIG"

_TEMPLATE_KEY = re.compile(r"\boptions\s*(?:\.\s*(\w+)|\[\s*['\"](\w+)['\"]\s*\])")


def option_keys(mapping: Any) -> tuple[str, ...] | None:
    """The option keys ``mapping`` reads, or None when they cannot be known (a plug-in)."""
    declared = getattr(mapping, "option_keys", None)
    if declared is not None:
        return tuple(declared)
    definition = getattr(mapping, "definition", None)
    if definition is not None and hasattr(definition, "template"):
        keys = dict.fromkeys(getattr(definition, "options", {}) or {})
        try:
            text = definition.template.read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError):
            text = ""
        for match in _TEMPLATE_KEY.finditer(text):
            keys[match.group(1) or match.group(2)] = None
        return tuple(keys)
    if mapping.name not in BUILTIN_MAPPINGS:
        return None
    return SYNTAX_OPTION_KEYS.get(str(mapping.syntax))


def check_option_keys(options: Iterable[str], mappings: Iterable[Any]) -> None:
    """ConfigError for the first ``--option`` key none of ``mappings`` reads, naming the key
    and the known keys per format (with a "did you mean")."""
    known: dict[str, tuple[str, ...]] = {}
    for mapping in mappings:
        keys = option_keys(mapping)
        if keys is None:
            return  # a plug-in whose keys we cannot know: its own render says what it lacks
        known[mapping.name] = keys
    every = sorted({key for keys in known.values() for key in keys})
    for key in options:
        if key in every:
            continue
        close = difflib.get_close_matches(key, every, n=1)
        hint = f"; did you mean {close[0]!r}?" if close else ""
        per_format = "; ".join(
            f"{name}: {', '.join(keys) if keys else 'none'}" for name, keys in known.items()
        )
        raise ConfigError(
            f"--option {key}: no format of this run reads it{hint} (known keys — {per_format})"
        )


def is_option_error(problem: Problem) -> bool:
    """True for a record's problem that is the run's configuration, not the record: a format
    refusing its options (cXML credentials or EDIFACT sender ids missing, a bad ``syntax``)."""
    return problem.rule == CONFIG_RULE and "option" in problem.message
