"""A CLI that does not surprise (issue 10, item 6): each reproducer of a first-try surprise,
run as a user runs ``igw`` (a subprocess), asserting the exit code, the one-line message and
that no command prints a traceback."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
EXAMPLES = ROOT / "examples"
BUYERS = ROOT / "config" / "buyers"
REFUSED_PG = "postgresql://igw:s3cret@127.0.0.1:1/gateway"  # port 1: connection refused


def igw(*args: str, cwd: Path = ROOT) -> subprocess.CompletedProcess[str]:
    """Run ``igw`` as a user does; every call asserts that nothing printed a traceback."""
    result = subprocess.run(
        [sys.executable, "-m", "gateway.cli.main", *args],
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    assert "Traceback" not in result.stderr + result.stdout, result.stderr[-3000:]
    return result


def lines(text: str) -> list[str]:
    """The non-empty lines of ``text``."""
    return [line for line in text.splitlines() if line.strip()]


def records(tmp_path: Path, name: str, picks: list[int], **changes: object) -> Path:
    """A JSON export of the example records at ``picks`` (the last one changed by ``changes``)."""
    source = json.loads((EXAMPLES / "erp-export.json").read_text(encoding="utf-8"))
    chosen = [dict(source[i]) for i in picks]
    chosen[-1].update(changes)
    path = tmp_path / name
    path.write_text(json.dumps(chosen), encoding="utf-8")
    return path


@pytest.fixture(scope="module")
def documents(tmp_path_factory: pytest.TempPathFactory) -> list[Path]:
    """Two Peppol BIS 3 documents rendered from the example export."""
    out = tmp_path_factory.mktemp("docs")
    export = records(out, "two.json", [0, 1])
    result = igw("translate", str(export), "--to", "peppol-bis3", "--out", str(out), "-q")
    assert result.returncode == 0, result.stderr
    return sorted((out / "peppol-bis3").iterdir())


# -- --store ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "command",
    [["status"], ["timeline", "NB-2026-10001"], ["inbound"], ["resend", "1"], ["cancel", "1"]],
)
def test_commands_on_stored_data_refuse_a_missing_sqlite_path_and_create_nothing(
    tmp_path: Path, command: list[str]
) -> None:
    """A mistyped SQLite path: one line naming the URL, exit 2, no database and no folder made."""
    url = f"sqlite:///{tmp_path}/typo/gateway.db"
    result = igw(*command, "--store", url)
    assert result.returncode == 2, result.stderr
    assert lines(result.stderr) == [
        f"igw: store {url}: no store at {tmp_path}/typo/gateway.db "
        "(this command creates none; check the path)"
    ]
    assert "(no deliveries)" not in result.stdout
    assert not (tmp_path / "typo").exists()


def test_status_refuses_a_sqlite_file_that_is_no_gateway_store(tmp_path: Path) -> None:
    """An existing SQLite file without the gateway's tables is refused, not migrated into one."""
    import sqlite3

    other = tmp_path / "other.db"
    sqlite3.connect(other).close()
    result = igw("status", "--store", f"sqlite:///{other}")
    assert result.returncode == 2
    assert len(lines(result.stderr)) == 1
    assert "holds no gateway tables" in result.stderr


@pytest.mark.parametrize(
    "command",
    [["status"], ["submit", str(EXAMPLES / "erp-export.json"), "--profiles", str(BUYERS)]],
)
def test_an_unknown_store_scheme_is_one_line_and_exit_2(command: list[str]) -> None:
    """``mysql2000://...``: one line naming the URL (password masked) and what is accepted."""
    result = igw(*command, "--store", "mysql2000://igw:s3cret@db/x")
    assert result.returncode == 2, result.stderr
    (line,) = lines(result.stderr)
    assert line.startswith("igw: store mysql2000://igw:***@db/x: unknown or unavailable backend")
    assert "accepted: sqlite:///PATH" in line
    assert "s3cret" not in result.stderr


