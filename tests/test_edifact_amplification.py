"""A flood of bad EDIFACT segments costs bounded findings, output and memory (issue 10, item 1).

The reproducer: a 2 MB interchange of bad segments made ``check_interchange`` keep hundreds of
thousands of errors (713 MB) and ``igw validate`` print 142 MB; a run of released segment
terminators made splitting quadratic. Now the first :data:`PER_KIND` findings of each kind are
kept, the rest counted in one summary per kind, and splitting is linear. Speed is measured in
the report, not asserted here (no timed assertions); memory is asserted with tracemalloc.
"""

from __future__ import annotations

import datetime as dt
import subprocess
import sys
import tracemalloc
from collections.abc import Callable
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from gateway.envelope import Envelope
from gateway.errors import ParseError
from gateway.validation.edifact import validate_edifact
from mappings.edifact.contrl import build_contrl
from mappings.edifact.findings import PER_KIND, Capped, rule_of
from mappings.edifact.interchange import check_interchange, read_interchange
from mappings.edifact.syntax import RawSegment, _rejoin

ROOT = Path(__file__).resolve().parent.parent
SIZE = 2_000_000
MEMORY_LIMIT = 100_000_000  # bytes of Python allocations at the peak, for 2 MB of input
OUTPUT_LIMIT = 64_000  # bytes of igw validate output

HEAD = (
    b"UNB+UNOC:3+4012345000016:14+4000001000005:14+261002:1030+IC1'"
    b"UNH+1+INVOIC:D:96A:UN:EAN008'BGM+380+1+9'DTM+137:20261002:102'"
)
TAIL = b"UNT+4+1'UNZ+1+IC1'"
# one bad segment each, repeated to 2 MB; the rule id each one raises
FLOODS = {
    "invalid tags": (b"x1+a'", "EDI-TAG"),
    "bad release characters": (b"FTX+AAI+++a?b'", "EDI-RELEASE"),
    "segments outside a message": (b"FTX+AAI'UNT+2+1'", "EDI-OUTSIDE"),
    "messages without UNT": (b"UNH+1+INVOIC:D:96A:UN:EAN008'", "EDI-UNH"),
}


