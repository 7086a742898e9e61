"""The INVOIC D.96A message structure (UN/EDIFACT directory D.96A, UNSM INVOIC) as data.

``STRUCTURE`` is the branching diagram: ``(tag, min, max, children)`` where a non-empty
``children`` makes the tag the trigger segment of a segment group; UNT closes the UNH level.
Extracted once from the UN/EDIFACT D.96A directory
(as distributed with the Bots grammars); regenerate only for another directory.
"""

from __future__ import annotations

from collections.abc import Sequence

Group = tuple[str, int, int, tuple["Group", ...]]

STRUCTURE: Group = (
    "UNH",
    1,
    1,
    (
        ("BGM", 1, 1, ()),
        ("DTM", 1, 35, ()),
        ("PAI", 0, 1, ()),
        ("ALI", 0, 5, ()),
        ("IMD", 0, 1, ()),
        ("FTX", 0, 10, ()),
        ("RFF", 0, 99, (("DTM", 0, 5, ()),)),
        (
            "NAD",
            0,
            99,
            (
                ("LOC", 0, 25, ()),
                ("FII", 0, 5, ()),
                ("RFF", 0, 9999, (("DTM", 0, 5, ()),)),
                ("DOC", 0, 5, (("DTM", 0, 5, ()),)),
                ("CTA", 0, 5, (("COM", 0, 5, ()),)),
            ),
        ),
        ("TAX", 0, 5, (("MOA", 0, 1, ()), ("LOC", 0, 5, ()))),
        ("CUX", 0, 5, (("DTM", 0, 5, ()),)),
        (
            "PAT",
            0,
            10,
            (
                ("DTM", 0, 5, ()),
                ("PCD", 0, 1, ()),
                ("MOA", 0, 1, ()),
                ("PAI", 0, 1, ()),
                ("FII", 0, 1, ()),
            ),
        ),
        (
            "TDT",
            0,
            10,
            (("LOC", 0, 10, (("DTM", 0, 5, ()),)), ("RFF", 0, 9999, (("DTM", 0, 5, ()),))),
        ),
        ("TOD", 0, 5, (("LOC", 0, 2, ()),)),
        (
            "PAC",
            0,
            1000,
            (
                ("MEA", 0, 5, ()),
                ("PCI", 0, 5, (("RFF", 0, 1, ()), ("DTM", 0, 5, ()), ("GIN", 0, 5, ()))),
            ),
        ),
        (
            "ALC",
            0,
            9999,
            (
                ("ALI", 0, 5, ()),
                ("RFF", 0, 5, (("DTM", 0, 5, ()),)),
                ("QTY", 0, 1, (("RNG", 0, 1, ()),)),
                ("PCD", 0, 1, (("RNG", 0, 1, ()),)),
                ("MOA", 0, 2, (("RNG", 0, 1, ()),)),
                ("RTE", 0, 1, (("RNG", 0, 1, ()),)),
                ("TAX", 0, 5, (("MOA", 0, 1, ()),)),
            ),
        ),
        ("RCS", 0, 100, (("RFF", 0, 5, ()), ("DTM", 0, 5, ()), ("FTX", 0, 5, ()))),
        ("AJT", 0, 1, (("FTX", 0, 5, ()),)),
        ("INP", 0, 1, (("FTX", 0, 5, ()),)),
        (
            "LIN",
            0,
            9999999,
            (
                ("PIA", 0, 25, ()),
                ("IMD", 0, 10, ()),
                ("MEA", 0, 5, ()),
                ("QTY", 0, 5, ()),
                ("PCD", 0, 1, ()),
                ("ALI", 0, 5, ()),
                ("DTM", 0, 35, ()),
                ("GIN", 0, 1000, ()),
                ("GIR", 0, 1000, ()),
                ("QVR", 0, 1, ()),
                ("EQD", 0, 1, ()),
                ("FTX", 0, 5, ()),
                ("MOA", 0, 5, (("CUX", 0, 1, ()),)),
                ("PAT", 0, 10, (("DTM", 0, 5, ()), ("PCD", 0, 1, ()), ("MOA", 0, 1, ()))),
                ("PRI", 0, 25, (("APR", 0, 1, ()), ("RNG", 0, 1, ()), ("DTM", 0, 5, ()))),
                ("RFF", 0, 10, (("DTM", 0, 5, ()),)),
                (
                    "PAC",
                    0,
                    10,
                    (
                        ("MEA", 0, 10, ()),
                        ("PCI", 0, 10, (("RFF", 0, 1, ()), ("DTM", 0, 5, ()), ("GIN", 0, 10, ()))),
                    ),
                ),
                ("LOC", 0, 9999, (("QTY", 0, 100, ()), ("DTM", 0, 5, ()))),
                ("TAX", 0, 99, (("MOA", 0, 1, ()), ("LOC", 0, 5, ()))),
                (
                    "NAD",
                    0,
                    20,
                    (
                        ("LOC", 0, 5, ()),
                        ("RFF", 0, 5, (("DTM", 0, 5, ()),)),
                        ("DOC", 0, 5, (("DTM", 0, 5, ()),)),
                        ("CTA", 0, 5, (("COM", 0, 5, ()),)),
                    ),
                ),
                (
                    "ALC",
                    0,
                    15,
                    (
                        ("ALI", 0, 5, ()),
                        ("DTM", 0, 5, ()),
                        ("QTY", 0, 1, (("RNG", 0, 1, ()),)),
                        ("PCD", 0, 1, (("RNG", 0, 1, ()),)),
                        ("MOA", 0, 2, (("RNG", 0, 1, ()),)),
                        ("RTE", 0, 1, (("RNG", 0, 1, ()),)),
                        ("TAX", 0, 5, (("MOA", 0, 1, ()),)),
                    ),
                ),
                ("TDT", 0, 10, (("LOC", 0, 10, (("DTM", 0, 5, ()),)),)),
                ("TOD", 0, 5, (("LOC", 0, 2, ()),)),
                ("RCS", 0, 100, (("RFF", 0, 5, ()), ("DTM", 0, 5, ()), ("FTX", 0, 5, ()))),
            ),
        ),
        ("UNS", 1, 1, ()),
        ("CNT", 0, 10, ()),
        ("MOA", 1, 100, (("RFF", 0, 1, (("DTM", 0, 5, ()),)),)),
        ("TAX", 0, 10, (("MOA", 0, 2, ()),)),
        ("ALC", 0, 15, (("ALI", 0, 1, ()), ("MOA", 0, 2, ()))),
        ("UNT", 1, 1, ()),
    ),
)


