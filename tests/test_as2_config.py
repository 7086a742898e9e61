"""AS2 configuration from TOML (gateway/as2/config.py): identity, partners, checks, expiry."""

from __future__ import annotations

import datetime as dt
import logging
from pathlib import Path

import pytest
from as2_keys import T0, identity, write_identity, write_p12

from gateway.as2.config import load_as2_config
from gateway.errors import ConfigError

REPO = Path(__file__).resolve().parent.parent


def _setup(
    tmp_path: Path, local: str | None = None, partners: dict[str, str] | None = None
) -> Path:
    folder = tmp_path / "as2"
    write_identity(folder / "keys", "IGW")
    write_identity(folder / "partners", "ACME")
    write_identity(folder / "partners", "BETA")
    (folder / "local.toml").write_text(
        local
        if local is not None
        else 'as2_id = "IGW"\nkey_file = "keys/igw.key.pem"\ncert_file = "keys/igw.pem"\n'
    )
    if partners is None:
        partners = {"acme": 'as2_id = "ACME-AS2"\ncert_files = ["acme.pem"]\nbuyer = "acme"\n'}
    for name, text in partners.items():
        (folder / "partners" / f"{name}.toml").write_text(text)
    return folder


def test_loads_identity_and_partners(tmp_path: Path) -> None:
    """Our key and certificate and each partner's certificate are loaded and matched by AS2 id."""
    config = load_as2_config(_setup(tmp_path), now=T0)
    assert config.identity.as2_id == "IGW"
    assert config.identity.cert == identity("IGW")[1]
    partner = config.partner_for("ACME-AS2")
    assert partner is not None
    assert partner.certs == (identity("ACME")[1],)
    assert partner.require_signed and partner.require_encrypted
    found = config.partner_config("ACME-AS2")
    assert found is not None and found.name == "acme" and found.buyer == "acme"
    assert config.partner_for("acme-as2") is None
    assert config.warnings == ()


