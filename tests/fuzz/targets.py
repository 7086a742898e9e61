"""Fuzz targets: one per inbound parser, each feeding bytes in and letting only the parser's
own typed errors pass.

A target is ``call(data)``: it returns normally or raises one of its ``allowed`` exception
types. Anything else is an *escape* (a foreign exception: ``ValueError``, ``RecursionError``,
pydantic ``ValidationError``, ``decimal.InvalidOperation`` ...), the bug the harness hunts. The
same targets drive the atheris runner (``tests/fuzz/run.py``) and the regression tests that
replay every kept crash (``tests/test_parsers_robust.py``).
"""

from __future__ import annotations

import contextlib
import datetime as dt
import functools
from collections.abc import Callable
from dataclasses import dataclass

import httpx

from connectors.as2.errors import As2MessageError, MdnError
from connectors.as2.mdn import parse_mdn
from connectors.as2.message import As2Identity, As2Partner, open_message
from connectors.cxml_post import CxmlPostConnector
from connectors.http import HttpConnector
from gateway.delivery.errors import DeliveryError
from gateway.detect import detect_syntax
from gateway.document import Document
from gateway.errors import ParseError
from gateway.inbound.interpret import UNREADABLE, judge
from mappings.cii.parse import parse_cii
from mappings.cxml.acks import CxmlStatusAck, CxmlStatusUpdateAck
from mappings.cxml.parse import parse_cxml
from mappings.edifact.aperak import AperakParser
from mappings.edifact.contrl import ContrlParser
from mappings.edifact.invoic import EancomD96A
from mappings.portal_status import PortalStatusAck
from mappings.ubl.parse import parse_ubl


@dataclass(frozen=True)
class Target:
    """One parser under fuzzing: ``call`` and the exception types it may raise."""

    name: str
    call: Callable[[bytes], object]
    allowed: tuple[type[BaseException], ...]
    seeds: tuple[str, ...]
    """Seed kinds (see tests/fuzz/seeds.py) its corpus starts from."""

    def run(self, data: bytes) -> None:
        """Call the parser; an allowed error is a normal outcome."""
        with contextlib.suppress(*self.allowed):
            self.call(data)


class InboundBug(AssertionError):
    """The inbound step returned the verdict of its last-resort boundary: a parser or rule
    raised something it should not have (the boundary hides it from users, not from us)."""


def _inbound(data: bytes) -> None:
    verdict = judge(data, label="fuzz")
    if verdict.state not in ("PARSED", "REJECTED", UNREADABLE):
        raise InboundBug(verdict.state)


def _edifact(data: bytes) -> None:
    EancomD96A().parse_all(data)


def _cxml_status(data: bytes) -> None:
    CxmlStatusAck(in_reply_to="fuzz@gateway").parse(data)
    CxmlStatusUpdateAck().parse(data)


def _portal_status(data: bytes) -> None:
    PortalStatusAck(remote_id_field="invoice_id").parse(data)


class _Answer:
    """A MockTransport handler answering every request with the current fuzz bytes."""

    def __init__(self, content_type: str) -> None:
        self.content_type = content_type
        self.body = b""

    def __call__(self, request: httpx.Request) -> httpx.Response:
        return httpx.Response(200, content=self.body, headers={"content-type": self.content_type})


@functools.cache
def _portal() -> tuple[HttpConnector, _Answer]:
    answer = _Answer("application/json")
    connector = HttpConnector(
        "https://portal.test/api/invoices",
        status_url="https://portal.test/api/status",
        success_field="status",
        id_field="data.0.id",
        client=httpx.Client(transport=httpx.MockTransport(answer)),
    )
    return connector, answer


_DOC = Document(
    content=b'<cXML payloadID="p1@us"/>', syntax="cxml", format="cxml", invoice_number="I-1"
)
_KEYS = iter(range(10**12))


def _http_answer(data: bytes) -> None:
    """The portal connector reading an upload answer and a status list from ``data``."""
    connector, answer = _portal()
    answer.body = data
    connector.send(_DOC, delivery_id="d", idempotency_key=f"k{next(_KEYS)}")
    for item in connector.poll():
        _portal_status(item.content)


@functools.cache
def _cxml_poster() -> tuple[CxmlPostConnector, _Answer]:
    answer = _Answer("text/xml")
    connector = CxmlPostConnector(
        "https://buyer.test/cxml", client=httpx.Client(transport=httpx.MockTransport(answer))
    )
    return connector, answer


def _cxml_post(data: bytes) -> None:
    """The cXML connector reading the synchronous Response/Status from ``data``."""
    connector, answer = _cxml_poster()
    answer.body = data
    connector.send(_DOC, delivery_id="d", idempotency_key=f"k{next(_KEYS)}")


@functools.cache
def as2_parties() -> tuple[As2Identity, As2Identity]:
    """(partner A, us B): the test identities the AS2 seeds are built with."""
    from connectors.as2.certs import make_test_identity

    now = dt.datetime(2026, 11, 24, 12, 0, tzinfo=dt.UTC)
    return (
        As2Identity("FUZZ-A", *make_test_identity("FUZZ-A", days=3650, now=now)),
        As2Identity("FUZZ-B", *make_test_identity("FUZZ-B", days=3650, now=now)),
    )


def split_http(data: bytes) -> tuple[dict[str, str], bytes]:
    """HTTP-like ``data`` (header lines, a blank line, the body) as (headers, body)."""
    head, _, body = data.partition(b"\r\n\r\n")
    headers: dict[str, str] = {}
    for line in head.decode("latin-1").split("\r\n"):
        name, sep, value = line.partition(":")
        if sep and name.strip():
            headers[name.strip()] = value.strip()
    return headers, body


def _as2_message(data: bytes) -> None:
    partner, us = as2_parties()
    headers, body = split_http(data)
    known = As2Partner(partner.as2_id, (partner.cert,), require_signed=False)
    open_message(headers, body, local=us, partner_for=lambda name: known)


def _as2_mdn(data: bytes) -> None:
    partner, _us = as2_parties()
    headers, body = split_http(data)
    parse_mdn(headers, body, partner=None)
    parse_mdn(headers, body, partner=As2Partner(partner.as2_id, (partner.cert,)))


TARGETS: dict[str, Target] = {
    t.name: t
    for t in (
        Target("detect", detect_syntax, (ParseError,), ("ubl", "cii", "cxml", "edifact")),
        Target("ubl", parse_ubl, (ParseError,), ("ubl",)),
        Target("cii", parse_cii, (ParseError,), ("cii",)),
        Target("cxml", parse_cxml, (ParseError,), ("cxml",)),
        Target("edifact", _edifact, (ParseError,), ("edifact",)),
        Target("inbound", _inbound, (), ("ubl", "cii", "cxml", "edifact")),
        Target("contrl", ContrlParser().parse, (ParseError,), ("contrl",)),
        Target("aperak", AperakParser().parse, (ParseError,), ("aperak",)),
        Target("cxml-status", _cxml_status, (ParseError,), ("cxml-status",)),
        Target("portal-status", _portal_status, (ParseError,), ("portal-status",)),
        Target("http-answer", _http_answer, (DeliveryError, ParseError), ("portal-status",)),
        Target("cxml-post", _cxml_post, (DeliveryError,), ("cxml-status",)),
        Target("as2-message", _as2_message, (As2MessageError,), ("as2-message",)),
        Target("as2-mdn", _as2_mdn, (MdnError,), ("as2-mdn",)),
    )
}
