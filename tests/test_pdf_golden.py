"""Golden files of the invoice PDF: the HTML it is printed from, per example (PDF bytes depend
on WeasyPrint's version; the HTML is ours). Regenerate with IGW_REGEN_GOLDEN=1 and review."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from golden import assert_golden
from pdf_harness import LARGE, MAPPING, SHORT, invoices, language_of, profile

from gateway.errors import ConfigError


@pytest.mark.parametrize("number", [n for n in invoices() if n != LARGE])
def test_rendered_html_matches_golden(number: str) -> None:
    """The HTML of each example in its buyer's language equals tests/golden/pdf/<n>.<lang>.html."""
    invoice = invoices()[number]
    language = language_of(invoice)
    html = MAPPING.html(invoice, profile(language))
    assert_golden(f"pdf/{number}.{language}.html", html.encode("utf-8"), kind="html")


def test_view_model_of_the_short_invoice_in_three_languages_matches_golden() -> None:
    """The view-model JSON of NB-2026-10001 in de, en and fr equals its golden file."""
    invoice = invoices()[SHORT]
    views = {lang: MAPPING.view(invoice, profile(lang)).as_json() for lang in ("de", "en", "fr")}
    for view in views.values():
        view.pop("labels")  # the catalogue itself is not the point here
        if view["payment"]:
            view["payment"]["epc_qr_svg"] = "<svg: see the HTML golden>"
    data = json.dumps(views, indent=1, ensure_ascii=False, sort_keys=True).encode() + b"\n"
    assert_golden(f"pdf/{SHORT}.view.json", data, kind="json")


def test_html_escapes_what_the_invoice_says() -> None:
    """Markup in an invoice's text is printed as text (autoescape), never interpreted."""
    invoice = invoices()[SHORT]
    evil = invoice.model_copy(
        update={"buyer": invoice.buyer.model_copy(update={"name": "<script>x</script>&Co"})}
    )
    html = MAPPING.html(evil, profile("en"))
    assert "<script>" not in html and "&lt;script&gt;x&lt;/script&gt;&amp;Co" in html


def test_unknown_language_is_refused_naming_the_accepted_ones() -> None:
    """language=xx is a ConfigError that names the option, the value and de, en, fr."""
    with pytest.raises(ConfigError, match=r"language='xx'.*accepted: de, en, fr"):
        MAPPING.render(invoices()[SHORT], profile("xx"))


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({"colour": "red; x"}, r"colour='red; x'.*#rgb or #rrggbb"),
        ({"logo": "missing-logo.png"}, r"logo='missing-logo.png': cannot read"),
        ({"logo": "logo.gif"}, r"accepted: \.png, \.jpg, \.svg"),
        ({"logo": "/etc/logo.png"}, r"not a file name .* no path"),
        ({"logo": "../secret.png"}, r"not a file name .* no path"),
    ],
)
def test_bad_branding_options_are_refused(options: dict[str, str], message: str) -> None:
    """A colour that is not a hex colour, a missing logo, a logo of another type, a logo given
    as a path (options may come from an API caller): ConfigError."""
    with pytest.raises(ConfigError, match=message):
        MAPPING.render(invoices()[SHORT], profile("en", **options))


def test_branding_logo_colour_and_footer_reach_the_page(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A logo from the branding folder, an accent colour and footer lines from the options
    are in the HTML."""
    monkeypatch.setenv("IGW_BRANDING_DIR", str(tmp_path))
    logo = tmp_path / "logo.svg"
    logo.write_text('<svg xmlns="http://www.w3.org/2000/svg" width="10" height="10"/>')
    html = MAPPING.html(
        invoices()[SHORT],
        profile("de", logo="logo.svg", colour="#aa0033", footer="Geschäftsführung: J. L.|www.x.de"),
    )
    assert 'src="data:image/svg+xml;base64,' in html and "--accent: #aa0033" in html
    assert "Geschäftsführung: J. L." in html and "www.x.de" in html