def test_a_store_url_that_does_not_parse_is_one_line_and_exit_2() -> None:
    """A store URL that is no URL at all is refused in one line, exit 2."""
    result = igw("status", "--store", "gateway.db")
    assert result.returncode == 2
    assert lines(result.stderr) == [
        "igw: store gateway.db: not a store URL; accepted: sqlite:///PATH or "
        "postgresql+psycopg://USER@HOST/DB"
    ]


@pytest.mark.parametrize(
    "command",
    [
        ["status"],
        ["inbound"],
        ["submit", str(EXAMPLES / "erp-export.json"), "--profiles", str(BUYERS)],
        ["run", "--until-empty", "--profiles", str(BUYERS)],
    ],
)
def test_an_unreachable_postgresql_store_is_one_line_with_the_password_masked(
    command: list[str],
) -> None:
    """A refused port: one line naming the URL (password ``***``) and the reason, exit 2."""
    result = igw(*command, "--store", REFUSED_PG)
    assert result.returncode == 2, result.stderr
    (line,) = lines(result.stderr)
    assert line.startswith("igw: store postgresql://igw:***@127.0.0.1:1/gateway: cannot connect:")
    assert "refused" in line.lower()
    assert "s3cret" not in result.stderr


def test_a_sqlite_folder_that_cannot_be_made_is_one_line_not_an_errno(tmp_path: Path) -> None:
    """``--store sqlite:///FILE/x.db`` (a file where the folder would go): one line, exit 2."""
    blocker = tmp_path / "file.txt"
    blocker.write_text("x", encoding="utf-8")
    url = f"sqlite:///{blocker}/x.db"
    result = igw("submit", str(EXAMPLES / "erp-export.json"), "--profiles", str(BUYERS),
                 "--store", url)  # fmt: skip
    assert result.returncode == 2
    assert lines(result.stderr) == [
        f"igw: store {url}: cannot create the folder {blocker}: a file is in the way"
    ]


# -- several inputs ---------------------------------------------------------------------------


def test_translate_processes_every_input_past_a_missing_one(tmp_path: Path) -> None:
    """A missing first file is one line; the next file is translated; summary; exit 1."""
    good = records(tmp_path, "good.json", [0, 1])
    out = tmp_path / "out"
    result = igw("translate", str(tmp_path / "missing.json"), str(good), "--to", "peppol-bis3",
                 "--out", str(out), "--no-validate")  # fmt: skip
    assert result.returncode == 1
    missing = [line for line in lines(result.stderr) if "missing.json" in line]
    assert len(missing) == 1
    assert "cannot read: No such file or directory" in missing[0]
    assert len(list((out / "peppol-bis3").iterdir())) == 2
    assert lines(result.stderr)[-1].startswith("2 records ok, 1 rejected; 2 documents written")


def test_parse_processes_every_input_and_prints_a_summary(
    tmp_path: Path, documents: list[Path]
) -> None:
    """``igw parse a missing b``: a and b parsed (one JSON array), one line for the missing."""
    missing = tmp_path / "missing.xml"
    result = igw("parse", str(documents[0]), str(missing), str(documents[1]))
    assert result.returncode == 1
    assert len(json.loads(result.stdout)) == 2
    assert lines(result.stderr) == [
        f"{missing}: cannot read: No such file or directory",
        "igw parse: 2 parsed, 1 failed",
    ]


def test_validate_processes_every_input_past_a_missing_one(
    tmp_path: Path, documents: list[Path]
) -> None:
    """``igw validate missing good``: the missing one FAILs in the report, the good one PASSes."""
    missing = tmp_path / "missing.xml"
    result = igw("validate", str(missing), str(documents[0]))
    assert result.returncode == 1
    assert f"FAIL {missing}" in result.stdout
    assert f"{missing}: cannot read: No such file or directory" in result.stdout
    assert f"PASS {documents[0]}" in result.stdout
    assert lines(result.stdout)[-1] == "1 passed, 1 failed"


