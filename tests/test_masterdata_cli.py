"""igw translate / parse / submit / timeline with master data, and their error paths."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from masterdata_files import MUSTERHAUSEN, NORDLICHT, buyer_profile, lacking_record

from gateway.cli.main import main

ROOT = Path(__file__).resolve().parent.parent
SELLERS = ROOT / "config" / "sellers"
FOUR = "peppol-bis3,xrechnung-cii,xrechnung-ubl,facturx-en16931"


def igw(*args: str, cwd: Path = ROOT) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "gateway.cli.main", *args],
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )


def write_record(tmp_path: Path, record: dict[str, Any]) -> Path:
    path = tmp_path / "export.json"
    path.write_text(json.dumps([record]), encoding="utf-8")
    return path


def test_translate_finds_config_sellers_by_default_and_passes_four_formats(
    tmp_path: Path,
) -> None:
    """Run from the repo: ./config/sellers + --profile fill BT-34/41-43/49/10, and the record
    lacking them translates to Peppol, XRechnung CII and UBL and Factur-X, validated."""
    profile = buyer_profile(tmp_path / "buyers", tmp_path / "outbox", "m", MUSTERHAUSEN)
    export = write_record(tmp_path, lacking_record())
    out = tmp_path / "out"
    result = igw(
        "translate",
        str(export),
        "--to",
        FOUR,
        "--out",
        str(out),
        "--profile",
        str(profile),
        "--json",
    )
    assert result.returncode == 0, result.stdout + result.stderr
    outcomes = json.loads(result.stdout)["outcomes"]
    assert [o["ok"] for o in outcomes] == [True] * 4
    assert {Path(o["file"]).parent.name for o in outcomes} == set(FOUR.split(","))
    ubl = (out / "peppol-bis3" / "NB-2026-10001.peppol-bis3.xml").read_text()
    assert 'schemeID="0088">4012345000016</cbc:EndpointID>' in ubl
    assert 'schemeID="0204">04011000-1234512345-06</cbc:EndpointID>' in ubl


def test_translate_without_a_sellers_folder_uses_no_master_data(tmp_path: Path) -> None:
    """From a folder without config/sellers: no master data and no error; the record is
    rejected for the missing seller endpoint (BT-34), without a traceback."""
    export = write_record(tmp_path, lacking_record())
    result = igw("translate", str(export), "--to", "peppol-bis3", "--out", "out", cwd=tmp_path)
    assert result.returncode == 1
    assert "Traceback" not in result.stderr
    assert (
        "PEPPOL-EN16931-R020" in result.stderr
        and "seller.electronic_address (BT-34)" in result.stderr
    )


def test_named_sellers_folder_must_exist(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """--sellers naming a folder that is not there: usage error (2), nothing written."""
    export = write_record(tmp_path, lacking_record())
    status = main(
        [
            "translate",
            str(export),
            "--to",
            "peppol-bis3",
            "--out",
            str(tmp_path / "out"),
            "--sellers",
            str(tmp_path / "nope"),
        ]
    )
    assert status == 2
    assert "seller master data folder does not exist" in capsys.readouterr().err
    assert not (tmp_path / "out").exists()


def test_bad_seller_file_is_a_usage_error_naming_file_key_and_suggestion(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """A misspelt key in a seller file (found through IGW_SELLERS): exit 2 before any record."""
    folder = tmp_path / "sellers"
    folder.mkdir()
    (folder / "acme.toml").write_text(
        '[ids]\nvat_ids = ["DE123456789"]\n[defaults.seller]\nelectronic_adress = "x"\n'
    )
    monkeypatch.setenv("IGW_SELLERS", str(folder))
    export = write_record(tmp_path, lacking_record())
    status = main(["translate", str(export), "--to", "peppol-bis3", "--out", str(tmp_path / "o")])
    err = capsys.readouterr().err
    assert status == 2
    assert str(folder / "acme.toml") in err
    assert (
        "unknown key 'defaults.seller.electronic_adress'; did you mean 'electronic_address'?" in err
    )
    assert not (tmp_path / "o").exists()


def test_profile_and_profiles_together_is_a_usage_error(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """--profile FILE and --profiles DIR exclude each other."""
    profile = buyer_profile(tmp_path / "buyers", tmp_path / "outbox", "m", MUSTERHAUSEN)
    export = write_record(tmp_path, lacking_record())
    status = main(
        [
            "translate",
            str(export),
            "--to",
            "peppol-bis3",
            "--out",
            str(tmp_path / "o"),
            "--profile",
            str(profile),
            "--profiles",
            str(tmp_path / "buyers"),
        ]
    )
    assert status == 2
    assert "--profile and --profiles: give one of them" in capsys.readouterr().err


def test_profiles_folder_gives_each_invoice_its_own_buyers_defaults(tmp_path: Path) -> None:
    """--profiles DIR: the record routed to 'm' gets its BT-49; a record of another buyer no
    profile claims gets nothing from it (and is rejected for its own missing BT-49)."""
    buyer_profile(tmp_path / "buyers", tmp_path / "outbox", "m", MUSTERHAUSEN)
    other = json.loads((ROOT / "examples" / "erp-export.json").read_text())[1]
    del other["buyer"]["electronic_address"]
    export = tmp_path / "two.json"
    export.write_text(json.dumps([lacking_record(), other]))
    result = igw(
        "translate",
        str(export),
        "--to",
        "peppol-bis3",
        "--out",
        str(tmp_path / "o"),
        "--profiles",
        str(tmp_path / "buyers"),
        "--json",
    )
    outcomes = {o["record"]: o for o in json.loads(result.stdout)["outcomes"]}
    assert outcomes["NB-2026-10001"]["ok"]
    assert not outcomes["NB-2026-10002"]["ok"]
    rules = {p["rule"] for p in outcomes["NB-2026-10002"]["problems"]}
    assert "PEPPOL-EN16931-R010" in rules


def test_ambiguous_seller_rejects_the_record_naming_both_files(tmp_path: Path) -> None:
    """Two seller files the record's ids lead to: exit 1, the problem names both files."""
    folder = tmp_path / "sellers"
    folder.mkdir()
    (folder / "a.toml").write_text('[ids]\nvat_ids = ["DE123456789"]\n')
    (folder / "b.toml").write_text('[ids]\nglns = ["4012345000016"]\n')
    export = write_record(tmp_path, lacking_record())
    result = igw(
        "translate",
        str(export),
        "--to",
        "peppol-bis3",
        "--out",
        str(tmp_path / "o"),
        "--sellers",
        str(folder),
    )
    assert result.returncode == 1 and "Traceback" not in result.stderr
    assert "[MASTER-DATA]" in result.stderr
    assert str(folder / "a.toml") in result.stderr and str(folder / "b.toml") in result.stderr


