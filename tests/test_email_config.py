"""The e-mail channel's configuration: refusals with clear messages, secrets by reference only,
the Message-ID from the key, templates per language with the pay-link slot, attachments by name."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from email_docs import ubl_document

from connectors.email import EmailConnector
from connectors.email.facts import Facts, facts_for, read_invoice
from connectors.email.texts import load_texts
from gateway.delivery.errors import ConfigurationInvalid
from gateway.errors import ConfigError
from gateway.profiles.load import build_connector, load_profile
from gateway.registry import resolve_connector

BASE = {"host": "127.0.0.1", "from_address": "invoices@seller.example", "to": "ap@kunde.example"}


def test_the_alias_email_names_the_connector() -> None:
    """``connector = "email"`` resolves to EmailConnector through the registry."""
    assert resolve_connector("email") is EmailConnector


def test_plain_smtp_to_a_host_that_is_not_loopback_is_refused() -> None:
    """``security = "none"`` to a remote host is a configuration error naming host and choices."""
    with pytest.raises(ConfigurationInvalid) as caught:
        EmailConnector(**{**BASE, "host": "smtp.seller.example"}, security="none")
    text = str(caught.value)
    assert "'smtp.seller.example'" in text and "loopback hosts only" in text
    assert "'starttls' or 'tls'" in text


@pytest.mark.parametrize("host", ["127.0.0.1", "127.1.2.3", "::1", "localhost"])
def test_plain_smtp_to_loopback_is_allowed(host: str) -> None:
    """Loopback addresses and ``localhost`` may use ``security = "none"`` (a local relay)."""
    assert EmailConnector(**{**BASE, "host": host}, security="none").endpoint.port == 25


def test_an_unknown_security_mode_names_the_accepted_ones() -> None:
    """``security = "ssl"`` is refused with the three accepted values."""
    with pytest.raises(ConfigurationInvalid, match=r"'starttls' .*'tls' .*'none'"):
        EmailConnector(**BASE, security="ssl")


@pytest.mark.parametrize("option", ["password", "dkim_private_key"])
def test_a_literal_secret_in_a_profile_is_refused(tmp_path: Path, option: str) -> None:
    """A profile with ``password = "hunter2"`` (or a literal DKIM key) does not load; the message
    asks for a reference and never repeats the value."""
    path = tmp_path / "kunde.toml"
    path.write_text(
        'default = true\n[channel]\nconnector = "email"\n[channel.options]\n'
        'host = "smtp.seller.example"\nfrom_address = "invoices@seller.example"\n'
        f'to = "ap@kunde.example"\nusername = "invoices"\n{option} = "hunter2"\n'
    )
    with pytest.raises(ConfigError) as caught:
        load_profile(path)
    text = str(caught.value)
    assert f"channel.options.{option}" in text and "env:VARIABLE" in text
    assert "hunter2" not in text


def test_a_profile_with_secret_references_builds_the_connector(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Password and DKIM key given as ``env:`` / ``file:`` references are resolved when the
    connector is built; an unknown option is reported with a suggestion."""
    monkeypatch.setenv("IGW_TEST_SMTP_PASSWORD", "pw")
    path = tmp_path / "kunde.toml"
    path.write_text(
        'default = true\n[channel]\nconnector = "email"\n[channel.options]\n'
        'host = "smtp.seller.example"\nfrom_address = "invoices@seller.example"\n'
        'to = "ap@kunde.example, ap2@kunde.example"\nusername = "invoices"\n'
        'password = "env:IGW_TEST_SMTP_PASSWORD"\nlanguage = "de"\n'
    )
    profile = load_profile(path)
    assert profile.channel is not None
    built = build_connector(profile.channel)
    assert isinstance(built, EmailConnector) and built.endpoint.password == "pw"
    assert built.envelope.recipients == ["ap@kunde.example", "ap2@kunde.example"]
    path.write_text(path.read_text().replace("language", "langauge"))
    with pytest.raises(ConfigError, match="did you mean 'language'"):
        load_profile(path)


@pytest.mark.parametrize(
    ("field", "value"), [("from_address", "invoices"), ("to", ""), ("cc", "not an address")]
)
def test_bad_addresses_are_refused_naming_the_field(field: str, value: str) -> None:
    """An address that is not local@domain (or no recipient at all) names the field."""
    with pytest.raises(ConfigurationInvalid, match=f"{field} = "):
        EmailConnector(**{**BASE, field: value})


