"""EANCOM D96A invoices translated to Peppol, XRechnung and Factur-X with master data.

An INVOIC has no place for the seller's and buyer's endpoints (BT-34, BT-49) and often none for
the contact, the street or a buyer reference: the seller files of config/sellers and buyer
profiles supply them. Two proofs:

* the gateway's own EANCOM (rendered from examples/erp-export.json, so every other term is
  right) translates back into all four formats, passes the gateway's validation and
  ../shared/conformance/validate.py with zero fatal, the filled terms equal to the originals;
* the Bots samples in ../shared: every rule about a term master data supplies stops firing;
  what remains is listed by cause (the samples' own amounts and check digits); no code-list
  rule fires, EANCOM codes being mapped to EN 16931's at parse.
"""

from __future__ import annotations

import datetime as dt
import json
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from masterdata_files import MUSTERHAUSEN, buyer_profile, lacking_record
from shared_dir import shared_path

from gateway.envelope import default_envelope
from gateway.masterdata.load import load_sellers
from gateway.profiles.load import load_profiles
from gateway.profiles.profile import BuyerProfile
from gateway.registry import resolve_mapping
from gateway.translation.pipeline import read_inputs, translate, translate_one

pytestmark = pytest.mark.shared

ROOT = Path(__file__).resolve().parent.parent
SELLERS = ROOT / "config" / "sellers"
PREPARED = dt.datetime(2026, 11, 24, 12, 0, tzinfo=dt.UTC)
FORMATS = {
    "peppol-bis3": ("ubl", "en16931,peppol"),
    "xrechnung-cii": ("cii", "en16931,xrechnung"),
    "xrechnung-ubl": ("ubl", "en16931,xrechnung"),
    "facturx-en16931": ("cii", "en16931,facturx"),
}

# Rules that fire when a term master data supplies is absent.
MASTER_DATA_RULES = frozenset(
    {
        "PEPPOL-EN16931-R010",  # BT-49
        "PEPPOL-EN16931-R020",  # BT-34
        "BR-DE-1",  # BG-16 payment instructions
        "BR-DE-2",  # BG-6 seller contact
        "BR-DE-3",  # BT-37 seller city
        "BR-DE-4",  # BT-38 seller post code
        "BR-DE-5",  # BT-41 seller contact point
        "BR-DE-6",  # BT-42 seller telephone
        "BR-DE-7",  # BT-43 seller e-mail
        "BR-DE-8",  # BT-52 buyer city
        "BR-DE-9",  # BT-53 buyer post code
        "BR-DE-15",  # BT-10 buyer reference
        "NL-R-002",  # Dutch seller street, city, post code
        "NL-R-004",  # Dutch buyer street, city, post code
        "NL-R-007",  # Dutch payment instructions
    }
)
# What the Bots samples still fail for, by cause, once master data is applied.
CODE_LISTS = frozenset(
    {"BR-CL-19", "BR-CL-20", "BR-CL-23", "PEPPOL-EN16931-CL002", "PEPPOL-EN16931-CL003"}
)
SAMPLE_AMOUNTS = frozenset(
    {
        "BR-48",
        "BR-CO-10",
        "BR-CO-14",
        "BR-CO-15",
        "BR-CO-17",
        "BR-DE-14",
        "BR-E-01",
        "BR-E-08",
        "BR-E-09",
        "BR-E-10",
        "BR-S-08",
        "BR-S-09",
        "PEPPOL-EN16931-R040",
        "PEPPOL-EN16931-R046",
        "PEPPOL-EN16931-R120",
        "UBL-DT-01",
        *(f"BR-DEC-{n:02d}" for n in range(1, 30)),
    }
)
SAMPLE_IDS = frozenset({"PEPPOL-COMMON-R040"})  # the samples' GLNs fail the GS1 check digit

# Examples whose EANCOM rendering loses a term that is no master data (so no seller file or
# profile can bring it back): left out of the round trip, each with the rule it then fails.
EANCOM_LOSSES = {
    "NB-2026-10003": "gross price and price discount (PEPPOL-EN16931-R046)",
    "NB-2026-10005": "SEPA direct debit mandate BG-19 (PEPPOL-EN16931-R061, BR-DE-25-a)",
    "NB-2026-10006": "payment card BG-18 (BR-DE-24-a)",
    "NB-2026-10007": "payment card BG-18 (BR-DE-24-a)",
}

# Buyers of the Bots samples: EANCOM names them by GLN only (two fail the check digit, so
# they are matched as the ERP customer number BT-46 the parser reads the GLN into).
BOTS_BUYERS = {
    "bots-retail": ('glns = ["8712345678920"]', "0088", "8712345678920"),
    "bots-1111": ('erp_customer_numbers = ["1111111111111"]', "0106", "11111111"),
    "bots-5555": ('erp_customer_numbers = ["5555555555555"]', "0106", "55555555"),
}