def test_pkcs12_with_password_reference(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A PKCS#12 key file opens with the password from its env: reference and brings the cert."""
    folder = _setup(tmp_path)
    write_p12(folder / "keys", "IGW", b"s3cret")
    monkeypatch.setenv("IGW_TEST_AS2_PW", "s3cret")
    (folder / "local.toml").write_text(
        'as2_id = "IGW"\nkey_file = "keys/igw.p12"\nkey_password = "env:IGW_TEST_AS2_PW"\n'
    )
    config = load_as2_config(folder, now=T0)
    assert config.identity.cert == identity("IGW")[1]


def test_literal_password_is_refused(tmp_path: Path) -> None:
    """A password written into local.toml is refused without repeating it."""
    local = 'as2_id = "IGW"\nkey_file = "keys/igw.key.pem"\nkey_password = "hunter2"\n'
    with pytest.raises(ConfigError) as caught:
        load_as2_config(_setup(tmp_path, local), now=T0)
    assert "key_password: a secret must not be written" in str(caught.value)
    assert "hunter2" not in str(caught.value)


def test_unknown_keys_get_did_you_mean(tmp_path: Path) -> None:
    """Misspelt keys in local.toml and a partner file are all reported with a suggestion."""
    local = 'as2_id = "IGW"\nkey_file = "keys/igw.key.pem"\ncert_fil = "keys/igw.pem"\n'
    partners = {"acme": 'as2_id = "ACME-AS2"\ncert_files = ["acme.pem"]\nrequire_sigend = true\n'}
    with pytest.raises(ConfigError) as caught:
        load_as2_config(_setup(tmp_path, local, partners), now=T0)
    text = str(caught.value)
    assert "2 problem(s)" in text
    assert "unknown key 'cert_fil'; did you mean 'cert_file'?" in text
    assert "unknown key 'require_sigend'; did you mean 'require_signed'?" in text
    assert "acme.toml" in text


def test_missing_files_and_wrong_types_are_named(tmp_path: Path) -> None:
    """Unreadable key/cert files and wrongly typed values name the file, key and value."""
    local = 'as2_id = "IGW"\nkey_file = "keys/nope.pem"\n'
    partners = {
        "acme": 'as2_id = "ACME-AS2"\ncert_files = ["missing.pem"]\n',
        "beta": 'as2_id = "BETA"\ncert_files = ["beta.pem"]\nrequire_signed = "sometimes"\n',
    }
    with pytest.raises(ConfigError) as caught:
        load_as2_config(_setup(tmp_path, local, partners), now=T0)
    text = str(caught.value)
    assert "key_file = 'keys/nope.pem': cannot read" in text
    assert "cert_files = 'missing.pem': cannot read" in text
    assert "require_signed = 'sometimes'" in text


def test_certificate_not_matching_key_is_refused(tmp_path: Path) -> None:
    """A cert_file that is not the key's certificate is refused (MDNs would not verify)."""
    local = 'as2_id = "IGW"\nkey_file = "keys/igw.key.pem"\ncert_file = "partners/acme.pem"\n'
    with pytest.raises(ConfigError, match="is not the one of the private key"):
        load_as2_config(_setup(tmp_path, local), now=T0)


def test_bare_key_without_certificate_is_refused(tmp_path: Path) -> None:
    """A bare key with no cert_file is refused, saying which key to add."""
    local = 'as2_id = "IGW"\nkey_file = "keys/igw.key.pem"\n'
    with pytest.raises(ConfigError, match="cert_file: missing"):
        load_as2_config(_setup(tmp_path, local), now=T0)


def test_two_partners_with_one_as2_id(tmp_path: Path) -> None:
    """Two partner files claiming one AS2 id are a problem naming both."""
    partners = {
        "acme": 'as2_id = "ACME-AS2"\ncert_files = ["acme.pem"]\n',
        "beta": 'as2_id = "ACME-AS2"\ncert_files = ["beta.pem"]\n',
    }
    with pytest.raises(ConfigError, match="already the AS2 id of partner 'acme'"):
        load_as2_config(_setup(tmp_path, partners=partners), now=T0)


def test_expiry_warnings_at_load(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    """Certificates expiring soon (or expired) give warnings naming subject and date; logged."""
    folder = _setup(tmp_path)
    later = T0 + dt.timedelta(days=350)
    with caplog.at_level(logging.WARNING, logger="gateway.as2.config"):
        config = load_as2_config(folder, now=later)
    assert len(config.warnings) == 2
    assert "CN=IGW expires on" in config.warnings[0]
    assert config.warnings[1].startswith("partner 'acme': Certificate CN=ACME expires on")
    assert sum("expires on" in r.getMessage() for r in caplog.records) == 2
    expired = load_as2_config(folder, now=T0 + dt.timedelta(days=400))
    assert all("expired on" in w for w in expired.warnings)


def test_example_config_files_parse() -> None:
    """The example files in config/as2 use only known keys (their key paths do not exist here)."""
    with pytest.raises(ConfigError) as caught:
        load_as2_config(REPO / "config" / "as2", now=T0)
    text = str(caught.value)
    assert "unknown key" not in text
    assert "key_file = '/etc/invoice-gateway/as2/gateway.p12': cannot read" in text


def test_buyer_profile_with_an_as2_channel(tmp_path: Path) -> None:
    """A buyer profile can name the AS2 connector with its options: the loader accepts the
    options the connector takes, refuses a misspelt one with a suggestion and a literal secret."""
    from gateway.profiles.load import load_profile

    good = """
format = "peppol-bis3"
[ids]
vat_ids = ["DE999999999"]
[channel]
connector = "connectors.as2.connector:As2Connector"
[channel.options]
url = "https://as2.acme.example/as2"
as2_from = "IGW"
as2_to = "ACME-AS2"
key_file = "/etc/igw/as2/gateway.p12"
key_password = "env:IGW_AS2_KEY_PASSWORD"
partner_cert_file = "/etc/igw/as2/acme.pem"
sign = "sha512"
encrypt = "aes256-cbc"
key_transport = "rsa-oaep"
mdn = "async"
async_mdn_url = "https://igw.example/as2/mdn"
timeout = 30.0
"""
    path = tmp_path / "acme.toml"
    path.write_text(good)
    profile = load_profile(path)
    assert profile.channel is not None and profile.channel.options["sign"] == "sha512"
    path.write_text(good.replace("key_transport", "key_transprot"))
    with pytest.raises(ConfigError, match="did you mean 'key_transport'"):
        load_profile(path)
    path.write_text(good.replace('"env:IGW_AS2_KEY_PASSWORD"', '"hunter2"'))
    with pytest.raises(ConfigError, match="a secret must not be written"):
        load_profile(path)
