"""The Mapping interface: one syntax (and profile of it) in both directions."""

from __future__ import annotations

from typing import ClassVar, Protocol, runtime_checkable

from gateway.document import Document
from gateway.envelope import Envelope
from gateway.model import Invoice
from gateway.profiles.profile import BuyerProfile


@runtime_checkable
class Mapping(Protocol):
    """Turns an :class:`Invoice` into a :class:`Document` and back.

    ``render`` is pure: no clock, network or database; every id and timestamp comes in with the
    invoice, the profile or the :class:`Envelope` (interchange and message control references,
    payload id, preparation time), so a re-send renders the very same bytes. Syntaxes without an
    envelope (UBL, CII) ignore it; those that need one (EDIFACT, cXML) raise ConfigError without.
    ``parse`` raises :class:`gateway.errors.ParseError` naming the location of what it could not
    read.

    Example::

        class MyPortalJson:
            name = "my-portal"
            syntax = "json"
            rules = ()

            def render(
                self, invoice: Invoice, profile: BuyerProfile, envelope: Envelope | None = None
            ) -> Document:
                body = json.dumps({"no": invoice.number}).encode()
                return Document(body, "json", self.name, invoice.number, "application/json", "json")

            def parse(self, data: bytes) -> Invoice:
                raise ParseError("my-portal is outbound only")
    """

    name: ClassVar[str]
    syntax: ClassVar[str]
    rules: ClassVar[tuple[str, ...]]

    def render(
        self, invoice: Invoice, profile: BuyerProfile, envelope: Envelope | None = None
    ) -> Document:
        """Render ``invoice`` for the buyer described by ``profile``."""
        ...

    def parse(self, data: bytes) -> Invoice:
        """Read a document of this syntax back into the canonical model."""
        ...
