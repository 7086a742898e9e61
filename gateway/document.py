"""Document: rendered bytes on their way to a buyer (or received from a supplier)."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field


@dataclass(frozen=True)
class Document:
    """The output of ``Mapping.render``: bytes plus what is needed to name, validate and send them.

    ``syntax`` is the family (``ubl``, ``cii``, ``edifact``, ``cxml``, ...), ``format`` the mapping
    alias that produced it (``peppol-bis3``), ``invoice_number`` the BT-1 it carries.
    """

    content: bytes
    syntax: str
    format: str
    invoice_number: str
    media_type: str = "application/xml"
    extension: str = "xml"
    rules: tuple[str, ...] = field(default=())

    @property
    def sha256(self) -> str:
        """Hex SHA-256 of the content (the store's document hash)."""
        return hashlib.sha256(self.content).hexdigest()

    @property
    def filename(self) -> str:
        """A safe file name: invoice number with anything but ``[A-Za-z0-9._-]`` replaced."""
        safe = "".join(c if c.isalnum() or c in "._-" else "_" for c in self.invoice_number)
        if self.format == self.extension:  # pdf: "NB-1.pdf", not "NB-1.pdf.pdf"
            return f"{safe}.{self.extension}"
        return f"{safe}.{self.format}.{self.extension}"