def match(
    segments: Sequence[tuple[str, int]],
) -> list[tuple[str, int, str]]:
    """Match ``(tag, position)`` pairs of one UNH..UNT message against ``STRUCTURE``.

    Returns ``(kind, position, text)`` findings: ``missing`` (a mandatory segment or group is
    absent; position where it was expected), ``repeated`` (more repetitions than allowed) and
    ``unexpected`` (a segment the diagram does not allow at that point). Greedy, as the
    directory's segment groups are unambiguous by their trigger segments.
    """
    findings: list[tuple[str, int, str]] = []
    end = segments[-1][1] + 1 if segments else 1

    def at(pos: int) -> int:
        return segments[pos][1] if pos < len(segments) else end

    def level(entries: tuple[Group, ...], pos: int, path: str) -> int:
        for tag, low, high, children in entries:
            count = 0
            while pos < len(segments) and segments[pos][0] == tag:
                count += 1
                if count > high:
                    kind = "group" if children else "segment"
                    findings.append(
                        ("repeated", at(pos), f"{path}{tag}: more than {high} {kind} repetitions")
                    )
                pos += 1
                if children:
                    pos = level(children, pos, f"{path}{tag}/")
            if count < low:
                what = "group starting with " if children else "segment "
                findings.append(("missing", at(pos), f"{path}{tag}: mandatory {what}{tag} missing"))
        return pos

    pos = level((STRUCTURE,), 0, "")
    if pos < len(segments):
        tag, position = segments[pos]
        findings.append(("unexpected", position, f"segment {tag} not allowed here"))
    return findings
