"""Which files an e-mail carries, named in the channel's ``attachments`` (comma separated).

``document`` is the delivery's own Document (the buyer's format, e.g. the XRechnung XML) with its
media type and file name. Any other name is a format alias (``cii``, and ``pdf`` /
``facturx-pdf`` once those mappings are registered): that mapping renders the invoice read back
from the document, so the person gets the same invoice in a form they can read. Names are
checked when the connector is built; an unknown one names the formats that are known.
"""

from __future__ import annotations

from collections.abc import Sequence

from connectors.email.message import Attachment
from gateway.delivery.errors import ConfigurationInvalid, PermanentDeliveryError
from gateway.document import Document
from gateway.errors import ConfigError
from gateway.model import Invoice

DOCUMENT = "document"


def parse_names(value: str | Sequence[str], where: str) -> tuple[str, ...]:
    """``"document, pdf"`` (or a list) as names, each checked; at least one."""
    names = [n.strip() for n in (value.split(",") if isinstance(value, str) else value)]
    names = [n for n in names if n]
    if not names:
        raise ConfigurationInvalid(
            f"{where}: attachments = {value!r}: empty; accepted: 'document' and/or format aliases"
        )
    for name in names:
        if name == DOCUMENT:
            continue
        from gateway.registry import resolve_mapping

        try:
            resolve_mapping(name)
        except ConfigError as exc:
            raise ConfigurationInvalid(
                f"{where}: attachments: {name!r}: {exc}; or 'document' for the delivery's own"
            ) from exc
    return tuple(dict.fromkeys(names))


def collect(
    names: Sequence[str],
    document: Document,
    invoice: Invoice | None,
    where: str,
    language: str | None = None,
) -> list[Attachment]:
    """The attachments for one send, in the order named; a rendered one (the invoice PDF) in
    the e-mail's ``language``."""
    files: list[Attachment] = []
    for name in names:
        if name == DOCUMENT:
            files.append(Attachment(document.content, document.media_type, document.filename))
            continue
        if invoice is None:
            raise PermanentDeliveryError(
                f"{where}: attachments: {name!r} is rendered from the invoice, but the document "
                f"(format {document.format!r}) cannot be read back into one; accepted here: "
                "'document' only"
            )
        files.append(_render(name, invoice, where, language))
    return files


def _render(name: str, invoice: Invoice, where: str, language: str | None) -> Attachment:
    from gateway.profiles.profile import BuyerProfile
    from gateway.registry import resolve_mapping

    try:
        options = {"language": language} if language else {}
        profile = BuyerProfile(name="email", format=name, options=options)
        rendered = resolve_mapping(name).render(invoice, profile)
    except Exception as exc:  # a mapping's own error: this attachment cannot be made
        raise PermanentDeliveryError(f"{where}: attachment {name!r}: {exc}") from exc
    if not isinstance(rendered, Document):
        raise PermanentDeliveryError(f"{where}: attachment {name!r}: mapping returned no document")
    return Attachment(rendered.content, rendered.media_type, rendered.filename)
