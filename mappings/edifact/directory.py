"""The D.96A segment directory for the segments of INVOIC: data elements, status, length, type.

``SEGMENTS[tag]`` lists the segment's data elements in order as ``(id, mandatory, max_length,
numeric, components)``; a composite has ``max_length`` 0 and its components as
``(id, mandatory, max_length, numeric)``. Extracted once from the UN/EDIFACT D.96A directory (as
distributed with the Bots grammars). :func:`check_segment` applies it to one read segment.
"""

from __future__ import annotations

import re

from mappings.edifact.syntax import RawSegment

Component = tuple[str, bool, int, bool]
Field = tuple[str, bool, int, bool, tuple[Component, ...]]

SEGMENTS: dict[str, tuple[Field, ...]] = {
    "AJT": (("4465", True, 3, False, ()), ("1082", False, 6, True, ())),
    "ALC": (
        ("5463", True, 3, False, ()),
        ("C552", False, 0, False, (("1230", False, 35, False), ("5189", False, 3, False))),
        ("4471", False, 3, False, ()),
        ("1227", False, 3, False, ()),
        (
            "C214",
            False,
            0,
            False,
            (
                ("7161", False, 3, False),
                ("1131", False, 3, False),
                ("3055", False, 3, False),
                ("7160#1", False, 35, False),
                ("7160#2", False, 35, False),
            ),
        ),
    ),
    "ALI": (
        ("3239", False, 3, False, ()),
        ("9213", False, 3, False, ()),
        ("4183#1", False, 3, False, ()),
        ("4183#2", False, 3, False, ()),
        ("4183#3", False, 3, False, ()),
        ("4183#4", False, 3, False, ()),
        ("4183#5", False, 3, False, ()),
    ),
    "APR": (
        ("4043", False, 3, False, ()),
        ("C138", False, 0, False, (("5394", True, 12, True), ("5393", False, 3, False))),
        (
            "C960",
            False,
            0,
            False,
            (
                ("4295", False, 3, False),
                ("1131", False, 3, False),
                ("3055", False, 3, False),
                ("4294", False, 35, False),
            ),
        ),
    ),
    "BGM": (
        (
            "C002",
            False,
            0,
            False,
            (
                ("1001", False, 3, False),
                ("1131", False, 3, False),
                ("3055", False, 3, False),
                ("1000", False, 35, False),
            ),
        ),
        ("1004", False, 35, False, ()),
        ("1225", False, 3, False, ()),
        ("4343", False, 3, False, ()),
    ),
    "CNT": (
        (
            "C270",
            True,
            0,
            False,
            (("6069", True, 3, False), ("6066", True, 18, True), ("6411", False, 3, False)),
        ),
    ),
    "COM": (("C076", True, 0, False, (("3148", True, 512, False), ("3155", True, 3, False))),),
    "CTA": (
        ("3139", False, 3, False, ()),
        ("C056", False, 0, False, (("3413", False, 17, False), ("3412", False, 35, False))),
    ),
    "CUX": (
        (
            "C504#1",
            False,
            0,
            False,
            (
                ("6347", True, 3, False),
                ("6345", False, 3, False),
                ("6343", False, 3, False),
                ("6348", False, 4, True),
            ),
        ),
        (
            "C504#2",
            False,
            0,
            False,
            (
                ("6347", True, 3, False),
                ("6345", False, 3, False),
                ("6343", False, 3, False),
                ("6348", False, 4, True),
            ),
        ),
        ("5402", False, 12, True, ()),
        ("6341", False, 3, False, ()),
    ),
    "DOC": (
        (
            "C002",
            True,
            0,
            False,
            (
                ("1001", False, 3, False),
                ("1131", False, 3, False),
                ("3055", False, 3, False),
                ("1000", False, 35, False),
            ),
        ),
        (
            "C503",
            False,
            0,
            False,
            (
                ("1004", False, 35, False),
                ("1373", False, 3, False),
                ("1366", False, 35, False),
                ("3453", False, 3, False),
            ),
        ),
        ("3153", False, 3, False, ()),
        ("1220", False, 2, True, ()),
        ("1218", False, 2, True, ()),
    ),
    "DTM": (
        (
            "C507",
            True,
            0,
            False,
            (("2005", True, 3, False), ("2380", False, 35, False), ("2379", False, 3, False)),
        ),
    ),
    "EQD": (
        ("8053", True, 3, False, ()),
        (
            "C237",
            False,
            0,
            False,
            (
                ("8260", False, 17, False),
                ("1131", False, 3, False),
                ("3055", False, 3, False),
                ("3207", False, 3, False),
            ),
        ),
        (
            "C224",
            False,
            0,
            False,
            (
                ("8155", False, 10, False),
                ("1131", False, 3, False),
                ("3055", False, 3, False),
                ("8154", False, 35, False),
            ),
        ),
        ("8077", False, 3, False, ()),
        ("8249", False, 3, False, ()),
        ("8169", False, 3, False, ()),
    ),
    "FII": (
        ("3035", True, 3, False, ()),
        (
            "C078",
            False,
            0,
            False,
            (
                ("3194", False, 35, False),
                ("3192#1", False, 35, False),
                ("3192#2", False, 35, False),
                ("6345", False, 3, False),
            ),
        ),
        (
            "C088",
            False,
            0,
            False,
            (
                ("3433", False, 11, False),
                ("1131#1", False, 3, False),
                ("3055#1", False, 3, False),
                ("3434", False, 17, False),
                ("1131#2", False, 3, False),
                ("3055#2", False, 3, False),
                ("3432", False, 70, False),
                ("3436", False, 70, False),
            ),
        ),
        ("3207", False, 3, False, ()),
    ),
    "FTX": (
        ("4451", True, 3, False, ()),
        ("4453", False, 3, False, ()),
        (
            "C107",
            False,
            0,
            False,
            (("4441", True, 3, False), ("1131", False, 3, False), ("3055", False, 3, False)),
        ),
        (
            "C108",
            False,
            0,
            False,
            (
                ("4440#1", True, 70, False),
                ("4440#2", False, 70, False),
                ("4440#3", False, 70, False),
                ("4440#4", False, 70, False),
                ("4440#5", False, 70, False),
            ),
        ),
        ("3453", False, 3, False, ()),
    ),
    "GIN": (
        ("7405", True, 3, False, ()),
        ("C208#1", True, 0, False, (("7402#1", True, 35, False), ("7402#2", False, 35, False))),
        ("C208#2", False, 0, False, (("7402#1", True, 35, False), ("7402#2", False, 35, False))),
        ("C208#3", False, 0, False, (("7402#1", True, 35, False), ("7402#2", False, 35, False))),
        ("C208#4", False, 0, False, (("7402#1", True, 35, False), ("7402#2", False, 35, False))),
        ("C208#5", False, 0, False, (("7402#1", True, 35, False), ("7402#2", False, 35, False))),
    ),
    "GIR": (
        ("7297", True, 3, False, ()),
        (
            "C206#1",
            True,
            0,
            False,
            (("7402", True, 35, False), ("7405", False, 3, False), ("4405", False, 3, False)),
        ),
        (
            "C206#2",
            False,
            0,
            False,
            (("7402", True, 35, False), ("7405", False, 3, False), ("4405", False, 3, False)),
        ),
        (
            "C206#3",
            False,
            0,
            False,
            (("7402", True, 35, False), ("7405", False, 3, False), ("4405", False, 3, False)),
        ),
        (
            "C206#4",
            False,
            0,
            False,
            (("7402", True, 35, False), ("7405", False, 3, False), ("4405", False, 3, False)),
        ),
        (
            "C206#5",
            False,
            0,
            False,
            (("7402", True, 35, False), ("7405", False, 3, False), ("4405", False, 3, False)),
        ),
    ),
    "IMD": (
        ("7077", False, 3, False, ()),
        ("7081", False, 3, False, ()),
        (
            "C273",
            False,
            0,
            False,
            (
                ("7009", False, 17, False),
                ("1131", False, 3, False),
                ("3055", False, 3, False),
                ("7008#1", False, 35, False),
                ("7008#2", False, 35, False),
                ("3453", False, 3, False),
            ),
        ),
        ("7383", False, 3, False, ()),
    ),
    "INP": (
        ("C849", False, 0, False, (("3301", True, 17, False), ("3285", False, 17, False))),
        (
            "C522",
            False,
            0,
            False,
            (
                ("4403", True, 3, False),
                ("4401", False, 3, False),
                ("1131", False, 3, False),
                ("3055", False, 3, False),
                ("4400", False, 35, False),
            ),
        ),
        ("C850", False, 0, False, (("4405", True, 3, False), ("3036", False, 35, False))),
        ("1229", False, 3, False, ()),
    ),
    "LIN": (
        ("1082", False, 6, True, ()),
        ("1229", False, 3, False, ()),
        (
            "C212",
            False,
            0,
            False,
            (
                ("7140", False, 35, False),
                ("7143", False, 3, False),
                ("1131", False, 3, False),
                ("3055", False, 3, False),
            ),
        ),
        ("C829", False, 0, False, (("5495", False, 3, False), ("1082", False, 6, True))),
        ("1222", False, 2, True, ()),
        ("7083", False, 3, False, ()),
    ),
    "LOC": (
        ("3227", True, 3, False, ()),
        (
            "C517",
            False,
            0,
            False,
            (
                ("3225", False, 25, False),
                ("1131", False, 3, False),
                ("3055", False, 3, False),
                ("3224", False, 70, False),
            ),
        ),
        (
            "C519",
            False,
            0,
            False,
            (
                ("3223", False, 25, False),
                ("1131", False, 3, False),
                ("3055", False, 3, False),
                ("3222", False, 70, False),
            ),
        ),
        (
            "C553",
            False,
            0,
            False,
            (
                ("3233", False, 25, False),
                ("1131", False, 3, False),
                ("3055", False, 3, False),
                ("3232", False, 70, False),
            ),
        ),
        ("5479", False, 3, False, ()),
    ),
    "MEA": (
        ("6311", True, 3, False, ()),
        (
            "C502",
            False,
            0,
            False,
            (
                ("6313", False, 3, False),
                ("6321", False, 3, False),
                ("6155", False, 3, False),
                ("6154", False, 70, False),
            ),
        ),
        (
            "C174",
            False,
            0,
            False,
            (
                ("6411", True, 3, False),
                ("6314", False, 18, True),
                ("6162", False, 18, True),
                ("6152", False, 18, True),
                ("6432", False, 2, True),
            ),
        ),
        ("7383", False, 3, False, ()),
    ),
    "MOA": (
        (
            "C516",
            True,
            0,
            False,
            (
                ("5025", True, 3, False),
                ("5004", False, 18, True),
                ("6345", False, 3, False),
                ("6343", False, 3, False),
                ("4405", False, 3, False),
            ),
        ),
    ),
    "NAD": (
        ("3035", True, 3, False, ()),
        (
            "C082",
            False,
            0,
            False,
            (("3039", True, 35, False), ("1131", False, 3, False), ("3055", False, 3, False)),
        ),
        (
            "C058",
            False,
            0,
            False,
            (
                ("3124#1", True, 35, False),
                ("3124#2", False, 35, False),
                ("3124#3", False, 35, False),
                ("3124#4", False, 35, False),
                ("3124#5", False, 35, False),
            ),
        ),
        (
            "C080",
            False,
            0,
            False,
            (
                ("3036#1", True, 35, False),
                ("3036#2", False, 35, False),
                ("3036#3", False, 35, False),
                ("3036#4", False, 35, False),
                ("3036#5", False, 35, False),
                ("3045", False, 3, False),
            ),
        ),
        (
            "C059",
            False,
            0,
            False,
            (
                ("3042#1", True, 35, False),
                ("3042#2", False, 35, False),
                ("3042#3", False, 35, False),
                ("3042#4", False, 35, False),
            ),
        ),
        ("3164", False, 35, False, ()),
        ("3229", False, 9, False, ()),
        ("3251", False, 9, False, ()),
        ("3207", False, 3, False, ()),
    ),
    "PAC": (
        ("7224", False, 8, True, ()),
        (
            "C531",
            False,
            0,
            False,
            (("7075", False, 3, False), ("7233", False, 3, False), ("7073", False, 3, False)),
        ),
        (
            "C202",
            False,
            0,
            False,
            (
                ("7065", False, 17, False),
                ("1131", False, 3, False),
                ("3055", False, 3, False),
                ("7064", False, 35, False),
            ),
        ),
        (
            "C402",
            False,
            0,
            False,
            (
                ("7077", True, 3, False),
                ("7064#1", True, 35, False),
                ("7143#1", False, 3, False),
                ("7064#2", False, 35, False),
                ("7143#2", False, 3, False),
            ),
        ),
        ("C532", False, 0, False, (("8395", False, 3, False), ("8393", False, 3, False))),
    ),
    "PAI": (
        (
            "C534",
            True,
            0,
            False,
            (
                ("4439", False, 3, False),
                ("4431", False, 3, False),
                ("4461", False, 3, False),
                ("1131", False, 3, False),
                ("3055", False, 3, False),
                ("4435", False, 3, False),
            ),
        ),
    ),
    "PAT": (
        ("4279", True, 3, False, ()),
        (
            "C110",
            False,
            0,
            False,
            (
                ("4277", True, 17, False),
                ("1131", False, 3, False),
                ("3055", False, 3, False),
                ("4276#1", False, 35, False),
                ("4276#2", False, 35, False),
            ),
        ),
        (
            "C112",
            False,
            0,
            False,
            (
                ("2475", True, 3, False),
                ("2009", False, 3, False),
                ("2151", False, 3, False),
                ("2152", False, 3, True),
            ),
        ),
    ),
    "PCD": (
        (
            "C501",
            True,
            0,
            False,
            (
                ("5245", True, 3, False),
                ("5482", False, 10, True),
                ("5249", False, 3, False),
                ("1131", False, 3, False),
                ("3055", False, 3, False),
            ),
        ),
    ),
    "PCI": (
        ("4233", False, 3, False, ()),
        (
            "C210",
            False,
            0,
            False,
            (
                ("7102#1", True, 35, False),
                ("7102#2", False, 35, False),
                ("7102#3", False, 35, False),
                ("7102#4", False, 35, False),
                ("7102#5", False, 35, False),
                ("7102#6", False, 35, False),
                ("7102#7", False, 35, False),
                ("7102#8", False, 35, False),
                ("7102#9", False, 35, False),
                ("7102#10", False, 35, False),
            ),
        ),
        ("8275", False, 3, False, ()),
        (
            "C827",
            False,
            0,
            False,
            (("7511", True, 3, False), ("1131", False, 3, False), ("3055", False, 3, False)),
        ),
    ),
    "PIA": (
        ("4347", True, 3, False, ()),
        (
            "C212#1",
            True,
            0,
            False,
            (
                ("7140", False, 35, False),
                ("7143", False, 3, False),
                ("1131", False, 3, False),
                ("3055", False, 3, False),
            ),
        ),
        (
            "C212#2",
            False,
            0,
            False,
            (
                ("7140", False, 35, False),
                ("7143", False, 3, False),
                ("1131", False, 3, False),
                ("3055", False, 3, False),
            ),
        ),
        (
            "C212#3",
            False,
            0,
            False,
            (
                ("7140", False, 35, False),
                ("7143", False, 3, False),
                ("1131", False, 3, False),
                ("3055", False, 3, False),
            ),
        ),
        (
            "C212#4",
            False,
            0,
            False,
            (
                ("7140", False, 35, False),
                ("7143", False, 3, False),
                ("1131", False, 3, False),
                ("3055", False, 3, False),
            ),
        ),
        (
            "C212#5",
            False,
            0,
            False,
            (
                ("7140", False, 35, False),
                ("7143", False, 3, False),
                ("1131", False, 3, False),
                ("3055", False, 3, False),
            ),
        ),
    ),
    "PRI": (
        (
            "C509",
            False,
            0,
            False,
            (
                ("5125", True, 3, False),
                ("5118", False, 15, True),
                ("5375", False, 3, False),
                ("5387", False, 3, False),
                ("5284", False, 9, True),
                ("6411", False, 3, False),
            ),
        ),
        ("5213", False, 3, False, ()),
    ),
    "QTY": (
        (
            "C186",
            True,
            0,
            False,
            (("6063", True, 3, False), ("6060", True, 15, True), ("6411", False, 3, False)),
        ),
    ),
    "QVR": (
        ("C279", False, 0, False, (("6064", True, 15, True), ("6063", False, 3, False))),
        ("4221", False, 3, False, ()),
        (
            "C960",
            False,
            0,
            False,
            (
                ("4295", False, 3, False),
                ("1131", False, 3, False),
                ("3055", False, 3, False),
                ("4294", False, 35, False),
            ),
        ),
    ),
    "RCS": (
        ("7293", True, 3, False, ()),
        (
            "C550",
            False,
            0,
            False,
            (
                ("7295", True, 17, False),
                ("1131", False, 3, False),
                ("3055", False, 3, False),
                ("7294", False, 35, False),
            ),
        ),
        ("1229", False, 3, False, ()),
    ),
    "RFF": (
        (
            "C506",
            True,
            0,
            False,
            (
                ("1153", True, 3, False),
                ("1154", False, 35, False),
                ("1156", False, 6, False),
                ("4000", False, 35, False),
            ),
        ),
    ),
    "RNG": (
        ("6167", True, 3, False, ()),
        (
            "C280",
            False,
            0,
            False,
            (("6411", True, 3, False), ("6162", False, 18, True), ("6152", False, 18, True)),
        ),
    ),
    "RTE": (
        (
            "C128",
            True,
            0,
            False,
            (
                ("5419", True, 3, False),
                ("5420", True, 15, True),
                ("5284", False, 9, True),
                ("6411", False, 3, False),
            ),
        ),
    ),
    "TAX": (
        ("5283", True, 3, False, ()),
        (
            "C241",
            False,
            0,
            False,
            (
                ("5153", False, 3, False),
                ("1131", False, 3, False),
                ("3055", False, 3, False),
                ("5152", False, 35, False),
            ),
        ),
        (
            "C533",
            False,
            0,
            False,
            (("5289", True, 6, False), ("1131", False, 3, False), ("3055", False, 3, False)),
        ),
        ("5286", False, 15, False, ()),
        (
            "C243",
            False,
            0,
            False,
            (
                ("5279", False, 7, False),
                ("1131#1", False, 3, False),
                ("3055#1", False, 3, False),
                ("5278", False, 17, False),
                ("5273", False, 12, False),
                ("1131#2", False, 3, False),
                ("3055#2", False, 3, False),
            ),
        ),
        ("5305", False, 3, False, ()),
        ("3446", False, 20, False, ()),
    ),
    "TDT": (
        ("8051", True, 3, False, ()),
        ("8028", False, 17, False, ()),
        ("C220", False, 0, False, (("8067", False, 3, False), ("8066", False, 17, False))),
        ("C228", False, 0, False, (("8179", False, 8, False), ("8178", False, 17, False))),
        (
            "C040",
            False,
            0,
            False,
            (
                ("3127", False, 17, False),
                ("1131", False, 3, False),
                ("3055", False, 3, False),
                ("3128", False, 35, False),
            ),
        ),
        ("8101", False, 3, False, ()),
        (
            "C401",
            False,
            0,
            False,
            (("8457", True, 3, False), ("8459", True, 3, False), ("7130", False, 17, False)),
        ),
        (
            "C222",
            False,
            0,
            False,
            (
                ("8213", False, 9, False),
                ("1131", False, 3, False),
                ("3055", False, 3, False),
                ("8212", False, 35, False),
                ("8453", False, 3, False),
            ),
        ),
        ("8281", False, 3, False, ()),
    ),
    "TOD": (
        ("4055", False, 3, False, ()),
        ("4215", False, 3, False, ()),
        (
            "C100",
            False,
            0,
            False,
            (
                ("4053", False, 3, False),
                ("1131", False, 3, False),
                ("3055", False, 3, False),
                ("4052#1", False, 70, False),
                ("4052#2", False, 70, False),
            ),
        ),
    ),
    "UNH": (
        ("0062", True, 14, False, ()),
        (
            "S009",
            True,
            0,
            False,
            (
                ("0065", True, 6, False),
                ("0052", True, 3, False),
                ("0054", True, 3, False),
                ("0051", True, 2, False),
                ("0057", False, 6, False),
                ("0110", False, 6, False),
                ("0113", False, 6, False),
            ),
        ),
        ("0068", False, 35, False, ()),
        ("S010", False, 0, False, (("0070", True, 2, True), ("0073", False, 1, False))),
        (
            "S016",
            False,
            0,
            False,
            (
                ("0115", True, 14, False),
                ("0116", False, 3, False),
                ("0118", False, 3, False),
                ("0051", False, 3, False),
            ),
        ),
        (
            "S017",
            False,
            0,
            False,
            (
                ("0121", True, 14, False),
                ("0122", False, 3, False),
                ("0124", False, 3, False),
                ("0051", False, 3, False),
            ),
        ),
        (
            "S018",
            False,
            0,
            False,
            (
                ("0127", True, 14, False),
                ("0128", False, 3, False),
                ("0130", False, 3, False),
                ("0051", False, 3, False),
            ),
        ),
    ),
    "UNS": (("0081", True, 1, False, ()),),
    "UNT": (("0074", True, 6, True, ()), ("0062", True, 14, False, ())),
}