def test_submit_processes_every_input_past_a_missing_one(tmp_path: Path) -> None:
    """``igw submit missing good``: the good records are stored, the missing file reported."""
    good = records(tmp_path, "good.json", [0, 1])
    result = igw("submit", str(tmp_path / "missing.json"), str(good), "--no-validate",
                 "--store", f"sqlite:///{tmp_path}/s.db", "--profiles", str(BUYERS))  # fmt: skip
    assert result.returncode == 1
    assert result.stdout.count(": stored for ") == 2
    assert "missing.json: cannot read: No such file or directory" in result.stderr
    assert lines(result.stderr)[-1].startswith("2 stored, 0 duplicate")


# -- the same invoice number twice ------------------------------------------------------------


def test_a_repeated_invoice_number_is_refused_and_never_overwrites_the_first(
    tmp_path: Path,
) -> None:
    """Record 3 repeats record 1's BT-1: refused naming BT-1, both positions; others written."""
    export = records(tmp_path, "dup.json", [0, 1, 0], issue_date="2026-11-30")
    out = tmp_path / "out"
    result = igw("translate", str(export), "--to", "peppol-bis3", "--out", str(out),
                 "--no-validate")  # fmt: skip
    assert result.returncode == 1
    (line,) = [line for line in lines(result.stderr) if "DUPLICATE" in line]
    assert "(BT-1) = NB-2026-10001" in line
    assert "record 1 has this invoice number already; record 3 is refused" in line
    written = sorted(p.name for p in (out / "peppol-bis3").iterdir())
    assert len(written) == 2
    first = (out / "peppol-bis3" / written[0]).read_text(encoding="utf-8")
    assert "2026-11-30" not in first  # record 1's document, not record 3's
    assert lines(result.stderr)[-1].startswith("2 records ok, 1 rejected")


def test_a_repeated_invoice_number_across_files_names_both_files(tmp_path: Path) -> None:
    """With several inputs the positions name the file: ``record 1 of a.json``."""
    a = records(tmp_path, "a.json", [0])
    b = records(tmp_path, "b.json", [1, 0])
    result = igw("translate", str(a), str(b), "--to", "peppol-bis3", "--out",
                 str(tmp_path / "out"), "--no-validate")  # fmt: skip
    assert result.returncode == 1
    assert f"record 1 of {a} has this invoice number already; record 2 of {b} is refused" in (
        result.stderr
    )


def test_invoice_numbers_that_give_the_same_file_name_are_refused_too(tmp_path: Path) -> None:
    """``A/1`` and ``A_1`` would both be written as ``A_1.<format>.xml``: the second is refused."""
    export = records(tmp_path, "clash.json", [0, 1], number="NB/2026/10001")
    first = json.loads(export.read_text(encoding="utf-8"))
    first[0]["number"] = "NB_2026_10001"
    export.write_text(json.dumps(first), encoding="utf-8")
    out = tmp_path / "out"
    result = igw("translate", str(export), "--to", "peppol-bis3", "--out", str(out),
                 "--no-validate")  # fmt: skip
    assert result.returncode == 1
    assert (
        "record 1 has invoice number 'NB_2026_10001', which gives the same file names; "
        "record 2 is refused"
    ) in result.stderr
    assert [p.name for p in (out / "peppol-bis3").iterdir()] == ["NB_2026_10001.peppol-bis3.xml"]


# -- empty exports ----------------------------------------------------------------------------


@pytest.mark.parametrize("content", ["[]", ""])
def test_translate_of_an_empty_export_exits_1_naming_the_file(tmp_path: Path, content: str) -> None:
    """An export without records (``[]`` or an empty file) is ``no records in FILE``, exit 1."""
    export = tmp_path / "empty.json"
    export.write_text(content, encoding="utf-8")
    result = igw("translate", str(export), "--to", "peppol-bis3", "--out", str(tmp_path / "o"))
    assert result.returncode == 1
    assert f"no records in {export}" in result.stderr


