"""The shipped artefacts in schemas/: found via importlib.resources, matching INDEX.toml."""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import subprocess
import sys
import tomllib
from importlib.resources import files
from pathlib import Path

import pytest

from gateway.errors import ConfigError
from gateway.validation.artefacts import artefact_path, index, schemas_root
from gateway.validation.validator import _BASE_XSD, RULE_SETS

ROOT = Path(__file__).resolve().parent.parent
# Files of the schemas package that are not indexed artefacts (codelists/ has its own index).
NOT_ARTEFACTS = {"__init__.py", "INDEX.toml", "README.md"}


def raw_index() -> dict[str, object]:
    return tomllib.loads((ROOT / "schemas" / "INDEX.toml").read_text(encoding="utf-8"))


def test_schemas_root_comes_from_importlib_resources() -> None:
    """In the source tree, the artefact folder is what importlib.resources finds for schemas."""
    root = schemas_root()
    assert (root / "INDEX.toml").is_file()
    assert root.resolve() == (ROOT / "schemas").resolve()
    assert Path(str(files("schemas"))).resolve() == root.resolve()


def test_artefacts_are_found_in_an_installed_layout(tmp_path: Path) -> None:
    """Copied to another folder as a wheel installs them, the packages find their artefacts there.

    A fresh interpreter imports gateway and schemas from that folder only (PYTHONPATH first,
    cwd elsewhere) and validates a document, so no path into the source tree is used.
    """
    site = tmp_path / "site"
    ignore = shutil.ignore_patterns("__pycache__", "*.pyc")
    for package in ("gateway", "schemas"):
        shutil.copytree(ROOT / package, site / package, ignore=ignore)
    code = (
        "import json, gateway, schemas\n"
        "from importlib.resources import files\n"
        "from gateway.validation import validate\n"
        "from gateway.validation.artefacts import artefact_path\n"
        "doc = b\"<Invoice xmlns='urn:oasis:names:specification:ubl:schema:xsd:Invoice-2'/>\"\n"
        "report = validate(doc, ['en16931'])\n"
        "print(json.dumps([gateway.__file__, str(files('schemas')),\n"
        "                  str(artefact_path('en16931', 'ubl')), report.passed,\n"
        "                  sorted({p.rule for p in report.fatal})]))\n"
    )
    env = {**os.environ, "PYTHONPATH": str(site)}
    proc = subprocess.run(
        [sys.executable, "-c", code],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        check=False,
        timeout=120,
    )
    assert proc.returncode == 0, proc.stderr
    gateway_file, schemas_dir, xslt, passed, rules = json.loads(proc.stdout)
    assert Path(gateway_file).is_relative_to(site)
    assert Path(schemas_dir) == site / "schemas"
    assert Path(xslt) == site / "schemas" / "en16931-1.3.16" / "EN16931-UBL-validation.xslt"
    assert passed is False and "XSD" in rules and "BR-01" in rules


def test_every_indexed_file_exists_with_its_sha256() -> None:
    """Each file INDEX.toml lists is shipped, with the recorded size and SHA-256."""
    artefacts = raw_index()["artefact"]
    assert isinstance(artefacts, list) and len(artefacts) >= 7
    for artefact in artefacts:
        for entry in artefact["file"]:
            data = (schemas_root() / entry["path"]).read_bytes()
            assert len(data) == entry["bytes"], entry["path"]
            assert hashlib.sha256(data).hexdigest() == entry["sha256"], entry["path"]
            if "source_sha256_16" in entry:
                assert entry["sha256"].startswith(entry["source_sha256_16"]), entry["path"]


def test_every_shipped_artefact_file_is_indexed() -> None:
    """No file sits in schemas/ (outside codelists/) without an INDEX.toml entry."""
    listed = {f for a in index().values() for f in a.files}
    shipped = {
        p.relative_to(ROOT / "schemas").as_posix()
        for p in (ROOT / "schemas").rglob("*")
        if p.is_file()
        and p.name not in NOT_ARTEFACTS
        and "__pycache__" not in p.parts
        and p.relative_to(ROOT / "schemas").parts[0] != "codelists"
    }
    assert shipped == listed


def test_every_artefact_records_origin_and_licence() -> None:
    """Each artefact names version and licence; each non-OASIS file its repository and commit."""
    for artefact in raw_index()["artefact"]:
        assert artefact["version"] and artefact["licence"], artefact["name"]
        for entry in artefact["file"]:
            assert entry["origin_path"], entry["path"]
            if artefact["name"] != "ubl-2.1":
                assert entry["origin_repository"] and len(entry["origin_commit"]) >= 12


def test_every_rule_set_and_schema_resolves_to_a_file() -> None:
    """Every check the validator can run points at a shipped file through the index."""
    checks = [c for row in RULE_SETS.values() for c in row.values()] + list(_BASE_XSD.values())
    for check in checks:
        assert artefact_path(check.artefact, check.role).is_file()
    assert artefact_path("cxml-invoicedetail", "dtd").name == "InvoiceDetail.dtd"
    assert (
        artefact_path("en16931", "licence")
        .read_text(encoding="utf-8")
        .startswith(artefact_path("en16931", "licence").read_text(encoding="utf-8")[:1])
    )


@pytest.mark.parametrize(
    ("name", "role", "says"), [("nope", "ubl", "known"), ("peppol", "cii", "ubl")]
)
def test_unknown_artefact_or_role_is_a_config_error(name: str, role: str, says: str) -> None:
    """Asking for an artefact or role the index lacks names what exists."""
    with pytest.raises(ConfigError, match=says):
        artefact_path(name, role)


def test_shipped_copies_equal_the_conformance_artefacts(conformance: Path) -> None:
    """The shipped XSLT/XSD files are byte-identical to the checker's artefacts."""
    pairs = {
        "en16931-1.3.16/EN16931-UBL-validation.xslt": "en16931/EN16931-UBL-validation.xslt",
        "peppol-bis3-2026.5/PEPPOL-EN16931-UBL.xslt": "peppol/PEPPOL-EN16931-UBL.xslt",
        "xrechnung-3.0.2/XRechnung-CII-validation.xslt": "xrechnung/XRechnung-CII-validation.xslt",
        "ubl-2.1/xsdrt/maindoc/UBL-Invoice-2.1.xsd": "ubl-2.1/xsdrt/maindoc/UBL-Invoice-2.1.xsd",
        "cxml-1.2.037/InvoiceDetail.dtd": "cxml/1.2.037/InvoiceDetail.dtd",
    }
    for ours, theirs in pairs.items():
        shipped = (schemas_root() / ours).read_bytes()
        assert shipped == (conformance / "artefacts" / theirs).read_bytes(), ours
