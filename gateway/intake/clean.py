"""What an ERP export really contains, made plain before the model reads it.

ERP exports carry blank cells as ``""`` or ``"   "``, empty groups as ``{}`` and ``[]``, and now
and then a control character pasted from another system. Left alone, a blank optional text
reaches the renderers as an empty element (PEPPOL-EN16931-R008, BR-52 for an empty reference)
and a control character makes the output not XML at all. So, before validation:

* a blank or whitespace-only text is absent: an optional field is left out, a mandatory one is
  reported missing by the model;
* an object left with no fields, or a list with no entries, is absent too (an empty period is
  no period), unless a mandatory field in it was blank: then it stays and that field is missing;
* a text holding a character XML 1.0 cannot carry (C0 controls but tab, line feed and carriage
  return; lone surrogates; U+FFFE, U+FFFF) is a problem naming the field, the character and its
  position.
"""

from __future__ import annotations

import re
from functools import lru_cache
from typing import Any

from gateway.errors import Problem
from gateway.intake.problems import Describe, Loc, model_at
from gateway.model import bt_of

# Characters XML 1.0 cannot carry (the Char production), as found in ERP exports.
NOT_XML = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff\ufffe\uffff]")
NOT_XML_ACCEPTED = (
    "text without control characters (tab, line feed and carriage return are allowed), "
    "lone surrogates or U+FFFE/U+FFFF: XML 1.0 cannot carry them"
)

_ABSENT = object()


def not_xml_message(text: str) -> str:
    """``character U+0001 at position 5`` for every character XML 1.0 cannot carry in ``text``."""
    found = [f"U+{ord(m.group()):04X} at position {m.start() + 1}" for m in NOT_XML.finditer(text)]
    return "contains a character XML 1.0 cannot carry: " + ", ".join(found)


def _required(loc: Loc, key: str) -> bool:
    return _required_at(tuple(p for p in loc if isinstance(p, str)), key)


@lru_cache(maxsize=1024)
def _fields_at(names: tuple[str, ...]) -> frozenset[str] | None:
    model = model_at(names)
    return None if model is None else frozenset(model.model_fields)


@lru_cache(maxsize=1024)
def _required_at(names: tuple[str, ...], key: str) -> bool:
    model = model_at(names)
    if model is None or key not in model.model_fields:
        return False
    return model.model_fields[key].is_required()


class _Cleaner:
    def __init__(self, record: str, describe: Describe) -> None:
        self.record = record
        self.describe = describe
        self.problems: list[Problem] = []

    def text(self, value: str, loc: Loc) -> object:
        if not value.strip():
            return _ABSENT
        if NOT_XML.search(value) is not None:
            path, prefix = self.describe(loc)
            self.problems.append(
                Problem(
                    self.record,
                    path,
                    bt_of(loc),
                    value,
                    "INPUT",
                    prefix + not_xml_message(value),
                    NOT_XML_ACCEPTED,
                )
            )
        return value

    def node(self, value: object, loc: Loc) -> object:
        if isinstance(value, str):
            return self.text(value, loc)
        if isinstance(value, dict):
            return self.mapping(value, loc)
        if isinstance(value, list):
            items = [self.node(item, (*loc, n)) for n, item in enumerate(value)]
            kept = [item for item in items if item is not _ABSENT]
            return kept if kept else _ABSENT
        return value

    def mapping(self, value: dict[str, Any], loc: Loc) -> object:
        result: dict[str, Any] = {}
        blank_required = False
        known = _fields_at(tuple(p for p in loc if isinstance(p, str)))
        for key, item in value.items():
            if known is not None and key not in known:
                result[key] = item  # an unknown key stays, for the model to name it
                continue
            cleaned = self.node(item, (*loc, key))
            if cleaned is _ABSENT:
                required = _required(loc, key)
                if required and isinstance(item, list):
                    result[key] = []  # reported as an empty list, which says more than missing
                    continue
                blank_required = blank_required or required
                continue
            result[key] = cleaned
        if not result and not blank_required and loc:
            return _ABSENT
        return result


def clean_record(
    data: dict[str, Any], record: str, describe: Describe
) -> tuple[dict[str, Any], tuple[Problem, ...]]:
    """``data`` with blank texts and empty groups left out, and the character problems found.

    The input is not changed; the top-level object is always kept (an empty record is then
    reported field by field).
    """
    cleaner = _Cleaner(record, describe)
    cleaned = cleaner.mapping(data, ())
    assert isinstance(cleaned, dict)
    return cleaned, tuple(cleaner.problems)
