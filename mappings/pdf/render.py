"""HTML from the view-model (Jinja2, autoescaped), PDF from the HTML (WeasyPrint).

The fonts are the DejaVu Sans files shipped beside this module (fonts/, with their licence), so
the PDF looks the same on every machine and embeds every glyph it uses. WeasyPrint is imported
on first use: listing the formats (``igw formats``) does not pay for it.
"""

from __future__ import annotations

import atexit
import hashlib
import logging
import os
import re
from functools import cache
from pathlib import Path
from typing import TYPE_CHECKING, Any

from jinja2 import Environment, FileSystemLoader, StrictUndefined, select_autoescape
from markupsafe import Markup

from mappings.pdf.context import InvoiceView

if TYPE_CHECKING:
    from weasyprint import CSS  # type: ignore[import-untyped]

HERE = Path(__file__).resolve().parent
TEMPLATES = HERE / "templates"
STATIC = HERE / "static"
_COLOUR = re.compile(r"^#[0-9a-fA-F]{3,6}$")


def _css_string(value: str) -> Markup:
    """A CSS string literal: quotes, backslashes and anything outside printable ASCII+Latin
    escaped as ``\\hex``, so no value can close the string or the ``<style>`` element."""
    out = []
    for char in str(value):
        if char.isalnum() or char in " .-_·:/()":
            out.append(char)
        else:
            out.append(f"\\{ord(char):06x}")
    return Markup('"' + "".join(out) + '"')


def _css_colour(value: str) -> Markup:
    """A hex colour as given (validated by the branding), else the default accent."""
    return Markup(value if _COLOUR.match(value) else "#1f4e79")


@cache
def environment() -> Environment:
    """The Jinja environment: templates/ beside this module, autoescape on, strict undefined."""
    env = Environment(
        loader=FileSystemLoader(TEMPLATES),
        autoescape=select_autoescape(default=True, default_for_string=True),
        undefined=StrictUndefined,
        keep_trailing_newline=True,
    )
    env.filters["css_string"] = _css_string
    env.filters["css_colour"] = _css_colour
    return env


def render_html(view: InvoiceView, template: str = "invoice.html.j2") -> str:
    """The invoice as HTML (the golden files keep it)."""
    return environment().get_template(template).render(v=view)


def _quiet_libraries() -> None:
    """WeasyPrint logs every layout step and fontTools every subset table at INFO; the CLI's
    INFO logging would print hundreds of lines per invoice; factur-x two per hybrid PDF.
    Errors stay visible."""
    logging.getLogger("fontTools").setLevel(logging.WARNING)
    logging.getLogger("factur-x").setLevel(logging.WARNING)
    for name in ("weasyprint", "weasyprint.progress"):
        logging.getLogger(name).setLevel(logging.ERROR)


@cache
def _stylesheet() -> tuple[CSS, Any]:
    from weasyprint import CSS
    from weasyprint.text.fonts import FontConfiguration  # type: ignore[import-untyped]

    fonts = FontConfiguration()
    css = CSS(filename=str(STATIC / "invoice.css"), font_config=fonts)
    # dropped while the interpreter still runs: FontConfiguration.__del__ calls into Pango and
    # printed "Exception ignored ... TypeError" when it ran during interpreter teardown
    atexit.register(_stylesheet.cache_clear)
    return css, fonts


def html_to_pdf(html: str, variant: str | None = None) -> bytes:
    """PDF bytes of ``html``; relative URLs resolve against static/ (fonts, stylesheet).

    ``variant`` is a WeasyPrint ``pdf_variant`` (``"pdf/a-3b"`` for Factur-X: it adds the
    sRGB OutputIntent and the PDF/A XMP identification)."""
    _quiet_libraries()
    from weasyprint import HTML

    # fontTools stamps the subset fonts' "modified" time with now unless SOURCE_DATE_EPOCH is
    # set (the reproducible-builds convention it honours): without it no two renders match.
    os.environ.setdefault("SOURCE_DATE_EPOCH", "0")
    css, fonts = _stylesheet()
    document = HTML(string=html, base_url=str(STATIC) + "/")
    # The <link> in the template is for viewing the HTML on its own; the PDF uses the
    # preloaded stylesheet (parsed once per process, fonts registered once).
    # The file identifier is derived from the content (WeasyPrint's default is random), so
    # the same invoice renders to the same bytes: a re-send is recognisable by its hash.
    identifier = hashlib.sha256(html.encode("utf-8")).hexdigest()[:32].encode("ascii")
    pdf = document.write_pdf(
        stylesheets=[css],
        font_config=fonts,
        pdf_identifier=identifier,
        uncompressed_pdf=False,
        pdf_variant=variant,
    )
    assert pdf is not None
    return bytes(pdf)