def buyer_file(folder: Path, name: str, ids: str, scheme: str, endpoint: str, **extra: str) -> None:
    """A buyer profile supplying BT-49, BT-10, a Dutch address and a contact."""
    reference = extra.get("reference", f"PO-{name}")
    folder.mkdir(parents=True, exist_ok=True)
    (folder / f"{name}.toml").write_text(
        f"""format = "peppol-bis3"
[ids]
{ids}
[defaults]
buyer_reference = "{reference}"
[defaults.buyer]
electronic_address = {{ scheme = "{scheme}", value = "{endpoint}" }}
[defaults.buyer.address]
line1 = "Winkelcentrum 1"
city = "Utrecht"
post_code = "3511 AA"
country = "NL"
[defaults.buyer.contact]
name = "Crediteuren"
phone = "+31 30 123 4567"
email = "crediteuren@example.nl"
[channel]
connector = "file"
options = {{ directory = "{folder / "outbox"}" }}
""",
        encoding="utf-8",
    )


def run_translate(files: list[Path], buyers: Path | None, *, validate: bool) -> Iterator[Any]:
    mappings = [resolve_mapping(name) for name in FORMATS]
    counter = iter(range(1, 10_000))
    return translate(
        read_inputs(files),
        mappings,
        BuyerProfile(),
        envelopes=lambda: default_envelope(next(counter), PREPARED),
        run_validation=validate,
        sellers=load_sellers(SELLERS)
        if buyers is not None
        else load_sellers(SELLERS / "absent", required=False),
        buyers=load_profiles(buyers) if buyers is not None else None,
    )


@pytest.fixture(scope="module")
def own_eancom(tmp_path_factory: pytest.TempPathFactory) -> tuple[list[Path], dict[str, Any]]:
    """The examples as the gateway's EANCOM D96A (no BT-34 / BT-49 in it), and the records."""
    out = tmp_path_factory.mktemp("eancom")
    mapping = resolve_mapping("eancom-d96a")
    records = {
        r["number"]: r for r in json.loads((ROOT / "examples" / "erp-export.json").read_text())
    }
    files = []
    for number, invoice, _ in read_inputs([ROOT / "examples" / "erp-export.json"]):
        assert invoice is not None
        outcome = translate_one(
            invoice,
            mapping,
            BuyerProfile(format="eancom-d96a"),
            record=number,
            envelope=default_envelope(1, PREPARED),
            run_validation=False,
        )
        assert outcome.document is not None, [str(p) for p in outcome.problems]
        path = out / f"{number}.edi"
        path.write_bytes(outcome.document.content)
        files.append(path)
    return files, records


def test_own_eancom_with_master_data_passes_in_four_formats(
    own_eancom: tuple[list[Path], dict[str, Any]], tmp_path: Path
) -> None:
    """Every example whose buyer a profile can name (by VAT id or GLN) translates from EANCOM,
    with config/sellers and one profile per buyer supplying BT-49, into Peppol BIS 3,
    XRechnung CII/UBL and Factur-X: the gateway's validation passes, validate.py with the
    explicit rule sets finds zero fatal, and BT-34 / BT-49 are the original records' values."""
    conformance = shared_path("conformance")
    files, records = own_eancom
    buyers = tmp_path / "buyers"
    buyers.mkdir()
    wanted: list[str] = []
    seen: set[str] = set()
    for number, record in records.items():
        buyer = record["buyer"]
        ident = buyer.get("identifier")
        if ident and ident.get("scheme") == "0088":
            ids = f'glns = ["{ident["value"]}"]'
        elif buyer.get("vat_id"):
            ids = f'vat_ids = ["{buyer["vat_id"]}"]'
        else:
            continue  # a buyer EANCOM gives no id for cannot be routed to a profile
        if number in EANCOM_LOSSES:
            continue
        wanted.append(number)
        if ids in seen:
            continue
        seen.add(ids)
        address = buyer["electronic_address"]
        (buyers / f"b{len(seen)}.toml").write_text(
            f'format = "peppol-bis3"\n[ids]\n{ids}\n[defaults.buyer]\n'
            f'electronic_address = {{ scheme = "{address["scheme"]}", '
            f'value = "{address["value"]}" }}\n'
            f'[channel]\nconnector = "file"\noptions = {{ directory = "{tmp_path / "outbox"}" }}\n',
            encoding="utf-8",
        )
    assert len(wanted) >= 18
    out = tmp_path / "out"
    failures: list[str] = []
    written: dict[str, list[Path]] = {name: [] for name in FORMATS}
    chosen = [f for f in files if f.stem in wanted]
    for outcome in run_translate(chosen, buyers, validate=True):
        if not outcome.ok or outcome.document is None:
            fatal = sorted({p.rule for p in outcome.problems if p.flag == "fatal"})
            failures.append(f"{outcome.format} {outcome.record}: {fatal}")
            continue
        target = out / outcome.format / outcome.document.filename
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(outcome.document.content)
        written[outcome.format].append(target)
    assert failures == [], "\n".join(failures)
    for name, (syntax, rules) in FORMATS.items():
        assert len(written[name]) == len(wanted), name
        run = subprocess.run(
            [
                sys.executable,
                str(conformance / "validate.py"),
                str(out / name),
                "--format",
                syntax,
                "--rules",
                rules,
                "--json",
            ],
            capture_output=True,
            text=True,
            timeout=900,
            check=False,
        )
        report = json.loads(run.stdout)
        assert len(report["files"]) == len(wanted), name
        for file in report["files"]:
            fatal = sorted({f["id"] for f in file["findings"] if f["flag"] == "fatal"})
            if fatal:
                failures.append(f"validate.py {name} {Path(file['file']).name}: {fatal}")
    assert failures == []
    # the filled endpoints are the ones the ERP records had before EANCOM dropped them
    for number, invoice, _ in read_inputs(chosen[:1]):
        assert invoice is not None and invoice.seller.electronic_address is None
        record = records[number]
        (outcome, *_) = run_translate(chosen[:1], buyers, validate=False)
        assert outcome.ok
        text = outcome.document.content.decode()
        seller = record["seller"]["electronic_address"]
        assert f'schemeID="{seller["scheme"]}">{seller["value"]}</cbc:EndpointID>' in text