def test_same_key_same_message_id_other_key_other_id() -> None:
    """The Message-ID follows from the key alone (two connectors agree) and the sender domain."""
    one, two = EmailConnector(**BASE), EmailConnector(**BASE)
    assert one.message_id("k") == two.message_id("k")
    assert one.message_id("k") != one.message_id("k#t2")
    assert one.message_id("k").endswith(".igw@seller.example")


def test_the_dkim_key_needs_selector_and_domain_and_must_be_a_key() -> None:
    """A DKIM key without selector/domain, or text that is no PEM key, is refused without
    repeating the key."""
    with pytest.raises(ConfigurationInvalid, match="dkim_selector and dkim_domain"):
        EmailConnector(**BASE, dkim_private_key="x")
    with pytest.raises(ConfigurationInvalid, match="not a readable PEM") as caught:
        EmailConnector(**BASE, dkim_private_key="secret-text", dkim_selector="s", dkim_domain="d")
    assert "secret-text" not in str(caught.value)


def test_a_missing_ca_file_is_a_configuration_error() -> None:
    """``ca_file`` that cannot be read is refused at construction, naming the file."""
    with pytest.raises(ConfigurationInvalid, match=re.escape("ca_file = '/nonexistent/ca.pem'")):
        EmailConnector(**BASE, ca_file="/nonexistent/ca.pem")


def test_templates_in_each_shipped_language_format_dates_and_amounts() -> None:
    """de/en/fr subjects and bodies carry the number, the formatted amount and due date."""
    document = ubl_document()
    invoice = read_invoice(document)
    expected = {
        "de": ("Rechnung INV-1 von Lieferant GmbH", "35,70 EUR", "02.12.2026"),
        "en": ("Invoice INV-1 from Lieferant GmbH", "EUR 35.70", "2026-12-02"),
        "fr": ("Facture INV-1 de Lieferant GmbH", "35,70 EUR", "02/12/2026"),
    }
    for language, (subject, amount, due) in expected.items():
        texts = load_texts(language, None, "test")
        got_subject, body = texts.render(facts_for(document, invoice, language))
        assert got_subject == subject
        assert amount in body and due in body and "Kunde AG" in body


def test_the_pay_link_slot_renders_only_when_given() -> None:
    """The body shows the pay link line when a link is given, and no trace of it otherwise."""
    texts = load_texts("de", None, "test")
    _, without = texts.render(Facts("INV-1"))
    _, with_link = texts.render(Facts("INV-1", pay_link="https://pay.example/i/1"))
    assert "Online bezahlen: https://pay.example/i/1" in with_link
    assert "bezahlen" not in without and "None" not in without


def test_templates_are_not_html_escaped_and_run_sandboxed(tmp_path: Path) -> None:
    """Custom templates: ``&`` stays ``&`` (text/plain), unsafe attribute access is refused, an
    unknown variable is a configuration error found at construction."""
    (tmp_path / "en.subject.txt").write_text("{{ seller_name }}")
    texts = load_texts("en", str(tmp_path), "test")
    assert texts.render(Facts("1", seller_name="Smith & Sons <Ltd>"))[0] == "Smith & Sons <Ltd>"
    (tmp_path / "en.subject.txt").write_text("{{ invoice_number.__class__.__mro__ }}")
    with pytest.raises(ConfigurationInvalid, match="unsafe"):
        load_texts("en", str(tmp_path), "test")
    (tmp_path / "en.subject.txt").write_text("{{ invoice_nummer }}")
    with pytest.raises(ConfigurationInvalid, match=r"invoice_nummer.*accepted variables"):
        load_texts("en", str(tmp_path), "test")


def test_an_unshipped_language_without_templates_is_refused() -> None:
    """``language = "es"`` without a templates folder names the shipped languages."""
    with pytest.raises(ConfigurationInvalid, match=r"language = 'es'.*de, en, fr"):
        EmailConnector(**BASE, language="es")


def test_attachments_are_named_and_unknown_names_refused() -> None:
    """``document`` plus a format alias renders both; an unknown name is refused with a hint."""
    sender = EmailConnector(**BASE, attachments="document, cii")
    assert sender.attachments == ("document", "cii")
    with pytest.raises(ConfigurationInvalid, match="attachments: 'pfd'"):
        EmailConnector(**BASE, attachments="document, pfd")


def test_a_template_failing_on_the_values_is_a_configuration_error(tmp_path: Path) -> None:
    """A template that raises while rendering (here a division by zero on the number's length)
    is refused at construction, naming the problem, not escaping as a foreign exception."""
    (tmp_path / "en.subject.txt").write_text("{{ 1 // (invoice_number | length - 8) }}")
    with pytest.raises(ConfigurationInvalid, match="by zero"):
        load_texts("en", str(tmp_path), "test")