def test_parse_with_sellers_shows_the_filled_terms(tmp_path: Path) -> None:
    """igw parse --sellers: the EANCOM invoice (which has no BT-34) with the seller's endpoint
    and a provenance entry naming the file; without --sellers the document as it is (no
    master-data term)."""
    eancom = tmp_path / "o" / "eancom-d96a" / "NB-2026-10001.eancom-d96a.edi"
    export = write_record(
        tmp_path, json.loads((ROOT / "examples" / "erp-export.json").read_text())[0]
    )
    assert (
        igw(
            "translate", str(export), "--to", "eancom-d96a", "--out", str(tmp_path / "o")
        ).returncode
        == 0
    )
    plain = json.loads(igw("parse", str(eancom)).stdout)
    assert "electronic_address" not in plain["seller"]
    # the EANCOM parse marks its own derived / code-list terms, never master data
    assert all(t["source"] != "master-data" for t in plain.get("provenance", []))
    filled = json.loads(igw("parse", str(eancom), "--sellers", str(SELLERS)).stdout)
    assert filled["seller"]["electronic_address"] == {"value": "4012345000016", "scheme": "0088"}
    assert {
        "path": "seller.electronic_address",
        "bt": "BT-34",
        "source": "master-data",
        "detail": NORDLICHT,
    } in filled["provenance"]


def test_submit_then_timeline_lists_the_filled_terms_and_warns_on_conflict(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """igw submit --sellers: the conflict is printed as a warning; igw timeline shows
    'filled from master data: BT-34 ...' and the conflict event."""
    buyer_profile(tmp_path / "buyers", tmp_path / "outbox", "m", MUSTERHAUSEN)
    record = lacking_record(contact={"email": "billing@nordlicht.example"})
    export = write_record(tmp_path, record)
    url = f"sqlite:///{tmp_path / 'g.db'}"
    status = main(
        [
            "submit",
            str(export),
            "--store",
            url,
            "--profiles",
            str(tmp_path / "buyers"),
            "--sellers",
            str(SELLERS),
        ]
    )
    captured = capsys.readouterr()
    assert status == 0, captured.err
    assert "NB-2026-10001: stored for m as xrechnung-ubl" in captured.out
    assert "warning: NB-2026-10001: [MASTER-DATA] seller.contact.email (BT-43)" in captured.err
    assert main(["timeline", "NB-2026-10001", "--store", url]) == 0
    text = capsys.readouterr().out
    assert f"filled from master data: BT-34 seller.electronic_address ({NORDLICHT})" in text
    assert "BT-10 buyer_reference" in text
    assert "conflict" in text and "kept the source's value: BT-43 seller.contact.email" in text
    assert main(["timeline", "NB-2026-10001", "--store", url, "--json"]) == 0
    rows = json.loads(capsys.readouterr().out)
    assert [r["kind"] for r in rows] == ["accepted", "filled", "conflict", "queued"]


def test_translate_says_each_conflict_once_without_verbose(tmp_path: Path) -> None:
    """A master-data conflict is printed once per record (not once per format), without -v."""
    export = write_record(tmp_path, lacking_record(contact={"email": "billing@nordlicht.example"}))
    result = igw(
        "translate",
        str(export),
        "--to",
        "peppol-bis3,facturx-en16931",
        "--out",
        str(tmp_path / "o"),
    )
    lines = [line for line in result.stderr.splitlines() if "[MASTER-DATA]" in line]
    assert lines == [
        "warning: NB-2026-10001: [MASTER-DATA] seller.contact.email (BT-43) = "
        "billing@nordlicht.example: master data (config/sellers/nordlicht-buerotechnik.toml) "
        "says 'rechnung@nordlicht-buero.de'; the source's value is kept; accepted: the value "
        "master data gives, or none (then master data fills it)"
    ]


def test_submit_checks_seller_files_before_opening_the_store(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """igw submit with a broken seller file: exit 2 naming file and key, no store created."""
    folder = tmp_path / "sellers"
    folder.mkdir()
    (folder / "acme.toml").write_text('[idz]\nvat_ids = ["DE123456789"]\n')
    buyer_profile(tmp_path / "buyers", tmp_path / "outbox", "m", MUSTERHAUSEN)
    export = write_record(tmp_path, lacking_record())
    status = main(
        [
            "submit",
            str(export),
            "--store",
            f"sqlite:///{tmp_path / 'g.db'}",
            "--profiles",
            str(tmp_path / "buyers"),
            "--sellers",
            str(folder),
        ]
    )
    err = capsys.readouterr().err
    assert status == 2
    assert f"{folder / 'acme.toml'}: unknown key 'idz'; did you mean 'ids'?" in err
    assert not (tmp_path / "g.db").exists()
