"""Schematron rules as compiled XSLT run with SaxonC-HE; the SVRL output is read into Assertions.

Concurrency: one ``PySaxonProcessor`` per process, created on first use and never closed (SaxonC
cannot create a second one in the same process). Each stylesheet is compiled once per process
and cached. SaxonC objects are not documented as safe for concurrent use, so every call into
Saxon (compile, parse, transform) holds one process-wide lock; a process therefore runs one
transform at a time, and throughput scales with worker processes, not threads. The processor
is created lazily, so a worker that forks before its first validation gets its own; using it in
a child forked after first use worked in a quick check but is not documented by SaxonC, so
start worker processes with "spawn" or before validating.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass
from typing import Any

from lxml import etree
from saxonche import PySaxonProcessor

from gateway.errors import ConfigError
from gateway.validation.artefacts import artefact_path

NS_SVRL = "http://purl.oclc.org/dsdl/svrl"
_FAILED = f"{{{NS_SVRL}}}failed-assert"
_REPORT = f"{{{NS_SVRL}}}successful-report"
_TEXT = f"{{{NS_SVRL}}}text"

# SVRL flag values that make an assertion fatal; anything else ("warning", "information", ...)
# is a warning. A failed-assert without a flag is fatal, a successful-report without one a warning.
FATAL_FLAGS = frozenset({"fatal", "error"})


@dataclass(frozen=True)
class Assertion:
    """One fired SVRL assertion: rule id, ``fatal``/``warning``, XPath location, normalised text."""

    rule: str
    flag: str
    location: str
    text: str


class SchematronError(Exception):
    """Saxon failed while running a stylesheet on a document (a dynamic error)."""


class _Saxon:
    """The process's SaxonC processor and compiled stylesheets, all behind one lock."""

    def __init__(self) -> None:
        self.lock = threading.RLock()
        self._processor: Any = None
        self._compiler: Any = None
        self._executables: dict[tuple[str, str], Any] = {}

    def processor(self) -> Any:
        """The PySaxonProcessor, created on first use (caller holds ``lock``)."""
        if self._processor is None:
            self._processor = PySaxonProcessor(license=False)
            self._compiler = self._processor.new_xslt30_processor()
        return self._processor

    def executable(self, artefact: str, role: str) -> Any:
        """An indexed stylesheet, compiled on first use (caller holds ``lock``)."""
        key = (artefact, role)
        exe = self._executables.get(key)
        if exe is None:
            path = artefact_path(artefact, role)
            self.processor()
            try:
                exe = self._compiler.compile_stylesheet(stylesheet_file=str(path))
            except Exception as exc:  # saxonche raises PySaxonApiError, a bare Exception subclass
                raise ConfigError(f"cannot compile {path}: {exc}") from exc
            if exe is None:
                raise ConfigError(f"cannot compile {path}: SaxonC returned no executable")
            self._executables[key] = exe
        return exe


_SAXON = _Saxon()


def preload_stylesheet(artefact: str, role: str) -> None:
    """Compile (and cache) a stylesheet now, e.g. when a worker starts, rather than on first use."""
    with _SAXON.lock:
        _SAXON.executable(artefact, role)


class SaxonDocument:
    """A document parsed once into Saxon, to be run through several stylesheets.

    The XML handed to Saxon is the re-serialised lxml tree (parsed without DTD or entity
    resolution), so Saxon never reads the original bytes or anything they point to.
    """

    def __init__(self, root: etree._Element) -> None:
        text = etree.tostring(root, encoding="unicode")
        with _SAXON.lock:
            try:
                self._node = _SAXON.processor().parse_xml(xml_text=text)
            except Exception as exc:
                raise SchematronError(str(exc)) from exc

    def run(self, artefact: str, role: str) -> list[Assertion]:
        """Run the indexed stylesheet ``artefact``/``role`` and return the assertions that fired."""
        with _SAXON.lock:
            exe = _SAXON.executable(artefact, role)
            try:
                svrl = exe.transform_to_string(xdm_node=self._node)
            except Exception as exc:
                raise SchematronError(str(exc)) from exc
        if not svrl:
            raise SchematronError(f"{artefact}/{role} produced no SVRL output")
        return parse_svrl(svrl.encode("utf-8"))


def parse_svrl(svrl: bytes) -> list[Assertion]:
    """The failed asserts and successful reports of an SVRL report, in document order."""
    root = etree.fromstring(svrl, etree.XMLParser(no_network=True, resolve_entities=False))
    result: list[Assertion] = []
    for el in root.iter(_FAILED, _REPORT):
        default = "fatal" if el.tag == _FAILED else "warning"
        flag = (el.get("flag") or default).strip().lower()
        text_el = el.find(_TEXT)
        raw = "".join(str(t) for t in text_el.itertext()) if text_el is not None else ""
        text = " ".join(raw.split())
        result.append(
            Assertion(
                rule=el.get("id") or "?",
                flag="fatal" if flag in FATAL_FLAGS else "warning",
                location=el.get("location") or "",
                text=text,
            )
        )
    return result
