"""Subject and body templates per language: Jinja2, sandboxed, autoescape off (text/plain).

Shipped: de, en, fr (:mod:`connectors.email.templates`). ``templates`` in a channel names a
folder of ``<language>.subject.txt`` / ``<language>.body.txt`` that replaces them (a file
missing there falls back to the shipped one). An unknown variable is an error (StrictUndefined),
found when the connector is built: every template is rendered once with sample values then.
"""

from __future__ import annotations

from dataclasses import dataclass
from importlib import resources
from pathlib import Path

from jinja2 import StrictUndefined, Template, TemplateError
from jinja2.sandbox import SandboxedEnvironment

from connectors.email.facts import Facts
from gateway.delivery.errors import ConfigurationInvalid

SHIPPED_LANGUAGES = ("de", "en", "fr")
_SAMPLE = Facts("SAMPLE-1", "2026-01-01", "2026-01-31", "EUR 1.00", "Seller", "Buyer", "https://x")
_ENV = SandboxedEnvironment(
    autoescape=False, undefined=StrictUndefined, keep_trailing_newline=False
)


@dataclass(frozen=True)
class Texts:
    """The compiled subject and body templates of one language."""

    language: str
    subject: Template
    body: Template

    def render(self, facts: Facts) -> tuple[str, str]:
        """(subject on one line, body ending in one newline) for ``facts``; a template that
        fails on these values raises :class:`ConfigurationInvalid` (permanent)."""
        variables = facts.variables()
        try:
            subject = " ".join(self.subject.render(variables).split())
            body = self.body.render(variables).strip("\n") + "\n"
        except Exception as exc:  # a template may raise anything (1/0, a filter's TypeError)
            raise ConfigurationInvalid(
                f"templates ({self.language}) failed for invoice {facts.invoice_number}: {exc}"
            ) from exc
        return subject, body


def load_texts(language: str, folder: str | None, where: str) -> Texts:
    """The templates for ``language`` (``folder`` first, then the shipped ones), checked by one
    render; raises :class:`ConfigurationInvalid` naming the file and the problem."""
    sources = {part: _source(language, part, folder, where) for part in ("subject", "body")}
    try:
        texts = Texts(
            language,
            _ENV.from_string(sources["subject"][1]),
            _ENV.from_string(sources["body"][1]),
        )
        texts.render(_SAMPLE)
    except (TemplateError, ConfigurationInvalid) as exc:
        cause = exc.__cause__ if isinstance(exc, ConfigurationInvalid) else exc
        names = " / ".join(name for name, _ in sources.values())
        raise ConfigurationInvalid(
            f"{where}: template {names}: {cause}; accepted variables: "
            f"{', '.join(_SAMPLE.variables())}"
        ) from exc
    return texts


def _source(language: str, part: str, folder: str | None, where: str) -> tuple[str, str]:
    name = f"{language}.{part}.txt"
    if folder is not None:
        path = Path(folder) / name
        if path.is_file():
            try:
                return str(path), path.read_text(encoding="utf-8")
            except (OSError, UnicodeDecodeError) as exc:
                raise ConfigurationInvalid(
                    f"{where}: templates: cannot read {path}: {exc}"
                ) from exc
        if not Path(folder).is_dir():
            raise ConfigurationInvalid(f"{where}: templates = {folder!r}: not a folder")
    shipped = resources.files("connectors.email.templates") / name
    if not shipped.is_file():
        raise ConfigurationInvalid(
            f"{where}: language = {language!r}: no template {name}; accepted: "
            f"{', '.join(SHIPPED_LANGUAGES)} (or a templates folder holding {name})"
        )
    return f"shipped {name}", shipped.read_text(encoding="utf-8")