def test_submit_of_an_empty_export_exits_1_naming_the_file(tmp_path: Path) -> None:
    """``igw submit empty.csv`` stores nothing and says ``no records in empty.csv``, exit 1."""
    export = tmp_path / "empty.csv"
    export.write_text("", encoding="utf-8")
    result = igw("submit", str(export), "--store", f"sqlite:///{tmp_path}/s.db",
                 "--profiles", str(BUYERS))  # fmt: skip
    assert result.returncode == 1
    assert f"no records in {export}" in result.stderr


# -- options, folders, output -----------------------------------------------------------------


def test_an_unknown_option_key_is_refused_with_the_known_keys() -> None:
    """``--option sender-id=...``: exit 2, a "did you mean" and the keys each format reads."""
    result = igw("translate", str(EXAMPLES / "erp-export.json"), "--to", "eancom-d96a",
                 "--out", "/nonexistent", "--option", "sender-id=4000001000005")  # fmt: skip
    assert result.returncode == 2
    (line,) = lines(result.stderr)
    assert line.startswith("igw: --option sender-id: no format of this run reads it")
    assert "did you mean 'sender_id'?" in line
    assert "eancom-d96a: sender_id, sender_qualifier, recipient_id" in line


def test_an_option_for_a_format_that_takes_none_is_refused() -> None:
    """UBL reads no options: any ``--option`` is refused, saying so."""
    result = igw("translate", str(EXAMPLES / "erp-export.json"), "--to", "peppol-bis3",
                 "--out", "/nonexistent", "--option", "shared_secret=x")  # fmt: skip
    assert result.returncode == 2
    assert "(known keys — peppol-bis3: none)" in result.stderr


@pytest.mark.parametrize("command", ["translate", "submit"])
def test_a_missing_profiles_folder_is_refused_naming_that_folder(
    tmp_path: Path, command: str
) -> None:
    """``--profiles typo``: exit 2, the message names ``typo`` (not config/buyers)."""
    typo = tmp_path / "typo"
    extra = (
        ["--to", "peppol-bis3", "--out", str(tmp_path)]
        if command == "translate"
        else ["--store", f"sqlite:///{tmp_path}/s.db"]
    )
    result = igw(command, str(EXAMPLES / "erp-export.json"), "--profiles", str(typo), *extra)
    assert result.returncode == 2
    assert lines(result.stderr) == [f"igw: {typo}: buyer profile folder does not exist"]


def test_an_empty_or_blank_profiles_folder_is_refused_naming_it(tmp_path: Path) -> None:
    """An empty folder and ``--profiles ''`` are refused; neither falls back to config/buyers."""
    empty = tmp_path / "empty"
    empty.mkdir()
    export = str(EXAMPLES / "erp-export.json")
    result = igw("submit", export, "--profiles", str(empty), "--store", f"sqlite:///{tmp_path}/d")
    assert result.returncode == 2
    assert lines(result.stderr) == [
        f"igw: {empty}: no buyer profiles in this folder; accepted: a folder of *.toml files, "
        "one per buyer"
    ]
    blank = igw("submit", export, "--profiles", "", "--store", f"sqlite:///{tmp_path}/d")
    assert blank.returncode == 2
    assert "config/buyers" not in blank.stderr


def test_routing_failures_name_the_profile_folder_given(tmp_path: Path) -> None:
    """A buyer no profile claims: the ``accepted`` text names the folder used, not config/buyers."""
    folder = tmp_path / "buyers"
    folder.mkdir()
    shutil.copy(BUYERS / "nordwind-peppol.toml", folder)
    result = igw("submit", str(EXAMPLES / "erp-export.json"), "--profiles", str(folder),
                 "--store", f"sqlite:///{tmp_path}/s.db", "--no-validate")  # fmt: skip
    assert result.returncode == 1
    assert f"default = true in a file of {folder}/" in result.stderr
    assert "config/buyers" not in result.stderr