def _fatal_rules(outcomes: Iterator[Any]) -> dict[tuple[str, str], set[str]]:
    rules: dict[tuple[str, str], set[str]] = {}
    for index, outcome in enumerate(outcomes):
        key = (f"{index // len(FORMATS)}:{outcome.record}", outcome.format)
        rules[key] = {p.rule for p in outcome.problems if p.flag == "fatal"}
    return rules


def test_bots_samples_lose_every_master_data_finding(tmp_path: Path) -> None:
    """The shared Bots EANCOM samples with their sellers' files and buyer profiles: no rule
    about a term master data supplies fires (without master data they do); every finding left
    is the samples' own amounts / check digits; no EN 16931 code-list rule fires (EANCOM codes
    are mapped at parse, mappings/edifact/codelists.py)."""
    samples = sorted(shared_path("conformance", "samples", "edifact", "eancom-d96a").glob("*.edi"))
    assert len(samples) >= 4
    buyers = tmp_path / "buyers"
    for name, (ids, scheme, endpoint) in BOTS_BUYERS.items():
        buyer_file(buyers, name, ids, scheme, endpoint)
    before = _fatal_rules(run_translate(samples, None, validate=False))
    after = _fatal_rules(run_translate(samples, buyers, validate=False))
    assert before.keys() == after.keys() and len(after) >= 5 * len(FORMATS)
    fixed = set().union(*before.values()) - set().union(*after.values())
    assert {"PEPPOL-EN16931-R010", "PEPPOL-EN16931-R020", "BR-DE-2", "BR-DE-15"} <= fixed
    left = {
        key: rules & MASTER_DATA_RULES for key, rules in after.items() if rules & MASTER_DATA_RULES
    }
    assert left == {}
    assert set().union(*after.values()) & CODE_LISTS == set()
    unexplained = {
        key: rules - CODE_LISTS - SAMPLE_AMOUNTS - SAMPLE_IDS
        for key, rules in after.items()
        if rules - CODE_LISTS - SAMPLE_AMOUNTS - SAMPLE_IDS
    }
    assert unexplained == {}


def test_erp_record_lacking_bt34_passes_validate_py_with_master_data(tmp_path: Path) -> None:
    """The ERP record without BT-34, BT-41..43, BT-49, BT-10 (examples' NB-2026-10001), filled
    by config/sellers and a buyer profile: validate.py finds zero fatal in all four formats."""
    conformance = shared_path("conformance")
    profile = buyer_profile(tmp_path / "buyers", tmp_path / "outbox", "m", MUSTERHAUSEN)
    export = tmp_path / "export.json"
    export.write_text(json.dumps([lacking_record()]), encoding="utf-8")
    out = tmp_path / "out"
    run = subprocess.run(
        [
            sys.executable,
            "-m",
            "gateway.cli.main",
            "translate",
            str(export),
            "--to",
            ",".join(FORMATS),
            "--out",
            str(out),
            "--profile",
            str(profile),
        ],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    assert run.returncode == 0, run.stderr
    for name, (syntax, rules) in FORMATS.items():
        checked = subprocess.run(
            [
                sys.executable,
                str(conformance / "validate.py"),
                str(out / name),
                "--format",
                syntax,
                "--rules",
                rules,
                "--json",
            ],
            capture_output=True,
            text=True,
            timeout=600,
            check=False,
        )
        (file,) = json.loads(checked.stdout)["files"]
        assert [f["id"] for f in file["findings"] if f["flag"] == "fatal"] == [], name
