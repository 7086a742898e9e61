"""EDIFACT syntax level: service characters, a position-keeping tokenizer and the serializer.

Writing goes through pydifact (``pydifact.segments.Segment`` values, ``pydifact.serializer``);
:class:`FastSerializer` extends pydifact's ``Serializer`` for two reasons:

* pydifact truncates trailing empty *components* but not trailing empty *data elements*
  (``NAD+SU+++`` instead of ``NAD+SU``); ISO 9735 section 7.1 requires both truncated.
* pydifact escapes every value with a regular expression substitution; almost no value contains
  a service character, so a membership test first makes the common case a plain copy.

Reading uses our own tokenizer instead of pydifact's ``Parser``: pydifact reads one character at a
time through several method calls (about 20x slower), searches ``'UNA`` anywhere in the text, and
reports neither segment positions nor element numbers, which CONTRL (UCS/UCD) and our
``ParseError`` need.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import NamedTuple

from pydifact.control.characters import Characters
from pydifact.segments import Segment
from pydifact.serializer import Serializer

from mappings.edifact.findings import Capped, rule_of

Element = str | list[str]


@dataclass(frozen=True)
class Separators:
    """The six service characters of a UNA service string advice (ISO 9735 defaults)."""

    component: str = ":"
    data: str = "+"
    decimal: str = "."
    release: str = "?"
    reserved: str = " "
    terminator: str = "'"

    @property
    def una(self) -> str:
        """The UNA segment that announces these characters (``UNA:+.? '``)."""
        return (
            "UNA"
            + self.component
            + self.data
            + self.decimal
            + self.release
            + self.reserved
            + self.terminator
        )

    def characters(self) -> Characters:
        """The same characters as a pydifact ``Characters``."""
        return Characters.from_str(self.una)


DEFAULT_SEPARATORS = Separators()


class RawSegment(NamedTuple):
    """One segment as read: tag, data elements (each a tuple of components), where it was.

    ``position`` counts segments from 1 at UNB (a UNA service string advice is not a segment);
    ``offset`` is the character offset of the tag in the decoded text. (A NamedTuple: parsing
    creates one per segment, and tuples are the cheapest immutable values to create.)
    """

    tag: str
    elements: tuple[tuple[str, ...], ...]
    position: int
    offset: int

    def get(self, element: int, component: int = 0) -> str:
        """Component ``component`` (0-based) of data element ``element`` (0-based); "" if absent."""
        try:
            return self.elements[element][component]
        except IndexError:
            return ""


@dataclass(frozen=True, slots=True)
class SyntaxFault:
    """A syntax error found while splitting: 0085 code, text, segment position and element."""

    code: int
    message: str
    position: int
    tag: str
    element: int | None = None
    component: int | None = None


def _rejoin(pieces: list[str], sep: str, release: str) -> list[str]:
    """Undo splits at separators that were released (preceded by an odd run of releases).

    Linear: the pieces of one value are collected and joined once (adding each to a growing
    string made a run of released separators quadratic, 11 s for 1 MB of ``a?'``).
    """
    out: list[str] = []
    carry: list[str] = []
    for piece in pieces:
        carry.append(piece)
        # the separator is no release character, so a run of releases ends in this piece
        trailing = len(piece) - len(piece.rstrip(release))
        if trailing % 2 == 0:
            out.append(carry[0] if len(carry) == 1 else sep.join(carry))
            carry = []
    if carry:
        out.append(sep.join(carry))
    return out


def _unescape(
    value: str, seps: Separators, faults: list[SyntaxFault], where: tuple[int, str, int, int]
) -> str:
    """Remove release characters; a release not followed by a service character is a fault."""
    rel = seps.release
    if rel not in value:
        return value
    specials = (seps.component, seps.data, seps.terminator, rel)
    out: list[str] = []
    i = 0
    n = len(value)
    while i < n:
        ch = value[i]
        if ch == rel:
            if i + 1 >= n:
                faults.append(SyntaxFault(21, "release character at the end of a value", *where))
                break
            nxt = value[i + 1]
            if nxt not in specials:
                faults.append(
                    SyntaxFault(
                        21,
                        f"release character before {nxt!r}, which is not a service character",
                        *where,
                    )
                )
            out.append(nxt)
            i += 2
            continue
        out.append(ch)
        i += 1
    return "".join(out)


def split_segments(
    text: str, seps: Separators, first_position: int = 1, base_offset: int = 0
) -> tuple[list[RawSegment], Capped[SyntaxFault], str]:
    """Split ``text`` (after any UNA) into segments; never raises.

    Returns the segments, the faults found (bad release characters, bad tags: the first
    :data:`~mappings.edifact.findings.PER_KIND` of each kind, the others counted) and the text
    left after the last segment terminator (non-empty means truncated input). Line breaks after
    a segment terminator are tolerated, as the EANCOM and ISO 9735 practice of "one segment per
    line" needs.
    """
    faults: Capped[SyntaxFault] = Capped(rule_of)
    rel, data, comp = seps.release, seps.data, seps.component
    released = rel in text
    pieces = text.split(seps.terminator)
    if released:
        pieces = _rejoin(pieces, seps.terminator, rel)
    rest = pieces.pop() if pieces else ""
    segments: list[RawSegment] = []
    offset = base_offset
    position = first_position
    # Short segments seen before share their tag and element tuples: a real interchange
    # repeats qualifiers, a flood of bad segments repeats itself (memory stays near the input's).
    shapes: dict[str, tuple[str, tuple[tuple[str, ...], ...]]] = {}
    for piece in pieces:
        length = len(piece) + 1
        stripped = piece.lstrip("\r\n")
        lead = length - 1 - len(stripped)
        shape = shapes.get(stripped)
        if shape is not None:
            tag, elements = shape
        elif released and rel in stripped:
            tag, elements = _split_released(stripped, seps, position, faults)
        else:
            parts = stripped.split(data)
            tag = _VALID_TAGS.get(parts[0], parts[0])
            elements = tuple([tuple(e.split(comp)) if comp in e else (e,) for e in parts[1:]])
            if len(stripped) <= _SHAPE_LENGTH and len(shapes) < _SHAPES:
                shapes[stripped] = (tag, elements)
        if tag not in _VALID_TAGS:
            if len(tag) == 3 and tag.isalnum() and tag.isupper():
                _VALID_TAGS[tag] = tag
            else:
                faults.append(
                    SyntaxFault(12, f"invalid segment tag {tag[:20]!r}", position, tag[:3])
                )
        segments.append(RawSegment(tag, elements, position, offset + lead))
        offset += length
        position += 1
    return segments, faults, rest


_VALID_TAGS: dict[str, str] = {}  # every well-formed tag seen, as one shared string
_SHAPE_LENGTH = 64
_SHAPES = 4096


def _split_released(
    text: str, seps: Separators, position: int, faults: list[SyntaxFault]
) -> tuple[str, tuple[tuple[str, ...], ...]]:
    """Split one segment that contains release characters (the slow, exact path)."""
    raw_elements = _rejoin(text.split(seps.data), seps.data, seps.release)
    tag = raw_elements[0]
    elements: list[tuple[str, ...]] = []
    for e_index, raw in enumerate(raw_elements[1:], start=1):
        comps = _rejoin(raw.split(seps.component), seps.component, seps.release)
        if seps.release in raw:
            comps = [
                _unescape(c, seps, faults, (position, tag, e_index, c_index))
                for c_index, c in enumerate(comps, start=1)
            ]
        elements.append(tuple(comps))
    return tag, tuple(elements)


def _truncated(elements: Sequence[Element]) -> list[Element]:
    """ISO 9735 7.1: drop trailing empty data elements (and empty trailing components)."""
    out = list(elements)
    while out and (out[-1] == "" or (isinstance(out[-1], list) and not any(out[-1]))):
        out.pop()
    return out


def _needs_truncation(elements: Sequence[Element]) -> bool:
    if not elements:
        return False
    last = elements[-1]
    return last == "" or (isinstance(last, list) and not any(last))


def segment(tag: str, *elements: Element | None) -> Segment:
    """A pydifact ``Segment`` with ``None`` as empty and trailing empty elements dropped."""
    clean: list[Element] = []
    for element in elements:
        if element is None:
            clean.append("")
        elif isinstance(element, list):
            clean.append(["" if c is None else c for c in element])
        else:
            clean.append(element)
    return Segment(tag, *_truncated(clean))


class FastSerializer(Serializer):
    """pydifact's serializer with ISO 9735 truncation and a fast path for escaping (see module)."""

    def __init__(self, separators: Separators = DEFAULT_SEPARATORS) -> None:
        super().__init__(separators.characters())
        self.separators = separators
        self._specials = frozenset(
            (separators.component, separators.data, separators.terminator, separators.release)
        )

    def escape(self, string: str | None) -> str:
        """Release every service character (``?`` before ``+ : ' ?``); plain text is copied."""
        if not string:
            return ""
        if self._specials.isdisjoint(string):
            return string
        return str(super().escape(string))

    def serialize(
        self,
        segments: list[Segment],
        with_una_header: bool = True,
        break_lines: bool = False,
    ) -> str:
        """Segments to text, trailing empty data elements truncated (the input is not changed)."""
        clean = [
            seg
            if not _needs_truncation(seg.elements)
            else Segment(seg.tag, *_truncated(seg.elements))
            for seg in segments
        ]
        return str(super().serialize(clean, with_una_header, break_lines))