def flood(unit: bytes, size: int = SIZE) -> bytes:
    """An interchange of ``size`` bytes: a sound head, ``unit`` repeated, a sound tail."""
    return HEAD + unit * (size // len(unit)) + TAIL


def _peak(call: Callable[[], object]) -> int:
    tracemalloc.start()
    try:
        call()
        return tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()


@pytest.mark.parametrize(("unit", "rule"), FLOODS.values(), ids=FLOODS.keys())
def test_check_interchange_keeps_at_most_20_per_kind_and_counts_the_rest(
    unit: bytes, rule: str
) -> None:
    """2 MB of one bad segment: a bounded error list ending in '... and N more' for that kind."""
    errors = check_interchange(flood(unit))
    kinds = {rule_of(e) for e in errors}
    assert len(errors) <= len(kinds) * (PER_KIND + 1)
    summaries = [e for e in errors if e.omitted]
    (summary,) = [e for e in summaries if rule_of(e) == rule]
    listed = sum(1 for e in errors if rule_of(e) == rule and not e.omitted)
    assert listed == PER_KIND
    assert summary.omitted > 50_000
    assert f"... and {summary.omitted:,} more {rule} findings" in summary.message
    assert errors[-len(summaries) :] == summaries  # the summaries end the list


@pytest.mark.parametrize(
    "unit",
    [b"x1+a'", b"FTX+AAI+++a?b'", b"FTX+AAI'UNT+2+1'", b"FTX+AAI+a?'"],
    ids=["invalid tags", "bad releases", "outside", "released terminators"],
)
def test_check_interchange_of_2_mb_of_bad_segments_stays_under_100_mb(unit: bytes) -> None:
    """Peak Python memory (tracemalloc) of checking a 2 MB flood stays under 100 MB."""
    data = flood(unit)
    assert _peak(lambda: check_interchange(data)) < MEMORY_LIMIT


def test_a_run_of_released_terminators_is_one_segment_read_in_one_pass() -> None:
    """1 MB of ``a?'`` (every terminator released) is one FTX segment with the text intact."""
    data = HEAD + b"FTX+AAI+" + b"a?'" * 300_000 + b"'" + TAIL
    errors = check_interchange(data)
    assert [e.code for e in errors] == [29]  # only the UNT count: the body is one segment
    message = read_messages(data)
    (ftx,) = [s for s in message if s.tag == "FTX"]
    assert ftx.get(1) == "a'" * 300_000


def read_messages(data: bytes) -> list[RawSegment]:
    """Every segment of the interchange's first message."""
    from mappings.edifact.interchange import read_messages_for_validation

    _, messages, _ = read_messages_for_validation(data)
    return list(messages[0])


def test_read_interchange_names_the_first_error_and_counts_all_the_others() -> None:
    """The ParseError of a flood names the first error and the true number of the others."""
    data = flood(b"x1+a'", 100_000)
    with pytest.raises(ParseError) as caught:
        read_interchange(data)
    total = 100_000 // len(b"x1+a'")  # one invalid tag per segment, plus the UNT count
    assert f"(and {total:,} more)" in str(caught.value)


def test_a_few_errors_are_all_listed_without_a_summary() -> None:
    """Below the cap nothing changes: 20 bad tags are 20 errors, no summary."""
    errors = check_interchange(HEAD + b"x1+a'" * PER_KIND + TAIL)
    assert sum(rule_of(e) == "EDI-TAG" for e in errors) == PER_KIND
    assert not any(e.omitted for e in errors)


def test_validate_edifact_bounds_structure_findings_of_a_repeated_segment() -> None:
    """166,000 FTX (10 allowed): 20 EDI-STRUCT findings, one summary, a note with the count."""
    report = validate_edifact(flood(b"FTX+AAI+++x'"), "ftx.edi")
    struct = [p for p in report.findings if p.rule == "EDI-STRUCT"]
    assert len(struct) == PER_KIND + 1
    assert "more EDI-STRUCT findings" in struct[-1].message
    assert len(report.findings) < 100
    assert any("counted, not listed" in note for note in report.notes)


def test_validate_edifact_of_a_flood_stays_under_100_mb() -> None:
    """Peak Python memory of validating a 2 MB flood of invalid tags stays under 100 MB."""
    data = flood(b"x1+a'")
    assert _peak(lambda: validate_edifact(data, "flood.edi")) < MEMORY_LIMIT


def test_a_contrl_for_a_flood_stays_small() -> None:
    """The CONTRL rejecting a 2 MB flood reports the kept errors only: a few kilobytes."""
    envelope = Envelope("C0001", dt.datetime(2025, 3, 23, 9, 30))
    contrl = build_contrl(
        flood(b"x1+a'"), our_id="4000001000005", our_qualifier="14", envelope=envelope
    )
    assert b"UCI+IC1" in contrl
    assert len(contrl) < 10_000


@pytest.mark.parametrize(("unit", "rule"), FLOODS.values(), ids=FLOODS.keys())
def test_igw_validate_of_a_2_mb_flood_prints_a_bounded_report(
    unit: bytes, rule: str, tmp_path: Path
) -> None:
    """igw validate: FAIL, at most 64 KB of output with the count of what is not listed."""
    path = tmp_path / "flood.edi"
    path.write_bytes(flood(unit))
    result = subprocess.run(
        [sys.executable, "-m", "gateway.cli.main", "validate", str(path)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    assert result.returncode == 1
    assert "Traceback" not in result.stderr
    assert len(result.stdout.encode()) < OUTPUT_LIMIT
    assert f"more {rule} findings" in result.stdout
    assert "counted, not listed" in result.stdout


def _rejoin_reference(pieces: list[str], sep: str, release: str) -> list[str]:
    """The former (quadratic) _rejoin, the reference for the linear one."""
    out: list[str] = []
    carry: str | None = None
    for piece in pieces:
        text = piece if carry is None else carry + sep + piece
        if (len(text) - len(text.rstrip(release))) % 2 == 1:
            carry = text
        else:
            out.append(text)
            carry = None
    if carry is not None:
        out.append(carry)
    return out


@given(st.text(alphabet="a?'+", max_size=60))
def test_linear_rejoin_splits_exactly_as_before(text: str) -> None:
    """The linear _rejoin gives the former result for any text of letters, releases and seps."""
    pieces = text.split("'")
    assert _rejoin(pieces, "'", "?") == _rejoin_reference(pieces, "'", "?")


def test_capped_list_counts_what_it_leaves_out_per_kind() -> None:
    """Capped keeps the first N of each kind and remembers the first one left out."""
    capped: Capped[tuple[str, int]] = Capped(lambda item: item[0], per_kind=2)
    capped.extend([("a", 1), ("a", 2), ("b", 3), ("a", 4), ("a", 5)])
    assert list(capped) == [("a", 1), ("a", 2), ("b", 3)]
    assert capped.omitted == {"a": 2}
    assert capped.first_omitted == {"a": ("a", 4)}
    assert capped.total == 5
