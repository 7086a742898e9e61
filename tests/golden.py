"""Golden files: compare rendered output with a stored file after canonicalisation.

Set ``IGW_REGEN_GOLDEN=1`` to (re)write the golden files instead of comparing; review the diff
in git before committing them.
"""

from __future__ import annotations

import difflib
import os
from pathlib import Path

from lxml import etree

GOLDEN_DIR = Path(__file__).resolve().parent / "golden"
REGEN = os.environ.get("IGW_REGEN_GOLDEN") == "1"


def canonical_xml(data: bytes) -> bytes:
    """Exclusive C14N 2.0 with insignificant whitespace stripped: formatting-independent."""
    parser = etree.XMLParser(remove_blank_text=True, resolve_entities=False, no_network=True)
    root = etree.fromstring(data, parser)
    return etree.tostring(root, method="c14n2", strip_text=True)


def _canonical(data: bytes, kind: str) -> bytes:
    if kind == "xml":
        return canonical_xml(data)
    return data.replace(b"\r\n", b"\n")


def assert_golden(relative: str, data: bytes, kind: str = "xml") -> None:
    """Assert ``data`` equals ``tests/golden/<relative>`` (canonicalised); regenerate on request."""
    path = GOLDEN_DIR / relative
    if REGEN or not path.exists():
        if not REGEN and os.environ.get("CI", "").lower() in {"1", "true", "yes"}:
            raise AssertionError(f"golden file {path} is missing (run with IGW_REGEN_GOLDEN=1)")
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(_pretty(data) if kind == "xml" else data)
        return
    expected = _canonical(path.read_bytes(), kind)
    actual = _canonical(data, kind)
    if expected != actual:
        diff = difflib.unified_diff(
            _lines(expected, kind), _lines(actual, kind), "golden", "rendered", lineterm="", n=2
        )
        shown = "\n".join(list(diff)[:80])
        raise AssertionError(
            f"output differs from golden file {path} (regenerate with IGW_REGEN_GOLDEN=1 and "
            f"review the diff)\n{shown}"
        )


def _pretty(data: bytes) -> bytes:
    """Indented XML for golden files that read well in a diff (compared after C14N anyway)."""
    parser = etree.XMLParser(remove_blank_text=True, resolve_entities=False, no_network=True)
    root = etree.fromstring(data, parser)
    return bytes(etree.tostring(root, xml_declaration=True, encoding="UTF-8", pretty_print=True))


def _lines(data: bytes, kind: str) -> list[str]:
    """One element per line, so a diff points at the element that changed."""
    if kind == "xml":
        data = etree.tostring(etree.fromstring(data), pretty_print=True)
    return data.decode("utf-8", "replace").splitlines()