_NUMBER = re.compile(r"-?\d*[.,]?\d*")


def _value(
    value: str, spec: Component, where: tuple[int, int | None], decimal: str
) -> list[tuple[str, int, int | None, str]]:
    name, mandatory, size, numeric = spec
    if not value:
        return (
            [("EDI-MANDATORY", *where, f"mandatory data element {name} missing")]
            if mandatory
            else []
        )
    if numeric:
        if not _NUMBER.fullmatch(value) or not any(ch.isdigit() for ch in value):
            return [("EDI-NUMERIC", *where, f"data element {name} value {value!r} is not numeric")]
        other = "," if decimal == "." else "."
        if other in value:
            return [
                (
                    "EDI-DECIMAL",
                    *where,
                    f"data element {name} uses {other!r}, not the UNA decimal mark {decimal!r}",
                )
            ]
        length = sum(ch.isdigit() for ch in value)
    else:
        length = len(value)
    if size and length > size:
        return [
            ("EDI-LENGTH", *where, f"data element {name} has {length} characters, at most {size}")
        ]
    return []


def check_segment(seg: RawSegment, decimal: str = ".") -> list[tuple[str, int, int | None, str]]:
    """``(rule, element, component, text)`` for each directory violation of ``seg``.

    Rules: EDI-SEGMENT (tag not in the directory), EDI-ELEMENTS (too many data elements),
    EDI-COMPONENTS (too many components), EDI-MANDATORY, EDI-NUMERIC, EDI-DECIMAL (warning
    level: the other decimal mark), EDI-LENGTH. Element and component are 1-based (0: the tag).
    """
    fields = SEGMENTS.get(seg.tag)
    if fields is None:
        return [("EDI-SEGMENT", 0, None, f"segment {seg.tag} is not in the D.96A directory")]
    found: list[tuple[str, int, int | None, str]] = []
    if len(seg.elements) > len(fields):
        found.append(
            (
                "EDI-ELEMENTS",
                len(fields) + 1,
                None,
                f"{len(seg.elements)} data elements, at most {len(fields)}",
            )
        )
    for index, (name, mandatory, size, numeric, components) in enumerate(fields, start=1):
        value = seg.elements[index - 1] if index <= len(seg.elements) else ()
        if not components:
            if len(value) > 1:
                found.append(
                    ("EDI-COMPONENTS", index, 2, f"simple data element {name} has components")
                )
            found.extend(
                _value(
                    value[0] if value else "",
                    (name, mandatory, size, numeric),
                    (index, None),
                    decimal,
                )
            )
            continue
        if not any(value):
            if mandatory:
                found.append(("EDI-MANDATORY", index, None, f"mandatory composite {name} missing"))
            continue
        if len(value) > len(components):
            found.append(
                (
                    "EDI-COMPONENTS",
                    index,
                    len(components) + 1,
                    f"composite {name} has {len(value)} components, at most {len(components)}",
                )
            )
        for c_index, spec in enumerate(components, start=1):
            part = value[c_index - 1] if c_index <= len(value) else ""
            found.extend(_value(part, spec, (index, c_index), decimal))
    return found
