"""cXML validation: the shipped cXML 1.2.037 ``InvoiceDetail.dtd``, loaded from the package.

The document's DOCTYPE names the DTD by its SYSTEM URL on xml.cxml.org; that URL is never
fetched. The DTD comes from ``schemas/INDEX.toml`` (artefact ``cxml-invoicedetail``, entry
``dtd``) and the document is parsed without loading DTDs, entities or the network.
"""

from __future__ import annotations

import re
import threading
import time
from collections.abc import Iterable
from typing import Any, cast

from lxml import etree

from gateway.errors import ConfigError, Problem
from gateway.validation.artefacts import artefact_path
from gateway.validation.report import ValidationReport

CXML_DTD_ARTEFACT = "cxml-invoicedetail"
CXML_DTD_URL = "http://xml.cxml.org/schemas/cXML/1.2.037/InvoiceDetail.dtd"
RULE_SET = "dtd:InvoiceDetail-1.2.037"

_dtd: etree.DTD | None = None
# lxml keeps the error log of the last validate() on the DTD object: one lock around both.
_lock = threading.Lock()


def _load_dtd() -> etree.DTD:
    global _dtd  # noqa: PLW0603 - one parsed DTD per process, loaded on first use
    if _dtd is None:
        path = artefact_path(CXML_DTD_ARTEFACT, "dtd")
        try:
            _dtd = etree.DTD(str(path))
        except etree.DTDParseError as exc:
            raise ConfigError(f"cannot load DTD {path}: {exc}") from exc
    return _dtd


def _problem(record: str, line: int, rule: str, message: str, flag: str = "fatal") -> Problem:
    return Problem(
        record=record,
        path=f"line {line}",
        bt=None,
        value=None,
        rule=rule,
        message=f"line {line}: {message}",
        accepted=f"a document valid against cXML {RULE_SET.split('-', 1)[1]} InvoiceDetail.dtd",
        flag=flag,
    )


def validate_cxml(data: bytes, name: str = "") -> ValidationReport:
    """Validate a cXML document against the shipped InvoiceDetail.dtd 1.2.037.

    Every finding is a Problem with rule ``DTD`` and the line (``path="line N"``); malformed XML
    is ``XML-PARSE``, an internal DTD subset ``DOCTYPE`` (both fatal). A DOCTYPE that is missing
    or names another DTD is a warning (``DOCTYPE``): the document is still judged by 1.2.037.
    ``record`` is the invoiceID when there is one. Never touches the network.
    """
    started = time.perf_counter()
    findings: list[Problem] = []
    record = name

    def report() -> ValidationReport:
        return ValidationReport(
            name=name,
            record=record,
            syntax="cxml",
            rules=(RULE_SET,),
            findings=findings,
            seconds=time.perf_counter() - started,
        )

    parser = etree.XMLParser(
        load_dtd=False, no_network=True, resolve_entities=False, dtd_validation=False
    )
    try:
        root = etree.fromstring(bytes(data), parser)
    except etree.XMLSyntaxError as exc:
        findings.append(_problem(record, exc.lineno or 0, "XML-PARSE", str(exc)))
        return report()
    header = root.find("Request/InvoiceDetailRequest/InvoiceDetailRequestHeader")
    if header is not None and header.get("invoiceID"):
        record = header.get("invoiceID", name)
    docinfo: Any = root.getroottree().docinfo
    head = bytes(data).split(b"<" + str(root.tag).encode(), 1)[0]
    if re.search(rb"<!DOCTYPE[^>\[]*\[", head):
        findings.append(
            _problem(record, 1, "DOCTYPE", "an internal DTD subset is not allowed (XXE risk)")
        )
        return report()
    if docinfo.system_url != CXML_DTD_URL:
        findings.append(
            _problem(
                record,
                1,
                "DOCTYPE",
                f"DOCTYPE system id is {docinfo.system_url!r}, expected {CXML_DTD_URL!r}",
                flag="warning",
            )
        )
    dtd = _load_dtd()
    with _lock:
        if not dtd.validate(root):
            for entry in cast(Iterable[etree._LogEntry], dtd.error_log):
                findings.append(_problem(record, entry.line, "DTD", entry.message))
    return report()