def test_an_unwritable_out_folder_is_one_line_naming_path_and_reason(tmp_path: Path) -> None:
    """``--out`` below a regular file: exit 2, ``--out PATH: cannot write there: REASON``."""
    blocker = tmp_path / "file.txt"
    blocker.write_text("x", encoding="utf-8")
    out = blocker / "out"
    result = igw("translate", str(EXAMPLES / "erp-export.json"), "--to", "peppol-bis3",
                 "--out", str(out))  # fmt: skip
    assert result.returncode == 2
    assert lines(result.stderr) == [f"igw: --out {out}: cannot write there: Not a directory"]


def test_missing_cxml_credentials_are_said_once_with_exit_2(tmp_path: Path) -> None:
    """A configuration error, not 27 record errors: one line with the --option hint, exit 2."""
    result = igw("translate", str(EXAMPLES / "erp-export.json"), "--to", "cxml",
                 "--out", str(tmp_path))  # fmt: skip
    assert result.returncode == 2
    config = [line for line in lines(result.stderr) if "cXML needs options" in line]
    assert config == [
        "igw: cxml: buyer profile 'cli': cXML needs options shared_secret (expected: "
        "from_domain, from_identity, to_domain, to_identity, sender_domain, sender_identity, "
        "shared_secret, user_agent); give them with --option KEY=VALUE (or in the [options] "
        "of --profile FILE)"
    ]


# -- JSON that reads back ---------------------------------------------------------------------


def test_parse_of_several_files_writes_one_array_that_translate_reads_back(
    tmp_path: Path, documents: list[Path]
) -> None:
    """``igw parse a b > x.json`` is one JSON array; ``igw translate x.json`` takes both back."""
    parsed = igw("parse", *map(str, documents))
    assert parsed.returncode == 0, parsed.stderr
    invoices = json.loads(parsed.stdout)
    assert [i["number"] for i in invoices] == ["NB-2026-10001", "NB-2026-10002"]
    export = tmp_path / "parsed.json"
    export.write_text(parsed.stdout, encoding="utf-8")
    again = igw("translate", str(export), "--to", "xrechnung-ubl", "--out", str(tmp_path / "o"))
    assert again.returncode == 0, again.stderr
    assert lines(again.stderr)[-1].startswith("2 records ok, 0 rejected")


def test_parse_of_one_file_still_writes_one_object(documents: list[Path]) -> None:
    """One input: the canonical JSON object as before (no array around it)."""
    parsed = igw("parse", str(documents[0]))
    assert parsed.returncode == 0
    assert json.loads(parsed.stdout)["number"] == "NB-2026-10001"


# -- a reader that goes away ------------------------------------------------------------------


@pytest.mark.parametrize("command", [["schema"], ["formats"], ["--help"]])
def test_a_closed_pipe_ends_quietly_with_exit_0(command: list[str]) -> None:
    """``igw schema | head``: the reader closed the pipe; no "Broken pipe", exit 0."""
    read_end, write_end = os.pipe()
    os.close(read_end)  # the reader is gone before igw writes its first byte
    try:
        result = subprocess.run(
            [sys.executable, "-m", "gateway.cli.main", *command],
            cwd=ROOT,
            stdout=write_end,
            stderr=subprocess.PIPE,
            text=True,
            timeout=600,
            check=False,
        )
    finally:
        os.close(write_end)
    assert result.returncode == 0, result.stderr
    assert result.stderr == ""


def test_a_pipe_closed_after_the_first_line_ends_quietly() -> None:
    """A reader that takes one line and leaves (``head -1``): exit 0, nothing on stderr."""
    process = subprocess.Popen(
        [sys.executable, "-m", "gateway.cli.main", "schema"],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    assert process.stdout is not None and process.stderr is not None
    assert process.stdout.readline().strip() == b"{"
    process.stdout.close()
    stderr = process.stderr.read()
    assert process.wait(timeout=600) == 0
    assert stderr == b""
