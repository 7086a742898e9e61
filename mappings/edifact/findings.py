"""Keeping a bounded number of findings: the first few of each kind, and how many more.

A 2 MB file of bad segments holds hundreds of thousands of errors of one kind. Nobody reads
them all, and keeping them cost 713 MB and 142 MB of ``igw validate`` output (issue 10). So
the checkers collect into a :class:`Capped` list: the first :data:`PER_KIND` findings of each
kind are kept in full, the others only counted (with the position of the first one left out),
and the report ends with one line per kind, "... and 51,234 more EDI-TAG findings".

The kind of an interchange error is the rule id of the independent checker
(:func:`rule_of`: EDI-TAG, EDI-RELEASE, EDI-OUTSIDE, ...), a small fixed set, so the kept list
is bounded whatever the input.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Protocol, SupportsIndex, TypeVar

PER_KIND = 20
"""Findings kept in full per kind; the rest of that kind are counted."""

T = TypeVar("T")

_ENVELOPE_RULES = {
    "UNA": "EDI-UNA",
    "UNB": "EDI-UNB",
    "UNH": "EDI-UNH",
    "UNT": "EDI-UNT",
    "UNG": "EDI-UNE",
    "UNE": "EDI-UNE",
    "UNZ": "EDI-UNZ",
}


class _Error(Protocol):
    @property
    def code(self) -> int: ...
    @property
    def message(self) -> str: ...
    @property
    def tag(self) -> str: ...


def rule_of(error: _Error) -> str:
    """The independent checker's rule id for an interchange error or syntax fault (a summary
    of errors left out carries the rule of its kind as ``rule``)."""
    summarised = getattr(error, "rule", "")
    if summarised:
        return str(summarised)
    if error.tag == "UNA":
        return "EDI-UNA"
    if error.code == 21:
        return "EDI-RELEASE"
    if error.message.startswith(("segment terminator", "data after UNZ", "segments after UNZ")):
        return "EDI-TRAILING"
    if error.message.startswith("invalid segment tag"):
        return "EDI-TAG"
    if error.code == 33:
        return "EDI-OUTSIDE"
    return _ENVELOPE_RULES.get(error.tag, "EDI-SYNTAX")


class Capped(list[T]):
    """A list that keeps the first ``per_kind`` items of each kind (``kind_of(item)``) and
    counts the others in :attr:`omitted`, remembering the first one left out of each kind in
    :attr:`first_omitted`. ``append``/``extend`` apply the cap; everything else is a list."""

    def __init__(
        self, kind_of: Callable[[T], str], per_kind: int = PER_KIND, items: Iterable[T] = ()
    ) -> None:
        super().__init__()
        self.kind_of = kind_of
        self.per_kind = per_kind
        self.kept: dict[str, int] = {}
        self.omitted: dict[str, int] = {}
        self.first_omitted: dict[str, T] = {}
        self.extend(items)

    def append(self, item: T) -> None:
        """Keep ``item`` while its kind has fewer than ``per_kind``; else count it."""
        kind = self.kind_of(item)
        count = self.kept.get(kind, 0)
        if count < self.per_kind:
            self.kept[kind] = count + 1
            super().append(item)
            return
        if kind not in self.omitted:
            self.omitted[kind] = 0
            self.first_omitted[kind] = item
        self.omitted[kind] += 1

    def extend(self, items: Iterable[T]) -> None:
        """``append`` each item."""
        for item in items:
            self.append(item)

    def insert(self, index: SupportsIndex, item: T) -> None:
        """Not supported: the cap keeps items in the order they were found."""
        raise TypeError("Capped keeps findings in the order found; use append")

    def count_omitted(self, kind: str, count: int, first: T) -> None:
        """Add ``count`` items of ``kind`` left out elsewhere (``first`` the first of them)."""
        if count <= 0:
            return
        if kind not in self.omitted:
            self.omitted[kind] = 0
            self.first_omitted[kind] = first
        self.omitted[kind] += count

    @property
    def total(self) -> int:
        """Items kept plus items counted."""
        return len(self) + sum(self.omitted.values())


def more_text(count: int, kind: str, per_kind: int = PER_KIND) -> str:
    """``"... and 51,234 more EDI-TAG findings (the first 20 of each kind are listed)"``."""
    return (
        f"... and {count:,} more {kind} finding{'s' if count != 1 else ''} "
        f"(the first {per_kind} of each kind are listed)"
    )
